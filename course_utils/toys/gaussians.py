"""The KL divergence between univariate Gaussians, three ways (notebook 03, Q1.5).

What lives here: the closed form of ``KL(N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2))``,
a Monte Carlo estimate of the same quantity (with its standard error), the value
from ``torch.distributions.kl_divergence``, and an optional symbolic derivation
with sympy (used only when sympy is installed). Every function takes standard
deviations, never variances, and returns nats.

The diagonal-Gaussian KL to N(0, I) that the VAE's loss uses is
:func:`course_utils.vae.losses.kl_std_normal`; this module is the general,
one-dimensional version that the derivation in notebook 03 starts from.
"""
from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2 * math.pi)


def _t(v) -> torch.Tensor:
    return v if torch.is_tensor(v) else torch.tensor(float(v), dtype=torch.float64)


def normal_log_pdf(x, mu, sigma) -> torch.Tensor:
    """log N(x; mu, sigma^2), elementwise (``sigma`` is the standard deviation)."""
    x, mu, sigma = _t(x), _t(mu), _t(sigma)
    return -0.5 * (((x - mu) / sigma) ** 2 + LOG_2PI) - torch.log(sigma)


def kl_normal(mu_q, sigma_q, mu_p=0.0, sigma_p=1.0) -> torch.Tensor:
    """Closed form ``KL(q || p) = log(sigma_p/sigma_q) + (sigma_q^2 + (mu_q - mu_p)^2) / (2 sigma_p^2) - 1/2``.

    Note the first term: log(sigma_p / sigma_q), a ratio of standard deviations
    (log(sigma_p^2 / sigma_q^2) would be twice too large).
    """
    mu_q, sigma_q, mu_p, sigma_p = map(_t, (mu_q, sigma_q, mu_p, sigma_p))
    return torch.log(sigma_p / sigma_q) + (sigma_q ** 2 + (mu_q - mu_p) ** 2) / (2 * sigma_p ** 2) - 0.5


def kl_monte_carlo(mu_q, sigma_q, mu_p=0.0, sigma_p=1.0, n: int = 100_000,
                   generator: torch.Generator | None = None) -> tuple[float, float]:
    """Estimate ``KL(q || p) = E_q[log q(z) - log p(z)]`` from ``n`` samples of q; return (estimate, std. error)."""
    mu_q, sigma_q, mu_p, sigma_p = (float(v) for v in (mu_q, sigma_q, mu_p, sigma_p))
    z = mu_q + sigma_q * torch.randn(n, generator=generator, dtype=torch.float64)
    log_ratio = normal_log_pdf(z, mu_q, sigma_q) - normal_log_pdf(z, mu_p, sigma_p)
    return log_ratio.mean().item(), (log_ratio.std() / math.sqrt(n)).item()


def kl_torch(mu_q, sigma_q, mu_p=0.0, sigma_p=1.0) -> torch.Tensor:
    """The same KL from ``torch.distributions.kl_divergence`` (PyTorch's registered closed form)."""
    from torch.distributions import Normal, kl_divergence

    mu_q, sigma_q, mu_p, sigma_p = map(_t, (mu_q, sigma_q, mu_p, sigma_p))
    return kl_divergence(Normal(mu_q, sigma_q), Normal(mu_p, sigma_p))


def kl_symbolic():
    """Derive the closed form with sympy by integrating q(z) log(q(z)/p(z)); None when sympy is missing.

    Returns ``(expression, check)`` where ``check`` is the symbolic difference to
    the formula of :func:`kl_normal` (it simplifies to 0).
    """
    try:
        import sympy as sp
    except ImportError:
        return None
    z, mq, mp = sp.symbols("z mu_q mu_p", real=True)
    sq, spp = sp.symbols("sigma_q sigma_p", positive=True)
    q = sp.exp(-(z - mq) ** 2 / (2 * sq ** 2)) / sp.sqrt(2 * sp.pi * sq ** 2)
    log_q = -(z - mq) ** 2 / (2 * sq ** 2) - sp.log(sp.sqrt(2 * sp.pi) * sq)
    log_p = -(z - mp) ** 2 / (2 * spp ** 2) - sp.log(sp.sqrt(2 * sp.pi) * spp)
    kl = sp.simplify(sp.integrate(q * sp.expand(log_q - log_p), (z, -sp.oo, sp.oo)))
    formula = sp.log(spp / sq) + (sq ** 2 + (mq - mp) ** 2) / (2 * spp ** 2) - sp.Rational(1, 2)
    return kl, sp.simplify(sp.expand_log(kl - formula, force=True))
