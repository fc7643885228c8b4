"""benchmarks/gan_recipes.py (issue 24's screening): its speckle measure counts isolated bright pixels, and every
recipe changes only known levers."""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import gan_recipes  # noqa: E402


def test_speckle_counts_bright_pixels_with_no_bright_neighbour():
    x = torch.zeros(4, 784)
    x[0, 28 * 5 + 5] = 1.0  # alone: isolated
    x[1, 28 * 5 + 5], x[1, 28 * 6 + 6] = 1.0, 0.9  # diagonal neighbours: neither is isolated
    x[2, 0] = 0.8  # in the corner (the border counts as dark): isolated
    x[3, 28 * 10 + 10], x[3, 28 * 10 + 11] = 0.7, 0.4  # a dim neighbour does not count
    assert gan_recipes.speckle(x) == 3 / 4
    assert gan_recipes.speckle(torch.ones(3, 784)) == 0.0  # a bright blob has no isolated pixel
    assert gan_recipes.speckle(torch.zeros(3, 784)) == 0.0


def test_every_recipe_changes_only_known_levers():
    for name, changes in gan_recipes.RECIPES.items():
        assert set(changes) <= set(gan_recipes.BASE), name
    assert gan_recipes.RECIPES["baseline"] == {}
