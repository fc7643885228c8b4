"""Binder simulation: run the course's notebooks inside a memory cgroup with Binder's limit.

mybinder.org guarantees a user 1 GB and kills above 2 GB (issue 21). This runs the notebooks headless inside a
Linux **cgroup-v1 memory cgroup** with such a limit and no swap (where the machine has swap, memory+swap is
limited to the same bytes), and records per notebook: wall seconds, the
kernel's peak resident memory (``ru_maxrss``, by :mod:`bench_notebooks`'s appended cell), the cgroup's peak
usage (``memory.max_usage_in_bytes``: anonymous memory *and* page cache charged to the cgroup), the peak
anonymous memory (``total_rss`` of ``memory.stat``, sampled every 0.2 s), how often a charge hit the limit
(``memory.failcnt`` + ``memory.memsw.failcnt``) and the OOM kills (the increase of the ``oom_kill`` counter in
``memory.oom_control``); a notebook is ``ok`` when it ran to the end with no kill in its cgroup.

Two modes:

``--per-notebook`` (default; the 1 GB case)
    each notebook in a fresh kernel inside its own, new cgroup; the kernel joins the cgroup before it starts
    (a launcher in its kernelspec writes its pid to ``cgroup.procs`` and then execs ipykernel), this driver
    stays outside. The notebooks run in the order given with one cache folder (``COURSE_CACHE_DIR``), empty at
    the start unless ``--cache DIR`` is given -- a student working through the course.
``--course`` (the 2 GB case)
    a JupyterLab server (``python -m jupyterlab``, token, free localhost port) started inside one cgroup; each
    notebook gets a session (kernel) from the server's REST API, as JupyterLab opens a notebook, and is executed
    through that kernel (nbclient over the kernel's connection file). The previous notebook's kernel stays
    alive, idle with its state, while the next one runs (e.g. 05 open while 07 runs) and is shut down after;
    so the server and two kernels share the limit. Records the same per notebook (the cgroup's numbers then
    include the server and the idle kernel) plus the cgroup's peak over the whole course and all its kills.

Limits: ``--limit 1G`` is 10^9 bytes (the issue's "1 GB"; default 1G per notebook, 2G for the course); ``1GiB``
is 2^30; plain numbers are bytes. mybinder.org's "1G"/"2G" are JupyterHub byte specifications, which JupyterHub
reads as GiB (2^30), so 10^9 is about 7 % stricter than Binder. The exact byte value is recorded.

    sudo python benchmarks/bench_binder.py --per-notebook --limit 1G --threads 1   # full mode, 01-08: half an hour+
    sudo python benchmarks/bench_binder.py --course --limit 2G --threads 1
    sudo python benchmarks/bench_binder.py --per-notebook --env COURSE_TRAIN_HERE=1 --env MALLOC_ARENA_MAX=2
    sudo python benchmarks/bench_binder.py --quick --notebooks 03_kl_divergence --output binder_trial.json  # a try

It needs root, Linux and a mounted cgroup-v1 memory controller (``/sys/fs/cgroup/memory``); where any is missing
it says so and exits with status 2 (1: a notebook failed or was killed; 130: interrupted). The cgroups are made
under this process's own memory cgroup (the mount point itself on a plain machine) and removed at the end. It is
a measurement, not a test: run it alone on the machine. Page cache that other processes already hold (e.g.
torch's libraries read before) is charged to whoever read it first, so the cgroup numbers undercount a fresh
Binder container's file pages (reclaimable, but a cgroup at its limit spends time re-reading them);
``--drop-caches`` drops the clean page cache first so they are charged here too. What kills a kernel is
anonymous memory.

Writes ``benchmarks/results/binder.json`` (``--output``): ``{"dataset", "runs": {<key>: run}}`` where the key names
the mode, limit, quick/full, threads, a given cache and the ``--env`` settings, so runs with different settings
sit side by side; a per-notebook run merges its notebooks into its key's entry, a course run replaces it. The file
is rewritten after every notebook, so an interrupted run keeps what it measured.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import bench_notebooks  # also puts the repo root on sys.path (through common)
from bench_notebooks import PEAK_CELL, peak_mb
from common import RESULTS, ROOT, stamp, write_results

from course_utils.core.data import resolve_dataset  # noqa: E402

NOTEBOOKS = bench_notebooks.PART_1 + bench_notebooks.PART_2
OUT = "binder.json"
DEFAULT_LIMITS = {"per-notebook": "1G", "course": "2G"}
CELL_TIMEOUT = 3600
SAMPLE_SECONDS = 0.2
KERNEL_NAME = "binder-cgroup"
# the kernel's (or server's) first instructions: join the cgroup (its children follow), then become the real thing
LAUNCHER = ("import os, sys\n"
            "with open(sys.argv[1], 'w') as f:\n"
            "    f.write(str(os.getpid()))\n"
            "os.execv(sys.argv[2], sys.argv[2:])")
# kernel variables this script sets itself
RESERVED = {"COURSE_QUICK": "use --quick", "COURSE_CACHE_DIR": "use --cache", "COURSE_THREADS": "use --threads",
            "MPLBACKEND": "inline, as in JupyterLab", "PYTHONPATH": "this checkout first"}
UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
         "KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}


class CannotRun(Exception):
    """This machine cannot run the simulation (said without a traceback)."""


# ---------------------------------------------------------------- parsing (no root needed)

def parse_limit(text: str) -> int:
    """``1G`` -> 10^9, ``1.5GB`` -> 1.5 * 10^9, ``2GiB``/``2Gi`` -> 2 * 2^30, ``300M`` -> 3 * 10^8, ``123`` -> 123."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?)[bB]?\s*", text)
    if not m or (m.group(3) and not m.group(2)):
        raise ValueError(f"not a memory size: {text!r} (e.g. 1G = 10^9 bytes, 1GiB = 2^30 bytes, or bytes)")
    value = float(m.group(1)) * UNITS[(m.group(2) + m.group(3)).upper()]
    if value < 1 or value != int(value):
        raise ValueError(f"not a whole, positive number of bytes: {text!r}")
    return int(value)


