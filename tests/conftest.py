"""Shared test fixtures: every test gets its own empty cache folder and quiet data choice.

The whole session runs with a temporary home folder (``HOME``, the XDG folders, matplotlib's,
Jupyter's, IPython's and pip's caches all point into it), so no test reads or writes the user's
real home; :func:`pytest_sessionfinish` fails the session if the real home changed anyway.
``course_run`` is the session's one quick-mode execution of every notebook.
"""
from __future__ import annotations

import contextlib
import gzip
import io
import os
import secrets
import shutil
import site
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent

# ----------------------------------------------------------------------------- the user's home

#: Environment variables that decide where tools keep caches, configuration and runtime files.
HOME_VARIABLES = ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "MPLCONFIGDIR",
                  "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                  "PIP_CACHE_DIR", "TORCH_HOME", "COURSE_CACHE_DIR")


def home_snapshot(home: Path, depth: int = 3, full: tuple[str, ...] = (".cache/dgm-course",)) -> dict:
    """``{relative path: (mtime_ns, size)}`` of ``home`` down to ``depth`` levels, and all of each ``full`` folder.

    Creating or deleting anything at most ``depth`` levels down changes a listed folder's mtime;
    the course's own cache is listed file by file, so a rewritten model or probe file shows too.
    """
    snap = {}

    def add(path: Path):
        try:
            st = path.lstat()
        except OSError:
            return
        snap[str(path.relative_to(home))] = (st.st_mtime_ns, st.st_size)

    add(home)
    level = [home]
    for _ in range(depth):
        nxt = []
        for folder in level:
            try:
                children = list(os.scandir(folder))
            except OSError:
                continue
            for entry in children:
                add(Path(entry.path))
                if entry.is_dir(follow_symlinks=False):
                    nxt.append(Path(entry.path))
        level = nxt
    for sub in full:
        for dirpath, _, files in os.walk(home / sub):
            add(Path(dirpath))
            for f in files:
                add(Path(dirpath) / f)
    return snap


def snapshot_changes(before: dict, after: dict) -> list[str]:
    """What differs between two :func:`home_snapshot` results: created, removed, modified paths."""
    return sorted([f"created {p}" for p in after.keys() - before.keys()]
                  + [f"removed {p}" for p in before.keys() - after.keys()]
                  + [f"modified {p}" for p in before.keys() & after.keys() if before[p] != after[p]])


class NetworkRefused(OSError):
    """A test tried to reach a host other than this machine."""


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = str(address[0]) if isinstance(address, tuple) and address else ""
    return host in ("localhost", "::1", "") or host.startswith("127.") or host.startswith("::ffff:127.")


