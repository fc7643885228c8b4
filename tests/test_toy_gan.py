"""The 1-D toy GAN of notebook 06: exact densities, D* and V on a grid (Q2.3), and a game that trains in seconds."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from course_utils.toys import gan1d as T


def test_mixture_density_integrates_to_one_and_matches_samples():
    mix = T.Mixture1D()
    x = T.default_grid(-5, 12, 4001)
    assert torch.trapezoid(mix.pdf(x), x).item() == pytest.approx(1.0, abs=1e-6)
    s = mix.sample(200_000, torch.Generator().manual_seed(0)).double()
    assert s.mean().item() == pytest.approx(mix.mean, abs=0.02)
    assert s.std().item() == pytest.approx(mix.std, abs=0.02)
    assert mix.weights == (0.5, 0.5)
    with pytest.raises(ValueError):
        T.Mixture1D(means=(0.0,), stds=(0.0,), weights=(1.0,))


def test_optimal_discriminator_is_one_half_when_the_densities_agree():
    x = T.default_grid()
    p = T.Mixture1D().pdf(x)
    d_star = T.optimal_discriminator(p, p)
    assert torch.allclose(d_star, torch.full_like(d_star, 0.5))
    assert T.value_on_grid(x, p, p, d_star) == pytest.approx(-math.log(4), abs=1e-6)
    assert T.jensen_shannon(x, p, p) == pytest.approx(0.0, abs=1e-9)


def test_value_at_d_star_is_minus_log4_plus_twice_the_jsd():
    x = T.default_grid(-8, 12, 8001)
    p = T.Mixture1D().pdf(x)
    for mean, std in ((0.0, 1.0), (3.5, 1.5), (6.0, 0.3)):
        q = T.normal_pdf(x, mean, std)
        v = T.value_on_grid(x, p, q, T.optimal_discriminator(p, q))
        assert v == pytest.approx(-math.log(4) + 2 * T.jensen_shannon(x, p, q), abs=1e-6)
        assert v > -math.log(4)


def test_d_star_maximises_the_value():
    x = T.default_grid()
    p, q = T.Mixture1D().pdf(x), T.normal_pdf(x, 1.0, 1.0)
    d_star = T.optimal_discriminator(p, q)
    best = T.value_on_grid(x, p, q, d_star)
    for other in (torch.full_like(d_star, 0.5), (d_star + 0.05).clamp(0, 1), (d_star - 0.05).clamp(1e-9, 1)):
        assert T.value_on_grid(x, p, q, other) < best


def test_jensen_shannon_is_at_most_log_2():
    x = T.default_grid(-10, 30, 8001)
    assert T.jensen_shannon(x, T.normal_pdf(x, 0, 1), T.normal_pdf(x, 20, 1)) == pytest.approx(math.log(2), abs=1e-6)


def test_kde_integrates_to_one():
    x = T.default_grid(-10, 15, 4001)
    est = T.kde(T.Mixture1D().sample(500, torch.Generator().manual_seed(1)), x)
    assert torch.trapezoid(est, x).item() == pytest.approx(1.0, abs=1e-3)


def test_generator_gradients_match_the_closed_forms():
    d = torch.tensor([0.001, 0.1, 0.5, 0.9], dtype=torch.float64)
    g = T.generator_gradients(d)
    torch.testing.assert_close(g["saturating"], torch.log1p(-d))
    torch.testing.assert_close(g["non_saturating"], -torch.log(d))
    torch.testing.assert_close(g["dsat_da"], -d)
    torch.testing.assert_close(g["dns_da"], -(1 - d))
    torch.testing.assert_close(g["dsat_dD"], -1 / (1 - d))
    torch.testing.assert_close(g["dns_dD"], -1 / d)


def test_config_validation():
    with pytest.raises(ValueError, match="generator_loss"):
        T.ToyConfig(generator_loss="wasserstein")
    with pytest.raises(ValueError, match="g_optimizer"):
        T.ToyConfig(g_optimizer="rmsprop")
    with pytest.raises(ValueError):
        T.ToyConfig(lr_d=0)


def test_training_is_reproducible_and_records_the_game():
    config = T.ToyConfig(steps=60, snapshot_every=20, batch_size=64, n_snapshot=200)
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # a count the single-thread block does not use
    try:
        a, b = T.train_toy_gan(config), T.train_toy_gan(config)
        assert torch.get_num_threads() == 3  # the single-thread block restored the setting
    finally:
        torch.set_num_threads(before)
    assert [s["step"] for s in a.snapshots] == [0, 20, 40, 60]
    assert len(a.history) == 60
    torch.testing.assert_close(a.final["samples"], b.final["samples"])
    assert set(a.history[0]) == {"d_loss", "g_loss", "d_real", "d_fake", "g_grad"}


def test_the_game_moves_the_generator_onto_the_data():
    run = T.train_toy_gan(T.ToyConfig(steps=800, seed=1))
    samples = run.final["samples"]
    data = run.config.data
    assert samples.mean().item() == pytest.approx(data.mean, abs=0.5)  # it started near 0, the data sit at 3.5
    assert abs(run.snapshots[0]["samples"].mean().item() - data.mean) > 2.5
    tail = run.history[-200:]
    assert sum(h["d_fake"] for h in tail) / len(tail) == pytest.approx(0.5, abs=0.1)  # near the equilibrium


@pytest.mark.parametrize("optimizer, lr_g", [("sgd", 0.05)])
def test_saturating_loss_stalls_a_rejected_generator_and_non_saturating_does_not(optimizer, lr_g):
    early = T.ToyConfig(steps=300, g_offset=-2.0, d_warmup=200, g_optimizer=optimizer, lr_g=lr_g, lr_d=2e-3,
                        batch_size=128)
    sat = T.train_toy_gan(replace(early, generator_loss="saturating"))
    ns = T.train_toy_gan(replace(early, generator_loss="non-saturating"))
    assert sat.history[0]["d_fake"] < 0.01  # the warmed-up discriminator rejects the fakes
    assert ns.history[0]["g_grad"] > 100 * sat.history[0]["g_grad"]  # 1 - D versus D
    assert sat.final["samples"].mean().item() < 0  # still far left of the data
    assert ns.final["samples"].mean().item() > 2.5


def test_fit_discriminator_approaches_d_star():
    data, fake = T.Mixture1D(), T.Mixture1D(means=(1.0,), stds=(1.0,), weights=(1.0,))
    d = T.fit_discriminator(data, fake, steps=600, seed=0)
    x = T.default_grid(0.0, 6.0, 121)
    d_star = T.optimal_discriminator(data.pdf(x), fake.pdf(x))
    assert (d.probability(x) - d_star).abs().mean().item() < 0.08


def test_mean_distance_from_half():
    x = T.default_grid()
    p, q = T.Mixture1D().pdf(x), T.normal_pdf(x, 0.0, 1.0)
    assert T.mean_distance_from_half(x, p, p, T.optimal_discriminator(p, p)) == pytest.approx(0.0, abs=1e-12)
    far = T.mean_distance_from_half(x, p, q, T.optimal_discriminator(p, q))
    assert 0.4 < far <= 0.5  # little overlap: D* is close to 0 or 1 almost everywhere


# ----------------------------------------------------------------- notebook 06's claims, on the notebook's runs

GAP = (3.0, 4.0)  # between the two bumps of the default data


def gap_mass(x, density):
    inside = ((x >= GAP[0]) & (x <= GAP[1])).double()
    return float(torch.trapezoid(density * inside, x))


def test_game_diagnostics_agree_with_q23_and_d_star_is_best():
    run = T.train_toy_gan(T.ToyConfig(steps=200, seed=1))
    for d in T.game_diagnostics(run):
        assert d["mass"] == pytest.approx(1.0, abs=1e-4)  # the run's grid holds every sample
        assert d["v_star"] == pytest.approx(-math.log(4) + 2 * d["jsd"], abs=1e-4)
        assert d["v_trained"] <= d["v_star"] + 1e-9  # D* maximises V for this p_g
        assert 0 <= d["jsd"] <= math.log(2) + 1e-6
    assert T.snapshot_jsd(run) == pytest.approx([d["jsd"] for d in T.game_diagnostics(run)], abs=1e-12)


@pytest.mark.parametrize("steps", [800, 1500])  # quick and full mode of notebook 06
def test_equilibrium_losses_coexist_with_a_generator_that_is_not_the_data(steps):
    """06's worked answer: D's loss ~ log 4 and D ~ 1/2 on the data, while JSD, the gap mass and D* say otherwise."""
    run = T.train_toy_gan(T.ToyConfig(seed=1, steps=steps))
    x, p = run.grid, run.config.data.pdf(run.grid)
    last = T.game_diagnostics(run)[-1]
    floor = T.kde_floor(run.config.data, run.config.n_snapshot, x)
    assert abs(last["d_loss"] - math.log(4)) < 0.03 and abs(-last["v_trained"] - math.log(4)) < 0.03
    assert float(((last["d"] - 0.5).abs() * (p > 0.01)).max()) < 0.06  # D ~ 1/2 wherever the data are
    assert last["jsd"] > 3 * floor  # "several times above the KDE floor"
    assert -last["v_star"] < math.log(4) - 0.1  # "-V(D*, G) well below log 4"
    assert gap_mass(x, last["p_g"]) > 3 * gap_mass(x, p)  # several times the data's mass in the gap
    at = int(torch.argmin((x - 3.5).abs()))
    assert last["d_star"][at] < 0.2 and abs(last["d"][at] - 0.5) < 0.1  # D* dips in the gap, D stays near 1/2


@pytest.mark.parametrize("steps", [800, 1500])
def test_seed_0_jsd_grows_while_the_loss_stays_at_log_4(steps):
    run = T.train_toy_gan(T.ToyConfig(seed=0, steps=steps))
    diag = T.game_diagnostics(run)
    later = [d for d in diag if d["step"] >= 200]
    assert all(abs(d["d_loss"] - math.log(4)) < 0.01 for d in later)
    assert diag[-1]["jsd"] > later[0]["jsd"] + 0.02
    assert gap_mass(run.grid, diag[-1]["p_g"]) > 0.3


def test_count_modes_and_kde_floor():
    x = T.default_grid()
    assert T.count_modes(T.Mixture1D().pdf(x)) == 2
    assert T.count_modes(T.normal_pdf(x, 3.0, 1.0)) == 1
    floor = T.kde_floor(T.Mixture1D(), 2000, x)
    assert 0 < floor < 0.03


@pytest.mark.parametrize("steps", [250, 400])  # the notebook's early-training runs (quick, full)
def test_notebook_sgd_experiment(steps):
    early = T.ToyConfig(seed=1, steps=steps, g_offset=-2.0, d_warmup=200, lr_d=2e-3, g_optimizer="sgd", lr_g=0.05,
                        snapshot_every=10)
    sat = T.train_toy_gan(replace(early, generator_loss="saturating"))
    ns = T.train_toy_gan(replace(early, generator_loss="non-saturating"))
    assert ns.history[0]["g_grad"] > 500 * sat.history[0]["g_grad"]
    assert sat.final["samples"].mean().item() < 0 < 2.5 < ns.final["samples"].mean().item()


def test_generator_gradient_comparison():
    early = T.ToyConfig(seed=1, steps=0, g_offset=-2.0, d_warmup=200, lr_d=2e-3, g_optimizer="sgd", lr_g=0.05)
    start = T.train_toy_gan(early)
    c = T.generator_gradient_comparison(start.generator, start.discriminator)
    assert c["ratio"] > 300 and c["max_d"] < 0.01  # D rejects every fake: the saturating gradient is tiny
    assert 0.9 < c["cosine"] <= 1.0 + 1e-12
    # an independent computation of the saturating gradient from the per-fake weights D(G(z))
    z = torch.randn(64, 4, generator=torch.Generator().manual_seed(3))
    g, d = start.generator, start.discriminator
    c64 = T.generator_gradient_comparison(g, d, z)
    params = list(g.parameters())
    logits = d(g(z))
    weights = torch.sigmoid(logits).detach()  # d/da log(1 - sigmoid(a)) = -D
    manual = torch.autograd.grad((-(weights * logits)).mean(), params)
    norm = torch.cat([m.flatten() for m in manual]).double().norm().item()
    assert norm == pytest.approx(c64["norm_saturating"], rel=1e-4)


def test_disjoint_supports_jsd_is_log_2_and_w1_is_the_shift():
    r = T.disjoint_supports([0.0, 0.25, 1.0, 2.0, 5.0, -3.0])
    assert r["jsd"][0] == 0.0 and r["jsd"][1] == pytest.approx(0.25 * math.log(2))
    assert r["jsd"][2:] == pytest.approx([math.log(2)] * 4)
    assert r["jsd_grid"] == pytest.approx(r["jsd"], abs=2e-3)  # trapezoid rule against the closed form
    assert r["w1"] == [0.0, 0.25, 1.0, 2.0, 5.0, 3.0]
    assert r["w1_scipy"] == pytest.approx(r["w1"], abs=2e-3)  # scipy on the grid's weights


# ----------------------------------------------------------------- the ring of Gaussians

from course_utils.toys import ring as R  # noqa: E402


def test_ring_data_and_mode_counting():
    config = R.RingConfig()
    centres = R.ring_centres(config)
    assert centres.shape == (8, 2) and torch.allclose(centres.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    data = R.sample_ring(config, 8000, torch.Generator().manual_seed(0))
    full = R.modes_captured(data, config)
    assert full["captured"] == 8  # 3 std holds 1 - exp(-9/2) = 98.9% of a 2-D Gaussian:
    assert full["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.005)
    one = R.modes_captured(centres[3].expand(500, 2) + 0.01, config)
    assert one["captured"] == 1 and one["per_mode"][3] and one["counts"][3] == 500
    nowhere = R.modes_captured(torch.zeros(100, 2), config)
    assert nowhere["captured"] == 0 and nowhere["high_quality"] == 0.0
    with pytest.raises(ValueError, match="generator_loss"):
        R.RingConfig(generator_loss="wgan")


def test_ring_training_is_reproducible():
    config = R.RingConfig(steps=60, snapshot_every=20, n_snapshot=300)
    a, b = R.train_ring_gan(config), R.train_ring_gan(config)
    assert [s["step"] for s in a.snapshots] == [0, 20, 40, 60]
    torch.testing.assert_close(a.final["samples"], b.final["samples"])
    assert len(a.history) == 60


@pytest.fixture(scope="module")
def ring_runs():
    """The notebook's two runs in full mode (3000 steps); quick mode's 1500 steps are their first half."""
    return {loss: R.train_ring_gan(R.RingConfig(steps=3000, generator_loss=loss))
            for loss in ("non-saturating", "saturating")}


@pytest.mark.parametrize("steps", [1500, 3000])
def test_notebook_ring_claims(ring_runs, steps):
    """06's worked answer: the non-saturating G covers fewer modes but more precisely, and settles."""
    at = {loss: next(s for s in run.snapshots if s["step"] == steps) for loss, run in ring_runs.items()}
    ns, sat = at["non-saturating"], at["saturating"]
    assert ns["captured"] < sat["captured"]
    assert ns["high_quality"] > sat["high_quality"]
    ns_path = [s["captured"] for s in ring_runs["non-saturating"].snapshots if steps / 2 <= s["step"] <= steps]
    # it settles on its subset of modes: with this machine's kernels the count is constant over the
    # second half; with others (ATEN_CPU_CAPABILITY=default, one thread) it may hop by one mode
    # (4 <-> 5 measured), so the test allows that and no more
    assert max(ns_path) - min(ns_path) <= 1, ns_path
    early = [s for s in ring_runs["saturating"].snapshots if s["step"] <= 300]
    early_ns = [s for s in ring_runs["non-saturating"].snapshots if s["step"] <= 300]
    assert sum(s["captured"] for s in early) <= sum(s["captured"] for s in early_ns)  # starts more slowly


