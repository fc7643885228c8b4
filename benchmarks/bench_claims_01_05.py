"""The numbers that the prose of notebooks 01-04 quotes about their exact models, measured once and stored.

Notebooks 01-04 make statements such as "at M = 256 the d = 2 runs are off by up to 0.7
nats" or "at D = 100 the baseline lowers the variance about 66-fold". Those numbers come from
seeded computations on the course's small exact models (``course_utils.toys``), the same calls
the notebooks make; none of them depends on a data set. This script runs them and writes
``benchmarks/results/claims_01_05.json``;
``tests/test_prose_numbers_01_05.py`` checks (1) that every such statement in the notebooks'
prose agrees with this file and (2) that the file agrees with a fresh run of :func:`compute`
(so a change of a seed or a model in the package that moves a quoted number fails a test
until this script is rerun and the prose updated). Notebook 05's numbers come from its
full-mode run, in ``notebooks.json`` (``benchmarks/bench_notebooks.py``).

    python benchmarks/bench_claims_01_05.py        # a few seconds
"""
from __future__ import annotations

import math
import sys

import torch
from common import write_results  # also puts the repo root on sys.path

from course_utils.toys import (  # noqa: E402
    LinearGaussian,
    Mixture1D,
    ascend_elbo,
    best_diagonal_gap,
    collinear_model,
    cosine_gradient_variances,
    effective_sample_size,
    elbo_gradient_estimates,
    elbo_table,
    ess_summary,
    fit_reverse,
    gradient_statistics,
    iw_errors,
    iw_proposals,
    jensen_trap,
    naive_setup,
    posterior_correlation,
    radius_table,
    scaled_proposal_chi2,
    weight_variance_margin,
)
from course_utils.toys.gradient_estimators import quadratic_gradient_variances  # noqa: E402
from course_utils.toys.naive_mc import convergence_summary  # noqa: E402

OUT = "claims_01_05.json"
DATASET_NOTE = ("No data set: the exact toy models of notebooks 01-04 (Gaussians, linear-Gaussian models), "
                "float64, fixed seeds.")
DIMS = (1, 2, 5, 10, 20)


def notebook_04_model() -> tuple[LinearGaussian, torch.Tensor]:
    """The linear-Gaussian model of notebook 04's Q1.6 (nearly collinear columns of W) and its 4 data points."""
    return collinear_model()


def claims_01() -> dict:
    """Where N(0, I_D) puts its mass (notebook 01's typicality table): exact and from 100 000 seeded samples."""
    return {"radius": {str(d): row for d, row in radius_table(dims=(2, 20, 50), radius=2.0, n=100_000,
                                                              seed=0).items()}}


def iw_proposals_02() -> dict:
    """Notebook 02's four-proposal table: IW error over 50 seeds for k = 1 .. 10 000 on notebook 04's model."""
    model, x = collinear_model()
    ks = (1, 10, 100, 1000, 10_000)
    out = {"ks": list(ks)}
    for name, (mean_q, cov_q) in iw_proposals(model, x[:1]).items():
        err = iw_errors(model, x[:1], mean_q, cov_q, ks=ks, seeds=range(50))
        out[name] = {"margin": weight_variance_margin(model, cov_q), "mean": err.mean(0).tolist(),
                     "std": err.std(0).tolist()}
    return out


def width_cost_02() -> dict:
    """1 + chi^2 of a Gaussian proposal r times as wide as its target in each of 20 directions (notebook 02)."""
    return {"dim": 20, "one_plus_chi2": {str(r): scaled_proposal_chi2(r, 20) for r in (0.75, 0.8, 0.9, 1.5, 2.0)}}


