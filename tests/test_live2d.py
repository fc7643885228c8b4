"""The model side of notebook 06's live 2-D GAN view (course_utils.toys.live2d): one step is the course's GAN
step, a frame is computed from the current networks, controls act from the next step, reset restores the seed."""
from __future__ import annotations

import copy
import itertools
import math

import pytest
import torch

from course_utils.gan.losses import discriminator_loss, generator_loss
from course_utils.toys import live2d
from course_utils.toys.live2d import GameSettings, LiveGame

pytestmark = pytest.mark.usefixtures("one_thread")


def small(**changes) -> LiveGame:
    return LiveGame(GameSettings(hidden=16, batch_size=32, **changes), n_show=40, grid=9)


def params(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("loss", ["non-saturating", "saturating"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_one_step_is_the_courses_gan_step(loss, optimizer):
    """d_steps D updates with discriminator_loss, then one G update with generator_loss, on the game's draws."""
    game = small(generator_loss=loss, optimizer=optimizer, d_steps=2)
    twin = copy.deepcopy(game)
    game.step()
    d, g, rng = twin.discriminator, twin.generator, twin.rng
    for _ in range(2):
        real = live2d.sample_data("ring", 32, rng)
        z = torch.randn(32, 2, generator=rng)
        twin.opt_d.zero_grad()
        discriminator_loss(d(real).squeeze(-1), d(g(z).detach()).squeeze(-1)).backward()
        twin.opt_d.step()
    z = torch.randn(32, 2, generator=rng)
    twin.opt_g.zero_grad()
    generator_loss(d(g(z)).squeeze(-1), loss).backward()
    twin.opt_g.step()
    for a, b in zip(params(game.discriminator) + params(game.generator), params(d) + params(g), strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-6)
    assert game.steps == 1 and set(game.history[0]) == {"step", "d_loss", "g_loss"}
    assert not torch.equal(params(game.generator)[0], params(small().generator)[0])  # G did move


def test_a_frame_is_computed_from_the_current_networks():
    game = small(generator_loss="saturating")
    game.step(3)
    frame = game.frame()
    with torch.no_grad():
        fake = game.generator(game.fixed_noise)
        heat = torch.sigmoid(game.discriminator(game.grid_points())).reshape(9, 9)
    assert torch.equal(frame["fake"], fake) and torch.equal(frame["heat"], heat)
    assert frame["real"].shape == (40, 2) and frame["latent_lines"].shape == (18, 41, 2)
    # the arrow of fake sample i: -d/dx_i of that sample's own saturating loss log(1 - D(x_i))
    i = 7
    x = fake[i:i + 1].clone().requires_grad_(True)
    torch.log1p(-torch.sigmoid(game.discriminator(x))).sum().backward()
    assert torch.allclose(frame["arrows"][i], -x.grad[0], rtol=1e-5, atol=1e-7)
    assert frame["modes"]["n_modes"] == 8 and len(frame["history"]) == 3


def test_the_two_losses_push_a_confidently_rejected_sample_with_different_force():
    """Q2.4 in the arrows: where D(x) is tiny the saturating loss's push all but vanishes, the other's does not."""
    game = small()
    with torch.no_grad():
        game.discriminator[-1].bias.fill_(-8.0)  # D(x) ~ 3e-4 everywhere: every fake rejected
    fake = game.frame()["fake"]
    strong = game.loss_directions(fake).norm(dim=1)
    game.update(generator_loss="saturating")
    weak = game.loss_directions(fake).norm(dim=1)
    assert (weak < 1e-2 * strong).all()


def test_controls_act_from_the_next_step():
    game = small()
    game.step()
    before_d = game.opt_d.state_dict()["state"][0]["step"].item()
    game.update(d_steps=4, lr_d=5e-3, lr_g=1e-4)
    assert game.opt_d.param_groups[0]["lr"] == 5e-3 and game.opt_g.param_groups[0]["lr"] == 1e-4
    game.step()
    assert game.opt_d.state_dict()["state"][0]["step"].item() == before_d + 4  # four D updates this time
    game.update(optimizer="sgd")
    assert isinstance(game.opt_d, torch.optim.SGD) and game.steps == 2  # the game goes on, with a new optimiser
    with pytest.raises(ValueError, match="d_steps=6"):
        game.update(d_steps=6)
    with pytest.raises(ValueError, match="lr_g"):
        game.update(lr_g=0)


def test_reset_restores_the_seeds_initial_state():
    fresh = small(seed=3)
    game = small(seed=3)
    game.step(5)
    game.reset()
    assert game.steps == 0 and game.history == []
    for a, b in zip(params(game.generator) + params(game.discriminator),
                    params(fresh.generator) + params(fresh.discriminator), strict=True):
        assert torch.equal(a, b)
    game.step(2)
    fresh.step(2)
    assert torch.equal(game.frame()["fake"], fresh.frame()["fake"])  # the same draws again
    game.update(seed=4)  # a new seed starts over
    assert game.steps == 0 and not torch.equal(params(game.generator)[0], params(fresh.generator)[0])


@pytest.mark.parametrize("name", live2d.DATASETS)
def test_the_data_sets_and_their_modes(name):
    centres, weights = live2d.data_centres(name)
    x = live2d.sample_data(name, 4000, torch.Generator().manual_seed(0))
    modes = live2d.modes_captured(x, name)
    assert modes["captured"] == len(centres) and abs(float(weights.sum()) - 1) < 1e-12
    one = live2d.modes_captured(centres[:1].float().repeat(100, 1), name)
    assert one["captured"] == 1 and one["per_mode"][0]


def test_the_datas_bin_probabilities_are_exact():
    """Exact bin masses (Gaussian CDFs) against a large sample's histogram; outside mass in the last bin."""
    edges = torch.linspace(-3, 3, 13, dtype=torch.float64)
    for name in live2d.DATASETS:
        p = live2d.data_bin_probabilities(name, edges)
        assert p.shape == (145,) and abs(float(p.sum()) - 1) < 1e-12 and (p >= 0).all()
        x = live2d.sample_data(name, 400_000, torch.Generator().manual_seed(1))
        assert (live2d.histogram_probabilities(x, edges) - p).abs().max() < 4e-3
    # a point mass outside the lattice lands in the last bin; one at (-2.9, -2.9) in bin 0
    q = live2d.histogram_probabilities(torch.tensor([[5.0, 0.0], [-2.9, -2.9]]), edges)
    assert q[-1] == 0.5 and q[0] == 0.5


def test_binned_jsd_and_its_bounds():
    p = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=torch.float64)
    assert live2d.binned_jsd(p, p) == 0.0
    assert live2d.binned_jsd(p, p.flip(0)) == pytest.approx(math.log(2), abs=1e-12)  # disjoint: log 2
    q = torch.tensor([0.25, 0.25, 0.25, 0.25], dtype=torch.float64)
    m = 0.5 * (p + q)
    by_hand = 0.5 * float((p[:2] * (p[:2] / m[:2]).log()).sum()) + 0.5 * float((q * (q / m).log()).sum())
    assert live2d.binned_jsd(p, q) == pytest.approx(by_hand, rel=1e-12)
    assert live2d.binned_jsd(p, q) == pytest.approx(live2d.binned_jsd(q, p), rel=1e-12)


def test_w1_matched_is_the_optimal_matching():
    a = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    assert live2d.w1_matched(a, a.flip(0)) == 0.0  # the same set in another order
    assert live2d.w1_matched(a, a + torch.tensor([0.0, 3.0])) == pytest.approx(3.0)  # a shift moves every point
    b = torch.tensor([[1.0, 0.1], [0.0, 0.1]])  # the greedy first match would cost more
    assert live2d.w1_matched(a, b) == pytest.approx(0.1)
    x = torch.randn(7, 2, generator=torch.Generator().manual_seed(0))
    y = torch.randn(7, 2, generator=torch.Generator().manual_seed(1))
    x64, y64 = x.double(), y.double()
    best = min(float((x64 - y64[list(perm)]).norm(dim=1).mean()) for perm in itertools.permutations(range(7)))
    assert live2d.w1_matched(x, y) == pytest.approx(best, rel=1e-9)
    with pytest.raises(ValueError, match="same size"):
        live2d.w1_matched(x, y[:3])


def test_measure_uses_the_current_generator_and_the_floors_the_data():
    game = small()
    row = game.measure()
    with torch.no_grad():
        many = game.generator(game.jsd_noise)
        fake = game.generator(game.fixed_noise)
    assert row["jsd"] == live2d.binned_jsd(game.data_bins, live2d.histogram_probabilities(many, game.edges))
    assert row["w1"] == live2d.w1_matched(game.real_shown[:game.n_w1], fake[:game.n_w1])
    assert game.measure() == row and len(game.metrics) == 1  # measured twice at one step: one row
    game.step(2)
    game.measure()
    assert [m["step"] for m in game.metrics] == [0, 2] and game.frame()["metrics"] == game.metrics
    # the floors are the same estimates for data samples: far below an untrained G's distance
    assert game.floors["jsd"] < 0.1 * row["jsd"] and game.floors["w1"] < row["w1"]
