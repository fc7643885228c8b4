"""A model-agnostic epoch loop with hooks, budgets, progress and safe interruption.

Nothing here knows about VAEs or GANs: a model module supplies a ``step(batch)``
function that does one optimisation step and returns its metrics, and an optional
``evaluate()`` for validation metrics. This loop runs the epochs, averages the
metrics, shows a ``tqdm.auto`` progress bar, calls hooks at each epoch's end
(e.g. "keep a sample grid at epoch 5"), honours an epoch or time budget, and
turns Ctrl-C into a clean stop that returns what was learned so far.

A step must call :func:`check_finite` (or :func:`check_loss`, which also knows a
ceiling no working model reaches) on its loss *before* updating parameters, so a
NaN, an inf or an exploded loss stops training (:class:`TrainingDiverged`) with the
parameters of the last good step. Resumable per-epoch checkpoints and rolling back
to the last complete epoch are :class:`course_utils.core.checkpoints.RunState`.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from course_utils.core import cpus


class TrainingDiverged(FloatingPointError):
    """Training diverged: a loss went NaN/inf or far above what any working model scores.

    Raised from :func:`fit` with ``history`` (the epochs completed), ``epoch``, ``step``
    and ``batch`` (where it happened) and ``cause`` (what the step saw, e.g.
    ``"the VAE loss is 3.1e+34, above ..."``); no update was made with the bad loss.
    """

    def __init__(self, message: str, history: History | None = None):
        super().__init__(message)
        self.history = history
        self.cause, self.epoch, self.step, self.batch = message, None, None, None


class NonFiniteLossError(TrainingDiverged):
    """Training produced NaN or inf; the model still holds the last good parameters."""


def check_finite(loss: torch.Tensor, name: str = "loss") -> None:
    """Raise :class:`NonFiniteLossError` when ``loss`` is NaN or inf (call before ``backward``)."""
    if not torch.isfinite(loss).all():
        raise NonFiniteLossError(f"{name} is {loss.detach().flatten()[0].item()}")


def check_loss(loss: torch.Tensor, name: str = "loss", ceiling: float | None = None, why: str = "") -> None:
    """Raise when the 0-d ``loss`` is NaN/inf (:class:`NonFiniteLossError`) or above ``ceiling``
    (:class:`TrainingDiverged`, the message ends with ``why``, the reason for the ceiling).

    Call before ``backward``. One comparison, so one device synchronisation, like :func:`check_finite`.
    """
    if ceiling is None:
        return check_finite(loss, name)
    if not bool(loss <= ceiling):  # also true for NaN
        value = loss.detach().flatten()[0].item()
        if not math.isfinite(value):
            raise NonFiniteLossError(f"{name} is {value}")
        raise TrainingDiverged(f"{name} is {value:.3g}, above {ceiling:.4g}{' (' + why + ')' if why else ''}")


@dataclass
class History:
    """Per-epoch metrics: ``history.epochs`` is a list of dicts, ``history['train_loss']`` a column."""

    epochs: list[dict] = field(default_factory=list)
    interrupted: bool = False
    stop_reason: str = "completed"
    steps: int = 0
    seconds: float = 0.0

    def __getitem__(self, key: str) -> list:
        return [e[key] for e in self.epochs if key in e]

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def last(self) -> dict:
        return self.epochs[-1] if self.epochs else {}

    def to_dict(self) -> dict:
        return {"epochs": self.epochs, "interrupted": self.interrupted,
                "stop_reason": self.stop_reason, "steps": self.steps, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**{k: d[k] for k in ("epochs", "interrupted", "stop_reason", "steps", "seconds") if k in d})


Hook = Callable[[int, History], None]


def snapshot_epochs(sample_epochs, epochs: int) -> tuple[int, ...]:
    """Epochs at which to keep sample grids: ``sample_epochs`` or start, middle and end; sorted, in 0..epochs."""
    wanted = sample_epochs if sample_epochs is not None else (0, epochs // 2, epochs)
    return tuple(sorted({e for e in wanted if 0 <= e <= epochs}))


def fit(step: Callable[[object], dict], batches: Iterable, *, epochs: int,
        evaluate: Callable[[], dict] | None = None, hooks: Iterable[Hook] = (),
        max_seconds: float | None = None, progress: bool = True, desc: str = "training",
        history: History | None = None) -> History:
    """Run ``epochs`` passes of ``step`` over ``batches``; return the :class:`History`.

    Args:
        step: called with each batch; returns ``{"name": float or 0-d tensor}``.
        batches: re-iterable; one ``iter()`` is one epoch (e.g. :class:`~course_utils.core.batches.Batches`).
        evaluate: called after each epoch; its metrics are stored with a ``val_`` prefix.
        hooks: ``hook(epoch, history)`` after each epoch (epochs count from 1).
        max_seconds: time budget; no new epoch starts when it would likely overrun.
        history: continue an earlier history (epochs keep counting).

    Ctrl-C stops cleanly: the history so far is returned with ``interrupted=True``.
    A :class:`TrainingDiverged` (e.g. :class:`NonFiniteLossError`) from ``step`` is
    re-raised with the epoch and step added and the history attached.
    """
    history = history if history is not None else History()
    start_epoch = len(history)
    n_batches = len(batches) if hasattr(batches, "__len__") else None
    total = n_batches * epochs if n_batches is not None else None
    bar = tqdm(total=total, desc=desc, unit="step", disable=not progress, leave=True)
    t0 = time.perf_counter()
    epoch_times: list[float] = []
    cpu_share = cpus.sharing("training").start()  # this process's share of the CPUs (core/cpus.py)
    try:
        for epoch in range(start_epoch + 1, start_epoch + epochs + 1):
            elapsed = time.perf_counter() - t0
            if max_seconds is not None and epoch_times and elapsed + epoch_times[-1] > max_seconds:
                history.stop_reason = f"time budget of {max_seconds:.0f} s"
                break
            te = time.perf_counter()
            sums: dict[str, float] = {}
            count = 0
            for batch in batches:
                cpus.tick()
                try:
                    metrics = step(batch)
                except TrainingDiverged as exc:
                    finite = not isinstance(exc, NonFiniteLossError)
                    history.stop_reason = "diverged" if finite else "non-finite loss"
                    error = type(exc)(
                        f"Training stopped at epoch {epoch}, step {history.steps + 1} (batch {count + 1}): "
                        f"{exc}. The model keeps the parameters of the last good step; lower the "
                        "learning rate or check the inputs.", history)
                    error.cause, error.epoch, error.step, error.batch = str(exc), epoch, history.steps + 1, count + 1
                    raise error from None
                for k, v in metrics.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
                count += 1
                history.steps += 1
                bar.update(1)
            record = {"epoch": epoch, **{k: v / max(count, 1) for k, v in sums.items()}}
            if evaluate is not None:
                record.update({f"val_{k}": float(v) for k, v in evaluate().items()})
            epoch_times.append(time.perf_counter() - te)
            record["seconds"] = epoch_times[-1]
            history.epochs.append(record)
            bar.set_postfix({k: f"{v:.4g}" for k, v in record.items()
                             if k not in ("epoch", "seconds") and isinstance(v, float) and math.isfinite(v)})
            for hook in hooks:
                hook(epoch, history)
    except KeyboardInterrupt:
        history.interrupted = True
        history.stop_reason = "interrupted"
        print(f"\nInterrupted after {len(history)} complete epoch(s); returning the model as it is.")
    finally:
        cpu_share.stop()
        bar.close()
        history.seconds += time.perf_counter() - t0
    return history
