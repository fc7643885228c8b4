"""The naive Monte Carlo estimate of log p(x) where the truth is known (notebook 02, Q1.4b).

What lives here: :func:`naive_setup`, the one linear-Gaussian model and data point per latent
dimension d that notebook 02's table, its convergence plot and its widget all use (so the
three show the same numbers), with the two divergences that govern the estimator's cost --
``KL(p(z|x) || p(z))`` (below about ``exp(KL)`` samples the estimate is off by nats: Chatterjee &
Diaconis, 2018) and the chi-square divergence (:func:`chi2_to_standard_normal`; the relative
variance of the importance weights, so once ``M >> chi^2`` about ``(1 + chi^2) / eps^2`` samples suffice for an
error of about eps nats);
:func:`effective_sample_size` of importance weights and :func:`running_ess`, the same after every
number of samples; :func:`running_errors`, the error of the naive estimate after every number of
samples for several independent runs; :func:`convergence_summary` and :func:`ess_summary`, the few
numbers the notebook's prose quotes about those runs (``benchmarks/bench_claims_01_05.py`` stores them).

What does not: the estimators themselves (:mod:`course_utils.vae.estimators`) and the exact
model (:mod:`course_utils.toys.linear_gaussian`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.distributions import MultivariateNormal, kl_divergence

from course_utils.toys.linear_gaussian import LinearGaussian

X_DIM = 30
NOISE_STD = 0.5
DIMS = (1, 2, 5, 10, 20)
RUN_SEED = 10  # run r draws its prior samples with seed RUN_SEED + r


@dataclass
class NaiveSetup:
    """One data point x of a linear-Gaussian model with latent dimension ``d`` and what is exact about it."""

    d: int
    model: LinearGaussian
    x: torch.Tensor       # (1, X_DIM)
    exact: float          # log p(x), nats
    kl: float             # KL(p(z|x) || p(z)), nats
    one_plus_chi2: float  # 1 + chi^2(p(z|x) || p(z)) = E_prior[w^2] / E_prior[w]^2, w = p(x|z)

    def log_w(self, z: torch.Tensor) -> torch.Tensor:
        """log p(x | z_m) for prior samples z of shape (M, 1, d): the log importance weights, shape (M,).

        Computed :data:`LOG_W_CHUNK` samples at a time (each sample's weight on its own; the (M, 1, D) means and
        densities of 2^17 samples at once would be some 30 MB a temporary, several at a time)."""
        return torch.cat([self.model.log_px_given_z(self.x, z[i:i + LOG_W_CHUNK])[:, 0]
                          for i in range(0, len(z), LOG_W_CHUNK)]) if len(z) else z.new_zeros(0)


#: prior samples per block in :meth:`NaiveSetup.log_w`
LOG_W_CHUNK = 8192


def chi2_to_standard_normal(mean: torch.Tensor, cov: torch.Tensor) -> float:
    """``1 + chi^2(N(mean, cov) || N(0, I)) = integral of N(z; mean, cov)^2 / N(z; 0, I) dz``, in closed form.

    With ``P = cov^-1`` and ``A = 2 P - I``: ``det(cov)^-1 det(A)^-1/2 exp(1/2 b^T A^-1 b - mean^T P mean)``,
    ``b = 2 P mean``. It is infinite (``math.inf``) unless A is positive definite: a target whose
    variance exceeds twice the proposal's in some direction gives importance weights of infinite variance.
    By Jensen's inequality it is at least ``exp(KL(N(mean, cov) || N(0, I)))``.
    """
    d = mean.shape[-1]
    prec = torch.linalg.inv(cov)
    a = 2 * prec - torch.eye(d, dtype=cov.dtype)
    if torch.linalg.eigvalsh(a).min() <= 0:
        return math.inf
    b = 2 * prec @ mean
    log_value = -torch.logdet(cov) - 0.5 * torch.logdet(a) + 0.5 * b @ torch.linalg.solve(a, b) - mean @ prec @ mean
    return math.exp(log_value.item())


def naive_setup(d: int, x_dim: int = X_DIM, noise_std: float = NOISE_STD) -> NaiveSetup:
    """The model (seed ``d``) and data point (seed ``100 + d``) of notebook 02 for latent dimension ``d``."""
    model = LinearGaussian.random(x_dim=x_dim, z_dim=d, noise_std=noise_std, seed=d)
    x, _ = model.sample(1, generator=torch.Generator().manual_seed(100 + d))
    mean, cov = model.posterior(x)
    prior = MultivariateNormal(torch.zeros(d, dtype=cov.dtype), torch.eye(d, dtype=cov.dtype))
    kl = kl_divergence(MultivariateNormal(mean[0], cov), prior).item()
    return NaiveSetup(d, model, x, model.log_px(x)[0].item(), kl, chi2_to_standard_normal(mean[0], cov))


def prior_samples(setup: NaiveSetup, m: int, seed: int) -> torch.Tensor:
    """``m`` seeded samples of the prior N(0, I_d), shape (m, 1, d), float64."""
    return torch.randn(m, 1, setup.d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def effective_sample_size(log_w: torch.Tensor) -> float:
    """``(sum w)^2 / sum w^2`` of weights given by their logs: how many samples effectively contribute.

    It is itself an estimate from the same samples: when one weight dominates it is close to 1
    whatever the truth, so a small ESS says the estimate is unreliable but not by how much.
    """
    return (1.0 / (torch.softmax(log_w, 0) ** 2).sum()).item()


def running_ess(log_w: torch.Tensor) -> torch.Tensor:
    """The effective sample size ``(sum w)^2 / sum w^2`` of the first m weights, for m = 1..M: shape (M,)."""
    return torch.exp(2 * torch.logcumsumexp(log_w, 0) - torch.logcumsumexp(2 * log_w, 0))


def running_estimates(log_w: torch.Tensor) -> torch.Tensor:
    """The naive estimate after m = 1..M samples, ``logcumsumexp(log w)_m - log m``, shape (M,)."""
    m = torch.arange(1, len(log_w) + 1, dtype=log_w.dtype)
    return torch.logcumsumexp(log_w, dim=0) - torch.log(m)


def running_errors(setup: NaiveSetup, runs: int = 5, max_log2: int = 17) -> torch.Tensor:
    """Naive estimate minus the exact log p(x) after every m = 1..2**max_log2, for ``runs`` runs: (runs, M)."""
    m = 2 ** max_log2
    return torch.stack([running_estimates(setup.log_w(prior_samples(setup, m, RUN_SEED + r))) - setup.exact
                        for r in range(runs)])


def settled_from(errors: torch.Tensor, tolerance: float = 0.05) -> int | None:
    """The smallest M from which every run's |error| stays within ``tolerance``; None if never (in the runs)."""
    bad = (errors.abs() > tolerance).any(0).nonzero()
    if len(bad) == 0:
        return 1
    first = bad[-1].item() + 2  # the M after the last bad one (M is the index + 1)
    return first if first <= errors.shape[1] else None


