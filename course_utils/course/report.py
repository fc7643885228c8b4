"""Key numbers a notebook reports to the instructor's summary of a course run.

A notebook calls :func:`record` for the numbers that matter (test ELBO, importance
weighted log-likelihood, Fréchet distances). Interactively it does nothing
(and prints nothing); under the headless course run (:mod:`course_utils.course.headless`),
which sets ``COURSE_REPORT_FILE``, each record is appended to that JSON file.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

from course_utils.core.storage import write_json

ENV_REPORT = "COURSE_REPORT_FILE"


def record(name: str, value: float, unit: str = "", note: str = "") -> None:
    """Report ``value`` under ``name`` (e.g. ``record("test ELBO (z=20)", -240.1, "nats")``).

    Returns None, so a ``record(...)`` that ends a cell prints nothing into the notebook: the
    value at full float precision would be last-bit noise in a compared output.
    """
    path = os.environ.get(ENV_REPORT)
    value = float(value)
    if path:
        path = Path(path)
        entries = json.loads(path.read_text()) if path.is_file() else []
        entries = [e for e in entries if e["name"] != name]
        entries.append({"name": name, "value": value if math.isfinite(value) else str(value),
                        "unit": unit, "note": note})
        write_json(path, entries)


def read(path) -> list[dict]:
    """The records in a report file (empty when there is none)."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else []
