"""Time each course notebook top to bottom in quick and full mode, each run with an empty cache.

Every run executes the notebook in a fresh kernel (nbclient) with ``COURSE_QUICK`` set for
the mode and ``COURSE_CACHE_DIR`` pointing at a new, empty folder -- so the data are
decoded again and every model is trained from scratch unless the course ships it (the reference
models; see below).
With ``--rerun`` a second full-mode run reuses that run's cache (models come from the
checkpoint cache) and is timed too.

With ``--shared-cache`` the notebooks of one mode run in the order given with one cache
folder, empty at the start: this is a student working through the course, and what
notebook 08 expects (it compares the VAE of 05 and the GAN of 07, which it finds in the
cache). Each entry then records in ``<mode>_cache`` which notebooks ran before it.

    python benchmarks/bench_notebooks.py                      # notebooks 01-05, quick then full
    python benchmarks/bench_notebooks.py --modes quick        # quick mode only (about 5 minutes)
    python benchmarks/bench_notebooks.py --notebooks 05_vae --modes full --rerun
    python benchmarks/bench_notebooks.py --notebooks 05_vae 06_gan_objective 07_gan 08_vae_vs_gan \
        --modes full --shared-cache                           # 05-08 as a student meets them
    python benchmarks/bench_notebooks.py --modes full --as-scripts --pin 0,1 --output notebooks_pinned.json

``--as-scripts`` runs each notebook's jupytext ``.py`` pair with ``python`` instead of a Jupyter
kernel (for a machine without Jupyter; same cells, same work, no kernel start-up), and
``--pin`` restricts it to the given CPUs with ``taskset`` -- e.g. two dedicated cores of a
bigger machine, the closest thing to the 2-core budget without noise from other processes.

Every run also records the kernel's peak resident memory, ``<mode>_peak_rss_mb`` (getrusage
``ru_maxrss`` read by a cell appended after the notebook's last one; for ``--as-scripts`` the
child's own rusage), with its own ``<mode>_memory_{machine,date,command,cache}``. Whether a
notebook fits Binder's memory is measured by ``benchmarks/bench_binder.py`` (a memory cgroup of
1 GB per notebook, 2 GB for the server and two kernels; ``results/binder.json``): ru_maxrss also
counts file-backed pages (the torch libraries) that a cgroup can reclaim.
``--memory-only`` records just that, leaving the entries' timings and reported numbers as they
were -- for measuring memory on another CPU than the one that timed the notebooks.

Full mode loads the course's reference models (``course_utils/reference/``) where they exist:
``<mode>_*`` keys. ``--train-here`` sets ``COURSE_TRAIN_HERE=1`` in the kernels (every generative model
trained from scratch: ``<mode>_scratch_*`` keys; the evaluation classifier, the yardstick the notebooks
measure samples with, still loads the shipped one on Fashion-MNIST -- on MNIST, where none is shipped,
07 trains it too), and ``--threads N`` sets ``COURSE_THREADS=N``
(``<mode>_<N>t_*`` keys; 1 is Binder's case), so the variants sit side by side in one entry:

    python benchmarks/bench_notebooks.py --notebooks 01_latent_variable_models ... 08_vae_vs_gan \
        --modes full --shared-cache [--threads 1] [--train-here]

Writes benchmarks/results/notebooks.json as ``{"<notebook>": {"quick_seconds", "full_seconds", ...}}``
plus machine, date and command; results of earlier runs for other notebooks/modes are kept, and
the file is rewritten after every notebook so a long run leaves partial results.
The limits the course sets (2 CPU cores): quick mode, 01-05 together <= 300 s and 06-08
together <= 300 s; full mode, 05 and 07 (which train the VAE and the GAN) <= 600 s each and
every other notebook <= 300 s.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time

from common import RESULTS, ROOT, stamp, write_results  # also puts the repo root on sys.path

from course_utils.core.data import resolve_dataset  # noqa: E402
from course_utils.core.storage import write_json  # noqa: E402
from course_utils.course.report import read as read_report  # noqa: E402

PART_1 = ["01_latent_variable_models", "02_naive_monte_carlo", "03_kl_divergence",
          "04_elbo_reparameterization", "05_vae"]
PART_2 = ["06_gan_objective", "07_gan", "08_vae_vs_gan"]
DEFAULT = PART_1
QUICK_TOTALS = {"quick_total_seconds": PART_1, "quick_total_seconds_06_08": PART_2}
LIMITS = {"quick_total_seconds": 300, "quick_total_seconds_06_08": 300,
          "full_seconds": {"05_vae": 600, "07_gan": 600, "other": 300}}
OUT = "notebooks.json"
# issue 21: every notebook within a 1 GB memory cgroup (bench_binder.py measures it; ru_maxrss here is
# the kernel's resident peak, file-backed pages included)
MEMORY_LIMIT_MB = 1000
MEMORY_METHOD = ("<mode>_peak_rss_mb: the kernel's (or script's) peak resident memory, getrusage ru_maxrss, "
                 "in MB of 10^6 bytes, read by a cell appended after the notebook's last one")


# appended to each executed notebook: the kernel's peak resident memory (ru_maxrss is in KiB on Linux)
PEAK_CELL = ("import json as _j, resource as _r\n"
             "with open({path!r}, 'w') as _f:\n"
             "    _j.dump(_r.getrusage(_r.RUSAGE_SELF).ru_maxrss, _f)")


def peak_mb(kib: int) -> float:
    """ru_maxrss (KiB on Linux) in MB (10^6 bytes), the unit of Binder's 1-2 GB limits."""
    return round(kib * 1024 / 1e6, 1)


