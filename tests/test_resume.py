"""Resumable training (a partial checkpoint per epoch) and divergence detection, VAE and GAN.

Resumed and uninterrupted runs are compared bit for bit: the same computation, in
the same process, with every random generator restored.
"""
from __future__ import annotations

import copy
import dataclasses
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


@pytest.mark.parametrize("ema_decay", [None, 0.9])  # with a moving average of G, it resumes too
def test_gan_resumes_after_an_interruption_and_ends_as_an_uninterrupted_run(capsys, ema_decay):
    data = random_data()
    cfg = dataclasses.replace(GAN_CFG, ema_decay=ema_decay)
    key = gt.gan_cache_key(cfg, data)
    g_full, d_full, h_full = gt.train_gan(cfg, data, use_cache=False, progress=False)
    _, _, h_cut = gt.train_gan(cfg, data, hooks=[stop_after(1)], progress=False)
    assert h_cut.interrupted and cache_files() == [checkpoints.partial_checkpoint_path(key).name]
    capsys.readouterr()
    g, d, h = gt.train_gan(cfg, data, progress=True)
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


# --------------------------------------------------------------------------- a resume that fails half-way

@dataclasses.dataclass
class KeptHistory(History):
    samples: dict = dataclasses.field(default_factory=dict)  # like the VAE's and GAN's kept sample grids


def small_run(path):
    """A model with weights and buffers, Adam, a data-order generator and a history, under a RunState."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(1)
    history = KeptHistory()
    state = checkpoints.RunState(path, modules={"net": net}, optimizers={"adam": opt},
                                 generators={"batches": gen}, history=history, verbose=True)
    return state, net, opt, gen, history


def everything(net, opt, gen, history) -> dict:
    """Every piece of state a RunState manages, copied: weights and buffers, Adam's state, the generators
    (its own and the global ones) and every field of the history."""
    import random

    import numpy as np

    return copy.deepcopy({
        "net": net.state_dict(), "adam": opt.state_dict(), "batches": gen.get_state(),
        "torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state(),
        "history": {f.name: getattr(history, f.name) for f in dataclasses.fields(history)},
    })


def assert_identical(a, b, where="state"):
    """Equal bit for bit: tensors (dtype, shape, values), arrays, and any nesting of dicts, lists, tuples."""
    import numpy as np

    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} vs {list(b)}"
        for k in a:
            assert_identical(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def _wrong_shape(snap):  # the first layer fits, the last does not: load_state_dict copies the first, then fails
    snap["modules"]["net"]["2.weight"] = torch.zeros(5, 4)


def _no_param_groups(snap):  # the model loads, then Adam's state is refused
    snap["optimizers"]["adam"]["param_groups"] = []


def _param_groups_missing(snap):
    del snap["optimizers"]["adam"]["param_groups"]


def _bad_generator(snap):  # model and Adam load, then the data order's generator state is refused
    snap["generators"]["batches"] = torch.zeros(3, dtype=torch.uint8)


def _bad_numpy_rng(snap):  # ... and PyTorch's and Python's global generators are set before NumPy's fails
    snap["rng"]["numpy"] = ("MT19937", [1, 2, 3], 0, 0, 0.0)


def _history_not_a_record(snap):  # everything else is applied, then the history cannot be read
    snap["history"] = ["not", "a", "record"]


@pytest.mark.parametrize("tamper", [_wrong_shape, _no_param_groups, _param_groups_missing, _bad_generator,
                                    _bad_numpy_rng, _history_not_a_record])
def test_a_resume_that_fails_half_way_leaves_the_fresh_state_exactly(tmp_path, capsys, tamper):
    """A partial checkpoint that fails only after part of it was applied: resume() reports it, returns False
    and every model weight and buffer, Adam's state, each generator and the history are the fresh ones again."""
    import random

    import numpy as np

    path = tmp_path / "run.partial.pt"
    # a run that trained one epoch and wrote its partial checkpoint
    donor, net, opt, gen, history = small_run(path)
    x = torch.randn(8, 3, generator=gen)
    net(x).square().sum().backward()
    opt.step()
    history.epochs.append({"epoch": 1, "loss": 0.5})
    history.steps, history.seconds = 1, 0.25
    history.samples[1] = torch.ones(2, 3)
    donor(1, history)
    snap = torch.load(path, weights_only=True)
    tamper(snap)
    torch.save(snap, path)
    torch.randn(3), random.random(), np.random.rand()  # the global generators move on

    state, net, opt, gen, history = small_run(path)
    samples = history.samples  # a hook may hold this very dict
    before = everything(net, opt, gen, history)
    assert before["adam"]["state"] == {}
    assert not torch.equal(before["net"]["0.weight"], snap["modules"]["net"]["0.weight"])
    assert state.resume() is False
    assert "Ignoring unusable partial checkpoint" in capsys.readouterr().out
    assert_identical(everything(net, opt, gen, history), before)
    assert history.samples is samples and samples == {}
    assert state.resumed_from == 0 and state.rollback() == 0  # its idea of the last good state is the fresh one
    assert_identical(everything(net, opt, gen, history), before)


