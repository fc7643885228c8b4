"""The model-agnostic loop, checkpoints and the model cache, on a tiny regression model."""
from __future__ import annotations

import pytest
import torch

from course_utils.core import checkpoints as C
from course_utils.core.batches import Batches
from course_utils.core.runtime import get_device, pick, quick_mode, seed_everything
from course_utils.core.training import History, NonFiniteLossError, check_finite, fit


def make_problem(seed=0):
    g = seed_everything(seed)
    x = torch.randn(256, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(batch):
        xb, yb = batch
        loss = ((model(xb).squeeze(1) - yb) ** 2).mean()
        check_finite(loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    return model, step, Batches(x, y, batch_size=32, seed=seed)


def test_fit_records_history_and_learns():
    model, step, batches = make_problem()
    seen = []
    h = fit(step, batches, epochs=5, evaluate=lambda: {"loss": 1.0}, progress=False,
            hooks=[lambda e, hist: seen.append((e, len(hist)))])
    assert len(h) == 5 and h.steps == 5 * 8 and not h.interrupted
    assert h["loss"][-1] < h["loss"][0] / 10
    assert h["val_loss"] == [1.0] * 5 and seen == [(e, e) for e in range(1, 6)]


def test_fit_is_deterministic_under_a_seed():
    runs = []
    for _ in range(2):
        model, step, batches = make_problem(seed=4)
        fit(step, batches, epochs=2, progress=False)
        runs.append(model.weight.detach().clone())
    assert torch.equal(runs[0], runs[1])


def test_keyboard_interrupt_returns_history_so_far():
    model, step, batches = make_problem()

    def stop_at_3(epoch, history):
        if epoch == 3:
            raise KeyboardInterrupt

    h = fit(step, batches, epochs=10, hooks=[stop_at_3], progress=False)
    assert h.interrupted and len(h) == 3 and h.stop_reason == "interrupted"


def test_nan_loss_stops_with_step_and_keeps_last_good_parameters():
    model, step, batches = make_problem()
    calls = {"n": 0}

    def poisoned(batch):
        calls["n"] += 1
        if calls["n"] == 12:
            before = model.weight.detach().clone()
            poisoned.before = before
            xb, yb = batch
            return step((xb * float("nan"), yb))
        return step(batch)

    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step 12 .*last good step") as err:
        fit(poisoned, batches, epochs=3, progress=False)
    assert torch.equal(model.weight, poisoned.before)
    assert len(err.value.history) == 1  # the first epoch completed


def test_time_budget_stops_between_epochs():
    model, step, batches = make_problem()
    h = fit(step, batches, epochs=1000, max_seconds=0.0, progress=False)
    assert len(h) == 1 and "time budget" in h.stop_reason


def test_history_round_trip():
    h = History(epochs=[{"epoch": 1, "loss": 2.0}], steps=8, seconds=1.5)
    assert History.from_dict(h.to_dict()) == h


# ----------------------------------------------------------------------------- checkpoints

def test_checkpoint_round_trip_and_architecture_check(tmp_path):
    a, b = torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)
    path = C.save_checkpoint(tmp_path / "m.safetensors", {"a": a, "b": b}, {"arch": {"h": 4}, "x": [1]})
    a2, b2 = torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)
    meta = C.load_checkpoint(path, {"a": a2, "b": b2}, arch={"h": 4})
    assert meta["x"] == [1] and torch.equal(a.weight, a2.weight)
    assert torch.equal(b.num_batches_tracked, b2.num_batches_tracked)
    with pytest.raises(C.CheckpointError, match="another architecture.*h: checkpoint 4 vs model 5"):
        C.load_checkpoint(path, {"a": a2, "b": b2}, arch={"h": 5})
    untouched = torch.nn.Linear(3, 5)
    w = untouched.weight.detach().clone()
    with pytest.raises(C.CheckpointError, match="do not fit this model"):
        C.load_checkpoint(path, {"b": b2, "a": untouched})
    assert torch.equal(untouched.weight, w)