def format_limit(n: int) -> str:
    """The shortest exact name of ``n`` bytes: 1000000000 -> '1G', 2147483648 -> '2Gi', 300000000 -> '300M'."""
    for suffix in ("T", "G", "M", "K", "TI", "GI", "MI", "KI"):
        if n % UNITS[suffix] == 0:
            return f"{n // UNITS[suffix]}{suffix[0]}{'i' if len(suffix) == 2 else ''}"
    return str(n)


def parse_oom_control(text: str) -> dict[str, int]:
    """``memory.oom_control``'s lines (``oom_kill_disable 0``, ``under_oom 0``, ``oom_kill 3``) as a dict."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def parse_env(items: list[str]) -> dict[str, str]:
    env = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValueError(f"--env wants KEY=VALUE, got {item!r}")
        env[key] = value
    return env


def run_key(mode: str, limit: int, quick: bool, threads: str | None, cache: str | None, env: dict,
            drop_caches: bool = False) -> str:
    """The results key of a run: one per setting, so runs with other settings are kept beside it."""
    parts = [mode, format_limit(limit), "quick" if quick else "full"]
    if threads:
        parts.append(f"threads={threads}")
    if cache:
        parts.append("given-cache")
    if drop_caches:
        parts.append("drop-caches")
    parts += [f"{k}={v}" for k, v in sorted(env.items())]
    return " ".join(parts)


# ---------------------------------------------------------------- the cgroup

def memory_mount(mounts: str | None = None) -> Path:
    """Where the cgroup-v1 memory controller is mounted (from ``/proc/mounts``)."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError as exc:
            raise CannotRun(f"cannot read /proc/mounts ({exc}): this needs Linux") from None
    cgroup2 = False
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "cgroup" and "memory" in fields[3].split(","):
            return Path(fields[1])
        cgroup2 |= len(fields) >= 3 and fields[2] == "cgroup2"
    raise CannotRun("no cgroup-v1 memory controller is mounted (nothing of type 'cgroup' with the 'memory' option "
                    "in /proc/mounts)" + ("; this machine has cgroup v2 only, which this script does not drive"
                                          if cgroup2 else ""))


