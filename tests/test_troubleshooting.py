"""The README's Troubleshooting table: every row's bad setting really produces the message it shows.

The table is parsed from README.md; each row names an environment variable and a value, and the
test sets it, runs the code of the package that reads that variable (:data:`READERS`) and compares
the exception or warning, type and text, with the row. A row for a variable without a reader fails,
so the table cannot quietly grow untested rows.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import torch
from conftest import make_tiny_mnist

from course_utils.core import data, runtime
from course_utils.course import results

README = Path(__file__).resolve().parent.parent / "README.md"
ROW = re.compile(r"^\| `(COURSE_[A-Z_]+)=([^`]*)`[^|]* \| `(\w+): (.*)` \|$")


def table_rows() -> list[tuple[str, str, str, str]]:
    text = README.read_text()
    section = text.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    rows = [m.groups() for line in section.splitlines() if (m := ROW.match(line.strip()))]
    body = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(rows) == len(body), "a Troubleshooting row does not have the form | `VAR=value` | `Type: message` |"
    return rows


def _load_tiny_mnist(tmp_path, monkeypatch):
    root = tmp_path / "mnist"
    make_tiny_mnist(root)
    data.load_raw("mnist", root=root, download=False)


READERS = {  # the package code that reads each variable, as a student's notebook or CLI reaches it
    "COURSE_THREADS": lambda tmp_path, mp: runtime.set_threads(),
    "COURSE_DEVICE": lambda tmp_path, mp: runtime.get_device(),
    "COURSE_QUICK": lambda tmp_path, mp: runtime.quick_mode(),
    "COURSE_DATASET": lambda tmp_path, mp: data.resolve_dataset(),
    "COURSE_CACHE_DIR": _load_tiny_mnist,
    "COURSE_RESULTS_DIR": lambda tmp_path, mp: results.load("gan"),
}


def test_the_table_has_rows():
    assert len(table_rows()) >= 6


@pytest.mark.parametrize("var, value, kind, message", table_rows(), ids=lambda v: str(v)[:30])
def test_each_row_is_what_the_course_produces(var, value, kind, message, tmp_path, monkeypatch):
    assert var in READERS, f"the README's Troubleshooting table has a row for {var} but this test has no reader"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the table shows a machine without CUDA
    monkeypatch.setenv(var, value)
    threads = torch.get_num_threads()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                READERS[var](tmp_path, monkeypatch)
            except Exception as exc:  # noqa: BLE001 - the row says which type
                got = [(type(exc).__name__, str(exc))]
            else:
                got = [(w.category.__name__, str(w.message)) for w in caught]
    finally:
        torch.set_num_threads(threads)
    assert (kind, message) in got, got
