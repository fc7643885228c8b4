"""Sharing the CPUs between course processes: the registry, the shares, stale entries, COURSE_THREADS."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from course_utils.core import cpus
from course_utils.core.batches import Batches
from course_utils.core.training import fit


@pytest.fixture(autouse=True)
def two_threads(monkeypatch):
    """A process that alone uses 2 threads (so a share of 1 is visible), restored afterwards; no
    COURSE_THREADS pin from the caller's environment (make test's second run sets it to 1); the
    tests of the pin set it themselves."""
    monkeypatch.delenv("COURSE_THREADS", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def other_process():
    """A live process other than this one (a sleeping Python), ended afterwards."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def register(pid: int, start: str | None, what: str = "training"):
    path = cpus.registry_dir() / f"{pid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "start": start, "what": what}))
    return path


def own_entry() -> dict | None:
    return next((e for e in cpus.active() if e["pid"] == os.getpid()), None)


def test_fair_share_splits_the_cpus_equally_and_never_below_one():
    assert [cpus.fair_share(2, n) for n in (1, 2, 3)] == [2, 1, 1]
    assert cpus.fair_share(16, 3) == 5 and cpus.fair_share(16, 1) == 16 and cpus.fair_share(1, 0) == 1


def test_sharing_registers_once_however_nested_and_cleans_up(two_threads, isolated_cache):
    assert cpus.registry_dir() == isolated_cache / "cpus" and own_entry() is None
    with cpus.sharing("training"):
        assert own_entry()["what"] == "training"
        with cpus.sharing("evaluation"):  # nested: still the one entry of the outer use
            assert [e["what"] for e in cpus.active()] == ["training"]
        assert own_entry() is not None
        assert torch.get_num_threads() == 2  # alone: keeps every thread it had
    assert own_entry() is None and list(cpus.registry_dir().iterdir()) == []


def test_two_computing_processes_get_half_each_and_the_count_is_restored(two_threads, other_process):
    register(other_process.pid, cpus.start_token(other_process.pid))
    with cpus.sharing("evaluation"):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_tick_follows_the_registry_at_most_every_check_interval(two_threads, other_process, monkeypatch):
    assert cpus.tick(force=True) == 2  # outside sharing(): does nothing
    with cpus.sharing("training"):
        assert torch.get_num_threads() == 2
        entry = register(other_process.pid, cpus.start_token(other_process.pid))
        monkeypatch.setattr(cpus, "CHECK_SECONDS", 3600.0)
        assert cpus.tick() == 2  # checked a moment ago: not re-read yet
        monkeypatch.setattr(cpus, "CHECK_SECONDS", 0.0)
        assert cpus.tick() == 1  # the other process is computing now
        entry.unlink()
        assert cpus.tick() == 2  # and has finished


def test_entries_of_dead_or_replaced_processes_are_ignored_and_removed(two_threads, other_process):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = register(dead.pid, "12345")
    reused = register(other_process.pid, "0")  # a live pid, but not the process that registered
    assert cpus.active() == []
    assert not stale.exists() and not reused.exists()
    (cpus.registry_dir() / "garbage.json").write_text("{not json")  # half-written or foreign: skipped
    with cpus.sharing():
        assert torch.get_num_threads() == 2


def test_course_threads_overrides_the_share(two_threads, other_process, monkeypatch):
    register(other_process.pid, cpus.start_token(other_process.pid))
    monkeypatch.setenv("COURSE_THREADS", "3")
    with cpus.sharing():
        assert torch.get_num_threads() == 3
        assert own_entry() is not None  # still registered: the others make room for it
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("bad", ["zero", "0", "-2"])
def test_a_bad_course_threads_leaves_nothing_registered(two_threads, monkeypatch, bad):
    """The error comes from inside sharing()'s start, after the process registered: it must undo
    the registration, or the process counts as computing for the rest of its life and every other
    course process halves its threads."""
    monkeypatch.setenv("COURSE_THREADS", bad)
    with pytest.raises(ValueError, match="COURSE_THREADS"):
        with cpus.sharing("training"):
            pytest.fail("the block must not run")
    assert cpus._State.depth == 0 and cpus._State.path is None
    assert own_entry() is None and list(cpus.registry_dir().glob("*.json")) == []
    assert torch.get_num_threads() == 2
    # the training loop too: it starts sharing before its try block
    with pytest.raises(ValueError, match="COURSE_THREADS"):
        fit(lambda x: {"loss": x.mean()}, Batches(torch.rand(20, 3), batch_size=10), epochs=1, progress=False)
    assert cpus._State.depth == 0 and own_entry() is None and torch.get_num_threads() == 2
    monkeypatch.setenv("COURSE_THREADS", "1")  # a good value afterwards works as usual
    with cpus.sharing():
        assert torch.get_num_threads() == 1 and own_entry() is not None
    assert own_entry() is None and torch.get_num_threads() == 2


