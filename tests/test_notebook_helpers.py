"""The small modules behind notebooks 01-04: PPCA, the ring map, Gaussian KLs, forward/reverse KL fits, the naive
estimator's setups, the ELBO-gap helpers and the gradient estimators."""
from __future__ import annotations

import math

import pytest
import torch
from conftest import require_module

from course_utils.toys.gaussians import kl_monte_carlo, kl_normal, kl_symbolic, kl_torch, normal_log_pdf
from course_utils.toys.linear_gaussian import LinearGaussian
from course_utils.toys.maps import ring_map
from course_utils.toys.ppca import fit_ppca, linearity_gap, mean_image


def test_ppca_recovers_a_known_model():
    truth = LinearGaussian.random(x_dim=8, z_dim=2, noise_std=0.4, seed=1)
    x, _ = truth.sample(20000, generator=torch.Generator().manual_seed(2))
    fitted = fit_ppca(x, 2)
    assert fitted.noise_std[0].item() == pytest.approx(0.4, rel=0.03)
    # same covariance W W^T + sigma^2 I up to sampling error (W itself only up to a rotation)
    cov = lambda m: m.W @ m.W.T + torch.diag(m.noise_std ** 2)  # noqa: E731
    assert torch.allclose(cov(fitted), cov(truth), atol=0.15)
    assert fitted.log_px(x).mean() >= truth.log_px(x).mean() - 1e-6  # ML fit is at least as good in-sample


def test_ppca_rejects_bad_q():
    with pytest.raises(ValueError):
        fit_ppca(torch.randn(10, 4), 4)


def test_linearity_gap_zero_for_affine_positive_for_network():
    model = fit_ppca(torch.randn(200, 6, generator=torch.Generator().manual_seed(0)), 2)
    z1, z2 = torch.randn(2, dtype=torch.float64), torch.randn(2, dtype=torch.float64)
    assert linearity_gap(lambda v: mean_image(model, v), z1, z2) < 1e-10
    net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 6)).double()
    assert linearity_gap(net, z1, z2) > 1e-3


def test_linearity_gap_sees_the_link_function_unless_given_the_logits():
    """A Bernoulli decoder with linear logits is affine in its logits, not in its probabilities: notebook 01
    measures the mean function on the logits so that the likelihood's sigmoid does not count as non-linearity."""
    g = torch.Generator().manual_seed(0)
    W, b = torch.randn(50, 4, generator=g, dtype=torch.float64), torch.randn(50, generator=g, dtype=torch.float64)
    z1, z2 = torch.randn(4, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    logits = lambda v: v @ W.T + b  # noqa: E731
    assert linearity_gap(logits, z1, z2) < 1e-12
    assert linearity_gap(lambda v: torch.sigmoid(logits(v)), z1, z2) > 0.05


def test_typicality_closed_forms_match_sampling_and_known_values():
    from course_utils.toys.typicality import mean_radius, radius_cdf, radius_table

    assert radius_cdf(2, 1.0) == pytest.approx(1 - math.exp(-0.5), rel=1e-12)     # Rayleigh: 1 - exp(-r^2/2)
    assert radius_cdf(1, 1.96) == pytest.approx(0.95, abs=1e-4)                    # |z| < 1.96 for z ~ N(0, 1)
    assert mean_radius(1) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-12)
    assert mean_radius(2) == pytest.approx(math.sqrt(math.pi / 2), rel=1e-12)
    table = radius_table(dims=(2, 20), radius=2.0, n=200_000, seed=1)
    for d, row in table.items():
        se = math.sqrt(row["inside"] * (1 - row["inside"]) / 200_000)
        assert abs(row["inside_mc"] - row["inside"]) < 5 * se + 1e-5, d
        assert row["mean_radius_mc"] == pytest.approx(row["mean_radius"], abs=0.01)
        assert row["radius_std_mc"] == pytest.approx(row["radius_std"], abs=0.01)
    # the mass sits far from where the density peaks: in 20-D almost nothing within radius 2, the mean radius ~ sqrt(D)
    assert table[20]["inside"] < 1e-4 and abs(table[20]["mean_radius"] - math.sqrt(20)) < 0.1
    with pytest.raises(ValueError):
        radius_cdf(0, 1.0)


