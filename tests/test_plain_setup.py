"""The README's set-up without make, run line by line in a fresh virtual environment.

The lines are read from README.md (between ``<!-- plain-setup:start -->`` and ``:end``), so the
README cannot drift from what is tested. The environment is created with
``--system-site-packages`` and without a pip of its own: it reuses the installed torch (and pip,
and setuptools >= 68 for the editable install) instead of downloading gigabytes again, while the
editable install of the course goes into the new environment. Nothing is downloaded: pip runs with
``PIP_NO_INDEX=1`` and without build isolation (which would fetch setuptools from the index). The last line starts
JupyterLab; the test adds only where it listens (port, token, no browser), waits until it serves
the notebooks, and stops it.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import time
import urllib.request
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- plain-setup:start -->\s*```\w*\n(.*?)```\s*<!-- plain-setup:end -->", text, re.DOTALL)
    assert m, "README.md has no plain set-up block (<!-- plain-setup:start --> ... <!-- plain-setup:end -->)"
    return [line.strip() for line in m.group(1).splitlines() if line.strip()]


def test_the_plain_lines_need_no_make_and_no_shell_features():
    lines = readme_lines()
    assert lines[-1] == "python -m jupyter lab notebooks/"
    for line in lines:
        assert line.startswith("python -m "), f"{line!r}: every line must be `python -m ...` (works on Windows)"
        assert not re.search(r"[|&;<>$`]|make\b|apt", line), f"{line!r} needs a shell feature or make"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_plain_setup_in_a_fresh_virtual_environment(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{python.parent}{os.pathsep}{env['PATH']}", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0",  # offline: everything is installed already
               JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    *setup, launch = readme_lines()
    for line in setup:
        args = shlex.split(line)
        proc = subprocess.run([str(python), *args[1:]], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"

    # the course imports from this checkout, inside the new environment
    where = subprocess.run([str(python), "-c", "import sys, course_utils; print(course_utils.__file__); "
                            "print(sys.prefix)"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    module, prefix = where.stdout.split()
    assert Path(module).resolve() == (ROOT / "course_utils" / "__init__.py").resolve()
    assert Path(prefix).resolve() == env_dir.resolve()
    # the editable install went into the new environment, not into the system's site-packages
    assert list((env_dir / "lib").glob("python3*/site-packages/__editable__*course_utils*")) or os.name == "nt"

    port, token = free_port(), secrets.token_hex(16)
    extra = ["--no-browser", "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
             *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])]
    log = open(tmp_path / "lab.log", "w")
    lab = subprocess.Popen([str(python), *shlex.split(launch)[1:], *extra], cwd=ROOT, env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        listing = None
        while time.time() < deadline and lab.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/?token={token}", timeout=3) as r:
                    listing = json.load(r)
                break
            except OSError:
                time.sleep(0.5)
        log.flush()
        assert listing is not None, "JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-3000:]
        names = {item["name"] for item in listing["content"]}
        assert "01_latent_variable_models.ipynb" in names, names  # it serves notebooks/
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kernelspecs?token={token}", timeout=10) as r:
            spec = json.load(r)["kernelspecs"]["python3"]["spec"]
        # "python" is jupyter_client's name for the server's own interpreter (replaced by sys.executable
        # at launch), i.e. the new environment's; any other kernel must live in the new environment too
        cmd = spec["argv"][0]
        assert cmd == "python" or Path(cmd).parent.resolve() == python.parent.resolve(), \
            f"notebooks would run in {cmd}, not the new environment"
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            lab.kill()
        log.close()