def own_memory_cgroup(mount: Path, proc_cgroup: str | None = None) -> Path:
    """This process's memory cgroup folder (new cgroups go under it, so whatever limits this process still holds)."""
    if proc_cgroup is None:
        proc_cgroup = Path("/proc/self/cgroup").read_text()
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return mount / path.lstrip("/")
    return mount


def check_cgroup_parent(parent: Path) -> None:
    """Say clearly what is missing for making memory cgroups under ``parent``."""
    if not parent.is_dir():
        raise CannotRun(f"no cgroup folder {parent}: is the cgroup-v1 memory controller mounted there?")
    missing = [f for f in ("memory.limit_in_bytes", "memory.max_usage_in_bytes", "cgroup.procs")
               if not (parent / f).exists()]
    if missing:
        raise CannotRun(f"{parent} is not a cgroup-v1 memory cgroup (no {', '.join(missing)})")
    if not os.access(parent, os.W_OK):
        raise CannotRun(f"cannot create cgroups in {parent} (not writable)")


def preflight(course: bool, parent: Path | None = None) -> Path:
    """Check that this can run here; return the folder new cgroups go in."""
    if not sys.platform.startswith("linux"):
        raise CannotRun(f"memory cgroups are Linux's; this is {sys.platform}")
    if os.geteuid() != 0:
        raise CannotRun("making memory cgroups needs root (run it with sudo)")
    if parent is None:
        parent = own_memory_cgroup(memory_mount())
    check_cgroup_parent(parent)
    if course:
        import importlib.util
        if importlib.util.find_spec("jupyterlab") is None:
            raise CannotRun("--course starts a JupyterLab server, and jupyterlab is not installed")
    return parent


class MemoryCgroup:
    """One cgroup-v1 memory cgroup with a limit and no swap beyond it."""

    def __init__(self, parent: Path, name: str, limit: int):
        self.path = parent / name
        self.limit, self.memsw = limit, False
        try:
            if self.path.exists():
                self.path.rmdir()  # a leftover of an interrupted run; refused while processes are in it
            self.path.mkdir()
        except OSError as exc:
            raise CannotRun(f"cannot create the cgroup {self.path}: {exc}") from None
        try:
            self.write("memory.limit_in_bytes", limit)
            # no swap, as on Binder: where the machine has swap, memory+swap is limited to the same bytes (not
            # otherwise: with a memsw limit the kernel tried here counts no limit hits in memory.failcnt)
            self.memsw = swap_bytes() > 0 and (self.path / "memory.memsw.limit_in_bytes").exists()
            if self.memsw:
                self.write("memory.memsw.limit_in_bytes", limit)
            with contextlib.suppress(OSError):
                self.write("memory.swappiness", 0)
        except OSError as exc:
            self.remove()
            raise CannotRun(f"cannot set the limit of {self.path}: {exc}") from None
        if self.read_int("memory.limit_in_bytes") > limit:
            self.remove()
            raise CannotRun(f"{self.path} did not take the limit {limit}")
        if "oom_kill" not in self.oom_control():
            print(f"warning: {self.path}/memory.oom_control has no oom_kill counter (kernel < 4.13): "
                  "kills are inferred from dead kernels only", file=sys.stderr)

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def write(self, name: str, value) -> None:
        (self.path / name).write_text(str(value))

    def read_int(self, name: str) -> int:
        return int((self.path / name).read_text().split()[0])

    def oom_control(self) -> dict[str, int]:
        return parse_oom_control((self.path / "memory.oom_control").read_text())

    def oom_kills(self) -> int:
        return self.oom_control().get("oom_kill", 0)

    def stat(self) -> dict[str, int]:
        return parse_oom_control((self.path / "memory.stat").read_text())  # same "name value" lines

    def effective_limit(self) -> int:
        """The limit that applies, this cgroup's or a smaller one above it."""
        return min(self.limit, self.stat().get("hierarchical_memory_limit", self.limit))

    def reset_peak(self) -> None:
        """Start a new peak (max_usage_in_bytes becomes the present usage) and failure counts."""
        self.write("memory.max_usage_in_bytes", 0)
        for name in self.failcnt_files:
            self.write(name, 0)

    @property
    def failcnt_files(self) -> list[str]:
        return ["memory.failcnt", *(["memory.memsw.failcnt"] if self.memsw else [])]

    def limit_hits(self) -> int:
        """How often a charge hit the limit (memory+swap is tried first, so its count is added)."""
        return sum(self.read_int(name) for name in self.failcnt_files)

    def pids(self) -> list[int]:
        return [int(p) for p in self.procs.read_text().split()]

    def remove(self) -> None:
        """Remove the cgroup; processes still in it (only ours can be) are killed first, by pid."""
        if not self.path.exists():
            return
        for _ in range(50):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)
            time.sleep(0.1)
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)
        print(f"warning: could not remove {self.path}", file=sys.stderr)