def test_ring_map_puts_no_mass_at_the_centre():
    z = torch.randn(10000, 2, generator=torch.Generator().manual_seed(0))
    r = ring_map(z).norm(dim=1)
    assert r.min() >= 1.0 and r.std() < 0.1


@pytest.mark.parametrize("mq, sq, mp, sp", [(0, 1, 0, 1), (1, 0.5, 0, 1), (-2, 2, 1, 0.3), (5, 0.1, 0, 1)])
def test_kl_three_ways_agree(mq, sq, mp, sp):
    closed = kl_normal(mq, sq, mp, sp).item()
    assert closed == pytest.approx(kl_torch(mq, sq, mp, sp).item(), abs=1e-10)
    mc, se = kl_monte_carlo(mq, sq, mp, sp, n=200_000, generator=torch.Generator().manual_seed(0))
    assert abs(mc - closed) < 5 * se + 1e-9


def test_kl_examples_of_q15a():
    assert kl_normal(0.0, 1.0).item() == 0.0
    assert kl_normal(5.0, 0.1).item() == pytest.approx(14.3076, abs=1e-4)


def test_normal_log_pdf():
    assert normal_log_pdf(0.0, 0.0, 1.0).item() == pytest.approx(-0.918938533, abs=1e-9)


def test_symbolic_kl_with_sympy():
    require_module("sympy")
    result = kl_symbolic()
    assert result is not None and result[1] == 0


# ----------------------------------------------------------------- notebook 04

def test_gradient_estimators_unbiased_and_their_variances_ordered():
    from course_utils.toys.gradient_estimators import gradient_statistics

    s = gradient_statistics(dim=10, n=20000, seed=0)
    for name in ("score", "baseline", "reparam"):  # unbiased: within 4 standard errors of the exact -2
        assert abs(s[f"{name}_mean"] + 2.0) < 4 * math.sqrt(s[f"{name}_var"] / 20000), name
    assert s["reparam_var"] == pytest.approx(4.0, rel=0.1)  # Var[2 (z - 1)] = 4 exactly
    assert s["score_var"] > 5 * s["baseline_var"] > 5 * s["reparam_var"]


def test_score_function_variance_matches_its_closed_form():
    """Var[f(z) z_1] for f = sum_i (z_i - 1)^2, z ~ N(0, I_D): E[f^2 z_1^2] - 4 by moments, vs the estimate."""
    from course_utils.toys.gradient_estimators import gradient_statistics

    d = 5
    # f = a + b with a = (z_1 - 1)^2 and b = sum_{i>1} (z_i - 1)^2 (independent of z_1); the estimate is f z_1.
    # E[a^2 z^2] = E[z^6 - 4z^5 + 6z^4 - 4z^3 + z^2] = 15 + 18 + 1; E[a z^2] = E[z^4 - 2z^3 + z^2] = 3 + 1;
    # each (z_i - 1)^2 has mean 2 and variance 6, so E[b] = 2(d-1), E[b^2] = 6(d-1) + 4(d-1)^2; E[f z_1] = -2.
    e_a2z2, e_az2 = 34, 4
    e_b, e_b2 = 2 * (d - 1), 6 * (d - 1) + 4 * (d - 1) ** 2
    variance = e_a2z2 + 2 * e_az2 * e_b + e_b2 - 4
    s = gradient_statistics(dim=d, n=200_000, seed=3)
    assert s["score_var"] == pytest.approx(variance, rel=0.03)