def test_stored_config_reads_meta_or_says_what_is_missing(tmp_path):
    m = torch.nn.Linear(2, 2)
    with_cfg = C.save_checkpoint(tmp_path / "a.safetensors", {"m": m}, {"config": {"z_dim": 2}})
    assert C.stored_config(with_cfg, "VAE") == {"z_dim": 2}
    without = C.save_checkpoint(tmp_path / "b.safetensors", {"m": m}, {"arch": {}})
    with pytest.raises(C.CheckpointError, match="holds no GAN config; pass config="):
        C.stored_config(without, "GAN")


def test_corrupt_checkpoint_gives_clear_error(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(C.CheckpointError, match="not a readable checkpoint.*Delete it"):
        C.read_checkpoint(bad)
    with pytest.raises(C.CheckpointError, match="No checkpoint"):
        C.read_checkpoint(tmp_path / "missing.safetensors")


def test_atomic_write_leaves_old_file_on_interrupt(tmp_path):
    from course_utils.core.storage import atomic_write
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target) as fh:
            fh.write(b"new but incomplete")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]


def test_atomic_write_gives_usual_permissions(tmp_path):
    import os

    from course_utils.core.storage import write_json
    old = os.umask(0o022)
    try:
        path = write_json(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_model_cache_hits_same_key_and_skips_incomplete_runs():
    trained = []

    def train(complete=True):
        def run():
            trained.append(1)
            torch.nn.init.constant_(model.weight, 3.0)
            return {"complete": complete}
        return run

    model = torch.nn.Linear(2, 2)
    key = C.cache_key("toy", lr=0.1, seed=0)
    assert key == C.cache_key("toy", seed=0, lr=0.1) != C.cache_key("toy", lr=0.2, seed=0)
    _, hit = C.cached(key, {"m": model}, {"n": 2}, train(complete=False), verbose=False)
    assert not hit and not C.model_cache_path(key).exists()  # interrupted: never cached
    _, hit = C.cached(key, {"m": model}, {"n": 2}, train(), verbose=False)
    assert not hit and C.model_cache_path(key).exists()
    fresh = torch.nn.Linear(2, 2)
    meta, hit = C.cached(key, {"m": fresh}, {"n": 2}, train(), verbose=False)
    assert hit and len(trained) == 2 and torch.all(fresh.weight == 3.0) and meta["complete"]


# ----------------------------------------------------------------------------- runtime

def test_quick_mode_switch(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert quick_mode() and pick(100, 2) == 2
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert not quick_mode() and pick(100, 2) == 100
    monkeypatch.setenv("COURSE_QUICK", "maybe")
    with pytest.raises(ValueError, match="COURSE_QUICK"):
        quick_mode()


def test_device_choice(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert get_device().type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            get_device("cuda")


def test_check_loss_stops_nan_and_losses_above_the_ceiling():
    from course_utils.core.training import TrainingDiverged, check_loss

    check_loss(torch.tensor(5.0), "loss", ceiling=10.0)  # below: nothing happens
    check_loss(torch.tensor(-1e9), "loss", ceiling=10.0)  # only an upper bound
    with pytest.raises(TrainingDiverged, match=r"loss is 11, above 10 \(why\)") as err:
        check_loss(torch.tensor(11.0), "loss", ceiling=10.0, why="why")
    assert not isinstance(err.value, NonFiniteLossError)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(NonFiniteLossError):
            check_loss(torch.tensor(bad), "loss", ceiling=10.0)


def test_fit_reports_where_a_step_diverged():
    from course_utils.core.training import TrainingDiverged, check_loss

    model, step, batches = make_problem()
    calls = {"n": 0}

    def exploding(batch):
        calls["n"] += 1
        if calls["n"] == 10:
            check_loss(torch.tensor(1e30), "the loss", ceiling=1e3)
        return step(batch)

    with pytest.raises(TrainingDiverged, match=r"epoch 2, step 10 \(batch 2\): the loss is 1e\+30") as err:
        fit(exploding, batches, epochs=3, progress=False)
    e = err.value
    assert (e.epoch, e.step, e.batch) == (2, 10, 2) and e.history.stop_reason == "diverged"
    assert e.cause.startswith("the loss is 1e+30") and len(e.history) == 1
