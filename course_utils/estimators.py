"""Estimators of log p(x) for latent variable models, and a model where log p(x) is exact.

What lives here:

- :func:`naive_log_px` -- the naive Monte Carlo estimate with samples from the
  prior (COURSE.md Q1.4): ``log (1/M) sum_m p(x | z_m)``, ``z_m ~ p(z)``;
- :func:`iw_log_px` -- the importance-weighted estimate with q(z|x) as the
  proposal: ``log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x)``, ``z_i ~ q(z|x)``;
- :func:`vae_naive_log_px`, :func:`vae_iw_log_px` -- the same for a trained
  :class:`~course_utils.vae.VAE` (Bernoulli decoder);
- :class:`LinearGaussian` -- ``z ~ N(0, I)``, ``x = W z + b + noise``: a latent
  variable model (factor analysis / probabilistic PCA) whose log p(x), posterior
  p(z|x) and ELBO are known in closed form, to check the estimators against.

Both estimators take the model as a function ``log_likelihood(x, z)`` that returns
log p(x|z), so they work for any decoder. They average in log space with
``logsumexp`` and draw their samples in chunks, so k = 5000 samples for a batch of
images fits in a bounded amount of memory. Both estimates are biased *low*
(Jensen's inequality): their expectation is <= log p(x), approaching it as the
number of samples grows.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .losses import bernoulli_log_likelihood, gaussian_log_density, kl_std_normal, std_normal_log_density

LogLikelihood = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``log_likelihood(x, z)``: x (N, D), z (S, N, d) -> log p(x|z) of shape (S, N)."""

MAX_ELEMENTS = 2 ** 23  # per chunk: samples x images x data dimension (about 32 MB of float32)


