"""The website of the real course, from a quick-mode course run: what CI builds and a student would read.

The site is built from the session's one course run (the ``course_run`` fixture in conftest.py:
every notebook executed headless in quick mode; ``COURSE_TEST_RUN=<folder>`` keeps and reuses it).
Screenshots land in ``artifacts/site/``.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from conftest import require_module

from course_utils.core.plots import png_problems, read_audit
from course_utils.course import links, site

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("SITE_ARTIFACTS", ROOT / "artifacts" / "site"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STAND_INS = ("01_latent_variable_models", "02_naive_monte_carlo", "03_kl_divergence", "05_vae", "06_gan_objective",
             "07_gan")  # the notebooks whose explorers carry a kernel-free stand-in on the site


@pytest.fixture(scope="module")
def course_site(course_run, tmp_path_factory):
    try:
        import sphinx  # noqa: F401
    except ImportError:
        pytest.fail("sphinx is missing: python -m pip install -r requirements-test.txt", pytrace=False)
    run = course_run.out  # failures of single notebooks are asserted below, per notebook
    return run, site.build(run, tmp_path_factory.mktemp("site") / "html")


def test_every_notebook_ran_in_the_course_run(course_site):
    run, _ = course_site
    summary = json.loads((run / "summary.json").read_text())
    assert summary["mode"] == "quick"
    rows = {Path(r["notebook"]).stem: r for r in summary["notebooks"]}
    assert sorted(rows) == NOTEBOOKS
    failed = {k: r["error"] for k, r in rows.items() if not r["ok"]}
    assert not failed, failed


def test_site_has_every_notebook_with_launch_links_and_nothing_remote(course_site):
    _, html_dir = course_site
    assert site.external_resources(html_dir) == {}
    for stem in NOTEBOOKS:
        page = (html_dir / "notebooks" / f"{stem}.html").read_text()
        assert links.colab_url(stem) in page, f"{stem}: no Colab link"
        assert links.binder_url(stem).replace("&", "&amp;") in page or links.binder_url(stem) in page, stem
        assert "require.js" not in page and "embed-amd" not in page
    index = (html_dir / "index.html").read_text()
    for stem in NOTEBOOKS:
        assert f"notebooks/{stem}.html" in index
    assert "ELBO" in index, "the landing page lacks notebook 05's key numbers"


def test_every_figure_on_the_site_is_opaque(course_site):
    _, html_dir = course_site
    pngs = sorted((html_dir / "_images").glob("*.png"))
    assert len(pngs) >= len(NOTEBOOKS), f"only {len(pngs)} figures on the whole site"
    bad = {p.name: png_problems(p.read_bytes()) for p in pngs}
    assert not {k: v for k, v in bad.items() if v}, bad


def test_every_figure_uses_the_course_palette_and_uniform_maps(course_site):
    """The audit of every figure each notebook drew (opacity, palette, colour maps, a title and labelled axes)."""
    run, _ = course_site
    entries = {stem: read_audit(run / f"{stem}.figures.jsonl") for stem in NOTEBOOKS}
    assert sum(len(v) for v in entries.values()) > 0, "no figure was audited: is COURSE_FIGURE_AUDIT set?"
    style = {stem: [(e["figure"], p) for e in v for p in e["problems"]] for stem, v in entries.items()}
    assert not {k: v for k, v in style.items() if v}, style


def test_the_explorers_have_stand_ins_on_the_site(course_site):
    _, html_dir = course_site
    for stem in STAND_INS:
        page = (html_dir / "notebooks" / f"{stem}.html").read_text()
        assert 'class="course-static-widget' in page, f"{stem}: no static stand-in of its explorer"


# --------------------------------------------------------------------------- in a browser

@pytest.fixture(scope="module")
def base_url(course_site):
    _, html_dir = course_site

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(html_dir)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@pytest.mark.browser
def test_course_site_in_a_browser(base_url):
    api = require_module("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install chromium (see .ci/run)", pytrace=False)
    from test_site import assert_figures_loaded, offline_page, wait_for_math

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = offline_page(browser, base_url)
        try:
            page.goto(f"{base_url}/index.html")
            page.screenshot(path=str(ARTIFACTS / "course-landing.png"), full_page=True)
            # notebook 03 (the most math) from the landing page's table, then "next" to 04
            page.locator("article table a[href$='03_kl_divergence.html']").first.click()
            page.wait_for_url("**/notebooks/03_kl_divergence.html")
            wait_for_math(page, 3)
            assert_figures_loaded(page)
            details = page.locator("article details")
            assert details.count() >= 1 and page.locator("article details[open]").count() == 0
            page.screenshot(path=str(ARTIFACTS / "course-03.png"), full_page=True)
            page.locator("a.right-next").click()
            page.wait_for_url("**/notebooks/04_elbo_reparameterization.html")
            wait_for_math(page, 3)
            assert_figures_loaded(page)
            # notebook 05: the VAE's figures, and its latent sliders still move without a kernel
            page.goto(f"{base_url}/notebooks/05_vae.html")
            assert_figures_loaded(page)
            page.screenshot(path=str(ARTIFACTS / "course-05.png"), full_page=True)
            slider = page.locator(".course-static-slider").first
            image = page.locator(".course-static-image").first
            slider.scroll_into_view_if_needed()
            assert slider.is_visible(), "the stand-in's controls stay hidden: its script did not run"
            before = image.get_attribute("src")
            slider.focus()
            page.keyboard.press("End")  # the far end of z[0]: a different decoded image
            assert image.get_attribute("src") != before
            page.screenshot(path=str(ARTIFACTS / "course-05-slider-moved.png"), full_page=True)
            # notebook 06: the live 2-D GAN's replay plays without a kernel
            page.goto(f"{base_url}/notebooks/06_gan_objective.html")
            replay = page.locator(".course-live2d-replay").first
            replay.scroll_into_view_if_needed()
            plane = replay.locator("canvas.live2d-plane")
            assert plane.is_visible(), "the replay drew nothing: its script did not run"
            assert replay.get_attribute("data-step") == "0"
            before = plane.screenshot()
            replay.locator(".live2d-play").click()
            page.wait_for_function("() => Number(document.querySelector('.course-live2d-replay').dataset.step) > 0",
                                   timeout=10_000)
            page.wait_for_function("() => document.querySelector('.course-live2d-replay').dataset.playing === '0'",
                                   timeout=30_000)  # it stops at the last recorded frame
            slider = replay.locator(".live2d-slider")
            assert slider.input_value() == slider.get_attribute("max")
            assert plane.screenshot() != before, "the replay's drawing did not change"
            page.screenshot(path=str(ARTIFACTS / "course-06-replay.png"), full_page=True)
            assert page.remote_requests == [], f"the site tried to fetch: {page.remote_requests}"
        finally:
            page.close()
            browser.close()