def claims_02() -> dict:
    table = {}
    for d in DIMS:
        case = naive_setup(d)
        log_w = case.log_w(torch.randn(10_000, 1, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
        estimate = (torch.logsumexp(log_w, 0) - math.log(len(log_w))).item()
        table[str(d)] = {"exact": case.exact, "kl": case.kl, "exp_kl": math.exp(case.kl),
                         "one_plus_chi2": case.one_plus_chi2,
                         "ess": effective_sample_size(log_w), "error": estimate - case.exact}
    summary = {str(d): row for d, row in convergence_summary(DIMS, runs=5, max_log2=17, at=256).items()}
    ess = {str(d): row for d, row in ess_summary((1, 2, 5), runs=5, max_log2=17, threshold=10.0).items()}
    return {"table_M10000": table, "convergence": summary, "ess_above_10": ess, "iw_proposals": iw_proposals_02(),
            "width_cost": width_cost_02()}


def claims_03() -> dict:
    """The reverse-KL fits of notebook 03's list (local minima, best first: mu, sigma, KL) per weight and separation."""
    fits = {}
    for weight in (0.5, 0.6):
        for separation in (2.0, 3.0, 4.0, 5.0, 7.0):
            found = fit_reverse(Mixture1D.bimodal(separation=separation, weight=weight, std=0.6))
            fits[f"weight {weight}, separation {separation}"] = [list(t) for t in found]
    return {"reverse_fits": fits}


def claims_04() -> dict:
    model, x = notebook_04_model()
    trap = jensen_trap(model, x)
    post_mean, _ = model.posterior(x)
    ones = torch.ones_like(post_mean)
    [prior_row] = elbo_table(model, x, {"q = prior": (0 * ones, ones)})
    quadratic = {str(dim): gradient_statistics(dim, n=10_000, seed=0) for dim in (1, 10, 100)}
    mu, sigma = model.best_diagonal_q(x)
    elbo_estimates = {}
    for name, (m, s) in {"prior": (torch.zeros(1, 2, dtype=torch.float64), torch.ones(1, 2, dtype=torch.float64)),
                         "best_diagonal": (mu[:1], sigma[:1])}.items():
        est = elbo_gradient_estimates(model, x[:1], m, s, 10_000, torch.Generator().manual_seed(3))
        ratio = (est["baseline"].var(0) / est["reparam"].var(0)).tolist()
        z_scores = {k: ((est[k].mean(0) - est["exact"]).abs() / (est[k].var(0) / 10_000).sqrt()).max().item()
                    for k in ("score", "baseline", "reparam")}
        elbo_estimates[name] = {"baseline_over_reparam_variance": ratio, "max_z_score": z_scores,
                                "reparam_lowest_variance": bool((est["reparam"].var(0) < est["baseline"].var(0)).all()
                                                                and (est["baseline"].var(0)
                                                                     < est["score"].var(0)).all())}
    phases = {}
    for steps in (150, 60):  # full and quick mode of the Q1.8 demo
        h = ascend_elbo(LinearGaussian.random(5, 2, noise_std=0.5, seed=0),
                        LinearGaussian.random(5, 2, noise_std=0.5, seed=7), steps_per_phase=steps, lr=0.05)
        n = steps
        phases[str(steps)] = {
            "q_only_log_px_change": h["log_px"][n - 1] - h["log_px"][0],
            "q_only_gap_change": h["gap"][n - 1] - h["gap"][0],
            "model_only_log_px_change": h["log_px"][2 * n - 1] - h["log_px"][n],
            "model_only_gap_change": h["gap"][2 * n - 1] - h["gap"][n],
            "both_log_px_change": h["log_px"][3 * n - 1] - h["log_px"][2 * n],
            "both_gap_change": h["gap"][3 * n - 1] - h["gap"][2 * n],
            # log p(x) at the end of the model-only phase minus its highest value in that phase (<= 0)
            "model_only_log_px_end_minus_peak": h["log_px"][2 * n - 1] - max(h["log_px"][n:2 * n]),
            "elbo_rises_every_step": all(b >= a - 1e-12 for k in range(3) for a, b in
                                         zip(h["elbo"][k * n:(k + 1) * n - 1], h["elbo"][k * n + 1:(k + 1) * n],
                                             strict=True)),
        }
    return {
        "posterior_correlation": posterior_correlation(model),
        "best_diagonal_gap": best_diagonal_gap(model),
        "trap_minus_log_px": (trap["trap"] - trap["log_px"]).tolist(),
        "elbo_minus_log_px_exact_posterior": (trap["elbo"] - trap["log_px"]).tolist(),
        "quadratic": quadratic,
        "baseline_gain_dim_100": quadratic["100"]["score_var"] / quadratic["100"]["baseline_var"],
        "elbo_gradients": elbo_estimates,
        "q18_phases": phases,
        "prior_q_gap": prior_row[3],
        "cosine": {str(omega): cosine_gradient_variances(omega, n=100_000, seed=0) for omega in (0.5, 1.0, 2.0, 4.0)},
        "quadratic_exact": {str(dim): quadratic_gradient_variances(dim) for dim in (1, 10, 100)},
        "best_diagonal_std_over_marginal": (sigma[0] / model.posterior(x)[1].diagonal().sqrt()).tolist(),
    }


def compute() -> dict:
    """Every number of :data:`OUT`, computed afresh (float64, fixed seeds; a few seconds)."""
    return {"01_latent_variable_models": claims_01(), "02_naive_monte_carlo": claims_02(),
            "03_kl_divergence": claims_03(), "04_elbo_reparameterization": claims_04(),
            "dataset": "none", "dataset_note": DATASET_NOTE}


def main() -> int:
    torch.set_num_threads(1)  # the numbers do not depend on it; one thread keeps reductions in one order
    write_results(OUT, compute())
    return 0


if __name__ == "__main__":
    sys.exit(main())