def test_a_partial_checkpoint_that_is_not_a_record_is_ignored(tmp_path, capsys):
    path = tmp_path / "run.partial.pt"
    torch.save([1, 2, 3], path)  # loads with weights_only=True, but is no run state
    state, net, opt, gen, history = small_run(path)
    before = everything(net, opt, gen, history)
    assert state.resume() is False
    assert "Ignoring unusable partial checkpoint" in capsys.readouterr().out
    assert_identical(everything(net, opt, gen, history), before)


# --------------------------------------------------------------------------- a models folder that cannot be written

def _models_is_a_file(folder: Path, monkeypatch) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("a file where the models folder should be")


def _read_only_models_folder(folder: Path, monkeypatch) -> None:
    """chmod 0o500; where that does not stop writes (root), file creation there is refused the way the
    kernel refuses it (EACCES from open(O_CREAT), which every temporary and atomic write goes through)."""
    import errno

    folder.mkdir(parents=True)
    folder.chmod(0o500)
    monkeypatch.chmod_back = folder  # restored by the test, so the temporary folder can be removed
    if os.access(folder, os.W_OK):  # root: permissions are not enforced
        real_open = os.open

        def refusing_open(path, flags, *args, **kwargs):
            if flags & os.O_CREAT and Path(path).parent == folder:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refusing_open)


def _writes_fail(folder: Path, monkeypatch) -> None:
    """The folder passes the write test, then every checkpoint write fails (the folder was made read-only
    meanwhile, a full disk, a quota): the atomic write raises PermissionError."""
    import contextlib

    real = checkpoints.atomic_write

    @contextlib.contextmanager
    def refused(path, *args, **kwargs):
        if Path(path).parent == folder:
            raise PermissionError(13, "Permission denied", str(path))
        with real(path, *args, **kwargs) as fh:
            yield fh

    monkeypatch.setattr(checkpoints, "atomic_write", refused)


def _final_model_write_fails(folder: Path, monkeypatch) -> None:
    """The partial checkpoints are written; the finished model's file is refused (the disk filled up)."""
    import contextlib
    import errno

    real = checkpoints.atomic_write

    @contextlib.contextmanager
    def refused(path, *args, **kwargs):
        if Path(path).suffix == ".safetensors":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        with real(path, *args, **kwargs) as fh:
            yield fh

    monkeypatch.setattr(checkpoints, "atomic_write", refused)


@pytest.mark.parametrize("block", [_models_is_a_file, _read_only_models_folder, _writes_fail, _final_model_write_fails])
def test_training_with_an_unwritable_models_folder_returns_the_model_with_one_message(monkeypatch, block):
    """The model cache cannot be written: training still runs to the end and returns the trained model (the
    same as an uncached run), with one clear one-line warning per training call naming the folder and the fix."""
    data = synthetic_data()
    cfg = VAEConfig(z_dim=4, hidden=32, batch_size=64, epochs=2)
    reference, h_ref = vt.train_vae(cfg, data, use_cache=False, progress=False)
    folder = checkpoints.model_cache_path("x").parent
    block(folder, monkeypatch)
    try:
        for _ in range(2):  # nothing was cached: the second call trains again, to the same model
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model, h = vt.train_vae(cfg, data, progress=False)
            assert isinstance(model, VAE) and len(h) == 2 and h.stop_reason == "completed" and not h.interrupted
            assert same_state(model, reference) and same_numbers(h, h_ref)
            messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
            assert len(messages) == 1, messages
            (message,) = messages
            assert message.startswith(f"Cannot write trained models and resumable checkpoints to {folder} (")
            assert "\n" not in message and "continuing without caching" in message and "COURSE_CACHE_DIR" in message
    finally:
        if getattr(monkeypatch, "chmod_back", None) is not None:
            folder.chmod(0o700)
    if block is _final_model_write_fails:  # the last epoch's partial checkpoint stays: the next call starts there
        key = vt.vae_cache_key(cfg, data)
        assert "(No space left on device)" in message
        assert [p.name for p in folder.iterdir()] == [checkpoints.partial_checkpoint_path(key).name]
    elif folder.is_dir():
        assert list(folder.iterdir()) == []  # no model, no partial checkpoint, no temporary file
    else:
        assert "(it is a file, not a folder)" in message