@pytest.mark.parametrize("dim, mu, sigma", [(1, 0.0, 1.0), (5, 0.0, 1.0), (3, 0.5, 0.7), (2, -1.0, 1.6), (1, 2.0, 0.5)])
def test_quadratic_gradient_variances_match_sampling(dim, mu, sigma):
    """Notebook 04 quotes the exact laws 4, 18 + 6(D - 1) and 4D^2 + 14D + 12; they match sampling, off them too."""
    from course_utils.toys.gradient_estimators import gradient_statistics, quadratic_gradient_variances

    exact = quadratic_gradient_variances(dim, mu, sigma)
    s = gradient_statistics(dim, n=200_000, mu=mu, sigma=sigma, seed=4)
    for name in ("score", "baseline", "reparam"):
        assert s[f"{name}_var"] == pytest.approx(exact[name], rel=0.04), name
    if dim == 1:  # notebook 04: in 1-D the baseline/reparameterized ratio is 2.5 + 2 (mu - a)^2 / sigma^2
        assert exact["baseline"] / exact["reparam"] == pytest.approx(2.5 + 2 * (mu - 1.0) ** 2 / sigma ** 2)
    if (mu, sigma) == (0.0, 1.0):  # the notebook's case, and the moment computation of the test above
        assert (exact["reparam"], exact["baseline"]) == (4, 18 + 6 * (dim - 1))
        # E[a^2 z^2] + 2 E[a z^2] E[b] + E[b^2] - 4 of the test above, with d = dim
        k = dim - 1
        assert exact["score"] == 4 * dim ** 2 + 14 * dim + 12 == 34 + 16 * k + 6 * k + 4 * k ** 2 - 4


@pytest.mark.parametrize("omega", [0.5, 1.0, 4.0])
def test_cosine_gradient_variances_closed_forms_match_sampling(omega):
    from course_utils.toys.gradient_estimators import cosine_gradient_variances

    c = cosine_gradient_variances(omega, n=200_000, seed=1)
    for name in ("score", "baseline", "reparam"):
        assert c[f"{name}_mc"] == pytest.approx(c[name], rel=0.05), name
    # the ordering flips with omega: no estimator has the lower variance for every smooth f
    assert (c["reparam"] < c["score"]) == (omega < 1.0)


def test_elbo_gradient_estimates_are_unbiased_and_ordered():
    from course_utils.toys.gradient_estimators import elbo_gradient_estimates

    model = LinearGaussian.random(4, 2, noise_std=0.5, seed=4)
    x, _ = model.sample(1, generator=torch.Generator().manual_seed(0))
    mu, sigma = torch.full((1, 2), 0.3, dtype=torch.float64), torch.full((1, 2), 0.8, dtype=torch.float64)
    est = elbo_gradient_estimates(model, x, mu, sigma, 20_000, torch.Generator().manual_seed(1))
    # the exact gradient is autograd of the closed form; check it once more by finite differences
    h = 1e-6
    for j in range(2):
        bump = torch.zeros(1, 2, dtype=torch.float64)
        bump[0, j] = h
        fd = (model.elbo(x, mu + bump, sigma) - model.elbo(x, mu - bump, sigma)).item() / (2 * h)
        assert est["exact"][j].item() == pytest.approx(fd, rel=1e-5, abs=1e-6)
        fd_s = (model.elbo(x, mu, sigma + bump) - model.elbo(x, mu, sigma - bump)).item() / (2 * h)
        assert est["exact"][2 + j].item() == pytest.approx(fd_s, rel=1e-5, abs=1e-6)
    for name in ("score", "baseline", "reparam"):
        se = (est[name].var(0) / 20_000).sqrt()
        assert ((est[name].mean(0) - est["exact"]).abs() < 4 * se).all(), name
    assert (est["reparam"].var(0) < est["score"].var(0)).all()
    with pytest.raises(ValueError, match="one data point"):
        elbo_gradient_estimates(model, torch.cat([x, x]), mu, sigma, 10)


def test_reparameterization_gradients_match_autograd_per_sample():
    from course_utils.toys.gradient_estimators import reparameterization_gradients, squared_distance

    mu, sigma = torch.zeros(3, dtype=torch.float64), torch.full((3,), 0.5, dtype=torch.float64)
    grads = reparameterization_gradients(squared_distance(1.0), mu, sigma, 4, torch.Generator().manual_seed(0))
    eps = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(grads, 2 * (mu + sigma * eps - 1.0))


def test_elbo_gap_equals_kl_to_posterior():
    from course_utils.toys.elbo_gap import elbo_table

    model = LinearGaussian.random(5, 3, noise_std=0.5, seed=3)
    x, _ = model.sample(6, generator=torch.Generator().manual_seed(0))
    mu, sigma = model.best_diagonal_q(x)
    rows = elbo_table(model, x, {"best": (mu, sigma), "prior": (0 * mu, 0 * sigma + 1)})
    for _, log_px, elbo, gap, kl in rows:
        assert elbo <= log_px and gap == pytest.approx(kl, abs=1e-8)


