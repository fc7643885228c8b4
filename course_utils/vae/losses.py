"""The VAE's loss pieces as small pure functions of tensors.

What lives here: the Bernoulli log-likelihood of binary images under decoder
logits, Gaussian log-densities, the closed-form KL divergence of a diagonal
Gaussian to the standard normal, and the per-example negative ELBO with its two
parts. Nothing here owns parameters, draws random numbers or knows about
training; the model is in :mod:`course_utils.vae.model`, the estimators of log p(x)
in :mod:`course_utils.vae.estimators`.

Conventions: every function returns one value *per example* (shape ``(N,)``, or
the leading shape of the inputs), summed over pixels or latent dimensions, in
nats. Averaging over the batch is a separate, explicit step (:func:`batch_mean`).
"""
from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2.0 * math.pi)


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x | z) of a Bernoulli decoder, summed over pixels.

    ``sum_m x_m log f_m + (1 - x_m) log(1 - f_m)`` with ``f = sigmoid(logits)``.
    Written in terms of the logits ``l`` it is ``sum_m x_m l_m - softplus(l_m)``:
    the same value as ``-binary_cross_entropy_with_logits(l, x)``, finite even
    where ``f`` rounds to 0 or 1 (never take ``log(sigmoid(l))`` of a large
    negative ``l``).

    ``softplus(l) = log(1 + e^l)`` is computed as ``(l + |l|) / 2 - log(sigmoid(|l|))``,
    exact for every ``l`` (``sigmoid(|l|)`` lies in [1/2, 1]) and several times
    faster on a CPU than PyTorch's ``softplus``/``log1p`` kernels.

    Args:
        logits: (..., N, 784) decoder outputs before the sigmoid.
        x: (N, 784) images in [0, 1] (binary for a proper likelihood); broadcast
            against ``logits``, so several z samples per image work.
    Returns:
        (..., N) log-likelihoods in nats (always <= 0 for binary x).
    """
    if logits.shape[-1] != x.shape[-1]:
        raise ValueError(f"logits have {logits.shape[-1]} pixels but x has {x.shape[-1]}")
    magnitude = logits.abs()
    softplus = 0.5 * (logits + magnitude) - torch.log(torch.sigmoid(magnitude))
    return (x * logits - softplus).sum(-1)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(sigma^2)), summed over the last dimension (broadcasting)."""
    return -0.5 * (((z - mu) / sigma) ** 2 + 2.0 * torch.log(sigma) + LOG_2PI).sum(-1)


def std_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last dimension: the prior p(z) of the VAE."""
    return -0.5 * (z ** 2 + LOG_2PI).sum(-1)


def kl_std_normal(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag(sigma^2)) || N(0, I) ) in closed form, summed over latent dimensions.

    Per dimension: ``-log sigma + (sigma^2 + mu^2) / 2 - 1/2``, which is the
    assignment's ``-1/2 (1 + log sigma^2 - mu^2 - sigma^2)``. Always >= 0, and 0
    exactly when ``mu = 0`` and ``sigma = 1``.

    Args:
        mu, sigma: (N, D) mean and standard deviation (not variance) of q(z|x).
    Returns:
        (N,) KL divergences in nats.
    """
    return 0.5 * (mu ** 2 + sigma ** 2 - 1.0 - 2.0 * torch.log(sigma)).sum(-1)


def negative_elbo(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor,
                  sigma: torch.Tensor) -> dict[str, torch.Tensor]:
    """The per-example VAE loss with one sample z ~ q(z|x), and its two parts.

    ``loss = reconstruction + regularization`` where

    - ``reconstruction = -log p(x | z)`` (a one-sample estimate of
      ``-E_q[log p(x|z)]``; ``logits`` are the decoder's outputs at that z),
    - ``regularization = KL(q(z|x) || p(z))`` (closed form).

    ``-loss`` is the ELBO, a lower bound on log p(x).

    Returns:
        ``{"loss": (N,), "reconstruction": (N,), "regularization": (N,)}`` in nats.
    """
    reconstruction = -bernoulli_log_likelihood(logits, x)
    regularization = kl_std_normal(mu, sigma)
    return {"loss": reconstruction + regularization,
            "reconstruction": reconstruction,
            "regularization": regularization}


def batch_mean(parts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Average each per-example value over the batch (the loss the optimizer minimizes)."""
    return {name: value.mean() for name, value in parts.items()}
