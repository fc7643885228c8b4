"""The course website: preparing notebooks, building the site from a course run, and the site in a browser.

Three levels: the builder's transformations (no Sphinx); a site built from a small course run of
two generated notebooks (math, a collapsed worked answer, a figure, a live explorer with its
static stand-in, a plain widget); and that site in Debian's Chromium (Playwright), which follows
the navigation, searches, opens a worked answer, checks math and figures rendered and moves a
static slider with the keyboard. The site of the real notebooks is tested in
tests/test_site_course.py. Screenshots land in ``artifacts/site/`` (or ``$SITE_ARTIFACTS``).
"""
from __future__ import annotations

import functools
import http.server
import io
import json
import os
import re
import shutil
import threading
from pathlib import Path

import nbformat
import pytest
from conftest import require_module
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_utils.course import links, site
from course_utils.course.colab import first_cell

ROOT = Path(__file__).resolve().parent.parent


def require(module: str, why: str) -> None:
    """Fail (not skip) when a test requirement is missing: CI must never pass by skipping."""
    try:
        __import__(module)
    except ImportError:
        pytest.fail(f"{module} is missing ({why}): python -m pip install -r requirements-test.txt", pytrace=False)
ARTIFACTS = Path(os.environ.get("SITE_ARTIFACTS", ROOT / "artifacts" / "site"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


# --------------------------------------------------------------------------- the builder's transformations

PROGRESS_STATE = {  # what tqdm.auto leaves in an executed notebook's widget state (trimmed)
    "bar": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_left", "IPY_MODEL_p", "IPY_MODEL_right"]}},
    "left": {"model_name": "HTMLModel", "state": {"value": "train: 100%"}},
    "p": {"model_name": "FloatProgressModel", "state": {"value": 3.0, "max": 3.0, "bar_style": "success"}},
    "right": {"model_name": "HTMLModel", "state": {"value": " 3/3 [00:00&lt;00:00, 235 step/s]"}},
}


def test_prepare_notebook_for_the_site():
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    nb = new_notebook(cells=[
        new_markdown_cell(f"# Title\n\n{links.notebook_header('01_demo')}"),
        new_code_cell(first_cell()),
        new_markdown_cell("Q?\n<details><summary>Worked answer</summary>\nIt is $x^2$.\n</details>\nAfter."),
        new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)", outputs=[new_output("stream", name="stdout", text="1\n")]),
        new_code_cell("explorer", outputs=[new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": view, "text/plain": "VBox()",
            "text/html": '<div class="course-static-widget">frames</div>'})]),
        new_code_cell("slider", outputs=[new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": view, "text/plain": "IntSlider()"})]),
        new_code_cell("for i in tqdm(range(3)): pass", outputs=[new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": {**view, "model_id": "bar"},
            "text/plain": "train:   0%|          | 0/3"})]),
    ], metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {"state": PROGRESS_STATE}}})
    before = json.dumps(nb, sort_keys=True)
    out, counts = site.prepare_notebook(nb)
    assert json.dumps(nb, sort_keys=True) == before  # the run's notebook is left as it was
    assert "widgets" not in out.metadata
    assert counts == {"stand_ins": 1, "progress": 1, "live_only": 1, "hidden": 1}
    header = out.cells[0].source
    assert "![" not in header and f"[Open in Colab]({links.colab_url('01_demo')})" in header
    assert "remove-cell" in out.cells[1].metadata["tags"]
    assert out.cells[2].source == ("Q?\n\n<details><summary>Worked answer</summary>\n\nIt is $x^2$.\n\n"
                                   "</details>\n\nAfter.")
    assert out.cells[3].source == "print(1)" and out.cells[3].outputs[0]["text"] == "1\n"
    assert out.cells[4].outputs[0]["data"] == {"text/plain": "VBox()",
                                               "text/html": '<div class="course-static-widget">frames</div>'}
    assert out.cells[5].outputs[0]["data"]["text/html"] == site.LIVE_ONLY_NOTE
    # a progress bar is drawn as it ended (tqdm's own text/plain is its first state, 0/3)
    assert out.cells[6].outputs[0]["data"]["text/html"] == (
        '<div class="course-progress"><progress value="3.0" max="3.0"></progress> '
        "<code>train: 100% 3/3 [00:00&lt;00:00, 235 step/s]</code></div>")


