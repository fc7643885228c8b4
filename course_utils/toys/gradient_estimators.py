"""Two ways to differentiate an expectation over a Gaussian (notebook 04, Q1.11).

What lives here: per-sample estimates of ``d/d mu E_{z ~ N(mu, sigma^2)}[f(z)]`` by

- :func:`score_function_gradients` -- the score-function (REINFORCE, log-derivative)
  estimator ``f(z) * d/d mu log N(z; mu, sigma^2) = f(z) (z - mu) / sigma^2``, which
  needs only values of f;
- :func:`reparameterization_gradients` -- the reparameterized estimator
  ``d/d mu f(mu + sigma * eps)``, ``eps ~ N(0, I)``, which backpropagates through f;

and :func:`gradient_statistics`, the mean and variance of both over many samples.
Both estimators are unbiased; their variances differ, which is the point of the
reparameterization trick. The VAE uses the trick in :meth:`course_utils.vae.model.VAE.reparameterize`.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

Objective = Callable[[torch.Tensor], torch.Tensor]
"""``f(z)``: z (n, D) -> (n,) values."""


def squared_distance(target: float = 1.0) -> Objective:
    """``f(z) = sum_i (z_i - target)^2``; then ``d/d mu E[f] = 2 (mu - target)`` exactly."""
    return lambda z: ((z - target) ** 2).sum(-1)


def score_function_gradients(f: Objective, mu: torch.Tensor, sigma: torch.Tensor, n: int,
                             generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` one-sample score-function estimates of the gradient with respect to ``mu``: shape (n, D)."""
    eps = torch.randn(n, mu.shape[-1], generator=generator, dtype=mu.dtype)
    z = mu + sigma * eps
    with torch.no_grad():
        return f(z)[:, None] * (z - mu) / sigma ** 2


def reparameterization_gradients(f: Objective, mu: torch.Tensor, sigma: torch.Tensor, n: int,
                                 generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` one-sample reparameterized estimates of the gradient with respect to ``mu``: shape (n, D).

    ``z = mu + sigma * eps``: the noise is an input, so autograd differentiates f(z) with respect to
    a per-sample copy of ``mu`` (the samples are independent, so one backward pass gives all n).
    """
    eps = torch.randn(n, mu.shape[-1], generator=generator, dtype=mu.dtype)
    mu_copies = mu.detach().expand(n, -1).clone().requires_grad_(True)
    f(mu_copies + sigma.detach() * eps).sum().backward()
    return mu_copies.grad


def gradient_statistics(f: Objective, dim: int, n: int = 10_000, mu: float = 0.0, sigma: float = 1.0,
                        seed: int = 0) -> dict[str, float]:
    """Both estimators' mean (first coordinate) and variance (averaged over coordinates) in ``dim`` dimensions."""
    mu_t = torch.full((dim,), mu, dtype=torch.float64)
    sigma_t = torch.full((dim,), sigma, dtype=torch.float64)
    sf = score_function_gradients(f, mu_t, sigma_t, n, torch.Generator().manual_seed(seed))
    rp = reparameterization_gradients(f, mu_t, sigma_t, n, torch.Generator().manual_seed(seed))
    return {"score_mean": sf[:, 0].mean().item(), "score_var": sf.var(0).mean().item(),
            "reparam_mean": rp[:, 0].mean().item(), "reparam_var": rp.var(0).mean().item()}
