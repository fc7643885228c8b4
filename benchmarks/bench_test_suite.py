"""How long `make test` takes, phase by phase, on this machine: benchmarks/results/test_suite.json.

    python benchmarks/bench_test_suite.py            # set-up + lint, then the test recipe alone

`make test` is timed in two parts: `make setup-test lint` (the install, which on a machine that has
everything is a check, and the linters), then the test recipe alone (`make -o setup-test -o lint
test`: both pytest runs). The issue's target (15 minutes) is for the second part, set-up excluded.
Run it alone on the machine (nothing else computing): two heavy processes on 2 cores distort every
timing. The slowest tests of each pytest run (pytest --durations) are kept from the output.
Each phase is appended to the results file as it ends, so a stopped run keeps what it measured.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT, stamp, write_json  # noqa: E402

TARGET_SECONDS = 15 * 60


def cpu_flags() -> list[str]:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return []
    return sorted(set(flags.split(":", 1)[1].split()) & {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})


def slowest(output: str, n: int = 15) -> list[str]:
    """The lines of pytest's --durations report ("12.34s call  tests/test_x.py::test_y")."""
    lines = re.findall(r"^\s*(\d+\.\d+s (?:call|setup|teardown)\s+\S+)", output, flags=re.M)
    return lines[:n]


def phase(name: str, argv: list[str], results: dict, path: Path) -> bool:
    print(f"== {name}: {' '.join(argv)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    output = proc.stdout + proc.stderr
    summaries = re.findall(r"^=+ (.*(?:passed|failed|error).*) =+$", output, flags=re.M)
    results["phases"][name] = {"command": " ".join(argv), "seconds": round(seconds, 1),
                               "exit_status": proc.returncode, "pytest_summaries": summaries,
                               "slowest": slowest(output)}
    write_json(path, results)
    print(f"   {seconds:.0f} s, exit status {proc.returncode}; {summaries}", flush=True)
    if proc.returncode != 0:
        print(output[-4000:])
    return proc.returncode == 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RESULTS / "test_suite.json")
    args = ap.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    results = {**stamp(), "cpu_flags": cpu_flags(), "commit": commit.stdout.strip(), "target_seconds": TARGET_SECONDS,
               "method": "wall time of each phase, this script alone on the machine", "phases": {},
               "dataset": "fashion-mnist"}  # make test sets COURSE_DATASET=fashion-mnist
    ok = phase("set-up and lint", ["make", "setup-test", "lint"], results, args.out)
    ok = phase("tests (make test without set-up)", ["make", "-o", "setup-test", "-o", "lint", "test"],
               results, args.out) and ok
    results["test_seconds"] = results["phases"]["tests (make test without set-up)"]["seconds"]
    results["within_target"] = results["test_seconds"] <= TARGET_SECONDS
    results["passed"] = ok
    write_json(args.out, results)
    print(f"wrote {args.out}: make test without set-up {results['test_seconds'] / 60:.1f} min "
          f"(target {TARGET_SECONDS / 60:.0f}), {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
