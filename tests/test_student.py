"""The student-version generator: solutions replaced, worked answers kept (removed only on request), notebooks valid.

The execution test runs each generated notebook (quick mode) and expects it to stop at
its first exercise with NotImplementedError, with every cell before it running cleanly. It runs on
the cache of the session's course run (``course_run`` in conftest.py), so the data are decoded and
the quick-mode models trained once, not again here.
"""
from __future__ import annotations

import nbformat
import pytest

from course_utils.course import student
from course_utils.course.nbtools import execute

SOURCES = student.default_sources()


def test_strip_solutions_keeps_indentation_and_surroundings():
    src = ("def f(x):\n    \"\"\"doc\"\"\"\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n"
           "    ### END SOLUTION\n\n\ncheck(f)")
    out, n = student.strip_solutions(src)
    assert n == 1
    assert out == "def f(x):\n    \"\"\"doc\"\"\"\n    raise NotImplementedError\n\n\ncheck(f)"


def test_strip_solutions_several_regions():
    src = "### BEGIN SOLUTION\na = 1\n### END SOLUTION\nb = 2\n### BEGIN SOLUTION\nc = 3\n### END SOLUTION"
    out, n = student.strip_solutions(src)
    assert n == 2 and out == "raise NotImplementedError\nb = 2\nraise NotImplementedError"


@pytest.mark.parametrize("bad", ["### BEGIN SOLUTION\nx = 1",
                                 "x = 1\n### END SOLUTION",
                                 "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"])
def test_strip_solutions_rejects_broken_markers(bad):
    with pytest.raises(student.SolutionMarkerError):
        student.strip_solutions(bad)


def test_strip_details():
    text = "Question?\n\n<details><summary>Answer</summary>\n\nIt is 42.\n</details>\n\nMore text."
    out, n = student.strip_details(text)
    assert n == 1 and "42" not in out and "Question?" in out and "More text." in out
    with pytest.raises(student.SolutionMarkerError):
        student.strip_details("<details>\nnever closed")


def details_count(nb) -> int:
    return sum(c.source.lower().count("<details") for c in nb.cells if c.cell_type == "markdown")


def test_student_version_keeps_the_worked_answers_by_default():
    source = nbformat.read(SOURCES[0], as_version=4)
    kept, counts = student.student_version(source)
    assert counts["answers"] == 0
    assert details_count(kept) == details_count(source) > 0
    assert student.REMOVED_NOTE not in "\n".join(c.source for c in kept.cells)
    removed, counts = student.student_version(source, remove_answers=True)
    assert counts["answers"] == details_count(source) and details_count(removed) == 0
    assert student.REMOVED_NOTE in "\n".join(c.source for c in removed.cells)


def check_student_folder(folder, remove_answers: bool):
    for src in SOURCES:
        out = folder / src.name
        nb = nbformat.read(out, as_version=4)
        nbformat.validate(nb)
        text = "\n".join(c.source for c in nb.cells)
        original = nbformat.read(src, as_version=4)
        assert student.BEGIN not in text and student.END not in text
        if remove_answers:
            assert "<details" not in text.lower()
        else:  # every worked answer of the source is still there, collapsed, word for word
            for c in original.cells:
                if c.cell_type == "markdown" and "<details" in c.source:
                    assert c.source in text
            assert details_count(nb) == details_count(original)
        assert "NBVAL_" not in text
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
        assert nb.metadata["jupytext"] == {"formats": "ipynb"}
        regions = sum(c.source.count(student.BEGIN) for c in original.cells if c.cell_type == "code")
        assert sum(c.source.count(student.PLACEHOLDER) for c in nb.cells) >= regions
        # prose and questions stay: every question heading of the source is still there
        for c in original.cells:
            if c.cell_type == "markdown" and c.source.startswith("#"):
                assert c.source.splitlines()[0] in text


def test_generate_and_cli_keep_the_worked_answers(tmp_path, capsys):
    assert SOURCES, "no source notebooks"
    assert student.main([str(tmp_path)]) == 0
    assert "worked answers kept" in capsys.readouterr().out
    check_student_folder(tmp_path, remove_answers=False)


def test_cli_flag_removes_the_worked_answers_for_graded_use(tmp_path, capsys):
    assert student.main([str(tmp_path), "--remove-answers"]) == 0
    assert "worked answer(s) removed" in capsys.readouterr().out
    check_student_folder(tmp_path, remove_answers=True)
    written = student.generate(tmp_path / "again", SOURCES[:1], verbose=False, remove_answers=True)
    assert details_count(nbformat.read(written[0], as_version=4)) == 0


def first_exercise(nb) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and student.PLACEHOLDER in c.source)


@pytest.mark.parametrize("src", [s for s in SOURCES if student.BEGIN in s.read_text()], ids=lambda p: p.stem)
def test_student_notebook_runs_up_to_first_exercise(src, tmp_path, course_run):
    from nbclient.exceptions import CellExecutionError

    [path] = student.generate(tmp_path, [src], verbose=False)
    nb = nbformat.read(path, as_version=4)
    first = first_exercise(nb)
    # only execute up to and including the first exercise and the cells right after it
    nb.cells = nb.cells[: first + 3]
    with pytest.raises(CellExecutionError) as info:
        execute(nb, tmp_path, quick=True, timeout=600, env=course_run.env())
    assert info.value.ename == "NotImplementedError", info.value
    failed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert failed and failed[0] >= first, f"cell {failed[0]} failed before the first exercise (cell {first})"
    for i, c in enumerate(nb.cells[:first]):
        if c.cell_type == "code" and c.source.strip():
            assert c.execution_count is not None, f"cell {i} before the first exercise did not run"
