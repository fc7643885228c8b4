"""The GAN's networks: the assignment's architecture, shapes and ranges, clear errors, eval-mode sampling."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from course_utils.gan.model import Discriminator, GANConfig, Generator, build_gan, to_signed, to_unit
from course_utils.gan.train import make_noise, sample


def layer_types(module: nn.Module) -> list[str]:
    return [type(m).__name__ for m in module.net]


def test_config_defaults_are_the_assignments():
    c = GANConfig()
    assert (c.latent_dim, c.lr, c.betas, c.batch_size, c.seed) == (100, 2e-4, (0.5, 0.999), 64, 0)
    assert c.generator_loss == "non-saturating"
    assert c.generator_hidden == (128, 256, 512, 1024) and c.discriminator_hidden == (512, 256)
    assert GANConfig.from_dict(c.to_dict()) == c
    assert GANConfig(epochs=10).snapshot_epochs == (0, 5, 10)
    with pytest.raises(ValueError, match="generator_loss"):
        GANConfig(generator_loss="hinge")
    with pytest.raises(ValueError, match="latent_dim"):
        GANConfig(latent_dim=0)


def test_moving_average_setting():
    assert GANConfig().ema_decay is None  # the assignment samples from the trained generator
    # absent from the record unless set: runs without it keep their records and cache keys
    assert sorted(GANConfig().to_dict()) == sorted(
        ["latent_dim", "generator_hidden", "discriminator_hidden", "negative_slope", "lr", "betas", "batch_size",
         "epochs", "seed", "generator_loss", "train_size", "sample_epochs", "n_samples", "precision"])
    c = GANConfig(ema_decay=0.999)
    assert c.to_dict()["ema_decay"] == 0.999 and GANConfig.from_dict(c.to_dict()) == c
    assert GANConfig(ema_decay=0.0).ema_decay == 0.0
    for bad in (1.0, -0.1, float("nan"), 1.5):
        with pytest.raises(ValueError, match=r"GANConfig.ema_decay must be None .* in \[0, 1\)"):
            GANConfig(ema_decay=bad)


def test_architecture():
    g, d = build_gan(GANConfig())
    assert layer_types(g) == ["Linear", "LeakyReLU",
                              "Linear", "BatchNorm1d", "LeakyReLU",
                              "Linear", "BatchNorm1d", "LeakyReLU",
                              "Linear", "BatchNorm1d", "LeakyReLU",
                              "Linear", "Tanh"]
    assert [m.out_features for m in g.net if isinstance(m, nn.Linear)] == [128, 256, 512, 1024, 784]
    assert layer_types(d) == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear"]
    assert [m.out_features for m in d.net if isinstance(m, nn.Linear)] == [512, 256, 1]
    assert all(m.negative_slope == 0.2 for m in [*g.net, *d.net] if isinstance(m, nn.LeakyReLU))


def test_shapes_and_ranges():
    g, d = build_gan(GANConfig(latent_dim=8))
    x = g(torch.randn(5, 8))
    assert x.shape == (5, 784) and x.min() >= -1 and x.max() <= 1
    assert d(x).shape == (5,)
    assert torch.equal(d(x.reshape(5, 1, 28, 28)), d(x))


def test_wrong_latent_size_is_a_clear_error():
    g = Generator(GANConfig(latent_dim=100))
    with pytest.raises(ValueError, match=r"latent_dim=100.*\(3, 64\)"):
        g(torch.randn(3, 64))
    with pytest.raises(ValueError, match="latent_dim=100"):
        sample(g, torch.randn(3, 64))
    with pytest.raises(ValueError, match="784"):
        Discriminator()(torch.randn(3, 100))


def test_same_seed_same_network_different_seed_different():
    a, b, c = Generator(GANConfig(seed=3)), Generator(GANConfig(seed=3)), Generator(GANConfig(seed=4))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.net[0].weight, c.net[0].weight)
    # the networks do not depend on (or disturb) the global random state
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    Discriminator(GANConfig(seed=9))
    assert torch.equal(torch.rand(1), before)


def _trained_bn_generator() -> Generator:
    g = Generator(GANConfig(latent_dim=16))
    g.train()
    with torch.no_grad():  # move the BatchNorm running statistics away from their initial values
        for _ in range(5):
            g(torch.randn(32, 16) * 3 + 1)
    return g


def test_eval_mode_sampling_is_deterministic_for_fixed_noise():
    g = _trained_bn_generator()
    noise = make_noise(10, 16, seed=1)
    first, second = sample(g, noise), sample(g, noise)
    assert torch.equal(first, second)
    # in eval mode an image does not depend on the other images in its batch ...
    assert torch.allclose(sample(g, noise[:1]), first[:1], atol=1e-6)
    assert torch.allclose(sample(g, noise[3:7]), first[3:7], atol=1e-6)
    # ... whereas in train mode BatchNorm uses the batch's statistics
    g.train()
    with torch.no_grad():
        assert not torch.allclose(g(noise[:4])[0], g(noise)[0], atol=1e-3)
    assert g.training  # sample() restored the mode it found
    sample(g, noise)
    assert g.training
    # a number of images with a seed is reproducible too
    assert torch.equal(sample(g, 6, seed=5), sample(g, 6, seed=5))
    assert sample(g, 6, seed=5).shape == (6, 784)


def test_pixel_range_conversions_are_inverse():
    x = torch.rand(4, 784)
    assert torch.allclose(to_unit(to_signed(x)), x)
    assert to_signed(torch.zeros(1)).item() == -1 and to_unit(torch.ones(1) * -1).item() == 0
