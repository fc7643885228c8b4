"""Latent paths (linear and spherical), decoding them, and the GAN's figures."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils.gan.figures import history_figure, interpolation_figure, snapshots_figure  # noqa: E402
from course_utils.gan.interpolation import interpolate, latent_path, lerp, random_pairs, slerp  # noqa: E402
from course_utils.gan.model import GANConfig, Generator  # noqa: E402
from course_utils.gan.train import GANHistory, sample  # noqa: E402


def test_lerp_is_evenly_spaced_and_hits_both_ends():
    z0, z1 = torch.tensor([0.0, 2.0]), torch.tensor([4.0, -2.0])
    path = lerp(z0, z1, 5)
    assert path.shape == (5, 2)
    assert torch.allclose(path, torch.tensor([[0.0, 2.0], [1.0, 1.0], [2.0, 0.0], [3.0, -1.0], [4.0, -2.0]]))


def test_slerp_follows_the_arc():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(100, generator=g), torch.randn(100, generator=g)
    z1 = z1 * z0.norm() / z1.norm()  # two points on one sphere
    path = slerp(z0, z1, 9)
    assert torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    assert torch.allclose(path.norm(dim=1), z0.norm().expand(9), rtol=1e-5)  # stays on the sphere
    angles = [math.acos(torch.nn.functional.cosine_similarity(path[i], path[i + 1], dim=0).clamp(-1, 1).item())
              for i in range(8)]
    assert max(angles) - min(angles) < 1e-3  # equal angular steps
    # the straight line cuts through the inside of the sphere instead
    assert lerp(z0, z1, 9)[4].norm() < 0.9 * z0.norm()


def test_slerp_of_parallel_vectors_is_the_straight_line():
    z0 = torch.tensor([1.0, 2.0, 3.0])
    assert torch.allclose(slerp(z0, 2 * z0, 4), lerp(z0, 2 * z0, 4))
    assert torch.isfinite(slerp(z0, z0.clone(), 4)).all()


def test_batched_paths_and_errors():
    z0, z1 = random_pairs(3, 10, seed=1)
    for method in ("linear", "spherical"):
        path = latent_path(z0, z1, 7, method)
        assert path.shape == (3, 7, 10)
        assert torch.allclose(path[:, 0], z0, atol=1e-5) and torch.allclose(path[:, -1], z1, atol=1e-5)
        assert torch.allclose(path[1], latent_path(z0[1], z1[1], 7, method), atol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        lerp(z0, z1[:, :5], 5)
    with pytest.raises(ValueError, match="at least 2"):
        slerp(z0, z1, 1)
    with pytest.raises(ValueError, match="unknown interpolation method"):
        latent_path(z0, z1, 5, "cubic")


def test_interpolate_with_a_generator_or_any_decoder():
    g = Generator(GANConfig(latent_dim=12))
    z0, z1 = random_pairs(4, 12, seed=0)
    images = interpolate(g, z0, z1, steps=7, method="spherical")
    assert images.shape == (4, 7, 784) and images.min() >= -1 and images.max() <= 1
    assert torch.allclose(images[2, 0], sample(g, z0[2:3])[0], atol=1e-6)
    doubled = interpolate(lambda z: z * 2, z0[0], z1[0], steps=3)
    assert torch.allclose(doubled, 2 * lerp(z0[0], z1[0], 3))


def test_figures(tmp_path):
    from PIL import Image

    from course_utils.core.plots import image_grid, save_figure
    from course_utils.gan.losses import LOG_4

    def shown(ax) -> torch.Tensor:
        (image,) = ax.images
        return torch.as_tensor(image.get_array().data).float()

    g = Generator(GANConfig(latent_dim=12))
    fig = interpolation_figure(g, n_pairs=3, steps=7, method="spherical")
    assert "3 pairs, 7 steps" in fig.axes[0].get_title() and "Spherical" in fig.axes[0].get_title()
    # one row of 7 tiles per pair: the decoded path from z0 (left) to z1 (right), [-1, 1] shown as [0, 1]
    z0, z1 = random_pairs(3, 12, seed=0)
    drawn = shown(fig.axes[0])
    assert drawn.shape == (3 * 30 + 2, 7 * 30 + 2)
    expected = image_grid(interpolate(g, z0, z1, steps=7, method="spherical").reshape(-1, 784), nrow=7,
                          value_range=(-1, 1))
    torch.testing.assert_close(drawn, expected)
    first_tile, last_tile = drawn[2:30, 2:30], drawn[2:30, 6 * 30 + 2:7 * 30]
    torch.testing.assert_close(first_tile, (sample(g, z0[:1])[0].reshape(28, 28) + 1) / 2, atol=1e-6, rtol=0)
    torch.testing.assert_close(last_tile, (sample(g, z1[:1])[0].reshape(28, 28) + 1) / 2, atol=1e-6, rtol=0)
    assert drawn.std() > 0.01 and not torch.equal(first_tile, last_tile)
    save_figure(fig, tmp_path / "interpolation.png")
    with Image.open(tmp_path / "interpolation.png") as img:
        assert img.format == "PNG" and img.width > img.height > 50
    plt.close(fig)
    with pytest.raises(ValueError, match="latent_dim"):
        interpolation_figure(lambda z: z)

    grids = {e: sample(g, 25, seed=e) for e in (0, 5, 10)}
    fig = snapshots_figure(grids)
    assert [ax.get_title() for ax in fig.axes] == ["before training", "after epoch 5", "after epoch 10"]
    assert fig.get_suptitle() == "GAN samples for fixed noise during training"
    for ax, epoch in zip(fig.axes, (0, 5, 10), strict=True):  # 25 samples: 5 x 5 tiles, each epoch's own
        torch.testing.assert_close(shown(ax), image_grid(grids[epoch], nrow=5, value_range=(-1, 1)))
        assert shown(ax).shape == (5 * 30 + 2, 5 * 30 + 2)
    assert not torch.equal(shown(fig.axes[0]), shown(fig.axes[1]))
    plt.close(fig)

    history = GANHistory(epochs=[{"epoch": e, "d_loss": 1.2 + e / 10, "g_loss": 0.9, "d_real": 0.6, "d_fake": 0.4}
                                 for e in (1, 2, 3)])
    fig = history_figure(history)
    assert len(fig.axes) == 2 and "nats" in fig.axes[0].get_ylabel()
    losses, outputs = fig.axes
    assert [losses.get_title(), outputs.get_title()] == ["Losses", "Discriminator outputs"]
    assert losses.get_xlabel() == outputs.get_xlabel() == "epoch" and fig.get_suptitle() == "GAN training"
    curves = {line.get_label(): list(line.get_ydata()) for line in losses.lines}
    assert curves["discriminator loss  -V(D, G)"] == pytest.approx([1.3, 1.4, 1.5])
    assert curves["generator loss"] == pytest.approx([0.9] * 3)
    assert curves["log 4 (D loss at the optimum)"] == pytest.approx([LOG_4, LOG_4])
    d = {line.get_label(): list(line.get_ydata()) for line in outputs.lines}
    assert d["mean D(x), real images"] == pytest.approx([0.6] * 3)
    assert d["mean D(G(z)), fakes"] == pytest.approx([0.4] * 3)
    assert d["1/2 (the optimum)"] == pytest.approx([0.5, 0.5]) and outputs.get_ylim() == (0, 1)
    plt.close(fig)
