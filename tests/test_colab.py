"""Colab: the notebooks' first cell, run in a simulated Colab (a stand-in ``google.colab``) and elsewhere.

The end-to-end tests execute the exact text of :func:`course_utils.course.colab.first_cell` in a
fresh Python process where ``git`` and ``python -m pip`` are stand-ins that record their arguments,
so they assert the commands a real Colab session would run, without a network.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import nbformat
import pytest
import tomllib
from nbformat.v4 import new_code_cell, new_notebook

from course_utils.course import colab, links

ROOT = Path(__file__).resolve().parent.parent


def stand_in_colab(calls: list) -> types.ModuleType:
    """A ``google.colab`` module whose ``output.enable_custom_widget_manager`` records its calls."""
    pkg = types.ModuleType("google.colab")
    pkg.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("widget manager"))
    return pkg


def test_setup_colab_does_nothing_off_colab(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert colab.on_colab() is False
    assert colab.setup_colab() is False
    assert capsys.readouterr() == ("", "")


def test_setup_colab_enables_the_widget_manager_and_says_so_in_one_line(monkeypatch, capsys):
    calls = []
    monkeypatch.setitem(sys.modules, "google.colab", stand_in_colab(calls))
    assert colab.setup_colab("/content/x") is True
    assert calls == ["widget manager"]
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and links.REPOSITORY in out and "/content/x" in out
    # the data set it will load, and the switch to the other one
    assert "Fashion-MNIST (the course's default)" in out and "os.environ['COURSE_DATASET'] = 'mnist'" in out


def test_setup_colab_asks_for_a_restart_when_an_old_ipywidgets_is_loaded(monkeypatch, capsys):
    calls = []
    monkeypatch.setitem(sys.modules, "google.colab", stand_in_colab(calls))
    monkeypatch.setitem(sys.modules, "ipywidgets", types.SimpleNamespace(__version__="7.7.1"))
    assert colab.setup_colab() is True
    out = capsys.readouterr().out
    assert "7.7.1" in out and "Restart session" in out and out.count("\n") == 1


def test_package_dependencies_are_lower_bounds_only():
    """pip on Colab must keep Colab's torch: no pins or upper bounds in the package's dependencies."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert deps
    for dep in deps:
        assert not re.search(r"==|<|~=|!=", dep), f"{dep!r} would make pip replace Colab's package"


def test_first_cell_names_the_repository_from_links():
    cell = colab.first_cell()
    assert cell.startswith(colab.FIRST_CELL_MARK)
    assert links.clone_url() in cell and f"--branch={links.BRANCH}" in cell and colab.COLAB_DIR in cell
    compile(cell, "first cell", "exec")


STUBS = {
    # git: record the arguments; for a clone, make the target a link to this repository
    "bin/git": """\
        #!{python}
        import json, os, sys
        with open(os.environ["STUB_LOG"], "a") as fh:
            fh.write(json.dumps(["git"] + sys.argv[1:]) + "\\n")
        if sys.argv[1] == "clone":
            os.symlink(os.environ["STUB_REPO"], sys.argv[-1])
        """,
    # python -m pip: shadows the real pip (PYTHONPATH comes before site-packages)
    "py/pip/__init__.py": "",
    "py/pip/__main__.py": """\
        import json, os, sys
        with open(os.environ["STUB_LOG"], "a") as fh:
            fh.write(json.dumps(["pip"] + sys.argv[1:]) + "\\n")
        """,
    # google.colab: present in sys.modules, as in a Colab kernel
    "colab/google/colab/__init__.py": """\
        import json, os
        class output:
            @staticmethod
            def enable_custom_widget_manager():
                with open(os.environ["STUB_LOG"], "a") as fh:
                    fh.write(json.dumps(["enable_custom_widget_manager"]) + "\\n")
        """,
}


