"""Shared test fixtures: every test gets its own empty cache folder and quiet data choice."""
from __future__ import annotations

import contextlib
import gzip
import io
import os
import secrets
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Point COURSE_CACHE_DIR at a fresh folder so tests never read or clobber a user's cache.

    The data set is the offline Fashion-MNIST unless a test chooses otherwise, so no test (nor a
    notebook kernel a test starts) tries to download MNIST; the download path itself is tested
    against a local server (tests/test_data.py).
    """
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(cache))
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_DATASET", "fashion-mnist")
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    return cache


@pytest.fixture
def one_thread():
    """One PyTorch thread for the test: small tensors run fastest so, and a shared CPU is not stalled."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def load_offline_fashion(tmp_path_factory, pixels: str):
    """The real Fashion-MNIST (Debian's offline copy) with its decoded-data cache in a temporary folder.

    For module-scoped fixtures (loaded once per test module); skips the tests when the
    data set is not installed.
    """
    from course_utils.core.data import DataError, load_data

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_CACHE_DIR", str(tmp_path_factory.mktemp("data-cache")))
        try:
            return load_data("fashion-mnist", pixels=pixels, verbose=False)
        except DataError as exc:
            pytest.skip(f"Fashion-MNIST is not installed: {exc}")


def accepts(check, fn) -> str:
    """Assert that the exercise check ``check(fn)`` passes: returns None and prints a line starting with OK.

    Returns what it printed (non-empty, so ``assert accepts(...)`` reads naturally).
    """
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert check(fn) is None
    assert buf.getvalue().startswith("OK "), buf.getvalue()
    return buf.getvalue()


def rejects(check, fn, *fragments) -> str:
    """Assert that ``check(fn)`` raises ExerciseError whose message contains every fragment; return the message."""
    from course_utils.exercises.vae import ExerciseError

    with pytest.raises(ExerciseError) as info:
        check(fn)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def write_idx(path: Path, array: torch.Tensor, compress: bool = True) -> Path:
    """Write a uint8 tensor in the IDX format used by (Fashion-)MNIST (big-endian header)."""
    array = array.to(torch.uint8).contiguous()
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.numpy().tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        with gzip.open(path, "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)
    return path


def make_tiny_mnist(folder: Path, n_train: int = 60, n_test: int = 12, seed: int = 0,
                    layout: str = "torchvision", name: str = "MNIST") -> dict:
    """Write tiny MNIST-format IDX files; return the tensors written.

    ``layout='torchvision'`` puts them in ``folder/MNIST/raw/*.gz`` (where torchvision
    downloads to); ``'flat'`` puts them straight into ``folder``.
    """
    g = torch.Generator().manual_seed(seed)
    tensors = {
        "train_images": torch.randint(0, 256, (n_train, 28, 28), generator=g, dtype=torch.uint8),
        "train_labels": torch.arange(n_train, dtype=torch.uint8) % 10,
        "test_images": torch.randint(0, 256, (n_test, 28, 28), generator=g, dtype=torch.uint8),
        "test_labels": (torch.arange(n_test, dtype=torch.uint8) * 3) % 10,
    }
    base = folder / name / "raw" if layout == "torchvision" else folder
    names = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
    for key, stem in names.items():
        write_idx(base / f"{stem}.gz", tensors[key])
    return tensors


@pytest.fixture
def tiny_mnist(tmp_path):
    """A folder holding tiny MNIST IDX files in torchvision's layout, and their contents."""
    root = tmp_path / "mnist-root"
    return root, make_tiny_mnist(root)


@pytest.fixture
def offline(monkeypatch):
    """Make any download attempt fail at once, as on a machine without internet."""
    import urllib.request

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    from course_utils.core import data
    monkeypatch.setattr(data, "_DOWNLOAD_FAILED", {})
    return refuse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_lab(root: Path, env: dict, log_path: Path):
    """A JupyterLab server on 127.0.0.1 serving ``root`` (news and update checks off, its own
    config folders in ``env``); yields ``(base_url, token)`` once it answers, stops it afterwards."""
    port, token = free_port(), secrets.token_hex(16)
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.expose_app_in_browser=True", "--ServerApp.disable_check_xsrf=False",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError as exc:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    raise RuntimeError("JupyterLab did not start:\n" + Path(log_path).read_text()[-3000:]) from exc
                time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
