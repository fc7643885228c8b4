"""Small models where everything is exact, for the early notebooks (01-04 and 06).

What lives here:

- :mod:`~course_utils.toys.linear_gaussian`     the linear-Gaussian model: exact log p(x), posterior, ELBO
- :mod:`~course_utils.toys.ppca`                probabilistic PCA in closed form on images (01, Q1.1)
- :mod:`~course_utils.toys.maps`                fixed non-linear maps of a Gaussian (01, Q1.3)
- :mod:`~course_utils.toys.gaussians`           the KL divergence between univariate Gaussians, three ways (03)
- :mod:`~course_utils.toys.elbo_gap`            the ELBO, log p(x) and their gap on the linear-Gaussian model (04)
- :mod:`~course_utils.toys.gradient_estimators` score-function vs reparameterized gradients (04, Q1.11)
- :mod:`~course_utils.toys.gan1d`               a 1-D GAN with its exact optimal discriminator, value and JSD (06)
- :mod:`~course_utils.toys.gan1d_figures`       notebook 06's figures

What does not: the image models (:mod:`course_utils.vae`, :mod:`course_utils.gan`),
whose loss functions the toys reuse -- so this room sits above both.
"""
from __future__ import annotations

from course_utils.toys.elbo_gap import ascend_elbo, elbo_table
from course_utils.toys.gaussians import kl_monte_carlo, kl_normal, kl_symbolic, kl_torch, normal_log_pdf
from course_utils.toys.gradient_estimators import (
    gradient_statistics,
    reparameterization_gradients,
    score_function_gradients,
)
from course_utils.toys.linear_gaussian import LinearGaussian
from course_utils.toys.maps import ring_map
from course_utils.toys.ppca import fit_ppca, linearity_gap, mean_image

__all__ = [
    "LinearGaussian",
    "ascend_elbo",
    "elbo_table",
    "fit_ppca",
    "gradient_statistics",
    "kl_monte_carlo",
    "kl_normal",
    "kl_symbolic",
    "kl_torch",
    "linearity_gap",
    "mean_image",
    "normal_log_pdf",
    "reparameterization_gradients",
    "ring_map",
    "score_function_gradients",
]
