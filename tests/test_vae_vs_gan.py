"""Notebook 07/08 settings stay in step with notebook 05, and the comparison helpers of Q3.1 are right."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from course_utils.course import runs
from course_utils.evaluation import ClassifierConfig, class_distance
from course_utils.evaluation import comparison as VG
from course_utils.gan.model import GANConfig, Generator
from course_utils.vae.model import full_config

ROOT = Path(__file__).resolve().parent.parent


def test_full_and_quick_settings(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "0")
    # the assignment's GAN, trained shorter and sampled from the moving average of G (issue 24's recipe)
    assert runs.gan_config() == GANConfig(epochs=runs.GAN_EPOCHS, ema_decay=runs.GAN_EMA_DECAY)
    assert runs.GAN_EMA_DECAY == 0.999 and runs.GAN_EPOCHS == 20
    assert runs.classifier_config() == ClassifierConfig()
    assert runs.n_eval() == 10_000
    assert runs.vae_config() == full_config(20)  # the recipe benchmarks/bench_vae.py reports
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert runs.gan_config().epochs < runs.GAN_EPOCHS and runs.gan_config().train_size is not None
    assert runs.gan_config().ema_decay == 0.9  # about the last 10 of quick mode's 48 steps
    assert runs.classifier_config() == ClassifierConfig(epochs=1, train_size=5000)
    assert runs.n_eval() == 1000


def test_vae_settings_match_notebook_05():
    """Notebook 08 must reuse notebook 05's cached VAE: both take the run from course_utils.course.runs."""
    source = (ROOT / "notebooks" / "05_vae.py").read_text()
    assert "config20 = vae_config()" in source and "data = vae_data(data)" in source
    assert 'load_data(pixels="dynamic")' in source
    source08 = (ROOT / "notebooks" / "08_vae_vs_gan.py").read_text()
    assert "train_vae(vae_config(), vae_data(" in source08


def test_gradient_through_rounding_is_zero():
    r = VG.gradient_through_rounding(seed=0)
    assert r["continuous pixels p"] > 0
    assert r["rounded pixels round(p)"] == 0.0
    assert r["sampled pixels Bernoulli(p)"] == 0.0


def test_categorical_estimators_unbiased_and_biased():
    r = VG.categorical_latent_gradients(n_samples=20000, temperature=0.5, seed=0)
    exact = torch.tensor(r["exact"])
    se = torch.tensor(r["reinforce_std"]) / math.sqrt(r["n_samples"])
    assert ((torch.tensor(r["reinforce_mean"]) - exact).abs() < 4 * se).all()  # unbiased
    gumbel_se = torch.tensor(r["gumbel_std"]) / math.sqrt(r["n_samples"])
    assert ((torch.tensor(r["gumbel_mean"]) - exact).abs() > 4 * gumbel_se).any()  # biased at temperature 0.5
    assert (torch.tensor(r["gumbel_std"]) < torch.tensor(r["reinforce_std"])).all()  # but less noisy
    assert sum(r["exact"]) == pytest.approx(0.0, abs=1e-12)  # softmax gradients sum to zero


