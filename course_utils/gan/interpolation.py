"""Paths between latent points, and the images a model makes along them (Q2.7).

What lives here: :func:`lerp` (a straight line), :func:`slerp` (a great-circle
arc, which keeps the path where Gaussian noise actually lives: a high-dimensional
N(0, I) sample has norm close to sqrt(d), and the midpoint of a straight line
between two such points is shorter), :func:`random_pairs` and
:func:`interpolate`, which decodes a path with any model. The figure of several
paths is :func:`course_utils.gan.figures.interpolation_figure`.

Nothing here is specific to the GAN: ``decode`` can be a GAN generator or a
VAE's decoder.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

METHODS = ("linear", "spherical")


def _check_pair(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> None:
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must have the same shape, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    if z0.ndim not in (1, 2):
        raise ValueError(f"z0 must be one latent vector (D,) or a batch (P, D), got {tuple(z0.shape)}")
    if steps < 2:
        raise ValueError(f"a path needs at least 2 steps (its two ends), got {steps}")


def _fractions(steps: int, like: torch.Tensor) -> torch.Tensor:
    return torch.linspace(0.0, 1.0, steps, dtype=like.dtype, device=like.device)


def lerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` evenly spaced points on the straight line from ``z0`` to ``z1`` (both ends included).

    ``z(t) = (1 - t) z0 + t z1`` for ``t = 0, 1/(steps-1), ..., 1``. For vectors of
    shape (D,) the result is (steps, D); for batches (P, D) it is (P, steps, D).
    """
    _check_pair(z0, z1, steps)
    t = _fractions(steps, z0).unsqueeze(-1)  # (steps, 1)
    return (1 - t) * z0.unsqueeze(-2) + t * z1.unsqueeze(-2)


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int, eps: float = 1e-7) -> torch.Tensor:
    """``steps`` points on the great-circle arc from ``z0`` to ``z1`` (spherical interpolation).

    With ``omega`` the angle between the two vectors,
    ``z(t) = sin((1 - t) omega) / sin(omega) z0 + sin(t omega) / sin(omega) z1``.
    Where the vectors are (nearly) parallel this is the straight line, and
    :func:`lerp` is used. Shapes as in :func:`lerp`.
    """
    _check_pair(z0, z1, steps)
    a, b = z0.unsqueeze(-2), z1.unsqueeze(-2)  # (..., 1, D)
    cos = (a * b).sum(-1, keepdim=True) / (a.norm(dim=-1, keepdim=True) * b.norm(dim=-1, keepdim=True)).clamp_min(eps)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))  # (..., 1, 1)
    sin = torch.sin(omega)
    t = _fractions(steps, z0).unsqueeze(-1)  # (steps, 1)
    spherical = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / sin.clamp_min(eps)
    return torch.where(sin > 1e-4, spherical, lerp(z0, z1, steps))


def latent_path(z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    """:func:`lerp` (``method='linear'``) or :func:`slerp` (``'spherical'``)."""
    if method == "linear":
        return lerp(z0, z1, steps)
    if method == "spherical":
        return slerp(z0, z1, steps)
    raise ValueError(f"unknown interpolation method {method!r}; use one of {METHODS}")


def random_pairs(n_pairs: int, latent_dim: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_pairs`` pairs of prior samples z ~ N(0, I): two tensors of shape (n_pairs, latent_dim)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(2, n_pairs, latent_dim, generator=g)
    return z[0], z[1]


def interpolate(decode: Callable[[torch.Tensor], torch.Tensor], z0: torch.Tensor, z1: torch.Tensor,
                steps: int = 9, method: str = "linear") -> torch.Tensor:
    """Images along the path from ``z0`` to ``z1``: (steps, 784), or (P, steps, 784) for P pairs.

    ``decode`` maps latent points (N, D) to images (N, 784): a GAN
    :class:`~course_utils.gan.model.Generator` (sampled in eval mode, images in [-1, 1])
    or any function, e.g. a VAE's ``model.decode`` (images in [0, 1]).
    """
    from course_utils.gan.model import Generator  # local: this module does not otherwise need the GAN

    if isinstance(decode, Generator):
        from course_utils.gan.train import sample

        generator = decode
        decode = lambda z: sample(generator, z)  # noqa: E731
    path = latent_path(z0, z1, steps, method)
    flat = path.reshape(-1, path.shape[-1])
    with torch.no_grad():
        images = decode(flat)
    return images.reshape(*path.shape[:-1], -1)
