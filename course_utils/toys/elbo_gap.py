"""The ELBO, log p(x) and the gap between them on a model where all three are exact (notebook 04, Q1.6-1.8).

What lives here: :func:`elbo_table`, which for a few choices of q(z) reports
log p(x), the ELBO, their difference and ``KL(q || p(z|x))`` computed independently
(``torch.distributions`` on the exact posterior, and optionally by a second KL
function, e.g. a student's); :func:`posterior_correlation` and
:func:`best_diagonal_gap`, the closed form ``-1/2 log(1 - rho^2)`` of the smallest gap a
diagonal q can reach on a 2-D latent; :func:`jensen_trap`, which shows that replacing
``E_q[log p(x|z)]`` by ``log E_q[p(x|z)]`` breaks the bound; and :func:`ascend_elbo`, gradient
ascent on the ELBO of a :class:`~course_utils.toys.linear_gaussian.LinearGaussian` in three
phases -- first only q, then only the model, then both -- recording log p(x), the
ELBO and the gap, to show what "pushing the bound up" does (Q1.8) -- variational EM when the
phases alternate. :func:`collinear_model` is notebook 04's model with a strongly correlated posterior;
:func:`iw_proposals` (notebook 02's four proposals), :func:`iw_errors` and
:func:`weight_variance_margin` show on it (notebook 02) that the diagonal q with
the best ELBO -- a reverse-KL fit, too narrow -- is a poor importance-sampling proposal: its weights
have infinite variance; :func:`scaled_proposal_chi2` prices a proposal that is too wide or too narrow in
every direction. The closed forms themselves are methods of ``LinearGaussian``.
"""
from __future__ import annotations

import math

import torch
from torch.distributions import MultivariateNormal, kl_divergence

from course_utils.toys.linear_gaussian import LinearGaussian


def collinear_model() -> tuple[LinearGaussian, torch.Tensor]:
    """Notebook 04's model of Q1.6 and its 4 data points: ``z`` in R^2, ``x`` in R^4, noise std 0.5, and W's
    second column ``0.8 w_1 + 0.3 w_2`` nearly parallel to its first, so the posterior correlation is strong."""
    g = torch.Generator().manual_seed(0)
    W = torch.randn(4, 2, generator=g, dtype=torch.float64)
    W[:, 1] = 0.8 * W[:, 0] + 0.3 * W[:, 1]
    model = LinearGaussian(W, torch.zeros(4, dtype=torch.float64), noise_std=0.5)
    x, _ = model.sample(4, generator=torch.Generator().manual_seed(1))
    return model, x


def weight_variance_margin(model: LinearGaussian, cov_q: torch.Tensor) -> float:
    """The smallest eigenvalue of ``2 Lambda - cov_q^-1`` (``Lambda`` the posterior precision).

    Importance weights ``p(x, z) / q(z)`` with ``q = N(m, cov_q)`` have finite variance exactly when this is
    positive: ``E_q[w^2]`` integrates ``exp(-z^T (Lambda - cov_q^-1 / 2) z)``. A q narrower than the
    posterior in some direction by more than a factor sqrt(2) in standard deviation makes it negative.
    """
    return torch.linalg.eigvalsh(2 * model.posterior_precision - torch.linalg.inv(cov_q)).min().item()


PROPOSAL_LABELS = {
    "best_diagonal": "best-ELBO diagonal q",
    "marginal_stds": "diagonal q, marginal stds",
    "prior": "prior N(0, I) (naive)",
    "posterior_x2": "posterior, covariance x 2",
}


