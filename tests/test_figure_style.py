"""The course's figure style (opaque, Okabe-Ito, uniform colour maps) and the audit that checks every figure."""
from __future__ import annotations

import base64
import io
import json

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from nbformat.v4 import new_code_cell, new_notebook
from PIL import Image

from course_utils.core import plots
from course_utils.core.plots import PALETTE, figure_problems, png_problems


def labelled(fig, ax, title="a title"):
    ax.set_xlabel("z")
    ax.set_ylabel("density")
    ax.set_title(title)
    return fig


def test_importing_the_course_plotting_sets_the_style():
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"] == PALETTE
    assert matplotlib.colors.to_rgba(matplotlib.rcParams["figure.facecolor"])[3] == 1.0
    assert matplotlib.rcParams["savefig.transparent"] is False
    assert matplotlib.rcParams["image.cmap"] in plots.UNIFORM_CMAPS
    assert len(set(PALETTE)) == 8


def test_a_figure_in_the_course_style_has_no_problems():
    fig = Figure()
    ax = fig.add_subplot()
    for i in range(4):
        ax.plot([0, 1], [i, i + 1], label=f"C{i}")  # the default cycle
    ax.hist(np.random.default_rng(0).normal(size=100), color="C1", alpha=0.5)
    ax.axhline(0.5, color="gray", ls="--")
    ax.scatter([0, 1], [1, 0], c=[0.2, 0.8], cmap="viridis")
    ax.fill_between([0, 1], [0, 0], [1, 1], color="C2", alpha=0.2)
    ax.legend()
    twin = ax.twinx()
    twin.plot([0, 1], [0, 1], color="k")
    twin.set_ylabel("D(x)")
    assert figure_problems(labelled(fig, ax)) == []


def test_the_audit_names_each_broken_rule():
    fig = Figure()
    fig.patch.set_alpha(0.0)
    ax = fig.add_subplot(1, 2, 1)
    ax.plot([0, 1], [0, 1], color="tab:red")
    ax.scatter([0, 1], [1, 0], c=[0.2, 0.8], cmap="jet")
    im_ax = fig.add_subplot(1, 2, 2)
    im_ax.imshow(np.eye(3), cmap="rainbow")
    im_ax.set_axis_off()
    problems = figure_problems(fig)
    text = "\n".join(problems)
    assert "transparent figure background" in text
    assert "line colour #d62728" in text  # tab:red
    assert "'jet'" in text and "'rainbow'" in text
    assert "axes 0 has no x label" in text and "axes 0 has no y label" in text
    assert "figure has no title" in text
    assert "axes 1" not in text  # an image with hidden axes needs no axis labels


def test_image_grids_need_only_a_title():
    fig = Figure()
    ax = fig.add_subplot()
    plots.show_grid(torch.rand(4, 784, generator=torch.Generator().manual_seed(0)), nrow=4, title="samples", ax=ax)
    assert figure_problems(fig) == []


def png(mode: str, alpha: int = 255) -> bytes:
    img = Image.new(mode, (4, 3), (10, 20, 30, alpha) if mode == "RGBA" else (10, 20, 30))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_png_problems_finds_transparent_pixels():
    assert png_problems(png("RGB")) == []
    assert png_problems(png("RGBA", 255)) == []
    (problem,) = png_problems(png("RGBA", 0))
    assert "12 of 12 pixels are transparent" in problem


def figure_outputs(nb) -> list[bytes]:
    return [base64.b64decode(out["data"]["image/png"]) for cell in nb.cells if cell.cell_type == "code"
            for out in cell.outputs if "image/png" in out.get("data", {})]


def test_every_figure_a_notebook_draws_is_audited(tmp_path, monkeypatch):
    """A kernel with COURSE_FIGURE_AUDIT set records each figure: inline outputs, savefig, widget redraws."""
    from course_utils.course.nbtools import execute

    audit = tmp_path / "figures.jsonl"
    monkeypatch.setenv(plots.ENV_AUDIT, str(audit))
    nb = new_notebook(cells=[
        new_code_cell("import matplotlib.pyplot as plt\nimport course_utils.core\n"
                      "fig, ax = plt.subplots()\nax.plot([0, 1], [0, 1])\nax.set(title='good', xlabel='z', "
                      "ylabel='density [1/z]')\nplt.show()"),
        new_code_cell("fig, ax = plt.subplots()\nfig.patch.set_alpha(0)\nax.plot([0, 1], [1, 0], color='tab:red')\n"
                      "ax.set_title('bad')\nplt.show()"),
        new_code_cell(f"fig, ax = plt.subplots()\nax.set(title='saved', xlabel='x', ylabel='y')\n"
                      f"fig.savefig({str(tmp_path / 'saved.png')!r}, transparent=True)\nplt.close(fig)"),
        new_code_cell("from course_utils.widgets import KLExplorer\nKLExplorer()"),
    ])
    execute(nb, tmp_path, quick=True, timeout=120)
    entries = {e["figure"]: e for e in plots.read_audit(audit)}
    assert entries["good"]["problems"] == [] and entries["good"]["how"] == "print_figure"
    assert "transparent figure background" in " ".join(entries["bad"]["problems"])
    assert "line colour #d62728 outside the course palette" in entries["bad"]["problems"]
    assert entries["saved"]["problems"] == ["drawn with transparent=True"]
    widget = [e for e in entries.values() if e["how"] == "widget"]
    assert widget and all(e["problems"] == [] for e in widget), widget
    good_png, bad_png = figure_outputs(nb)
    assert png_problems(good_png) == []
    assert png_problems(bad_png), "a transparent figure must show up in its pixels too"
    json.dumps(entries)  # the file holds plain JSON


def test_without_the_variable_nothing_is_recorded(tmp_path, monkeypatch):
    monkeypatch.delenv(plots.ENV_AUDIT, raising=False)
    fig = Figure()
    fig.add_subplot().plot([0, 1])
    assert plots.audit_figure(fig, "test") == []


@pytest.mark.parametrize("colour,ok", [("#0072B2", True), ("C3", True), ("0.5", True), ("white", True),
                                       ("tab:blue", False), ("red", False), ((0.0, 0.447, 0.698, 0.3), True)])
def test_allowed_colours(colour, ok):
    assert plots.allowed_colour(colour) is ok
