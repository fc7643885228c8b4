"""Every results file records its data set, and every benchmark script that writes one writes it.

The notebooks print reference numbers from ``benchmarks/results/*.json`` next to a student's own run;
the comparison means something only on the same data set, so each file says which it was measured on
(``"dataset"`` at the top level, or in every part of a file made of parts): ``fashion-mnist``,
``mnist``, or ``none`` with a ``dataset_note`` saying why no data set is involved.
"""
from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BENCHMARKS = ROOT / "benchmarks"
KNOWN = ("fashion-mnist", "mnist", "none")
PROVENANCE = ("machine", "date", "command")


def results_files() -> list[Path]:
    return sorted(RESULTS.glob("*.json"))


def dataset_problems(name: str, d: dict) -> list[str]:
    """What is wrong with the data-set record of one results file (empty: nothing)."""
    if "dataset" in d:
        value = d["dataset"]
        if value not in KNOWN:
            return [f"{name}: dataset {value!r} is not one of {KNOWN}"]
        if value == "none" and not d.get("dataset_note"):
            return [f"{name}: dataset 'none' needs a dataset_note saying why no data set is involved"]
        return []
    parts = {k: v for k, v in d.items() if isinstance(v, dict) and k not in PROVENANCE}
    if not parts:
        return [f"{name}: no 'dataset' key at the top level and no parts that could carry one"]
    return [problem for key, part in parts.items() for problem in
            (dataset_problems(f"{name}[{key}]", part) if "dataset" in part
             else [f"{name}: neither the file nor its part {key!r} records a data set"])]


def test_there_are_results_files():
    assert len(results_files()) >= 5


@pytest.mark.parametrize("path", results_files(), ids=lambda p: p.name)
def test_every_results_file_records_its_data_set(path):
    assert dataset_problems(path.name, json.loads(path.read_text())) == []


def test_the_rule_rejects_what_it_should():
    assert dataset_problems("x", {"runs": [], "machine": "m"})  # nothing recorded
    assert dataset_problems("x", {"dataset": "cifar"})
    assert dataset_problems("x", {"dataset": "none"})  # no note
    assert dataset_problems("x", {"a": {"dataset": "mnist"}, "b": {"seconds": 1}})  # one part lacks it
    assert not dataset_problems("x", {"a": {"dataset": "mnist"}, "b": {"dataset": "fashion-mnist"}})
    assert not dataset_problems("x", {"dataset": "none", "dataset_note": "toy models only"})


def writers() -> list[Path]:
    """The benchmark scripts that write a results file (through ``write_results`` or ``write_json``)."""
    return [p for p in sorted(BENCHMARKS.glob("*.py"))
            if p.name != "common.py" and ("write_results(" in p.read_text() or "write_json(" in p.read_text())]


@pytest.mark.parametrize("path", writers(), ids=lambda p: p.name)
def test_every_benchmark_script_writes_the_data_set(path):
    """A rerun keeps the record: the script puts a "dataset" key into what it writes (checked in its
    source: a dict literal with the key, or a subscript assignment ``x["dataset"] = ...``)."""
    tree = ast.parse(path.read_text())
    in_dict = any(isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "dataset"
                                                     for k in node.keys)
                  for node in ast.walk(tree))
    assigned = any(isinstance(node, ast.Assign) and any(
        isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant) and t.slice.value == "dataset"
        for t in node.targets) for node in ast.walk(tree))
    assert in_dict or assigned, f"{path.name} writes a results file without a 'dataset' key"


def test_writers_found():
    names = {p.name for p in writers()}
    assert {"seeds.py", "gan_precision.py", "bench_notebooks.py", "bench_vae.py", "bench_gan.py"} <= names


def test_write_results_refuses_a_file_without_a_data_set(tmp_path, monkeypatch):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import common
    finally:
        sys.path.remove(str(BENCHMARKS))
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    with pytest.raises(ValueError, match="must record its data set"):
        common.write_results("x.json", {"seconds": 1.0})
    assert not (tmp_path / "x.json").exists()
    path = common.write_results("y.json", {"seconds": 1.0, "dataset": "fashion-mnist"})
    assert json.loads(path.read_text())["dataset"] == "fashion-mnist"
