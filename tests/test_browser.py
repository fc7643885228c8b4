"""The course in a real browser: JupyterLab + Debian's Chromium, driven by Playwright.

Starts JupyterLab on loopback with a token, serving a temporary copy of the notebooks (so
JupyterLab's autosave can never rewrite the committed ones), opens notebooks, runs all cells in
quick mode on the cache of the session's course run (``course_run`` in conftest.py: its data and
trained models, so nothing is trained again; one kernel per notebook tested), waits for the
kernel to go idle with no error outputs, moves a latent slider with the keyboard and checks
that the decoded image changes, and saves (into the served copy, never the committed file).
Screenshots land in ``artifacts/browser/`` (or ``$BROWSER_ARTIFACTS``).
How fast the widgets answer is a benchmark target
(benchmarks/bench_widgets.py), not asserted here.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import jupyter_lab, require_module

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "artifacts" / "browser"))
pytestmark = pytest.mark.browser

playwright_api = require_module("playwright.sync_api")
if not Path(CHROMIUM).exists():  # pragma: no cover - CI installs it
    pytest.fail("Chromium is missing: apt-get install chromium (see .ci/run)", pytrace=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, course_run):
    """A JupyterLab server on 127.0.0.1 serving a copy of notebooks/ with the course run's cache; yields
    (base_url, token, served folder)."""
    cache = course_run.cache
    served = tmp_path_factory.mktemp("lab-root")
    shutil.copytree(ROOT / "notebooks", served / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {"COURSE_QUICK": "1", "COURSE_CACHE_DIR": str(cache), "PYTHONPATH": pythonpath,
           "JUPYTER_CONFIG_DIR": str(tmp_path_factory.mktemp("jupyter-config")),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path_factory.mktemp("workspaces"))}
    with jupyter_lab(served, env, tmp_path_factory.mktemp("lab-log") / "lab.log") as (base, token):
        yield base, token, served


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


# JavaScript run in the page: the notebook panel's state, through the exposed app.
JS_STATE = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.sessionContext || !panel.content || !panel.content.model) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [...panel.content.model.cells];
  const code = cells.filter(c => c.type === 'code');
  const errors = [];
  for (const c of code) {
    for (const o of c.outputs.toJSON()) {
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
    }
  }
  return {kernel: kernel ? kernel.status : 'none', cells: code.length,
          executed: code.filter(c => c.executionCount !== null).length, errors};
}"""


def run_all(page, base, token, notebook: str, timeout_s: float = 600):
    page.goto(f"{base}/lab/tree/{notebook}?token={token}&reset")
    try:
        page.wait_for_function("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget; "
                               "const k = w && w.sessionContext && w.sessionContext.session "
                               "&& w.sessionContext.session.kernel; return k && k.status === 'idle'; }",
                               timeout=120_000)
    except playwright_api.TimeoutError:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{Path(notebook).stem}-kernel-timeout.png"))
        raise
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.time() + timeout_s
    state = None
    while time.time() < deadline:
        state = page.evaluate(JS_STATE)
        if state and state["errors"]:
            break
        if state and state["kernel"] == "idle" and state["executed"] == state["cells"]:
            time.sleep(1.0)  # let widget views render
            state = page.evaluate(JS_STATE)
            if state["kernel"] == "idle":
                break
        time.sleep(0.5)
    return state


def slider_moves_image(page, shot_name: str) -> bool:
    """Focus the first slider handle, press ArrowRight; True once the image changed (polled for 5 s)."""
    handle = page.locator(".course-latent-slider .noUi-handle").first
    handle.wait_for(state="visible", timeout=30_000)
    handle.scroll_into_view_if_needed()
    image = page.locator(".course-latent-image").first
    image.wait_for(state="visible", timeout=30_000)
    before = image.screenshot()
    handle.focus()
    t0 = time.perf_counter()
    page.keyboard.press("ArrowRight")
    while time.perf_counter() - t0 < 5:
        if image.screenshot() != before:
            page.screenshot(path=str(ARTIFACTS / shot_name), full_page=False)
            return True
        time.sleep(0.05)
    return False


BROWSER_NOTEBOOKS = os.environ.get("BROWSER_NOTEBOOKS", "notebooks/05_vae.ipynb,notebooks/07_gan.ipynb").split(",")


@pytest.mark.parametrize("notebook", BROWSER_NOTEBOOKS)
def test_notebook_runs_and_latent_slider_updates_image(lab, browser, notebook):
    if not (ROOT / notebook).is_file():
        pytest.fail(f"{notebook} does not exist")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base, token, served = lab
    committed = (ROOT / notebook).read_bytes()
    served_before = (served / notebook).read_bytes()
    assert served_before == committed  # JupyterLab serves a copy of the committed notebook
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        state = run_all(page, base, token, notebook)
        stem = Path(notebook).stem
        page.screenshot(path=str(ARTIFACTS / f"{stem}-after-run.png"))
        assert state is not None, "the notebook never opened"
        assert not state["errors"], f"error outputs: {state['errors']}"
        assert state["kernel"] == "idle" and state["executed"] == state["cells"], state
        assert slider_moves_image(page, f"{stem}-slider-moved.png"), "the image did not change after the key press"
        # a student's run saves its outputs into the notebook being served (here the copy)
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        deadline = time.time() + 30
        while (served / notebook).read_bytes() == served_before and time.time() < deadline:
            time.sleep(0.5)
        assert (served / notebook).read_bytes() != served_before, "saving did not reach the served copy"
    finally:
        page.close()
    assert (ROOT / notebook).read_bytes() == committed, "the committed notebook was rewritten"


def live_counter(root, name: str) -> int:
    return int(root.get_attribute(f"data-{name}") or 0)


def test_live_gan_view_plays_pauses_and_steps(lab, browser):
    """06's live 2-D GAN in JupyterLab: play moves the game and the drawing, pause stops it, step is one step."""
    notebook = "notebooks/06_gan_objective.ipynb"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base, token, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        state = run_all(page, base, token, notebook)
        assert state is not None and not state["errors"], state
        root = page.locator(".course-live2d").first
        root.wait_for(state="visible", timeout=60_000)
        root.scroll_into_view_if_needed()
        page.wait_for_function("() => Number(document.querySelector('.course-live2d').dataset.frames || 0) >= 1",
                               timeout=30_000)
        plane = root.locator("canvas.live2d-plane")
        start, before = live_counter(root, "step"), plane.screenshot()
        root.locator(".live2d-play").click()
        page.wait_for_function(f"() => Number(document.querySelector('.course-live2d').dataset.step) >= {start + 20}",
                               timeout=60_000)
        assert plane.screenshot() != before, "playing did not change the drawing"
        page.screenshot(path=str(ARTIFACTS / "06-live-playing.png"))
        root.locator(".live2d-play").click()  # pause
        page.wait_for_function("() => document.querySelector('.course-live2d').dataset.playing === '0'")
        time.sleep(1.0)  # a frame requested just before the pause may still arrive
        paused = live_counter(root, "step")
        time.sleep(2.0)
        assert live_counter(root, "step") == paused, "the game went on after pause"
        frames = live_counter(root, "frames")
        root.locator(".live2d-step-button").click()
        page.wait_for_function(f"() => Number(document.querySelector('.course-live2d').dataset.frames) > {frames}",
                               timeout=30_000)
        time.sleep(1.0)
        assert live_counter(root, "step") == paused + 1, "step did not play exactly one step"
        page.screenshot(path=str(ARTIFACTS / "06-live-stepped.png"))
    finally:
        page.close()
