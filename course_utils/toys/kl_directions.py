"""Forward versus reverse KL: the best single Gaussian for a bimodal mixture, both ways (notebook 03).

What lives here: :class:`Mixture1D`, a one-dimensional Gaussian mixture p; the two divergences
between p and a Gaussian q = N(mu, sigma^2), each by dense quadrature (no sampling):

- :func:`forward_kl` ``KL(p || q)`` -- large where p has mass and q has none, so its minimiser
  covers all of p's mass (mass-covering); the minimiser is moment matching, :func:`fit_forward`;
- :func:`reverse_kl` ``KL(q || p)`` -- large where q has mass and p has none (mode-seeking, zero-forcing):
  with well-separated modes it has a local minimum on each mode; at intermediate separations a wide
  q between the modes can be a local minimum too, and even the global one (separation 3, equal
  weights, std 0.6: the wide q has 0.481 nats, each single-mode q 0.666). :func:`fit_reverse` finds the
  local minima from a few starts (one per component and the moment-matched q).

The VAE minimises the reverse direction, ``KL(q(z|x) || p(z|x))``, in which a q too narrow by some
factor costs less than one too wide by the same factor; its q tends to under-cover the posterior.
The widget that moves between the two fits is :class:`course_utils.widgets.vae.KLDirectionExplorer`.
What does not live here: the univariate closed forms (:mod:`course_utils.toys.gaussians`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from course_utils.toys.gaussians import normal_log_pdf

# E_{N(0,1)}[f] ~= sum_i WEIGHTS_i f(NODES_i): the trapezoid rule on [-12, 12] in standard units. Gauss-Hermite
# would need far fewer nodes for smooth f, but log p of a mixture bends sharply between its modes, where a
# wide q's few Gauss-Hermite nodes miss it by a few percent; the dense rule is accurate to about 1e-6 nats.
NODES = torch.linspace(-12.0, 12.0, 2401, dtype=torch.float64)
WEIGHTS = torch.exp(-0.5 * NODES ** 2) / math.sqrt(2 * math.pi) * (NODES[1] - NODES[0])


def _gauss_expectation(fn, mu, sigma) -> torch.Tensor:
    """``E_{z ~ N(mu, sigma^2)}[fn(z)]`` by quadrature on a dense grid in standard units (broadcasts)."""
    mu, sigma = torch.as_tensor(mu, dtype=torch.float64), torch.as_tensor(sigma, dtype=torch.float64)
    z = mu.unsqueeze(-1) + sigma.unsqueeze(-1) * NODES
    return (fn(z) * WEIGHTS).sum(-1)


@dataclass(frozen=True)
class Mixture1D:
    """``p(z) = sum_k w_k N(z; m_k, s_k^2)`` in one dimension (weights are normalised)."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    def __post_init__(self):
        if not len(self.weights) == len(self.means) == len(self.stds) >= 1:
            raise ValueError("weights, means and stds must have the same, non-zero length")
        if min(self.weights) <= 0 or min(self.stds) <= 0:
            raise ValueError("mixture weights and standard deviations must be positive")

    @classmethod
    def bimodal(cls, separation: float = 4.0, weight: float = 0.5, std: float = 0.6) -> Mixture1D:
        """Two components of standard deviation ``std`` at -separation/2 and +separation/2; the left has ``weight``."""
        if not 0 < weight < 1:
            raise ValueError(f"weight must be in (0, 1), got {weight}")
        return cls((weight, 1 - weight), (-separation / 2, separation / 2), (std, std))

    def _w(self) -> torch.Tensor:
        w = torch.tensor(self.weights, dtype=torch.float64)
        return w / w.sum()

    def log_prob(self, z) -> torch.Tensor:
        z = torch.as_tensor(z, dtype=torch.float64).unsqueeze(-1)
        comps = normal_log_pdf(z, torch.tensor(self.means, dtype=torch.float64),
                               torch.tensor(self.stds, dtype=torch.float64))
        return torch.logsumexp(comps + torch.log(self._w()), dim=-1)

    def _parts(self, z):
        z = torch.as_tensor(z, dtype=torch.float64).unsqueeze(-1)
        m = torch.tensor(self.means, dtype=torch.float64)
        s = torch.tensor(self.stds, dtype=torch.float64)
        log_r = normal_log_pdf(z, m, s) + torch.log(self._w())
        r = torch.softmax(log_r, dim=-1)           # responsibilities of the components at z
        return r, -(z - m) / s ** 2, s              # and each component's d/dz log N(z; m, s^2)

    def score(self, z) -> torch.Tensor:
        """``d/dz log p(z)``."""
        r, a, _ = self._parts(z)
        return (r * a).sum(-1)

    def score_derivative(self, z) -> torch.Tensor:
        """``d^2/dz^2 log p(z)``: the responsibilities' mean curvature plus the variance of the component scores."""
        r, a, s = self._parts(z)
        mean_a = (r * a).sum(-1)
        return (r * (a ** 2 - 1 / s ** 2)).sum(-1) - mean_a ** 2

    def mean(self) -> float:
        return float((self._w() * torch.tensor(self.means, dtype=torch.float64)).sum())

    def variance(self) -> float:
        w, m = self._w(), torch.tensor(self.means, dtype=torch.float64)
        s = torch.tensor(self.stds, dtype=torch.float64)
        return float((w * (s ** 2 + m ** 2)).sum()) - self.mean() ** 2

    def expectation(self, fn) -> torch.Tensor:
        """``E_p[fn(z)]``: the weighted sum of each component's expectation (by quadrature)."""
        return sum(w * _gauss_expectation(fn, m, s) for w, m, s in zip(self._w().tolist(), self.means, self.stds,
                                                                         strict=True))


