"""The Binder configuration, validated without Docker: repo2docker prints the
Dockerfile it would build (``--no-build --debug``) and we check what it will do."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==(\S+)", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


@pytest.fixture(scope="module")
def dockerfile() -> str:
    exe = shutil.which("repo2docker")
    assert exe, "repo2docker is missing: `pip install -r requirements-test.txt` (make test does this)"
    proc = subprocess.run([exe, "--no-build", "--debug", "--user-id", "1000", "--user-name", "jovyan",
                           str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_repo2docker_uses_binder_folder(dockerfile):
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "apt-get install --yes --no-install-recommends dataset-fashion-mnist" in dockerfile
    assert "./binder/postBuild" in dockerfile
    # the image's Python is the one binder/runtime.txt asks for: repo2docker copies the conda lock file of that
    # version, environment.py-3.11-linux-64.lock, under a name with "." written "-2e" and "-" written "-2d"
    unescaped = dockerfile.replace("-2e", ".").replace("-2d", "-")
    assert re.search(r"environment\.py-3\.11-linux-64\.lock", unescaped), "the Dockerfile does not install Python 3.11"


def test_runtime_matches_supported_python():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    assert 'requires-python = ">=3.10"' in (ROOT / "pyproject.toml").read_text()


def test_binder_requirements_take_cpu_torch_and_every_course_pin():
    text = (BINDER / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text
    assert "-r ../requirements.txt" in text  # every other pin comes from the top-level file
    binder, top = pins(BINDER / "requirements.txt"), pins(ROOT / "requirements.txt")
    assert binder["torch"] == top["torch"] + "+cpu"
    assert binder["torchvision"] == top["torchvision"] + "+cpu"


def test_post_build_installs_course_and_prefetches_fashion_mnist():
    path = BINDER / "postBuild"
    assert path.stat().st_mode & 0o111, "postBuild must be executable"
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0].startswith("set -e"), "postBuild must stop at the first failing step"
    body = path.read_text()
    assert "pip install --no-cache-dir --no-deps -e ." in body
    assert "python -m course_utils data --dataset fashion-mnist" in body  # the course's default data set
    assert "--dataset mnist" not in body
    assert '"Jupytext Notebook"' in body
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_readme_badge_opens_a_notebook_in_lab():
    from course_utils.course import links

    readme = (ROOT / "README.md").read_text()
    m = re.search(r"\(https://mybinder\.org/v2/gh/([^/)\s]+/[^/)\s]+)/[^)\s]+\?urlpath=lab/tree/"
                  r"(notebooks/[^)\s]+\.ipynb)\)", readme)
    assert m, "README needs a Binder badge whose URL opens lab/tree/notebooks/..."
    assert m.group(1) == links.REPOSITORY, "the Binder badge must be built from course_utils/course/links.py"
    assert f"({links.binder_url()})" in readme
    assert (ROOT / m.group(2)).is_file(), f"the badge opens {m.group(2)}, which does not exist"
