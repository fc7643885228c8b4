"""nbgrader: the course notebooks as nbgrader source assignments, and the release without worked answers.

The notebooks mark their exercises the way nbgrader reads them, in the ``.py`` pair itself:

- a **solution cell** holds the region between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
  (nbgrader's delimiters; :mod:`course_utils.course.student` uses the same);
- its **check** is the next code cell on its own, starting with the line
  ``# Autograded check: 2 points`` (any number of points), then the call of the check,
  e.g. ``check_sample_pixels(sample_pixels)``. In nbgrader it becomes a locked autograder cell: a
  submission scores its points when the call raises nothing.

From these markers :func:`add_nbgrader_metadata` writes the cells' ``nbgrader`` metadata (solution
cells ``solution: true``, checks ``grade: true, locked: true, points``; ``grade_id`` from the
function the cell defines or calls). ``nbtools build`` calls it on every rebuild, so the committed
``.ipynb`` always carries it; jupytext's pairing keeps it (``jupytext.toml`` keeps cell metadata
out of the ``.py`` files, and ``jupytext --sync`` restores filtered metadata from the ``.ipynb``).

nbgrader does not remove ``<details>`` worked answers. :class:`RemoveWorkedAnswers`, a
preprocessor that :func:`write_config` puts first in ``nbgrader generate_assignment``, removes them
with the student-version function (:func:`course_utils.course.student.strip_details`), and drops the
``# NBVAL_`` testing markers. The workflow (also in the README)::

    python -m course_utils.course.grading assignment grading/ ps1 notebooks/03_kl_divergence.ipynb
    cd grading && nbgrader collect ps1 ...      # or copy submissions to submitted/<student>/ps1/
    COURSE_QUICK=1 nbgrader autograde ps1 --create   # quick mode: the notebooks' training stays short

``assignment`` makes the course folder (``nbgrader_config.py`` with the preprocessor) if needed,
copies the notebooks into ``source/ps1/`` with fresh metadata, runs ``nbgrader generate_assignment``
and checks that ``release/ps1/`` holds no worked answer and no solution. The course's own
student-version command (``python -m course_utils.course.student``) stays for instructors without
nbgrader.
"""
from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from course_utils.course import student

BEGIN, END = student.BEGIN, student.END
CHECK_LINE = re.compile(r"^#\s*Autograded check:\s*(?P<points>\d+(?:\.\d+)?)\s*points?\s*$", re.IGNORECASE)
_NEAR_CHECK_LINE = re.compile(r"^#\s*autograded?\b", re.IGNORECASE)
_DEFINED = re.compile(r"^(?:def|class)\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)
_CALLED = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)\s*\(", re.MULTILINE)
_NBVAL_LINE = re.compile(r"^[ \t]*# NBVAL_[A-Z_]+[ \t]*\n?", re.MULTILINE)
SCHEMA_VERSION = 3


class GradingMarkupError(ValueError):
    """A cell's exercise markers cannot be read (e.g. a solution and its check share one cell)."""


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip() and not line.lstrip().startswith("# NBVAL_"):
            return line.strip()
    return ""


def cell_role(cell, where: str = "cell") -> tuple[str, float] | None:
    """``("solution", 0)``, ``("check", points)`` or None for a cell, from its markers."""
    if cell.cell_type != "code":
        return None
    first = _first_line(cell.source)
    m = CHECK_LINE.match(first)
    if m is None and _NEAR_CHECK_LINE.match(first):
        raise GradingMarkupError(f"{where}: cannot read {first!r}; write '# Autograded check: 1 point' "
                                 "(or 'N points') as the cell's first line")
    has_solution = BEGIN in cell.source
    if m and has_solution:
        raise GradingMarkupError(f"{where}: holds a solution region and an autograded check; put the check "
                                 "in a cell of its own after the solution cell")
    if m:
        points = float(m.group("points"))
        if points <= 0:
            raise GradingMarkupError(f"{where}: an autograded check must be worth more than 0 points")
        return "check", points
    if has_solution:
        return "solution", 0.0
    return None


def _grade_id(cell, role: str, index: int) -> str:
    body = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("#"))
    names = _DEFINED.findall(body) if role == "solution" else _CALLED.findall(body)
    base = names[0].split(".")[-1] if names else f"{role}_{index}"
    return re.sub(r"[^A-Za-z0-9_\-]", "_", base)