def forward_kl(p: Mixture1D, mu, sigma) -> torch.Tensor:
    """``KL(p || q)`` for q = N(mu, sigma^2), in nats: ``E_p[log p] - E_p[log q]`` (broadcasts over mu, sigma)."""
    mu, sigma = torch.as_tensor(mu, dtype=torch.float64), torch.as_tensor(sigma, dtype=torch.float64)
    neg_entropy = p.expectation(p.log_prob)
    # E_p[log q] in closed form from p's first two moments
    second = p.variance() + (p.mean() - mu) ** 2
    cross = -torch.log(sigma) - 0.5 * math.log(2 * math.pi) - second / (2 * sigma ** 2)
    return neg_entropy - cross


def reverse_kl(p: Mixture1D, mu, sigma) -> torch.Tensor:
    """``KL(q || p)`` for q = N(mu, sigma^2), in nats: ``-H(q) - E_q[log p]`` (broadcasts over mu, sigma)."""
    mu, sigma = torch.as_tensor(mu, dtype=torch.float64), torch.as_tensor(sigma, dtype=torch.float64)
    neg_entropy_q = -torch.log(sigma) - 0.5 * math.log(2 * math.pi * math.e)
    return neg_entropy_q - _gauss_expectation(p.log_prob, mu, sigma)


def fit_forward(p: Mixture1D) -> tuple[float, float]:
    """The minimiser of ``KL(p || q)`` over Gaussians q: moment matching, ``(mean of p, std of p)``."""
    return p.mean(), math.sqrt(p.variance())


def _reverse_derivatives(p: Mixture1D, theta: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
    """``KL(q || p)`` at ``theta = (mu, log sigma)`` with its gradient and Hessian, in closed form.

    With ``z = mu + sigma u`` (u standard normal), ``KL = -log sigma - const - E_u[log p(z)]``, so every
    derivative is an expectation of the first two derivatives of log p (the reparameterization again).
    """
    mu, sigma = theta[0], theta[1].exp()
    u = NODES
    z = mu + sigma * u
    g, h = p.score(z), p.score_derivative(z)
    e = lambda f: (f * WEIGHTS).sum()  # noqa: E731
    value = -theta[1] - 0.5 * math.log(2 * math.pi * math.e) - e(p.log_prob(z))
    grad = torch.stack([-e(g), -1.0 - e(g * u) * sigma])
    h_mu_mu = -e(h)
    h_mu_ls = -e(h * u) * sigma
    h_ls_ls = -e(h * u ** 2) * sigma ** 2 - e(g * u) * sigma
    hess = torch.stack([torch.stack([h_mu_mu, h_mu_ls]), torch.stack([h_mu_ls, h_ls_ls])])
    return float(value), grad, hess


def _descend_reverse(p: Mixture1D, mu0: float, sigma0: float, steps: int = 100) -> tuple[float, float, float, bool]:
    """Damped Newton on (mu, log sigma) for ``KL(q || p)`` from one start; returns (mu, sigma, KL, is_minimum)."""
    theta = torch.tensor([mu0, math.log(sigma0)], dtype=torch.float64)
    value, grad, hess = _reverse_derivatives(p, theta)
    for _ in range(steps):
        eig_min = float(torch.linalg.eigvalsh(hess)[0])
        damped = hess + max(0.0, 1e-3 - eig_min) * torch.eye(2, dtype=torch.float64)
        step = torch.linalg.solve(damped, grad)
        scale = 1.0
        while True:  # backtracking: never go uphill
            candidate = theta - scale * step
            new = _reverse_derivatives(p, candidate)
            if new[0] <= value or scale < 1e-8:
                break
            scale /= 2
        moved = float((candidate - theta).abs().max())
        theta, (value, grad, hess) = candidate, new
        if moved < 1e-10 or float(grad.abs().max()) < 1e-12:
            break
    is_minimum = float(torch.linalg.eigvalsh(hess)[0]) > 1e-9 and float(grad.abs().max()) < 1e-6
    return float(theta[0]), float(theta[1].exp()), value, is_minimum


def fit_reverse(p: Mixture1D) -> list[tuple[float, float, float]]:
    """The local minimisers of ``KL(q || p)`` over Gaussians q, best first: ``[(mu, sigma, KL), ...]``
    (equal KLs, to 9 decimals, by increasing mu).

    Started from each component of p and from the moment-matched q; starts that end at the same
    point are merged, and a start that ends on a saddle point (the moment-matched start of a
    symmetric mixture, where the gradient in mu vanishes by symmetry) is dropped. How many minima
    there are depends on the mixture: for overlapping modes a single one between them; for
    well-separated modes one on each mode (separation 7, weight 0.6, std 0.6); in between, both
    kinds together -- three at separation 5, weight 0.6, std 0.6, and at separation 3 with equal
    weights the wide q between the modes is the global minimum. Only minima reachable from these
    starts are found.
    """
    starts = [(m, s) for m, s in zip(p.means, p.stds, strict=True)] + [fit_forward(p)]
    found: list[tuple[float, float, float]] = []
    for mu0, sigma0 in starts:
        mu, sigma, kl, is_minimum = _descend_reverse(p, mu0, sigma0)
        if not is_minimum:
            continue
        if all(abs(mu - m) > 1e-4 or abs(sigma - s) > 1e-4 for m, s, _ in found):
            found.append((mu, sigma, kl))
    # best first; minima whose KLs are equal in exact arithmetic (the two modes of a symmetric mixture)
    # differ only in their last bits, which another CPU changes: they are ordered by mu instead
    return sorted(found, key=lambda t: (round(t[2], 9), t[0]))
