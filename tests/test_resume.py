"""Resumable training (a partial checkpoint per epoch) and divergence detection, VAE and GAN.

Resumed and uninterrupted runs are compared bit for bit: the same computation, in
the same process, with every random generator restored.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
import torch
from test_gan_train import random_data
from test_vae_train import same_numbers, synthetic_data

import course_utils.gan.train as gt
import course_utils.vae.train as vt
from course_utils.core import checkpoints
from course_utils.core.training import History, NonFiniteLossError, TrainingDiverged
from course_utils.gan.model import GANConfig, build_gan
from course_utils.vae.model import VAE, VAEConfig, load_vae

pytestmark = pytest.mark.usefixtures("one_thread")

VAE_CFG = VAEConfig(z_dim=4, hidden=32, batch_size=64, epochs=4, lr_schedule="cosine", kl_warmup_epochs=2,
                    sample_epochs=(0, 1, 3, 4))
GAN_CFG = GANConfig(epochs=3, batch_size=32, latent_dim=16, generator_hidden=(32, 64), discriminator_hidden=(64,),
                    sample_epochs=(0, 1, 2, 3))


def stop_after(k):
    def hook(epoch, history):
        if epoch == k:
            raise KeyboardInterrupt
    return hook


def cache_files():
    folder = checkpoints.model_cache_path("x").parent
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def same_samples(h1, h2) -> bool:
    return sorted(h1.samples) == sorted(h2.samples) and all(torch.equal(h1.samples[e], h2.samples[e])
                                                            for e in h1.samples)


# --------------------------------------------------------------------------- resuming

def test_vae_resumes_after_an_interruption_and_ends_as_an_uninterrupted_run(capsys):
    data = synthetic_data()
    key = vt.vae_cache_key(VAE_CFG, data)
    full, h_full = vt.train_vae(VAE_CFG, data, use_cache=False, progress=False)
    assert cache_files() == []  # use_cache=False writes nothing, not even partial checkpoints

    _, h_cut = vt.train_vae(VAE_CFG, data, hooks=[stop_after(2)], progress=False)
    assert h_cut.interrupted and len(h_cut) == 2
    # only the partial checkpoint; a cache lookup of the finished model does not see it
    assert cache_files() == [checkpoints.partial_checkpoint_path(key).name]
    with pytest.raises(checkpoints.CheckpointError, match="No checkpoint"):
        load_vae(checkpoints.model_cache_path(key))
    seen = []
    meta, from_cache = checkpoints.cached(key, {"vae": VAE(VAE_CFG)}, VAE_CFG.arch(),
                                          lambda: seen.append(1) or {"complete": False}, verbose=False)
    assert seen == [1] and not from_cache  # not answered from the cache: it trains

    capsys.readouterr()
    resumed, h_res = vt.train_vae(VAE_CFG, data, progress=True)
    err = capsys.readouterr()
    assert "resuming from epoch 2" in err.err  # the progress bar's label
    assert "Resuming from epoch 2" in err.out
    assert same_state(full, resumed)
    assert same_numbers(h_full, h_res) and h_res.steps == h_full.steps and not h_res.interrupted
    assert same_samples(h_full, h_res) and torch.equal(h_full.noise, h_res.noise)
    # finished: the final model is cached and the partial checkpoint is gone
    assert cache_files() == [checkpoints.model_cache_path(key).name]
    loaded, _ = load_vae(checkpoints.model_cache_path(key))
    assert same_state(full, loaded)


def test_gan_resumes_after_an_interruption_and_ends_as_an_uninterrupted_run(capsys):
    data = random_data()
    key = gt.gan_cache_key(GAN_CFG, data)
    g_full, d_full, h_full = gt.train_gan(GAN_CFG, data, use_cache=False, progress=False)
    _, _, h_cut = gt.train_gan(GAN_CFG, data, hooks=[stop_after(1)], progress=False)
    assert h_cut.interrupted and cache_files() == [checkpoints.partial_checkpoint_path(key).name]
    capsys.readouterr()
    g, d, h = gt.train_gan(GAN_CFG, data, progress=True)
    assert "resuming from epoch 1" in capsys.readouterr().err
    assert same_state(g_full, g) and same_state(d_full, d)  # BatchNorm statistics included
    assert same_numbers(h_full, h) and same_samples(h_full, h)
    assert cache_files() == [checkpoints.model_cache_path(key).name]


def test_a_run_stopped_by_its_time_budget_resumes_on_the_next_call():
    data = synthetic_data()
    full, h_full = vt.train_vae(VAE_CFG, data, use_cache=False, progress=False)
    _, h1 = vt.train_vae(VAE_CFG, data, max_seconds=0.0, progress=False)
    assert len(h1) == 1 and "time budget" in h1.stop_reason
    model, h = vt.train_vae(VAE_CFG, data, progress=False)
    assert same_state(full, model) and same_numbers(h_full, h)


def test_an_unreadable_partial_checkpoint_is_ignored(capsys):
    data = synthetic_data()
    full, h_full = vt.train_vae(VAE_CFG, data, use_cache=False, progress=False)
    path = checkpoints.partial_checkpoint_path(vt.vae_cache_key(VAE_CFG, data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a checkpoint")
    model, h = vt.train_vae(VAE_CFG, data, progress=True)
    assert "Ignoring unusable partial checkpoint" in capsys.readouterr().out
    assert same_state(full, model) and same_numbers(h_full, h)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names an open file through /proc (Linux)")
def test_interrupt_while_writing_the_final_model_keeps_the_partial_one():
    import course_utils.core.storage as storage

    data = synthetic_data()
    cfg = VAEConfig(z_dim=4, hidden=32, batch_size=64, epochs=2)
    key = vt.vae_cache_key(cfg, data)
    real_fsync = storage.os.fsync

    def fsync(fd):  # Ctrl-C while the finished model's temporary file is flushed (other writes pass)
        if ".safetensors." in os.readlink(f"/proc/self/fd/{fd}"):
            raise KeyboardInterrupt
        real_fsync(fd)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(storage.os, "fsync", fsync)
        with pytest.raises(KeyboardInterrupt):
            vt.train_vae(cfg, data, progress=False)
    assert cache_files() == [checkpoints.partial_checkpoint_path(key).name]  # no temporary file either
    _, h = vt.train_vae(cfg, data, progress=False)  # resumes at epoch 2 of 2: nothing left but saving
    assert len(h) == 2 and cache_files() == [checkpoints.model_cache_path(key).name]


def test_the_checkpoint_holds_what_resuming_needs():
    data = synthetic_data()
    vt.train_vae(VAE_CFG, data, hooks=[stop_after(1)], progress=False)
    path = checkpoints.partial_checkpoint_path(vt.vae_cache_key(VAE_CFG, data))
    snap = torch.load(path, weights_only=True)
    assert snap["epoch"] == 1 and set(snap["generators"]) == {"batches", "noise"}
    assert set(snap["rng"]) >= {"torch", "numpy", "python"}
    assert snap["optimizers"]["adam"]["state"]  # Adam's moments
    assert snap["history"]["steps"] == 8 and sorted(snap["history"]["samples"]) == [0, 1]
    json.dumps(snap["history"]["epochs"])  # the per-epoch record stays plain data


# --------------------------------------------------------------------------- divergence

def test_vae_divergence_with_a_huge_learning_rate_stops_and_keeps_the_initial_weights():
    data = synthetic_data()
    cfg = VAEConfig(z_dim=4, hidden=32, batch_size=64, epochs=2, lr=1e6)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step 2 .*negative ELBO.*above 5434.*"
                                               r"10 times lower.*--lr.*before training") as info:
        vt.train_vae(cfg, data, progress=False)
    assert not isinstance(info.value, NonFiniteLossError)  # finite, but absurd
    assert same_state(info.value.model, VAE(cfg))  # the initial weights: the last good state
    assert info.value.history.stop_reason == "diverged" and len(info.value.history) == 0
    assert cache_files() == []


def test_vae_divergence_after_an_epoch_rolls_back_to_that_epoch():
    data = synthetic_data()
    cfg = VAEConfig(z_dim=4, hidden=32, batch_size=64, epochs=3)
    kept = {}

    def blow_up(epoch, history):  # after epoch 1's checkpoint the decoder's weights explode
        if epoch == 1:
            model = blow_up.model
            kept.update({k: v.clone() for k, v in model.state_dict().items()})
            with torch.no_grad():
                for p in model.parameters():
                    p.mul_(1e4)

    real_vae = vt.VAE

    def build(config):
        blow_up.model = real_vae(config)
        return blow_up.model

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vt, "VAE", build)
        with pytest.raises(TrainingDiverged, match="epoch 2, step 9 .*after epoch 1.*partial checkpoint") as info:
            vt.train_vae(cfg, data, hooks=[blow_up], progress=False)
    state = info.value.model.state_dict()
    assert all(torch.equal(state[k], kept[k]) for k in kept) and len(info.value.history) == 1
    key = vt.vae_cache_key(cfg, data)
    assert cache_files() == [checkpoints.partial_checkpoint_path(key).name]  # epoch 1, the last good one


def test_gan_divergence_stops_and_keeps_the_initial_networks():
    cfg = GANConfig(epochs=2, batch_size=32, lr=1e6)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step [12] .*loss is .*above 1000.*10 times lower") as info:
        gt.train_gan(cfg, random_data(), progress=False)
    g0, d0 = build_gan(cfg)
    assert same_state(info.value.generator, g0) and same_state(info.value.discriminator, d0)
    assert cache_files() == []


def test_discriminator_wins_warning():
    hook = gt.warn_if_discriminator_wins(GANConfig(generator_loss="saturating"))
    h = History(epochs=[{"epoch": 4, "d_fake": 0.003}])
    with pytest.warns(gt.DiscriminatorWinsWarning, match=r"wins outright: mean D\(G\(z\)\) was 0.003 over epoch 4"
                                                         r".*non-saturating.*lower learning rate"):
        hook(4, h)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hook(5, History(epochs=[{"epoch": 5, "d_fake": 0.2}]))  # no warning


def test_a_discriminator_that_wins_outright_is_reported_during_training(monkeypatch):
    # a generator that never learns (its loss has no gradient) loses to the discriminator within 3 epochs
    monkeypatch.setattr(gt, "generator_loss", lambda logits, kind: 0.0 * logits.sum())
    with pytest.warns(gt.DiscriminatorWinsWarning, match="wins outright"):
        _, _, h = gt.train_gan(GANConfig(epochs=3, batch_size=32, lr=2e-3), random_data(), use_cache=False,
                               progress=False)
    assert h["d_fake"][-1] < gt.D_WINS_BELOW and len(h) == 3  # warned, not stopped


@pytest.mark.filterwarnings("error::course_utils.gan.train.DiscriminatorWinsWarning")
def test_no_false_alarm_on_normal_short_runs():
    _, h = vt.train_vae(VAEConfig(z_dim=4, hidden=32, batch_size=64, epochs=2), synthetic_data(),
                        use_cache=False, progress=False)
    assert h.stop_reason == "completed"
    _, _, h = gt.train_gan(GANConfig(epochs=2, batch_size=32), random_data(), use_cache=False, progress=False)
    assert h.stop_reason == "completed" and min(h["d_fake"]) > gt.D_WINS_BELOW


# --------------------------------------------------------------------------- the command lines

def test_vae_cli_exits_non_zero_on_divergence_and_writes_nothing(tmp_path, monkeypatch, capsys):
    import course_utils.course.cli.vae as cli
    from course_utils.__main__ import main

    monkeypatch.setattr(cli, "load_data", lambda *a, **k: synthetic_data())
    out = tmp_path / "out"
    rc = main(["vae", "--lr", "1e6", "--epochs", "1", "--z-dim", "4", "--hidden", "32", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 1 and "error: Training diverged at epoch 1" in text and "--lr" in text
    assert not out.exists()  # no figures, no metrics.json


def test_gan_cli_exits_non_zero_on_divergence_and_writes_nothing(tmp_path, monkeypatch, capsys):
    import course_utils.course.cli.gan as cli
    from course_utils.__main__ import main

    monkeypatch.setattr(cli, "load_data", lambda *a, **k: random_data())
    out = tmp_path / "out"
    rc = main(["gan", "--lr", "1e6", "--epochs", "1", "--quiet", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 3 and "error: Training diverged at epoch 1" in text and "--lr" in text
    assert not out.exists()
    assert main(["gan", "--lr", "-1", "--out", str(out)]) == 2 and "GANConfig.lr must be > 0" in capsys.readouterr().out
