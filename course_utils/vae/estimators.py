"""Estimators of log p(x) for latent variable models: naive Monte Carlo and importance weighting.

What lives here:

- :func:`naive_log_px` -- the naive Monte Carlo estimate with samples from the
  prior (COURSE.md Q1.4): ``log (1/M) sum_m p(x | z_m)``, ``z_m ~ p(z)``;
- :func:`iw_log_px` -- the importance-weighted estimate with q(z|x) as the
  proposal: ``log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x)``, ``z_i ~ q(z|x)``;
- :func:`vae_naive_log_px`, :func:`vae_iw_log_px` -- the same for a trained
  :class:`~course_utils.vae.model.VAE` (Bernoulli decoder).

The model where log p(x) is exact, to check these against, is
:class:`course_utils.toys.linear_gaussian.LinearGaussian`.

Both estimators take the model as a function ``log_likelihood(x, z)`` that returns
log p(x|z), so they work for any decoder. They average in log space with
``logsumexp`` and draw their samples in chunks, so k = 5000 samples for a batch of
images fits in a bounded amount of memory. Both estimates are biased *low*
(Jensen's inequality): their expectation is <= log p(x), approaching it as the
number of samples grows.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from course_utils.core.cpus import sharing, tick
from course_utils.vae.losses import bernoulli_log_likelihood, gaussian_log_density, std_normal_log_density

LogLikelihood = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``log_likelihood(x, z)``: x (N, D), z (S, N, d) -> log p(x|z) of shape (S, N)."""

MAX_ELEMENTS = 2 ** 21  # per chunk: samples x images x data dimension (8 MB of float32; issue 16: 2 ** 23
# held ~170 MB of temporaries per evaluation, ~470 MB of resident memory with two threads' malloc arenas)


