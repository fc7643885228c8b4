"""Time each course notebook top to bottom in quick and full mode, each run with an empty cache.

Every run executes the notebook in a fresh kernel (nbclient) with ``COURSE_QUICK`` set for
the mode and ``COURSE_CACHE_DIR`` pointing at a new, empty folder -- so the data are
decoded again and every model is trained from scratch, the worst case a student meets.
With ``--rerun`` a second full-mode run reuses that run's cache (models come from the
checkpoint cache) and is timed too.

    python benchmarks/bench_notebooks.py                      # notebooks 01-05, quick then full
    python benchmarks/bench_notebooks.py --modes quick        # quick mode only (about 5 minutes)
    python benchmarks/bench_notebooks.py --notebooks 05_vae --modes full --rerun

Writes benchmarks/results/notebooks.json as ``{"<notebook>": {"quick_seconds", "full_seconds", ...}}``
plus machine, date and command; results of earlier runs for other notebooks/modes are kept, and
the file is rewritten after every notebook so a long run leaves partial results.
The limits the course sets (2 CPU cores): quick mode, 01-05 together <= 300 s; full mode,
05 <= 600 s and each other notebook <= 300 s.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

from common import RESULTS, ROOT, write_results  # also puts the repo root on sys.path

import nbformat

from course_utils.nbtools import execute

DEFAULT = ["01_latent_variable_models", "02_naive_monte_carlo", "03_kl_divergence",
           "04_elbo_reparameterization", "05_vae"]
LIMITS = {"quick_total_seconds": 300, "full_seconds": {"05_vae": 600, "other": 300}}
OUT = "notebooks.json"


def run_once(name: str, quick: bool, cache: str) -> dict:
    path = ROOT / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    try:
        _, seconds = execute(nb, path.parent, quick=quick, timeout=3600,
                             env={"COURSE_CACHE_DIR": cache, "COURSE_REPORT_FILE": None})
        return {"seconds": round(seconds, 1), "ok": True}
    except Exception as exc:  # record the failure, keep benchmarking the others
        lines = str(exc).strip().splitlines()
        return {"seconds": round(time.perf_counter() - t0, 1), "ok": False,
                "error": lines[-1] if lines else type(exc).__name__}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notebooks", nargs="*", default=DEFAULT, help="notebook stems (default: 01-05)")
    ap.add_argument("--modes", default="quick,full", help="comma-separated: quick, full")
    ap.add_argument("--rerun", action="store_true", help="also time a full-mode re-run with the warm cache")
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]

    previous = RESULTS / OUT
    results = json.loads(previous.read_text()) if previous.is_file() else {}
    for key in ("machine", "date", "command"):
        results.pop(key, None)
    results["limits"] = LIMITS
    results["method"] = ("nbclient, fresh kernel per run, COURSE_QUICK per mode, empty COURSE_CACHE_DIR per run "
                         "(data decoded and models trained from scratch)")
    for mode in modes:
        for name in args.notebooks:
            with tempfile.TemporaryDirectory(prefix="bench-nb-cache-") as cache:
                load = os.getloadavg()
                r = run_once(name, mode == "quick", cache)
                entry = results.setdefault(name, {})
                entry[f"{mode}_seconds"] = r["seconds"]
                entry[f"{mode}_ok"] = r["ok"]
                entry[f"{mode}_load_average_before"] = [round(v, 2) for v in load]
                if not r["ok"]:
                    entry[f"{mode}_error"] = r["error"]
                else:
                    entry.pop(f"{mode}_error", None)
                print(f"{name:30s} {mode:5s} {r['seconds']:8.1f} s {'ok' if r['ok'] else 'FAILED: ' + r['error']}",
                      flush=True)
                if mode == "full" and args.rerun and r["ok"]:
                    again = run_once(name, False, cache)
                    entry["full_rerun_seconds"] = again["seconds"]
                    print(f"{name:30s} rerun {again['seconds']:8.1f} s (warm cache)", flush=True)
            quick = [results[n]["quick_seconds"] for n in DEFAULT if "quick_seconds" in results.get(n, {})]
            if len(quick) == len(DEFAULT):
                results["quick_total_seconds"] = round(sum(quick), 1)
            write_results(OUT, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
