"""Ways to differentiate an expectation over a Gaussian (notebook 04, Q1.11).

What lives here: per-sample estimates of ``d/d mu E_{z ~ N(mu, sigma^2)}[f(z)]`` by

- :func:`score_function_gradients` -- the score-function (REINFORCE, log-derivative)
  estimator ``(f(z) - b) * d/d mu log N(z; mu, sigma^2) = (f(z) - b) (z - mu) / sigma^2``,
  which needs only values of f; ``b = 0`` is plain REINFORCE, a constant ``b`` (a
  *baseline*, here the exact ``E_q[f]``) keeps it unbiased because ``E_q[score] = 0``;
- :func:`reparameterization_gradients` -- the reparameterized estimator
  ``d/d mu f(mu + sigma * eps)``, ``eps ~ N(0, I)``, which backpropagates through f;

:func:`gradient_statistics`, the mean and variance of all three over many samples on
the smooth quadratic ``f(z) = sum_i (z_i - 1)^2``, :func:`elbo_gradient_estimates`,
the same three estimators of the gradient of a linear-Gaussian model's actual ELBO in
the encoder's mean *and* standard deviation, next to the exact gradient, and
:func:`cosine_gradient_variances`, the counterexample ``f(z) = cos(omega z)``: smooth, yet the
reparameterized estimator's variance is *larger* than the score function's once f oscillates
on the scale of q's standard deviation. All are unbiased; their variances differ, and no
estimator has the lower variance for every f (Mohamed et al., 2020).
The VAE uses the trick in :meth:`course_utils.vae.model.VAE.reparameterize`.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from course_utils.toys.linear_gaussian import LinearGaussian
from course_utils.vae.losses import kl_std_normal

Objective = Callable[[torch.Tensor], torch.Tensor]
"""``f(z)``: z (n, D) -> (n,) values."""


def squared_distance(target: float = 1.0) -> Objective:
    """``f(z) = sum_i (z_i - target)^2``; then ``d/d mu E[f] = 2 (mu - target)`` exactly."""
    return lambda z: ((z - target) ** 2).sum(-1)


def expected_squared_distance(mu: torch.Tensor, sigma: torch.Tensor, target: float = 1.0) -> float:
    """``E_{z ~ N(mu, diag sigma^2)}[sum_i (z_i - target)^2] = sum_i sigma_i^2 + (mu_i - target)^2``: the baseline."""
    return float((sigma ** 2 + (mu - target) ** 2).sum())


def score_function_gradients(f: Objective, mu: torch.Tensor, sigma: torch.Tensor, n: int,
                             generator: torch.Generator | None = None, baseline: float = 0.0) -> torch.Tensor:
    """``n`` one-sample score-function estimates of the gradient with respect to ``mu``: shape (n, D).

    ``baseline`` is subtracted from f(z) (a constant control variate; 0 is plain REINFORCE).
    """
    eps = torch.randn(n, mu.shape[-1], generator=generator, dtype=mu.dtype)
    z = mu + sigma * eps
    with torch.no_grad():
        return (f(z) - baseline)[:, None] * (z - mu) / sigma ** 2


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


def gradient_statistics(dim: int, n: int = 10_000, mu: float = 0.0, sigma: float = 1.0, target: float = 1.0,
                        seed: int = 0) -> dict[str, float]:
    """The three estimators on ``f(z) = sum_i (z_i - target)^2`` in ``dim`` dimensions, the same ``n`` noise draws.

    Returns each estimator's mean of the first coordinate (``*_mean``; the exact value is
    ``2 (mu - target)``) and its variance averaged over coordinates (``*_var``) for ``score``
    (plain REINFORCE), ``baseline`` (REINFORCE with the exact ``E_q[f]`` subtracted) and ``reparam``.
    """
    f = squared_distance(target)
    mu_t = torch.full((dim,), mu, dtype=torch.float64)
    sigma_t = torch.full((dim,), sigma, dtype=torch.float64)
    b = expected_squared_distance(mu_t, sigma_t, target)
    estimates = {
        "score": score_function_gradients(f, mu_t, sigma_t, n, torch.Generator().manual_seed(seed)),
        "baseline": score_function_gradients(f, mu_t, sigma_t, n, torch.Generator().manual_seed(seed), baseline=b),
        "reparam": reparameterization_gradients(f, mu_t, sigma_t, n, torch.Generator().manual_seed(seed)),
    }
    out = {}
    for name, g in estimates.items():
        out[f"{name}_mean"] = g[:, 0].mean().item()
        out[f"{name}_var"] = g.var(0).mean().item()
    return out


def quadratic_gradient_variances(dim: int, mu: float = 0.0, sigma: float = 1.0,
                                 target: float = 1.0) -> dict[str, float]:
    """Exact variance, per coordinate, of the three one-sample estimators of :func:`gradient_statistics`.

    With ``z ~ N(mu, sigma^2 I_D)``, ``f(z) = sum_i (z_i - target)^2``, ``d = mu - target`` and
    ``C = E[f] = D (sigma^2 + d^2)`` (Gaussian moments up to the sixth):

    - ``reparam``: ``Var[2 (z_1 - target)] = 4 sigma^2``, whatever D;
    - ``baseline``: ``10 sigma^2 + 8 d^2 + (D - 1)(2 sigma^2 + 4 d^2)``, linear in D (the other
      coordinates' fluctuations of f multiply the score);
    - ``score``: the baseline's plus ``4 C + C^2 / sigma^2``, quadratic in D (the constant ``E[f]``
      multiplies the score too).

    For the notebook's case (mu 0, sigma 1, target 1): 4, ``18 + 6 (D - 1)`` and ``4 D^2 + 14 D + 12``.
    """
    d2, s2 = (mu - target) ** 2, sigma ** 2
    c = dim * (s2 + d2)
    baseline = 10 * s2 + 8 * d2 + (dim - 1) * (2 * s2 + 4 * d2)
    return {"score": baseline + 4 * c + c ** 2 / s2, "baseline": baseline, "reparam": 4 * s2}


def elbo_gradient_estimates(model: LinearGaussian, x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor,
                            n: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """One-sample estimates of the gradient of the ELBO of one data point in q's ``(mu, sigma)``.

    ``x`` is (1, D), ``mu`` and ``sigma`` (1, d) the encoder's output for it. The ELBO is
    ``E_q[log p(x|z)] - KL(q || p(z))``; the KL's gradient is exact (closed form) in every
    estimator, only the expectation is estimated, from the same ``n`` noise draws ``eps``:

    - ``score``: ``log p(x|z) * grad log q(z)``, with ``grad_mu log q = (z - mu) / sigma^2`` and
      ``grad_sigma log q = ((z - mu)^2 - sigma^2) / sigma^3``;
    - ``baseline``: the same with ``log p(x|z) - E_q[log p(x|z)]`` (the exact expectation);
    - ``reparam``: autograd of ``log p(x | mu + sigma * eps)``.

    Returns a dict of (n, 2d) tensors -- columns ``mu_1..mu_d, sigma_1..sigma_d`` -- and ``exact``,
    the autograd gradient of the exact ELBO (``LinearGaussian.elbo``), shape (2d,).
    """
    if x.shape[0] != 1:
        raise ValueError(f"elbo_gradient_estimates takes one data point, x of shape (1, D); got {tuple(x.shape)}")
    mu, sigma = mu.detach(), sigma.detach()
    m, s = mu.clone().requires_grad_(True), sigma.clone().requires_grad_(True)
    exact = torch.cat([g[0] for g in torch.autograd.grad(model.elbo(x, m, s).sum(), (m, s))])
    m, s = mu.clone().requires_grad_(True), sigma.clone().requires_grad_(True)
    kl_grad = torch.cat([g[0] for g in torch.autograd.grad(kl_std_normal(m, s).sum(), (m, s))])
    eps = torch.randn(n, *mu.shape, generator=generator, dtype=mu.dtype)    # (n, 1, d)
    with torch.no_grad():
        z = mu + sigma * eps
        log_lik = model.log_px_given_z(x, z)[:, 0]                           # (n,)
        score = torch.cat([((z - mu) / sigma ** 2)[:, 0], (((z - mu) ** 2 - sigma ** 2) / sigma ** 3)[:, 0]], -1)
        expected = (model.elbo(x, mu, sigma) + kl_std_normal(mu, sigma)).item()  # E_q[log p(x|z)], exact
    m_n = mu.expand(n, -1, -1).clone().requires_grad_(True)
    s_n = sigma.expand(n, -1, -1).clone().requires_grad_(True)
    model.log_px_given_z(x, m_n + s_n * eps).sum().backward()
    reparam = torch.cat([m_n.grad[:, 0], s_n.grad[:, 0]], -1)
    return {"score": log_lik[:, None] * score - kl_grad,
            "baseline": (log_lik - expected)[:, None] * score - kl_grad,
            "reparam": reparam - kl_grad,
            "exact": exact}


def cosine_gradient_variances(omega: float, n: int = 100_000, seed: int = 0) -> dict[str, float]:
    """The three estimators of ``d/d mu E_{z ~ N(mu, 1)}[cos(omega z)]`` at ``mu = 0`` (the exact gradient is 0).

    Exact variances of one-sample estimates, from Gaussian moments (``z ~ N(0, 1)``,
    ``E[z^2 cos(a z)] = (1 - a^2) exp(-a^2 / 2)``):

    - ``score``: ``Var[cos(omega z) z] = 1/2 + 1/2 (1 - 4 omega^2) exp(-2 omega^2)``;
    - ``baseline``: with ``b = E[cos(omega z)] = exp(-omega^2 / 2)`` subtracted, ``score - b^2 (1 - 2 omega^2)``;
    - ``reparam``: ``Var[-omega sin(omega z)] = omega^2 (1 - exp(-2 omega^2)) / 2``;

    and the same three (``*_mc``) from ``n`` seeded one-sample estimates of each (the same noise).
    """
    f = lambda z: torch.cos(omega * z).sum(-1)  # noqa: E731
    mu, sigma = torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    b = float(torch.exp(torch.tensor(-omega ** 2 / 2, dtype=torch.float64)))
    score = 0.5 + 0.5 * (1 - 4 * omega ** 2) * float(torch.exp(torch.tensor(-2 * omega ** 2, dtype=torch.float64)))
    out = {"omega": omega, "score": score, "baseline": score - b ** 2 * (1 - 2 * omega ** 2),
           "reparam": omega ** 2 * (1 - float(torch.exp(torch.tensor(-2 * omega ** 2, dtype=torch.float64)))) / 2}
    estimates = {
        "score": score_function_gradients(f, mu, sigma, n, torch.Generator().manual_seed(seed)),
        "baseline": score_function_gradients(f, mu, sigma, n, torch.Generator().manual_seed(seed), baseline=b),
        "reparam": reparameterization_gradients(f, mu, sigma, n, torch.Generator().manual_seed(seed)),
    }
    for name, g in estimates.items():
        out[f"{name}_mc"] = g[:, 0].var().item()
    return out
