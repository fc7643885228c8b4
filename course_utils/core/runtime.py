"""Runtime settings in one place: device, seeding, threads, quick mode, cache folder.

Every other module asks here instead of reading environment variables itself, so a
student (or CI) changes one switch and the whole course follows:

- ``COURSE_DEVICE``  -- ``cpu``, ``cuda`` or ``cuda:N``; default: CUDA when available.
- ``COURSE_THREADS`` -- number of CPU threads for PyTorch, fixed; default: all CPUs for a course process
  computing alone, an equal share when several compute at once (:mod:`course_utils.core.cpus`).
- ``COURSE_QUICK``   -- ``1`` makes every notebook fast (fewer epochs, less data);
  unset or ``0`` is full mode, which produces the real results.
- ``COURSE_PRECISION`` -- ``float32`` or ``bfloat16`` fixes what ``precision="auto"`` trains in
  (no timing probe); unset or ``auto``: the probe decides where the CPU has bfloat16.
- ``COURSE_CACHE_DIR`` -- where decoded data and trained models are kept;
  default: ``$XDG_CACHE_HOME/dgm-course`` (``~/.cache/dgm-course``).

Training precision is a model setting (``VAEConfig.precision``,
``GANConfig.precision``); :func:`training_precision` says what ``"auto"`` means on
this machine and :func:`autocast` applies it.

Data-set choice lives in :mod:`course_utils.core.data`; nothing here touches data.
"""
from __future__ import annotations

import contextlib
import os
import random
from pathlib import Path

import numpy as np
import torch

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _env_flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={os.environ[name]!r} is not understood; use 1 (or true, yes, on) "
                     "or 0 (or false, no, off), or unset it.")


def quick_mode() -> bool:
    """True when ``COURSE_QUICK`` is set: CI-sized runs instead of the real results."""
    return _env_flag("COURSE_QUICK")


#: The environment switch that trains the course's models here instead of loading its reference models (all but the
#: evaluation classifier, the yardstick, which loads either way: ``course_utils.evaluation.train_classifier``).
ENV_TRAIN_HERE = "COURSE_TRAIN_HERE"
_reference_models = True  # use_reference_models(False) (a notebook's TRAIN_HERE = True) turns them off


def use_reference_models(flag: bool = True) -> None:
    """Whether a full-mode run loads the course's reference model for its exact settings (the default) or
    trains here. A notebook's set-up cell calls ``use_reference_models(not TRAIN_HERE)``;
    ``COURSE_TRAIN_HERE=1`` in the environment trains here whatever this says. Neither retrains the evaluation
    classifier, the yardstick (``train_classifier(..., train_here=True)`` does)."""
    global _reference_models
    _reference_models = bool(flag)


def reference_models_enabled() -> bool:
    """True unless :func:`use_reference_models` ``(False)`` was called or ``COURSE_TRAIN_HERE`` is set."""
    return _reference_models and not _env_flag(ENV_TRAIN_HERE)


def pick(full, quick):
    """Return ``quick`` in quick mode and ``full`` otherwise (one call per knob)."""
    return quick if quick_mode() else full


def get_device(preferred: str | torch.device | None = None) -> torch.device:
    """The device the course computes on.

    Order: the ``preferred`` argument, then ``COURSE_DEVICE``, then CUDA when it
    is available, else the CPU. Asking for CUDA where there is none is an error
    rather than a silent fall back, so a timing is never quietly on the wrong chip.
    """
    from_env = preferred is None
    choice = os.environ.get("COURSE_DEVICE", "").strip() or None if from_env else preferred
    if choice is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    where = "COURSE_DEVICE=" if from_env else "device="
    cuda_note = "" if torch.cuda.is_available() else " (PyTorch sees no CUDA GPU here, so only cpu works)"
    accepted = f"Use cpu, cuda or cuda:N{cuda_note}."
    try:
        device = torch.device(choice.lower() if isinstance(choice, str) else choice)
    except (RuntimeError, TypeError):
        raise ValueError(f"{where}{str(choice)!r} is not a device the course runs on. {accepted}") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"{where}{str(choice)!r} is not a device the course runs on. {accepted}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"Device {str(device)!r} was requested ({where}{str(choice)!r}) but PyTorch sees no CUDA GPU. "
            + ("Unset COURSE_DEVICE (or set it to cpu)" if from_env else "Pass device='cpu'")
            + " to run on the CPU."
        )
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"{where}{str(choice)!r}: PyTorch sees {torch.cuda.device_count()} CUDA GPU(s), "
                         f"numbered from 0. Use cuda or cuda:0 .. cuda:{torch.cuda.device_count() - 1}.")
    return device


_trim_registered = False


