"""nbgrader: markers -> metadata, metadata through jupytext and the rebuild, and a real generate/autograde round.

The round trip uses a small notebook this test writes, with two of the course's real exercise
checks: the release must hold neither the worked answer nor a solution; a submission with one
exercise solved and the other answered the way students typically get it wrong (thresholding
instead of sampling) scores exactly the points of the solved one.
"""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_utils.course import grading
from course_utils.course.grading import GradingMarkupError, add_nbgrader_metadata, nbgrader_metadata

ROOT = Path(__file__).resolve().parent.parent


def require(module: str, why: str) -> None:
    """Fail (not skip) when a test requirement is missing: CI must never pass by skipping."""
    try:
        __import__(module)
    except ImportError:
        pytest.fail(f"{module} is missing ({why}): python -m pip install -r requirements-test.txt", pytrace=False)

KL_SOLUTION = '''\
def kl_to_standard_normal(mu, sigma):
    """KL(N(mu, diag(sigma^2)) || N(0, I)), one value per row."""
    ### BEGIN SOLUTION
    return (-torch.log(sigma) + 0.5 * (sigma ** 2 + mu ** 2) - 0.5).sum(-1)
    ### END SOLUTION'''
SAMPLE_SOLUTION = '''\
def sample_pixels(probs, generator):
    """One Bernoulli draw per pixel."""
    ### BEGIN SOLUTION
    return torch.bernoulli(probs, generator=generator)
    ### END SOLUTION'''


