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
    a, b = T.train_toy_gan(config), T.train_toy_gan(config)
    assert [s["step"] for s in a.snapshots] == [0, 20, 40, 60]
    assert len(a.history) == 60
    torch.testing.assert_close(a.final["samples"], b.final["samples"])
    assert set(a.history[0]) == {"d_loss", "g_loss", "d_real", "d_fake", "g_grad"}
    assert torch.get_num_threads() >= 1  # the single-thread block restored the setting


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
