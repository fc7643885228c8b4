"""Checkpoints: safetensors files written atomically, checked against the architecture.

A checkpoint holds the ``state_dict`` of one or more modules (e.g. ``encoder`` and
``decoder``, or ``generator`` and ``discriminator``) and a JSON ``meta`` record:
the architecture config, the data set, the seed, the training history. Loading
checks the architecture first and says what differs, instead of failing deep in
``load_state_dict``.

:func:`cached` is the checkpoint cache used by the training functions: the same
kind, config, data set and seed load the trained model instead of training again.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from course_utils.core.runtime import cache_dir
from course_utils.core.storage import atomic_write, writable_dir


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


def cache_key(kind: str, **parts) -> str:
    """A short stable hash of everything that determines a trained model."""
    text = json.dumps({"kind": kind, **parts}, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def model_cache_path(key: str) -> Path:
    return cache_dir() / "models" / f"{key}.safetensors"


def cached(key: str, modules: dict[str, torch.nn.Module], arch: dict,
           train: Callable[[], dict], use_cache: bool = True, verbose: bool = True) -> tuple[dict, bool]:
    """Load ``modules`` from the model cache under ``key``, or run ``train()`` and cache the result.

    ``train()`` returns the meta record to store (it must hold ``"complete": True``
    for the result to be cached: an interrupted run is returned but never cached).
    Returns ``(meta, from_cache)``.
    """
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
    meta = train()
    meta = {**meta, "arch": arch, "key": key}
    if use_cache and meta.get("complete") and writable_dir(path.parent, "trained models") is not None:
        save_checkpoint(path, modules, meta)
    return meta, False
