"""GAN training: a short real run, determinism, the cache, clear errors, NaN and Ctrl-C safety."""
from __future__ import annotations

import pytest
import torch
from conftest import load_offline_fashion

from course_utils.core import checkpoints
from course_utils.core.data import Data, Split
from course_utils.core.training import NonFiniteLossError
from course_utils.gan.model import GANConfig, build_gan, to_signed
from course_utils.gan.train import GANHistory, load_gan, make_noise, sample, save_gan, train_gan


@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    """The real Fashion-MNIST (offline), loaded once."""
    return load_offline_fashion(tmp_path_factory, pixels="gray")


def random_data(n=256, lo=0.0, hi=1.0, dtype=torch.float32) -> Data:
    g = torch.Generator().manual_seed(0)
    split = lambda k: Split((torch.rand(k, 784, generator=g) * (hi - lo) + lo).to(dtype),  # noqa: E731
                            torch.randint(0, 10, (k,), generator=g))
    return Data("fashion-mnist", split(n), split(32), split(32), "gray", [str(i) for i in range(10)])


def gan_cache_files():
    folder = checkpoints.model_cache_path("x").parent
    return sorted(folder.glob("gan-*.safetensors")) if folder.exists() else []


def mean_d_of_g(generator, discriminator, noise) -> float:
    with torch.no_grad():
        return torch.sigmoid(discriminator(sample(generator, noise))).mean().item()


def test_short_real_run_moves_d_of_g_and_gives_images(fashion):
    # 300 steps: 6400 images, batch 64, 3 epochs
    config = GANConfig(epochs=3, train_size=6400, seed=1)
    noise = make_noise(256, config.latent_dim, seed=123)
    g0, d0 = build_gan(config)  # train_gan starts from exactly these networks
    before = mean_d_of_g(g0, d0, noise)
    g, d, history = train_gan(config, fashion, progress=False)
    after = mean_d_of_g(g, d, noise)

    assert isinstance(history, GANHistory) and len(history) == 3 and history.steps == 300
    assert not history.interrupted and history.stop_reason == "completed"
    assert abs(after - before) > 0.05, (before, after)
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "seconds"):
        assert len(history[key]) == 3
    # the discriminator tells real from fake better than chance, and the record is consistent
    assert history["d_real"][-1] > history["d_fake"][-1]
    assert all(0 < v < 1 for v in history["d_real"] + history["d_fake"])

    images = sample(g, 64, seed=0)
    assert images.shape == (64, 784) and images.min() >= -1 and images.max() <= 1
    assert images.std() > 0.1  # not a constant image
    # samples kept for fixed noise at the start, middle and end
    assert sorted(history.samples) == [0, 1, 3]
    for grid in history.samples.values():
        assert grid.shape == (config.n_samples, 784) and grid.min() >= -1 and grid.max() <= 1
    assert torch.equal(history.samples[3], sample(g, history.noise))
    assert not torch.allclose(history.samples[0], history.samples[3])
    assert not g.training and not d.training

    # the same call again loads the cached run: same weights, history and sample grids
    assert len(gan_cache_files()) == 1
    g2, d2, history2 = train_gan(config, fashion, progress=False)
    for a, b in zip([*g.state_dict().values(), *d.state_dict().values()],
                    [*g2.state_dict().values(), *d2.state_dict().values()], strict=True):
        assert torch.equal(a, b)
    assert history2.epochs == history.epochs
    assert all(torch.equal(history.samples[e], history2.samples[e]) for e in history.samples)
    assert torch.equal(history2.noise, history.noise)


