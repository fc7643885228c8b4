"""The notebooks' compared outputs: what the committed notebooks print in their `# NBVAL_CHECK_OUTPUT` cells,
against the session's one quick-mode execution of every notebook (the ``course_run`` fixture).

Numbers are compared to the precision the computation guarantees (:mod:`course_utils.course.outputs`):
a difference in the last bits of a float (another CPU, other kernels, another thread count) passes,
a change in the third significant digit fails. The first tests show both on made-up and real outputs.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from course_utils.course import outputs
from course_utils.course.nbtools import CHECK_MARK, is_checked

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("expected, actual", [
    ("-241.68245274134236", "-241.6824527413424"),   # the same float64 on another CPU (issue 19)
    ("1.0878036799608157", "1.0878036799608162"),
    ("d/dmu_1 = +0.000", "d/dmu_1 = -0.000"),          # a signed zero
    ("0.8186 ± 0.0016 nats", "0.8185 ± 0.0016 nats"),  # the last printed digit flips its rounding
    ("exp(KL) 2.1e+01", "exp(KL) 2.1e+01"),
    ("  -0.000   1.2", "   0.000   1.2"),              # a column one character narrower
    ("took 3.1 s", "took 12.4 s"),                      # durations are sanitized
    ("theta: loss 3.168890", "theta: loss 3.168921"),  # float32 round-off at 6 decimals, within 1e-4 relative
])
def test_a_change_in_the_last_bits_passes(expected, actual):
    assert outputs.text_differences(expected, actual) == []


@pytest.mark.parametrize("expected, actual", [
    ("-241.68245274134236", "-241.58245274134236"),    # fourth significant digit of a full-precision float
    ("-241.68245274134236", "-242.68245274134236"),    # third significant digit
    ("KL = 0.8181 nats", "KL = 0.8191 nats"),          # third significant digit
    ("KL = 0.8181 nats", "KL = 0.8183 nats"),          # two units in the last printed digit
    ("parameters: 815,824", "parameters: 815,834"),     # ten units in the last digit of an integer
    ("[0.0, 0.25, 0.5, 1.0]", "[0.0, 0.35, 0.5, 1.0]"),
    ("pixels in [0, 1]: True", "pixels in [0, 1]: False"),  # the text, not only the numbers
    ("n = 7: [-1.645, 0.0]", "n = 7: [-1.645, 0.0, 1.645]"),  # a missing or extra number
])
def test_a_real_change_fails(expected, actual):
    assert outputs.text_differences(expected, actual), f"{actual!r} was accepted for {expected!r}"


def test_numbers_match_states_its_rule():
    assert outputs.last_digit_unit("0.8186") == pytest.approx(1e-4)
    assert outputs.last_digit_unit("2.1e+01") == pytest.approx(1.0)
    assert outputs.last_digit_unit("42") == 1.0
    # the stated rule: within one unit in the last printed digit (which also holds for an integer)
    assert outputs.numbers_match("824", "825") and not outputs.numbers_match("824", "826")
    assert outputs.numbers_match("1.0e-3", "1.1e-3") and not outputs.numbers_match("1.0e-3", "1.2e-3")
    assert not outputs.numbers_match("inf", "1e308") and outputs.numbers_match("inf", "inf")
    assert not outputs.numbers_match("nan", "nan")  # a NaN never matches: it is never a reference value


def checked_notebook(*texts):
    cells = []
    for text in texts:
        cell = new_code_cell(f"# {CHECK_MARK}\nprint(...)")
        cell.outputs = [new_output("stream", name="stdout", text=text)]
        cell.execution_count = 1
        cells.append(cell)
    return new_notebook(cells=cells)


def test_compare_notebooks_cell_by_cell():
    want = checked_notebook("a = 1.0878036799608157\n", "table 0.976\n")
    got = checked_notebook("a = 1.0878036799608162\n", "table 0.986\n")
    problems = outputs.compare(want, got)
    assert len(problems) == 1 and problems[0].startswith("cell 1 (stream stdout): number 1: expected 0.976, got 0.986")
    got.cells[0].outputs = [new_output("error", ename="ValueError", evalue="boom", traceback=[])]
    assert any("cell 0: outputs ['error']" in p and "boom" in p for p in outputs.compare(want, got))
    # prints split into several chunks by the kernel compare as one, as in the committed notebook
    split = checked_notebook("a = 1.0878036799608157\n", "table 0.976\n")
    split.cells[1].outputs = [new_output("stream", name="stdout", text="table "),
                              new_output("stream", name="stdout", text="0.976\n")]
    assert outputs.compare(want, split) == []
    assert "not a run of this notebook" in outputs.compare(want, checked_notebook("x"))[0]


def nudge_every_number(nb, units: float):
    """``nb`` with every number in every output moved by ``units`` of its last printed digit, printed as before."""
    def nudge(m):
        token = m.group(0)
        mantissa, e, exponent = token.partition("e") if "e" in token else token.partition("E")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        value = float(mantissa) + units * 10.0 ** -decimals
        text = f"{value:.{decimals}f}"
        if mantissa.startswith("+") and not text.startswith("-"):
            text = "+" + text
        return text + e + exponent

    nudged = copy.deepcopy(nb)
    for cell in nudged.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                out["text"] = outputs.NUMBER.sub(nudge, "".join(out["text"]))
    return nudged


@pytest.mark.parametrize("stem", ["03_kl_divergence", "04_elbo_reparameterization"])
def test_real_outputs_with_changed_last_bits_pass_and_changed_digits_fail(stem):
    """On committed notebooks: every printed number moved by one unit of its last digit (what a last-bit
    difference does at worst, when it flips the rounding) still matches; moved by two units, or one number of
    a table changed in its third significant digit, does not."""
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    assert outputs.compare(nb, nudge_every_number(nb, +1)) == []
    assert outputs.compare(nb, nudge_every_number(nb, -1)) == []
    assert outputs.compare(nb, nudge_every_number(nb, +2.5))  # not rounding: a different result
    broken = copy.deepcopy(nb)
    cell = next(c for c in broken.cells if is_checked(c) and c.outputs and c.outputs[0].get("output_type") == "stream"
                and outputs.NUMBER.search("".join(c.outputs[0]["text"])))
    text = "".join(cell.outputs[0]["text"])
    token = max(outputs.NUMBER.findall(text), key=lambda t: len(t.strip("+-").replace(".", "").lstrip("0")))
    digits = token.strip("+-")
    i = next(k for k, ch in enumerate(digits) if ch not in "0.")  # first significant digit
    third = [k for k in range(i, len(digits)) if digits[k] != "."][2]
    changed = digits[:third] + str((int(digits[third]) + 5) % 10) + digits[third + 1:]
    cell.outputs[0]["text"] = text.replace(digits, changed, 1)
    problems = outputs.compare(nb, broken)
    assert problems and f"got {token[0] if token[0] in '+-' else ''}{changed}" in "\n".join(problems), problems


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_checked_outputs_match_the_course_run(course_run, stem):
    row = course_run.rows()[stem]
    assert row["ok"], f"{stem} failed in the course run: {row['error']}"
    committed = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    assert any(is_checked(c) for c in committed.cells), f"{stem} has no compared output"
    problems = outputs.compare(committed, course_run.executed(stem))
    assert not problems, f"{stem}: checked outputs differ from the committed notebook:\n" + "\n".join(problems)


def test_no_committed_output_prints_a_float_past_its_precision():
    """A compared output holds no float printed at full precision (a record() or a bare float that ends a cell)."""
    long_float = re.compile(r"\d\.\d{10,}")
    offenders = []
    for stem in NOTEBOOKS:
        nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
        for i, cell in enumerate(nb.cells):
            for kind, text in outputs._outputs_text(cell):
                if long_float.search(text):
                    offenders.append(f"{stem} cell {i} ({kind}): {text.strip()[-80:]}")
    assert not offenders, "\n".join(offenders)