def test_external_resources_finds_what_a_page_would_fetch(tmp_path):
    (tmp_path / "a.html").write_text(
        '<script src="_static/x.js"></script><script src="https://cdn.example.org/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.org/a.css"><link rel="canonical" href="https://x.org/">'
        '<img src="data:image/png;base64,AAAA"><a href="https://mybinder.org/v2/gh/x">launch</a>')
    (tmp_path / "s.css").write_text("@import 'https://x.org/y.css'; a { background: url(img/local.png) }")
    assert site.external_resources(tmp_path) == {"a.html": ["//fonts.example.org/a.css",
                                                            "https://cdn.example.org/x.js"],
                                                 "s.css": ["https://x.org/y.css"]}


def test_landing_page_lists_notebooks_numbers_and_launch_links():
    rows = [{"notebook": "01_demo.ipynb", "ok": True, "error": None, "seconds": 3.2,
             "numbers": [{"name": "test ELBO", "value": -101.5, "unit": "nats"}]},
            {"notebook": "02_demo.ipynb", "ok": False, "error": "ValueError: boom | bang", "seconds": 1.0,
             "numbers": []}]
    page = site.landing_page(rows, "quick", {"01_demo": "Demo one"}, "2026-01-01")
    assert "[Demo one](notebooks/01_demo.ipynb)" in page and "test ELBO: -101.50 nats" in page
    assert f"[Colab]({links.colab_url('02_demo')})" in page and f"[Binder]({links.binder_url('02_demo')})" in page
    assert "failed: ValueError: boom \\| bang" in page  # a | inside a cell does not break the table
    assert "quick-mode" in page and "not the course's results" in page
    assert page.index("notebooks/01_demo") < page.index("notebooks/02_demo")  # course order in the toctree


def test_building_without_a_course_run_says_what_to_do(tmp_path):
    with pytest.raises(site.SiteError, match="no summary.json"):
        site.build(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({"mode": "quick", "notebooks": [
        {"notebook": "01_x.ipynb", "ok": True, "seconds": 1, "numbers": []}]}))
    with pytest.raises(site.SiteError, match="did not keep the executed notebooks"):
        site.build(tmp_path)


# --------------------------------------------------------------------------- a site of two generated notebooks

MATH = "The model $p(x) = \\int p(x \\mid z)\\, p(z)\\, dz$ and\n\n$$\n\\mathrm{KL}(q \\,\\|\\, p)\n  \\ge 0.$$"