def test_the_training_loop_takes_its_share_while_it_trains(two_threads, other_process, monkeypatch):
    monkeypatch.setattr(cpus, "CHECK_SECONDS", 0.0)
    seen = []

    def step(x):
        seen.append((torch.get_num_threads(), own_entry() is not None))
        if len(seen) == 2:  # another process starts computing in the middle of the epoch
            register(other_process.pid, cpus.start_token(other_process.pid))
        return {"loss": x.mean()}

    fit(step, Batches(torch.rand(40, 3), batch_size=10, shuffle=False), epochs=1, progress=False)
    assert seen == [(2, True), (2, True), (1, True), (1, True)]
    assert own_entry() is None and torch.get_num_threads() == 2


def test_evaluations_register_as_computing(two_threads):
    from course_utils.vae.estimators import vae_iw_log_px
    from course_utils.vae.model import VAE, VAEConfig

    seen = []
    model = VAE(VAEConfig())
    encode = model.encode

    def watched_encode(x):
        seen.append(own_entry() is not None and own_entry()["what"])
        return encode(x)

    model.encode = watched_encode
    vae_iw_log_px(model, (torch.rand(2, 784) < 0.5).float(), 4, batch_size=1)
    assert seen and set(seen) == {"evaluation"}
    assert own_entry() is None


def test_an_unwritable_cache_computes_without_sharing(two_threads, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(blocker))  # cpus/ cannot be made under a file
    with cpus.sharing():
        assert torch.get_num_threads() == 2


def test_readme_quotes_the_contention_results():
    """The README's figures on several processes at once are contention.json's (re-running it must update both)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    results = json.loads((root / "benchmarks" / "results" / "contention.json").read_text())
    readme = (root / "README.md").read_text()
    before, after, passive = (results["summary"][v] for v in ("before", "after", "passive"))
    alone = "training alone, steps/s (median of rounds)"
    pair, mixed = ("training beside training: fraction of alone (each)",
                   "training beside evaluating: fraction of alone (training, evaluating)")
    assert all(results["target"][k] for k in results["target"] if k.startswith(("each", "after's")))
    pct = lambda f: f"{round(100 * f)} %"  # noqa: E731
    assert f"each ran at {pct(min(before[pair]))}" in readme
    assert f"process at {pct(before[mixed][0])} (the evaluation at {pct(before[mixed][1])})" in readme
    assert f"at least {pct(min(after[pair] + after[mixed]))} of its" in readme
    assert f"({after[alone]} against {before[alone]} steps/s)" in readme
    assert f"costs {pct(1 - passive[alone] / before[alone])} alone ({passive[alone]} steps/s)" in readme
    assert "Xeon" in results["machine"] and "Intel Xeon of\n`benchmarks/results/contention.json`" in readme


def test_a_notebook_kernel_gives_freed_memory_back_after_each_cell(monkeypatch):
    """set_threads (every set-up cell) registers one post_run_cell hook that calls malloc_trim: an idle notebook
    then holds what it keeps, not its peak (Binder's 2 GB is shared by the server and every open kernel)."""
    import IPython

    from course_utils.core import runtime

    calls, hooks = [], []

    class Events:
        def register(self, name, fn):
            hooks.append((name, fn))

    class Shell:
        events = Events()

    monkeypatch.setattr(runtime, "_trim_registered", False)
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert runtime.release_memory_after_cells() is False and hooks == []  # not in a kernel: nothing
    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    monkeypatch.setattr(runtime, "_malloc_trim", lambda: calls.append)
    runtime.set_threads()
    runtime.set_threads()
    assert [name for name, _ in hooks] == ["post_run_cell"]  # once per kernel
    hooks[0][1](object())  # IPython passes the cell's result
    assert calls == [0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_malloc_trim_is_found_on_linux():
    from course_utils.core import runtime

    trim = runtime._malloc_trim()
    assert trim is not None and trim(0) in (0, 1)
