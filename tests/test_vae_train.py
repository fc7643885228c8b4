"""Training the VAE: determinism, the model cache, interruption, NaN handling, a real short run, figures, CLI."""
from __future__ import annotations

import json

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from conftest import load_offline_fashion  # noqa: E402

import course_utils.vae.train as vt  # noqa: E402
from course_utils.core.checkpoints import load_checkpoint, model_cache_path  # noqa: E402
from course_utils.core.data import Data, Split  # noqa: E402
from course_utils.core.training import NonFiniteLossError  # noqa: E402
from course_utils.vae.model import VAE, VAEConfig, load_vae  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(z_dim=4, hidden=32, batch_size=64, epochs=3)


def synthetic_data(n_train=512, n_val=128, seed=0) -> Data:
    """Gray images made of 10 random prototypes plus noise: learnable, tiny, no files needed."""
    gen = torch.Generator().manual_seed(seed)
    prototypes = torch.rand(10, 784, generator=gen) ** 3

    def split(n):
        labels = torch.randint(0, 10, (n,), generator=gen)
        images = (prototypes[labels] + 0.1 * torch.rand(n, 784, generator=gen)).clamp(0, 1)
        return Split(images, labels)

    return Data("fashion-mnist", split(n_train), split(n_val), split(n_val), "dynamic", [str(i) for i in range(10)])


def models_in_cache():
    folder = model_cache_path("x").parent
    assert "pytest" in str(folder), "tests must use the isolated cache"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def data():
    return synthetic_data()


@pytest.fixture
def count_fits(monkeypatch):
    calls = []
    real_fit = vt.fit

    def counting_fit(*args, **kwargs):
        calls.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(vt, "fit", counting_fit)
    return calls


def same_numbers(h1, h2):
    strip = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h.epochs]  # noqa: E731
    return strip(h1) == strip(h2)


# --------------------------------------------------------------------------- determinism and history

def test_same_seed_same_numbers_and_history_layout(data):
    m1, h1 = vt.train_vae(VAEConfig(**TINY), data, use_cache=False, progress=False)
    m2, h2 = vt.train_vae(VAEConfig(**TINY), data, use_cache=False, progress=False)
    m3, h3 = vt.train_vae(VAEConfig(**TINY, seed=1), data, use_cache=False, progress=False)
    assert same_numbers(h1, h2) and not same_numbers(h1, h3)
    assert all(torch.equal(p, q) for p, q in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True))
    assert len(h1) == 3 and h1.steps == 3 * 8 and not h1.interrupted
    for key in ("elbo", "reconstruction", "regularization", "val_elbo", "val_reconstruction",
                "val_regularization", "lr", "kl_weight", "seconds"):
        assert len(h1[key]) == 3, key
    e = h1.last
    assert e["elbo"] == pytest.approx(-(e["reconstruction"] + e["regularization"]))
    assert h1["val_elbo"][-1] > h1["val_elbo"][0]  # it learns even on the tiny set
    assert sorted(h1.samples) == [0, 1, 3] and h1.samples[3].shape == (64, 784)
    assert not torch.equal(h1.samples[0], h1.samples[3])
    assert not m1.training  # returned in eval mode


def test_schedules():
    c = VAEConfig(lr=1e-3, lr_schedule="cosine", lr_final=0.1, kl_warmup_epochs=2)
    assert vt.learning_rate(c, 0.0) == pytest.approx(1e-3)
    assert vt.learning_rate(c, 0.5) == pytest.approx(0.55e-3)
    assert vt.learning_rate(c, 1.0) == pytest.approx(1e-4)
    assert vt.learning_rate(VAEConfig(), 0.7) == 1e-3
    assert [vt.kl_weight(c, e) for e in (0, 1, 2, 5)] == [0.0, 0.5, 1.0, 1.0]
    assert vt.kl_weight(VAEConfig(), 0) == 1.0


def test_warmup_and_cosine_runs_are_recorded(data):
    cfg = VAEConfig(**TINY, lr_schedule="cosine", kl_warmup_epochs=2)
    _, h = vt.train_vae(cfg, data, use_cache=False, progress=False)
    assert h["kl_weight"][0] < h["kl_weight"][1] < h["kl_weight"][2] == 1.0
    assert h["lr"][0] > h["lr"][1] > h["lr"][2]


# --------------------------------------------------------------------------- the model cache

