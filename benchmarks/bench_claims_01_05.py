"""The numbers that the prose of notebooks 01-04 quotes about their exact models, measured once and stored.

Notebooks 02 and 04 make statements such as "at M = 256 the d = 2 runs are off by up to 0.7
nats" or "at D = 100 the baseline lowers the variance about 66-fold". Those numbers come from
seeded computations on the course's small exact models (``course_utils.toys``), the same calls
the notebooks make. This script runs them and writes ``benchmarks/results/claims_01_05.json``;
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
    ascend_elbo,
    best_diagonal_gap,
    effective_sample_size,
    elbo_gradient_estimates,
    gradient_statistics,
    jensen_trap,
    naive_setup,
    posterior_correlation,
)
from course_utils.toys.naive_mc import convergence_summary  # noqa: E402

OUT = "claims_01_05.json"
DIMS = (1, 2, 5, 10, 20)


def notebook_04_model() -> tuple[LinearGaussian, torch.Tensor]:
    """The linear-Gaussian model of notebook 04's Q1.6 (nearly collinear columns of W) and its 4 data points."""
    g = torch.Generator().manual_seed(0)
    W = torch.randn(4, 2, generator=g, dtype=torch.float64)
    W[:, 1] = 0.8 * W[:, 0] + 0.3 * W[:, 1]
    model = LinearGaussian(W, torch.zeros(4, dtype=torch.float64), noise_std=0.5)
    x, _ = model.sample(4, generator=torch.Generator().manual_seed(1))
    return model, x


def claims_02() -> dict:
    table = {}
    for d in DIMS:
        case = naive_setup(d)
        log_w = case.log_w(torch.randn(10_000, 1, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
        estimate = (torch.logsumexp(log_w, 0) - math.log(len(log_w))).item()
        table[str(d)] = {"exact": case.exact, "kl": case.kl, "exp_kl": math.exp(case.kl),
                         "ess": effective_sample_size(log_w), "error": estimate - case.exact}
    summary = {str(d): row for d, row in convergence_summary(DIMS, runs=5, max_log2=17, at=256).items()}
    return {"table_M10000": table, "convergence": summary}


def claims_04() -> dict:
    model, x = notebook_04_model()
    trap = jensen_trap(model, x)
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
    }


def compute() -> dict:
    """Every number of :data:`OUT`, computed afresh (float64, fixed seeds; a few seconds)."""
    return {"02_naive_monte_carlo": claims_02(), "04_elbo_reparameterization": claims_04()}


def main() -> int:
    torch.set_num_threads(1)  # the numbers do not depend on it; one thread keeps reductions in one order
    write_results(OUT, compute())
    return 0


if __name__ == "__main__":
    sys.exit(main())