def iw_proposals(model: LinearGaussian, x: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Notebook 02's four Gaussian proposals for one point ``x`` (1, D): key -> (mean (d,), covariance (d, d)).

    ``best_diagonal``: the diagonal q with the best ELBO; ``marginal_stds``: a diagonal q at the posterior
    mean with the posterior's marginal variances; ``prior``: N(0, I); ``posterior_x2``: the posterior with
    its covariance doubled. :data:`PROPOSAL_LABELS` names them for printing.
    """
    if x.shape[0] != 1:
        raise ValueError(f"iw_proposals takes one data point, x of shape (1, D); got {tuple(x.shape)}")
    post_mean, post_cov = model.posterior(x)
    best_mu, best_sigma = model.best_diagonal_q(x)
    d, dtype = model.z_dim, post_cov.dtype
    return {
        "best_diagonal": (best_mu[0], torch.diag(best_sigma[0] ** 2)),
        "marginal_stds": (post_mean[0], torch.diag(post_cov.diagonal())),
        "prior": (torch.zeros(d, dtype=dtype), torch.eye(d, dtype=dtype)),
        "posterior_x2": (post_mean[0], 2 * post_cov),
    }


def scaled_proposal_chi2(width_ratio: float, dim: int) -> float:
    """``1 + chi^2(N(0, I_dim) || N(0, r^2 I_dim))``: a Gaussian proposal ``r`` times as wide as its target in
    every one of ``dim`` directions, in closed form ``(r^2 / sqrt(2 r^2 - 1))^dim``.

    ``math.inf`` for ``r <= 1/sqrt(2)`` (the weights' variance is infinite). It is 1 only at ``r = 1`` and grows
    on both sides: too narrow costs more than too wide, and every direction multiplies the cost.
    """
    r2 = width_ratio ** 2
    if width_ratio <= 0:
        raise ValueError(f"width_ratio must be positive, got {width_ratio}")
    if 2 * r2 - 1 <= 0:
        return math.inf
    return math.exp(dim * (math.log(r2) - 0.5 * math.log(2 * r2 - 1)))


def iw_errors(model: LinearGaussian, x: torch.Tensor, mean_q: torch.Tensor, cov_q: torch.Tensor,
              ks=(1, 10, 100, 1000, 10_000), seeds=range(50)) -> torch.Tensor:
    """The importance-weighted estimate of log p(x) minus the exact value, for one point ``x`` (1, D).

    Proposal ``q = N(mean_q, cov_q)`` (mean (d,), cov (d, d)); for each seed, ``max(ks)`` samples
    ``z = mean_q + L eps`` (L the Cholesky factor, eps seeded), and the estimate
    ``logsumexp_i log w_i - log k`` of the first k of them for every k in ``ks``. Shape (len(seeds), len(ks)),
    nats. Its average over seeds is the bias of IW_k, which is minus the expected gap of the bound IW_k.
    """
    if x.shape[0] != 1:
        raise ValueError(f"iw_errors takes one data point, x of shape (1, D); got {tuple(x.shape)}")
    ks = list(ks)
    d = model.z_dim
    chol = torch.linalg.cholesky(cov_q)
    q = MultivariateNormal(mean_q, scale_tril=chol)
    prior = MultivariateNormal(torch.zeros(d, dtype=cov_q.dtype), torch.eye(d, dtype=cov_q.dtype))
    exact = model.log_px(x)[0]
    rows = []
    for seed in seeds:
        eps = torch.randn(max(ks), d, generator=torch.Generator().manual_seed(seed), dtype=cov_q.dtype)
        z = mean_q + eps @ chol.T
        log_w = model.log_px_given_z(x, z[:, None, :])[:, 0] + prior.log_prob(z) - q.log_prob(z)
        running = torch.logcumsumexp(log_w, 0)
        rows.append(torch.stack([running[k - 1] - math.log(k) - exact for k in ks]))
    return torch.stack(rows)


def kl_to_posterior_torch(model: LinearGaussian, x: torch.Tensor, mu: torch.Tensor,
                          sigma: torch.Tensor) -> torch.Tensor:
    """``KL(q || p(z|x))`` via ``torch.distributions`` (an implementation independent of the model's own)."""
    mean, cov = model.posterior(x)
    q = MultivariateNormal(mu, scale_tril=torch.diag_embed(sigma))
    return kl_divergence(q, MultivariateNormal(mean, covariance_matrix=cov.expand(len(x), -1, -1)))


def elbo_table(model: LinearGaussian, x: torch.Tensor, candidates: dict[str, tuple[torch.Tensor, torch.Tensor]],
               kl_fn=None):
    """Rows ``(name, log p(x), ELBO, gap, KL(q || posterior))`` averaged over the points x, in nats.

    With ``kl_fn(mu_q, cov_q, mu_p, cov_p)`` (full-covariance Gaussians, batched) each row gets a sixth
    entry: the same KL computed by that function, with q's covariance ``diag(sigma^2)``.
    """
    rows = []
    log_px = model.log_px(x)
    mean, cov = model.posterior(x)
    for name, (mu, sigma) in candidates.items():
        elbo = model.elbo(x, mu, sigma)
        kl = kl_to_posterior_torch(model, x, mu, sigma)
        row = (name, log_px.mean().item(), elbo.mean().item(), (log_px - elbo).mean().item(), kl.mean().item())
        if kl_fn is not None:
            other = kl_fn(mu, torch.diag_embed(sigma ** 2), mean, cov.expand(len(x), -1, -1))
            row = (*row, torch.as_tensor(other).mean().item())
        rows.append(row)
    return rows


def posterior_correlation(model: LinearGaussian) -> float:
    """The correlation of the two latents under the posterior p(z|x) of a model with z_dim = 2 (the same for all x).

    The latents are independent *a priori*; the posterior couples them when W's columns point in
    similar directions (then ``z_1`` and ``z_2`` can trade off against each other in explaining x).
    """
    if model.z_dim != 2:
        raise ValueError(f"posterior_correlation needs z_dim = 2, got {model.z_dim}")
    c = model.posterior_cov
    return (c[0, 1] / torch.sqrt(c[0, 0] * c[1, 1])).item()


def best_diagonal_gap(model: LinearGaussian) -> float:
    """The smallest ``KL(q || p(z|x))`` over diagonal Gaussians q, in closed form (nats; the same for all x).

    The best q has the posterior mean and variances ``1 / Lambda_jj`` (``Lambda`` the posterior
    precision), which gives ``1/2 (sum_j log Lambda_jj - log det Lambda)``; for two latents with
    posterior correlation rho this is ``-1/2 log(1 - rho^2)``.
    """
    prec = model.posterior_precision
    return 0.5 * (torch.log(torch.diagonal(prec)).sum() - torch.logdet(prec)).item()


def jensen_trap(model: LinearGaussian, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The right bound and the trap, with q the *exact* posterior N(m, S), all in closed form, each (N,).

    - ``log_px``: the exact log p(x);
    - ``elbo``: ``E_q[log p(x|z)] - KL(q || p(z))``; equal to log p(x), since q is the posterior;
    - ``trap``: ``log E_q[p(x|z)] - KL(q || p(z))``, the expectation of p(x|z) instead of its log.
      ``E_q[p(x|z)] = N(x; W m + b, Psi + W S W^T)`` for a linear-Gaussian model; by Jensen's
      inequality ``log E_q[p] >= E_q[log p]``, so the trap is *above* log p(x): not a lower bound;
    - ``expected_log_lik`` ``E_q[log p(x|z)]``, ``log_expected_lik`` ``log E_q[p(x|z)]`` and ``kl_prior``
      ``KL(q || p(z))``, the pieces (for Monte Carlo checks).
    """
    mean, cov = model.posterior(x)
    d = model.z_dim
    psi = torch.diag(model.noise_std ** 2)
    predictive = MultivariateNormal(mean @ model.W.T + model.b, covariance_matrix=psi + model.W @ cov @ model.W.T)
    q = MultivariateNormal(mean, covariance_matrix=cov.expand(len(x), -1, -1))
    prior = MultivariateNormal(torch.zeros(d, dtype=cov.dtype), torch.eye(d, dtype=cov.dtype))
    kl_prior = kl_divergence(q, prior)
    # E_q[log p(x|z)] for q = N(m, S): the Gaussian log-density at the mean minus the trace term
    resid = x - mean @ model.W.T - model.b
    inv_psi = model.noise_std ** -2
    spread = torch.einsum("ij,jk,ik->i", model.W, cov, model.W)  # diag(W S W^T)
    expected_ll = -0.5 * (torch.log(2 * torch.pi * model.noise_std ** 2).sum()
                          + ((resid ** 2 + spread) * inv_psi).sum(-1))
    log_expected = predictive.log_prob(x)
    return {"log_px": model.log_px(x), "elbo": expected_ll - kl_prior, "trap": log_expected - kl_prior,
            "expected_log_lik": expected_ll, "log_expected_lik": log_expected, "kl_prior": kl_prior}


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