def _chunk_size(num_samples: int, x: torch.Tensor, max_elements: int) -> int:
    per_sample = max(1, x.shape[0] * x.shape[-1])
    return max(1, min(num_samples, max_elements // per_sample))


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
    partial = []  # logsumexp of each chunk
    done = 0
    while done < num_samples:
        s = min(chunk, num_samples - done)
        z = _randn((s, x.shape[0], z_dim), x, generator)
        partial.append(torch.logsumexp(log_likelihood(x, z), dim=0))
        done += s
    return torch.logsumexp(torch.stack(partial), dim=0) - math.log(num_samples)


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
    partial, weight_sum = [], torch.zeros(x.shape[0], dtype=mu.dtype, device=mu.device)
    done = 0
    while done < num_samples:
        s = min(chunk, num_samples - done)
        eps = _randn((s, *mu.shape), mu, generator)
        z = mu + sigma * eps
        log_w = (log_likelihood(x, z) + std_normal_log_density(z)
                 - gaussian_log_density(z, mu, sigma))
        partial.append(torch.logsumexp(log_w, dim=0))
        weight_sum += log_w.sum(0)
        done += s
    estimate = torch.logsumexp(torch.stack(partial), dim=0) - math.log(num_samples)
    return (estimate, weight_sum / num_samples) if return_elbo else estimate


# --------------------------------------------------------------------------- for the VAE

def vae_log_likelihood(model) -> LogLikelihood:
    """``log_likelihood(x, z)`` of a VAE's Bernoulli decoder, for the estimators above."""
    def log_likelihood(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return bernoulli_log_likelihood(model.decode_logits(z), x)
    return log_likelihood


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
        xb = x[i:i + batch_size].to(model.device)
        mu, sigma = model.encode(xb)
        out.append(iw_log_px(xb, vae_log_likelihood(model), mu, sigma, num_samples,
                             generator=generator, max_elements=max_elements).cpu())
    return torch.cat(out) if out else torch.zeros(0)


@torch.no_grad()
def vae_naive_log_px(model, x: torch.Tensor, num_samples: int, *, generator: torch.Generator | None = None,
                     max_elements: int = MAX_ELEMENTS) -> torch.Tensor:
    """The naive (prior-sampling) estimate of log p(x) of a VAE for binary images ``x`` (N, 784)."""
    from .vae import check_images

    model.eval()
    x = check_images(x).to(model.device)
    return naive_log_px(x, vae_log_likelihood(model), model.z_dim, num_samples,
                        generator=generator, max_elements=max_elements)


# --------------------------------------------------------------------------- an exact model

class LinearGaussian:
    """A linear-Gaussian latent variable model with everything in closed form.

    ``z ~ N(0, I_d)``, ``x | z ~ N(W z + b, diag(noise_std^2))``: factor analysis,
    or probabilistic PCA when the noise is the same in every dimension. Then

    - ``p(x) = N(b, W W^T + Psi)`` (exact :meth:`log_px`),
    - ``p(z|x) = N(S W^T Psi^-1 (x - b), S)`` with ``S = (I + W^T Psi^-1 W)^-1`` (:meth:`posterior`),
    - the ELBO and ``KL(q || p(z|x))`` of a diagonal Gaussian q (:meth:`elbo`, :meth:`kl_to_posterior`),

    so Monte Carlo estimates can be checked against the truth. ``Psi = diag(noise_std^2)``.

    Args:
        W: (D, d) loading matrix. b: (D,) offset. noise_std: a float or a (D,) tensor.
    """

    def __init__(self, W: torch.Tensor, b: torch.Tensor | None = None, noise_std=1.0):
        if W.ndim != 2:
            raise ValueError(f"W must be a (D, d) matrix, got shape {tuple(W.shape)}")
        self.W = W
        self.x_dim, self.z_dim = W.shape
        self.b = torch.zeros(self.x_dim, dtype=W.dtype) if b is None else b.to(W.dtype)
        self.noise_std = torch.as_tensor(noise_std, dtype=W.dtype).expand(self.x_dim).clone()
        if not (self.noise_std > 0).all():
            raise ValueError("noise_std must be positive")
        psi_inv = self.noise_std ** -2
        self.posterior_precision = torch.eye(self.z_dim, dtype=W.dtype) + (W.T * psi_inv) @ W
        self.posterior_cov = torch.linalg.inv(self.posterior_precision)

    @classmethod
    def random(cls, x_dim: int, z_dim: int, noise_std: float = 0.5, scale: float = 1.0,
               seed: int = 0, dtype=torch.float64) -> "LinearGaussian":
        """A model with random loadings ``W ~ scale * N(0, 1)`` and offset ``b ~ N(0, 1)``, seeded."""
        g = torch.Generator().manual_seed(seed)
        W = scale * torch.randn(x_dim, z_dim, generator=g, dtype=dtype)
        b = torch.randn(x_dim, generator=g, dtype=dtype)
        return cls(W, b, noise_std)

    def __repr__(self) -> str:
        return f"LinearGaussian(x_dim={self.x_dim}, z_dim={self.z_dim})"

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Ancestral sampling: return ``(x, z)`` with x (n, D) and z (n, d)."""
        z = torch.randn(n, self.z_dim, generator=generator, dtype=self.W.dtype)
        noise = torch.randn(n, self.x_dim, generator=generator, dtype=self.W.dtype)
        return z @ self.W.T + self.b + noise * self.noise_std, z

    def log_px_given_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) for x (N, D) and z (..., N, d): shape (..., N). Pass it to the estimators."""
        return gaussian_log_density(x, z @ self.W.T + self.b, self.noise_std)

    def log_px(self, x: torch.Tensor) -> torch.Tensor:
        """The exact log p(x) = log N(x; b, W W^T + Psi), shape (N,)."""
        cov = self.W @ self.W.T + torch.diag(self.noise_std ** 2)
        return torch.distributions.MultivariateNormal(self.b, covariance_matrix=cov).log_prob(x)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The exact posterior p(z|x): its means (N, d) and its covariance (d, d), the same for every x."""
        mean = ((x - self.b) * self.noise_std ** -2) @ self.W @ self.posterior_cov
        return mean, self.posterior_cov

    def best_diagonal_q(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The diagonal Gaussian q closest to the posterior in KL(q || p(z|x)): ``(mu, sigma)``, each (N, d).

        Its mean is the posterior mean and its variances are ``1 / diag(precision)``:
        smaller than the posterior's marginal variances when the latents are correlated.
        """
        mean, _ = self.posterior(x)
        sigma = torch.diagonal(self.posterior_precision).rsqrt().expand_as(mean)
        return mean, sigma

    def elbo(self, x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """The exact ELBO ``E_q[log p(x|z)] - KL(q || p(z))`` of q = N(mu, diag(sigma^2)), shape (N,)."""
        psi = self.noise_std ** 2
        resid = x - mu @ self.W.T - self.b
        spread = (sigma ** 2) @ (self.W ** 2).T  # E_q of the variance that z adds to each x_i
        expected_ll = -0.5 * (torch.log(2 * math.pi * psi) + (resid ** 2 + spread) / psi).sum(-1)
        return expected_ll - kl_std_normal(mu, sigma)

    def kl_to_posterior(self, x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """``KL(q(z) || p(z|x))`` for q = N(mu, diag(sigma^2)), exact, shape (N,): the gap log p(x) - ELBO."""
        mean, _ = self.posterior(x)
        prec = self.posterior_precision
        diff = mean - mu
        trace = (torch.diagonal(prec) * sigma ** 2).sum(-1)
        maha = ((diff @ prec) * diff).sum(-1)
        logdet_cov = -torch.logdet(prec)
        return 0.5 * (trace + maha - self.z_dim + logdet_cov - 2.0 * torch.log(sigma).sum(-1))
