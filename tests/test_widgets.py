"""The slider callbacks work without a browser (set slider.value, read the result).

How fast they are is a benchmark target, not a test: benchmarks/bench_widgets.py.
"""
from __future__ import annotations

import math

import pytest
import torch

from course_utils.toys.gaussians import kl_normal
from course_utils.vae.model import VAE, VAEConfig
from course_utils.widgets import vae as W


def test_png_from_array_is_png():
    png = W.png_from_array(torch.rand(28, 28), scale=3)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_latent_explorer_decodes_slider_values():
    model = VAE(VAEConfig(z_dim=2, hidden=50))
    explorer = W.LatentExplorer(model.decode, 2)
    explorer.sliders[0].value = 1.5
    explorer.sliders[1].value = -0.5
    z = torch.tensor([1.5, -0.5])
    torch.testing.assert_close(explorer.result["z"], z)
    torch.testing.assert_close(explorer.result["image"], model.decode(z[None]).reshape(28, 28).detach())
    assert explorer.image.value[:4] == b"\x89PNG"
    for v in (0.1, 0.2, 0.3):  # every move decodes the new point
        explorer.sliders[0].value = v
        torch.testing.assert_close(explorer.result["z"], torch.tensor([v, -0.5]))


def test_latent_explorer_some_coordinates_of_a_bigger_latent():
    model = VAE(VAEConfig(z_dim=20, hidden=50))
    base = torch.linspace(-1, 1, 20)
    explorer = W.LatentExplorer(model.decode, 20, coords=[0, 3], base=base)
    explorer.sliders[1].value = 2.0
    expected = base.clone()
    expected[3] = 2.0
    torch.testing.assert_close(explorer.result["z"], expected)
    assert len(explorer.sliders) == 2


def test_kl_explorer_matches_closed_form():
    explorer = W.KLExplorer()
    explorer.mu_slider.value = 2.0
    explorer.sigma_slider.value = 0.5
    r = explorer.result
    assert r["kl_qp"] == pytest.approx(float(kl_normal(2.0, 0.5, 0.0, 1.0)))
    assert r["kl_pq"] == pytest.approx(float(kl_normal(0.0, 1.0, 2.0, 0.5)))
    assert r["kl_qp"] != pytest.approx(r["kl_pq"])  # asymmetry is visible in the widget
    assert "nats" in explorer.label.value
    # the density of q integrates to about 1 on the plotted grid
    assert torch.trapezoid(r["q"], r["z"]).item() == pytest.approx(1.0, abs=1e-3)
    for mu in (0.0, 1.0):  # every move recomputes both directions
        explorer.mu_slider.value = mu
        assert explorer.result["kl_qp"] == pytest.approx(float(kl_normal(mu, 0.5, 0.0, 1.0)))


def test_kl_explorer_zero_at_prior():
    explorer = W.KLExplorer()
    explorer.mu_slider.value = 0.0
    explorer.sigma_slider.value = 1.0
    assert explorer.result["kl_qp"] == pytest.approx(0.0, abs=1e-12)


def test_monte_carlo_explorer_shows_the_runs_of_notebook_02():
    """The widget's models, runs, KL and ESS are notebook 02's (naive_setup, running_errors, the table's ESS)."""
    from course_utils.toys import naive_mc

    explorer = W.MonteCarloExplorer(dims=(1, 20), max_log2=12, runs=3)
    for d in (1, 20):
        explorer.d_slider.value = d
        explorer.m_slider.value = 12
        r = explorer.result
        case = naive_mc.naive_setup(d)
        errors = naive_mc.running_errors(case, runs=3, max_log2=12)[:, -1]
        assert r["exact"] == pytest.approx(case.exact) and r["kl"] == pytest.approx(case.kl)
        assert r["exp_kl"] == pytest.approx(math.exp(case.kl))
        assert r["errors"] == pytest.approx(errors.tolist(), abs=1e-9)
        assert len(r["estimates"]) == len(r["ess"]) == 3
        log_w = case.log_w(naive_mc.prior_samples(case, 2 ** 12, naive_mc.RUN_SEED))
        assert r["ess"][0] == pytest.approx(naive_mc.effective_sample_size(log_w), rel=1e-9)
        assert "exp(KL)" in explorer.label.value and "ESS" in explorer.label.value
    explorer.d_slider.value = 1
    assert max(abs(e) for e in explorer.result["errors"]) < 0.5      # d = 1: the runs are close at M = 4096
    explorer.d_slider.value = 20
    assert max(explorer.result["errors"]) < -50                       # d = 20: every run far below log p(x)


