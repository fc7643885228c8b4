"""Checkpoints: safetensors files written atomically, checked against the architecture.

A checkpoint holds the ``state_dict`` of one or more modules (e.g. ``encoder`` and
``decoder``, or ``generator`` and ``discriminator``) and a JSON ``meta`` record:
the architecture config, the data set, the seed, the training history. Loading
checks the architecture first and says what differs, instead of failing deep in
``load_state_dict``.

:func:`cached` is the checkpoint cache used by the training functions: the same
kind, config, data set and seed load the trained model instead of training again.

:class:`RunState` is the *partial* checkpoint of a run still in progress: at the
end of every epoch it writes everything needed to continue exactly where the run
stopped (weights, optimizer state, every random generator, the history and the
kept sample grids) to ``<key>.partial.pt`` beside the final ``<key>.safetensors``.
A run that is interrupted (Ctrl-C, a lost kernel, a time budget) resumes from it
when called again with the same settings; a finished run removes it. It is never
read as a finished model: :func:`cached` only looks at ``.safetensors`` files.

The course's **reference models** (``course_utils/reference/``, written by
``benchmarks/train_reference_models.py``) are the full-mode runs the notebooks train, trained once
and shipped: :func:`cached` given a ``reference`` key loads the one made with exactly those settings
and data (the key holds every setting but the precision the run resolves to here), unless the
reference models are turned off (:func:`course_utils.core.runtime.use_reference_models`,
``COURSE_TRAIN_HERE=1``); then the cache and training answer as before (a caller may pass ``reference_always``
for a yardstick that loads even then, such as the evaluation classifier).
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import io
import json
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from course_utils.core.runtime import ENV_TRAIN_HERE, cache_dir, reference_models_enabled
from course_utils.core.storage import atomic_write, unwritable_reason, warn_unwritable


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt or belongs to another architecture."""


def save_checkpoint(path, modules: dict[str, torch.nn.Module], meta: dict) -> Path:
    """Write the modules' weights and ``meta`` (JSON-serialisable) to ``path`` atomically."""
    tensors = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"{name}/{key}"] = value.detach().to("cpu").clone().contiguous()
    blob = st_save(tensors, metadata={"meta": json.dumps(meta)})
    with atomic_write(path) as fh:
        fh.write(blob)
    return Path(path)


def read_checkpoint(path) -> tuple[dict[str, torch.Tensor], dict]:
    """Return ``(tensors, meta)`` from a checkpoint file, with a clear error when unreadable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}.")
    try:
        data = path.read_bytes()
        tensors = st_load(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + header_len])
        meta = json.loads(header.get("__metadata__", {}).get("meta", "{}"))
    except (SafetensorError, ValueError, json.JSONDecodeError, OSError) as exc:
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({exc}). Delete it to retrain."
        ) from exc
    return tensors, meta


def stored_config(path, what: str) -> dict:
    """The training config recorded in a checkpoint's meta (``what`` names the model in the error)."""
    _, meta = read_checkpoint(path)
    if "config" not in meta:
        raise CheckpointError(f"{path} holds no {what} config; pass config= to load it.")
    return meta["config"]


def load_checkpoint(path, modules: dict[str, torch.nn.Module], arch: dict | None = None) -> dict:
    """Load weights from ``path`` into ``modules`` and return the stored ``meta``.

    ``arch`` is the architecture the caller built (e.g. ``{"z_dim": 20, "hidden": 500}``);
    when the checkpoint's differs, :class:`CheckpointError` names each difference.
    """
    tensors, meta = read_checkpoint(path)
    if arch is not None:
        stored = meta.get("arch", {})
        diffs = [f"{k}: checkpoint {stored.get(k)!r} vs model {arch.get(k)!r}"
                 for k in sorted(set(stored) | set(arch)) if stored.get(k) != arch.get(k)]
        if diffs:
            raise CheckpointError(
                f"{path} was saved for another architecture ({'; '.join(diffs)}). "
                "Build the model with the checkpoint's settings, or retrain."
            )
    states = {}
    for name, module in modules.items():  # check every module before loading any
        prefix = f"{name}/"
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        own = module.state_dict()
        problems = sorted(set(own) ^ set(state))
        problems += [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
                     for k in set(own) & set(state) if state[k].shape != own[k].shape]
        if problems:
            raise CheckpointError(
                f"{path}: the weights of {name!r} do not fit this model "
                f"({', '.join(problems[:5])}{' ...' if len(problems) > 5 else ''}). "
                "It was saved for another architecture; retrain or build the matching model."
            )
        states[name] = state
    for name, module in modules.items():
        module.load_state_dict(states[name])
    return meta


