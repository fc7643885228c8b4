"""Sharing the CPUs between course processes that compute at the same time.

Two course processes (two notebooks, a notebook and a command line, two Binder kernels)
that each run PyTorch with all CPUs' worth of threads oversubscribe the machine: an OpenMP
thread that is descheduled makes every other thread of its team wait at the next
barrier, and the small matrix products of a training step hit thousands of barriers a
second (``benchmarks/results/contention.json``: a VAE training loop beside an
evaluating process ran many times slower than alone). Here the processes cooperate
instead: each one that is computing registers itself in a small registry in the cache
folder (``<cache>/cpus/<pid>.json``) and uses an equal share of the CPUs' threads; a
process alone keeps all of them.

- :func:`sharing` -- a context manager (and decorator) around a piece of heavy work
  (:func:`course_utils.core.training.fit` wraps every training loop in it; the
  evaluations wrap themselves); nested uses in one process register once.
- :func:`tick` -- called between steps or batches: at most every :data:`CHECK_SECONDS`
  it re-reads the registry and adjusts this process's thread count.
- ``COURSE_THREADS`` overrides the share: the process uses exactly that many threads
  (it still registers, so the others make room for it).

Entries of processes that died without cleaning up (killed, crashed) are ignored and
removed: an entry counts only while its process id is alive and has the start time the
entry recorded (so a re-used process id does not count). Processes that are idle (a
kernel between cells) are not registered. Processes with another ``COURSE_CACHE_DIR``,
or that are not course processes at all, are not seen.

What is not here: choosing the device or the default thread count
(:mod:`course_utils.core.runtime`), the training loop (:mod:`course_utils.core.training`).
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

import torch

from course_utils.core.runtime import cache_dir, set_threads
from course_utils.core.storage import write_json

ENV_THREADS = "COURSE_THREADS"
CHECK_SECONDS = 0.5  # how often a computing process re-reads the registry (a check costs ~0.1 ms)


def registry_dir() -> Path:
    """The registry of computing course processes: ``<cache>/cpus``."""
    return cache_dir() / "cpus"


def start_token(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from ``/proc``); None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22 (starttime), counted after the command name


def alive(pid: int, token: str | None = None) -> bool:
    """True when process ``pid`` exists (and, given ``token``, is the process that recorded it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    except OSError:
        return False
    return token is None or start_token(pid) in (None, token)


def active(folder: Path | None = None, clean: bool = True) -> list[dict]:
    """The registry's entries of live processes; entries of dead ones are skipped (and removed when ``clean``)."""
    folder = registry_dir() if folder is None else Path(folder)
    entries = []
    try:
        files = list(folder.glob("*.json"))
    except OSError:
        return entries
    for path in files:
        try:
            entry = json.loads(path.read_text())
            pid = int(entry["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written, or not ours
        if alive(pid, entry.get("start")):
            entries.append(entry)
        elif clean:
            with contextlib.suppress(OSError):
                path.unlink()
    return entries


def fair_share(cpus: int, processes: int) -> int:
    """Threads for each of ``processes`` computing processes on ``cpus`` threads' worth of CPUs (at least 1)."""
    return max(1, cpus // max(1, processes))


class _State:
    """This process's registration: how deep the nesting is and what to restore."""

    depth = 0
    path: Path | None = None
    cpus = 1           # the threads this process would use alone
    restore = 1        # the thread count before the outermost sharing()
    last_check = 0.0


def threads_now(folder: Path | None = None) -> int:
    """The thread count this process should use now: ``COURSE_THREADS``, else its share of the CPUs."""
    if os.environ.get(ENV_THREADS, "").strip():
        return set_threads()  # COURSE_THREADS, parsed (and bad values reported) in one place
    me = os.getpid()
    others = sum(1 for e in active(folder) if int(e["pid"]) != me)
    return fair_share(_State.cpus, others + 1)


def tick(force: bool = False) -> int:
    """Inside :func:`sharing`: re-read the registry (at most every :data:`CHECK_SECONDS`) and set the threads.

    Returns the thread count in use. Outside :func:`sharing` it does nothing.
    """
    if _State.depth == 0:
        return torch.get_num_threads()
    now = time.monotonic()
    if force or now - _State.last_check >= CHECK_SECONDS:
        _State.last_check = now
        n = threads_now(_State.path.parent if _State.path else None)
        if n != torch.get_num_threads():
            torch.set_num_threads(n)
    return torch.get_num_threads()


class sharing(contextlib.ContextDecorator):
    """Register this process as computing (``what``: e.g. ``"training"``) and use its share of the CPUs.

    On leaving the outermost ``sharing`` the entry is removed and the thread count is
    restored. Usable as ``with sharing("training"):`` or as a decorator ``@sharing("evaluation")``.
    """

    def __init__(self, what: str = "computing"):
        self.what = what

    def __enter__(self) -> sharing:
        if _State.depth == 0:
            _State.restore = _State.cpus = torch.get_num_threads()
            pid = os.getpid()
            path = registry_dir() / f"{pid}.json"
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                # an entry lives as long as its process: atomic, but no fsync on every training call
                write_json(path, {"pid": pid, "start": start_token(pid), "what": self.what}, durable=False)
                _State.path = path
            except OSError:
                _State.path = None  # a read-only cache: compute without sharing rather than fail
        _State.depth += 1
        if _State.depth == 1:
            try:
                tick(force=True)  # raises on a bad COURSE_THREADS: leave nothing registered behind
            except BaseException:
                self.__exit__(None, None, None)
                raise
        return self

    def start(self) -> sharing:
        """``with`` without a block: pair with :meth:`stop` in a ``finally``."""
        return self.__enter__()

    def stop(self) -> None:
        self.__exit__(None, None, None)

    def __exit__(self, *exc) -> None:
        _State.depth -= 1
        if _State.depth == 0:
            if _State.path is not None:
                with contextlib.suppress(OSError):
                    _State.path.unlink()
                _State.path = None
            if torch.get_num_threads() != _State.restore:
                torch.set_num_threads(_State.restore)