def test_running_ess_matches_the_direct_formula():
    log_w = torch.randn(40, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 3
    running = W.running_ess(log_w)
    for m in (1, 9, 40):
        w = torch.softmax(log_w[:m], 0)
        assert running[m - 1].item() == pytest.approx((1 / (w ** 2).sum()).item())


def test_kl_direction_explorer_covers_and_seeks_modes():
    from course_utils.toys import kl_directions as kd

    explorer = W.KLDirectionExplorer(separation=5.0, weight=0.6)
    r = explorer.result
    p = kd.Mixture1D.bimodal(5.0, 0.6, 0.6)
    assert r["forward"] == pytest.approx((p.mean(), math.sqrt(p.variance())))   # moment matching
    assert r["forward"][1] > 2.0                                                # wide: covers both modes
    assert r["reverse"][0] == pytest.approx((-2.5, 0.6), abs=0.02)              # on the heavier (left) mode
    assert r["forward_kls"][0] < r["reverse_kls"][0] and r["reverse_kls"][1] < r["forward_kls"][1]
    explorer.sep_slider.value = 0.5                                             # overlapping modes: one answer
    r = explorer.result
    assert r["n_reverse_minima"] == 1
    assert r["reverse"][0] == pytest.approx(r["forward"], abs=0.02)
    explorer.weight_slider.value = 0.3
    explorer.sep_slider.value = 6.0                                             # now the right mode is heavier
    assert explorer.result["reverse"][0][0] == pytest.approx(3.0, abs=0.02)
    assert "forward" in explorer.label.value and explorer.image.value[:4] == b"\x89PNG"


def test_kl_direction_explorer_draws_every_local_minimum():
    """At the notebook's default there are three local minima of KL(q || p): all three are drawn; where the wide q
    between the modes is the best one (separation 3, equal weights), it is the solid line."""
    explorer = W.KLDirectionExplorer(separation=5.0, weight=0.6)
    assert explorer.result["n_reverse_minima"] == 3
    drawn = [line for line in explorer.rev_others if not torch.isnan(torch.as_tensor(line.get_ydata())).all()]
    assert len(drawn) == 2
    explorer.weight_slider.value = 0.5
    explorer.sep_slider.value = 3.0
    best_mu, best_sigma = explorer.result["reverse"][0]
    assert abs(best_mu) < 0.01 and best_sigma > 1.0            # the wide q between the modes wins here
    explorer.sep_slider.value = 1.0                              # one minimum: no dashed line left over
    assert all(torch.isnan(torch.as_tensor(line.get_ydata())).all() for line in explorer.rev_others)


def test_naive_running_estimate_matches_direct():
    lp = torch.randn(50, dtype=torch.float64) * 3 - 10
    running = W.naive_running_estimate(lp)
    for m in (1, 7, 50):
        direct = torch.logsumexp(lp[:m], 0) - torch.log(torch.tensor(float(m), dtype=torch.float64))
        assert running[m - 1].item() == pytest.approx(direct.item())


def test_reconstruction_explorer():
    model = VAE(VAEConfig(z_dim=2, hidden=50))
    images = torch.rand(5, 784)
    explorer = W.ReconstructionExplorer(model, images)
    explorer.index.value = 3
    torch.testing.assert_close(explorer.result["reconstruction"], model.reconstruct(images[3:4]).reshape(28, 28))


def test_latent_explorer_carries_the_css_classes_the_browser_test_uses():
    model = VAE(VAEConfig(z_dim=2, hidden=50))
    explorer = W.LatentExplorer(model.decode, 2)
    assert "course-latent-image" in explorer.image._dom_classes
    assert all("course-latent-slider" in s._dom_classes for s in explorer.sliders)
