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


def test_each_recipe_changes_only_epochs_rate_and_batch_of_notebook_05s_model():
    base = full_config(20)
    for name, changes in vae_recipes.RECIPES.items():
        assert set(changes) <= {"epochs", "lr", "batch_size"}, name
        config = vae_recipes.config_of(name, seed=3)
        assert isinstance(config, VAEConfig) and config.precision == "float32" and config.seed == 3
        same = {k: v for k, v in base.to_dict().items() if k not in {*changes, "seed", "precision"}}
        assert {k: config.to_dict()[k] for k in same} == same, name
    assert vae_recipes.config_of("e100-lr1e-3", 0).epochs == base.epochs  # the recipe the others are held to


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
    seeds = json.loads((ROOT / "benchmarks/results/seeds.json").read_text())
    assert summary["target_test_elbo"] == round(seeds["summary"]["vae"]["test_elbo"]["mean"] - 0.5, 3)
