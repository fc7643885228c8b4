"""The VAE of the assignment (Q1.12-1.15): model, loss pieces, estimators of log p(x), training, figures.

What lives here:

- :mod:`~course_utils.vae.model`      :class:`VAEConfig`, :class:`VAE` (encoder, decoder, sampling), saving/loading
- :mod:`~course_utils.vae.losses`     the loss pieces as small pure functions (Bernoulli log-likelihood, KL, ELBO)
- :mod:`~course_utils.vae.estimators` naive Monte Carlo and importance-weighted estimates of log p(x)
- :mod:`~course_utils.vae.train`      :func:`train_vae` (cached), the training step, evaluation (ELBO, IW)
- :mod:`~course_utils.vae.metrics`    bits per dimension, rate and distortion, active latent units
- :mod:`~course_utils.vae.figures`    the assignment's figures: ELBO curves, samples over training, the manifold,
  the encoder means over the quantile grid (the aggregate posterior)

What does not: the small exact models of notebooks 01-04 (:mod:`course_utils.toys`),
sample-quality scores shared with the GAN (:mod:`course_utils.evaluation`), widgets
and exercise checks. Builds on :mod:`course_utils.core` only.
"""
from __future__ import annotations

from course_utils.vae.estimators import iw_log_px, log_mean_exp, naive_log_px, vae_iw_log_px, vae_naive_log_px
from course_utils.vae.figures import (
    aggregate_posterior_cells,
    gaussian_quantile_grid,
    manifold_image,
    plot_elbo_curves,
    plot_latent_scatter,
    plot_manifold,
    plot_reconstructions,
    plot_samples_at_epochs,
)
from course_utils.vae.losses import (
    bernoulli_log_likelihood,
    gaussian_log_density,
    kl_std_normal,
    negative_elbo,
    std_normal_log_density,
)
from course_utils.vae.metrics import bits_per_dim, kl_per_dimension, latent_usage
from course_utils.vae.model import VAE, VAEConfig, full_config, load_vae, save_vae
from course_utils.vae.train import elbo, evaluate_vae, evaluation_images, make_step, train_vae

__all__ = [
    "VAE",
    "VAEConfig",
    "aggregate_posterior_cells",
    "bernoulli_log_likelihood",
    "bits_per_dim",
    "elbo",
    "evaluate_vae",
    "evaluation_images",
    "full_config",
    "gaussian_log_density",
    "gaussian_quantile_grid",
    "iw_log_px",
    "kl_per_dimension",
    "kl_std_normal",
    "latent_usage",
    "load_vae",
    "log_mean_exp",
    "make_step",
    "manifold_image",
    "naive_log_px",
    "negative_elbo",
    "plot_elbo_curves",
    "plot_latent_scatter",
    "plot_manifold",
    "plot_reconstructions",
    "plot_samples_at_epochs",
    "save_vae",
    "std_normal_log_density",
    "train_vae",
    "vae_iw_log_px",
    "vae_naive_log_px",
]
