"""Notebook housekeeping: execute, clean for git, and rebuild the .ipynb files from their .py pairs.

What lives here: the few operations the course's notebook machinery needs and
that tests and benchmarks share -- executing a notebook with nbclient (quick or
full mode), keeping only the outputs the tests compare (cells marked
``# NBVAL_CHECK_OUTPUT``), dropping widget state and execution noise, and the
``build`` step that turns an edited ``notebooks/NN_name.py`` (jupytext
``py:percent``) into its executed, cleaned ``.ipynb`` pair. Student versions are
made by :mod:`course_utils.course.student`; nothing here knows about course content.
``build`` also writes each exercise cell's nbgrader metadata, derived from its markers by
:func:`course_utils.course.grading.add_nbgrader_metadata` (the ``.py`` stays free of metadata).

Command line::

    python -m course_utils.course.nbtools build notebooks/03_kl_divergence.py   # execute (quick) + clean + write .ipynb
    python -m course_utils.course.nbtools clean notebooks/*.ipynb                # strip unchecked outputs in place
    python -m course_utils.course.nbtools check notebooks/*.ipynb                # size / widget-state / output audit
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

CHECK_MARK = "NBVAL_CHECK_OUTPUT"
ROOT = Path(__file__).resolve().parents[2]  # the checkout this package was imported from


def checkout_pythonpath() -> str:
    """``PYTHONPATH`` for a kernel: this checkout first, so a notebook imports the ``course_utils`` that runs
    it (not another checkout's editable install), then whatever ``PYTHONPATH`` already holds."""
    return os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
MAX_BYTES = 1_000_000
_NOISY_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled", "jupyter")


def is_checked(cell) -> bool:
    """True for a code cell whose output the tests compare (it carries ``# NBVAL_CHECK_OUTPUT``;
    :mod:`course_utils.course.outputs`)."""
    return cell.get("cell_type") == "code" and CHECK_MARK in cell.get("source", "")


def clean(nb):
    """Strip what git should not carry; keep the outputs of checked cells. Modifies and returns ``nb``.

    - unchecked code cells lose their outputs;
    - execution counts are cleared, except on checked cells (nbval treats a cell with
      outputs but no execution count as "unrun" and fails it); they are renumbered
      1, 2, 3, ... over the checked cells so a re-execution does not churn them;
    - checked cells keep text outputs only (no images or widget views), and consecutive
      prints to the same stream become one output (the kernel's chunking is timing);
    - widget state and per-cell timing metadata are removed.
    """
    nb.metadata.pop("widgets", None)
    count = 0
    for cell in nb.cells:
        for key in _NOISY_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        if not is_checked(cell):
            cell.execution_count = None
            cell.outputs = []
            continue
        count += 1
        cell.execution_count = count
        kept = []
        for out in cell.outputs:
            if out.get("output_type") in ("execute_result", "display_data"):
                data = {k: v for k, v in out.get("data", {}).items() if k.startswith("text/")}
                if not data:
                    continue
                out["data"] = data
                out["metadata"] = {}
                if "execution_count" in out:
                    out["execution_count"] = count
            previous = kept[-1] if kept else None
            if (out.get("output_type") == "stream" and previous is not None
                    and previous.get("output_type") == "stream" and previous.get("name") == out.get("name")):
                # one stream output per run of prints: how the kernel chunked stdout is timing, not content
                previous["text"] = _text(previous["text"]) + _text(out["text"])
                continue
            kept.append(out)
        cell.outputs = kept
    return nb


def _text(text) -> str:
    return "".join(text) if isinstance(text, list) else text


@contextlib.contextmanager
def _env(**values):
    """Temporarily set environment variables (None removes one); the kernel inherits them."""
    old = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = str(v)
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def ipc_kernel_manager(folder: str | os.PathLike, kernel_name: str = "python3"):
    """A kernel manager that talks to its kernel over local sockets in ``folder`` (IPC transport).

    Over TCP without CurveZMQ keys every kernel logs "Kernel is running over TCP without
    encryption" to the terminal, once per notebook; IPC sockets are files only this user can
    reach, so the warning does not apply and is not printed.
    """
    from jupyter_client.manager import AsyncKernelManager

    return AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=str(Path(folder) / "kernel"))


