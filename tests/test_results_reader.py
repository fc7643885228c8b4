"""course_utils.course.results: notebooks read measured numbers from the results files, never type them."""
from __future__ import annotations

import json

import pytest

from course_utils.course import results


def test_reads_the_repository_results_files():
    gan = results.load("gan")
    assert results.load("gan.json") == gan
    assert results.value("gan", "fd_gan") == gan["fd_gan"]
    assert results.value("gan", "details.gan_config.betas.0") == gan["details"]["gan_config"]["betas"][0]
    line = results.provenance("gan")
    assert gan["machine"] in line and gan["date"] in line and gan["command"] in line


def test_missing_files_and_keys_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="benchmarks/.*nothing.json|nothing.json"):
        results.load("nothing")
    (tmp_path / "x.json").write_text(json.dumps({"a": {"b": [1, 2]}}))
    assert results.value("x", "a.b.1") == 2
    with pytest.raises(KeyError, match="no entry 'a.c'"):
        results.value("x", "a.c")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        results.load("bad")
    assert "an unrecorded machine" in results.provenance("x")


def fake_results(tmp_path, monkeypatch):
    """A results folder whose file has a top-level (last) run and a part that produced other numbers."""
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    (tmp_path / "m.json").write_text(json.dumps({
        "dataset": "fashion-mnist", "speed": 2.0, "test_elbo": -235.8,
        "parts": {"speed": {"machine": "box A", "date": "day 2", "command": "bench --skip-quality",
                            "keys": ["speed"]},
                  "quality": {"machine": "box B", "date": "day 1", "command": "bench --use-cache",
                              "keys": ["test_elbo"]}},
        "nb": {"full_reported": {"x": 1.0}, "full_date": "day 3", "full_command": "bench_notebooks --modes full",
               "full_dataset": "mnist"},
        "machine": "box A", "date": "day 2", "command": "bench --skip-quality"}))


def test_provenance_of_a_part_is_the_run_that_produced_the_number(tmp_path, monkeypatch):
    """Issue 20, wrong #1: a number from the quality run must not be printed with the speed run's command."""
    fake_results(tmp_path, monkeypatch)
    assert "bench --skip-quality" in results.provenance("m")  # the file's last run
    line = results.provenance("m", "test_elbo")
    assert "box B" in line and "day 1" in line and "`bench --use-cache`" in line and "skip-quality" not in line
    assert "skip-quality" in results.provenance("m", "speed")
    nb = results.provenance("m", "nb.full_reported.x")  # a per-mode entry: its own date and command
    assert "day 3" in nb and "bench_notebooks --modes full" in nb and "box A" in nb
    # the repository's vae.json: test_elbo came from the quality run, not the top-level speed run
    monkeypatch.delenv("COURSE_RESULTS_DIR")
    vae = results.load("vae")
    assert vae["parts"]["quality"]["command"] in results.provenance("vae", "test_elbo")
    assert vae["parts"]["speed"]["command"] not in results.provenance("vae", "test_elbo")
    assert vae["parts"]["speed"]["command"] in results.provenance("vae", "speedup")


def test_dataset_of_a_file_and_of_a_part(tmp_path, monkeypatch):
    fake_results(tmp_path, monkeypatch)
    assert results.dataset("m") == "fashion-mnist" and results.dataset("m", "test_elbo") == "fashion-mnist"
    assert results.dataset("m", "nb.full_reported") == "mnist"  # the entry's own record wins
    (tmp_path / "old.json").write_text(json.dumps({"x": 1}))
    with pytest.raises(KeyError, match="does not record the data set"):
        results.dataset("old")


def test_quote_names_the_data_set_or_says_why_it_does_not_compare(tmp_path, monkeypatch):
    fake_results(tmp_path, monkeypatch)
    same = results.quote("m", "test_elbo", "test ELBO -235.8 nats", "fashion-mnist")
    assert same.startswith("test ELBO -235.8 nats (Fashion-MNIST, measured on box B, day 1")
    other = results.quote("m", "test_elbo", "test ELBO -235.8 nats", "mnist")
    assert "-235.8" not in other and other.count(".") <= 3  # one sentence, no number
    assert "measured on Fashion-MNIST" in other and "this run is on MNIST" in other and "not shown" in other
    assert results.not_comparable("m", "fashion-mnist", "test_elbo") is None
    assert results.not_comparable("m", "fashion-mnist", "nb.full_reported") is not None
