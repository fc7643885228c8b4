"""Files on disk: atomic writes and cache folders that may be read-only.

Everything the course writes (decoded data, checkpoints, figures, metrics) goes
through :func:`atomic_write`, so an interrupted run never leaves a half-written
file: the bytes go to a temporary file in the same folder, which then replaces the
target in one ``os.replace``. Model checkpoints themselves live in
:mod:`course_utils.core.checkpoints`.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", durable: bool = True) -> Iterator:
    """Open a temporary file next to ``path``; on success it replaces ``path`` atomically.

    On any exception (Ctrl-C included) the temporary file is removed and ``path``
    is left exactly as it was. ``durable=False`` skips the flush to disk (``fsync``) for files
    that only live as long as the process writing them: still atomic, not crash-safe.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, obj, durable: bool = True) -> Path:
    """Write ``obj`` as indented JSON, atomically (see :func:`atomic_write` for ``durable``); return the path."""
    with atomic_write(path, "w", durable=durable) as fh:
        json.dump(obj, fh, indent=2, sort_keys=False)
        fh.write("\n")
    return Path(path)


def unwritable_reason(path: str | os.PathLike) -> OSError | None:
    """Create ``path`` if needed and try a file there: None when files can be written, else the error."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        return exc
    return None


def warn_unwritable(path: str | os.PathLike, purpose: str, exc: OSError, stacklevel: int = 2) -> None:
    """The one-line warning that ``purpose`` cannot be written to ``path``: what is lost and how to fix it.

    ``stacklevel`` as for :func:`warnings.warn`, counted from the caller of this function.
    """
    path = Path(path)
    reason = "it is a file, not a folder" if path.is_file() else (exc.strerror or str(exc))
    warnings.warn(
        f"Cannot write {purpose} to {path} ({reason}); continuing without caching. Set "
        "COURSE_CACHE_DIR to a writable folder to keep results between runs.",
        RuntimeWarning,
        stacklevel=stacklevel + 1,
    )


def writable_dir(path: str | os.PathLike, purpose: str) -> Path | None:
    """Create ``path`` if needed and return it when files can be written there.

    Returns ``None`` (with one warning saying what is lost and how to fix it) when
    the folder is read-only, so callers can carry on without caching.
    """
    exc = unwritable_reason(path)
    if exc is not None:
        warn_unwritable(path, purpose, exc, stacklevel=2)
        return None
    return Path(path)