def nbgrader_metadata(nb, where: str = "notebook") -> dict[int, dict]:
    """The ``nbgrader`` metadata each marked cell of ``nb`` should carry, by cell index."""
    out: dict[int, dict] = {}
    taken: set[str] = set()
    for i, cell in enumerate(nb.cells):
        role = cell_role(cell, f"{where}, cell {i}")
        if role is None:
            continue
        kind, points = role
        grade_id, n = _grade_id(cell, kind, i), 1
        base = grade_id
        while grade_id in taken:
            n += 1
            grade_id = f"{base}_{n}"
        taken.add(grade_id)
        meta = {"grade": kind == "check", "grade_id": grade_id, "locked": kind == "check",
                "schema_version": SCHEMA_VERSION, "solution": kind == "solution", "task": False}
        if kind == "check":
            meta["points"] = int(points) if points.is_integer() else points
        out[i] = meta
    return out


def add_nbgrader_metadata(nb, where: str = "notebook") -> dict:
    """Write the derived ``nbgrader`` metadata into ``nb``'s cells (in place); return counts.

    Cells without markers lose any ``nbgrader`` metadata they had, so a removed marker stops grading.
    """
    wanted = nbgrader_metadata(nb, where)
    for i, cell in enumerate(nb.cells):
        if i in wanted:
            cell.metadata["nbgrader"] = wanted[i]
        else:
            cell.metadata.pop("nbgrader", None)
    checks = [m for m in wanted.values() if m["grade"]]
    return {"solutions": sum(m["solution"] for m in wanted.values()), "checks": len(checks),
            "points": sum(m["points"] for m in checks)}


def metadata_problems(nb, where: str = "notebook") -> list[str]:
    """Where ``nb``'s stored nbgrader metadata differs from what its markers say, and cells that mix roles."""
    problems = []
    try:
        wanted = nbgrader_metadata(nb, where)
    except GradingMarkupError as exc:
        return [str(exc)]
    for i, cell in enumerate(nb.cells):
        have = cell.metadata.get("nbgrader")
        if have != wanted.get(i):
            problems.append(f"{where}, cell {i}: nbgrader metadata {have} but its markers say {wanted.get(i)} "
                            "(rebuild it with `python -m course_utils.course.nbtools build`)")
        if wanted.get(i, {}).get("solution") and re.search(r"^\s*check_[A-Za-z0-9_]*\(", cell.source, re.M):
            problems.append(f"{where}, cell {i}: the solution cell also calls its check; move the check into its "
                            "own cell starting with '# Autograded check: 1 point'")
    return problems


