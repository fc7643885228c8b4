"""What every exercise check shares: the error it raises, calling the student's code, comparing results.

What lives here: :class:`ExerciseError` and the small helpers the checks of
:mod:`course_utils.exercises.vae` (notebooks 01-05) and
:mod:`course_utils.exercises.gan` (notebooks 06-08) use to call a student's function
safely, compare its result with a reference, and say which typical mistake it matches.
The checks themselves, and their reference formulas, live in those two modules.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


class ExerciseError(AssertionError):
    """The student's function gave a wrong answer; the message says which mistake it looks like."""


def _call(fn: Callable, name: str, *args):
    """Call the student's function on copies of the inputs; crashes (not NotImplementedError) become ExerciseErrors."""
    args = tuple(a.clone() if torch.is_tensor(a) else a for a in args)
    try:
        return fn(*args)
    except (NotImplementedError, ExerciseError):
        raise
    except Exception as exc:  # the student's code crashed: say where, keep the cause attached
        shapes = [tuple(a.shape) if torch.is_tensor(a) else a for a in args]
        raise ExerciseError(f"{name} raised {type(exc).__name__}: {exc}\n"
                            f"It was called with arguments of shapes {shapes}.") from exc


def _as_tensor(out, name: str) -> torch.Tensor:
    """The student's result as a tensor (a 1-tuple is unpacked), or an ExerciseError saying what came back."""
    if isinstance(out, tuple) and len(out) == 1:
        out = out[0]
    if not torch.is_tensor(out):
        raise ExerciseError(f"{name} must return a torch.Tensor, got {type(out).__name__}.")
    return out


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """Same shape and elementwise close in float64 (infinities of the same sign count as equal)."""
    a, b = a.detach().double(), b.detach().double()
    if a.shape != b.shape:
        return False
    return bool(torch.isclose(a, b, rtol=rtol, atol=atol).all())


def _short(t: torch.Tensor, n: int = 4) -> str:
    """The first ``n`` values of a tensor, for messages."""
    flat = t.detach().flatten()[:n].tolist()
    return "[" + ", ".join(f"{v:.4g}" for v in flat) + (", ..." if t.numel() > n else "") + "]"


def _first_match(got: torch.Tensor, mistakes: Sequence[tuple[torch.Tensor | None, str]], name: str) -> None:
    """Raise ExerciseError with the message of the first typical mistake that ``got`` matches."""
    for wrong, message in mistakes:
        if wrong is not None and _close(got, wrong):
            raise ExerciseError(f"{name}: {message}")


def _ok(name: str, what: str) -> None:
    print(f"OK {name}: {what}")