def test_the_two_losses_point_in_different_directions_on_the_ring(ring_runs):
    z = torch.randn(4096, 2, generator=torch.Generator().manual_seed(5))
    for run in ring_runs.values():
        # rescaled gradients would have cosine 1 to round-off; below 0.95 with the default kernels,
        # 0.960 measured with the other kernel set of `make test`
        assert T.generator_gradient_comparison(run.generator, run.discriminator, z)["cosine"] < 0.99


@pytest.mark.parametrize("steps", [250, 400])
def test_notebook_adam_experiment_both_losses_escape(steps):
    """06: 'with Adam the saturating loss's size problem largely disappears' (Adam rescales the steps)."""
    early = T.ToyConfig(seed=1, steps=steps, g_offset=-2.0, d_warmup=200, lr_d=2e-3, g_optimizer="adam", lr_g=1e-3,
                        snapshot_every=10)
    for loss in ("saturating", "non-saturating"):
        run = T.train_toy_gan(replace(early, generator_loss=loss))
        assert run.final["samples"].mean().item() == pytest.approx(run.config.data.mean, abs=0.5)


def test_kde_in_blocks_of_grid_points_equals_all_at_once(monkeypatch):
    """kde evaluates a block of grid points at a time (20 001 points x 2 000 samples at once: 320 MB a
    temporary, which killed notebook 06 beside another notebook on Binder): the same numbers, any shape of x."""
    from course_utils.toys import gan1d

    samples = torch.randn(500, generator=torch.Generator().manual_seed(0))
    x = torch.linspace(-5, 5, 1001, dtype=torch.float64)
    monkeypatch.setattr(gan1d, "KDE_BLOCK_BYTES", 10**12)
    whole = gan1d.kde(samples, x)
    monkeypatch.setattr(gan1d, "KDE_BLOCK_BYTES", 8 * 500 * 7)  # 7 grid points a block, a ragged last one
    assert torch.equal(gan1d.kde(samples, x), whole)
    assert torch.equal(gan1d.kde(samples, x[:1000].reshape(10, 100)), whole[:1000].reshape(10, 100))


