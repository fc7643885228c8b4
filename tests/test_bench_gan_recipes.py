"""benchmarks/gan_recipes.py (issue 24's screening): its speckle measure counts isolated bright pixels, its summary
averages over seeds, and every recipe changes only known levers."""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import gan_recipes  # noqa: E402

from course_utils.evaluation import isolated_pixels  # noqa: E402


def test_speckle_counts_bright_pixels_with_no_bright_neighbour():
    x = torch.zeros(4, 784)
    x[0, 28 * 5 + 5] = 1.0  # alone: isolated
    x[1, 28 * 5 + 5], x[1, 28 * 6 + 6] = 1.0, 0.9  # diagonal neighbours: neither is isolated
    x[2, 0] = 0.8  # in the corner (the border counts as dark): isolated
    x[3, 28 * 10 + 10], x[3, 28 * 10 + 11] = 0.7, 0.4  # a dim neighbour does not count
    assert isolated_pixels(x) == 3 / 4
    assert isolated_pixels(torch.ones(3, 784)) == 0.0  # a bright blob has no isolated pixel
    assert isolated_pixels(torch.zeros(3, 784)) == 0.0


def test_the_course_measure_is_the_screens():
    x = torch.rand(50, 784, generator=torch.Generator().manual_seed(0)) ** 4
    assert gan_recipes.isolated_pixels is isolated_pixels and isolated_pixels(x) > 0
    assert isolated_pixels(x.reshape(50, 28, 28)) == isolated_pixels(x)  # either image shape
    assert isolated_pixels(x, threshold=0.99) < isolated_pixels(x)


def test_summary_averages_each_score_over_the_seeds_it_has():
    base = {"budget_seconds": 180.0, "n_samples": 5000, "levers": {}, "real_speckle_per_image": 0.75}
    rows = [{**base, "recipe": "ema", "seed": 0, "fd": 100.0, "recall": 0.1, "speckle_per_image": 1.0, "g_steps": 10},
            {**base, "recipe": "ema", "seed": 1, "fd": 120.0, "precision": 0.9, "recall": 0.2,
             "speckle_per_image": 0.8, "g_steps": 12},
            {**base, "recipe": "baseline", "seed": 0, "fd": 200.0, "precision": 0.7, "recall": 0.0,
             "speckle_per_image": 2.5, "g_steps": 14},
            {"recipe": "sn", "error": "diverged at step 3", "seed": 0}]
    table = gan_recipes.summarize(rows)
    assert [e["recipe"] for e in table] == ["ema", "baseline"]  # best FD first; the failed run is left out
    ema = table[0]
    assert ema["seeds"] == [0, 1] and ema["fd"] == {"mean": 110.0, "min": 100.0, "max": 120.0, "n": 2}
    assert ema["precision"] == {"mean": 0.9, "min": 0.9, "max": 0.9, "n": 1}  # only the line that has it
    assert ema["label"] == "average of G (0.999)" and table[1]["label"] == "the assignment's"
    assert gan_recipes.describe(gan_recipes.RECIPES["ema-ttur"]) == "average of G (0.999) + lr D 0.0004 + lr G 0.0001"


def test_every_recipe_changes_only_known_levers():
    for name, changes in gan_recipes.RECIPES.items():
        assert set(changes) <= set(gan_recipes.BASE), name
    assert gan_recipes.RECIPES["baseline"] == {}
