"""The evaluation classifier as a fixed yardstick: what notebooks 07 and 08 and the README say about it agrees with
``benchmarks/results/yardstick.json`` (the same samples scored with classifiers that differ only in their seed) and
with the from-scratch run in ``notebooks.json``."""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def prose(notebook: str) -> str:
    path = next((ROOT / "notebooks").glob(f"{notebook}_*.py"))
    return " ".join(line.lstrip("# ").strip() for line in path.read_text().splitlines())


def test_the_yardstick_file_scores_the_same_samples_with_the_shipped_classifier_and_two_others():
    ys = load("yardstick.json")
    index = json.loads((ROOT / "course_utils/reference/index.json").read_text())
    shipped = next(v for v in index.values() if v["name"] == "classifier")
    assert [(r["classifier_seed"], r["shipped"], r["retrained_here"]) for r in ys["rows"]] == [
        (0, True, False), (0, False, True), (1, False, False), (2, False, False)]
    rows = {(r["classifier_seed"], r["retrained_here"]): r for r in ys["rows"]}
    assert rows[(0, False)]["test_accuracy"] == shipped["evaluation"]["test_accuracy"]
    assert ys["dataset"] == "fashion-mnist" and ys["n_samples"] == 10_000
    # seed 0 is the shipped classifier: its numbers are the reference models' as the notebooks print them
    reported = load("notebooks.json")["08_vae_vs_gan"]["full_reported"]
    assert abs(rows[(0, False)]["GAN"]["fd"] - reported["GAN Fréchet distance (classifier features)"]) < 0.01
    assert abs(rows[(0, False)]["VAE"]["fd"] - reported["VAE Fréchet distance (classifier features)"]) < 0.01
    same = ys["same_seed_retrained_minus_shipped"]
    assert same["GAN"]["fd"] == round(rows[(0, True)]["GAN"]["fd"] - rows[(0, False)]["GAN"]["fd"], 4)


def test_07_and_08_print_the_yardsticks_spread_and_their_claims_hold():
    """06-08 type no measured number: 07 and 08 print the yardstick's numbers from yardstick.json; their prose's
    claims are checked here."""
    ys = load("yardstick.json")
    shipped, again, *others = ys["rows"]
    source07, source08 = ((ROOT / "notebooks" / f"{nb}.py").read_text() for nb in ("07_gan", "08_vae_vs_gan"))
    assert 'results.load("yardstick")' in source07 and 'results.load("yardstick")' in source08
    assert "The last line printed below is `benchmarks/yardstick.py`'s" in prose("07")
    # 07 and 08: "the same seed moved the distance a little, another seed a lot"
    for model in ("GAN", "VAE"):
        by_seed = max(abs(r[model]["fd"] - shipped[model]["fd"]) for r in others)
        assert abs(again[model]["fd"] - shipped[model]["fd"]) < 0.25 * by_seed, model
    assert "the same seed moved the distance a little, another seed a lot" in prose("07")
    text = prose("08")
    assert "The same seed retrained moves the distances a little (the VAE's precision by several hundredths)" in text
    assert abs(again["VAE"]["precision"] - shipped["VAE"]["precision"]) >= 0.02
    # 08: "another seed moves each distance, and the VAE's recall, by more than the three training seeds of
    # seeds.json move them"
    seeds = load("seeds.json")
    for model, key in (("GAN", "fd"), ("VAE", "fd"), ("VAE", "recall")):
        values = [r[model][key] for r in (shipped, *others)]
        trained = [r[key] for r in seeds["runs"] if r["model"] == model.lower()]
        assert max(values) - min(values) > max(trained) - min(trained), (model, key)
    assert "another seed moves each distance, and the VAE's recall, by more than the three training seeds" in text
    # "while the VAE's distance stays about the same multiple of the GAN's"
    ratios = [r["VAE"]["fd"] / r["GAN"]["fd"] for r in ys["rows"]]
    assert max(ratios) / min(ratios) < 1.15 and "stays about the same multiple of the GAN's" in text
    assert all(r["VAE"]["fd"] > r["GAN"]["fd"] for r in ys["rows"])  # the order held under every classifier


def test_07_says_training_here_on_the_reference_machine_reproduces_the_reference_distance():
    """07: "the course's check there scored the same distance to the first decimal" -- notebooks.json's
    from-scratch run (COURSE_TRAIN_HERE=1, float32, the reference model's thread count and CPU) against the run
    that loads the reference model."""
    entry = load("notebooks.json")["07_gan"]
    key = "GAN Fréchet distance (classifier features)"
    here, shipped = entry["full_scratch_reported"][key], entry["full_reported"][key]
    assert f"{here:.1f}" == f"{shipped:.1f}"
    assert "the course's check there scored the same distance to the first decimal" in prose("07")
    reference = next(v for v in json.loads((ROOT / "course_utils/reference/index.json").read_text()).values()
                     if v["name"] == "gan")
    assert reference["precision"] == "float32" and reference["threads"] == 2  # as the check ran (2 threads)
    assert "2 threads" in load("notebooks.json")["07_gan"]["full_scratch_memory_machine"]


def test_the_readme_quotes_the_yardstick():
    ys = load("yardstick.json")
    r = ys["range_over_classifiers"]
    secs = [x["train_seconds"] for x in ys["rows"] if not x["shipped"]]
    row = next(line for line in (ROOT / "README.md").read_text().splitlines()
               if line.startswith("| the evaluation classifier as a yardstick"))
    assert (f"| {r['VAE']['fd'][0]:.1f}–{r['VAE']['fd'][1]:.1f} / {r['GAN']['fd'][0]:.1f}–{r['GAN']['fd'][1]:.1f} / "
            f"{r['real (held out)']['fd'][0]:.2f}–{r['real (held out)']['fd'][1]:.2f}; "
            f"{r['VAE']['precision'][0]:.2f}–{r['VAE']['precision'][1]:.2f} (the three trained here: "
            f"{min(secs):.0f}–{max(secs):.0f} s each at 2 threads) |") in row, row
    assert ys["threads"] == 2
    assert round(sum(secs) / len(secs), -1) == 90  # "about 90 s more at 2 threads" (the from-scratch row)
    assert "about 90 s more at 2 threads (`yardstick.json`'s classifiers trained here)" in (
        ROOT / "README.md").read_text()
