"""Small models where everything is exact, for the early notebooks (01-04 and 06).

What lives here:

- :mod:`~course_utils.toys.linear_gaussian`     the linear-Gaussian model: exact log p(x), posterior, ELBO
- :mod:`~course_utils.toys.ppca`                probabilistic PCA in closed form on images (01, Q1.1)
- :mod:`~course_utils.toys.maps`                fixed non-linear maps of a Gaussian (01, Q1.3)
- :mod:`~course_utils.toys.typicality`          where N(0, I_D) puts its mass: a shell of radius about sqrt(D) (01)
- :mod:`~course_utils.toys.naive_mc`            the naive estimate of log p(x) where the truth is known (02)
- :mod:`~course_utils.toys.gaussians`           KL between Gaussians, three ways; full covariances (03, 04)
- :mod:`~course_utils.toys.kl_directions`       forward vs reverse KL: one Gaussian fitted to a bimodal mixture (03)
- :mod:`~course_utils.toys.elbo_gap`            the ELBO, log p(x) and their gap on the linear-Gaussian model (04);
  the best-ELBO diagonal q as an importance-sampling proposal (02)
- :mod:`~course_utils.toys.gradient_estimators` score function (with and without a baseline) vs reparameterized
  gradients, on a quadratic and on an ELBO (04, Q1.11)
- :mod:`~course_utils.toys.gan1d`               a 1-D GAN with its exact optimal discriminator, value and JSD (06)
- :mod:`~course_utils.toys.gan1d_figures`       notebook 06's figures
- :mod:`~course_utils.toys.live2d`              a 2-D GAN game played a step at a time: the model side of 06's live view

What does not: the image models (:mod:`course_utils.vae`, :mod:`course_utils.gan`),
whose loss functions the toys reuse -- so this room sits above both.
"""
from __future__ import annotations

from course_utils.toys.elbo_gap import (
    ascend_elbo,
    best_diagonal_gap,
    collinear_model,
    elbo_table,
    iw_errors,
    iw_proposals,
    jensen_trap,
    posterior_correlation,
    scaled_proposal_chi2,
    weight_variance_margin,
)
from course_utils.toys.gaussians import (
    kl_gaussians,
    kl_monte_carlo,
    kl_normal,
    kl_symbolic,
    kl_symbolic_expanded,
    kl_torch,
    normal_log_pdf,
)
from course_utils.toys.gradient_estimators import (
    cosine_gradient_variances,
    elbo_gradient_estimates,
    gradient_statistics,
    reparameterization_gradients,
    score_function_gradients,
)
from course_utils.toys.kl_directions import Mixture1D, fit_forward, fit_reverse, forward_kl, reverse_kl
from course_utils.toys.linear_gaussian import LinearGaussian
from course_utils.toys.maps import ring_map
from course_utils.toys.naive_mc import effective_sample_size, ess_summary, naive_setup, running_errors
from course_utils.toys.ppca import fit_ppca, linearity_gap, mean_image
from course_utils.toys.typicality import mean_radius, radius_cdf, radius_table

__all__ = [
    "LinearGaussian",
    "Mixture1D",
    "ascend_elbo",
    "best_diagonal_gap",
    "collinear_model",
    "cosine_gradient_variances",
    "effective_sample_size",
    "elbo_gradient_estimates",
    "elbo_table",
    "ess_summary",
    "fit_forward",
    "fit_ppca",
    "fit_reverse",
    "forward_kl",
    "gradient_statistics",
    "iw_errors",
    "iw_proposals",
    "jensen_trap",
    "kl_gaussians",
    "kl_monte_carlo",
    "kl_normal",
    "kl_symbolic",
    "kl_symbolic_expanded",
    "kl_torch",
    "linearity_gap",
    "mean_image",
    "mean_radius",
    "naive_setup",
    "normal_log_pdf",
    "posterior_correlation",
    "radius_cdf",
    "radius_table",
    "reparameterization_gradients",
    "reverse_kl",
    "ring_map",
    "running_errors",
    "scaled_proposal_chi2",
    "score_function_gradients",
    "weight_variance_margin",
]
