"""Shared by the benchmark scripts: machine description, date, command, results file."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import statistics
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

from course_utils.core.precision import cpu_model  # noqa: E402
from course_utils.core.storage import write_json  # noqa: E402


def machine() -> str:
    return (f"{cpu_model()}, {os.cpu_count()} logical CPUs, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), Python {platform.python_version()}, {platform.system()}")


def stamp() -> dict:
    """The provenance keys every results file carries."""
    return {
        "machine": machine(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
    }


def write_results(name: str, results: dict) -> Path:
    """Write ``results`` with :func:`stamp`'s provenance; every results file records its data set."""
    if "dataset" not in results:
        raise ValueError(f"{name}: a results file must record its data set (a 'dataset' key: 'fashion-mnist', "
                         "'mnist', or 'none' with a 'dataset_note' when no data set is involved)")
    path = write_json(RESULTS / name, {**results, **stamp()})
    print(f"wrote {path}")
    return path


def mean_sd(values: list[float]) -> dict:
    """Mean, standard deviation (n - 1; None for one value), min and max of ``values`` (rounded to 3 decimals)
    and their count: how the results files summarise a setting over seeds."""
    return {"mean": round(statistics.fmean(values), 3),
            "sd": round(statistics.stdev(values), 3) if len(values) > 1 else None,
            "min": round(min(values), 3), "max": round(max(values), 3), "n_seeds": len(values)}
