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