def test_d_steps_gives_d_that_many_updates_per_g_update(monkeypatch):
    """ToyConfig.d_steps: d_steps D losses (and updates) per G step; d_steps=1 is the alternating game."""
    calls = []

    def counting(real_logits, fake_logits):
        calls.append(len(real_logits))
        return discriminator_loss(real_logits, fake_logits)

    from course_utils.gan.losses import discriminator_loss

    base = T.ToyConfig(steps=6, snapshot_every=3, batch_size=32, n_snapshot=50)
    monkeypatch.setattr(T, "discriminator_loss", counting)
    one = T.train_toy_gan(base)
    assert len(calls) == 6
    three = T.train_toy_gan(replace(base, d_steps=3))
    assert len(calls) == 6 + 18 and set(calls) == {32}
    assert len(one.history) == len(three.history) == 6  # one history row per G step
    g_one, g_three = dict(one.generator.named_parameters()), dict(three.generator.named_parameters())
    assert any(not torch.equal(g_one[k], g_three[k]) for k in g_one)  # G followed another D
    again = T.train_toy_gan(replace(base, d_steps=3))
    assert all(torch.equal(a, b) for a, b in zip(three.generator.parameters(), again.generator.parameters(),
                                                  strict=True))
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="d_steps"):
            T.ToyConfig(d_steps=bad)