def test_cache_hit_for_same_config_and_miss_for_another(data, count_fits):
    m1, h1 = vt.train_vae(VAEConfig(**TINY), data, progress=False)
    assert len(count_fits) == 1 and len(models_in_cache()) == 1
    m2, h2 = vt.train_vae(VAEConfig(**TINY), data, progress=False)
    assert len(count_fits) == 1  # loaded, not trained
    assert all(torch.equal(p, q) for p, q in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True))
    assert same_numbers(h1, h2) and h2.seconds == h1.seconds
    assert sorted(h2.samples) == sorted(h1.samples)
    assert all(torch.equal(h1.samples[e], h2.samples[e]) for e in h1.samples)
    vt.train_vae(VAEConfig(**TINY, seed=5), data, progress=False)
    vt.train_vae(VAEConfig(**{**TINY, "z_dim": 2}), data, progress=False)
    assert len(count_fits) == 3 and len(models_in_cache()) == 3
    # the cached file is an ordinary checkpoint: load_vae reads it with its stored config
    path = model_cache_path(vt.vae_cache_key(VAEConfig(**TINY), data))
    loaded, meta = load_vae(path)
    assert meta["complete"] and meta["dataset"] == "fashion-mnist"
    assert all(torch.equal(p, q) for p, q in zip(m1.state_dict().values(), loaded.state_dict().values(), strict=True))


def test_interrupted_training_returns_the_model_and_caches_nothing(data, count_fits):
    def ctrl_c(epoch, history):
        if epoch == 2:
            raise KeyboardInterrupt

    model, h = vt.train_vae(VAEConfig(**TINY), data, hooks=[ctrl_c], progress=False)
    assert h.interrupted and len(h) == 2 and h.stop_reason == "interrupted"
    key = vt.vae_cache_key(VAEConfig(**TINY), data)
    # no finished model; only the resumable partial checkpoint (tests/test_resume.py)
    assert isinstance(model, VAE) and models_in_cache() == [f"{key}.partial.pt"]
    _, h = vt.train_vae(VAEConfig(**TINY), data, progress=False)  # the next call trains (resuming)
    assert len(count_fits) == 2 and models_in_cache() == [f"{key}.safetensors"] and len(h) == 3


def test_interrupt_while_saving_leaves_no_file(data):
    import course_utils.core.storage as storage

    def interrupted_fsync(fd):
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:  # not monkeypatch.undo(): that would drop the isolated cache
        mp.setattr(storage.os, "fsync", interrupted_fsync)
        # the first write is epoch 1's partial checkpoint: Ctrl-C there stops training cleanly
        _, h = vt.train_vae(VAEConfig(**TINY), data, progress=False)
    assert h.interrupted and len(h) == 1
    assert models_in_cache() == []  # neither the checkpoint nor a temporary file
    vt.train_vae(VAEConfig(**TINY), data, progress=False)
    (name,) = models_in_cache()
    load_checkpoint(model_cache_path(name[: -len(".safetensors")]), {"vae": VAE(VAEConfig(**TINY))})


def test_time_budget_stops_early_and_is_not_cached(data):
    _, h = vt.train_vae(VAEConfig(**{**TINY, "epochs": 5}), data, max_seconds=0.0, progress=False)
    assert len(h) == 1 and "time budget" in h.stop_reason
    assert [name for name in models_in_cache() if name.endswith(".safetensors")] == []  # partial only


# --------------------------------------------------------------------------- bad input

def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_weights(data, monkeypatch):
    calls, good = [], {}
    real_forward = VAE.forward

    def forward(self, x, generator=None):
        out = real_forward(self, x, generator)
        if torch.is_grad_enabled():  # training steps only, not validation
            calls.append(1)
            if len(calls) == 8:  # the end of epoch 1 (8 batches per epoch)
                forward.model = self
            if len(calls) == 11:  # epoch 2, batch 3
                out["logits"] = out["logits"] * float("nan")
        return out

    def keep(epoch, history):
        if epoch == 1:
            good.update({k: v.clone() for k, v in forward.model.state_dict().items()})

    monkeypatch.setattr(VAE, "forward", forward)
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step 11 \(batch 3\).*back at its last good state, "
                                                 r"after epoch 1") as info:
        vt.train_vae(VAEConfig(**TINY), data, hooks=[keep], progress=False)
    state = info.value.model.state_dict()
    assert good and all(torch.equal(state[k], good[k]) for k in good)  # rolled back to the end of epoch 1
    assert len(info.value.history) == 1 and info.value.history.steps == 8
    assert [name for name in models_in_cache() if name.endswith(".safetensors")] == []


def test_bad_training_data_is_refused(data):
    bad = Data("fashion-mnist", Split(data.train.images * 255, data.train.labels), data.val, data.test,
               "gray", data.class_names)
    with pytest.raises(ValueError, match=r"training images must hold values in \[0, 1\]"):
        vt.train_vae(VAEConfig(**TINY), bad, progress=False)


