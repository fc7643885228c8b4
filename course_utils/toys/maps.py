"""Fixed non-linear maps of a Gaussian, for notebook 01 (Q1.3: why N(0, I) is not a restrictive prior).

What lives here: :func:`ring_map`, the map ``g(z) = z/10 + z/|z|`` that sends 2-D
standard normal samples onto a ring (the example of Doersch's VAE tutorial), so a notebook
can show that a flexible function of a simple latent produces a complicated
distribution. A VAE's decoder is
such a function, learned instead of fixed.
"""
from __future__ import annotations

import torch


def ring_map(z: torch.Tensor) -> torch.Tensor:
    """``g(z) = z / 10 + z / |z|`` for points z of shape (N, 2); returns (N, 2)."""
    norm = z.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return z / 10 + z / norm