def run_first_cell(tmp_path: Path, on_colab: bool) -> tuple[subprocess.CompletedProcess, list]:
    for name, text in STUBS.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).format(python=sys.executable) if "{python}" in text
                        else textwrap.dedent(text))
        if name.startswith("bin/"):
            path.chmod(0o755)
    course_dir = tmp_path / "content" / links.NAME
    course_dir.parent.mkdir()
    cell = colab.first_cell().replace(colab.COLAB_DIR, str(course_dir))  # the only change: where to clone
    (tmp_path / "cell.py").write_text(cell)
    log = tmp_path / "log.jsonl"
    py_path = [str(tmp_path / "py")] + ([str(tmp_path / "colab")] if on_colab else [])
    env = {**os.environ, "STUB_LOG": str(log), "STUB_REPO": str(ROOT),
           "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join(py_path)}
    prelude = "import google.colab\n" if on_colab else ""
    script = prelude + "exec(compile(open('cell.py').read(), 'first cell', 'exec'))"
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    return proc, calls


def test_first_cell_on_colab_clones_installs_and_enables_widgets(tmp_path):
    proc, calls = run_first_cell(tmp_path, on_colab=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    course_dir = str(tmp_path / "content" / links.NAME)
    assert calls[0] == ["git", "clone", "--quiet", "--depth=1", f"--branch={links.BRANCH}", links.clone_url(),
                        course_dir]
    assert calls[1] == ["pip", "install", "--quiet", "--editable", course_dir]  # no pins, no torch
    assert calls[2] == ["enable_custom_widget_manager"]
    assert len(calls) == 3
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Colab: course_utils installed") and course_dir in lines[0]


def test_first_cell_run_twice_on_colab_reuses_the_clone(tmp_path):
    run_first_cell(tmp_path, on_colab=True)
    (tmp_path / "log.jsonl").unlink()
    proc = subprocess.run([sys.executable, "-c", "import google.colab\n"
                           "exec(compile(open('cell.py').read(), 'first cell', 'exec'))"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "STUB_LOG": str(tmp_path / "log.jsonl"), "STUB_REPO": str(ROOT),
                               "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
                               "PYTHONPATH": f"{tmp_path / 'py'}{os.pathsep}{tmp_path / 'colab'}"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    kinds = [json.loads(line)[0] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert kinds == ["pip", "enable_custom_widget_manager"]  # no second clone


def test_first_cell_elsewhere_runs_nothing_and_prints_nothing(tmp_path):
    proc, calls = run_first_cell(tmp_path, on_colab=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert calls == [] and proc.stdout == "" and proc.stderr == ""


def test_first_cell_in_a_real_kernel_has_no_output(tmp_path):
    from nbclient import NotebookClient

    nb = new_notebook(cells=[new_code_cell(colab.first_cell())])
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert nb.cells[0].outputs == []
    nbformat.validate(nb)


def test_notebook_problems_names_a_missing_launch_line_or_set_up_cell():
    from nbformat.v4 import new_markdown_cell

    good = new_notebook(cells=[new_markdown_cell(f"# 05\n\n{links.notebook_header('05_vae')}"),
                               new_code_cell(colab.first_cell()), new_code_cell("import torch")])
    assert colab.notebook_problems(good, "05_vae") == []
    stale = new_notebook(cells=[new_markdown_cell(f"# 05\n\n{links.notebook_header('01_latent_variable_models')}"),
                                new_code_cell("import torch"), new_code_cell(colab.first_cell())])
    problems = colab.notebook_problems(stale, "05_vae")
    assert len(problems) == 2 and "launch line" in problems[0] and "set-up cell" in problems[1]


NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def test_there_are_eight_course_notebooks():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07", "08"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_starts_with_its_launch_line_and_the_colab_cell(path):
    """Both halves of the pair: the .py an author edits and the .ipynb Colab opens."""
    import jupytext

    for nb in (jupytext.read(path, fmt="py:percent"), nbformat.read(path.with_suffix(".ipynb"), as_version=4)):
        assert colab.notebook_problems(nb, path.stem) == []
        first_md = next(c for c in nb.cells if c.cell_type == "markdown")
        assert first_md.source.startswith(f"# {path.stem[:2]} ")  # the launch line sits under the title
        assert nb.cells.index(first_md) == 0 and nb.cells[1].source == colab.first_cell()
