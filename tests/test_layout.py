"""The package's rooms: subpackages by role, each with its docstring and public names, and no old paths left."""
from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
from pathlib import Path

import pytest

import course_utils

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "course_utils"
ROOMS = ["core", "vae", "gan", "toys", "evaluation", "exercises", "widgets", "course"]
# the flat module names of the first rounds, which must not come back as dotted paths
OLD_MODULES = ["runtime", "storage", "checkpoints", "data", "batches", "training", "plots", "losses",
               "estimators", "vae_train", "vae_figures", "gan_losses", "gan_train", "interpolation",
               "gan_figures", "ppca", "toy_maps", "gaussians", "elbo_gap", "gradient_estimators", "toy_gan",
               "toy_gan_figures", "vae_vs_gan", "gan_exercises", "gan_widgets", "nbtools", "student",
               "course_run", "report", "runs", "data_cli", "vae_cli", "gan_cli"]


def test_top_level_holds_only_the_entry_points_the_rooms_and_the_reference_models():
    entries = {p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    assert entries == {"__init__.py", "__main__.py", "reference", *ROOMS}, entries
    # reference/ is data (the shipped models, benchmarks/train_reference_models.py), not a room of code
    assert {p.suffix for p in (PACKAGE / "reference").iterdir()} <= {".safetensors", ".json"}


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_says_what_lives_there_and_what_does_not(room):
    module = importlib.import_module(f"course_utils.{room}")
    doc = module.__doc__ or ""
    assert "What lives here" in doc and ("What does not" in doc or "top layer" in doc), room
    for name in getattr(module, "__all__", []):
        assert hasattr(module, name), f"course_utils.{room}.__all__ names {name!r}, which it does not define"


def test_every_module_has_a_docstring():
    for info in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
        spec = importlib.util.find_spec(info.name)
        tree = ast.parse(Path(spec.origin).read_text())
        assert ast.get_docstring(tree), f"{info.name} has no module docstring"


def test_module_names_inside_a_room_drop_the_family_prefix():
    for room in ROOMS:
        for path in (PACKAGE / room).rglob("*.py"):
            assert not path.stem.startswith(f"{room}_"), f"{path.relative_to(ROOT)}: drop the '{room}_' prefix"


def test_no_old_dotted_path_remains_in_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    stale = []
    for rel in files:
        path = ROOT / rel
        if not path.is_file() or path.suffix not in {".py", ".md", ".ipynb", ".toml", ".cfg", ".txt", ".json", ""}:
            continue
        text = path.read_text(errors="ignore")
        for old in OLD_MODULES:
            for needle in (f"course_utils.{old}.", f"course_utils.{old} ", f"course_utils.{old}`",
                           f"course_utils.{old}\n", f"course_utils import {old}"):
                if needle in text:
                    stale.append(f"{rel}: {needle.strip()}")
    assert not stale, "old module paths (moved into the rooms):\n" + "\n".join(sorted(set(stale)))


def test_an_upward_import_breaks_the_layers_contract(tmp_path):
    """The contract in pyproject.toml is real: a core module importing the course room fails lint-imports."""
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(PACKAGE, copy / "course_utils", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    ok = subprocess.run(["lint-imports"], cwd=copy, capture_output=True, text=True,
                        env={"PYTHONPATH": str(copy), "PATH": __import__("os").environ["PATH"]})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    with open(copy / "course_utils" / "core" / "plots.py", "a") as fh:
        fh.write("\nfrom course_utils.course import runs  # noqa: E402,F401  (an upward import)\n")
    broken = subprocess.run(["lint-imports"], cwd=copy, capture_output=True, text=True,
                            env={"PYTHONPATH": str(copy), "PATH": __import__("os").environ["PATH"]})
    assert broken.returncode != 0
    assert "course_utils.core.plots -> course_utils.course.runs" in broken.stdout
