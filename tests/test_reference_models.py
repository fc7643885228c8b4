"""The course's reference models: how a full-mode run finds them, the switch that trains here instead, and
that every shipped model matches today's settings and reproduces the numbers recorded when it was made."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import test_vae_train
import torch
from conftest import load_offline_fashion
from test_vae_train import TINY, synthetic_data

import course_utils.vae.train as vt
from course_utils.core import checkpoints, runtime
from course_utils.course.runs import REFERENCE_RUNS, reference_problems
from course_utils.vae.model import VAEConfig

pytestmark = pytest.mark.usefixtures("one_thread")
count_fits = test_vae_train.count_fits  # the fixture that counts the training loops run (a load runs none)
ROOT = Path(__file__).resolve().parents[1]
SCRIPT = checkpoints.REFERENCE_SCRIPT


# --------------------------------------------------------------------------- how a run finds its reference model

@pytest.fixture
def reference_dir(tmp_path, monkeypatch):
    """An empty reference folder in place of the shipped one."""
    folder = tmp_path / "reference"
    folder.mkdir()
    monkeypatch.setattr(checkpoints, "REFERENCE_DIR", folder)
    return folder


def make_reference(config, data, reference_dir, tmp_path, monkeypatch):
    """Train ``config`` in a scratch cache and ship it as a reference model; returns (model, meta)."""
    with monkeypatch.context() as mp:
        mp.setenv("COURSE_CACHE_DIR", str(tmp_path / "staging"))
        model, _ = vt.train_vae(config, data, progress=False)
        staged = checkpoints.model_cache_path(vt.vae_cache_key(config, data))
        assert staged.is_file()
    key = vt.vae_reference_key(config, data)
    tensors, meta = checkpoints.read_checkpoint(staged)
    meta["reference"] = {"title": "tiny VAE for the test", "train_seconds": 90.0, "precision": "float32",
                         "threads": 1, "stored_dtype": "float16", "cpu": "Test CPU (2 CPUs)",
                         "date": "2026-12-07 08:00 UTC"}
    from safetensors.torch import save

    (reference_dir / f"{key}.safetensors").write_bytes(
        save({k: v.half() if v.is_floating_point() else v for k, v in tensors.items()},
             metadata={"meta": json.dumps(meta)}))
    return model, meta


def test_a_full_mode_run_loads_its_reference_model_and_says_so(reference_dir, tmp_path, monkeypatch, count_fits,
                                                                capsys):
    data = synthetic_data()
    config = VAEConfig(**TINY)
    trained, _ = make_reference(config, data, reference_dir, tmp_path, monkeypatch)
    count_fits.clear()
    loaded, history = vt.train_vae(config, data)  # the test's own, empty cache
    assert count_fits == [], "a shipped reference model must be loaded, not retrained"
    assert len(history) == config.epochs and history.samples  # its history and sample grids travel with it
    for (name, a), (_, b) in zip(trained.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a.half().float(), b), name  # the shipped weights are the trained ones, in float16
    line = capsys.readouterr().out
    assert "Loaded the course's reference model: tiny VAE for the test, trained in 90 s (float32, 1 thread; weights" \
           " stored in float16) on Test CPU (2 CPUs), 2026-12-07." in line
    assert "TRAIN_HERE = True" in line and "COURSE_TRAIN_HERE=1" in line
    assert not checkpoints.model_cache_path(vt.vae_cache_key(config, data)).exists()  # nothing copied to the cache


@pytest.mark.parametrize("how", ["notebook switch", "environment", "no cache"])
def test_the_switch_trains_here_instead(how, reference_dir, tmp_path, monkeypatch, count_fits, capsys):
    data = synthetic_data()
    config = VAEConfig(**TINY)
    make_reference(config, data, reference_dir, tmp_path, monkeypatch)
    count_fits.clear()
    capsys.readouterr()
    kwargs = {}
    if how == "notebook switch":
        runtime.use_reference_models(False)  # TRAIN_HERE = True in a set-up cell
    elif how == "environment":
        monkeypatch.setenv(runtime.ENV_TRAIN_HERE, "1")
    else:
        kwargs["use_cache"] = False
    vt.train_vae(config, data, progress=False, **kwargs)
    assert count_fits == [1]
    assert "reference model" not in capsys.readouterr().out


def test_a_reference_model_is_found_only_for_exactly_its_settings_and_data(reference_dir, tmp_path, monkeypatch,
                                                                            count_fits):
    data = synthetic_data()
    make_reference(VAEConfig(**TINY), data, reference_dir, tmp_path, monkeypatch)
    count_fits.clear()
    vt.train_vae(VAEConfig(**{**TINY, "epochs": 2}), data, progress=False)  # another recipe
    vt.train_vae(VAEConfig(**TINY), synthetic_data(n_train=448), progress=False)  # other data
    assert count_fits == [1, 1]


def test_the_reference_key_leaves_out_only_the_precision_auto_resolves_to(monkeypatch):
    data = synthetic_data()
    config = VAEConfig(**TINY)
    keys = {}
    for precision in ("float32", "bfloat16"):
        monkeypatch.setenv(runtime.ENV_PRECISION, precision)
        keys[precision] = (vt.vae_cache_key(config, data), vt.vae_reference_key(config, data))
    assert keys["float32"][0] != keys["bfloat16"][0]  # the cache keeps the two trainings apart
    assert keys["float32"][1] == keys["bfloat16"][1]  # one reference model serves both
    assert vt.vae_reference_key(VAEConfig(**{**TINY, "lr": 2e-3}), data) != keys["float32"][1]


def test_an_unusable_reference_model_is_reported_and_training_goes_on(reference_dir, count_fits, capsys):
    data = synthetic_data()
    config = VAEConfig(**TINY)
    (reference_dir / f"{vt.vae_reference_key(config, data)}.safetensors").write_bytes(b"not a checkpoint")
    vt.train_vae(config, data)
    assert count_fits == [1]
    assert "Ignoring an unusable reference model" in capsys.readouterr().out


# --------------------------------------------------------------------------- the classifier: a yardstick

TINY_CLASSIFIER = {"channels": (4, 8), "hidden": 16, "epochs": 1}


@pytest.fixture
def count_classifier_fits(monkeypatch):
    import course_utils.evaluation.classifier as ec

    calls = []
    real_fit = ec.fit
    monkeypatch.setattr(ec, "fit", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    return calls


def ship_classifier(config, data, reference_dir, tmp_path, monkeypatch):
    """Train ``config`` in a scratch cache and ship it as the reference classifier; returns the trained one."""
    from course_utils.evaluation.classifier import classifier_cache_key, train_classifier

    with monkeypatch.context() as mp:
        mp.setenv("COURSE_CACHE_DIR", str(tmp_path / "staging"))
        model = train_classifier(data, config, progress=False)
        key = classifier_cache_key(config, data)
        tensors, meta = checkpoints.read_checkpoint(checkpoints.model_cache_path(key))
    meta["reference"] = {"title": "tiny classifier for the test", "train_seconds": 30.0, "precision": "float32",
                         "threads": 1, "stored_dtype": "float32", "cpu": "Test CPU", "date": "2026-12-07"}
    from safetensors.torch import save

    (reference_dir / f"{key}.safetensors").write_bytes(save(tensors, metadata={"meta": json.dumps(meta)}))
    return model


@pytest.mark.parametrize("how", ["notebook switch", "environment"])
def test_the_shipped_classifier_is_loaded_even_when_the_models_train_here(how, reference_dir, tmp_path, monkeypatch,
                                                                         count_classifier_fits, capsys):
    """TRAIN_HERE trains the generative models, not the yardstick they are measured with."""
    from course_utils.evaluation import ClassifierConfig, train_classifier

    data = synthetic_data()
    config = ClassifierConfig(**TINY_CLASSIFIER)
    shipped = ship_classifier(config, data, reference_dir, tmp_path, monkeypatch)
    make_reference(VAEConfig(**TINY), data, reference_dir, tmp_path, monkeypatch)  # a shipped VAE beside it
    count_classifier_fits.clear()
    capsys.readouterr()
    if how == "notebook switch":
        runtime.use_reference_models(False)
    else:
        monkeypatch.setenv(runtime.ENV_TRAIN_HERE, "1")
    assert not runtime.reference_models_enabled()
    loaded = train_classifier(data, config)
    assert count_classifier_fits == [], "the shipped classifier must be loaded, not trained again"
    for (name, a), (_, b) in zip(shipped.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert loaded.test_accuracy == shipped.test_accuracy
    out = capsys.readouterr().out
    assert "Loaded the course's reference model: tiny classifier for the test" in out
    assert "loaded even with TRAIN_HERE = True" in out and "train_here=True" in out
    assert "To train it yourself: TRAIN_HERE = True" not in out  # that switch does not train it
    # the shipped VAE beside it, under the same switch, is trained here (the switch is not ignored altogether)
    calls = []
    real_fit = vt.fit
    monkeypatch.setattr(vt, "fit", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    vt.train_vae(VAEConfig(**TINY), data)
    assert calls == [1] and "tiny VAE for the test" not in capsys.readouterr().out


def test_the_classifier_trains_here_when_asked_or_when_none_is_shipped(reference_dir, tmp_path, monkeypatch,
                                                                       count_classifier_fits, capsys):
    from course_utils.course.runs import ReferenceRun
    from course_utils.evaluation import ClassifierConfig, train_classifier

    data = synthetic_data()
    config = ClassifierConfig(**TINY_CLASSIFIER)
    ship_classifier(config, data, reference_dir, tmp_path, monkeypatch)
    count_classifier_fits.clear()
    train_classifier(data, config, progress=False, train_here=True)  # asked
    train_classifier(data, ClassifierConfig(**{**TINY_CLASSIFIER, "hidden": 12}), progress=False)  # none shipped
    assert count_classifier_fits == [1, 1]
    # the runs API (benchmarks/train_reference_models.py): the classifier loads the shipped one as the notebooks do,
    # the reference models on or off, and trains when the script asks (train_here=True); each in an empty cache
    run = ReferenceRun("classifier", "tiny", (), "classifier", lambda: config, lambda dyn, gray: gray)
    for i, (switch, train_here, fits) in enumerate(((False, False, []), (True, False, []), (False, True, [1]))):
        count_classifier_fits.clear()
        capsys.readouterr()
        runtime.use_reference_models(switch)
        with monkeypatch.context() as mp:
            mp.setenv("COURSE_CACHE_DIR", str(tmp_path / f"cache {i}"))
            run.train(data, train_here=train_here)
        assert count_classifier_fits == fits, (switch, train_here)
        assert ("tiny classifier for the test" in capsys.readouterr().out) == (not train_here)


# --------------------------------------------------------------------------- the shipped models

INDEX = checkpoints.reference_index()


@pytest.fixture(scope="module")
def course_data(tmp_path_factory):
    return load_offline_fashion(tmp_path_factory, "dynamic"), load_offline_fashion(tmp_path_factory, "gray")


@pytest.fixture
def full_mode(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "0")


def test_every_shipped_file_is_listed_and_small():
    files = sorted(p.name for p in checkpoints.REFERENCE_DIR.glob("*.safetensors"))
    assert files == sorted(f"{key}.safetensors" for key in INDEX), "course_utils/reference/ and index.json disagree"
    assert {record["name"] for record in INDEX.values()} == {run.name for run in REFERENCE_RUNS}
    total = sum((checkpoints.REFERENCE_DIR / f).stat().st_size for f in files)
    assert total <= 25e6, f"the reference models take {total / 1e6:.1f} MB; the budget is 25 MB"
    for key, record in INDEX.items():
        for field in ("title", "train_seconds", "threads", "cpu", "date", "command", "dataset", "evaluation",
                      "tolerance", "machine"):
            assert field in record, f"{key} records no {field}"
        assert record["dataset"] == "fashion-mnist"
        assert record["command"].startswith(f"python {SCRIPT}")


@pytest.mark.parametrize("run", REFERENCE_RUNS, ids=lambda r: r.name)
def test_each_run_has_a_reference_model_for_todays_settings(run, course_data, full_mode):
    key = run.key(run.data(*course_data))
    assert key in INDEX and checkpoints.reference_path(key).is_file(), (
        f"The reference model of {run.name} ({run.title}) does not match today's settings (its key is now {key}; "
        f"shipped: {[k for k, v in INDEX.items() if v['name'] == run.name]}). The notebooks would train it "
        f"instead of loading it: run `python {SCRIPT} --only {run.name}` and commit course_utils/reference/.")
    _, meta = checkpoints.read_checkpoint(checkpoints.reference_path(key))
    assert meta["arch"] == run.config().arch() and meta["config"] == run.config().to_dict()


@pytest.mark.slow
@pytest.mark.parametrize("run", REFERENCE_RUNS, ids=lambda r: r.name)
def test_each_reference_model_reproduces_its_recorded_numbers(run, course_data, full_mode, capsys):
    data = run.data(*course_data)
    record = INDEX[run.key(data)]
    model = run.train(data)  # loaded: the reference model, exactly as a notebook gets it
    assert "Loaded the course's reference model" in capsys.readouterr().out
    classifier = None
    if run.kind == "gan":
        classifier = next(r for r in REFERENCE_RUNS if r.kind == "classifier").train(course_data[1])
    if run.kind == "classifier":  # the yardstick: the notebooks' own call loads it with TRAIN_HERE = True too
        from course_utils.course import classifier_config
        from course_utils.evaluation import train_classifier

        runtime.use_reference_models(False)
        again = train_classifier(course_data[1], classifier_config())
        assert "Loaded the course's reference model" in capsys.readouterr().out
        assert again.test_accuracy == record["evaluation"]["test_accuracy"]
    measured = run.evaluate(model, data, classifier)
    for name, expected in record["evaluation"].items():
        assert abs(measured[name] - expected) <= record["tolerance"][name], (
            f"{run.name}: {name} {measured[name]} here vs {expected} recorded (tolerance {record['tolerance'][name]})")


def test_the_check_names_the_script(tmp_path, monkeypatch, course_data, full_mode):
    """A settings change without retraining: the message says which script to run for which model."""
    folder = tmp_path / "reference"
    shutil.copytree(checkpoints.REFERENCE_DIR, folder)
    monkeypatch.setattr(checkpoints, "REFERENCE_DIR", folder)
    index = json.loads((folder / "index.json").read_text())
    key = next(k for k, v in index.items() if v["name"] == "vae_z2")
    index[key.replace("vae-", "vae-0")] = index.pop(key)  # as if vae2_config() had changed since
    (folder / "index.json").write_text(json.dumps(index))
    problems = reference_problems(*course_data)
    assert len(problems) == 1 and problems[0].startswith("vae_z2: no reference model for today's settings")
    assert f"python {SCRIPT} --only vae_z2" in problems[0]


@pytest.mark.slow
def test_shirt_and_pullover_are_what_the_shipped_classifier_confuses_most(course_data, full_mode):
    """Notebook 08's coverage answer: "Shirt and Pullover are among the classes the classifier confuses most" --
    the two lowest per-class recalls on the test set, and Pullover-Shirt among its three most confused pairs."""
    gray = course_data[1]
    classifier = next(r for r in REFERENCE_RUNS if r.kind == "classifier").train(gray)
    confusion = torch.zeros(10, 10)
    confusion.index_put_((gray.test.labels.long(), classifier.predict(gray.test).long()), torch.ones(len(gray.test)),
                         accumulate=True)
    recall = confusion.diag() / confusion.sum(1)
    shirt, pullover = 6, 2
    assert set(recall.argsort()[:2].tolist()) == {shirt, pullover}, recall
    assert recall[5] > 0.95  # "Sandal, which it reads well"
    pairs = confusion + confusion.T
    pairs.fill_diagonal_(0)
    top3 = pairs.triu().flatten().argsort(descending=True)[:3].tolist()
    assert min(shirt, pullover) * 10 + max(shirt, pullover) in top3
    text = (Path(__file__).resolve().parent.parent / "notebooks" / "08_vae_vs_gan.py").read_text()
    assert "Shirt and Pullover are among the classes the classifier confuses most" in " ".join(
        line.lstrip("# ").strip() for line in text.splitlines())