class Sampler:
    """Samples the cgroup's anonymous memory (``total_rss``) every 0.2 s in a thread; ``peak`` is the largest."""

    def __init__(self, cgroup: MemoryCgroup):
        self.cgroup, self.peak, self._stop = cgroup, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        with contextlib.suppress(OSError, ValueError):
            return self.cgroup.stat().get("total_rss", 0)
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(SAMPLE_SECONDS)

    def reset(self) -> None:
        self.peak = self._sample()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def swap_bytes() -> int:
    """The machine's swap space (SwapTotal)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("SwapTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def drop_caches() -> None:
    """Drop the machine's clean page cache, so the files a kernel reads are charged to its cgroup."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("1")


def mb(n: int) -> float:
    return round(n / 1e6, 1)


def memory_record(cg: MemoryCgroup, sampler: Sampler, oom_before: int) -> dict:
    """The cgroup's numbers since its last reset."""
    return {"peak_cgroup_mb": mb(cg.read_int("memory.max_usage_in_bytes")),
            "peak_anon_mb_sampled": mb(sampler.peak),
            "limit_hits": cg.limit_hits(),
            "oom_kills": cg.oom_kills() - oom_before}


def tmpfs_warning(folder: str) -> None:
    """Files on tmpfs are shared memory charged to the cgroup: a cache there would count against the limit."""
    best, kind = "", ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and os.path.realpath(folder).startswith(fields[1]) and len(fields[1]) >= len(best):
                best, kind = fields[1], fields[2]
    if kind == "tmpfs":
        print(f"warning: the cache {folder} is on tmpfs ({best}): its files count as the cgroup's memory; "
              "set TMPDIR to a disk folder or give --cache", file=sys.stderr)


# ---------------------------------------------------------------- mode 1: a fresh cgroup per notebook

def write_kernelspec(folder: Path, procs: Path) -> None:
    """A kernelspec whose kernel joins the cgroup (``procs``) and then execs ipykernel."""
    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-c", LAUNCHER, str(procs), sys.executable, "-m", "ipykernel_launcher",
            "--HistoryManager.hist_file=:memory:", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3 (in a memory cgroup)",
                                                  "language": "python"}))


def run_per_notebook(args, parent: Path, limit: int, kernel_env: dict, cache: str, run: dict, save) -> bool:
    before: list[str] = []
    all_ok = True
    with tempfile.TemporaryDirectory(prefix="bench-binder-") as scratch:
        old_path = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [scratch, old_path]))
        try:
            for name in args.notebooks:
                cg = MemoryCgroup(parent, f"bench-binder-{os.getpid()}-{name}", limit)
                try:
                    write_kernelspec(Path(scratch), cg.procs)
                    if args.drop_caches:
                        drop_caches()
                    oom_before = cg.oom_kills()
                    cg.reset_peak()
                    load = os.getloadavg()
                    with Sampler(cg) as sampler:
                        r = interruptibly(lambda name=name, cg=cg: bench_notebooks.run_once(
                            name, args.quick, scratch, os.path.join(scratch, f"report-{name}.json"),
                            env={**kernel_env, "COURSE_CACHE_DIR": cache}, kernel_name=KERNEL_NAME), cg.remove)
                    r.update(memory_record(cg, sampler, oom_before))
                    r["effective_limit_bytes"] = cg.effective_limit()
                finally:
                    cg.remove()
                entry = notebook_entry(r, cache_note(args.cache, before), load)
                run["notebooks"][name] = entry
                all_ok &= entry["ok"]
                report(name, entry)
                before.append(name)
                save()
        finally:
            if old_path is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = old_path
    return all_ok


