"""Compare a notebook's checked outputs with a fresh execution, to the precision the computation guarantees.

The committed notebooks keep the outputs of the cells marked ``# NBVAL_CHECK_OUTPUT`` (see
:mod:`course_utils.course.nbtools`); a new execution (the test suite's quick-mode course run)
must print the same. "The same" cannot mean the same characters: a float computed on another
CPU, with other SIMD kernels or another thread count, differs in its last bits, and a printed
``0.8185`` may become ``0.8186`` when such a difference flips the rounding of the last digit. So:

- text that is not a number must match exactly, after the sanitizers below (durations, clock
  times, progress bars, memory addresses, cache and temporary paths) and after collapsing runs
  of spaces (a column that printed ``-0.000`` instead of ``0.000`` is one character wider);
- two numbers match when they differ by at most one unit in the last printed digit of either
  (``0.8185`` vs ``0.8186``, ``+0.000`` vs ``-0.000``) or by at most :data:`REL_TOLERANCE` of their
  size (a float printed at full precision). A change in the third significant digit of a number
  printed with three or more fails.

Command line (compare a course run made with ``python -m course_utils.course.headless --quick``)::

    python -m course_utils.course.outputs course-run/        # every executed notebook in the folder
"""
from __future__ import annotations

import argparse
import copy
import math
import re
import sys
from pathlib import Path

import nbformat

from course_utils.course.nbtools import clean, is_checked

REL_TOLERANCE = 1e-4  # relative: far above float32/float64 round-off, far below a third-digit change

#: (name, pattern, replacement): what legitimately changes between runs in a checked cell.
SANITIZERS = (
    ("progress bars", r"[^\n]*\|[^\n|]*\|[^\n]*(it/s|s/it|step/s|batch/s|/s\])[^\n]*", "PROGRESS-BAR"),
    ("carriage returns", r"[^\n]*\r", ""),
    ("durations", r"\b\d+(\.\d+)?\s?(ms|s|sec|seconds|min|minutes)\b", "DURATION"),
    ("clock times", r"\b\d{1,2}:\d{2}(:\d{2})?\b", "TIME"),
    ("memory addresses", r"0x[0-9a-fA-F]{6,}", "0xADDRESS"),
    ("cache paths", r"/\S*dgm-course\S*", "CACHE-PATH"),
    ("temporary paths", r"/tmp/\S*", "TMP-PATH"),
)
_SANITIZERS = [(re.compile(p), r) for _, p, r in SANITIZERS]
NUMBER = re.compile(r"(?<![\w.])[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?(?![\w.])")


def sanitize(text: str) -> str:
    """``text`` with every :data:`SANITIZERS` pattern replaced."""
    for pattern, replacement in _SANITIZERS:
        text = pattern.sub(replacement, text)
    return text


