"""The figure functions notebooks 06 and 08 call, on tiny runs: each draws what it names and follows
the course's figure rules (:func:`course_utils.core.plots.figure_problems`).

Notebook 08's figures that need a classifier (``coverage_figure``, ``scores_figure``,
``neighbours_figure``) are tested with ``score_models`` in tests/test_evaluation.py.
"""
from __future__ import annotations

from dataclasses import replace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils.core.plots import figure_problems  # noqa: E402
from course_utils.evaluation import comparison as VG  # noqa: E402
from course_utils.toys import gan1d_figures as F  # noqa: E402
from course_utils.toys.gan1d import Mixture1D, ToyConfig, default_grid, game_diagnostics, normal_pdf, train_toy_gan  # noqa: E402
from course_utils.toys.ring import RingConfig, train_ring_gan  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def toy_runs():
    base = ToyConfig(seed=1, steps=40, snapshot_every=10, batch_size=64, n_snapshot=300)
    return {loss: train_toy_gan(replace(base, generator_loss=loss)) for loss in ("saturating", "non-saturating")}


@pytest.fixture(scope="module")
def ring_runs():
    base = RingConfig(steps=40, snapshot_every=20, n_snapshot=300)
    return {f"{loss} loss": train_ring_gan(replace(base, generator_loss=loss))
            for loss in ("non-saturating", "saturating")}


def ok(fig, n_axes_at_least: int = 1, labels: bool = True):
    assert figure_problems(fig, labels=labels) == [], figure_problems(fig, labels=labels)
    drawn = [ax for ax in fig.axes if ax.has_data()]
    assert len(drawn) >= n_axes_at_least, f"{len(drawn)} axes with data"
    return fig


# --------------------------------------------------------------------------- notebook 06

def test_optimal_discriminator_and_value_path_figures():
    x, data = default_grid(n=301), Mixture1D()
    p_data = data.pdf(x)
    candidates = {"far: N(0, 1)": normal_pdf(x, 0.0, 1.0), "equal: p_g = p_data": p_data}
    fig = ok(F.optimal_discriminator_figure(x, p_data, candidates))
    # D* = 1/2 everywhere where p_g = p_data: some line of the figure is constant at 0.5
    lines = [line.get_ydata() for ax in fig.axes for line in ax.get_lines()]
    assert any(len(y) == len(x) and np.allclose(y, 0.5) for y in lines)
    ok(F.value_path_figure(x, p_data, candidates["far: N(0, 1)"], n=11), 2)


def test_generator_loss_and_disjoint_supports_figures():
    ok(F.generator_loss_figure(n=99))
    ok(F.disjoint_supports_figure())


def test_toy_run_figures(toy_runs):
    run = toy_runs["non-saturating"]
    ok(F.toy_snapshots_figure(run, n_panels=3), 3)
    ok(F.toy_history_figure(run, smooth=5))
    fig = ok(F.saturation_figure(toy_runs))
    labels = {t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()}
    assert any("saturating" in t for t in labels) and any("non-saturating" in t for t in labels), labels
    ok(F.game_diagnostics_figure(run, game_diagnostics(run, smooth=5)))


def test_ring_figures(ring_runs):
    # every panel labels its axes x1/x2; the first panel of each row also names the run
    fig = ok(F.ring_snapshots_figure(ring_runs, n_panels=3), 3)
    assert [ax.get_ylabel().split("\n")[0] for ax in fig.axes[::3]] == list(ring_runs)  # one row per run
    ok(F.ring_modes_figure(ring_runs))


# --------------------------------------------------------------------------- notebook 08

def test_side_by_side_figure_shows_real_images_and_each_model():
    g = torch.Generator().manual_seed(0)
    samples = {"VAE": torch.rand(10, 784, generator=g), "GAN": torch.rand(10, 784, generator=g)}
    fig = VG.side_by_side_figure(samples, torch.rand(10, 784, generator=g), n=9, nrow=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["real (test images)", "VAE samples", "GAN samples"]
    assert figure_problems(fig, labels=False) == []  # image grids carry no axis labels
