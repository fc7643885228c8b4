"""The committed benchmark results agree with each other, with the notebooks' prose and with the README.

The numbers are produced by the scripts in ``benchmarks/`` (never by these tests); what is checked
here is that every place quoting them was updated together: a re-run of a benchmark that changes
a number must also update the notebook text and the README, or this fails.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


# the keys issues 3 and 4 ask each results file to carry
VAE_KEYS = {"epoch_seconds", "baseline_epoch_seconds", "speedup", "gflops_step", "gflops_matmul", "test_elbo",
            "test_iw_ll", "iw_k", "iw_images", "train_seconds", "epochs", "dataset", "machine", "date", "command"}
GAN_KEYS = {"epoch_seconds", "baseline_epoch_seconds", "speedup", "train_seconds", "epochs", "fd_gan", "fd_vae",
            "fd_real_floor", "classifier_accuracy", "classes_covered", "dataset", "machine", "date", "command"}


@pytest.mark.parametrize("name, keys", [("vae.json", VAE_KEYS), ("gan.json", GAN_KEYS)])
def test_results_files_carry_the_required_keys(name, keys):
    results = load(name)
    assert keys <= set(results), f"{name} lacks {sorted(keys - set(results))}"
    assert results["command"].startswith("python benchmarks/")


def test_speedups_are_the_ratio_of_the_recorded_times():
    for name in ("vae.json", "gan.json"):
        r = load(name)
        assert r["speedup"] == pytest.approx(r["baseline_epoch_seconds"] / r["epoch_seconds"], abs=0.01), name
        if "speedup_float32" in r:
            assert r["speedup_float32"] == pytest.approx(r["baseline_epoch_seconds"] / r["epoch_seconds_float32"],
                                                         abs=0.01), name


def _reported(notebook: str) -> dict:
    entry = load("notebooks.json").get(notebook, {})
    reported = entry.get("full_reported")
    if not reported:
        pytest.fail(f"notebooks.json has no full-mode numbers for {notebook}: "
                    f"run benchmarks/bench_notebooks.py in full mode")
    return reported


def test_notebook_08_full_mode_agrees_with_gan_json():
    gan, reported = load("gan.json"), _reported("08_vae_vs_gan")
    assert reported["GAN Fréchet distance (classifier features)"] == pytest.approx(gan["fd_gan"], rel=1e-3)
    assert reported["VAE Fréchet distance (classifier features)"] == pytest.approx(gan["fd_vae"], rel=1e-3)
    assert reported["Fréchet distance floor (real vs real)"] == pytest.approx(gan["fd_real_floor"], rel=1e-3)
    assert reported["GAN classes covered"] == gan["classes_covered"]
    assert reported["evaluation classifier test accuracy"] == pytest.approx(gan["classifier_accuracy"], abs=1e-4)


def test_notebook_05_full_mode_agrees_with_vae_json():
    vae, reported = load("vae.json"), _reported("05_vae")
    assert reported["test ELBO (z = 20)"] == pytest.approx(vae["test_elbo"], abs=0.01)


def test_quoted_numbers_match_the_results_files():
    vae, gan = load("vae.json"), load("gan.json")
    nb07 = (ROOT / "notebooks" / "07_gan.py").read_text()
    quoted = re.search(r"full-mode run on .*?scores\s*#?\s*([\d.]+) against a floor of ([\d.]+)", nb07, re.S)
    assert quoted, "notebook 07 no longer quotes the full-mode Fréchet distance"
    assert quoted.group(1) == f"{gan['fd_gan']:.1f}" and quoted.group(2) == f"{gan['fd_real_floor']:.2f}"
    readme = (ROOT / "README.md").read_text()
    for number in (f"{vae['test_elbo']:.1f}".replace("-", "−"), f"{vae['test_iw_ll']:.1f}".replace("-", "−"),
                   f"{gan['fd_gan']:.1f}", f"{gan['fd_vae']:.1f}", f"{vae['speedup']:.2f}×", f"{gan['speedup']:.2f}×"):
        assert number in readme, f"README's results table does not show {number}"