def test_cached_model_of_another_architecture_is_retrained_not_loaded(data, count_fits):
    from course_utils.core.checkpoints import save_checkpoint

    cfg = VAEConfig(**TINY)
    other = VAE(VAEConfig(**{**TINY, "z_dim": 7}))
    save_checkpoint(model_cache_path(vt.vae_cache_key(cfg, data)), {"vae": other},
                    {"arch": other.config.arch(), "complete": True})
    model, _ = vt.train_vae(cfg, data, progress=False)
    assert len(count_fits) == 1 and model.z_dim == 4
    loaded, _ = load_vae(model_cache_path(vt.vae_cache_key(cfg, data)))  # replaced by the right one
    assert loaded.z_dim == 4


# --------------------------------------------------------------------------- evaluation and figures

def test_evaluate_vae_reports_elbo_and_iw(data):
    model, _ = vt.train_vae(VAEConfig(**TINY), data, use_cache=False, progress=False)
    a = vt.evaluate_vae(model, data.test, iw_k=50, n_images=40, progress=False)
    b = vt.evaluate_vae(model, data.test, iw_k=50, n_images=40, progress=False)
    assert a == {**b, "iw_seconds": a["iw_seconds"]}  # reproducible
    assert a["n_images"] == 40 and a["iw_k"] == 50
    assert a["elbo"] == pytest.approx(-(a["reconstruction"] + a["regularization"]))
    assert a["iw_ll"] > a["elbo"]
    assert vt.evaluate_vae(model, data.test, iw_k=0, progress=False)["iw_ll"] is None


def png_pixels(path, min_side=100):
    """Check ``path`` is a real PNG of a sensible size that is not one flat colour; return its pixels."""
    import numpy as np
    from PIL import Image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        assert img.format == "PNG" and min(img.size) >= min_side, (path, img.size)
        pixels = np.asarray(img.convert("L"), dtype=float)
    assert pixels.max() - pixels.min() > 100, f"{path} is (nearly) one flat colour"
    return pixels


def test_figures(data, tmp_path):
    from course_utils.core.plots import image_grid
    from course_utils.vae import figures as vf
    model, h = vt.train_vae(VAEConfig(**{**TINY, "z_dim": 2}), data, use_cache=False, progress=False)
    fig = vf.plot_elbo_curves(h, show_parts=True, save_to=tmp_path / "elbo.png")
    assert len(fig.axes) == 3 and "nats" in fig.axes[0].get_ylabel()
    assert len(fig.axes[0].lines) == 2  # training and validation
    assert (tmp_path / "elbo.png").stat().st_size > 1000
    png_pixels(tmp_path / "elbo.png")
    fig = vf.plot_samples_at_epochs(h, save_to=tmp_path / "samples.png")
    assert [ax.get_title() for ax in fig.axes] == ["before training", "epoch 1", "epoch 3"]
    png_pixels(tmp_path / "samples.png")
    image, coords = vf.manifold_image(model, n=5)
    assert image.shape == (140, 140) and torch.all(coords[1:] > coords[:-1])
    torch.testing.assert_close(coords[2], torch.tensor(0.0), atol=1e-6, rtol=0)  # the median

    # the manifold: one axes showing the 5 x 5 tiles of decoder means, labelled by the grid's quantiles
    fig = vf.plot_manifold(model, n=5, save_to=tmp_path / "manifold.png")
    (ax,) = fig.axes
    assert "5x5 grid" in ax.get_title()
    assert ax.get_xlabel() == "z1 (Gaussian quantiles)" and ax.get_ylabel() == "z2 (Gaussian quantiles)"
    (shown,) = ax.images
    drawn = torch.as_tensor(shown.get_array().data)
    assert drawn.shape == (5 * 28, 5 * 28) and torch.equal(drawn, image.to(drawn.dtype))
    assert drawn.std() > 0.05  # not a constant image: the decoder's means differ across the grid
    tiles = drawn.reshape(5, 28, 5, 28).permute(0, 2, 1, 3).reshape(25, -1)
    assert (tiles - tiles.mean(0)).abs().amax(1).max() > 0.05  # and the tiles differ from one another
    assert [t.get_text() for t in ax.get_xticklabels()][0] == f"{coords[0]:.2f}"
    assert [t.get_text() for t in ax.get_yticklabels()][0] == f"{coords[-1]:.2f}"  # z2 grows upwards
    side = png_pixels(tmp_path / "manifold.png", min_side=300).shape
    assert abs(side[0] - side[1]) < 0.2 * max(side)  # a square figure

    # reconstructions: originals on top, reconstructions below, one tile per image
    x = data.test.images[:6]
    fig = vf.plot_reconstructions(model, data.test.images, n=6, save_to=tmp_path / "recon.png")
    assert [a.get_title() for a in fig.axes] == ["originals", "reconstructions (decoder mean at the mean of q(z|x))"]
    top = torch.as_tensor(fig.axes[0].images[0].get_array().data)
    bottom = torch.as_tensor(fig.axes[1].images[0].get_array().data)
    assert top.shape == bottom.shape == (32, 6 * 30 + 2)  # 6 tiles of 28 pixels, padding 2, in one row
    assert torch.equal(top, image_grid(x, nrow=6).to(top.dtype))
    torch.testing.assert_close(bottom, image_grid(model.reconstruct(x).cpu(), nrow=6).to(bottom.dtype))
    assert not torch.allclose(top, bottom)  # the reconstructions are the model's, not the originals
    png_pixels(tmp_path / "recon.png")
    with pytest.raises(ValueError, match="z_dim = 2"):
        vf.manifold_image(VAE(VAEConfig(z_dim=3, hidden=8)))
    matplotlib.pyplot.close("all")