def guard_network() -> None:
    """Refuse every socket connection of the test process to a host other than this machine.

    Tests talk to local servers only (JupyterLab, a fake download server, the website); a connection
    anywhere else is a test that reaches the network, and fails with an error naming the address.
    """
    if getattr(socket.socket.connect, "_course_guard", False):
        return
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(method):
        def inner(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
                raise NetworkRefused(f"the test suite never reaches the network: a connection to {address!r} "
                                     "was refused (use a local server, as tests/test_data.py does)")
            return method(self, address)
        inner._course_guard = True
        return inner

    socket.socket.connect, socket.socket.connect_ex = guarded(connect), guarded(connect_ex)


def pytest_configure(config):
    """Before anything is imported or run: a temporary home for the whole session (kernels and servers inherit it)."""
    guard_network()
    if hasattr(config, "workerinput") or os.environ.get("COURSE_TEST_HOME"):
        return  # already inside a test session's home (e.g. a nested pytest)
    real = Path(os.path.expanduser("~"))
    fake = Path(tempfile.mkdtemp(prefix="course-tests-home-"))
    config._course_home = (real, fake, home_snapshot(real), {k: os.environ.get(k) for k in HOME_VARIABLES})
    user_base = site.getuserbase()  # packages installed with --user stay importable in subprocesses
    os.environ.update(
        COURSE_TEST_HOME=str(real), HOME=str(fake), PYTHONUSERBASE=os.environ.get("PYTHONUSERBASE", user_base),
        XDG_CACHE_HOME=str(fake / ".cache"), XDG_CONFIG_HOME=str(fake / ".config"),
        XDG_DATA_HOME=str(fake / ".local" / "share"), MPLCONFIGDIR=str(fake / ".config" / "matplotlib"),
        JUPYTER_CONFIG_DIR=str(fake / ".jupyter"), JUPYTER_DATA_DIR=str(fake / ".local" / "share" / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(fake / ".local" / "share" / "jupyter" / "runtime"),
        IPYTHONDIR=str(fake / ".ipython"), PIP_CACHE_DIR=str(fake / ".cache" / "pip"),
        TORCH_HOME=str(fake / ".cache" / "torch"), COURSE_CACHE_DIR=str(fake / ".cache" / "dgm-course"))


def pytest_sessionfinish(session, exitstatus):
    """Fail the session when the suite changed the user's real home (it must only use the temporary one)."""
    state = getattr(session.config, "_course_home", None)
    if state is None:
        return
    real, fake, before, _ = state
    changes = snapshot_changes(before, home_snapshot(real))
    if changes:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = (f"the test suite changed the user's home folder {real} ({len(changes)} paths):\n  "
                   + "\n  ".join(changes[:40]))
        if reporter is not None:
            reporter.write_line(f"\nERROR: {message}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config):
    state = getattr(config, "_course_home", None)
    if state is None:
        return
    _, fake, _, old = state
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    os.environ.pop("COURSE_TEST_HOME", None)
    shutil.rmtree(fake, ignore_errors=True)


def missing_prerequisite(message: str):
    """A prerequisite of a test is missing: skip on a developer's machine, fail under CI (``CI`` set).

    CI installs everything the suite needs (``.ci/run``), so a skip there would hide a broken set-up.
    """
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{message} (CI is set: a missing prerequisite fails instead of skipping)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_module(name: str, why: str = "pip install -r requirements-test.txt"):
    """Import and return module ``name``; a missing one is :func:`missing_prerequisite` (fails under CI)."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing_prerequisite(f"{name} is missing ({exc}): {why}")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Point COURSE_CACHE_DIR at a fresh folder so tests never read or clobber a user's cache.

    The data set is Fashion-MNIST (Debian's offline copy) unless a test chooses otherwise, so no test
    (nor a notebook kernel a test starts) tries to download anything; the download paths are tested
    against a local server (tests/test_data.py).
    """
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(cache))
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_DATASET", "fashion-mnist")
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    # the reference models are on, as for a student, whatever an earlier test switched
    from course_utils.core import runtime

    monkeypatch.delenv(runtime.ENV_TRAIN_HERE, raising=False)
    monkeypatch.setattr(runtime, "_reference_models", True)
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
    data set is not installed (fails them under CI).
    """
    from course_utils.core.data import DataError, load_data

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_CACHE_DIR", str(tmp_path_factory.mktemp("data-cache")))
        try:
            return load_data("fashion-mnist", pixels=pixels, verbose=False)
        except DataError as exc:
            missing_prerequisite(f"Fashion-MNIST is not installed: {exc}")


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


# ----------------------------------------------------------------------------- the course run

class CourseRun:
    """The session's one quick-mode execution of every notebook: ``out`` (executed notebooks, HTML,
    summary), ``cache`` (its course cache: data and the trained quick-mode models), ``proc``."""

    def __init__(self, base: Path, proc: subprocess.CompletedProcess | None):
        self.base, self.out, self.cache, self.proc = base, base / "run", base / "cache", proc

    @property
    def summary(self) -> dict:
        import json

        return json.loads((self.out / "summary.json").read_text())

    def rows(self) -> dict:
        return {Path(r["notebook"]).stem: r for r in self.summary["notebooks"]}

    def executed(self, stem: str):
        import nbformat

        return nbformat.read(self.out / f"{stem}.ipynb", as_version=4)

    def env(self) -> dict:
        """Variables for a kernel that should find this run's data and trained models."""
        return {"COURSE_CACHE_DIR": str(self.cache), "COURSE_DATASET": "fashion-mnist"}


@pytest.fixture(scope="session")
def course_run(tmp_path_factory) -> CourseRun:
    """Every notebook executed once, headless, in quick mode, exactly as ``make course-run QUICK=1`` does
    (``python -m course_utils.course.headless --quick --out <relative folder>`` from the repository root),
    with its own cache. The compared outputs, the course-run summary, the website, the student versions
    and the browser tests all use this one run.

    ``COURSE_TEST_RUN=<folder>`` keeps the run in ``<folder>`` (``run/`` and ``cache/``) and reuses it when
    it is already there: for working on the tests without executing the course again.
    """
    reuse = os.environ.get("COURSE_TEST_RUN", "").strip()
    base = Path(reuse).resolve() if reuse else tmp_path_factory.mktemp("course-run")
    run = CourseRun(base, None)
    if reuse and (run.out / "summary.json").is_file():
        return run
    base.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **run.env(), "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    env.pop("COURSE_QUICK", None)  # --quick sets it, as in the Makefile
    out = os.path.relpath(run.out, ROOT)  # relative, as `make course-run` passes it
    log = base / "course-run.log"
    with open(log, "w") as fh:
        proc = subprocess.run([sys.executable, "-m", "course_utils.course.headless", "--quick", "--out", out],
                              cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, text=True)
    run.proc = subprocess.CompletedProcess(proc.args, proc.returncode, log.read_text(), "")
    if not (run.out / "summary.json").is_file():
        pytest.fail(f"the course run wrote no summary (exit status {proc.returncode}):\n{run.proc.stdout[-4000:]}",
                    pytrace=False)
    return run