def convergence_summary(dims=DIMS, runs: int = 5, max_log2: int = 17, at: int = 256,
                        tolerance: float = 0.05) -> dict[int, dict]:
    """Per d: the largest |error|, the lowest error and the largest overshoot above the truth at M = ``at``,
    the M from which all runs stay within ``tolerance`` (and within 1 nat), and the errors at the largest M
    (all in nats)."""
    summary = {}
    for d in dims:
        errors = running_errors(naive_setup(d), runs, max_log2)
        settled = settled_from(errors, tolerance)
        summary[d] = {
            "max_abs_error_at": errors[:, at - 1].abs().max().item(),
            "min_error_at": errors[:, at - 1].min().item(),
            "max_overshoot_at": errors[:, at - 1].max().item(),
            "max_overshoot_any_m": errors.max().item(),
            "settled_from": settled,
            "settled_from_log2": None if settled is None else math.log2(settled),
            "within_1_nat_from": settled_from(errors, 1.0),
            "errors_at_max": errors[:, -1].tolist(),
        }
    return summary


def ess_summary(dims=DIMS, runs: int = 5, max_log2: int = 17, threshold: float = 10.0) -> dict[int, dict]:
    """Per d, for each of the ``runs`` runs of :func:`running_errors`: the first M at which the ESS exceeds
    ``threshold`` (None if not by ``2**max_log2``), the error (nats) at that M, and the ESS and the error
    at the largest M. Notebook 02 compares those errors with ``1/sqrt(ESS)``, the error an ESS predicts while
    the weights are well behaved."""
    summary = {}
    for d in dims:
        setup = naive_setup(d)
        first, at_first, ess_end, err_end = [], [], [], []
        for r in range(runs):
            log_w = setup.log_w(prior_samples(setup, 2 ** max_log2, RUN_SEED + r))
            ess, errors = running_ess(log_w), running_estimates(log_w) - setup.exact
            above = (ess > threshold).nonzero()
            m = above[0].item() + 1 if len(above) else None
            first.append(m)
            at_first.append(None if m is None else errors[m - 1].item())
            ess_end.append(ess[-1].item())
            err_end.append(errors[-1].item())
        summary[d] = {"first_m_above": first, "error_at_first_m": at_first, "ess_at_max": ess_end,
                      "errors_at_max": err_end}
    return summary