def execute(nb, cwd: str | os.PathLike, quick: bool = True, timeout: int = 1200,
            env: dict | None = None, kernel_name: str = "python3"):
    """Execute ``nb`` in place with nbclient (working folder ``cwd``); return ``(nb, seconds)``.

    ``quick`` sets ``COURSE_QUICK`` for the kernel; ``env`` adds further variables
    (e.g. ``COURSE_CACHE_DIR``). Errors propagate as nbclient's ``CellExecutionError``.
    """
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="course-kernel-") as ipc_dir:
        client = NotebookClient(nb, timeout=timeout, km=ipc_kernel_manager(ipc_dir, kernel_name),
                                resources={"metadata": {"path": str(cwd)}})
        client.owns_km = True  # shut the kernel down when done (nbclient keeps a km it was given alive)
        t0 = time.perf_counter()
        with _env(COURSE_QUICK="1" if quick else "0", MPLBACKEND="module://matplotlib_inline.backend_inline",
                  PYTHONPATH=checkout_pythonpath(), **(env or {})):
            client.execute()
        return nb, time.perf_counter() - t0


def read_pair_source(py_path: str | os.PathLike):
    """Read a jupytext ``py:percent`` file as a notebook."""
    import jupytext

    return jupytext.read(py_path, fmt="py:percent")


def stable_cell_ids(nb, previous=None):
    """Give ``nb``'s cells ids that do not change when their content does not (in place; returns ``nb``).

    A cell whose type and source equal a cell of ``previous`` (the notebook as last
    committed) keeps that cell's id; any other cell gets an id derived from its
    content. So rebuilding a notebook changes only the ids of the cells that changed,
    and the diff shows the edit instead of every id being redrawn.
    """
    import hashlib

    unused: dict[tuple[str, str], list[str]] = {}
    for cell in (previous.cells if previous is not None else []):
        if cell.get("id"):
            unused.setdefault((cell.cell_type, cell.source), []).append(cell.id)
    taken: set[str] = set()
    for cell in nb.cells:
        reuse = unused.get((cell.cell_type, cell.source))
        new_id = reuse.pop(0) if reuse else None
        if new_id is None or new_id in taken:
            digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()
            new_id, n = digest[:8], 0
            while new_id in taken:
                n += 1
                new_id = hashlib.sha1(f"{digest}-{n}".encode()).hexdigest()[:8]
        cell.id = new_id
        taken.add(new_id)
    return nb


def build(py_path: str | os.PathLike, quick: bool = True, timeout: int = 1200) -> Path:
    """Execute the notebook in ``py_path`` and write its cleaned ``.ipynb`` pair next to it."""
    import jupytext

    py_path = Path(py_path)
    nb = read_pair_source(py_path)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb, seconds = execute(nb, py_path.parent, quick=quick, timeout=timeout)
    clean(nb)
    from course_utils.course.grading import add_nbgrader_metadata

    add_nbgrader_metadata(nb, py_path.name)  # nbgrader source-assignment metadata, from the cells' markers
    out = py_path.with_suffix(".ipynb")
    stable_cell_ids(nb, nbformat.read(out, as_version=4) if out.is_file() else None)
    jupytext.write(nb, out, fmt="ipynb")
    # write the .py back from the same notebook so the pair is byte-identical to what --sync produces
    jupytext.write(nb, py_path, fmt="py:percent")
    print(f"built {out} in {seconds:.0f} s ({'quick' if quick else 'full'} mode), {out.stat().st_size / 1e3:.0f} kB")
    return out


def audit(path: str | os.PathLike) -> list[str]:
    """Problems that would make a committed notebook noisy; empty when it is clean."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    problems = []
    size = path.stat().st_size
    if size > MAX_BYTES:
        problems.append(f"{path.name}: {size / 1e6:.2f} MB > 1 MB")
    if "widgets" in nb.metadata:
        problems.append(f"{path.name}: carries widget state (metadata.widgets)")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.outputs and not is_checked(cell):
            problems.append(f"{path.name}: cell {i} has outputs but is not a checked cell ({CHECK_MARK})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.course.nbtools", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="execute a .py notebook (quick mode) and write its cleaned .ipynb pair")
    b.add_argument("paths", nargs="+")
    b.add_argument("--full", action="store_true", help="execute in full mode instead of quick mode")
    c = sub.add_parser("clean", help="strip unchecked outputs and widget state from .ipynb files in place")
    c.add_argument("paths", nargs="+")
    a = sub.add_parser("check", help="report notebooks that are too big or carry execution noise")
    a.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "build":
        for p in args.paths:
            build(Path(p).with_suffix(".py"), quick=not args.full)
    elif args.command == "clean":
        for p in args.paths:
            nb = nbformat.read(p, as_version=4)
            nbformat.write(clean(nb), p)
    else:
        problems = [msg for p in args.paths for msg in audit(p)]
        print("\n".join(problems) or "all clean")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
