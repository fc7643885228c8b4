"""What students drag: the course's ipywidgets explorers, with their logic in plain functions.

What lives here:

- :mod:`~course_utils.widgets.common` PNG frames, fast figure redraws, the timed-update base class
- :mod:`~course_utils.widgets.vae`    notebooks 01-05: latent and KL sliders, forward vs reverse KL, the M slider,
  reconstructions
- :mod:`~course_utils.widgets.gan`    notebooks 06-07: the toy GAN's game, mode collapse on a ring, latent interpolation
- :mod:`~course_utils.widgets.static` the kernel-free stand-ins (pre-computed frames, a JavaScript slider)
  that executed notebooks carry for the course website

What does not: the models and estimators they display (imported from the rooms
below). Tests move the sliders by setting ``widget.value``; no browser needed.
"""
from __future__ import annotations

from course_utils.widgets.gan import InterpolationExplorer, RingExplorer, ToyGANExplorer
from course_utils.widgets.vae import (
    KLDirectionExplorer,
    KLExplorer,
    LatentExplorer,
    MonteCarloExplorer,
    ReconstructionExplorer,
)

__all__ = [
    "InterpolationExplorer",
    "KLDirectionExplorer",
    "KLExplorer",
    "LatentExplorer",
    "MonteCarloExplorer",
    "ReconstructionExplorer",
    "RingExplorer",
    "ToyGANExplorer",
]
