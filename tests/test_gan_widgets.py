"""The GAN widgets' callbacks work without a browser (set a control's value, read the result).

How fast they are is a benchmark target, not a test: benchmarks/bench_widgets.py.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from course_utils.gan.interpolation import lerp, slerp
from course_utils.gan.model import GANConfig, Generator, to_unit
from course_utils.gan.train import sample
from course_utils.toys.gan1d import ToyConfig, train_toy_gan
from course_utils.widgets import gan as GW

# ----------------------------------------------------------------- 07: interpolation

@pytest.fixture(scope="module")
def small_generator():
    torch.manual_seed(0)
    return Generator(GANConfig(latent_dim=8, generator_hidden=(16, 32, 32, 64))).eval()


def make_explorer(generator, steps=9):
    z0, z1 = torch.randn(3, 8, generator=torch.Generator().manual_seed(1)), \
        torch.randn(3, 8, generator=torch.Generator().manual_seed(2))
    decode = lambda z: to_unit(sample(generator, z))  # noqa: E731
    return GW.InterpolationExplorer(decode, z0, z1, steps=steps), decode, z0, z1


def test_interpolation_slider_decodes_the_point_on_the_path(small_generator):
    explorer, decode, z0, z1 = make_explorer(small_generator)
    assert explorer.result["t"] == 0.0
    torch.testing.assert_close(explorer.result["z"], z0[0])
    explorer.position.value = 3
    torch.testing.assert_close(explorer.result["z"], lerp(z0[0], z1[0], 9)[3])
    torch.testing.assert_close(explorer.result["image"], decode(lerp(z0[0], z1[0], 9)[3:4]).reshape(28, 28))
    assert explorer.result["t"] == pytest.approx(3 / 8)
    explorer.position.value = 8
    torch.testing.assert_close(explorer.result["z"], z1[0])


def test_interpolation_pair_and_method_choice(small_generator):
    explorer, decode, z0, z1 = make_explorer(small_generator)
    explorer.pair.value = 2
    explorer.method.value = "spherical"
    explorer.position.value = 4
    torch.testing.assert_close(explorer.result["z"], slerp(z0[2], z1[2], 9)[4])
    assert explorer.strip.value[:4] == b"\x89PNG"
    # the straight line's midpoint is shorter than the arc's (what the label shows)
    explorer.method.value = "linear"
    assert explorer.result["norm"] < slerp(z0[2], z1[2], 9)[4].norm().item()


def test_interpolation_image_changes_with_one_step_and_has_css_hooks(small_generator):
    explorer, *_ = make_explorer(small_generator)
    assert GW.SLIDER_CLASS in explorer.position._dom_classes
    assert GW.IMAGE_CLASS in explorer.image._dom_classes
    assert explorer.image.layout.width == "224px"
    before = explorer.image.value
    assert before[:8] == b"\x89PNG\r\n\x1a\n"
    explorer.position.value = explorer.position.value + 1  # one key press
    assert explorer.image.value != before


def test_interpolation_with_the_real_generator_size():
    generator = Generator(GANConfig()).eval()  # the assignment's size: 100 -> ... -> 1024 -> 784
    z = torch.randn(2, 2, 100, generator=torch.Generator().manual_seed(0))
    explorer = GW.InterpolationExplorer(lambda v: to_unit(sample(generator, v)), z[0], z[1], steps=15)
    for i in (1, 7):
        explorer.position.value = i
        torch.testing.assert_close(explorer.result["z"], lerp(z[0, 0], z[1, 0], 15)[i])
        assert explorer.result["image"].shape == (28, 28)


def test_interpolation_rejects_bad_inputs(small_generator):
    with pytest.raises(ValueError, match="shape"):
        GW.InterpolationExplorer(lambda z: z, torch.zeros(8), torch.zeros(8))
    with pytest.raises(IndexError):
        GW.interpolation_frame(lambda z: torch.zeros(1, 784), torch.zeros(4), torch.ones(4), 5, 5)


# ----------------------------------------------------------------- 06: the toy GAN

@pytest.fixture(scope="module")
def fast_trainer():
    calls = []

    def trainer(config):
        calls.append(config)
        return train_toy_gan(replace(config, steps=40, snapshot_every=10, batch_size=64, n_snapshot=300))

    trainer.calls = calls
    return trainer


def test_toy_explorer_trains_once_per_setting_and_slides_through_snapshots(fast_trainer):
    explorer = GW.ToyGANExplorer(ToyConfig(), trainer=fast_trainer)
    n_calls = len(fast_trainer.calls)
    assert explorer.step.max == len(explorer.run.snapshots) - 1 == 4
    assert explorer.result["step"] == 40
    explorer.step.value = 1
    assert explorer.result["step"] == 10
    assert len(explorer.result["d_fake"]) == 10
    explorer.loss.value = "saturating"
    assert fast_trainer.calls[-1].generator_loss == "saturating"
    explorer.loss.value = "non-saturating"  # back to a setting already trained: no new training
    assert len(fast_trainer.calls) == n_calls + 1
    explorer.lr_g.value = 1e-2
    assert fast_trainer.calls[-1].lr_g == 1e-2
    explorer.optimizer.value = "sgd"
    assert fast_trainer.calls[-1].g_optimizer == "sgd"
    explorer.d_steps.value = 5
    assert fast_trainer.calls[-1].d_steps == 5 and explorer.config.d_steps == 5
    assert explorer.image.value[:4] == b"\x89PNG"


def test_toy_frame_histogram_is_a_density(fast_trainer):
    run = fast_trainer(ToyConfig())
    frame = GW.toy_frame(run, len(run.snapshots) - 1)
    widths = frame["edges"][1:] - frame["edges"][:-1]
    assert float((frame["density"] * widths).sum()) == pytest.approx(1.0, abs=1e-6)
    assert frame["d"].min() >= 0 and frame["d"].max() <= 1
    with pytest.raises(IndexError):
        GW.toy_frame(run, 99)


def test_toy_explorer_redraw_follows_the_step_slider(fast_trainer):
    explorer = GW.ToyGANExplorer(ToyConfig(), trainer=fast_trainer)
    for i in (0, 3, 2):
        explorer.step.value = i
        assert explorer.result["step"] == explorer.run.snapshots[i]["step"]


def test_toy_explorer_reuses_a_run_trained_in_the_notebook(fast_trainer):
    base = ToyConfig(seed=3, steps=40, snapshot_every=10, batch_size=64, n_snapshot=300)
    run, other = train_toy_gan(base), train_toy_gan(replace(base, seed=4))
    n_calls = len(fast_trainer.calls)
    explorer = GW.ToyGANExplorer(base, trainer=fast_trainer, runs=(run, other))
    assert explorer.run is run  # the seed-4 run differs in more than the controls: not used
    assert len(fast_trainer.calls) == n_calls  # nothing trained by the explorer


def test_toy_explorer_shows_each_snapshots_jsd(fast_trainer):
    from course_utils.toys.gan1d import snapshot_jsd

    explorer = GW.ToyGANExplorer(ToyConfig(), trainer=fast_trainer)
    expected = snapshot_jsd(explorer.run)
    for i in (0, 2, 4):
        explorer.step.value = i
        assert explorer.result["jsd"] == pytest.approx(expected[i], abs=1e-12)
        assert f"{expected[i]:.3f} nats" in explorer.label.value
    assert GW.toy_frame(explorer.run, 1)["jsd"] == pytest.approx(expected[1], abs=1e-12)  # computed when not given


# ----------------------------------------------------------------- 06: mode collapse on the ring

@pytest.fixture(scope="module")
def ring_runs():
    from course_utils.toys.ring import RingConfig, train_ring_gan

    base = RingConfig(steps=60, snapshot_every=20, n_snapshot=400)
    return {"non-saturating loss": train_ring_gan(base),
            "saturating loss": train_ring_gan(replace(base, generator_loss="saturating"))}


def test_ring_explorer_switches_loss_and_step(ring_runs):
    explorer = GW.RingExplorer(ring_runs)
    assert explorer.loss.options == ("non-saturating loss", "saturating loss")
    assert explorer.result["step"] == 60 and explorer.image.value[:4] == b"\x89PNG"
    explorer.step.value = 1
    ns = ring_runs["non-saturating loss"].snapshots[1]
    assert explorer.result["step"] == 20 and explorer.result["captured"] == ns["captured"]
    assert explorer.result["samples"].shape == (400, 2)
    explorer.loss.value = "saturating loss"
    sat = ring_runs["saturating loss"].snapshots[1]
    assert explorer.result["step"] == 20  # the step is kept when the loss changes
    assert explorer.result["samples"] == pytest.approx(sat["samples"].numpy())
    assert f"{sat['captured']} of 8 modes" in explorer.label.value
    assert explorer.result["captured_so_far"] == [s["captured"] for s in ring_runs["saturating loss"].snapshots[:2]]


def test_ring_frame_and_errors(ring_runs):
    run = ring_runs["non-saturating loss"]
    frame = GW.ring_frame(run, 0)
    assert frame["step"] == 0 and len(frame["per_mode"]) == 8 and frame["captured"] == sum(frame["per_mode"])
    with pytest.raises(IndexError):
        GW.ring_frame(run, 99)
    with pytest.raises(ValueError, match="at least one run"):
        GW.RingExplorer({})
    from course_utils.toys.ring import RingConfig, train_ring_gan

    other = train_ring_gan(RingConfig(steps=40, snapshot_every=20, n_snapshot=50))
    with pytest.raises(ValueError, match="same snapshots"):
        GW.RingExplorer({"a": run, "b": other})