def exercise_notebook():
    return new_notebook(cells=[
        new_markdown_cell("# Two exercises\n\nWhat is the KL of q = p?\n\n<details><summary>Worked answer</summary>\n"
                          "Zero: the integrand log(q/p) vanishes.\n</details>"),
        new_code_cell("import torch\n\nfrom course_utils.exercises import check_kl_std_normal, check_sample_pixels"),
        new_code_cell(KL_SOLUTION),
        new_code_cell("# NBVAL_CHECK_OUTPUT\n# Autograded check: 2 points\ncheck_kl_std_normal(kl_to_standard_normal)"),
        new_code_cell(SAMPLE_SOLUTION),
        new_code_cell("# Autograded check: 1 point\ncheck_sample_pixels(sample_pixels)"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


# --------------------------------------------------------------------------- markers -> metadata

def test_markers_give_solution_and_locked_autograder_cells():
    nb = exercise_notebook()
    counts = add_nbgrader_metadata(nb)
    assert counts == {"solutions": 2, "checks": 2, "points": 3}
    meta = [c.metadata.get("nbgrader") for c in nb.cells]
    assert meta[0] is None and meta[1] is None
    assert meta[2] == {"grade": False, "grade_id": "kl_to_standard_normal", "locked": False, "schema_version": 3,
                       "solution": True, "task": False}
    assert meta[3] == {"grade": True, "grade_id": "check_kl_std_normal", "locked": True, "points": 2,
                       "schema_version": 3, "solution": False, "task": False}
    assert meta[5]["points"] == 1 and meta[5]["grade_id"] == "check_sample_pixels"
    assert grading.metadata_problems(nb) == []


def test_stale_metadata_is_removed_and_reported():
    nb = exercise_notebook()
    add_nbgrader_metadata(nb)
    nb.cells[5].source = "check_sample_pixels(sample_pixels)"  # the marker line was deleted
    (problem,) = grading.metadata_problems(nb)
    assert "cell 5" in problem and "nbtools build" in problem
    add_nbgrader_metadata(nb)
    assert "nbgrader" not in nb.cells[5].metadata


def test_bad_markers_get_clear_errors():
    combined = new_notebook(cells=[new_code_cell("# Autograded check: 1 point\n" + SAMPLE_SOLUTION)])
    with pytest.raises(GradingMarkupError, match="in a cell of its own"):
        nbgrader_metadata(combined)
    typo = new_notebook(cells=[new_code_cell("# Autograded: one point\ncheck(f)")])
    with pytest.raises(GradingMarkupError, match="cannot read"):
        nbgrader_metadata(typo)
    zero = new_notebook(cells=[new_code_cell("# Autograded check: 0 points\ncheck(f)")])
    with pytest.raises(GradingMarkupError, match="more than 0 points"):
        nbgrader_metadata(zero)
    mixed = new_notebook(cells=[new_code_cell(SAMPLE_SOLUTION + "\n\ncheck_sample_pixels(sample_pixels)")])
    add_nbgrader_metadata(mixed)
    assert any("also calls its check" in p for p in grading.metadata_problems(mixed))


def test_duplicate_names_get_distinct_grade_ids():
    nb = new_notebook(cells=[new_code_cell("# Autograded check: 1 point\ncheck(f)"),
                             new_code_cell("# Autograded check: 1 point\ncheck(f)")])
    assert [m["grade_id"] for m in nbgrader_metadata(nb).values()] == ["check", "check_2"]


def test_release_copy_has_no_worked_answers_or_testing_markers():
    nb = exercise_notebook()
    out = grading.remove_worked_answers(nb)
    assert "<details" not in out.cells[0].source and "revealed in class" in out.cells[0].source
    assert "NBVAL" not in out.cells[3].source and out.cells[3].source.startswith("# Autograded check")
    assert "<details" in nb.cells[0].source  # the source notebook is left alone


# --------------------------------------------------------------------------- through jupytext and the rebuild

def test_metadata_survives_the_rebuild_and_jupytext_sync(tmp_path):
    """nbtools build writes it into the .ipynb (not the .py); editing the .py and syncing keeps it."""
    from jupytext.cli import jupytext as jupytext_cli

    from course_utils.course.nbtools import build

    shutil.copy(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    py = tmp_path / "01_ex.py"
    jupytext.write(exercise_notebook(), py, fmt="py:percent")
    jupytext_cli(["--to", "py:percent", "--update-metadata", '{"jupytext": {"cell_metadata_filter": "-all", '
                  '"notebook_metadata_filter": "-all"}}', str(py), "-o", str(py)])
    build(py, quick=True, timeout=300)
    ipynb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    assert grading.metadata_problems(ipynb) == []
    assert [bool(c.metadata.get("nbgrader")) for c in ipynb.cells] == [False, False, True, True, True, True]
    text = py.read_text()
    assert "nbgrader" not in text and max(len(line) for line in text.splitlines()) <= 120

    # edit a solution and a check in the .py, as an author would, then pair with jupytext --sync
    py.write_text(text.replace("0.5 * (sigma ** 2 + mu ** 2)", "(sigma ** 2 + mu ** 2) / 2")
                  .replace("check_sample_pixels(sample_pixels)", "check_sample_pixels(sample_pixels)  # 2nd"))
    jupytext_cli(["--sync", str(py)])
    synced = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    assert "(sigma ** 2 + mu ** 2) / 2" in synced.cells[2].source
    assert grading.metadata_problems(synced) == []
    build(py, quick=True, timeout=300)  # and a second rebuild
    assert grading.metadata_problems(nbformat.read(py.with_suffix(".ipynb"), as_version=4)) == []


# --------------------------------------------------------------------------- nbgrader itself

WRONG_SAMPLE = '''\
def sample_pixels(probs, generator):
    """One Bernoulli draw per pixel."""
    return (probs > 0.5).float()'''
RIGHT_KL = '''\
def kl_to_standard_normal(mu, sigma):
    """KL(N(mu, diag(sigma^2)) || N(0, I)), one value per row."""
    return (0.5 * (sigma ** 2 + mu ** 2 - 1) - torch.log(sigma)).sum(-1)'''


def test_generate_submit_autograde(tmp_path, monkeypatch):
    require("nbgrader", "instructors grade with nbgrader")
    monkeypatch.setenv("COURSE_QUICK", "1")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # nbgrader's kernels import this checkout's course_utils
    source_nb = tmp_path / "two_exercises.ipynb"
    nbformat.write(exercise_notebook(), source_nb)
    course = tmp_path / "course"
    release = grading.assignment(course, "ps1", [source_nb])

    released = nbformat.read(release / "two_exercises.ipynb", as_version=4)
    text = "\n".join(c.source for c in released.cells)
    assert "<details" not in text and "integrand" not in text  # no worked answer
    assert "torch.bernoulli" not in text and "BEGIN SOLUTION" not in text  # no solution
    assert text.count("raise NotImplementedError()") == 2
    assert released.cells[3].metadata["nbgrader"]["locked"] and released.cells[5].metadata["nbgrader"]["locked"]
    assert grading.release_problems(release) == []

    # a student solves the KL exercise and gets the sampling one typically wrong
    submitted = course / "submitted" / "student1" / "ps1"
    submitted.mkdir(parents=True)
    released.cells[2].source = RIGHT_KL
    released.cells[4].source = WRONG_SAMPLE
    nbformat.write(released, submitted / "two_exercises.ipynb")
    grading.nbgrader(course, "autograde", "ps1", "--create", "--force")
    assert grading.scores(course, "ps1") == {"student1": {"check_kl_std_normal": 2.0, "check_sample_pixels": 0.0}}
    graded = nbformat.read(course / "autograded" / "student1" / "ps1" / "two_exercises.ipynb", as_version=4)
    errors = [o for o in graded.cells[5].outputs if o.output_type == "error"]
    assert errors and "thresholded" in errors[0]["evalue"]  # the student sees which mistake it was


def test_command_line_check_reports_drift(tmp_path, capsys):
    nb = exercise_notebook()
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert grading.main(["check", str(path)]) == 1
    assert "cell 2" in capsys.readouterr().out
    add_nbgrader_metadata(nb)
    nbformat.write(nb, path)
    assert grading.main(["check", str(path)]) == 0
    assert "matches the markers" in capsys.readouterr().out


# --------------------------------------------------------------------------- the course's own notebooks

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_course_notebook_is_an_nbgrader_source_assignment(path, capsys):
    """The committed .ipynb carries the metadata its markers say, and every exercise has its own check."""
    assert grading.main(["check", str(path)]) == 0, capsys.readouterr().out
    nb = nbformat.read(path, as_version=4)
    meta = [(i, c.metadata["nbgrader"]) for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata]
    solutions = [i for i, m in meta if m["solution"]]
    checks = [i for i, m in meta if m["grade"]]
    assert solutions and len(solutions) == len(checks)
    for s in solutions:  # each solution cell is followed by its check, which keeps nbval's checked output
        check = nb.cells[s + 1]
        assert s + 1 in checks and check.source.startswith("# Autograded check:"), (path.name, s)
        assert "# NBVAL_CHECK_OUTPUT" in check.source and check.outputs, (path.name, s + 1)
        assert "# NBVAL_CHECK_OUTPUT" not in nb.cells[s].source and not nb.cells[s].outputs


RIGHT_03 = '''\
def kl_to_standard_normal(mu, sigma):
    """KL( N(mu, diag(sigma^2)) || N(0, I) ) for each row of mu, sigma (shape (N, D)) -> (N,), in nats."""
    return 0.5 * (mu**2 + sigma**2 - 1 - 2 * torch.log(sigma)).sum(-1)'''
WRONG_03 = '''\
def kl_to_standard_normal(mu, sigma):
    """KL( N(mu, diag(sigma^2)) || N(0, I) ) for each row of mu, sigma (shape (N, D)) -> (N,), in nats."""
    return (-0.5 * torch.log(sigma) + 0.5 * (sigma + mu**2) - 0.5).sum(-1)'''


def test_notebook_03_generate_submit_autograde(tmp_path, monkeypatch):
    """The real notebook 03 (one exercise, one point): released without answers; a right and a wrong submission."""
    require("nbgrader", "instructors grade with nbgrader")
    monkeypatch.setenv("COURSE_QUICK", "1")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    course = tmp_path / "course"
    name = "03_kl_divergence.ipynb"
    source = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    release = grading.assignment(course, "ps3", [ROOT / "notebooks" / name])

    released = nbformat.read(release / name, as_version=4)
    text = "\n".join(c.source for c in released.cells)
    answers = [c.source for c in source.cells if c.cell_type == "markdown" and "<details" in c.source]
    assert len(answers) >= 3 and "<details" not in text and "BEGIN SOLUTION" not in text
    for answer in answers:  # not a sentence of a worked answer reaches the release
        inside = answer[answer.index("<details"):]
        assert not any(line.strip() in text for line in inside.splitlines()[1:] if len(line.strip()) > 40)
    assert "0.5 * (sigma**2 + mu**2)" not in text and text.count("raise NotImplementedError()") == 1
    (sol,) = [i for i, c in enumerate(released.cells) if c.metadata.get("nbgrader", {}).get("solution")]
    check = released.cells[sol + 1]
    assert check.metadata["nbgrader"]["locked"] and check.metadata["nbgrader"]["points"] == 1
    assert "NBVAL" not in check.source

    for student, answer in (("right", RIGHT_03), ("wrong", WRONG_03)):
        nb = copy.deepcopy(released)
        nb.cells[sol].source = answer
        folder = course / "submitted" / student / "ps3"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / name)
    grading.nbgrader(course, "autograde", "ps3", "--create", "--force")
    assert grading.scores(course, "ps3") == {"right": {"check_kl_std_normal": 1.0},
                                             "wrong": {"check_kl_std_normal": 0.0}}
    graded = nbformat.read(course / "autograded" / "wrong" / "ps3" / name, as_version=4)
    errors = [o for o in graded.cells[sol + 1].outputs if o.output_type == "error"]
    assert errors and "sigma as the variance" in errors[0]["evalue"]


# --------------------------------------------------------------------------- the leak guard (no nbgrader run)

def write_release(folder: Path, name: str, *cells) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=list(cells)), folder / name)
    return folder / name


def test_release_problems_report_every_answer_left_in_the_release(tmp_path):
    release = tmp_path / "release" / "ps1"
    write_release(release, "a_clean.ipynb",
                  new_markdown_cell("# Clean\n\nWhat is the KL of q = p?\n\n"
                                    "*(The worked answer is revealed in class.)*"),
                  new_code_cell("def f(x):\n    raise NotImplementedError()"),
                  new_code_cell("# Autograded check: 1 point\ncheck_f(f)"))
    assert grading.release_problems(release) == []
    write_release(release, "b_leaky.ipynb",
                  new_markdown_cell("# Leaky"),
                  new_markdown_cell("Why?\n\n<details><summary>Worked answer</summary>\nBecause.\n</details>"),
                  new_code_cell(SAMPLE_SOLUTION),
                  new_code_cell("# Autograded check: 1 point\ncheck_sample_pixels(sample_pixels)"),
                  new_markdown_cell("<DETAILS>\nUpper-case tags are HTML too.\n</DETAILS>"),
                  new_code_cell("x = 1\n### END SOLUTION"))  # a stray end marker: a region was cut in half
    assert grading.release_problems(release) == [
        "b_leaky.ipynb, cell 1: a worked answer (<details>) is in the release",
        "b_leaky.ipynb, cell 2: a solution region is in the release",
        "b_leaky.ipynb, cell 4: a worked answer (<details>) is in the release",
        "b_leaky.ipynb, cell 5: a solution region is in the release",
    ]


def fake_generate(calls: list, clear_solutions: bool, remove_details: bool):
    """Stands in for ``nbgrader generate_assignment``: copies source/<name>/ to release/<name>/, removing
    solutions and worked answers only as told (nbgrader ignoring the course's config leaves <details>)."""
    from course_utils.course import student

    def nbgrader(course_dir, *args):
        calls.append((Path(course_dir), args))
        name = args[1]
        release = Path(course_dir) / "release" / name
        release.mkdir(parents=True, exist_ok=True)
        for path in sorted((Path(course_dir) / "source" / name).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            if remove_details:
                nb = grading.remove_worked_answers(nb)
            if clear_solutions:
                for cell in nb.cells:
                    if cell.cell_type == "code":
                        cell.source, _ = student.strip_solutions(cell.source)
            nbformat.write(nb, release / path.name)

    return nbgrader


@pytest.mark.parametrize("clear_solutions, expected", [
    (True, ["two_exercises.ipynb, cell 0: a worked answer (<details>) is in the release"]),
    (False, ["two_exercises.ipynb, cell 0: a worked answer (<details>) is in the release",
             "two_exercises.ipynb, cell 2: a solution region is in the release",
             "two_exercises.ipynb, cell 4: a solution region is in the release"]),
], ids=["config-ignored", "nothing-removed"])
def test_assignment_refuses_a_release_that_still_holds_answers(tmp_path, monkeypatch, clear_solutions, expected):
    """nbgrader ignores a configuration file it cannot load: the release then keeps the worked answers
    (and, worse, the solutions). assignment() must fail and say where, not hand that release out."""
    source_nb = tmp_path / "two_exercises.ipynb"
    nbformat.write(exercise_notebook(), source_nb)
    course = tmp_path / "course"
    calls: list = []
    monkeypatch.setattr(grading, "nbgrader", fake_generate(calls, clear_solutions, remove_details=False))
    with pytest.raises(RuntimeError, match="the release would leak answers") as info:
        grading.assignment(course, "ps1", [source_nb])
    assert calls == [(course.resolve(), ("generate_assignment", "ps1", "--force"))]
    assert str(info.value).splitlines()[1:] == expected
    assert grading.release_problems(course / "release" / "ps1") == expected


def test_assignment_returns_a_release_without_answers(tmp_path, monkeypatch):
    """The control for the test above: the same run with nbgrader doing its job passes the guard."""
    source_nb = tmp_path / "two_exercises.ipynb"
    nbformat.write(exercise_notebook(), source_nb)
    course = tmp_path / "course"
    calls: list = []
    monkeypatch.setattr(grading, "nbgrader", fake_generate(calls, clear_solutions=True, remove_details=True))
    release = grading.assignment(course, "ps1", [source_nb])
    assert release == course.resolve() / "release" / "ps1" and len(calls) == 1
    assert "RemoveWorkedAnswers" in (course / "nbgrader_config.py").read_text()
    source = nbformat.read(course / "source" / "ps1" / "two_exercises.ipynb", as_version=4)
    assert source.cells[2].metadata["nbgrader"]["solution"]  # the source copy carries fresh metadata
    assert grading.release_problems(release) == []
