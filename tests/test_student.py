"""The student-version generator: solutions replaced, worked answers kept (removed only on request), notebooks valid.

Every student notebook must run cleanly up to its first exercise and stop there with
NotImplementedError. The cells before the first exercise are the source's cells, which the session's
course run (``course_run`` in conftest.py) executed: the tests check that identity and that run, and
execute one student notebook for real (on the course run's cache) to see it stop at its exercise.
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


EXERCISED = [s for s in SOURCES if student.BEGIN in s.read_text()]


@pytest.mark.parametrize("src", EXERCISED, ids=lambda p: p.stem)
def test_student_notebook_runs_cleanly_up_to_its_first_exercise(src, tmp_path, course_run):
    """Every code cell before the first exercise is the source's cell (less its NBVAL_ marker lines), and the
    session's course run executed exactly those cells without error: so the student version runs cleanly up
    to its first exercise without executing it again. The exercise itself holds the placeholder."""
    [path] = student.generate(tmp_path, [src], verbose=False)
    nb = nbformat.read(path, as_version=4)
    first = first_exercise(nb)
    executed = course_run.executed(src.stem)
    assert len(executed.cells) == len(nb.cells), "the student version must keep every cell"
    for i, (mine, ran) in enumerate(zip(nb.cells[:first], executed.cells[:first], strict=True)):
        if mine.cell_type != "code":
            continue
        assert mine.source == student._NBVAL_LINE.sub("", ran.source), f"cell {i} differs from the source's"
        if ran.source.strip():
            assert ran.execution_count is not None, f"cell {i} did not run in the course run"
            errors = [o for o in ran.outputs if o.get("output_type") == "error"]
            assert not errors, f"cell {i} failed in the course run: {errors[0].get('ename')}"
    assert student.PLACEHOLDER in nb.cells[first].source and student.BEGIN not in nb.cells[first].source


def test_a_student_notebook_stops_at_its_first_exercise(tmp_path, course_run):
    """One student version really executed (on the course run's cache): every cell before the first exercise
    runs, and the exercise raises NotImplementedError. (The others are shown by the test above.)"""
    from nbclient.exceptions import CellExecutionError

    src = next(s for s in EXERCISED if s.stem.startswith("03_"))
    [path] = student.generate(tmp_path, [src], verbose=False)
    nb = nbformat.read(path, as_version=4)
    first = first_exercise(nb)
    nb.cells = nb.cells[: first + 3]  # the exercise and the cells right after it
    with pytest.raises(CellExecutionError) as info:
        execute(nb, tmp_path, quick=True, timeout=600, env=course_run.env())
    assert info.value.ename == "NotImplementedError", info.value
    failed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert failed and failed[0] >= first, f"cell {failed[0]} failed before the first exercise (cell {first})"
    for i, c in enumerate(nb.cells[:first]):
        if c.cell_type == "code" and c.source.strip():
            assert c.execution_count is not None, f"cell {i} before the first exercise did not run"