# --------------------------------------------------------------------------- the real offline data

@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    return load_offline_fashion(tmp_path_factory, pixels="dynamic")


@pytest.mark.slow
def test_a_few_hundred_steps_on_real_data_lower_the_validation_loss(fashion):
    data = Data(fashion.name, fashion.train.subset(12_800), fashion.val.subset(1000), fashion.test.subset(10),
                fashion.pixels, fashion.class_names)
    untrained = vt.elbo(VAE(VAEConfig()), vt.evaluation_images(data.val, True))["elbo"]
    _, h = vt.train_vae(VAEConfig(epochs=3), data, use_cache=False, progress=False)  # 300 steps
    val = h["val_elbo"]
    assert h.steps == 300
    assert untrained < -500 and val[0] > untrained + 150  # from ~-545 to ~-290 nats in 100 steps
    assert val[0] < val[1] < val[2] and val[2] > -275


@pytest.mark.slow
def test_cli_writes_figures_and_metrics(fashion, tmp_path, monkeypatch, count_fits, capsys):
    import course_utils.course.cli.vae as cli
    from course_utils.__main__ import main

    small = Data(fashion.name, fashion.train.subset(2560), fashion.val.subset(500), fashion.test.subset(300),
                 fashion.pixels, fashion.class_names)
    monkeypatch.setattr(cli, "load_data", lambda *a, **k: small)
    out = tmp_path / "out"
    argv = ["vae", "--z-dim", "2", "--hidden", "32", "--epochs", "2", "--iw-k", "20", "--iw-images", "30",
            "--out", str(out)]
    assert main(argv) == 0
    assert len(count_fits) == 1  # trained
    first_out = capsys.readouterr().out
    assert "Loaded trained model from the cache" not in first_out
    for name in ("elbo.png", "samples.png", "manifold.png", "reconstructions.png"):
        assert (out / name).stat().st_size > 1000, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["iw_images"] == 30 and metrics["test_elbo_images"] == 300
    assert metrics["test_iw_ll"] > metrics["test_elbo_on_iw_images"]
    assert metrics["dataset"] == "fashion-mnist" and metrics["config"]["z_dim"] == 2
    assert metrics["config"]["precision"] == "auto" and metrics["precision"] in ("float32", "bfloat16")
    (model_file,) = [p for p in model_cache_path("x").parent.iterdir() if p.suffix == ".safetensors"]
    stamp = model_file.stat().st_mtime_ns
    for name in ("metrics.json", "manifold.png"):
        (out / name).unlink()  # the second run must write them again

    assert main(argv) == 0  # the second run loads from the cache
    assert len(count_fits) == 1  # no training: fit was not called again
    second_out = capsys.readouterr().out
    assert f"Loaded trained model from the cache: {model_file}" in second_out
    assert model_file.stat().st_mtime_ns == stamp  # the cached model was read, not rewritten
    assert [p.name for p in model_file.parent.iterdir()] == [model_file.name]  # nothing else was cached
    again = json.loads((out / "metrics.json").read_text())
    assert (out / "manifold.png").stat().st_size > 1000
    # the same model and history give the same numbers (only the run's own wall time differs)
    assert {k: v for k, v in again.items() if k != "seconds_total"} == \
        {k: v for k, v in metrics.items() if k != "seconds_total"}
    with pytest.raises(SystemExit):  # argparse names the valid choices
        main([*argv, "--precision", "float16"])