def test_best_diagonal_gap_closed_form_is_the_minimum_over_diagonal_q():
    from course_utils.toys.elbo_gap import best_diagonal_gap, posterior_correlation

    g = torch.Generator().manual_seed(0)
    W = torch.randn(4, 2, generator=g, dtype=torch.float64)
    W[:, 1] = 0.8 * W[:, 0] + 0.3 * W[:, 1]
    model = LinearGaussian(W, torch.zeros(4, dtype=torch.float64), noise_std=0.5)
    x, _ = model.sample(3, generator=torch.Generator().manual_seed(1))
    rho = posterior_correlation(model)
    assert best_diagonal_gap(model) == pytest.approx(-0.5 * math.log(1 - rho ** 2), rel=1e-10)
    mu, sigma = model.best_diagonal_q(x)
    torch.testing.assert_close(model.kl_to_posterior(x, mu, sigma), torch.full((3,), best_diagonal_gap(model),
                                                                                 dtype=torch.float64))
    # no other diagonal q does better: perturb the best one in every direction
    for scale in (0.9, 1.1):
        for j in range(2):
            s = sigma.clone()
            s[:, j] *= scale
            assert (model.kl_to_posterior(x, mu, s) > best_diagonal_gap(model)).all()
    with pytest.raises(ValueError):
        posterior_correlation(LinearGaussian.random(4, 3))


def test_jensen_trap_exceeds_log_px_and_its_parts_match_monte_carlo():
    from course_utils.toys.elbo_gap import jensen_trap

    model = LinearGaussian.random(5, 2, noise_std=0.4, seed=2)
    x, _ = model.sample(3, generator=torch.Generator().manual_seed(0))
    t = jensen_trap(model, x)
    torch.testing.assert_close(t["elbo"], t["log_px"])          # q is the exact posterior
    assert (t["trap"] > t["log_px"] + 1e-3).all()                 # the trap is not a lower bound
    mean, cov = model.posterior(x)
    z = mean[:1] + torch.randn(400_000, 1, 2, generator=torch.Generator().manual_seed(1),
                               dtype=torch.float64) @ torch.linalg.cholesky(cov).T
    ll = model.log_px_given_z(x[:1], z)[:, 0]
    assert ll.mean().item() == pytest.approx(t["expected_log_lik"][0].item(), abs=5 * ll.std().item() / 632)
    assert (torch.logsumexp(ll, 0) - math.log(len(ll))).item() == pytest.approx(t["log_expected_lik"][0].item(),
                                                                                abs=0.01)


def test_elbo_table_with_a_second_kl_function():
    from course_utils.toys.elbo_gap import elbo_table
    from course_utils.toys.gaussians import kl_gaussians

    model = LinearGaussian.random(5, 3, noise_std=0.5, seed=3)
    x, _ = model.sample(4, generator=torch.Generator().manual_seed(0))
    mu, sigma = model.best_diagonal_q(x)
    for row in elbo_table(model, x, {"best": (mu, sigma), "wide": (mu, 2 * sigma)}, kl_fn=kl_gaussians):
        assert row[3] == pytest.approx(row[4], abs=1e-9) and row[4] == pytest.approx(row[5], abs=1e-9)


def test_ascend_elbo_phases():
    from course_utils.toys.elbo_gap import ascend_elbo

    h = ascend_elbo(LinearGaussian.random(4, 2, seed=0), LinearGaussian.random(4, 2, seed=5),
                    n_points=10, steps_per_phase=30, lr=0.05)
    n = 30
    assert h["log_px"][0] == pytest.approx(h["log_px"][n - 1])          # q only: log p(x) fixed
    assert h["gap"][n - 1] < h["gap"][0] and h["elbo"][n - 1] > h["elbo"][0]
    assert h["log_px"][2 * n - 1] > h["log_px"][n]                      # model only: log p(x) rises
    assert all(g >= -1e-9 for g in h["gap"])


