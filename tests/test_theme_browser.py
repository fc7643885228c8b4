"""A figure in JupyterLab's dark theme: the course style keeps it legible (Debian's Chromium via Playwright).

A generated notebook holds two executed figures, one in the course style and one drawn with a
transparent background (what the style prevents). The test opens it in JupyterLab, switches to
the dark theme and reads the pixels of each figure's corner: the course figure stays white, the
transparent one takes the dark theme's background -- so the check can tell the two apart.

(JupyterLab itself puts a white backing behind a transparent figure when matplotlib's inline
backend tags the output ``needs_background: light``; the website, VS Code and exported images do
not read that tag. The transparent figure here has the tag removed, as those viewers see it; the
course figure needs no tag at all.)
Screenshots land in ``artifacts/theme/`` (or ``$THEME_ARTIFACTS``).
"""
from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import jupyter_lab, require_module
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("THEME_ARTIFACTS", ROOT / "artifacts" / "theme"))
pytestmark = pytest.mark.browser
api = require_module("playwright.sync_api")

FIGURES = """\
import matplotlib.pyplot as plt
import course_utils.core  # the course style

def figure(title):
    fig, ax = plt.subplots(figsize=(4, 2.5))
    ax.plot([0, 1, 2], [0, 1, 0], label="C0")
    ax.plot([0, 1, 2], [1, 0, 1], label="C1")
    ax.set(title=title, xlabel="z", ylabel="density")
    ax.legend()
    return fig
"""


@pytest.fixture(scope="module")
def lab_with_figures(tmp_path_factory):
    from course_utils.course.nbtools import execute

    folder = tmp_path_factory.mktemp("theme")
    nb = new_notebook(cells=[
        new_code_cell(FIGURES),
        new_code_cell("figure('course style');"),
        new_code_cell("fig = figure('transparent (what the style prevents)')\nfig.patch.set_alpha(0)\n"
                      "fig.axes[0].patch.set_alpha(0)"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    execute(nb, folder, quick=True, timeout=120)
    (styled,) = nb.cells[1].outputs
    assert "needs_background" not in styled.get("metadata", {})  # opaque: no viewer has to compensate
    for out in nb.cells[2].outputs:
        out.get("metadata", {}).pop("needs_background", None)
    nbformat.write(nb, folder / "theme.ipynb")
    env = {"JUPYTER_CONFIG_DIR": str(tmp_path_factory.mktemp("cfg")),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path_factory.mktemp("settings")),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path_factory.mktemp("ws"))}
    with jupyter_lab(folder, env, folder / "lab.log") as server:
        yield server


def corner(png: bytes) -> tuple[int, int, int]:
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    return img.getpixel((3, 3))


def test_figures_stay_legible_in_the_dark_theme(lab_with_figures):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install chromium (see .ci/run)", pytrace=False)
    base, token = lab_with_figures
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        try:
            page.goto(f"{base}/lab/tree/theme.ipynb?token={token}&reset")
            images = page.locator(".jp-OutputArea-output img")
            images.nth(1).wait_for(state="visible", timeout=60_000)
            page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                          "{theme: 'JupyterLab Dark'})")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
            page.wait_for_timeout(1000)  # let the theme's CSS settle
            page.screenshot(path=str(ARTIFACTS / "dark-theme.png"))
            styled = images.nth(0).screenshot(path=str(ARTIFACTS / "dark-theme-course-figure.png"))
            transparent = images.nth(1).screenshot(path=str(ARTIFACTS / "dark-theme-transparent-figure.png"))
        finally:
            browser.close()
    assert min(corner(styled)) >= 250, f"the course figure's corner is {corner(styled)}, not white"
    assert max(corner(transparent)) < 100, (
        f"the transparent figure's corner is {corner(transparent)}: the dark theme did not show through, "
        "so this test could not tell an opaque figure from a transparent one")
