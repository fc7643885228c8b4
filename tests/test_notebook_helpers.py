"""The small modules behind notebooks 01-04: PPCA, the ring map, univariate Gaussian KLs."""
from __future__ import annotations

import pytest
import torch

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


def test_symbolic_kl_when_sympy_is_there():
    pytest.importorskip("sympy")
    result = kl_symbolic()
    assert result is not None and result[1] == 0


# ----------------------------------------------------------------- notebook 04

def test_gradient_estimators_unbiased_and_reparam_has_lower_variance():
    from course_utils.toys.gradient_estimators import gradient_statistics, squared_distance

    s = gradient_statistics(squared_distance(1.0), dim=10, n=20000, seed=0)
    assert s["reparam_mean"] == pytest.approx(-2.0, abs=0.1)
    assert s["score_mean"] == pytest.approx(-2.0, abs=1.0)
    assert s["reparam_var"] == pytest.approx(4.0, rel=0.1)
    assert s["score_var"] > 50 * s["reparam_var"]


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


def test_ascend_elbo_phases():
    from course_utils.toys.elbo_gap import ascend_elbo

    h = ascend_elbo(LinearGaussian.random(4, 2, seed=0), LinearGaussian.random(4, 2, seed=5),
                    n_points=10, steps_per_phase=30, lr=0.05)
    n = 30
    assert h["log_px"][0] == pytest.approx(h["log_px"][n - 1])          # q only: log p(x) fixed
    assert h["gap"][n - 1] < h["gap"][0] and h["elbo"][n - 1] > h["elbo"][0]
    assert h["log_px"][2 * n - 1] > h["log_px"][n]                      # model only: log p(x) rises
    assert all(g >= -1e-9 for g in h["gap"])
