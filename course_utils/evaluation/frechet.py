"""The Fréchet distance between two sets of features (Q3.1), in float64.

The Fréchet distance between two feature sets is that of the Gaussians with their
means and covariances::

    FD = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr[(S_a^{1/2} S_b S_a^{1/2})^{1/2}]

(the FID of Heusel et al., 2017, with the course's classifier in place of
Inception). This is the **squared** 2-Wasserstein distance W2² between the two fitted
Gaussians: a squared metric, not a metric (it breaks the triangle inequality; its square
root, W2, is the metric). It depends on the number of samples, so compare scores computed with
the same number and always next to the real-vs-real floor. Nothing here knows
where the features come from.
"""
from __future__ import annotations

import numpy as np
import torch

# --------------------------------------------------------------------------- Fréchet distance

def _as_float64(feats) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(feats) if not isinstance(feats, torch.Tensor) else feats)
    x = x.detach().to("cpu", torch.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"features must have shape (N, d) with N >= 2, got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("features contain NaN or inf")
    return x


def gaussian_stats(feats) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (d,) and unbiased covariance (d, d), in float64, of features of shape (N, d)."""
    x = _as_float64(feats)
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / (len(x) - 1)


def _psd_sqrt(cov: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (via eigh)."""
    w, v = torch.linalg.eigh((cov + cov.T) / 2)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def _trace_sqrt_product(cov_a: torch.Tensor, cov_b: torch.Tensor) -> torch.Tensor:
    """tr((S_a S_b)^{1/2}) = tr((S_a^{1/2} S_b S_a^{1/2})^{1/2}): a symmetric PSD eigenproblem."""
    root_a = _psd_sqrt(cov_a)
    m = root_a @ cov_b @ root_a
    return torch.linalg.eigvalsh((m + m.T) / 2).clamp(min=0).sqrt().sum()


def frechet_distance_gaussians(mu_a, cov_a, mu_b, cov_b) -> float:
    """The Fréchet distance between N(mu_a, cov_a) and N(mu_b, cov_b): the *squared* 2-Wasserstein distance W2².

    A squared metric, not a metric; ``sqrt`` of it is W2.

    ``|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^{1/2} S_b S_a^{1/2})^{1/2})``, in
    float64; tiny negative round-off is clipped to 0.

    Symmetric by construction: the cross term is computed in both orders and averaged,
    and every sum pairs an ``a`` term with its ``b`` twin before adding anything else
    (floating-point addition is commutative but not associative), so swapping the
    arguments performs the same operations on swapped operands. Swapped calls agree
    bit for bit as long as the linear-algebra library returns the same bits for the
    same inputs; when it does not (MKL may vary with memory alignment unless
    ``MKL_CBWR`` is set), they agree to float64 round-off, a small multiple of
    ``d * 2.2e-16`` relative to ``tr(S_a) + tr(S_b)``.
    """
    mu_a, mu_b = (torch.as_tensor(m, dtype=torch.float64) for m in (mu_a, mu_b))
    cov_a, cov_b = (torch.as_tensor(c, dtype=torch.float64) for c in (cov_a, cov_b))
    if mu_a.shape != mu_b.shape or cov_a.shape != cov_b.shape or cov_a.shape != (len(mu_a), len(mu_a)):
        raise ValueError(f"shapes do not match: mu {tuple(mu_a.shape)} / {tuple(mu_b.shape)}, "
                         f"cov {tuple(cov_a.shape)} / {tuple(cov_b.shape)}")
    diff = mu_a - mu_b
    cross = 0.5 * (_trace_sqrt_product(cov_a, cov_b) + _trace_sqrt_product(cov_b, cov_a))
    fd = diff @ diff + (torch.trace(cov_a) + torch.trace(cov_b)) - 2.0 * cross
    return max(float(fd), 0.0)


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between two feature sets (N_a, d) and (N_b, d), e.g. ``Classifier.features``.

    Fits a Gaussian (mean, covariance) to each set and returns
    :func:`frechet_distance_gaussians` of the two. 0 for identical sets; grows as
    the sets' statistics move apart.
    """
    a, b = _as_float64(feats_a), _as_float64(feats_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets differ in dimension: {a.shape[1]} vs {b.shape[1]}")
    return frechet_distance_gaussians(*gaussian_stats(a), *gaussian_stats(b))