def interruptibly(fn, cleanup):
    """``fn()`` in a thread, so that Ctrl-C stops this script: in the main thread nbclient catches SIGINT, shuts
    the kernel down and the notebook would be recorded as failed ("Kernel died")."""
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        cleanup()  # kills the kernel (by pid, from the cgroup), which ends fn()
        thread.join(30)
        raise
    if "error" in box:
        raise box["error"]
    return box["value"]


def cache_note(given: str | None, before: list[str]) -> str:
    start = f"the given cache {given}" if given else "empty at the start"
    return f"shared, {start}, after {', '.join(before)}" if before else start


def notebook_entry(r: dict, cache: str, load) -> dict:
    ok = r["ok"] and r["oom_kills"] == 0
    entry = {"seconds": r["seconds"], "ok": ok}
    if "peak_rss_mb" in r:
        entry["peak_rss_mb"] = r["peak_rss_mb"]
    for key in ("peak_cgroup_mb", "peak_anon_mb_sampled", "limit_hits", "oom_kills", "effective_limit_bytes",
                "kernels_alive", "killed"):
        if key in r:
            entry[key] = r[key]
    if not ok:
        error = r.get("error") or "the notebook ran"
        entry["error"] = (f"{r['oom_kills']} OOM kill(s) in the cgroup ({error})"
                          if r["oom_kills"] and "killed" not in error else error)
    entry["cache"] = cache
    entry["load_average_before"] = [round(v, 2) for v in load]
    entry["date"] = stamp()["date"]
    return entry


