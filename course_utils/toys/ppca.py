"""Probabilistic PCA in closed form: the linear-Gaussian baseline of notebook 01 (Q1.1).

What lives here: :func:`fit_ppca`, the maximum-likelihood PPCA of Tipping & Bishop
(1999) from an eigendecomposition of the sample covariance, returned as an
:class:`~course_utils.toys.linear_gaussian.LinearGaussian` (``z ~ N(0, I)``,
``x = W z + mu + eps``, ``eps ~ N(0, sigma^2 I)``) so that sampling, the exact
log p(x) and the exact posterior come with it; :func:`mean_image`, its decoder
mean ``W z + mu``; and :func:`linearity_gap`, a
numerical test of whether a decoder's mean is an affine function of z.

Factor analysis is the same model with a diagonal (per-pixel) noise covariance
instead of ``sigma^2 I``; it has no closed-form fit (EM), and is not needed here.
The VAE, whose decoder is *non-linear*, is in :mod:`course_utils.vae.model`.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from course_utils.toys.linear_gaussian import LinearGaussian

#: bytes of one float64 chunk of rows in :func:`fit_ppca`
CHUNK_BYTES = 16 * 2**20


def fit_ppca(x: torch.Tensor, q: int, min_variance: float = 1e-6) -> LinearGaussian:
    """Maximum-likelihood PPCA with ``q`` latent dimensions for data ``x`` (N, D).

    With the sample covariance's eigenvalues ``l_1 >= ... >= l_D`` and eigenvectors ``U``:

    - ``mu`` is the data mean,
    - ``sigma^2 = mean(l_{q+1}, ..., l_D)`` (the variance the q directions leave unexplained),
    - ``W = U_q (diag(l_1..l_q) - sigma^2 I)^{1/2}`` (up to a rotation of z, which the
      likelihood cannot see).

    ``min_variance`` keeps ``sigma^2`` positive for data with constant pixels.
    """
    if not 0 < q < x.shape[1]:
        raise ValueError(f"q must be between 1 and D-1 = {x.shape[1] - 1}, got {q}")
    # mean and covariance in float64, a chunk of rows at a time: a float64 copy of 50 000 images (and its
    # centred copy) would take 2 x 314 MB, more than a Binder kernel can spare
    step = max(1, CHUNK_BYTES // (8 * x.shape[1]))
    chunks = [(i, min(i + step, len(x))) for i in range(0, len(x), step)]
    mu = sum(x[i:j].to(torch.float64).sum(0) for i, j in chunks) / len(x)
    cov = torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64)
    for i, j in chunks:
        centred = x[i:j].to(torch.float64) - mu
        cov.addmm_(centred.T, centred)
    cov /= len(x)
    evals, evecs = torch.linalg.eigh(cov)  # ascending
    evals, evecs = evals.flip(0).clamp_min(0.0), evecs.flip(1)
    sigma2 = evals[q:].mean().clamp_min(min_variance)
    W = evecs[:, :q] * (evals[:q] - sigma2).clamp_min(0.0).sqrt()
    return LinearGaussian(W, mu, sigma2.sqrt())


def mean_image(model: LinearGaussian, z: torch.Tensor) -> torch.Tensor:
    """The mean of p(x|z) of a linear-Gaussian model, ``W z + mu``, for z of shape (N, q): (N, D)."""
    return z.to(model.W.dtype) @ model.W.T + model.b


def linearity_gap(mean_fn: Callable[[torch.Tensor], torch.Tensor], z1: torch.Tensor, z2: torch.Tensor) -> float:
    """How far ``mean_fn`` is from affine: ``|f(z1+z2) - f(z1) - f(z2) + f(0)| / |f(z1+z2) - f(0)|``.

    0 (up to rounding) for PPCA and factor analysis, whose mean ``W z + mu`` is affine in z;
    clearly positive for a neural-network decoder. To compare a model whose likelihood has a
    non-identity link (a Bernoulli's logit link) with a linear-Gaussian one, pass its natural
    parameter -- the logits, e.g. ``VAE.decode_logits`` -- not the mean ``E[x|z]``: the sigmoid, the
    inverse link, makes ``E[x|z] = sigmoid(W z + b)`` far from affine although its logits are affine.
    """
    zero = torch.zeros_like(z1)
    with torch.no_grad():
        f = [mean_fn(v.unsqueeze(0)).double() for v in (z1 + z2, z1, z2, zero)]
    num = (f[0] - f[1] - f[2] + f[3]).norm()
    den = (f[0] - f[3]).norm().clamp_min(1e-12)
    return (num / den).item()
