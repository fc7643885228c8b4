"""The headless course run: executes notebooks, renders HTML, summarises key numbers."""
from __future__ import annotations

import json

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from course_utils.course import report
from course_utils.course.headless import main


def write_nb(path, *sources):
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), path)
    return path


def test_record_is_a_no_op_without_a_report_file(monkeypatch, tmp_path):
    monkeypatch.delenv(report.ENV_REPORT, raising=False)
    assert report.record("x", 2) == 2.0
    monkeypatch.setenv(report.ENV_REPORT, str(tmp_path / "r.json"))
    report.record("x", 2, "nats")
    report.record("x", 3, "nats")  # a re-run replaces, never duplicates
    assert report.read(tmp_path / "r.json") == [{"name": "x", "value": 3.0, "unit": "nats", "note": ""}]


def test_course_run_writes_html_and_summary(tmp_path):
    good = write_nb(tmp_path / "01_good.ipynb",
                    "import os\nfrom course_utils.course.report import record\n"
                    "record('mode is quick', float(os.environ['COURSE_QUICK']), 'flag')\n"
                    "record('test ELBO', -101.5, 'nats')")
    bad = write_nb(tmp_path / "02_bad.ipynb", "raise ValueError('broken on purpose')")
    out = tmp_path / "run"
    assert main([str(good), str(bad), "--quick", "--out", str(out)]) == 1
    summary = json.loads((out / "summary.json").read_text())
    rows = {r["notebook"]: r for r in summary["notebooks"]}
    assert summary["mode"] == "quick"
    assert rows["01_good.ipynb"]["ok"] and not rows["02_bad.ipynb"]["ok"]
    assert "broken on purpose" in rows["02_bad.ipynb"]["error"]
    nums = {n["name"]: n["value"] for n in rows["01_good.ipynb"]["numbers"]}
    assert nums == {"mode is quick": 1.0, "test ELBO": -101.5}
    index = (out / "index.html").read_text()
    assert "1 of 2 notebooks ran without error" in index and "test ELBO: -101.50 nats" in index
    assert "broken on purpose" in (out / "02_bad.html").read_text()
    assert (out / "01_good.html").stat().st_size > 1000