def run_script(name: str, quick: bool, cache: str, pin: str | None, report: str, extra: dict | None = None) -> dict:
    """Run the notebook's .py pair as a plain script (MPLBACKEND=Agg), optionally pinned with taskset."""
    env = {**os.environ, "COURSE_QUICK": "1" if quick else "0", "COURSE_CACHE_DIR": cache, "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "COURSE_REPORT_FILE": report, **(extra or {})}
    cmd = ([*(["taskset", "-c", pin] if pin else []), sys.executable, str(ROOT / "notebooks" / f"{name}.py")])
    t0 = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT / "notebooks", stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak memory (taskset execs python in place)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = round(time.perf_counter() - t0, 1)
        err.seek(0)
        stderr = err.read()
    if proc.returncode:
        lines = stderr.strip().splitlines()
        return {"seconds": seconds, "ok": False, "error": lines[-1] if lines else f"exit {proc.returncode}"}
    return {"seconds": seconds, "ok": True, "peak_rss_mb": peak_mb(usage.ru_maxrss)}


def run_once(name: str, quick: bool, cache: str, report: str, env: dict | None = None,
             kernel_name: str = "python3") -> dict:
    """Execute the notebook in a fresh ``kernel_name`` kernel; ``env`` adds kernel variables (and overrides
    the defaults set here). The peak-memory file is written into ``cache``."""
    import nbformat

    from course_utils.course.nbtools import execute

    path = ROOT / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    peak_file = os.path.join(cache, f"peak-{name}-{'quick' if quick else 'full'}.json")
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_CELL.format(path=peak_file)))
    t0 = time.perf_counter()
    try:
        _, seconds = execute(nb, path.parent, quick=quick, timeout=3600, kernel_name=kernel_name,
                             env={"COURSE_CACHE_DIR": cache, "COURSE_REPORT_FILE": report, **(env or {})})
        with open(peak_file) as fh:
            kib = json.load(fh)
        return {"seconds": round(seconds, 1), "ok": True, "peak_rss_mb": peak_mb(kib)}
    except Exception as exc:  # record the failure, keep benchmarking the others
        lines = str(exc).strip().splitlines()
        return {"seconds": round(time.perf_counter() - t0, 1), "ok": False,
                "error": lines[-1] if lines else type(exc).__name__}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notebooks", nargs="*", default=DEFAULT, help="notebook stems (default: 01-05)")
    ap.add_argument("--modes", default="quick,full", help="comma-separated: quick, full")
    ap.add_argument("--rerun", action="store_true", help="also time a full-mode re-run with the warm cache")
    ap.add_argument("--shared-cache", action="store_true",
                    help="one cache per mode for all the notebooks, in the order given (empty at the start)")
    ap.add_argument("--as-scripts", action="store_true", help="run the .py pairs with python, not a Jupyter kernel")
    ap.add_argument("--pin", default=None, help="CPU list for taskset, e.g. 0,1 (with --as-scripts)")
    ap.add_argument("--memory-only", action="store_true",
                    help="record only each run's peak memory (<mode>_peak_rss_mb and its provenance), keep the "
                         "entries' timings and reported numbers (e.g. measured on another CPU)")
    ap.add_argument("--threads", type=int, default=None,
                    help="COURSE_THREADS for the kernels (keys <mode>_<N>t_*); default: the course's own choice")
    ap.add_argument("--train-here", action="store_true",
                    help="COURSE_TRAIN_HERE=1: train every model instead of loading the reference models "
                         "(keys <mode>_scratch_*; the evaluation classifier, the yardstick, still loads)")
    ap.add_argument("--output", default=OUT, help=f"results file in benchmarks/results (default {OUT})")
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]

    if args.pin and not args.as_scripts:
        ap.error("--pin needs --as-scripts")
    previous = RESULTS / args.output
    results = json.loads(previous.read_text()) if previous.is_file() else {}
    # the file's own provenance is the timings'; --memory-only keeps it (each entry has its memory's own)
    timings_provenance = {key: results.pop(key) for key in ("machine", "date", "command") if key in results}
    results["limits"] = LIMITS
    results["memory_limit_mb"] = MEMORY_LIMIT_MB
    results["memory_method"] = MEMORY_METHOD
    dataset = resolve_dataset()  # the kernels inherit COURSE_DATASET from this process
    if results.get("dataset", dataset) != dataset:
        ap.error(f"{args.output} holds {results['dataset']} runs and this run would be {dataset}: "
                 "set COURSE_DATASET to match, or write another file with --output")
    results["dataset"] = dataset
    if args.memory_only:
        pass  # the timings' method and provenance stay as they were
    elif args.as_scripts:
        results["method"] = ("each notebook's jupytext .py run with python (no Jupyter kernel), MPLBACKEND=Agg, "
                             f"COURSE_QUICK per mode, COURSE_CACHE_DIR as in each entry's <mode>_cache; "
                              f"CPUs: {args.pin or 'all'}")
    else:
        results["method"] = ("nbclient, fresh kernel per run, COURSE_QUICK per mode, COURSE_CACHE_DIR as in each "
                             "entry's <mode>_cache (empty: data decoded and models trained from scratch)")
    extra = {**({"COURSE_THREADS": str(args.threads)} if args.threads else {}),
             **({"COURSE_TRAIN_HERE": "1"} if args.train_here else {})}
    variant = ("_scratch" if args.train_here else "") + (f"_{args.threads}t" if args.threads else "")

    def run(name: str, quick: bool, cache: str, report: str) -> dict:
        return (run_script(name, quick, cache, args.pin, report, extra) if args.as_scripts
                else run_once(name, quick, cache, report, env=extra))

    for mode_name in modes:
        before: list[str] = []
        mode = mode_name + variant  # the entries' key prefix: e.g. full, full_1t, full_scratch
        # --shared-cache: one folder for the whole mode; otherwise a fresh one per notebook
        with (tempfile.TemporaryDirectory(prefix="bench-nb-cache-") if args.shared_cache
              else contextlib.nullcontext()) as shared:
            for name in args.notebooks:
                with (contextlib.nullcontext(shared) if args.shared_cache
                      else tempfile.TemporaryDirectory(prefix="bench-nb-cache-")) as cache:
                    load = os.getloadavg()
                    report = os.path.join(cache, f"report-{name}-{mode}.json")
                    r = run(name, mode_name == "quick", cache, report)
                    entry = results.setdefault(name, {})
                    entry[f"{mode}_dataset"] = dataset
                    provenance = stamp()
                    if r["ok"]:
                        entry[f"{mode}_peak_rss_mb"] = r["peak_rss_mb"]
                        entry[f"{mode}_memory_cache"] = (f"shared, after {', '.join(before)}" if before
                                                         else "empty (nothing trained or decoded yet)")
                        for key in ("machine", "date", "command"):
                            entry[f"{mode}_memory_{key}"] = provenance[key]
                    print(f"{name:30s} {mode:5s} {r['seconds']:8.1f} s "
                          f"{'ok' if r['ok'] else 'FAILED: ' + r['error']}"
                          + (f", peak {r['peak_rss_mb']:.0f} MB" if r["ok"] else ""), flush=True)
                    if args.memory_only:
                        if args.shared_cache:
                            before.append(name)
                        write_json(RESULTS / args.output, {**results, **timings_provenance})
                        continue
                    entry[f"{mode}_seconds"] = r["seconds"]
                    entry[f"{mode}_ok"] = r["ok"]
                    entry[f"{mode}_load_average_before"] = [round(v, 2) for v in load]
                    entry[f"{mode}_cache"] = (f"shared, after {', '.join(before)}" if before
                                              else "empty (nothing trained or decoded yet)")
                    # each entry keeps the command and date that measured it
                    entry[f"{mode}_date"], entry[f"{mode}_command"] = provenance["date"], provenance["command"]
                    # the numbers the notebook reported (course_utils.course.report.record), e.g. 08's Frechet distances
                    entry[f"{mode}_reported"] = {e["name"]: e["value"] for e in read_report(report)}
                    if not r["ok"]:
                        entry[f"{mode}_error"] = r["error"]
                    else:
                        entry.pop(f"{mode}_error", None)
                    if mode_name == "full" and args.rerun and r["ok"]:
                        again = run(name, False, cache, os.path.join(cache, f"report-{name}-rerun.json"))
                        entry["full_rerun_seconds"] = again["seconds"]
                        print(f"{name:30s} rerun {again['seconds']:8.1f} s (warm cache)", flush=True)
                if args.shared_cache:
                    before.append(name)
                for key, group in QUICK_TOTALS.items():
                    quick = [results[n]["quick_seconds"] for n in group if "quick_seconds" in results.get(n, {})]
                    if len(quick) == len(group):
                        results[key] = round(sum(quick), 1)
                write_results(args.output, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
