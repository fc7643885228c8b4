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
        assert set(changes) <= {"z_dim", "epochs", "lr", "batch_size", "lr_final", "precision"}, name
        assert name.startswith(f"z{changes['z_dim']}-") if "z_dim" in changes else name.startswith("e"), name
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


def test_the_smaller_runs_summary_applies_each_latent_sizes_rule():
    def rows(name, z, elbo, active=None):
        return [{"recipe": name, "seed": s, "config": {"z_dim": z}, "test_elbo": elbo + d, "train_seconds": 10.0 + s,
                 **({"active_units": active + s} if active is not None else {})}
                for s, d in zip((0, 1, 2), (-0.1, 0.0, 0.1), strict=True)]

    out = vae_recipes.small_models_summary(
        rows("z2-e15-lr1e-3", 2, -265.0) + rows("z2-better", 2, -264.9) + rows("z2-worse", 2, -265.05)
        + rows("z50-e20-lr1e-3", 50, -240.0, 25) + rows("z50-close", 50, -240.45, 27) + rows("z50-far", 50, -240.6, 20)
        + rows("z50-two-seeds", 50, -239.0, 30)[:2] + rows("e90-b256-lr3e-3", 20, -236.0))
    z2, z50 = out["z2"]["three_seeds"], out["z50"]["three_seeds"]
    assert set(z2) == {"z2-e15-lr1e-3", "z2-better", "z2-worse"}  # z = 20 lines and two-seed recipes stay out
    assert z2["z2-better"]["meets_rule"] and not z2["z2-worse"]["meets_rule"]  # z = 2: no worse at all
    assert z2["z2-e15-lr1e-3"]["below_earlier_recipe"] == 0 and z2["z2-e15-lr1e-3"]["meets_rule"]
    assert set(z50) == {"z50-e20-lr1e-3", "z50-close", "z50-far"}
    assert z50["z50-close"]["meets_rule"] and not z50["z50-far"]["meets_rule"]  # z = 50: within 0.5 nats
    assert z50["z50-far"]["active_units"]["mean"] == 21 and "active_units" not in z2["z2-better"]


def test_the_frontier_file_lists_every_run_by_training_time():
    lines = [json.loads(line) for line in (ROOT / "benchmarks/results/vae_recipes.jsonl").read_text().splitlines()]
    every = list({(r["recipe"], r["seed"]): r for r in lines}.values())  # a rerun of (recipe, seed) replaces it
    runs = [r for r in every if r["config"]["z_dim"] == 20]  # the z = 2 and z = 50 screens are listed apart
    summary = json.loads((ROOT / "benchmarks/results/vae_recipes.json").read_text())
    assert len(summary["runs"]) == len(runs)
    small = summary.get("small_models_runs", [])
    assert len(small) == len(every) - len(runs) and all(r["z_dim"] in (2, 50) for r in small)
    assert all(any(x["recipe"] == r["recipe"] and x["seed"] == r["seed"] and x["test_elbo"] == r["test_elbo"]
                   for x in every) for r in small)
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


def test_the_smaller_runs_earlier_recipes_are_what_the_course_trained_before():
    """z2-e15-lr1e-3 and z50-e20-lr1e-3, the baselines of the z = 2 and z = 50 screens, are notebook 05's z = 2 and
    notebook 04's z = 50 runs as the course trained them before session 6 (the assignment's batch and rate, the
    cosine decay to 5%)."""
    for z, epochs in ((2, 15), (50, 20)):
        base_name = vae_recipes.SMALL_BASELINES[z][0]
        assert vae_recipes.config_of(base_name, 0) == VAEConfig(z_dim=z, epochs=epochs, lr_schedule="cosine",
                                                                precision="float32")


def test_a_rerun_that_reproduces_a_run_keeps_its_first_timing():
    first = {"recipe": "z50-x", "seed": 0, "test_elbo": -240.5, "train_seconds": 31.6, "epoch_seconds": 2.1,
             "date": "2026-12-07 18:50 UTC"}
    busy = {**first, "train_seconds": 90.0, "epoch_seconds": 6.0, "date": "2026-12-07 19:15 UTC", "active_units": 24}
    kept = vae_recipes.keep_first_timing(busy, first)
    assert (kept["train_seconds"], kept["epoch_seconds"], kept["rerun_train_seconds"]) == (31.6, 2.1, 90.0)
    assert kept["timing_from"] == first["date"] and kept["active_units"] == 24 and kept["date"] == busy["date"]
    other = {**busy, "test_elbo": -240.4}  # not the same training: its own time stands
    assert vae_recipes.keep_first_timing(other, first) == other
    assert vae_recipes.keep_first_timing(busy, None) == busy
