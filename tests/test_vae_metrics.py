"""Bits per dimension, rate/distortion and active units, and the aggregate posterior's cell masses and scatter."""
from __future__ import annotations

import math

import matplotlib
import pytest
import torch

from course_utils.vae import VAE, VAEConfig, aggregate_posterior_cells, bits_per_dim, kl_per_dimension, latent_usage
from course_utils.vae.losses import kl_std_normal
from course_utils.vae.train import elbo

matplotlib.use("Agg")
pytestmark = pytest.mark.usefixtures("one_thread")


def test_bits_per_dim_is_the_conversion_of_nats_per_image():
    assert bits_per_dim(-784 * math.log(2)) == pytest.approx(1.0)
    assert bits_per_dim(-235.0) == pytest.approx(235.0 / (784 * math.log(2)))
    assert bits_per_dim(-10.0, dims=10) == pytest.approx(1 / math.log(2))
    torch.testing.assert_close(bits_per_dim(torch.tensor([-100.0, -200.0])),
                               torch.tensor([100.0, 200.0]) / (784 * math.log(2)))
    with pytest.raises(ValueError):
        bits_per_dim(-1.0, dims=0)


def test_kl_per_dimension_sums_to_the_loss_kl():
    g = torch.Generator().manual_seed(0)
    mu, sigma = torch.randn(6, 5, generator=g), torch.rand(6, 5, generator=g) + 0.2
    torch.testing.assert_close(kl_per_dimension(mu, sigma).sum(-1), kl_std_normal(mu, sigma))
    assert (kl_per_dimension(mu, sigma) >= 0).all()


def test_latent_usage_finds_a_unit_the_encoder_does_not_use():
    """Make coordinate 2 of q(z|x) the prior for every x: its KL and activity are 0, and it is counted inactive."""
    model = VAE(VAEConfig(z_dim=4, hidden=32))
    x = torch.bernoulli(torch.full((300, 784), 0.3), generator=torch.Generator().manual_seed(1))
    real_encode = model._encode

    def encode_with_a_dead_unit(xb):
        mu, sigma = real_encode(xb)
        mu, sigma = mu.clone(), sigma.clone()
        mu[:, 2], sigma[:, 2] = 0.0, 1.0
        return mu, sigma

    model._encode = encode_with_a_dead_unit
    usage = latent_usage(model, x, batch_size=128)
    assert usage["kl_per_dim"][2].item() == pytest.approx(0.0, abs=1e-12)
    assert usage["activity"][2].item() == pytest.approx(0.0, abs=1e-12)
    assert not usage["active"][2] and usage["n_active"] == int(usage["active"].sum())
    # rate + distortion is minus the one-sample ELBO with the same noise (the same computation, batched differently)
    assert usage["rate"] + usage["distortion"] == pytest.approx(-elbo(model, x, batch_size=128, seed=0)["elbo"],
                                                                rel=1e-5)


def test_aggregate_posterior_cells_are_uniform_when_the_aggregate_is_the_prior():
    """mu ~ N(0, 1 - s^2) with sigma = s makes the aggregate exactly N(0, I) in the limit: 1 % in each cell."""
    g = torch.Generator().manual_seed(0)
    s = 0.3
    mu = math.sqrt(1 - s ** 2) * torch.randn(40_000, 2, generator=g, dtype=torch.float64)
    cells = aggregate_posterior_cells(mu, torch.full_like(mu, s), k=10)
    assert cells.shape == (10, 10) and cells.sum().item() == pytest.approx(1.0)
    assert (cells - 0.01).abs().max() < 0.002
    # all codes in the upper right: the mass sits in the top-right cells (rows count z2 from the top)
    corner = aggregate_posterior_cells(torch.full((10, 2), 2.5), torch.full((10, 2), 0.05), k=10)
    assert corner[0, -1].item() == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError):
        aggregate_posterior_cells(torch.zeros(5, 3), torch.ones(5, 3))


def test_plot_latent_scatter_draws_every_class():
    from course_utils.vae.figures import plot_latent_scatter

    model = VAE(VAEConfig(z_dim=2, hidden=32))
    x = torch.bernoulli(torch.full((60, 784), 0.4), generator=torch.Generator().manual_seed(0))
    labels = torch.arange(60) % 3
    fig = plot_latent_scatter(model, x, labels, class_names=["a", "b", "c"], n=5)
    ax = fig.axes[0]
    assert len(ax.collections) == 3 and sum(len(c.get_offsets()) for c in ax.collections) == 60
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    with pytest.raises(ValueError, match="z_dim = 2"):
        plot_latent_scatter(VAE(VAEConfig(z_dim=3, hidden=8)), x, labels)


def test_plot_latent_scatter_keeps_ten_classes_in_the_course_palette():
    """Ten classes, eight palette colours: classes 9 and 10 reuse colours with another marker."""
    from course_utils.core.plots import figure_problems
    from course_utils.vae.figures import plot_latent_scatter

    model = VAE(VAEConfig(z_dim=2, hidden=32))
    x = torch.bernoulli(torch.full((100, 784), 0.4), generator=torch.Generator().manual_seed(0))
    labels = torch.arange(100) % 10
    fig = plot_latent_scatter(model, x, labels, n=5)
    assert figure_problems(fig, labels=True) == []
    styles = {(tuple(c.get_facecolor()[0]), c.get_paths()[0].vertices.tobytes()) for c in fig.axes[0].collections}
    assert len(styles) == 10  # every class told apart by colour or marker