def last_digit_unit(token: str) -> float:
    """One unit in the last printed digit: ``"0.8186"`` -> 1e-4, ``"2.1e+01"`` -> 1, ``"42"`` -> 1."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10.0 ** (int(exponent or 0) - decimals)


def numbers_match(a: str, b: str, rel: float = REL_TOLERANCE) -> bool:
    """True when the printed numbers ``a`` and ``b`` agree (see the module's docstring)."""
    x, y = float(a), float(b)
    if x == y:
        return True
    if not (math.isfinite(x) and math.isfinite(y)):
        return False
    diff = abs(x - y)
    unit = max(last_digit_unit(a), last_digit_unit(b))
    return diff <= unit * (1 + 1e-9) or diff <= rel * max(abs(x), abs(y))


def _skeleton(text: str) -> tuple[str, list[str]]:
    """``text`` with numbers replaced by ``#`` and runs of spaces collapsed; and the numbers, in order."""
    numbers = NUMBER.findall(text)
    skeleton = NUMBER.sub("#", text)
    skeleton = re.sub(r"[ \t]+", " ", skeleton)
    return "\n".join(line.strip() for line in skeleton.splitlines()), numbers


def text_differences(expected: str, actual: str, rel: float = REL_TOLERANCE) -> list[str]:
    """Why ``actual`` does not print what ``expected`` does; empty when they match."""
    expected, actual = sanitize(expected), sanitize(actual)
    skel_e, nums_e = _skeleton(expected)
    skel_a, nums_a = _skeleton(actual)
    if skel_e != skel_a or len(nums_e) != len(nums_a):
        return [f"the text differs:\n--- expected\n{expected.rstrip()}\n--- got\n{actual.rstrip()}"]
    return [f"number {i + 1}: expected {a}, got {b}" for i, (a, b) in enumerate(zip(nums_e, nums_a, strict=True))
            if not numbers_match(a, b, rel)]


def _outputs_text(cell) -> list[tuple[str, str]]:
    """A checked cell's outputs as (kind, text) pairs, after :func:`nbtools.clean`'s merging of prints."""
    pairs = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            pairs.append((f"stream {out.get('name')}", "".join(out.get("text", ""))))
        elif kind in ("execute_result", "display_data"):
            text = out.get("data", {}).get("text/plain")
            if text is not None:
                pairs.append((kind, "".join(text)))
        elif kind == "error":
            pairs.append(("error", f"{out.get('ename')}: {out.get('evalue')}"))
    return pairs


def compare(expected_nb, actual_nb, rel: float = REL_TOLERANCE) -> list[str]:
    """Differences between the checked outputs of ``expected_nb`` (committed) and ``actual_nb`` (executed).

    Cells are matched by position, and each checked cell's source must be the same in both (the
    executed notebook is a run of the committed one). Empty when every checked output matches.
    """
    actual_nb = clean(copy.deepcopy(actual_nb))
    problems = []
    if len(expected_nb.cells) != len(actual_nb.cells):
        return [f"{len(actual_nb.cells)} cells executed, {len(expected_nb.cells)} expected: not a run of this notebook"]
    for i, (want, got) in enumerate(zip(expected_nb.cells, actual_nb.cells, strict=True)):
        if not is_checked(want):
            continue
        if want.source != got.source:
            problems.append(f"cell {i}: its source differs from the committed notebook's")
            continue
        w, g = _outputs_text(want), _outputs_text(got)
        if [k for k, _ in w] != [k for k, _ in g]:
            problems.append(f"cell {i}: outputs {[k for k, _ in g]} instead of {[k for k, _ in w]}"
                            + "".join(f"\n  got {k}: {t.strip()[:500]}" for k, t in g))
            continue
        for (kind, text_w), (_, text_g) in zip(w, g, strict=True):
            problems += [f"cell {i} ({kind}): {msg}" for msg in text_differences(text_w, text_g, rel)]
    return problems


def compare_run(run: str | Path, notebooks: str | Path | None = None) -> dict[str, list[str]]:
    """:func:`compare` for every executed notebook in the course-run folder ``run``, against ``notebooks/``."""
    from course_utils.course.headless import NOTEBOOKS

    run, notebooks = Path(run), Path(notebooks or NOTEBOOKS)
    results = {}
    for committed in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
        executed = run / committed.name
        if not executed.is_file():
            results[committed.stem] = [f"{executed} does not exist: was {committed.name} part of the run?"]
            continue
        results[committed.stem] = compare(nbformat.read(committed, as_version=4),
                                          nbformat.read(executed, as_version=4))
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course_utils.course.outputs", description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a course-run folder (python -m course_utils.course.headless --quick)")
    args = ap.parse_args(argv)
    if not args.run.is_dir():
        print(f"{args.run} is not a folder: run `python -m course_utils.course.headless --quick --out {args.run}` "
              "first.", file=sys.stderr)
        return 2
    results = compare_run(args.run)
    for stem, problems in results.items():
        print(f"{stem}: {'ok' if not problems else f'{len(problems)} difference(s)'}")
        for p in problems:
            print("  " + p.replace("\n", "\n  "))
    return 1 if any(results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
