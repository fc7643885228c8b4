"""The parts of benchmarks/bench_binder.py that need no root and no cgroup: limits, the kernel's counters, and the
clear message where the simulation cannot run. The simulation itself is a measurement, not a test."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_binder
    finally:
        sys.path.remove(str(BENCHMARKS))
    return bench_binder


@pytest.mark.parametrize("text, expected", [
    ("1G", 10**9), ("2G", 2 * 10**9), ("1GB", 10**9), ("1g", 10**9), ("1.5G", 1_500_000_000),
    ("300M", 300_000_000), ("1GiB", 2**30), ("2Gi", 2 * 2**30), ("512Mi", 512 * 2**20), ("123", 123),
    (" 2G ", 2 * 10**9),
])
def test_limits_parse_to_bytes(bench, text, expected):
    assert bench.parse_limit(text) == expected


@pytest.mark.parametrize("text", ["", "G", "1X", "1iB", "-1G", "0", "1.5", "one gig"])
def test_bad_limits_are_refused(bench, text):
    with pytest.raises(ValueError):
        bench.parse_limit(text)


def test_limits_are_named_exactly(bench):
    assert bench.format_limit(10**9) == "1G"
    assert bench.format_limit(2 * 2**30) == "2Gi"
    assert bench.format_limit(300_000_000) == "300M"
    assert bench.format_limit(1234567) == "1234567"
    for text in ("1G", "2G", "1GiB", "300M", "1500M"):
        n = bench.parse_limit(text)
        assert bench.parse_limit(bench.format_limit(n)) == n


def test_oom_control_is_read(bench):
    text = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"
    assert bench.parse_oom_control(text) == {"oom_kill_disable": 0, "under_oom": 0, "oom_kill": 3}
    assert "oom_kill" not in bench.parse_oom_control("oom_kill_disable 0\nunder_oom 1\n")  # a kernel < 4.13


def test_env_settings_and_run_keys(bench):
    assert bench.parse_env(["COURSE_TRAIN_HERE=1", "MALLOC_ARENA_MAX=2"]) == {"COURSE_TRAIN_HERE": "1",
                                                                                "MALLOC_ARENA_MAX": "2"}
    with pytest.raises(ValueError):
        bench.parse_env(["COURSE_TRAIN_HERE"])
    one = bench.run_key("per-notebook", 10**9, False, "1", None, {})
    keys = {one, bench.run_key("course", 2 * 10**9, False, "1", None, {}),
            bench.run_key("per-notebook", 10**9, False, "1", None, {"COURSE_TRAIN_HERE": "1"}),
            bench.run_key("per-notebook", 10**9, True, "1", None, {}),
            bench.run_key("per-notebook", 10**9, False, None, None, {})}
    assert len(keys) == 5  # the 1 GB and 2 GB runs and other settings do not overwrite each other
    assert one == "per-notebook 1G full threads=1"


def test_the_memory_controller_is_found_in_mounts(bench):
    mounts = ("cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
              "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n")
    assert bench.memory_mount(mounts) == Path("/sys/fs/cgroup/memory")
    assert bench.own_memory_cgroup(Path("/m"), "4:memory:/a/b\n1:cpu:/\n") == Path("/m/a/b")
    assert bench.own_memory_cgroup(Path("/m"), "4:memory:/\n") == Path("/m")
    with pytest.raises(bench.CannotRun, match="cgroup v2 only"):
        bench.memory_mount("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n")


def test_a_missing_cgroup_folder_is_said_clearly(bench, tmp_path):
    with pytest.raises(bench.CannotRun, match="no cgroup folder"):
        bench.check_cgroup_parent(tmp_path / "memory")
    with pytest.raises(bench.CannotRun, match="not a cgroup-v1 memory cgroup.*memory.limit_in_bytes"):
        bench.check_cgroup_parent(tmp_path)  # a folder, but not a cgroup


def test_the_script_says_why_it_cannot_run_and_exits_2(bench, tmp_path, monkeypatch, capsys):
    assert bench.main(["--quick", "--notebooks", "03_kl_divergence", "--cgroup-parent", str(tmp_path / "none"),
                       "--output", "never_written.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bench_binder: cannot run here: ") and "Traceback" not in err
    assert ("needs root" in err) or ("no cgroup folder" in err)
    monkeypatch.setattr(bench.os, "geteuid", lambda: 1000)
    assert bench.main(["--quick", "--notebooks", "03_kl_divergence", "--output", "never_written.json"]) == 2
    assert "needs root" in capsys.readouterr().err
    assert not (bench.RESULTS / "never_written.json").exists()