def demo_notebook(title: str, word: str):
    return new_notebook(cells=[
        new_markdown_cell(f"# {title}\n\n{links.notebook_header('01_demo')}\n\n{MATH}"),
        new_code_cell(first_cell()),
        new_markdown_cell(f"## The {word} question\n\nWhat is $\\log 4$?\n\n<details><summary><b>Worked answer"
                          "</b></summary>\nIt is $2 \\log 2 \\approx 1.386$, **by** the rules of logs.\n</details>"),
        new_code_cell("# NBVAL_CHECK_OUTPUT\nimport matplotlib.pyplot as plt\nimport course_utils.core\n"
                      "fig, ax = plt.subplots()\nax.plot([0, 1], [0, 1])\n"
                      "ax.set(title='a line', xlabel='x [nats]', ylabel='y [nats]')\nplt.show()"),
        new_code_cell("from course_utils.widgets import KLExplorer\nKLExplorer()"),
        new_code_cell("import ipywidgets\nipywidgets.IntSlider(description='plain')"),
        new_code_cell(f"from course_utils.course.report import record\nrecord('{word} number', 1.25, 'nats')"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    """A course run of two generated notebooks (headless, quick mode) and the site built from it."""
    require("sphinx", "the website is built with Sphinx")
    from course_utils.course import headless

    work = tmp_path_factory.mktemp("demo-course")
    nbformat.write(demo_notebook("Demo one", "first"), work / "01_demo.ipynb")
    nbformat.write(demo_notebook("Demo two", "zebra"), work / "02_demo.ipynb")
    run = work / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        assert headless.main([str(work / "01_demo.ipynb"), str(work / "02_demo.ipynb"), "--quick",
                              "--out", str(run)]) == 0
    return run, site.build(run)


def test_the_course_run_keeps_executed_notebooks_with_stand_ins(demo_site):
    run, _ = demo_site
    nb = nbformat.read(run / "01_demo.ipynb", as_version=4)
    (explorer_out,) = nb.cells[4].outputs
    assert set(explorer_out["data"]) >= {"application/vnd.jupyter.widget-view+json", "text/html"}
    assert "course-static-widget" in explorer_out["data"]["text/html"]
    assert json.loads((run / "summary.json").read_text())["notebooks"][0]["ipynb"] == "01_demo.ipynb"
    assert all(not e["problems"] for e in site.read_audit(run / "01_demo.figures.jsonl"))


def test_the_site_has_every_page_and_loads_nothing_remote(demo_site):
    _, html_dir = demo_site
    for page in ("index.html", "search.html", "notebooks/01_demo.html", "notebooks/02_demo.html",
                 "_static/mathjax/tex-chtml.js", "searchindex.js"):
        assert (html_dir / page).is_file(), page
    assert site.external_resources(html_dir) == {}
    build = json.loads((html_dir / "build.json").read_text())
    assert build["counts"]["01_demo"] == {"stand_ins": 1, "progress": 0, "live_only": 1, "hidden": 1}
    index = (html_dir / "index.html").read_text()
    assert "first number: 1.25 nats" in index and "zebra number: 1.25 nats" in index


def test_every_notebook_page_links_binder_and_colab(demo_site):
    _, html_dir = demo_site
    for stem in ("01_demo", "02_demo"):
        page = (html_dir / "notebooks" / f"{stem}.html").read_text()
        assert links.binder_url(stem).replace("&", "&amp;") in page or links.binder_url(stem) in page
        assert links.colab_url(stem) in page
        assert "course-static-widget" in page and "notranslate nohighlight" in page  # stand-in, math
        assert "require.js" not in page and "embed-amd" not in page  # no widget manager from a CDN
        assert not re.search(r"NBVAL_", page)


# --------------------------------------------------------------------------- the site in a browser

@pytest.fixture(scope="module")
def serve():
    """Serve folders over HTTP on 127.0.0.1 (what a student's browser or GitHub Pages would do)."""
    servers = []

    def start(folder: Path) -> str:
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()


@pytest.fixture(scope="module")
def browser():
    api = require_module("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install chromium (see .ci/run)", pytrace=False)
    with api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


def offline_page(browser, base: str):
    """A page whose requests to any other host are refused and recorded (the site must not need them)."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.remote_requests = []

    def route(r):
        url = r.request.url
        if url.startswith(base) or url.startswith("data:"):
            r.continue_()
        else:
            page.remote_requests.append(url)
            r.abort()

    page.route("**/*", route)
    return page


def wait_for_math(page, minimum: int = 1):
    page.wait_for_function(f"() => document.querySelectorAll('mjx-container').length >= {minimum}", timeout=30_000)
    assert page.locator("mjx-container mjx-merror").count() == 0, "MathJax reported a TeX error"
    unrendered = page.evaluate(r"""() => [...document.querySelectorAll('article p, article li, article td')]
        .filter(e => !e.closest('.cell_input, pre, code, .cell_output'))
        .map(e => e.innerText).filter(t => /\$|\\(frac|mathrm|log|sum|int)\b/.test(t))""")
    assert not unrendered, f"math left as typed: {unrendered[:3]}"


def assert_figures_loaded(page):
    sizes = page.evaluate("() => [...document.querySelectorAll('.cell_output img')]"
                          ".map(i => [i.complete, i.naturalWidth])")
    assert sizes, "the page shows no figures"
    assert all(ok and width > 0 for ok, width in sizes), sizes


@pytest.mark.browser
def test_demo_site_in_a_browser(demo_site, serve, browser):
    _, html_dir = demo_site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = serve(html_dir)
    page = offline_page(browser, base)
    try:
        page.goto(f"{base}/index.html")
        page.screenshot(path=str(ARTIFACTS / "demo-landing.png"), full_page=True)
        page.locator("article a", has_text="Demo one").first.click()
        page.wait_for_url("**/notebooks/01_demo.html")
        wait_for_math(page, 3)
        assert_figures_loaded(page)

        # the worked answer is collapsed, its content hidden; opened, its math is rendered
        details = page.locator("article details").first
        assert details.get_attribute("open") is None
        answer = details.locator("p", has_text="rules of logs")
        assert not answer.is_visible()
        details.locator("summary").click()
        assert answer.is_visible() and answer.locator("mjx-container").count() == 1
        assert answer.locator("strong").count() == 1  # its Markdown is rendered too

        # the static stand-in: the keyboard moves the slider and the image changes
        slider = page.locator(".course-static-slider").first
        image = page.locator(".course-static-image").first
        assert slider.is_visible(), "the stand-in's controls stay hidden: its script did not run"
        before, label = image.get_attribute("src"), page.locator(".course-static-widget output").first.inner_text()
        slider.focus()
        page.keyboard.press("ArrowRight")
        assert image.get_attribute("src") != before
        assert page.locator(".course-static-widget output").first.inner_text() != label
        assert page.evaluate("() => [...document.querySelectorAll('.course-static-image')]"
                             ".every(i => i.naturalWidth > 0)")
        page.screenshot(path=str(ARTIFACTS / "demo-notebook-slider-moved.png"), full_page=True)

        # launch links on the page, then on to the next notebook
        hrefs = page.evaluate("() => [...document.querySelectorAll('a')].map(a => a.href)")
        assert links.colab_url("01_demo") in hrefs and links.binder_url("01_demo") in hrefs
        page.locator("a.right-next").click()
        page.wait_for_url("**/notebooks/02_demo.html")
        wait_for_math(page, 3)
        assert_figures_loaded(page)
        assert page.locator("h1").first.inner_text().startswith("Demo two")

        # search finds a word that only the second notebook has
        page.goto(f"{base}/search.html?q=zebra")
        page.wait_for_function("() => document.querySelectorAll('#search-results li').length > 0", timeout=30_000)
        found = page.evaluate("() => [...document.querySelectorAll('#search-results li a')].map(a => a.href)")
        assert any("02_demo" in h for h in found) and not any("01_demo" in h for h in found), found
        page.screenshot(path=str(ARTIFACTS / "demo-search.png"), full_page=True)
        assert page.remote_requests == [], f"the site tried to fetch: {page.remote_requests}"
    finally:
        page.close()


@pytest.mark.browser
def test_static_slider_without_javascript_shows_the_first_frame(demo_site, serve, browser):
    _, html_dir = demo_site
    base = serve(html_dir)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{base}/notebooks/01_demo.html")
        image = page.locator(".course-static-image").first
        assert image.is_visible() and page.evaluate(
            "() => document.querySelector('.course-static-image').naturalWidth") > 0
        assert not page.locator(".course-static-slider").first.is_visible()  # no dead controls
    finally:
        context.close()


@pytest.mark.browser
def test_demo_site_figures_stay_white_in_dark_mode(demo_site, serve, browser):
    from PIL import Image

    _, html_dir = demo_site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = serve(html_dir)
    page = offline_page(browser, base)
    try:
        page.goto(f"{base}/notebooks/01_demo.html")
        page.evaluate("() => localStorage.setItem('mode', 'dark')")  # the theme's own switch, remembered
        page.reload()
        page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "demo-dark-mode.png"), full_page=True)
        body = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        for selector in (".cell_output img", ".course-static-image"):
            shot = page.locator(selector).first.screenshot()
            pixel = Image.open(io.BytesIO(shot)).convert("RGB").getpixel((8, 8))
            assert min(pixel) >= 250, f"{selector}: corner {pixel} on a {body} page is not white"
        assert body != "rgb(255, 255, 255)", "the page did not switch to dark mode"
    finally:
        page.close()


# --------------------------------------------------------------------------- the build's error branches (no course run)

def tiny_run(folder: Path) -> Path:
    """A course run as the headless run leaves it, for one small (unexecuted) notebook: no kernel needed."""
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Tiny\n\nOne cell."),
                                       new_code_cell("print(1)", outputs=[new_output("stream", name="stdout",
                                                                                     text="1\n")])]),
                   folder / "01_tiny.ipynb")
    (folder / "summary.json").write_text(json.dumps({"mode": "quick", "notebooks": [
        {"notebook": "01_tiny.ipynb", "ipynb": "01_tiny.ipynb", "html": "01_tiny.html", "ok": True, "error": None,
         "seconds": 1.0, "numbers": []}]}))
    return folder


def old_site(out: Path) -> Path:
    out.mkdir(parents=True)
    (out / "index.html").write_text("the previous site")
    return out


def test_a_failing_sphinx_build_is_a_clear_error_and_keeps_the_old_site(tmp_path, monkeypatch, capsys):
    """Real Sphinx, given a configuration that cannot load: the error says sphinx-build failed and why,
    the previous site is left as it was, and the command exits with status 2."""
    require("sphinx", "the website is built with Sphinx")
    conf = tmp_path / "broken-conf"
    conf.mkdir()
    (conf / "conf.py").write_text('raise RuntimeError("broken configuration for the test")\n')
    monkeypatch.setattr(site, "CONF_DIR", conf)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # Sphinx leaves its crash log in the temporary folder
    run, out = tiny_run(tmp_path / "run"), old_site(tmp_path / "site")
    with pytest.raises(site.SiteError, match=r"sphinx-build failed \(exit [1-9]\d*\)") as info:
        site.build(run, out)
    assert "broken configuration for the test" in str(info.value)  # Sphinx's own reason is passed on
    assert [p.name for p in out.iterdir()] == ["index.html"] and (out / "index.html").read_text() == "the previous site"

    capsys.readouterr()
    assert site.main(["--run", str(run), "--out", str(out), "--no-run"]) == 2
    err = capsys.readouterr()
    assert err.err.startswith("error: sphinx-build failed (exit ") and "broken configuration for the test" in err.err
    assert "site:" not in err.out  # no claim that a site was written
    assert (out / "index.html").read_text() == "the previous site"


def fake_sphinx(pages: dict[str, str], returncode: int = 0, calls: list | None = None):
    """Stands in for the ``python -m sphinx`` subprocess: writes ``pages`` into its output folder."""
    import subprocess

    def run(cmd, **kwargs):
        source, html_dir = Path(cmd[-2]), Path(cmd[-1])
        assert cmd[1:3] == ["-m", "sphinx"] and (source / "index.md").is_file()
        assert (source / "notebooks" / "01_tiny.ipynb").is_file()  # the prepared notebook was staged
        if calls is not None:
            calls.append(cmd)
        for name, text in pages.items():
            (html_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (html_dir / name).write_text(text)
        return subprocess.CompletedProcess(cmd, returncode, stdout="", stderr="")

    return run


def test_a_page_that_would_load_a_remote_resource_fails_the_build(tmp_path, monkeypatch, capsys):
    pages = {"index.html": '<link rel="stylesheet" href="_static/theme.css"><a href="https://mybinder.org/x">Binder</a>',
             "notebooks/01_tiny.html": '<script src="https://cdn.example.org/embed-amd.js"></script>',
             "_static/theme.css": "a { background: url(img/local.png) }"}
    calls: list = []
    monkeypatch.setattr(site.subprocess, "run", fake_sphinx(pages, calls=calls))
    run, out = tiny_run(tmp_path / "run"), old_site(tmp_path / "site")
    with pytest.raises(site.SiteError, match="pages would load resources from other hosts") as info:
        site.build(run, out)
    assert "notebooks/01_tiny.html: https://cdn.example.org/embed-amd.js" in str(info.value)
    assert "index.html" not in str(info.value).replace("notebooks/01_tiny.html", "")  # a plain link fetches nothing
    assert len(calls) == 1 and (out / "index.html").read_text() == "the previous site"  # nothing replaced

    capsys.readouterr()
    assert site.main(["--run", str(run), "--out", str(out), "--no-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: pages would load resources from other hosts")
    assert "https://cdn.example.org/embed-amd.js" in err

    # a stylesheet that imports from another host is caught as well
    pages = {**pages, "notebooks/01_tiny.html": "<p>fine</p>",
             "_static/theme.css": "@import url(//fonts.example.org/f.css);"}
    monkeypatch.setattr(site.subprocess, "run", fake_sphinx(pages))
    with pytest.raises(site.SiteError, match=r"_static/theme.css: //fonts.example.org/f.css"):
        site.build(run, out)

    # the control: the same pages without remote resources replace the old site
    pages["_static/theme.css"] = "a { background: url(img/local.png) }"
    monkeypatch.setattr(site.subprocess, "run", fake_sphinx(pages))
    assert site.build(run, out) == out.resolve()
    assert (out / "notebooks" / "01_tiny.html").read_text() == "<p>fine</p>" and (out / "build.json").is_file()


def test_site_command_exit_status(tmp_path, monkeypatch, capsys):
    """2 when there is no course run to build from (--no-run); the course run's status (1: a notebook
    failed) when the course is run first and the site is built all the same."""
    assert site.main(["--run", str(tmp_path / "nothing"), "--no-run"]) == 2
    assert "no summary.json" in capsys.readouterr().err

    from course_utils.course import headless

    ran = []

    def failing_course_run(argv):  # one notebook failed: the run still leaves its summary and notebooks
        ran.append(argv)
        run = tiny_run(Path(argv[argv.index("--out") + 1]))
        summary = json.loads((run / "summary.json").read_text())
        summary["notebooks"][0].update(ok=False, error="ValueError: broken on purpose")
        (run / "summary.json").write_text(json.dumps(summary))
        return 1

    monkeypatch.setattr(headless, "main", failing_course_run)
    monkeypatch.setattr(site.subprocess, "run", fake_sphinx({"index.html": "<p>site</p>"}))
    run = tmp_path / "run"
    assert site.main(["--run", str(run), "--quick"]) == 1
    assert ran == [["--quick", "--out", str(run.resolve())]]
    out = capsys.readouterr().out
    assert "running the course (quick mode)" in out and f"site: {run.resolve() / 'site' / 'index.html'}" in out