def test_gumbel_softmax_gradient_formula_matches_autograd():
    """The per-sample gradients categorical_latent_gradients averages agree with autograd, sample by sample."""
    logits = torch.tensor([0.5, -0.2, 0.1, -0.4], dtype=torch.float64, requires_grad=True)
    f = torch.tensor([0.0, 1.0, 4.0, 9.0], dtype=torch.float64)
    gumbel = torch.tensor([[0.3, -0.1, 1.2, 0.0], [-0.5, 2.0, 0.1, 0.4]], dtype=torch.float64)
    ours = VG.gumbel_softmax_gradients(logits.detach(), f, gumbel, 0.5)
    assert ours.shape == (2, 4)
    for i in range(2):
        soft = torch.softmax((logits + gumbel[i]) / 0.5, -1)
        (auto,) = torch.autograd.grad(soft @ f, logits)
        torch.testing.assert_close(ours[i], auto)  # float64 defaults: rtol 1e-7, far above round-off
    # the estimator's mean is the mean of these per-sample gradients
    r = VG.categorical_latent_gradients(n_samples=500, temperature=0.5, seed=0)
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(logits.detach(), -1)
    torch.multinomial(probs, 500, replacement=True, generator=g)  # the draws for REINFORCE come first
    u = torch.rand(500, 4, generator=g, dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
    expected = VG.gumbel_softmax_gradients(logits.detach(), f, -torch.log(-torch.log(u)), 0.5).mean(0)
    assert r["gumbel_mean"] == pytest.approx(expected.tolist(), rel=1e-12, abs=1e-15)


class _TinyVAE(torch.nn.Module):
    z_dim = 3
    device = torch.device("cpu")

    def sample_prior(self, n):
        return torch.sigmoid(torch.randn(n, self.z_dim) @ torch.ones(self.z_dim, 784))


def test_model_samples_are_images_in_unit_range_and_seeded():
    gen = Generator(GANConfig(latent_dim=4, generator_hidden=(8, 8, 8, 8)))
    a = VG.model_samples(_TinyVAE(), gen, 5, seed=3)
    b = VG.model_samples(_TinyVAE(), gen, 5, seed=3)
    for name in ("VAE", "GAN"):
        assert a[name].shape == (5, 784)
        assert a[name].min() >= 0 and a[name].max() <= 1
        torch.testing.assert_close(a[name], b[name])
    # the same samples as the per-model helpers benchmarks/seeds.py uses
    torch.testing.assert_close(a["VAE"], VG.vae_samples(_TinyVAE(), 5, seed=3))
    torch.testing.assert_close(a["GAN"], VG.gan_samples(gen, 5, seed=3))


def test_scores_table_lists_every_model():
    s = {"fd": 12.3456, "fd_real_floor": 0.5, "n_samples": 1000, "precision": 0.61, "recall": 0.4321,
         "class_tv": 0.1234}
    table = VG.scores_table({"VAE": s, "GAN": {**s, "fd": 3.0}})
    assert "VAE" in table and "GAN" in table and "12.35" in table and "0.432" in table and "0.123" in table
    assert "floor at this n" in table and "1000" in table


def test_per_image_elbo_is_one_bound_per_image():
    from course_utils.vae.model import VAE, VAEConfig
    from course_utils.vae.train import elbo

    vae = VAE(VAEConfig(z_dim=2, hidden=20)).eval()
    x = (torch.rand(30, 784, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    scores = VG.per_image_elbo(vae, x, k=50, seed=1)
    assert scores.shape == (30,)
    assert (scores < 0).all()
    assert scores.mean().item() == pytest.approx(elbo(vae, x)["elbo"], rel=0.02)
    torch.testing.assert_close(scores, VG.per_image_elbo(vae, x, k=50, seed=1))


def test_class_distance():
    assert class_distance([10, 10, 0], [1, 1, 0]) == pytest.approx(0.0)
    assert class_distance([5, 0], [0, 7]) == pytest.approx(1.0)
    assert class_distance([3, 1], [1, 1]) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        class_distance([0, 0], [1, 1])


def test_vae2_config_and_vae_data_in_both_modes(monkeypatch):
    """Notebook 05's z = 2 run and the VAE's data subset (also used by 08), in full and in quick mode."""
    from course_utils.core.data import CLASS_NAMES, Data, Split

    g = torch.Generator().manual_seed(0)
    split = lambda n: Split(torch.rand(n, 784, generator=g), torch.arange(n) % 10)  # noqa: E731
    data = Data("fashion-mnist", split(5000), split(1500), split(200), "dynamic", CLASS_NAMES["fashion-mnist"])
    monkeypatch.setenv("COURSE_QUICK", "0")
    c = runs.vae2_config()
    assert (c.z_dim, c.epochs, c.lr_schedule, c.batch_size, c.lr) == (2, runs.Z2_EPOCHS, "cosine", 256, 3e-3)
    assert runs.Z2_EPOCHS == 12
    full = runs.vae_data(data)
    assert (len(full.train), len(full.val), len(full.test)) == (5000, 1500, 200)
    monkeypatch.setenv("COURSE_QUICK", "1")
    c = runs.vae2_config()
    assert (c.z_dim, c.epochs, c.lr_schedule) == (2, 2, "cosine")
    quick = runs.vae_data(data)
    assert (len(quick.train), len(quick.val), len(quick.test)) == (3000, 1000, 200)  # the test set is kept whole
    assert torch.equal(quick.train.images, data.train.images[:3000])  # the first images: a copy, no computation
    assert quick.name == data.name and quick.pixels == data.pixels