class SampleBank(torch.nn.Module):
    """The kept sample grids (one per snapshot epoch) and their fixed latent points, as buffers,
    so they travel inside a model's checkpoint (``images``: (k, n, 784), ``noise``: (n, latent_dim))."""

    def __init__(self, k: int, n_samples: int, latent_dim: int):
        super().__init__()
        self.register_buffer("images", torch.zeros(k, n_samples, 784))
        self.register_buffer("noise", torch.zeros(n_samples, latent_dim))


def cache_key(kind: str, **parts) -> str:
    """A short stable hash of everything that determines a trained model."""
    text = json.dumps({"kind": kind, **parts}, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def model_cache_path(key: str) -> Path:
    """Where the finished model of ``key`` is cached."""
    return cache_dir() / "models" / f"{key}.safetensors"


def partial_checkpoint_path(key: str) -> Path:
    """Where the resumable state of an unfinished run of ``key`` lives (beside the finished model's file)."""
    return cache_dir() / "models" / f"{key}.partial.pt"


#: Where the course's reference models live, and the script that trains them.
REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
REFERENCE_SCRIPT = "benchmarks/train_reference_models.py"


def reference_path(reference: str) -> Path:
    """The file of the reference model with key ``reference`` (it may not exist)."""
    return REFERENCE_DIR / f"{reference}.safetensors"


def reference_index() -> dict:
    """``course_utils/reference/index.json``: for each shipped reference model (by key) what it is, how long
    it trained, on which machine and data set, and what it scores."""
    path = REFERENCE_DIR / "index.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def reference_line(meta: dict, train_hint: str | None = None) -> str:
    """The one line a notebook prints when it loads a reference model: what it is, how long it took to
    train and where, and how to train it here instead (``train_hint``, else the ``TRAIN_HERE`` switch)."""
    ref = meta.get("reference", {})
    seconds = float(ref.get("train_seconds", float("nan")))
    took = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
    threads = ref.get("threads", "?")
    return (f"Loaded the course's reference model: {ref.get('title', meta.get('key', '?'))}, trained in {took} "
            f"({ref.get('precision', '?')}, {threads} thread{'' if threads == 1 else 's'}; weights stored in "
            f"{ref.get('stored_dtype', '?')}) on {ref.get('cpu', '?')}, {str(ref.get('date', '?'))[:10]}. "
            + (train_hint or f"To train it yourself: TRAIN_HERE = True in the set-up cell (or {ENV_TRAIN_HERE}=1)."))


def cached(key: str, modules: dict[str, torch.nn.Module], arch: dict,
           train: Callable[[], dict], use_cache: bool = True, verbose: bool = True,
           reference: str | None = None, reference_always: bool = False,
           train_hint: str | None = None) -> tuple[dict, bool]:
    """Load ``modules`` from the model cache under ``key``, or run ``train()`` and cache the result.

    With ``reference`` (a key without the resolved precision) and ``use_cache``, the course's reference
    model for exactly those settings is loaded first, when one is shipped and the reference models are on
    (:func:`~course_utils.core.runtime.reference_models_enabled`; with ``reference_always``, whether they
    are on or not — for a yardstick such as the evaluation classifier); it says so in one line, which ends
    with ``train_hint`` (how to train it here instead) when given.

    ``train()`` returns the meta record to store (it must hold ``"complete": True``
    for the result to be cached: an interrupted run is returned but never cached).
    A models folder that cannot be written (read-only, a file in its place, a full disk) costs only
    the caching: one warning says so, and training still returns its model.
    Returns ``(meta, from_cache)``.
    """
    if use_cache and reference is not None and (reference_always or reference_models_enabled()):
        shipped = reference_path(reference)
        if shipped.is_file():
            try:
                meta = load_checkpoint(shipped, modules, arch)
            except CheckpointError as exc:
                if verbose:
                    print(f"Ignoring an unusable reference model ({exc}); using the cache or training here.")
            else:
                if verbose:
                    print(reference_line(meta, train_hint))
                return meta, True
    path = model_cache_path(key)
    if use_cache and path.is_file():
        try:
            meta = load_checkpoint(path, modules, arch)
            if verbose:
                print(f"Loaded trained model from the cache: {path}")
            return meta, True
        except CheckpointError as exc:
            if verbose:
                print(f"Ignoring unusable cached model ({exc}); training again.")
    folder = path.parent
    _REPORTED.discard(folder)
    try:
        if use_cache:
            _usable(folder)  # a read-only folder is reported now, before training, in one line
        meta = train()
        meta = {**meta, "arch": arch, "key": key}
        if use_cache and meta.get("complete") and _usable(folder):
            try:
                save_checkpoint(path, modules, meta)
            except OSError as exc:  # the folder passed the write test and still refused (read-only now, full)
                _cannot_write(folder, exc)
            else:
                with contextlib.suppress(OSError):  # only after the finished model is safely written
                    partial_checkpoint_path(key).unlink(missing_ok=True)
    finally:
        _REPORTED.discard(folder)
    return meta, False


#: What a read-only models folder costs, in its warning (the finished model and the partial ones share it).
_UNWRITABLE_PURPOSE = "trained models and resumable checkpoints"
#: Folders whose write problem was reported by the training call in progress: one message per call.
_REPORTED: set[Path] = set()


def _cannot_write(folder: Path, exc: OSError) -> None:
    """Warn that ``folder`` cannot be written, once per training call (the partial checkpoints and the
    finished model fail for the same reason: one line says it)."""
    if folder not in _REPORTED:
        _REPORTED.add(folder)
        warn_unwritable(folder, _UNWRITABLE_PURPOSE, exc, stacklevel=3)


def _usable(folder: Path) -> bool:
    """Whether files can be written in ``folder`` (created if needed); reports it when not."""
    exc = unwritable_reason(folder)
    if exc is not None:
        _cannot_write(folder, exc)
    return exc is None


# --------------------------------------------------------------------------- resumable runs

RUN_STATE_VERSION = 1


def _global_rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state["numpy"] = (kind, keys.tolist(), int(pos), int(has_gauss), float(gauss))
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_global_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached_gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached_gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RunState:
    """The resumable state of one training run, captured at the end of every epoch.

    Use (see :func:`course_utils.vae.train.train_vae`)::

        state = RunState(partial_checkpoint_path(key), modules={"vae": model},
                         optimizers={"adam": optimizer}, generators={"batches": batches.generator},
                         history=history)
        state.resume()                     # True when a partial checkpoint was loaded
        fit(..., hooks=[keep_samples, state, *hooks], desc=state.describe("VAE"), history=history)

    Captured: the modules' ``state_dict`` (weights and buffers such as BatchNorm
    statistics), the optimizers' ``state_dict`` (Adam's moments and step counts, the
    learning rates), the named ``torch.Generator`` states (data order, binarization,
    training noise), PyTorch's, NumPy's and Python's global generators, and every
    field of ``history`` (per-epoch metrics, step count, kept sample grids). The
    learning-rate schedule's position is ``history.steps``.

    Called as a hook (``state(epoch, history)``), it keeps that capture in memory
    (for :meth:`rollback`) and, when ``path`` is not None, writes it atomically to
    ``path``. ``write_seconds`` lists the cost of each capture-and-write.
    """

    def __init__(self, path: Path | None, *, modules: dict[str, torch.nn.Module],
                 optimizers: dict[str, torch.optim.Optimizer], generators: dict[str, torch.Generator],
                 history, verbose: bool = True):
        if path is not None and not _usable(Path(path).parent):
            path = None
        self.path = Path(path) if path is not None else None
        self.modules, self.optimizers, self.generators = modules, optimizers, generators
        self.history, self.verbose = history, verbose
        self.resumed_from = 0  # the epoch a resumed run continued after (0: a fresh start)
        self.write_seconds: list[float] = []
        self._last = self._capture()  # epoch 0 until the first epoch ends

    # capture and apply
    def _capture(self) -> dict:
        fields = {f.name: getattr(self.history, f.name) for f in dataclasses.fields(self.history)}
        return {
            "version": RUN_STATE_VERSION,
            "epoch": len(self.history),
            "modules": {name: {k: v.detach().to("cpu", copy=True) for k, v in m.state_dict().items()}
                        for name, m in self.modules.items()},
            "optimizers": {name: copy.deepcopy(o.state_dict()) for name, o in self.optimizers.items()},
            "generators": {name: g.get_state() for name, g in self.generators.items()},
            "rng": _global_rng_state(),
            "history": copy.deepcopy(fields),
        }

    def _apply(self, snap: dict) -> None:
        if snap.get("version") != RUN_STATE_VERSION:
            raise CheckpointError(f"run-state version {snap.get('version')!r}, expected {RUN_STATE_VERSION}")
        missing = [f"{group} {name!r}" for group, own in (("module", self.modules), ("optimizer", self.optimizers),
                                                       ("generator", self.generators))
                   for name in own if name not in snap[group + "s"]]
        if missing:
            raise CheckpointError(f"it holds no {', '.join(missing)}")
        for name, module in self.modules.items():
            module.load_state_dict(snap["modules"][name])
        for name, opt in self.optimizers.items():  # a copy: load_state_dict may keep the tensors it is given
            opt.load_state_dict(copy.deepcopy(snap["optimizers"][name]))
        for name, gen in self.generators.items():
            gen.set_state(snap["generators"][name])
        _set_global_rng_state(snap["rng"])
        for name, value in copy.deepcopy(snap["history"]).items():
            current = getattr(self.history, name, None)
            if isinstance(current, dict) and isinstance(value, dict):  # in place: hooks may hold this dict
                current.clear()
                current.update(value)
            elif isinstance(current, list) and isinstance(value, list):
                current[:] = value
            else:
                setattr(self.history, name, value)

    # the public side
    def resume(self) -> bool:
        """Load the partial checkpoint at ``path`` if there is a usable one; True when it was loaded.

        An unreadable or mismatched file is reported, ignored and the run starts from epoch 0
        (with every state exactly as before the attempt). Whatever fails, and wherever (the file may
        hold anything ``torch.load`` accepts: a failure can come after the weights, the optimizer
        state or the generators were already applied), the fresh state is put back first.
        """
        if self.path is None or not self.path.is_file():
            return False
        fresh = self._last
        try:
            snap = torch.load(io.BytesIO(self.path.read_bytes()), map_location="cpu", weights_only=True)
            self._apply(snap)
        except Exception as exc:  # any unusable file: a fresh start, never a half-applied state
            self._apply(fresh)
            if self.verbose:
                print(f"Ignoring unusable partial checkpoint {self.path} ({type(exc).__name__}: {exc}); "
                      "training from epoch 0.")
            return False
        except BaseException:  # Ctrl-C half-way: stop with the fresh state, not a mixture
            self._apply(fresh)
            raise
        self.resumed_from = int(snap["epoch"])
        self._last = snap
        if self.verbose:
            print(f"Resuming from epoch {self.resumed_from} (partial checkpoint {self.path}).")
        return True

    def describe(self, desc: str) -> str:
        """The progress bar's label: ``desc``, plus "resuming from epoch k" for a resumed run."""
        return f"{desc} (resuming from epoch {self.resumed_from})" if self.resumed_from else desc

    def __call__(self, epoch: int, history=None) -> None:
        """The end-of-epoch hook: capture the state, keep it for :meth:`rollback`, write it to ``path``."""
        t0 = time.perf_counter()
        self._last = self._capture()
        if self.path is not None:
            buffer = io.BytesIO()
            torch.save(self._last, buffer)
            try:
                with atomic_write(self.path) as fh:
                    fh.write(buffer.getbuffer())
            except OSError as exc:  # a folder made read-only, a full disk: train on, without partial checkpoints
                _cannot_write(self.path.parent, exc)
                self.path = None
        self.write_seconds.append(time.perf_counter() - t0)

    def mark(self) -> None:
        """Take the current state as the one :meth:`rollback` returns to (e.g. after keeping epoch 0's samples)."""
        self._last = self._capture()

    @property
    def last_epoch(self) -> int:
        """The epoch of the last captured state (0: the start of the run)."""
        return int(self._last["epoch"])

    def rollback(self) -> int:
        """Put every module, optimizer, generator and the history back at the last captured state; return its epoch."""
        self._apply(self._last)
        return self.last_epoch

    def diverged(self, exc, advice: str):
        """Roll back after a :class:`~course_utils.core.training.TrainingDiverged` from ``fit``; return the
        exception to raise: what happened, ``advice`` (what to try) and the state the model is back at."""
        reason = exc.history.stop_reason if exc.history is not None else "diverged"
        epoch = self.rollback()
        self.history.stop_reason = reason
        where = f"after epoch {epoch}" if epoch else "before training (the initial weights)"
        saved = (f"; the partial checkpoint {self.path.name} holds the same state"
                 if self.path is not None and epoch else "")
        error = type(exc)(
            f"Training diverged at epoch {exc.epoch}, step {exc.step} (batch {exc.batch}): {exc.cause}. "
            f"{advice} The model is back at its last good state, {where}{saved}; nothing was saved as a "
            "finished model.", self.history)
        error.cause, error.epoch, error.step, error.batch = exc.cause, exc.epoch, exc.step, exc.batch
        return error

    def remove(self) -> None:
        """Delete the partial checkpoint (a finished run's is removed by :func:`cached`)."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)
