"""The headless course run: execute every notebook, keep HTML copies and a summary.

    python -m course_utils.course.headless [--quick] [--out course-run] [notebooks ...]

What an instructor runs before a semester. Each notebook is executed top to bottom
in a fresh kernel (full mode by default, quick mode with ``--quick``), its executed
copy is kept as ``<out>/<name>.ipynb`` (what the course website is built from, see
:mod:`course_utils.course.site`; explorers add their static stand-ins to it and every figure is
audited into ``<out>/<name>.figures.jsonl``) and rendered to ``<out>/<name>.html``, and ``<out>/index.html`` (plus
``summary.json``) lists each notebook's status, run time and the key numbers it
reported with :func:`course_utils.course.report.record`. A failing notebook is reported,
the others still run, and the exit status is non-zero.
"""
from __future__ import annotations

import argparse
import html
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from course_utils.core.plots import ENV_AUDIT
from course_utils.core.storage import atomic_write, write_json
from course_utils.course.nbtools import checkout_pythonpath, ipc_kernel_manager
from course_utils.course.report import ENV_REPORT, read
from course_utils.widgets.static import ENV_STATIC

ROOT = Path(__file__).resolve().parents[2]  # the repository (course_utils/course/ -> root)
NOTEBOOKS = ROOT / "notebooks"


def default_notebooks() -> list[Path]:
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def run_notebook(path: Path, out: Path, quick: bool, timeout: int) -> dict:
    """Execute one notebook in a fresh kernel; write its HTML; return its summary row."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    path, out = path.resolve(), out.resolve()  # every path a kernel sees is absolute: it runs in path.parent
    report_file = out / f"{path.stem}.report.json"
    report_file.unlink(missing_ok=True)
    env_backup = {k: os.environ.get(k) for k in ("COURSE_QUICK", ENV_REPORT, ENV_STATIC, ENV_AUDIT, "PYTHONPATH")}
    os.environ["PYTHONPATH"] = checkout_pythonpath()  # the kernel imports this checkout's course_utils
    os.environ["COURSE_QUICK"] = "1" if quick else "0"
    os.environ[ENV_REPORT] = str(report_file)
    os.environ[ENV_STATIC] = "1"  # explorers add their kernel-free stand-ins (for the website)
    audit_file = out / f"{path.stem}.figures.jsonl"
    audit_file.unlink(missing_ok=True)
    os.environ[ENV_AUDIT] = str(audit_file)
    ipc_dir = tempfile.mkdtemp(prefix="course-kernel-")
    client = NotebookClient(nb, timeout=timeout, km=ipc_kernel_manager(ipc_dir),
                            resources={"metadata": {"path": str(path.parent)}})
    client.owns_km = True  # shut the kernel down when done (nbclient keeps a km it was given alive)
    t0 = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as exc:
        error = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    except Exception as exc:  # kernel died, timeout
        error = f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(ipc_dir, ignore_errors=True)
        for k, v in env_backup.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - t0
    with atomic_write(out / f"{path.stem}.ipynb", "w") as fh:  # the executed notebook, for the website
        nbformat.write(nb, fh)
    body, _ = HTMLExporter().from_notebook_node(nb)
    with atomic_write(out / f"{path.stem}.html", "w") as fh:
        fh.write(body)
    return {"notebook": path.name, "html": f"{path.stem}.html", "ipynb": f"{path.stem}.ipynb",
            "seconds": round(seconds, 1),
            "ok": error is None, "error": error, "numbers": read(report_file)}


def summary_html(rows: list[dict], quick: bool) -> str:
    mode = "quick" if quick else "full"
    out = [f"<!doctype html><meta charset='utf-8'><title>Course run ({mode} mode)</title>",
           "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
           "td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
           ".bad{color:#b00}</style>",
           f"<h1>Course run — {mode} mode</h1>",
           f"<p>{sum(r['ok'] for r in rows)} of {len(rows)} notebooks ran without error; "
           f"total {sum(r['seconds'] for r in rows):.0f} s.</p>",
           "<table><tr><th>notebook</th><th>status</th><th>seconds</th><th>key numbers</th></tr>"]
    def shown(value) -> str:  # counts as counts (4 modes, 50 units), other numbers to two decimals
        if isinstance(value, float):
            return f"{value:.0f}" if value.is_integer() and abs(value) < 1e15 else f"{value:.2f}"
        return html.escape(str(value))

    for r in rows:
        nums = "<br>".join(f"{html.escape(n['name'])}: {shown(n['value'])} {html.escape(n['unit'])}".rstrip()
                           for n in r["numbers"])
        status = "ok" if r["ok"] else f"<span class='bad'>failed: {html.escape(r['error'] or '')}</span>"
        out.append(f"<tr><td><a href='{r['html']}'>{html.escape(r['notebook'])}</a></td><td>{status}</td>"
                   f"<td>{r['seconds']:.1f}</td><td>{nums}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course_utils.course.headless", description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    ap.add_argument("--quick", action="store_true", help="quick mode (CI-sized) instead of full mode")
    ap.add_argument("--out", type=Path, default=Path("course-run"), help="output folder (default course-run)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    args = ap.parse_args(argv)
    notebooks = args.notebooks or default_notebooks()
    if not notebooks:
        print(f"No notebooks found in {NOTEBOOKS}.", file=sys.stderr)
        return 2
    args.out = args.out.resolve()  # relative to where the command runs, never to a kernel's folder
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in notebooks:
        print(f"running {path.name} ({'quick' if args.quick else 'full'} mode) ...", flush=True)
        row = run_notebook(path.resolve(), args.out, args.quick, args.timeout)
        print(f"  {'ok' if row['ok'] else 'FAILED: ' + str(row['error'])} in {row['seconds']:.1f} s"
              + "".join(f"\n  {n['name']}: {n['value']} {n['unit']}" for n in row["numbers"]), flush=True)
        rows.append(row)
    write_json(args.out / "summary.json", {"mode": "quick" if args.quick else "full", "notebooks": rows})
    with atomic_write(args.out / "index.html", "w") as fh:
        fh.write(summary_html(rows, args.quick))
    print(f"summary: {args.out / 'index.html'}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
