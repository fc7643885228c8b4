"""Every notebook is paired with a py:percent script, the pair has not drifted, and the .ipynb is clean.

Two independent checks of drift: (1) the cells read from the .py equal the cells of the
.ipynb; (2) `jupytext --sync` on a copy (with the repository's jupytext.toml) changes
neither file. (`jupytext --check` is a different thing: it runs a test command.)
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest

from course_utils.course.nbtools import CHECK_MARK, audit

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SCRIPTS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


def test_every_notebook_has_a_pair():
    assert {p.stem for p in NOTEBOOKS} == {p.stem for p in SCRIPTS}


def test_pairing_is_configured():
    config = (ROOT / "jupytext.toml").read_text()
    assert "py:percent" in config and "ipynb" in config


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_cells_agree(path):
    ipynb = nbformat.read(path, as_version=4)
    script = jupytext.read(path.with_suffix(".py"), fmt="py:percent")
    a, b = cells(ipynb), cells(script)
    assert len(a) == len(b), f"{path.name}: {len(a)} cells vs {len(b)} in the .py"
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        assert x == y, f"{path.name}: cell {i} differs between .ipynb and .py (run `jupytext --sync {path.name}`)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_jupytext_sync_is_a_no_op(path, tmp_path):
    from jupytext.cli import jupytext as jupytext_cli

    shutil.copy(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    ipynb = shutil.copy(path, tmp_path / path.name)
    py = shutil.copy(path.with_suffix(".py"), tmp_path / path.with_suffix(".py").name)
    before = {p: Path(p).read_bytes() for p in (ipynb, py)}
    os.utime(ipynb, (1_700_000_000, 1_700_000_000))  # the .py is the newer file: it is the source
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        jupytext_cli(["--sync", str(ipynb)])
    after_cells = cells(nbformat.read(ipynb, as_version=4))
    assert after_cells == cells(nbformat.reads(before[ipynb].decode(), as_version=4))
    assert Path(py).read_bytes() == before[py], f"`jupytext --sync` rewrote {path.with_suffix('.py').name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_clean(path):
    assert audit(path) == []


def test_enough_checked_cells():
    checked = sum(CHECK_MARK in c.source for p in NOTEBOOKS if p.name[:2] in {"01", "02", "03", "04", "05"}
                  for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code")
    if {p.name[:2] for p in NOTEBOOKS} >= {"01", "02", "03", "04", "05"}:
        assert checked >= 15, f"only {checked} cells carry {CHECK_MARK} in notebooks 01-05"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_checked_cells_have_stored_output(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and CHECK_MARK in cell.source:
            assert cell.outputs, f"{path.name}: checked cell {i} has no stored output to compare with"


def test_rebuilt_notebooks_keep_the_ids_of_unchanged_cells():
    import nbformat

    from course_utils.course.nbtools import stable_cell_ids

    def notebook(*sources):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(sources[0])] + [nbformat.v4.new_code_cell(s) for s in sources[1:]]
        return nb

    previous = notebook("# Title", "x = 1", "print(x)", "x = 1")
    before = [c.id for c in previous.cells]
    rebuilt = stable_cell_ids(notebook("# Title", "x = 1", "print(x + 1)", "x = 1"), previous)
    after = [c.id for c in rebuilt.cells]
    assert after[0] == before[0] and after[1] == before[1] and after[3] == before[3]  # unchanged cells
    assert after[2] not in before  # the edited cell gets a new id ...
    again = stable_cell_ids(notebook("# Title", "x = 1", "print(x + 1)", "x = 1"), previous)
    assert [c.id for c in again.cells] == after  # ... the same one on every rebuild
    assert len(set(after)) == len(after)
    fresh = stable_cell_ids(notebook("a", "b", "b", "b"))  # no previous notebook, repeated sources
    assert len({c.id for c in fresh.cells}) == 4
    nbformat.validate(fresh)


def test_clean_merges_stdout_chunks_and_keeps_other_streams_apart():
    import nbformat

    from course_utils.course.nbtools import clean

    cell = nbformat.v4.new_code_cell(f"{CHECK_MARK}\nprint(1)\nprint(2)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                    nbformat.v4.new_output("stream", name="stdout", text=["2\n", "3\n"]),
                    nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="4\n")]
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    out = clean(nb).cells[0].outputs
    assert [(o.name, o.text) for o in out] == [("stdout", "1\n2\n3\n"), ("stderr", "warning\n"), ("stdout", "4\n")]
    nbformat.validate(nb)