def _malloc_trim():
    """glibc's ``malloc_trim`` (None elsewhere: macOS, Windows, musl)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def release_memory_after_cells() -> bool:
    """In a notebook kernel on Linux, hand the memory each cell freed back to the system when the cell ends
    (glibc's ``malloc_trim`` in IPython's ``post_run_cell``; once per kernel). Freed blocks otherwise stay
    in the kernel's heap, so an idle notebook keeps its peak: on Binder (2 GB for the server and every open
    kernel) that killed the next notebook. True when the hook is in place."""
    global _trim_registered
    if _trim_registered:
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell, trim = get_ipython(), _malloc_trim()
    if shell is None or trim is None:
        return False
    shell.events.register("post_run_cell", lambda *_: trim(0))
    _trim_registered = True
    return True


def set_threads(n: int | None = None) -> int:
    """Set PyTorch's CPU thread count (``n`` or ``COURSE_THREADS``); return the count in use.

    Every notebook's set-up cell calls it; in a notebook kernel it also calls
    :func:`release_memory_after_cells`.
    """
    release_memory_after_cells()
    if n is None:
        env = os.environ.get("COURSE_THREADS", "").strip()
        if env:
            try:
                n = int(env)
            except ValueError:
                n = 0
            if n < 1:
                raise ValueError(f"COURSE_THREADS={env!r} is not a thread count; use a positive integer "
                                 "(e.g. COURSE_THREADS=2), or unset it to let the course share the CPUs.") from None
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"thread count must be a positive integer, got {n!r}")
        torch.set_num_threads(n)
    return torch.get_num_threads()


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA); return a fresh seeded CPU generator.

    The returned generator is what course code passes around explicitly, so a
    result depends on the seed given here and not on how many random numbers some
    earlier cell happened to draw.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def cache_dir() -> Path:
    """The per-user cache folder (not created here; callers create what they need)."""
    env = os.environ.get("COURSE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "dgm-course"


PRECISIONS = ("auto", "float32", "bfloat16")


def has_native_bfloat16(device: str | torch.device = "cpu") -> bool:
    """True when ``device`` multiplies bfloat16 matrices in hardware (faster than float32).

    CPUs: AVX512-BF16 or AMX (recent AMD EPYC/Ryzen, Intel Xeon since Cooper Lake).
    Elsewhere bfloat16 is emulated and *slower* than float32, so ``"auto"`` keeps float32.
    CUDA: GPUs from Ampere on.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
        try:
            return any(bool(probe()) for probe in probes if probe is not None)
        except RuntimeError:
            return False
    return False


def check_precision(precision: str, name: str = "precision") -> str:
    """Return ``precision`` if it is one of :data:`PRECISIONS`; else a ValueError naming ``name`` and the choices."""
    if precision not in PRECISIONS:
        raise ValueError(f"{name} must be one of {PRECISIONS}, got {precision!r}")
    return precision


ENV_PRECISION = "COURSE_PRECISION"


def auto_precision_override() -> str | None:
    """What ``COURSE_PRECISION`` fixes ``"auto"`` to (``"float32"`` or ``"bfloat16"``); None when unset or ``auto``.

    The switch replaces the timing probe, so a run's precision does not depend on how loaded
    the machine was when the probe ran (the test command sets ``COURSE_PRECISION=float32``).
    Notebook kernels inherit it from the environment like every other ``COURSE_*`` switch.
    """
    value = os.environ.get(ENV_PRECISION, "").strip().lower()
    if value in ("", "auto"):
        return None
    if value not in ("float32", "bfloat16"):
        raise ValueError(f"{ENV_PRECISION}={os.environ[ENV_PRECISION]!r} is not understood; use float32 or "
                         "bfloat16 to fix what precision='auto' means, or auto (or unset it) to let a short "
                         "probe decide on this machine.")
    return value


def training_precision(precision: str, device: str | torch.device = "cpu") -> str:
    """What a training run computes its matrix products in: ``"float32"`` or ``"bfloat16"``.

    ``"auto"`` picks bfloat16 only where the hardware has it (:func:`has_native_bfloat16`)
    *and* a short probe of training steps on this machine finds it faster
    (:func:`course_utils.core.precision.bfloat16_is_faster`, measured once per machine and
    cached), and float32 everywhere else, so no student trains slower than in float32. With
    bfloat16, only the matrix products of the forward and backward passes run in bfloat16
    (``torch.autocast``); weights, optimizer state, losses and every evaluation stay float32.
    Whether it is faster depends on the CPU: ``benchmarks/results/vae.json`` and ``gan.json``
    record it per machine. ``COURSE_PRECISION=float32`` (or ``bfloat16``) fixes what ``"auto"``
    means without the probe (:func:`auto_precision_override`).
    """
    if check_precision(precision) == "auto":
        fixed = auto_precision_override()
        if fixed is not None:
            return fixed
        if not has_native_bfloat16(device):
            return "float32"
        from course_utils.core.precision import bfloat16_is_faster  # imports runtime: keep it lazy

        return "bfloat16" if bfloat16_is_faster(device) else "float32"
    return precision


def autocast(precision: str, device: str | torch.device = "cpu") -> contextlib.AbstractContextManager:
    """A context in which matrix products run in ``precision`` (resolved as :func:`training_precision`)."""
    device = torch.device(device)
    if training_precision(precision, device) == "bfloat16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
