"""The KL divergence between univariate Gaussians, three ways (notebook 03, Q1.5).

What lives here: the closed form of ``KL(N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2))``,
a Monte Carlo estimate of the same quantity (with its standard error), the value
from ``torch.distributions.kl_divergence``, and an optional symbolic derivation
with sympy (used only when sympy is installed). Every function takes standard
deviations, never variances, and returns nats. :func:`kl_gaussians` is the multivariate version, for full
covariance matrices (the exact ELBO gap of notebook 04).

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


def kl_gaussians(mu_q: torch.Tensor, cov_q: torch.Tensor, mu_p: torch.Tensor, cov_p: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu_q, cov_q) || N(mu_p, cov_p))`` for full covariance matrices, batched over leading dimensions.

    ``1/2 [tr(cov_p^-1 cov_q) + (mu_p - mu_q)^T cov_p^-1 (mu_p - mu_q) - d + log det cov_p - log det cov_q]``,
    computed with Cholesky factors (no explicit inverse). ``mu`` has shape (..., d), ``cov`` (..., d, d).
    """
    d = mu_q.shape[-1]
    lp = torch.linalg.cholesky(cov_p)
    lq = torch.linalg.cholesky(cov_q)
    a = torch.linalg.solve_triangular(lp, lq, upper=False)              # L_p^-1 L_q
    trace = (a ** 2).sum((-2, -1))                                       # tr(cov_p^-1 cov_q)
    diff = torch.linalg.solve_triangular(lp, (mu_p - mu_q).unsqueeze(-1), upper=False).squeeze(-1)
    logdet_p = 2 * torch.log(torch.diagonal(lp, dim1=-2, dim2=-1)).sum(-1)
    logdet_q = 2 * torch.log(torch.diagonal(lq, dim1=-2, dim2=-1)).sum(-1)
    return 0.5 * (trace + (diff ** 2).sum(-1) - d + logdet_p - logdet_q)


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


def kl_symbolic_expanded(expression=None):
    """The symbolic KL (``expression``, by default :func:`kl_symbolic`'s) expanded term by term; None without sympy.

    sympy's simplified result puts everything over the common denominator ``2 sigma_p^2``, where the
    first term appears as ``sigma_p^2 log(sigma_p^2 / sigma_q^2) / (2 sigma_p^2)`` and its 1/2 is easy to
    miss. Expanded, it reads ``log(sigma_p) - log(sigma_q) + ...``: the log of the ratio of standard deviations.
    """
    if expression is None:
        result = kl_symbolic()
        if result is None:
            return None
        expression = result[0]
    import sympy as sp

    return sp.expand(sp.expand_log(expression, force=True))
