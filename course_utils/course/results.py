"""The measured numbers the notebooks quote, read from the results files of ``benchmarks/``.

A notebook never types a measured number into its prose: a code cell reads it from
``benchmarks/results/<name>.json`` (written by a benchmark script, with its command,
machine and date) and prints it together with the machine it came from, so the text
and the measurement cannot drift apart. What lives here: :func:`load` (one results
file), :func:`value` (one number inside it, by a dotted key) and :func:`provenance`
(the "measured on ..." line). What does not: the benchmarks themselves (``benchmarks/``).

The folder is the repository's ``benchmarks/results``; ``COURSE_RESULTS_DIR``
points elsewhere (e.g. a copy shipped with a course website).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (course_utils/course/ -> root)


def results_dir() -> Path:
    """Where the results files are: ``COURSE_RESULTS_DIR`` or the repository's ``benchmarks/results``."""
    env = os.environ.get("COURSE_RESULTS_DIR")
    return Path(env).expanduser() if env else ROOT / "benchmarks" / "results"


def load(name: str) -> dict:
    """The parsed results file ``name`` (``"gan"`` or ``"gan.json"``); a clear error when it is missing."""
    filename = name if name.endswith(".json") else f"{name}.json"
    path = results_dir() / filename
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"No results file {path}. The course's measured numbers come from the scripts in benchmarks/ "
            "(see the README's 'Measured numbers'); run the one that writes "
            f"{filename}, or set COURSE_RESULTS_DIR to a folder that has it.") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"The results file {path} is not valid JSON ({exc}); rerun its benchmark.") from None


def value(name: str, key: str):
    """One entry of a results file by a dotted key, e.g. ``value("gan", "details.n_eval_samples")``."""
    node = load(name)
    for part in key.split("."):
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(f"{name}.json has no entry {key!r} (stopped at {part!r})")
    return node


def provenance(name: str) -> str:
    """``"measured on <machine>, <date> (<command>)"`` for a results file, from the keys every file carries."""
    d = load(name)
    return f"measured on {d.get('machine', 'an unrecorded machine')}, {d.get('date', 'undated')} " \
           f"(`{d.get('command', 'command not recorded')}`)"