def remove_worked_answers(nb):
    """A copy of ``nb`` without worked answers (``<details>`` blocks) and ``# NBVAL_`` markers.

    Uses the student version's own function, so the nbgrader release and the course's student
    version remove the same things.
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text, n = student.strip_details(cell.source)
            cell.source = (text + "\n\n" + student.REMOVED_NOTE).strip() if n else text
        elif cell.cell_type == "code":
            cell.source = _NBVAL_LINE.sub("", cell.source)
    return nb


from nbconvert.preprocessors import Preprocessor as _Preprocessor  # noqa: E402  (nbconvert is a course pin)
from traitlets import Bool  # noqa: E402


class RemoveWorkedAnswers(_Preprocessor):
    """nbgrader/nbconvert preprocessor: :func:`remove_worked_answers` on each notebook (first in the release)."""

    enabled = Bool(True)  # nbconvert's preprocessors are off unless enabled; this one must always run

    def preprocess(self, nb, resources):
        stripped = remove_worked_answers(nb)
        nb.cells = stripped.cells
        return nb, resources


CONFIG = '''\
# nbgrader configuration of the course (written by python -m course_utils.course.grading).
from nbgrader.converters.generate_assignment import GenerateAssignment

from course_utils.course.grading import RemoveWorkedAnswers

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = "."
# Worked answers (<details> blocks) never reach the release: removed before nbgrader's own steps.
c.GenerateAssignment.preprocessors = [RemoveWorkedAnswers] + list(
    GenerateAssignment.class_traits()["preprocessors"].default())
# The course notebooks train small models; allow each cell time on a laptop CPU.
c.ExecutePreprocessor.timeout = 1800
'''


def write_config(course_dir: str | Path, course_id: str = "dgm-course") -> Path:
    """Write ``<course_dir>/nbgrader_config.py`` (the course id and :class:`RemoveWorkedAnswers`)."""
    course_dir = Path(course_dir)
    course_dir.mkdir(parents=True, exist_ok=True)
    path = course_dir / "nbgrader_config.py"
    path.write_text(CONFIG.format(course_id=course_id))
    return path


def release_problems(release_dir: str | Path) -> list[str]:
    """What a released assignment must not contain: worked answers, solution regions, missing points."""
    problems = []
    for path in sorted(Path(release_dir).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if "<details" in cell.source.lower():
                problems.append(f"{path.name}, cell {i}: a worked answer (<details>) is in the release")
            if BEGIN in cell.source or END in cell.source:
                problems.append(f"{path.name}, cell {i}: a solution region is in the release")
    return problems


def nbgrader(course_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``nbgrader <args>`` in ``course_dir`` (with this Python); raise with its log when it fails.

    This Python's scripts folder goes first on ``PATH``: nbgrader runs ``alembic`` by name.
    """
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, capture_output=True,
                          text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def assignment(course_dir: str | Path, name: str, notebooks, course_id: str = "dgm-course") -> Path:
    """Make nbgrader assignment ``name`` from ``notebooks`` in ``course_dir``; return the release folder.

    Writes ``nbgrader_config.py`` when there is none, copies the notebooks into ``source/<name>/``
    with freshly derived nbgrader metadata (outputs cleared), runs ``nbgrader generate_assignment``
    and fails when the release still holds a worked answer or a solution (nbgrader ignores a
    configuration file it cannot load, so this check is what stops a leak).
    """
    course_dir = Path(course_dir).resolve()
    if not (course_dir / "nbgrader_config.py").is_file():
        write_config(course_dir, course_id)
    source = course_dir / "source" / name
    source.mkdir(parents=True, exist_ok=True)
    for nb_path in notebooks:
        nb_path = Path(nb_path)
        nb = nbformat.read(nb_path, as_version=4)
        counts = add_nbgrader_metadata(nb, nb_path.name)
        if not counts["checks"]:
            raise GradingMarkupError(f"{nb_path.name} has no autograded check ('# Autograded check: 1 point'): "
                                     "nothing in it would be graded")
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nb.metadata.pop("widgets", None)
        nbformat.write(nb, source / nb_path.name)
    nbgrader(course_dir, "generate_assignment", name, "--force")
    release = course_dir / "release" / name
    problems = release_problems(release)
    if problems:
        raise RuntimeError("the release would leak answers:\n" + "\n".join(problems))
    return release


def scores(course_dir: str | Path, name: str, course_id: str = "dgm-course") -> dict[str, dict[str, float]]:
    """Autograded scores from the gradebook: ``{student: {grade_id: points}}`` for assignment ``name``."""
    from nbgrader.api import Gradebook

    course_dir = Path(course_dir).resolve()
    out: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}", course_id) as gb:
        for sub in gb.assignment_submissions(name):
            grades = out.setdefault(sub.student.id, {})
            for nb in sub.notebooks:
                for grade in nb.grades:
                    grades[grade.name] = float(grade.score)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course_utils.course.grading", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    a = sub.add_parser("assignment", help="make an nbgrader assignment (source + release) from course notebooks")
    a.add_argument("course_dir", type=Path)
    a.add_argument("name", help="assignment name, e.g. ps1")
    a.add_argument("notebooks", nargs="+", type=Path)
    a.add_argument("--course-id", default="dgm-course")
    c = sub.add_parser("check", help="report notebooks whose nbgrader metadata does not match their markers")
    c.add_argument("notebooks", nargs="+", type=Path)
    args = ap.parse_args(argv)
    if args.command == "assignment":
        if shutil.which("nbgrader") is None:
            try:
                import nbgrader as _  # noqa: F401
            except ImportError:
                print("nbgrader is not installed: python -m pip install -r requirements-test.txt", file=sys.stderr)
                return 2
        release = assignment(args.course_dir, args.name, args.notebooks, args.course_id)
        print(f"released {args.name}: {release} (no worked answers, no solutions)")
        return 0
    problems = [p for path in args.notebooks for p in metadata_problems(nbformat.read(path, as_version=4), path.name)]
    print("\n".join(problems) or "nbgrader metadata matches the markers")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
