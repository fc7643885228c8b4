"""Make the student version of the course notebooks: exercise solutions removed, worked answers kept.

What lives here: a small generator in the spirit of ``nbgrader generate_assignment``
(whose markers it uses) without nbgrader's database. For each source notebook it

- replaces every region between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
  in a code cell by ``raise NotImplementedError`` (at the region's indentation);
- keeps the worked answers -- the collapsed ``<details> ... </details>`` blocks a student
  opens after trying (self-study needs them) -- unless ``remove_answers`` is set (the
  ``--remove-answers`` flag, for graded use), which removes every such block from the
  markdown cells and leaves a one-line note where they were;
- drops the testing markers (``# NBVAL_...`` comment lines), clears all outputs, and
  marks the notebook as unpaired (no jupytext ``.py``).

Usage::

    python -m course_utils.course.student out/student                   # all notebooks/NN_*.ipynb
    python -m course_utils.course.student out/student notebooks/03_kl_divergence.ipynb
    python -m course_utils.course.student out/graded --remove-answers   # for graded use: no worked answers

Cleaning the instructor notebooks for git is :mod:`course_utils.course.nbtools`' job.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
PLACEHOLDER = "raise NotImplementedError"
REMOVED_NOTE = "*(The worked answer is revealed in class.)*"
_NBVAL_LINE = re.compile(r"^[ \t]*# NBVAL_[A-Z_]+[ \t]*\n?", re.MULTILINE)
_DETAILS = re.compile(r"<details\b.*?</details>[ \t]*\n?", re.DOTALL | re.IGNORECASE)
ROOT = Path(__file__).resolve().parents[2]  # the repository (course_utils/course/ -> root)


class SolutionMarkerError(ValueError):
    """A solution region is not closed, or closed without being opened."""


def strip_solutions(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace each solution region of ``source`` by ``raise NotImplementedError``; return (text, count)."""
    out, inside, count, indent = [], False, 0, ""
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise SolutionMarkerError(f"{where}, line {number}: {BEGIN} inside another solution region")
            inside, count = True, count + 1
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{PLACEHOLDER}\n")
        elif stripped.startswith(END):
            if not inside:
                raise SolutionMarkerError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise SolutionMarkerError(f"{where}: {BEGIN} is never closed by {END}")
    return "".join(out).rstrip("\n"), count


def strip_details(source: str) -> tuple[str, int]:
    """Remove every ``<details>...</details>`` block (the worked answers); return (text, count)."""
    text, count = _DETAILS.subn("", source)
    if "<details" in text.lower():
        raise SolutionMarkerError("a <details> block is not closed by </details>")
    return text.strip("\n"), count


def student_version(nb, remove_answers: bool = False) -> tuple[object, dict]:
    """Return a new notebook with the exercise solutions removed, and counts of what was removed.

    The worked answers (``<details>`` blocks) stay unless ``remove_answers`` is True (graded use).
    The counts are ``{"solutions": ..., "answers": ...}``; ``answers`` counts removed blocks (0 when kept).
    """
    nb = copy.deepcopy(nb)
    cells, solutions, answers = [], 0, 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.source, n = strip_solutions(_NBVAL_LINE.sub("", cell.source), f"cell {index}")
            solutions += n
            cell.outputs, cell.execution_count = [], None
        elif cell.cell_type == "markdown" and remove_answers:
            text, n = strip_details(cell.source)
            answers += n
            if n:
                text = (text + "\n\n" + REMOVED_NOTE).strip()
            cell.source = text
        for key in ("execution", "ExecuteTime", "jupyter"):
            cell.metadata.pop(key, None)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    nb.metadata["jupytext"] = {"formats": "ipynb"}  # the student copy is not paired with a .py file
    return nb, {"solutions": solutions, "answers": answers}


def default_sources(folder: str | Path | None = None) -> list[Path]:
    folder = Path(folder) if folder is not None else ROOT / "notebooks"
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def generate(outdir: str | Path, sources=None, verbose: bool = True, remove_answers: bool = False) -> list[Path]:
    """Write the student version of each source notebook into ``outdir``; return the written paths.

    ``remove_answers`` also removes the worked answers (for graded use); by default they stay.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for src in (sources if sources else default_sources()):
        src = Path(src)
        nb = nbformat.read(src, as_version=4)
        student, counts = student_version(nb, remove_answers=remove_answers)
        nbformat.validate(student)
        dst = outdir / src.name
        nbformat.write(student, dst)
        written.append(dst)
        if verbose:
            answers = (f"{counts['answers']} worked answer(s) removed" if remove_answers
                       else "worked answers kept (collapsed)")
            print(f"{dst}: {counts['solutions']} solution(s) removed, {answers}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.course.student", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", help="folder for the student notebooks (e.g. out/student)")
    parser.add_argument("notebooks", nargs="*", help="source notebooks (default: notebooks/NN_*.ipynb)")
    parser.add_argument("--remove-answers", action="store_true",
                        help="also remove the collapsed worked answers (<details> blocks), for graded use; "
                             "by default they stay, for self-study")
    args = parser.parse_args(argv)
    if not generate(args.outdir, args.notebooks or None, remove_answers=args.remove_answers):
        print("no notebooks found", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
