"""The headless course run: executes notebooks, renders HTML, summarises key numbers."""
from __future__ import annotations

import json
import os
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_utils.course import report
from course_utils.course.headless import main


def write_nb(path, *sources):
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), path)
    return path


def test_record_is_a_no_op_without_a_report_file(monkeypatch, tmp_path):
    monkeypatch.delenv(report.ENV_REPORT, raising=False)
    assert report.record("x", 2) is None  # nothing for a cell to print (its full-precision value is noise)
    assert not (tmp_path / "r.json").exists()
    monkeypatch.setenv(report.ENV_REPORT, str(tmp_path / "r.json"))
    report.record("x", 2, "nats")
    report.record("x", 3, "nats")  # a re-run replaces, never duplicates
    assert report.read(tmp_path / "r.json") == [{"name": "x", "value": 3.0, "unit": "nats", "note": ""}]


def test_course_run_writes_html_and_summary(tmp_path):
    good = write_nb(tmp_path / "01_good.ipynb",
                    "import os\nfrom course_utils.course.report import record\n"
                    "record('mode is quick', float(os.environ['COURSE_QUICK']), 'flag')\n"
                    "record('test ELBO', -101.5, 'nats')\nrecord('modes captured (of 8)', 4.0)")
    bad = write_nb(tmp_path / "02_bad.ipynb", "raise ValueError('broken on purpose')")
    out = tmp_path / "run"
    assert main([str(good), str(bad), "--quick", "--out", str(out)]) == 1
    summary = json.loads((out / "summary.json").read_text())
    rows = {r["notebook"]: r for r in summary["notebooks"]}
    assert summary["mode"] == "quick"
    assert rows["01_good.ipynb"]["ok"] and not rows["02_bad.ipynb"]["ok"]
    assert "broken on purpose" in rows["02_bad.ipynb"]["error"]
    nums = {n["name"]: n["value"] for n in rows["01_good.ipynb"]["numbers"]}
    assert nums == {"mode is quick": 1.0, "test ELBO": -101.5, "modes captured (of 8)": 4.0}
    index = (out / "index.html").read_text()
    assert "1 of 2 notebooks ran without error" in index and "test ELBO: -101.50 nats" in index
    assert "modes captured (of 8): 4<" in index  # a count is shown as a count, not as 4.00
    assert "broken on purpose" in (out / "02_bad.html").read_text()
    assert (out / "01_good.html").stat().st_size > 1000


def test_make_course_run_keeps_the_key_numbers(course_run):
    """`make course-run QUICK=1` exactly (the session's one course run: cwd = repository root, a *relative*
    --out, every notebook in quick mode).

    Each notebook's kernel runs in notebooks/, so a relative report path would land in a stray
    notebooks/<out> folder and the summary would hold no numbers; the run must also not print the
    kernel's "running over TCP without encryption" warning (it talks to kernels over IPC).
    """
    from course_utils.course.headless import NOTEBOOKS, ROOT

    if course_run.proc is None:
        pytest.skip("COURSE_TEST_RUN reuses an earlier run: its command's output is not here")
    output = course_run.proc.stdout
    assert course_run.proc.returncode == 0, output[-4000:]
    assert "without encryption" not in output
    # each kernel is shut down after its notebook, not left alive until the run ends
    assert "Parent appears to have exited" not in output
    assert not (NOTEBOOKS / os.path.relpath(course_run.out, ROOT)).exists()  # nothing relative to the kernel's folder
    summary = course_run.summary
    assert summary["mode"] == "quick"
    rows = {r["notebook"]: {n["name"]: n["value"] for n in r["numbers"]} for r in summary["notebooks"]}
    elbo = rows["05_vae.ipynb"]["test ELBO (z = 20)"]
    assert -600 < elbo < -50  # nats per image: a quick-mode VAE, worse than full mode's about -236
    for model in ("VAE", "GAN"):
        fd = rows["08_vae_vs_gan.ipynb"][f"{model} Fréchet distance (classifier features)"]
        assert isinstance(fd, float) and fd > rows["08_vae_vs_gan.ipynb"]["Fréchet distance floor (real vs real)"]
    index = (course_run.out / "index.html").read_text()
    assert "test ELBO (z = 20)" in index and "GAN Fréchet distance" in index
    for row in summary["notebooks"]:  # what the command printed is what the summary holds
        assert f"running {row['notebook']} (quick mode)" in output


def test_executing_a_notebook_shuts_its_kernel_down():
    """nbtools.execute (and the headless run) hand nbclient their own IPC kernel manager; the kernel
    must still be shut down when the notebook is done, or every notebook of a run keeps a kernel
    (and its memory) alive until the run ends."""
    from course_utils.course.headless import ROOT
    from course_utils.course.nbtools import execute

    nb, _ = execute(new_notebook(cells=[new_code_cell("import os; print(os.getpid())")]), ROOT)
    pid = int(nb.cells[0].outputs[0]["text"])
    for _ in range(50):  # shutdown is asynchronous on the kernel's side: give it up to 5 s
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"kernel {pid} still alive after execute()")


def test_a_kernel_imports_the_course_utils_of_the_checkout_that_runs_it(tmp_path, monkeypatch):
    """nbtools.execute (notebook builds, tests) and the headless run put this checkout first on the kernel's
    PYTHONPATH: another checkout's course_utils (an editable install of a CI clone, say) is not imported."""
    from course_utils.course.headless import ROOT
    from course_utils.course.nbtools import execute

    other = tmp_path / "other-checkout"
    (other / "course_utils").mkdir(parents=True)
    (other / "course_utils" / "__init__.py").write_text("raise ImportError('the wrong checkout')\n")
    monkeypatch.setenv("PYTHONPATH", str(other))
    nb = new_notebook(cells=[new_code_cell("import course_utils; print(course_utils.__file__)")])
    execute(nb, tmp_path)
    assert nb.cells[0].outputs[0]["text"].strip() == str(ROOT / "course_utils" / "__init__.py")
    out = tmp_path / "run"
    assert main([str(write_nb(tmp_path / "01_where.ipynb", "import course_utils\n"
                              "from course_utils.course.report import record\nrecord('root ok', 1.0)")),
                 "--quick", "--out", str(out)]) == 0
