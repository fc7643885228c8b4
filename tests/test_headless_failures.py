"""The headless course run when a notebook does not finish: a cell past the per-cell timeout, a kernel that dies.

Each failure is reported in summary.json with an error that says what happened, the notebooks after it
still run, the exit status is 1, and the failed notebook's executed copy and HTML are still written (the
site and the summary page link to them). The notebooks are generated here: no course notebook runs.
"""
from __future__ import annotations

import json

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from course_utils.course import headless


def write_nb(path, *sources):
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), path)
    return path


def test_a_cell_past_the_timeout_and_a_dead_kernel_are_reported_and_the_run_goes_on(tmp_path, capsys):
    slow = write_nb(tmp_path / "01_slow.ipynb", "print('slow notebook started')",
                    "import time\ntime.sleep(30)\nprint('slept')", "print('never reached')")
    dead = write_nb(tmp_path / "02_dead.ipynb", "print('dead notebook started')",
                    "import os\nos._exit(1)", "print('never reached either')")
    # (cells that stay far below the 2 s limit: no imports of the course's packages)
    good = write_nb(tmp_path / "03_good.ipynb", "print('good notebook ran')", "print(6 * 7)")
    out = tmp_path / "run"
    status = headless.main([str(slow), str(dead), str(good), "--quick", "--timeout", "2", "--out", str(out)])
    assert status == 1

    summary = json.loads((out / "summary.json").read_text())
    rows = {r["notebook"]: r for r in summary["notebooks"]}
    assert list(rows) == ["01_slow.ipynb", "02_dead.ipynb", "03_good.ipynb"]  # all three ran, in order

    # the timeout: failed, and the error names the timeout and its length
    row = rows["01_slow.ipynb"]
    assert row["ok"] is False and row["error"], row
    assert "CellTimeoutError" in row["error"] and "timed out" in row["error"] and "2 seconds" in row["error"]
    # the dead kernel: failed, and the error says the kernel died
    row = rows["02_dead.ipynb"]
    assert row["ok"] is False and row["error"], row
    assert "DeadKernelError" in row["error"] and "Kernel died" in row["error"]
    # the notebook after them ran normally, in a kernel of its own, to its last cell
    row = rows["03_good.ipynb"]
    assert row["ok"] is True and row["error"] is None
    good_nb = nbformat.read(out / "03_good.ipynb", as_version=4)
    assert [c.outputs[0]["text"] for c in good_nb.cells] == ["good notebook ran\n", "42\n"]

    # the failed notebooks' executed copies and HTML pages are written, showing how far they got
    for stem, started, missing in (("01_slow", "slow notebook started", "never reached"),
                                   ("02_dead", "dead notebook started", "never reached either")):
        nb = nbformat.read(out / f"{stem}.ipynb", as_version=4)
        assert nb.cells[0].outputs[0]["text"] == f"{started}\n"
        assert all(not c.outputs for c in nb.cells[2:])  # nothing ran after the failing cell
        page = (out / f"{stem}.html").read_text()
        assert started in page and missing in page  # the page shows every cell, output or not
        assert rows[f"{stem}.ipynb"]["html"] == f"{stem}.html" and rows[f"{stem}.ipynb"]["ipynb"] == f"{stem}.ipynb"
    slow_nb = nbformat.read(out / "01_slow.ipynb", as_version=4)
    assert not any("slept" in o.get("text", "") for o in slow_nb.cells[1].outputs)  # cut off, not finished

    # the summary page and the printed log say which notebooks failed and why
    index = (out / "index.html").read_text()
    assert "1 of 3 notebooks ran without error" in index
    assert "failed: CellTimeoutError" in index and "failed: DeadKernelError" in index
    printed = capsys.readouterr().out
    assert "FAILED: CellTimeoutError" in printed and "FAILED: DeadKernelError" in printed
