"""benchmarks/vae_recipes.py (issue 24's VAE screen): each recipe is notebook 05's z = 20 VAE with only the named
settings changed, in float32, and the committed frontier file agrees with the runs it summarises."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import vae_recipes  # noqa: E402

from course_utils.vae.model import VAEConfig, full_config  # noqa: E402


def test_each_recipe_changes_only_epochs_rate_batch_and_final_rate_of_the_earlier_course_recipe():
    before = vae_recipes.config_of("e100-lr1e-3", 0)  # full_config(20) before issue 24: the quality to reach
    assert (before.epochs, before.lr, before.batch_size, before.lr_final) == (100, 1e-3, 128, 0.05)
    for name, changes in vae_recipes.RECIPES.items():
        assert set(changes) <= {"epochs", "lr", "batch_size", "lr_final", "precision"}, name
        config = vae_recipes.config_of(name, seed=3)
        assert isinstance(config, VAEConfig) and config.seed == 3
        assert config.precision == changes.get("precision", "float32"), name  # float32 unless named
        same = {k: v for k, v in before.to_dict().items() if k not in {*changes, "seed", "precision"}}
        assert {k: config.to_dict()[k] for k in same} == same, name


def test_the_course_trains_the_recipe_the_summary_names():
    """full_config(20) -- notebook 05's z = 20 model in full mode -- is the recipe vae_recipes.json calls the
    course's, and that recipe's three seeds are within the tolerance of the earlier recipe in both measures."""
    summary = json.loads((ROOT / "benchmarks/results/vae_recipes.json").read_text())
    assert summary["course_recipe"] == vae_recipes.COURSE_RECIPE
    chosen = vae_recipes.config_of(vae_recipes.COURSE_RECIPE, 0).to_dict()
    course = full_config(20).to_dict()
    assert {k: v for k, v in chosen.items() if k != "precision"} == {k: v for k, v in course.items()
                                                                     if k != "precision"}
    three = summary["three_seeds"][vae_recipes.COURSE_RECIPE]
    assert three["within_tolerance"] and max(three["below_baseline"].values()) <= summary["tolerance"]


def test_three_seed_summary_says_whether_both_measures_are_within_the_tolerance():
    base = vae_recipes.baseline()
    e, i = base["test_elbo"]["mean"], base["test_iw_ll"]["mean"]

    def rows(name, elbo, iw):
        return [{"recipe": name, "seed": s, "test_elbo": elbo + d, "test_iw_ll": iw + d, "train_seconds": 100.0 + s}
                for s, d in zip((0, 1, 2), (-0.1, 0.0, 0.1), strict=True)]

    out = vae_recipes.three_seed_summary(rows("close", e - 0.4, i - 0.4) + rows("far", e - 0.4, i - 0.6)
                                         + rows("two-seeds", e, i)[:2])
    assert set(out) == {"close", "far"}  # a recipe needs seeds 0, 1 and 2
    assert out["close"]["within_tolerance"] and not out["far"]["within_tolerance"]
    assert out["far"]["below_baseline"]["test_iw_ll"] == round(0.6, 3)
    assert out["close"]["test_elbo"]["min"] == e - 0.5 and out["close"]["train_seconds"]["max"] == 102.0


def test_the_frontier_file_lists_every_run_by_training_time():
    lines = [json.loads(line) for line in (ROOT / "benchmarks/results/vae_recipes.jsonl").read_text().splitlines()]
    runs = list({(r["recipe"], r["seed"]): r for r in lines}.values())  # a rerun of (recipe, seed) replaces it
    summary = json.loads((ROOT / "benchmarks/results/vae_recipes.json").read_text())
    assert len(summary["runs"]) == len(runs)
    seconds = [r["train_seconds"] for r in summary["runs"]]
    assert seconds == sorted(seconds)
    by_recipe = {(r["recipe"], r["seed"]): r["test_elbo"] for r in runs}  # the last line of each
    assert all(by_recipe[(r["recipe"], r["seed"])] == r["test_elbo"] for r in summary["runs"])
    assert all(("test_iw_ll" in r) == ("test_iw_ll" in {(x["recipe"], x["seed"]): x for x in runs}[(r["recipe"],
               r["seed"])]) for r in summary["runs"])
    base = json.loads((ROOT / "benchmarks/results/seeds_vae_e100.json").read_text())["summary"]["vae"]
    assert summary["target_test_elbo"] == round(base["test_elbo"]["mean"] - 0.5, 3)
    assert summary["target_test_iw_ll"] == round(base["test_iw_ll"]["mean"] - 0.5, 3)


def test_the_baseline_file_holds_three_seeds_of_the_earlier_course_recipe():
    import statistics

    base = json.loads((ROOT / "benchmarks/results/seeds_vae_e100.json").read_text())
    rows = base["runs"]
    assert sorted(r["seed"] for r in rows) == [0, 1, 2] and all(r["model"] == "vae" for r in rows)
    before = vae_recipes.config_of("e100-lr1e-3", 0).to_dict()
    for r in rows:
        assert {k: r["config"][k] for k in ("epochs", "lr", "batch_size", "lr_schedule", "lr_final", "z_dim")} == {
            k: before[k] for k in ("epochs", "lr", "batch_size", "lr_schedule", "lr_final", "z_dim")}
    for key in ("test_elbo", "test_iw_ll"):
        assert base["summary"]["vae"][key]["mean"] == round(statistics.fmean(r[key] for r in rows), 3)