def test_determinism_under_a_seed(fashion):
    config = GANConfig(epochs=2, train_size=640, seed=7, n_samples=4)
    runs = [train_gan(config, fashion, use_cache=False, progress=False) for _ in range(2)]
    (g1, d1, h1), (g2, d2, h2) = runs
    for a, b in zip(g1.state_dict().values(), g2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(d1.state_dict().values(), d2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    strip = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h.epochs]  # noqa: E731
    assert strip(h1) == strip(h2)
    g3, _, h3 = train_gan(GANConfig(epochs=2, train_size=640, seed=8, n_samples=4), fashion,
                          use_cache=False, progress=False)
    assert not torch.equal(g3.net[0].weight, g1.net[0].weight)
    assert gan_cache_files() == []  # use_cache=False writes nothing


SMALL = GANConfig(epochs=2, batch_size=32, latent_dim=16, generator_hidden=(32, 64), discriminator_hidden=(64,),
                  sample_epochs=(0, 1, 2), n_samples=6)


def test_moving_average_of_the_generator(monkeypatch):
    """With ``ema_decay`` the returned generator is the exponential moving average of G's weights and
    BatchNorm buffers after every G step, the sample grids come from it, and training itself is unchanged."""
    import dataclasses

    import course_utils.gan.train as gt

    data = random_data()
    trace = []  # G's state after every step of the ema_decay=0.9 run
    real_make_step = gt.make_step

    def recording_make_step(generator, *args, **kwargs):
        step = real_make_step(generator, *args, **kwargs)

        def recorded(real):
            out = step(real)
            trace.append({k: v.detach().clone() for k, v in generator.state_dict().items()})
            return out
        return recorded

    g_plain, d_plain, h_plain = train_gan(SMALL, data, use_cache=False, progress=False)
    g_zero, d_zero, _ = train_gan(dataclasses.replace(SMALL, ema_decay=0.0), data, use_cache=False,
                                  progress=False)
    monkeypatch.setattr(gt, "make_step", recording_make_step)
    g_avg, d_avg, h_avg = train_gan(dataclasses.replace(SMALL, ema_decay=0.9), data, use_cache=False,
                                    progress=False)
    monkeypatch.undo()
    strip = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h.epochs]  # noqa: E731
    assert strip(h_avg) == strip(h_plain)  # the same game: losses, D(x), D(G(z)) of every epoch
    for d in (d_zero, d_avg):
        assert all(torch.equal(a, b) for a, b in zip(d.state_dict().values(), d_plain.state_dict().values(),
                                                     strict=True))
    # decay 0: the average is the last generator
    assert all(torch.equal(a, b) for a, b in zip(g_zero.state_dict().values(), g_plain.state_dict().values(),
                                                 strict=True))
    # decay 0.9: avg_1 = G_1, avg_t = 0.9 avg_(t-1) + 0.1 G_t, for weights and float buffers alike
    assert len(trace) == 2 * (len(data.train) // 32)
    expected = dict(trace[0])
    for state in trace[1:]:
        expected = {k: 0.9 * expected[k] + 0.1 * v if v.is_floating_point() else v for k, v in state.items()}
    got = g_avg.state_dict()
    for k, v in expected.items():
        if v.is_floating_point():
            torch.testing.assert_close(got[k], v, rtol=1e-5, atol=1e-6)
    last = trace[-1]["net.0.weight"]
    assert (got["net.0.weight"] - last).abs().max() > 1e-3  # the average is not the last generator
    # the grids are the averaged generator's; the one before training is the initial one
    assert torch.equal(h_avg.samples[2], sample(g_avg, h_avg.noise))
    assert torch.equal(h_avg.samples[0], h_plain.samples[0])


def test_saturating_loss_is_a_choice():
    data = random_data()
    _, _, h_ns = train_gan(GANConfig(epochs=1, batch_size=32), data, use_cache=False, progress=False)
    _, _, h_s = train_gan(GANConfig(epochs=1, batch_size=32, generator_loss="saturating"), data,
                          use_cache=False, progress=False)
    assert h_ns["d_loss"] == pytest.approx(h_s["d_loss"], rel=0.5)
    # the saturating loss log(1 - D) is negative, the non-saturating -log D positive
    assert h_s["g_loss"][0] < 0 < h_ns["g_loss"][0]


@pytest.mark.parametrize("lo, hi, dtype, match", [
    (-1.0, 1.0, torch.float32, "look like \\[-1, 1\\] already"),
    (0.0, 255.0, torch.float32, "\\[0, 1\\]"),
    (0.0, 1.0, torch.float64, None),
])
def test_wrong_image_range_is_a_clear_error(lo, hi, dtype, match):
    data = random_data(lo=lo, hi=hi, dtype=dtype)
    if match is None:  # float64 in [0, 1] is fine
        g, _, _ = train_gan(GANConfig(epochs=1, batch_size=64), data, use_cache=False, progress=False)
        assert sample(g, make_noise(2, 100, seed=0).double()).dtype == torch.float32
        return
    with pytest.raises(ValueError, match=match):
        train_gan(GANConfig(epochs=1), data, use_cache=False, progress=False)


def test_uint8_and_nan_images_are_refused():
    data = random_data()
    data.train.images = (data.train.images * 255).to(torch.uint8)
    with pytest.raises(ValueError, match="uint8"):
        train_gan(GANConfig(epochs=1), data, use_cache=False, progress=False)
    data = random_data()
    data.train.images[3, 5] = float("nan")
    with pytest.raises(ValueError, match="nan"):
        train_gan(GANConfig(epochs=1), data, use_cache=False, progress=False)


def test_nan_stops_training_with_the_last_good_state_and_caches_nothing(monkeypatch):
    import course_utils.gan.train as gt

    made = {}

    def build(config):  # see the networks train_gan builds
        made["g"], made["d"] = build_gan(config)
        return made["g"], made["d"]

    monkeypatch.setattr(gt, "build_gan", build)
    kept = {}

    def diverge(epoch, history):  # after epoch 1 the generator's weights become NaN
        if epoch == 1:
            kept.update({k: v.clone() for k, v in made["d"].state_dict().items()})
            with torch.no_grad():
                made["g"].net[0].weight.fill_(float("nan"))

    with pytest.raises(NonFiniteLossError,
                       match="epoch 2.*discriminator loss is nan.*last good state, after epoch 1") as info:
        train_gan(GANConfig(epochs=3, batch_size=32), random_data(), hooks=[diverge], progress=False)
    exc = info.value
    assert len(exc.history) == 1 and exc.generator is made["g"] and exc.discriminator is made["d"]
    # the networks are back at the end of epoch 1 (the NaN came after that epoch's checkpoint)
    for k, v in exc.discriminator.state_dict().items():
        assert torch.equal(v, kept[k]), k
    assert torch.isfinite(exc.generator.net[0].weight).all()
    assert gan_cache_files() == []


def test_ctrl_c_returns_the_networks_and_caches_nothing():
    data = random_data()

    def stop(epoch, history):
        if epoch == 2:
            raise KeyboardInterrupt

    g, _, history = train_gan(GANConfig(epochs=5, batch_size=32), data, hooks=[stop], progress=False)
    assert history.interrupted and len(history) == 2
    assert sample(g, 3, seed=0).shape == (3, 784)
    assert gan_cache_files() == []


def test_save_load_and_mismatched_checkpoint(tmp_path):
    config = GANConfig(latent_dim=100)
    g, d = build_gan(config)
    path = tmp_path / "gan.safetensors"
    save_gan(path, g, d)
    g2, d2, meta = load_gan(path)
    noise = make_noise(4, 100, seed=0)
    assert torch.equal(sample(g2, noise), sample(g, noise))
    assert meta["config"]["latent_dim"] == 100
    with pytest.raises(checkpoints.CheckpointError, match="latent_dim: checkpoint 100 vs model 64"):
        load_gan(path, GANConfig(latent_dim=64))
    with pytest.raises(checkpoints.CheckpointError, match="generator_hidden"):
        load_gan(path, GANConfig(generator_hidden=(128, 256)))
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(checkpoints.CheckpointError, match="not a readable checkpoint"):
        load_gan(path)


def test_training_data_are_scaled_to_the_tanh_range():
    x = torch.tensor([[0.0, 0.5, 1.0]])
    assert torch.equal(to_signed(x), torch.tensor([[-1.0, 0.0, 1.0]]))


def test_train_gan_feeds_the_discriminator_real_images_in_minus_one_to_one(monkeypatch):
    """[0, 1] training data reach D scaled to [-1, 1] (to_signed applied once), the range of G's tanh."""
    import course_utils.gan.train as gt

    config = GANConfig(epochs=1, batch_size=32)
    data = random_data(n=128)  # pixels uniform in [0, 1]
    seen = []

    def build(config):  # the networks train_gan builds, with D's inputs recorded
        generator, discriminator = build_gan(config)
        discriminator.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
        return generator, discriminator

    monkeypatch.setattr(gt, "build_gan", build)
    train_gan(config, data, use_cache=False, progress=False)
    # each step shows D the reals and the fakes as one batch (reals first), then the fakes alone
    joint = [x for x in seen if len(x) == 2 * config.batch_size]
    assert len(joint) == 128 // config.batch_size  # one per step of the epoch
    reals = torch.cat([x[:config.batch_size] for x in joint])
    assert reals.min() >= -1 and reals.max() <= 1
    assert reals.min() < -0.5 and reals.max() > 0.5  # spans [-1, 1], not [0, 1]
    # exactly the training images, each once per epoch, mapped by x -> 2x - 1
    expected = to_signed(data.train.images)
    assert torch.equal(reals[reals[:, 0].argsort()], expected[expected[:, 0].argsort()])
