"""The checks students call on their exercise solutions, one module per family.

What lives here:

- :mod:`~course_utils.exercises.common` :class:`ExerciseError` and the helpers every check shares
- :mod:`~course_utils.exercises.vae`    notebooks 01-05: sampling pixels, the naive estimator, the KLs, the loss, ...
- :mod:`~course_utils.exercises.gan`    notebooks 06-08: the GAN losses, one training step, interpolation paths,
  the Fréchet distance

Each check calls the student's function on fixed inputs, compares it with a reference
written out again here (so a check never shares a bug with the package's own code),
and names the typical mistake when they differ. What does not live here: the
package's own implementations, which the checks are tested against.
"""
from __future__ import annotations

from course_utils.exercises.common import ExerciseError
from course_utils.exercises.gan import (
    check_discriminator_loss,
    check_frechet_distance,
    check_gan_step,
    check_generator_loss_non_saturating,
    check_lerp,
    check_slerp,
)
from course_utils.exercises.vae import (
    check_gaussian_quantiles,
    check_kl_gaussians,
    check_kl_std_normal,
    check_naive_log_px,
    check_per_example_loss,
    check_reparameterize,
    check_sample_pixels,
)

__all__ = [
    "ExerciseError",
    "check_discriminator_loss",
    "check_frechet_distance",
    "check_gan_step",
    "check_gaussian_quantiles",
    "check_generator_loss_non_saturating",
    "check_kl_gaussians",
    "check_kl_std_normal",
    "check_lerp",
    "check_naive_log_px",
    "check_per_example_loss",
    "check_reparameterize",
    "check_sample_pixels",
    "check_slerp",
]
