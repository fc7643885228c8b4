"""The GAN of the assignment (Q2.1-2.7): networks, losses, training, interpolation, figures.

What lives here:

- :mod:`~course_utils.gan.model`         :class:`GANConfig`, :class:`Generator`, :class:`Discriminator`, pixel ranges
- :mod:`~course_utils.gan.losses`        the losses as small pure functions of the discriminator's logits
- :mod:`~course_utils.gan.train`         :func:`train_gan` (cached), the alternating D/G step, sampling
- :mod:`~course_utils.gan.interpolation` straight and spherical paths between latent points (Q2.7)
- :mod:`~course_utils.gan.figures`       samples over training, interpolations, loss curves

What does not: the 1-D toy GAN of notebook 06 (:mod:`course_utils.toys.gan1d`), the
Fréchet distance and the classifier (:mod:`course_utils.evaluation`), widgets and
exercise checks. Builds on :mod:`course_utils.core` only.
"""
from __future__ import annotations

from course_utils.gan.figures import history_figure, interpolation_figure, snapshots_figure
from course_utils.gan.interpolation import interpolate, latent_path, lerp, random_pairs, slerp
from course_utils.gan.losses import (
    LOG_4,
    discriminator_loss,
    generator_loss,
    generator_loss_non_saturating,
    generator_loss_saturating,
    value_function,
)
from course_utils.gan.model import Discriminator, GANConfig, Generator, build_gan, to_signed, to_unit
from course_utils.gan.train import load_gan, make_step, sample, save_gan, train_gan

__all__ = [
    "Discriminator",
    "GANConfig",
    "Generator",
    "LOG_4",
    "build_gan",
    "discriminator_loss",
    "generator_loss",
    "generator_loss_non_saturating",
    "generator_loss_saturating",
    "history_figure",
    "interpolate",
    "interpolation_figure",
    "latent_path",
    "lerp",
    "load_gan",
    "make_step",
    "random_pairs",
    "sample",
    "save_gan",
    "slerp",
    "snapshots_figure",
    "to_signed",
    "to_unit",
    "train_gan",
    "value_function",
]
