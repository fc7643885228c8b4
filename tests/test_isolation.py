"""The suite leaves the user's home alone and never reaches the network (tests/conftest.py).

The session runs with a temporary home: HOME, the XDG folders and the caches of the course,
matplotlib, Jupyter, IPython, pip and torch point into it, for this process and every kernel,
server and command it starts. At the end of the session the real home is compared with a
snapshot taken at its start, and a change fails the run; the last tests here run a small
pytest session with the suite's conftest to show that this check fires.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, NetworkRefused, home_snapshot, snapshot_changes
from nbformat.v4 import new_code_cell, new_notebook

REAL_HOME = Path(os.environ.get("COURSE_TEST_HOME", "/nonexistent-home"))


def outside_real_home(path) -> bool:
    path = Path(path).resolve()
    return REAL_HOME.resolve() not in path.parents and path != REAL_HOME.resolve()


def test_the_session_runs_with_a_temporary_home():
    import matplotlib
    from jupyter_core import paths

    from course_utils.core.runtime import cache_dir

    assert "COURSE_TEST_HOME" in os.environ, "conftest.py's pytest_configure did not run"
    places = {"HOME": os.path.expanduser("~"), "matplotlib": matplotlib.get_cachedir(),
              "jupyter runtime": paths.jupyter_runtime_dir(), "jupyter data": paths.jupyter_data_dir(),
              "jupyter config": paths.jupyter_config_dir(), "course cache": cache_dir(),
              "pip cache": os.environ["PIP_CACHE_DIR"], "torch": os.environ["TORCH_HOME"]}
    inside = {k: v for k, v in places.items() if not outside_real_home(v)}
    assert not inside, f"inside the real home {REAL_HOME}: {inside}"


def test_a_notebook_kernel_inherits_the_temporary_home(tmp_path):
    from course_utils.course.nbtools import execute

    nb = new_notebook(cells=[new_code_cell(
        "import os, matplotlib\nfrom jupyter_core import paths\n"
        "print(os.path.expanduser('~')); print(matplotlib.get_cachedir()); print(paths.jupyter_runtime_dir())")])
    execute(nb, tmp_path)
    seen = nb.cells[0].outputs[0]["text"].split()
    assert len(seen) == 3 and all(outside_real_home(p) for p in seen), seen


def test_the_home_snapshot_sees_created_removed_and_rewritten_files(tmp_path):
    home = tmp_path / "home"
    (home / ".cache" / "dgm-course" / "models" / "vae").mkdir(parents=True)
    model = home / ".cache" / "dgm-course" / "models" / "vae" / "model.safetensors"
    model.write_bytes(b"weights")
    before = home_snapshot(home)
    assert snapshot_changes(before, home_snapshot(home)) == []
    (home / ".cache" / "matplotlib").mkdir()  # a new cache folder, two levels down
    st = model.stat()
    model.write_bytes(b"WEIGHTS")  # rewritten in place, deep in the course's cache: same size
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    changes = snapshot_changes(before, home_snapshot(home))
    assert "created .cache/matplotlib" in changes
    assert "modified .cache/dgm-course/models/vae/model.safetensors" in changes
    shutil.rmtree(home / ".cache" / "matplotlib")
    model.unlink()
    assert "removed .cache/dgm-course/models/vae/model.safetensors" in snapshot_changes(before, home_snapshot(home))


def test_connections_beyond_this_machine_are_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        with pytest.raises(NetworkRefused, match="never reaches the network"):
            s.connect(("192.0.2.1", 80))  # TEST-NET-1: refused before any packet leaves
    with socket.socket() as server:  # loopback works
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


def test_a_session_that_writes_into_the_home_fails(tmp_path):
    """A small pytest session with the suite's conftest.py, in a home of its own: a test that writes into the
    real home makes the session fail and the report names the file. (That a session which writes nothing there
    passes is shown by every passing run of this suite.)"""
    leaks = True
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(ROOT / "tests" / "conftest.py", suite / "conftest.py")
    (suite / "test_leak.py").write_text(
        "import os\nfrom pathlib import Path\n\n\ndef test_it():\n"
        + ("    Path(os.environ['COURSE_TEST_HOME'], 'leaked.txt').write_text('x')\n" if leaks else "    pass\n"))
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_TEST_HOME", "PYTEST_ADDOPTS")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
                          cwd=suite, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    if leaks:
        assert proc.returncode == 1 and "changed the user's home folder" in out and "created leaked.txt" in out, out
    else:
        assert proc.returncode == 0 and "changed the user's home folder" not in out, out
    assert (home / "leaked.txt").exists() == leaks
