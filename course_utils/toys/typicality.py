"""Where a standard normal puts its mass: density is not mass in high dimensions (notebook 01, Q1.3).

What lives here: the distribution of the radius ``|z|`` of ``z ~ N(0, I_D)`` in closed form --
:func:`radius_cdf`, ``P(|z| < r)`` (``|z|^2`` is chi-square with D degrees of freedom, so this is the
regularised lower incomplete gamma function ``P(D/2, r^2/2)``), and :func:`mean_radius`, ``E|z|``
(about ``sqrt(D - 1/2)``) -- and :func:`radius_table`, both next to a seeded Monte Carlo check.

The density of N(0, I) is largest at z = 0, but the volume near 0 is tiny: in many dimensions
(already at D = 20) almost all the mass lies in a shell of radius about ``sqrt(D)`` and thickness about
0.7, thin relative to its radius, and the point z = 0 is not a typical sample (in D = 2 it still is).
Notebook 01 shows it; notebook 07's interpolation between latent points builds on it.
What does not live here: the maps of a Gaussian (:mod:`course_utils.toys.maps`).
"""
from __future__ import annotations

import math

import torch


def radius_cdf(dim: int, r: float) -> float:
    """``P(|z| < r)`` for ``z ~ N(0, I_dim)``: the regularised lower incomplete gamma ``P(dim/2, r^2/2)``."""
    if dim < 1 or r < 0:
        raise ValueError(f"need dim >= 1 and r >= 0, got dim={dim}, r={r}")
    a = torch.tensor(dim / 2, dtype=torch.float64)
    return torch.special.gammainc(a, torch.tensor(r * r / 2, dtype=torch.float64)).item()


def mean_radius(dim: int) -> float:
    """``E|z|`` for ``z ~ N(0, I_dim)``: ``sqrt(2) Gamma((dim + 1)/2) / Gamma(dim/2)`` (about ``sqrt(dim - 1/2)``)."""
    if dim < 1:
        raise ValueError(f"need dim >= 1, got {dim}")
    return math.sqrt(2.0) * math.exp(math.lgamma((dim + 1) / 2) - math.lgamma(dim / 2))


def radius_table(dims=(2, 20, 50), radius: float = 2.0, n: int = 100_000, seed: int = 0) -> dict[int, dict]:
    """Per dimension D: ``P(|z| < radius)`` and ``E|z|``, exact and from ``n`` seeded samples of N(0, I_D).

    ``radius_std`` is the standard deviation of ``|z|`` (``E|z|^2 = D``), between 0.6 and 1/sqrt(2) in every
    dimension: once D is large the shell is thin compared with its radius (not in D = 2).
    Also ``log_density_ratio``: ``log p(0) - log p(z)``
    at ``|z| = sqrt(D)``, which is ``D/2`` -- how much higher the density is at the centre than on the shell
    where the samples lie.
    """
    out = {}
    g = torch.Generator().manual_seed(seed)
    for d in dims:
        r = torch.randn(n, d, generator=g, dtype=torch.float64).norm(dim=1)
        out[d] = {"inside": radius_cdf(d, radius), "inside_mc": (r < radius).double().mean().item(),
                  "mean_radius": mean_radius(d), "mean_radius_mc": r.mean().item(),
                  "radius_std": math.sqrt(d - mean_radius(d) ** 2), "radius_std_mc": r.std().item(),
                  "sqrt_dim": math.sqrt(d), "log_density_ratio": d / 2}
    return out
