"""The ELBO, log p(x) and the gap between them on a model where all three are exact (notebook 04, Q1.6-1.8).

What lives here: :func:`elbo_table`, which for a few choices of q(z) reports
log p(x), the ELBO, their difference and ``KL(q || p(z|x))`` computed independently
(``torch.distributions`` on the exact posterior), and :func:`ascend_elbo`, gradient
ascent on the ELBO of a :class:`~course_utils.toys.linear_gaussian.LinearGaussian` in three
phases -- first only q, then only the model, then both -- recording log p(x), the
ELBO and the gap, to show what "pushing the bound up" does (Q1.8).
The closed forms themselves are methods of ``LinearGaussian``.
"""
from __future__ import annotations

import torch
from torch.distributions import MultivariateNormal, kl_divergence

from course_utils.toys.linear_gaussian import LinearGaussian


def kl_to_posterior_torch(model: LinearGaussian, x: torch.Tensor, mu: torch.Tensor,
                          sigma: torch.Tensor) -> torch.Tensor:
    """``KL(q || p(z|x))`` via ``torch.distributions`` (an implementation independent of the model's own)."""
    mean, cov = model.posterior(x)
    q = MultivariateNormal(mu, scale_tril=torch.diag_embed(sigma))
    return kl_divergence(q, MultivariateNormal(mean, covariance_matrix=cov.expand(len(x), -1, -1)))


def elbo_table(model: LinearGaussian, x: torch.Tensor, candidates: dict[str, tuple[torch.Tensor, torch.Tensor]]):
    """Rows ``(name, log p(x), ELBO, gap, KL(q || posterior))`` averaged over the points x, in nats."""
    rows = []
    log_px = model.log_px(x)
    for name, (mu, sigma) in candidates.items():
        elbo = model.elbo(x, mu, sigma)
        kl = kl_to_posterior_torch(model, x, mu, sigma)
        rows.append((name, log_px.mean().item(), elbo.mean().item(), (log_px - elbo).mean().item(), kl.mean().item()))
    return rows


def ascend_elbo(true_model: LinearGaussian, init_model: LinearGaussian, n_points: int = 20,
                steps_per_phase: int = 150, lr: float = 0.03, seed: int = 0) -> dict[str, list]:
    """Gradient ascent on the average ELBO in three phases: q only, model (W, b) only, then both.

    Data: ``n_points`` samples of ``true_model``. The variational parameters are a
    diagonal Gaussian q per point (mean and log standard deviation, starting at the
    prior). Returns per step the average ``log_px``, ``elbo`` and ``gap`` (nats) and
    the ``phase`` label.
    """
    g = torch.Generator().manual_seed(seed)
    x, _ = true_model.sample(n_points, generator=g)
    d = init_model.z_dim
    W = init_model.W.clone().requires_grad_(True)
    b = init_model.b.clone().requires_grad_(True)
    noise = init_model.noise_std.clone()
    mu = torch.zeros(n_points, d, dtype=x.dtype, requires_grad=True)
    log_sigma = torch.zeros(n_points, d, dtype=x.dtype, requires_grad=True)
    q_opt = torch.optim.Adam([mu, log_sigma], lr=lr)
    model_opt = torch.optim.Adam([W, b], lr=lr)
    history = {"log_px": [], "elbo": [], "gap": [], "phase": []}
    phases = [("q only", [q_opt]), ("model only", [model_opt]), ("both", [q_opt, model_opt])]
    for phase, optimizers in phases:
        for _ in range(steps_per_phase):
            model = LinearGaussian(W, b, noise)
            elbo = model.elbo(x, mu, log_sigma.exp()).mean()
            with torch.no_grad():
                log_px = model.log_px(x).mean()
            history["log_px"].append(log_px.item())
            history["elbo"].append(elbo.item())
            history["gap"].append((log_px - elbo).item())
            history["phase"].append(phase)
            for opt in optimizers:
                opt.zero_grad()
            (-elbo).backward()
            for opt in optimizers:
                opt.step()
    return history