def report(name: str, e: dict) -> None:
    print(f"{name:30s} {e['seconds']:8.1f} s {'ok' if e['ok'] else 'FAILED: ' + e['error']}"
          + (f", kernel peak {e['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in e else "")
          + f", cgroup peak {e['peak_cgroup_mb']:.0f} MB (anon {e['peak_anon_mb_sampled']:.0f} MB)"
          + f", OOM kills {e['oom_kills']}", flush=True)


# ---------------------------------------------------------------- mode 2: a JupyterLab server and its kernels

def alive(pid: int | None) -> bool:
    """True while process ``pid`` exists and is not a zombie."""
    if pid is None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``python -m jupyterlab`` inside the cgroup, and the REST calls JupyterLab's front end makes."""

    def __init__(self, cg: MemoryCgroup, env: dict, runtime_dir: str, log_path: str):
        self.cg, self.runtime_dir = cg, runtime_dir
        self.port, self.token = free_port(), secrets.token_hex(16)
        argv = [sys.executable, "-c", LAUNCHER, str(cg.procs), sys.executable, "-m", "jupyterlab", "--no-browser",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                f"--ServerApp.root_dir={ROOT}", f"--IdentityProvider.token={self.token}"]
        if os.geteuid() == 0:
            argv.append("--allow-root")
        self.log = open(log_path, "w")  # closed in stop()
        self.proc = subprocess.Popen(argv, env={**os.environ, **env, "JUPYTER_RUNTIME_DIR": runtime_dir},
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 60):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def wait_ready(self, timeout: float = 180) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the JupyterLab server exited ({self.proc.returncode}); see {self.log.name}")
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api("GET", "/api/status", timeout=5)
                return time.perf_counter() - t0
            time.sleep(0.5)
        raise RuntimeError(f"the JupyterLab server did not answer in {timeout:.0f} s; see {self.log.name}")

    def open_notebook(self, name: str) -> dict:
        """A session for ``notebooks/<name>.ipynb``, as JupyterLab makes when a notebook is opened."""
        return self.api("POST", "/api/sessions", {"path": f"notebooks/{name}.ipynb", "type": "notebook",
                                                  "name": f"{name}.ipynb", "kernel": {"name": "python3"}})

    def close(self, session: dict) -> None:
        with contextlib.suppress(OSError, urllib.error.URLError):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def connection_file(self, kernel_id: str) -> Path:
        return Path(self.runtime_dir) / f"kernel-{kernel_id}.json"

    def kernel_pid(self, kernel_id: str, timeout: float = 60) -> int | None:
        """The pid of the kernel process the server started (its command line names the connection file)."""
        needle = f"kernel-{kernel_id}.json".encode()
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            for pid in self.cg.pids():
                with contextlib.suppress(OSError):
                    if needle in Path(f"/proc/{pid}/cmdline").read_bytes():
                        return pid
            time.sleep(0.2)
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api("POST", "/api/shutdown", timeout=10)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


async def execute_in(nb, kc) -> float:
    """Execute ``nb`` through the running kernel behind ``kc`` (nbclient's cell loop); return the seconds."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.kc = kc
    client.reset_execution_trackers()
    t0 = time.perf_counter()
    for index, cell in enumerate(nb.cells):
        await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
    return time.perf_counter() - t0


def pid_client(connection_file: Path, pid: int):
    """A kernel client that calls the kernel dead when its process is gone (the server may restart it)."""
    from jupyter_client.asynchronous import AsyncKernelClient

    class Client(AsyncKernelClient):
        async def is_alive(self) -> bool:  # nbclient polls this to stop waiting for a killed kernel
            return alive(pid)

    kc = Client()
    kc.load_connection_file(str(connection_file))
    return kc


def run_notebook_in_server(server: LabServer, name: str, quick: bool, scratch: str) -> tuple[dict, dict, int | None]:
    """Open ``name`` in the server, run it top to bottom; return (result, session, kernel pid)."""
    import nbformat

    path = ROOT / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    peak_file = os.path.join(scratch, f"peak-{name}.json")
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_CELL.format(path=peak_file)))
    t0 = time.perf_counter()
    session, pid = None, None
    try:
        session = server.open_notebook(name)
        kernel_id = session["kernel"]["id"]
        pid = server.kernel_pid(kernel_id)
        if pid is None:
            raise RuntimeError(f"the server's kernel {kernel_id} did not start")
        kc = pid_client(server.connection_file(kernel_id), pid)
        kc.start_channels()
        try:
            asyncio.run(_ready_and_execute(kc, nb))
        finally:
            kc.stop_channels()
        with open(peak_file) as fh:
            kib = json.load(fh)
        return ({"seconds": round(time.perf_counter() - t0, 1), "ok": True, "peak_rss_mb": peak_mb(kib)},
                session, pid)
    except Exception as exc:  # record the failure, keep going with the next notebook
        lines = str(exc).strip().splitlines()
        return ({"seconds": round(time.perf_counter() - t0, 1), "ok": False,
                 "error": lines[-1] if lines else type(exc).__name__}, session, pid)


async def _ready_and_execute(kc, nb) -> None:
    await kc.wait_for_ready(timeout=120)
    await execute_in(nb, kc)


def run_course(args, parent: Path, limit: int, kernel_env: dict, cache: str, run: dict, save) -> bool:
    cg = MemoryCgroup(parent, f"bench-binder-{os.getpid()}-course", limit)
    all_ok, before, server = True, [], None
    course_peak, course_anon, oom_start = 0, 0, cg.oom_kills()
    previous: tuple[str, dict, int | None] | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-binder-") as scratch, Sampler(cg) as sampler:
            if args.drop_caches:
                drop_caches()
            cg.reset_peak()
            server = LabServer(cg, {**kernel_env, "COURSE_CACHE_DIR": cache, "MEM_LIMIT": str(limit)},
                               os.path.join(scratch, "runtime"), os.path.join(scratch, "server.log"))
            run["server_start_seconds"] = round(server.wait_ready(), 1)
            time.sleep(2)
            run["server_idle_cgroup_mb"] = mb(cg.read_int("memory.usage_in_bytes"))
            run["server_pid_rss_mb"] = mb(_rss(server.proc.pid))
            run["effective_limit_bytes"] = cg.effective_limit()
            for name in args.notebooks:
                # fold the peaks so far into the course's before starting this notebook's
                course_peak = max(course_peak, cg.read_int("memory.max_usage_in_bytes"))
                course_anon = max(course_anon, sampler.peak)
                cg.reset_peak()
                sampler.reset()
                oom_before = cg.oom_kills()
                load = os.getloadavg()
                r, session, pid = run_notebook_in_server(server, name, args.quick, scratch)
                r.update(memory_record(cg, sampler, oom_before))
                r["kernels_alive"] = [f"{previous[0]} (idle)", f"{name} (running)"] if previous else [
                    f"{name} (running)"]
                killed = [f"{name}'s kernel"] if pid is not None and not alive(pid) else []
                if previous and not alive(previous[2]):
                    killed.append(f"{previous[0]}'s idle kernel")
                if not alive(server.proc.pid):
                    killed.append("the JupyterLab server")
                if killed:
                    r["killed"] = killed
                    r["ok"] = False
                    r.setdefault("error", "killed: " + ", ".join(killed))
                entry = notebook_entry(r, cache_note(args.cache, before), load)
                run["notebooks"][name] = entry
                all_ok &= entry["ok"]
                report(name, entry)
                if previous:
                    server.close(previous[1])  # the one before stays open until this one has run
                previous = (name, session, pid) if session else None
                before.append(name)
                run["course_peak_cgroup_mb"] = mb(max(course_peak, cg.read_int("memory.max_usage_in_bytes")))
                run["course_peak_anon_mb_sampled"] = mb(max(course_anon, sampler.peak))
                run["course_oom_kills"] = cg.oom_kills() - oom_start
                save()
                if not alive(server.proc.pid):
                    print("the JupyterLab server died: the course stops here", flush=True)
                    all_ok = False
                    break
    finally:
        if server is not None:
            server.stop()
        run["course_oom_kills"] = cg.oom_kills() - oom_start
        cg.remove()
    run["course_ok"] = all_ok and run["course_oom_kills"] == 0
    save()
    return run["course_ok"]


def _rss(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# ---------------------------------------------------------------- main

def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--per-notebook", action="store_true", help="each notebook in its own cgroup (default)")
    mode.add_argument("--course", action="store_true",
                      help="a JupyterLab server and its kernels in one cgroup, the previous kernel kept alive")
    ap.add_argument("--notebooks", nargs="+", default=NOTEBOOKS, help="notebook stems, in order (default: 01-08)")
    ap.add_argument("--limit", default=None,
                    help="memory limit: 1G = 10^9 bytes, 1GiB = 2^30, or bytes (default 1G per notebook, 2G course)")
    ap.add_argument("--threads", default=None, help="COURSE_THREADS for the kernels (1: the Binder case)")
    ap.add_argument("--quick", action="store_true", help="quick mode (COURSE_QUICK=1), for trying this out")
    ap.add_argument("--cache", default=None, help="COURSE_CACHE_DIR to start from (default: a new, empty folder)")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="a variable for the kernels, e.g. COURSE_TRAIN_HERE=1 (repeatable)")
    ap.add_argument("--drop-caches", action="store_true",
                    help="drop the page cache before each notebook (per notebook) or the server's start (course), "
                         "so the files read are charged to the cgroup as in a fresh container; use alone on a machine")
    ap.add_argument("--cgroup-parent", default=None, help=argparse.SUPPRESS)  # for tests: where cgroups go
    ap.add_argument("--output", default=OUT, help=f"results file in benchmarks/results (default {OUT})")
    return ap


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    mode = "course" if args.course else "per-notebook"
    try:
        limit = parse_limit(args.limit or DEFAULT_LIMITS[mode])
        extra_env = parse_env(args.env)
    except ValueError as exc:
        ap.error(str(exc))
    reserved = sorted(set(extra_env) & set(RESERVED))
    if reserved:
        ap.error(f"--env {reserved[0]}: set by this script ({RESERVED[reserved[0]]})")
    unknown = [n for n in args.notebooks if not (ROOT / "notebooks" / f"{n}.ipynb").is_file()]
    if unknown:
        ap.error(f"no notebooks/<name>.ipynb for {', '.join(unknown)}")
    if args.threads is not None and not args.threads.isdigit():
        ap.error("--threads wants a whole number")
    if args.cache and not os.path.isdir(args.cache):
        ap.error(f"--cache {args.cache}: no such folder")
    try:
        parent = preflight(args.course, Path(args.cgroup_parent) if args.cgroup_parent else None)
    except CannotRun as exc:
        print(f"bench_binder: cannot run here: {exc}", file=sys.stderr)
        return 2

    kernel_env = dict(extra_env)
    if args.threads:
        kernel_env["COURSE_THREADS"] = args.threads
    if mode == "course":  # nbtools.execute sets these for the per-notebook kernels
        from course_utils.course.nbtools import checkout_pythonpath
        kernel_env.update(COURSE_QUICK="1" if args.quick else "0", PYTHONPATH=checkout_pythonpath(),
                          MPLBACKEND="module://matplotlib_inline.backend_inline")

    import torch

    path = RESULTS / args.output
    results = json.loads(path.read_text()) if path.is_file() else {}
    dataset = resolve_dataset(extra_env.get("COURSE_DATASET"))
    if results.get("dataset", dataset) != dataset:
        ap.error(f"{args.output} holds {results['dataset']} runs and this run would be {dataset}: "
                 "set COURSE_DATASET to match, or write another file with --output")
    results["dataset"] = dataset
    results.setdefault("runs", {})
    key = run_key(mode, limit, args.quick, args.threads, args.cache, extra_env, args.drop_caches)
    old = results["runs"].get(key, {}) if mode == "per-notebook" else {}
    run = {
        "mode": mode, "limit_bytes": limit, "limit": format_limit(limit) + f" ({limit} bytes)",
        "quick": args.quick, "threads": args.threads, "env": extra_env,
        "cache": args.cache or "a new, empty folder", "drop_caches": args.drop_caches,
        "swap": (f"memory+swap limited to the limit (the machine has {mb(swap_bytes()):.0f} MB of swap)"
                 if swap_bytes() else "none on this machine"),
        "torch": torch.__version__ + (f" (CUDA {torch.version.cuda} build)" if torch.version.cuda else " (CPU build)"),
        "malloc_arena_max": extra_env.get("MALLOC_ARENA_MAX", os.environ.get("MALLOC_ARENA_MAX")),
        "notebooks_order": args.notebooks, **stamp(),
        "notebooks": old.get("notebooks", {}),
        "method": METHOD[mode],
    }
    results["runs"][key] = run
    results["binder_note"] = BINDER_NOTE

    def save() -> None:
        write_results(args.output, results)

    with contextlib.ExitStack() as stack:
        cache = args.cache or stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-binder-cache-"))
        tmpfs_warning(cache)
        print(f"{mode}: limit {run['limit']}, {'quick' if args.quick else 'full'} mode, cgroups under {parent}; "
              f"results key {key!r}", flush=True)
        try:
            ok = (run_course if args.course else run_per_notebook)(args, parent, limit, kernel_env, cache, run, save)
        except CannotRun as exc:
            print(f"bench_binder: cannot run here: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"interrupted: {RESULTS / args.output} keeps the notebooks measured so far", file=sys.stderr)
            return 130
    save()
    return 0 if ok else 1


METHOD = {
    "per-notebook": ("each notebook in order in a fresh ipykernel that joins a new cgroup-v1 memory cgroup before "
                     "it starts (the driver stays outside); no swap; one COURSE_CACHE_DIR for the run. "
                     "peak_rss_mb: the kernel's ru_maxrss (MB of 10^6 bytes); peak_cgroup_mb: "
                     "memory.max_usage_in_bytes (anonymous memory and page cache charged to the cgroup); "
                     "peak_anon_mb_sampled: memory.stat total_rss sampled every 0.2 s; "
                     "limit_hits: memory.failcnt + memory.memsw.failcnt; "
                     "oom_kills: the increase of memory.oom_control's oom_kill"),
    "course": ("a JupyterLab server (python -m jupyterlab) started inside one cgroup-v1 memory cgroup; each "
               "notebook opened as a session through the server's REST API and executed through that kernel "
               "(nbclient); the previous notebook's kernel stays alive and idle while the next one runs, then is "
               "shut down; no swap; one COURSE_CACHE_DIR. Per notebook, the cgroup's numbers are since that "
               "notebook started and include the server and the idle kernel; course_*: over the whole run"),
}
BINDER_NOTE = ("mybinder.org guarantees 1 GB and limits a user to 2 GB (JupyterHub reads its '1G'/'2G' as GiB); "
               "it installs the CPU-only torch build, a few hundred MB smaller than a CUDA build (see each run's "
               "torch)")


if __name__ == "__main__":
    sys.exit(main())
