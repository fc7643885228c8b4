"""``python -m course_utils gan``: figures and a metrics file from one command."""
from __future__ import annotations

import json

from conftest import missing_prerequisite

from course_utils.__main__ import main
from course_utils.core.data import DataError, load_data
from course_utils.evaluation import classifier as evaluation


def test_cli_writes_figures_and_metrics(tmp_path, monkeypatch):
    try:
        load_data("fashion-mnist", pixels="gray", verbose=False)
    except DataError as exc:
        missing_prerequisite(f"Fashion-MNIST is not installed: {exc}")
    real_train = evaluation.train_classifier
    tiny = evaluation.ClassifierConfig(channels=(4, 8), hidden=16, epochs=1, train_size=2000)
    monkeypatch.setattr(evaluation, "train_classifier", lambda data, **kw: real_train(data, tiny, **kw))
    out = tmp_path / "out"
    rc = main(["gan", "--dataset", "fashion-mnist", "--epochs", "2", "--train-size", "640", "--out", str(out),
               "--eval-samples", "300", "--steps", "7", "--pairs", "2", "--quiet", "--precision", "float32",
               "--ema-decay", "0.9"])
    assert rc == 0
    for name in ("samples.png", "interpolation.png", "losses.png", "metrics.json"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "fashion-mnist" and metrics["epochs"] == 2
    assert metrics["fd"] > metrics["fd_real_floor"] > 0
    assert 0 <= metrics["classes_covered"] <= 10 and sum(metrics["class_histogram"]) == 300
    assert metrics["train_seconds"] > 0 and metrics["config"]["train_size"] == 640
    assert metrics["config"]["precision"] == metrics["precision"] == "float32"
    assert metrics["config"]["ema_decay"] == 0.9  # sampled from the moving average of G


def test_cli_refuses_a_bad_moving_average_decay(tmp_path, capsys):
    rc = main(["gan", "--ema-decay", "1", "--epochs", "1", "--out", str(tmp_path / "out")])
    assert rc == 2 and "GANConfig.ema_decay must be None (no average) or in [0, 1)" in capsys.readouterr().out


def test_cli_reports_a_missing_data_set(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("course_utils.core.data.DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    rc = main(["gan", "--dataset", "fashion-mnist", "--epochs", "1", "--out", str(tmp_path / "out")])
    assert rc == 2 and "Fashion-MNIST was not found" in capsys.readouterr().out