def test_collinear_model_is_notebook_04s_model():
    from course_utils.toys.elbo_gap import collinear_model

    g = torch.Generator().manual_seed(0)
    W = torch.randn(4, 2, generator=g, dtype=torch.float64)
    W[:, 1] = 0.8 * W[:, 0] + 0.3 * W[:, 1]
    model, x = collinear_model()
    torch.testing.assert_close(model.W, W)
    expected_x, _ = LinearGaussian(W, torch.zeros(4, dtype=torch.float64), 0.5).sample(
        4, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(x, expected_x)


def test_iw_errors_zero_for_the_exact_posterior_and_biased_for_the_best_diagonal_q():
    from course_utils.toys.elbo_gap import collinear_model, iw_errors, weight_variance_margin

    model, x = collinear_model()
    mean, cov = model.posterior(x[:1])
    exact = iw_errors(model, x[:1], mean[0], cov, ks=(1, 10), seeds=range(3))
    assert exact.abs().max() < 1e-9                                  # w = p(x) for every sample
    mu, sigma = model.best_diagonal_q(x[:1])
    narrow = torch.diag(sigma[0] ** 2)
    assert weight_variance_margin(model, narrow) < 0 < weight_variance_margin(model, 2 * cov)
    err = iw_errors(model, x[:1], mu[0], narrow, ks=(1,), seeds=range(200))
    # k = 1 is one sample of the ELBO: its mean error is minus the gap, KL(q || posterior)
    gap = model.kl_to_posterior(x[:1], mu, sigma)[0].item()
    assert err.mean().item() == pytest.approx(-gap, abs=4 * err.std().item() / math.sqrt(200))
    with pytest.raises(ValueError, match="one data point"):
        iw_errors(model, x, mean[0], cov)


def test_iw_proposals_are_the_four_of_notebook_02():
    """The best-ELBO diagonal q (too narrow: negative margin), the marginal-std diagonal q, the prior and the
    inflated posterior; each from its own definition, so a swapped or mis-scaled proposal fails."""
    from course_utils.toys.elbo_gap import PROPOSAL_LABELS, collinear_model, iw_proposals, weight_variance_margin

    model, x = collinear_model()
    props = iw_proposals(model, x[:1])
    assert list(props) == list(PROPOSAL_LABELS) == ["best_diagonal", "marginal_stds", "prior", "posterior_x2"]
    mean, cov = model.posterior(x[:1])
    mu, sigma = model.best_diagonal_q(x[:1])
    torch.testing.assert_close(props["best_diagonal"][0], mu[0])
    torch.testing.assert_close(props["best_diagonal"][1], torch.diag(sigma[0] ** 2))
    torch.testing.assert_close(props["marginal_stds"][0], mean[0])
    torch.testing.assert_close(props["marginal_stds"][1].diagonal(), cov.diagonal())
    assert props["marginal_stds"][1].diagonal().sum() > props["best_diagonal"][1].diagonal().sum()  # wider
    torch.testing.assert_close(props["prior"][1], torch.eye(2, dtype=torch.float64))
    torch.testing.assert_close(props["posterior_x2"][1], 2 * cov)
    assert weight_variance_margin(model, props["best_diagonal"][1]) < 0
    assert all(weight_variance_margin(model, props[k][1]) > 0 for k in ("marginal_stds", "prior", "posterior_x2"))
    with pytest.raises(ValueError, match="one data point"):
        iw_proposals(model, x)


@pytest.mark.parametrize("ratio", [0.75, 0.8, 0.9, 1.0, 1.5, 2.0])
def test_scaled_proposal_chi2_agrees_with_the_general_closed_form(ratio):
    """chi^2(N(0, I) || N(0, r^2 I)) = chi^2(N(0, I/r^2) || N(0, I)) (rescale z by r): two formulas, one number."""
    from course_utils.toys.elbo_gap import scaled_proposal_chi2
    from course_utils.toys.naive_mc import chi2_to_standard_normal

    for dim in (1, 3, 20):
        general = chi2_to_standard_normal(torch.zeros(dim, dtype=torch.float64),
                                          torch.eye(dim, dtype=torch.float64) / ratio ** 2)
        assert scaled_proposal_chi2(ratio, dim) == pytest.approx(general, rel=1e-9)
    assert scaled_proposal_chi2(1.0, 20) == pytest.approx(1.0)


def test_scaled_proposal_chi2_is_infinite_below_one_over_sqrt_2_and_monte_carlo_agrees():
    from course_utils.toys.elbo_gap import scaled_proposal_chi2

    assert scaled_proposal_chi2(0.7, 1) == math.inf and scaled_proposal_chi2(0.71, 1) < math.inf
    with pytest.raises(ValueError):
        scaled_proposal_chi2(0.0, 1)
    # E_q[w^2] with w = N(z; 0, 1) / N(z; 0, r^2), z ~ q = N(0, r^2), r = 1.5: a seeded Monte Carlo check
    r = 1.5
    z = r * torch.randn(400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    log_w = -0.5 * z ** 2 + 0.5 * (z / r) ** 2 + math.log(r)
    assert (2 * log_w).exp().mean().item() == pytest.approx(scaled_proposal_chi2(r, 1), rel=0.01)


def test_weight_variance_margin_predicts_a_finite_second_moment_in_one_dimension():
    """For a 1-D posterior N(0, 1) and q = N(0, s^2), E_q[w^2] is finite exactly when s^2 > 1/2."""
    from course_utils.toys.elbo_gap import weight_variance_margin

    model = LinearGaussian(torch.zeros(1, 1, dtype=torch.float64), noise_std=1.0)   # posterior = prior = N(0, 1)
    for s2 in (0.3, 0.49, 0.51, 2.0):
        margin = weight_variance_margin(model, torch.tensor([[s2]], dtype=torch.float64))
        assert (margin > 0) == (s2 > 0.5)


# ----------------------------------------------------------------- notebook 02: the naive estimator's setups

def test_naive_setup_is_the_table_model_and_its_kl_is_exact():
    from course_utils.toys.naive_mc import naive_setup

    case = naive_setup(2)
    model = LinearGaussian.random(x_dim=30, z_dim=2, noise_std=0.5, seed=2)
    torch.testing.assert_close(case.model.W, model.W)
    mean, cov = model.posterior(case.x)
    # KL(N(m, S) || N(0, I)) in closed form: (tr S + m^T m - d - log det S) / 2
    kl = 0.5 * (torch.trace(cov) + (mean[0] ** 2).sum() - 2 - torch.logdet(cov)).item()
    assert case.kl == pytest.approx(kl, rel=1e-10)
    assert case.exact == pytest.approx(model.log_px(case.x)[0].item())


def test_chi2_closed_form_matches_sampling_and_bounds_exp_kl():
    from course_utils.toys.naive_mc import chi2_to_standard_normal, naive_setup

    mean = torch.tensor([0.8, -0.3], dtype=torch.float64)
    cov = torch.tensor([[0.5, 0.1], [0.1, 0.4]], dtype=torch.float64)
    z = torch.randn(400_000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    target = torch.distributions.MultivariateNormal(mean, cov)
    prior = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64),
                                                   torch.eye(2, dtype=torch.float64))
    w = (target.log_prob(z) - prior.log_prob(z)).exp()                 # E_prior[w^2] = 1 + chi^2
    assert chi2_to_standard_normal(mean, cov) == pytest.approx((w ** 2).mean().item(), rel=0.05)
    # a target more than twice as wide as the proposal (variance) in some direction: infinite
    assert chi2_to_standard_normal(mean, torch.diag(torch.tensor([2.5, 0.4], dtype=torch.float64))) == math.inf
    for d in (1, 2, 5):
        case = naive_setup(d)
        assert case.one_plus_chi2 >= math.exp(case.kl)                  # Jensen


def test_ess_summary_first_crossing_and_running_ess():
    from course_utils.toys.naive_mc import ess_summary, naive_setup, prior_samples, running_ess

    log_w = torch.tensor([0.0, 0.0, -50.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(running_ess(log_w), torch.tensor([1.0, 2.0, 2.0, 3.0], dtype=torch.float64))
    summary = ess_summary(dims=(1,), runs=2, max_log2=10, threshold=10.0)[1]
    case = naive_setup(1)
    for r, m in enumerate(summary["first_m_above"]):
        ess = running_ess(case.log_w(prior_samples(case, 2 ** 10, 10 + r)))
        assert m is not None and ess[m - 1] > 10 and (ess[: m - 1] <= 10).all()


def test_effective_sample_size_limits():
    from course_utils.toys.naive_mc import effective_sample_size

    assert effective_sample_size(torch.zeros(50, dtype=torch.float64)) == pytest.approx(50)
    assert effective_sample_size(torch.tensor([0.0, -800.0, -900.0], dtype=torch.float64)) == pytest.approx(1.0)


def test_running_errors_and_settled_from():
    from course_utils.toys.naive_mc import naive_setup, running_errors, settled_from

    errors = running_errors(naive_setup(1), runs=2, max_log2=10)
    assert errors.shape == (2, 1024)
    again = running_errors(naive_setup(1), runs=2, max_log2=10)
    assert torch.equal(errors, again)
    toy = torch.tensor([[1.0, 0.2, 0.01, 0.0], [0.0, 0.0, 0.3, 0.02]])
    assert settled_from(toy, tolerance=0.05) == 4
    assert settled_from(torch.ones(2, 3), tolerance=0.05) is None
    assert settled_from(torch.zeros(2, 3)) == 1


# ----------------------------------------------------------------- notebook 03: KL >= 0, full covariances, directions

def test_kl_gaussians_matches_torch_and_the_univariate_form():
    from torch.distributions import MultivariateNormal, kl_divergence

    from course_utils.toys.gaussians import kl_gaussians

    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 4, 4, generator=g, dtype=torch.float64)
    b = torch.randn(3, 4, 4, generator=g, dtype=torch.float64)
    sq, sp = a @ a.mT + 0.3 * torch.eye(4, dtype=torch.float64), b @ b.mT + 0.3 * torch.eye(4, dtype=torch.float64)
    mq, mp = torch.randn(3, 4, generator=g, dtype=torch.float64), torch.randn(3, 4, generator=g, dtype=torch.float64)
    torch.testing.assert_close(kl_gaussians(mq, sq, mp, sp),
                               kl_divergence(MultivariateNormal(mq, sq), MultivariateNormal(mp, sp)))
    one = kl_gaussians(torch.tensor([1.0], dtype=torch.float64), torch.tensor([[0.25]], dtype=torch.float64),
                       torch.tensor([0.0], dtype=torch.float64), torch.tensor([[1.0]], dtype=torch.float64))
    assert one.item() == pytest.approx(kl_normal(1.0, 0.5).item())
    assert (kl_gaussians(mq, sq, mp, sp) > 0).all() and kl_gaussians(mq, sq, mq, sq).abs().max() < 1e-12


def test_symbolic_kl_expanded_shows_the_log_of_the_std_ratio():
    sympy = require_module("sympy")
    from course_utils.toys.gaussians import kl_symbolic_expanded

    expanded = kl_symbolic_expanded()
    sq, sp = sympy.symbols("sigma_q sigma_p", positive=True)
    assert expanded.coeff(sympy.log(sp)) == 1 and expanded.coeff(sympy.log(sq)) == -1


def test_mixture_divergences_match_dense_quadrature():
    from course_utils.toys.kl_directions import Mixture1D, forward_kl, reverse_kl

    p = Mixture1D.bimodal(4.0, 0.7, 0.6)
    z = torch.linspace(-40, 40, 800_001, dtype=torch.float64)
    lp = p.log_prob(z)
    assert torch.trapezoid(lp.exp(), z).item() == pytest.approx(1.0, abs=1e-9)
    for mu, s in ((0.0, 2.0), (2.0, 0.6), (-1.0, 0.3), (0.0, 5.0)):
        lq = normal_log_pdf(z, mu, s)
        assert reverse_kl(p, mu, s).item() == pytest.approx(torch.trapezoid(lq.exp() * (lq - lp), z).item(), abs=1e-6)
        assert forward_kl(p, mu, s).item() == pytest.approx(torch.trapezoid(lp.exp() * (lp - lq), z).item(), abs=1e-6)


def test_forward_fit_is_the_minimum_and_reverse_fits_are_local_minima():
    from course_utils.toys.kl_directions import Mixture1D, fit_forward, fit_reverse, forward_kl, reverse_kl

    p = Mixture1D.bimodal(5.0, 0.6, 0.6)
    mu, sigma = fit_forward(p)
    mus, sigmas = torch.meshgrid(torch.linspace(-3, 3, 121, dtype=torch.float64),
                                 torch.linspace(0.3, 5, 95, dtype=torch.float64), indexing="ij")
    grid = forward_kl(p, mus, sigmas)
    assert forward_kl(p, mu, sigma).item() <= grid.min().item() + 1e-12
    fits = fit_reverse(p)
    assert fits[0][0] == pytest.approx(-2.5, abs=1e-3) and fits[0][1] == pytest.approx(0.6, abs=1e-3)
    assert any(m == pytest.approx(2.5, abs=1e-3) for m, _, _ in fits)
    assert [kl for _, _, kl in fits] == sorted(kl for _, _, kl in fits)
    for m, s, kl in fits:  # each is a local minimum: no neighbour is lower
        assert kl == pytest.approx(reverse_kl(p, m, s).item(), abs=1e-12)
        for dm, ds in ((0.02, 0), (-0.02, 0), (0, 0.02), (0, -0.02)):
            assert reverse_kl(p, m + dm, s + ds).item() > kl
    # intermediate separation, equal weights: the wide q between the modes is the *global* minimum
    wide, *on_modes = fit_reverse(Mixture1D.bimodal(3.0, 0.5, 0.6))
    assert abs(wide[0]) < 1e-3 and wide[1] > 1.0 and len(on_modes) == 2
    assert all(abs(m) > 1 and s < 1 and kl > wide[2] for m, s, kl in on_modes)
    assert wide[2] == pytest.approx(0.481, abs=1e-3) and on_modes[0][2] == pytest.approx(0.666, abs=1e-3)
    # the default of notebook 03: three local minima, one per mode and a wide one between
    assert sorted(s > 1 for _, s, _ in fits) == [False, False, True]
    # overlapping modes: a single fit, close to the forward one
    close = Mixture1D.bimodal(0.5, 0.6, 0.6)
    [(m, s, _)] = fit_reverse(close)
    assert (m, s) == pytest.approx(fit_forward(close), abs=0.01)
    with pytest.raises(ValueError):
        Mixture1D.bimodal(2.0, weight=1.0)


def test_fit_ppca_in_chunks_equals_the_whole_set_at_once(monkeypatch):
    """fit_ppca accumulates mean and covariance a chunk of rows at a time (a Binder kernel cannot hold a float64
    copy of the training set): the fitted model is the one-pass model up to float64 round-off."""
    from course_utils.toys import ppca

    x = torch.rand(3000, 50, generator=torch.Generator().manual_seed(1)) ** 2
    whole = fit_ppca(x, 5)
    monkeypatch.setattr(ppca, "CHUNK_BYTES", 8 * 50 * 7)  # 7 rows per chunk, a ragged last one
    chunked = fit_ppca(x, 5)
    assert torch.allclose(chunked.b, whole.b, rtol=0, atol=1e-14)
    assert torch.allclose(chunked.noise_std, whole.noise_std, rtol=1e-12)
    assert torch.allclose(chunked.W.abs(), whole.W.abs(), rtol=0, atol=1e-10)  # columns up to sign


def test_naive_log_weights_in_blocks_equal_all_at_once(monkeypatch):
    """NaiveSetup.log_w works through the 2^17 prior samples in blocks (bounded memory): the same weights."""
    from course_utils.toys import naive_mc

    setup = naive_mc.naive_setup(5)
    z = naive_mc.prior_samples(setup, 1000, seed=3)
    monkeypatch.setattr(naive_mc, "LOG_W_CHUNK", 10**9)
    whole = setup.log_w(z)
    monkeypatch.setattr(naive_mc, "LOG_W_CHUNK", 64)  # 16 blocks, a ragged last one
    blocks = setup.log_w(z)
    assert blocks.shape == (1000,) and torch.allclose(blocks, whole, rtol=1e-13, atol=0)
    assert setup.log_w(z[:0]).shape == (0,)