def _chunk_size(num_samples: int, x: torch.Tensor, max_elements: int) -> int:
    per_sample = max(1, x.shape[0] * x.shape[-1])
    return max(1, min(num_samples, max_elements // per_sample))


def _rows_for(partial: torch.Tensor | None, value: torch.Tensor, num_samples: int, chunk: int) -> torch.Tensor:
    """The (chunks, N) tensor the per-chunk results go into, made once at the first chunk. One tensor and not a
    list of small ones: small results kept alive between each chunk's freed temporaries fragment the heap, and
    glibc then held some 600 MB more at the peak of 10 000 naive samples of 20 images (a Binder kernel's margin)."""
    if partial is None:
        partial = value.new_empty((-(-num_samples // chunk), *value.shape))
    return partial


def _randn(shape, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise of ``shape`` on ``like``'s device and dtype; a CPU generator works for GPU tensors."""
    if generator is None or generator.device == like.device:
        return torch.randn(shape, generator=generator, dtype=like.dtype, device=like.device)
    return torch.randn(shape, generator=generator, dtype=like.dtype, device=generator.device).to(like.device)


def log_mean_exp(log_values: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """``log(mean(exp(log_values)))`` along ``dim``, computed stably with ``logsumexp``."""
    return torch.logsumexp(log_values, dim=dim) - math.log(log_values.shape[dim])


@torch.no_grad()
def naive_log_px(x: torch.Tensor, log_likelihood: LogLikelihood, z_dim: int, num_samples: int, *,
                 generator: torch.Generator | None = None, max_elements: int = MAX_ELEMENTS) -> torch.Tensor:
    """The naive Monte Carlo estimate of log p(x) with samples from the prior N(0, I).

    ``log p(x_n) ~= log (1/M) sum_m p(x_n | z_m)`` with ``z_m ~ N(0, I)``, computed
    as ``logsumexp_m log p(x_n | z_m) - log M`` so that tiny likelihoods
    (``p(x|z) ~ e^-500`` for an image) do not underflow to 0.

    Args:
        x: (N, D) data points.
        log_likelihood: ``log_likelihood(x, z)`` -> log p(x|z) of shape (S, N) for z of shape (S, N, z_dim).
        z_dim: the latent dimension d.
        num_samples: M, prior samples per data point (drawn independently for each point).
        generator: for reproducible samples.
        max_elements: bounds the memory of one chunk of samples.
    Returns:
        (N,) estimates in nats.
    """
    chunk = _chunk_size(num_samples, x, max_elements)
    partial = None  # logsumexp of each chunk, one row per chunk
    for row, done in enumerate(range(0, num_samples, chunk)):
        s = min(chunk, num_samples - done)
        z = _randn((s, x.shape[0], z_dim), x, generator)
        value = torch.logsumexp(log_likelihood(x, z), dim=0)
        partial = _rows_for(partial, value, num_samples, chunk)
        partial[row] = value
        del z, value
    return torch.logsumexp(partial, dim=0) - math.log(num_samples)


@torch.no_grad()
def iw_log_px(x: torch.Tensor, log_likelihood: LogLikelihood, mu: torch.Tensor, sigma: torch.Tensor,
              num_samples: int, *, generator: torch.Generator | None = None,
              max_elements: int = MAX_ELEMENTS, return_elbo: bool = False):
    """The importance-weighted estimate of log p(x) with the proposal q(z|x) = N(mu, diag(sigma^2)).

    ``log p(x) ~= log (1/k) sum_i w_i`` with ``w_i = p(x|z_i) p(z_i) / q(z_i|x)`` and
    ``z_i ~ q(z|x)``; the prior p(z) is N(0, I). With k = 1 its expectation is the
    ELBO; it rises towards log p(x) as k grows (Burda et al., 2016), and equals
    log p(x) for every k when q is the exact posterior.

    Args:
        x: (N, D) data points.
        log_likelihood: ``log_likelihood(x, z)`` -> (S, N) for z of shape (S, N, d).
        mu, sigma: (N, d) mean and standard deviation of the proposal (e.g. the VAE's encoder).
        num_samples: k, samples per data point.
        return_elbo: also return the average of the log weights, a k-sample
            Monte Carlo estimate of the ELBO with the same samples.
    Returns:
        (N,) estimates in nats (and the ELBO estimates, with ``return_elbo``).
    """
    chunk = _chunk_size(num_samples, x, max_elements)
    partial, weight_sum = None, torch.zeros(x.shape[0], dtype=mu.dtype, device=mu.device)
    for row, done in enumerate(range(0, num_samples, chunk)):
        s = min(chunk, num_samples - done)
        eps = _randn((s, *mu.shape), mu, generator)
        z = mu + sigma * eps
        log_w = (log_likelihood(x, z) + std_normal_log_density(z)
                 - gaussian_log_density(z, mu, sigma))
        value = torch.logsumexp(log_w, dim=0)
        partial = _rows_for(partial, value, num_samples, chunk)
        partial[row] = value
        weight_sum += log_w.sum(0)
        del eps, z, log_w, value
    estimate = torch.logsumexp(partial, dim=0) - math.log(num_samples)
    return (estimate, weight_sum / num_samples) if return_elbo else estimate


# --------------------------------------------------------------------------- for the VAE

def vae_log_likelihood(model) -> LogLikelihood:
    """``log_likelihood(x, z)`` of a VAE's Bernoulli decoder, for the estimators above."""
    def log_likelihood(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return bernoulli_log_likelihood(model.decode_logits(z), x)
    return log_likelihood


@sharing("evaluation")
@torch.no_grad()
def vae_iw_log_px(model, x: torch.Tensor, num_samples: int = 5000, *, batch_size: int = 100,
                  generator: torch.Generator | None = None, max_elements: int = MAX_ELEMENTS,
                  progress: bool = False) -> torch.Tensor:
    """Importance-weighted log p(x) of a VAE for binary images ``x`` (N, 784), with its encoder as proposal.

    Images go through in batches of ``batch_size``; returns (N,) estimates in nats.
    """
    from tqdm.auto import tqdm

    model.eval()
    out = []
    starts = range(0, len(x), batch_size)
    for i in tqdm(starts, desc=f"IW log p(x), k={num_samples}", unit="batch", disable=not progress):
        tick()
        xb = x[i:i + batch_size].to(model.device)
        mu, sigma = model.encode(xb)
        out.append(iw_log_px(xb, vae_log_likelihood(model), mu, sigma, num_samples,
                             generator=generator, max_elements=max_elements).cpu())
    return torch.cat(out) if out else torch.zeros(0)


@torch.no_grad()
def vae_naive_log_px(model, x: torch.Tensor, num_samples: int, *, generator: torch.Generator | None = None,
                     max_elements: int = MAX_ELEMENTS) -> torch.Tensor:
    """The naive (prior-sampling) estimate of log p(x) of a VAE for binary images ``x`` (N, 784)."""
    from course_utils.vae.model import check_images

    model.eval()
    x = check_images(x).to(model.device)
    return naive_log_px(x, vae_log_likelihood(model), model.z_dim, num_samples,
                        generator=generator, max_elements=max_elements)


# --------------------------------------------------------------------------- an exact model
