"""The course website: a static site of every notebook, built from a course run.

    python -m course_utils.course.site [--run course-run] [--out <run>/site] [--quick] [--rerun]

One command: when the run folder holds no course run yet (``summary.json``), the headless course
run (:mod:`course_utils.course.headless`, full mode, or quick mode with ``--quick``) executes the
notebooks first; otherwise the site is built from the executed notebooks already there, so nothing
is executed twice. ``make site`` (``make site QUICK=1``) does the same.

The site (Sphinx + myst-nb + sphinx-book-theme; configuration in ``website/conf.py``) has a landing
page with the notebook list, each notebook's status and the key numbers it reported; every notebook
with its outputs and figures; navigation (side bar, previous / next); search; rendered math; the
worked answers still collapsed; and Binder and Colab launch links on every page. It needs no network
to build or to view: MathJax comes from the ``sphinx-mathjax-offline`` package, and no widget
JavaScript is loaded -- each live explorer is shown by its static stand-in
(:mod:`course_utils.widgets.static`), a widget without one by a note to run the notebook.
:func:`external_resources` lists anything a page would fetch from elsewhere; the build fails on it.

What the builder changes in its copy of each executed notebook (:func:`prepare_notebook`):
widget state and widget views removed (stand-ins kept; progress bars drawn as they ended, from the
saved widget state), the Colab set-up cell hidden, ``# NBVAL_``
markers dropped, remote images (README-style badges) turned into plain links, and blank lines put
around ``<details>`` tags so the Markdown and math inside a worked answer are rendered.
"""
from __future__ import annotations

import argparse
import copy
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from course_utils.core.plots import read_audit
from course_utils.core.storage import write_json
from course_utils.course import links
from course_utils.course.colab import FIRST_CELL_MARK

ROOT = Path(__file__).resolve().parents[2]  # the repository (course_utils/course/ -> root)
CONF_DIR = ROOT / "website"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LIVE_ONLY_NOTE = ('<p class="course-live-only">An interactive widget is here: run the notebook '
                  '(Binder or Colab, buttons at the top of the page) to use it.</p>')
_NBVAL_LINE = re.compile(r"^[ \t]*# NBVAL_[A-Z_]+[ \t]*\n?", re.MULTILINE)
_REMOTE_IMAGE_LINK = re.compile(r"\[!\[([^\]]*)\]\((https?://[^)\s]+)\)\]\(([^)\s]+)\)")
_REMOTE_IMAGE = re.compile(r"!\[([^\]]*)\]\((https?://[^)\s]+)\)")
_DETAILS_OPEN = re.compile(r"[ \t]*(<details\b[^>]*>\s*(?:<summary\b.*?</summary>)?)[ \t]*", re.DOTALL | re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"[ \t]*(</details>)[ \t]*", re.IGNORECASE)


class SiteError(RuntimeError):
    """The site cannot be built (no course run, Sphinx failed, a page would load something remote)."""


# --------------------------------------------------------------------------- one notebook

def _details_on_own_lines(source: str) -> str:
    """Blank lines around ``<details><summary>..</summary>`` and ``</details>`` so Markdown parses what is inside.

    (In Markdown an HTML block runs to the next blank line: without them the first paragraph of a
    worked answer would be raw HTML -- its math and emphasis shown as typed.)
    """
    text = _DETAILS_OPEN.sub(lambda m: "\n\n" + m.group(1) + "\n\n", source)
    text = _DETAILS_CLOSE.sub(lambda m: "\n\n" + m.group(1) + "\n\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def _plain_links(source: str) -> str:
    """Remote images (badges) become text links: a page of the site fetches nothing from elsewhere."""
    text = _REMOTE_IMAGE_LINK.sub(lambda m: f"[{m.group(1) or 'link'}]({m.group(3)})", source)
    return _REMOTE_IMAGE.sub(lambda m: f"[{m.group(1) or 'image'}]({m.group(2)})", text)


def _progress_html(state: dict, model_id: str) -> str | None:
    """A finished progress bar (tqdm's HBox of text, bar, text) as static HTML, from the saved widget state."""
    model = state.get(model_id)
    if not model or model.get("model_name") != "HBoxModel":
        return None
    children = [state.get(str(c).removeprefix("IPY_MODEL_"), {}) for c in model["state"].get("children", [])]
    bars = [c for c in children if c.get("model_name") in ("FloatProgressModel", "IntProgressModel")]
    if len(bars) != 1:
        return None
    texts = [html.unescape(c["state"].get("value", "")) for c in children if c.get("model_name") == "HTMLModel"]
    bar = bars[0]["state"]
    return (f'<div class="course-progress"><progress value="{bar.get("value", 0)}" max="{bar.get("max", 1)}">'
            f'</progress> <code>{html.escape(" ".join(t.strip() for t in texts if t.strip()))}</code></div>')


def _output_for_site(out, state: dict):
    """The output as the site shows it: a widget view without its manager becomes its stand-in, a static
    progress bar (from the widget state the run saved), or a note to run the notebook."""
    data = out.get("data", {})
    if WIDGET_VIEW not in data:
        return out
    out = copy.deepcopy(out)
    view = out["data"].pop(WIDGET_VIEW)
    if "text/html" not in out["data"]:
        progress = _progress_html(state, view.get("model_id", ""))
        out["data"] = ({"text/html": progress, "text/plain": "(progress bar)"} if progress else
                       {"text/html": LIVE_ONLY_NOTE, "text/plain": "(interactive widget: run the notebook)"})
    return out


def prepare_notebook(nb):
    """A copy of an executed notebook, ready for the site (see the module docstring); returns (nb, counts)."""
    nb = copy.deepcopy(nb)
    state = nb.metadata.pop("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    counts = {"stand_ins": 0, "progress": 0, "live_only": 0, "hidden": 0}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _details_on_own_lines(_plain_links(cell.source))
        elif cell.cell_type == "code":
            if cell.source.lstrip().startswith(FIRST_CELL_MARK):
                tags = cell.metadata.setdefault("tags", [])
                if "remove-cell" not in tags:
                    tags.append("remove-cell")
                counts["hidden"] += 1
            cell.source = _NBVAL_LINE.sub("", cell.source)
            outputs = []
            for out in cell.get("outputs", []):
                new = _output_for_site(out, state)
                if new is not out:
                    shown = new["data"]["text/html"]
                    kind = ("live_only" if shown == LIVE_ONLY_NOTE else
                            "progress" if shown.startswith('<div class="course-progress">') else "stand_ins")
                    counts[kind] += 1
                outputs.append(new)
            cell.outputs = outputs
    return nb, counts


def notebook_title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.MULTILINE)
            if m:
                return m.group(1).strip()
    return fallback


# --------------------------------------------------------------------------- the landing page

def _number(n: dict) -> str:
    v = n["value"]
    shown = (f"{v:.0f}" if v.is_integer() and abs(v) < 1e6 else f"{v:.2f}") if isinstance(v, float) else str(v)
    return f"{n['name']}: {shown} {n.get('unit', '')}".strip()


def landing_page(rows: list[dict], mode: str, titles: dict[str, str], built: str) -> str:
    """The MyST source of the landing page: what the course is, the notebooks with their key numbers."""
    ok = sum(r["ok"] for r in rows)
    lines = [
        "# Deep generative models: an interactive course",
        "",
        "From latent variable models to the variational autoencoder (VAE) and the generative adversarial "
        "network (GAN), following the questions of a classic university assignment. Every page is a notebook "
        "of the course with the outputs of one run; run it yourself to drag the sliders live and train the "
        "models: launch it on "
        f"[Binder]({links.binder_url()}) or in Colab (the links in each row below and at the top of every "
        f"notebook page), or clone [the repository]({links.github_url()}).",
        "",
        f"This copy was built on {built} from a **{mode}-mode** course run: {ok} of {len(rows)} notebooks "
        "ran without error"
        + (" (quick mode trains for a fraction of the time: its numbers are not the course's results)."
           if mode == "quick" else "."),
        "",
        "| notebook | status | run time | key numbers | launch |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        stem = Path(r["notebook"]).stem
        title = titles.get(stem, stem).replace("|", "\\|")
        status = "ok" if r["ok"] else "failed: " + html.escape(str(r.get("error") or "")).replace("|", "\\|")
        numbers = "<br>".join(html.escape(_number(n)).replace("|", "\\|") for n in r.get("numbers", [])) or "–"
        launch = f"[Colab]({links.colab_url(stem)}) · [Binder]({links.binder_url(stem)})"
        lines.append(f"| [{title}](notebooks/{stem}.ipynb) | {status} | {r['seconds']:.0f} s | {numbers} | {launch} |")
    lines += ["", "```{toctree}", ":hidden:", ":maxdepth: 1", ""]
    lines += [f"notebooks/{Path(r['notebook']).stem}" for r in rows]
    lines += ["```", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- checks on the built pages

class _Resources(HTMLParser):
    """Collects what a page would fetch: script, stylesheet, image, media and frame sources."""

    FETCHED = {("script", "src"), ("link", "href"), ("img", "src"), ("source", "src"), ("iframe", "src"),
               ("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data")}

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and not set((attrs.get("rel") or "").split()) & {"stylesheet", "preload", "icon",
                                                                          "modulepreload"}:
            return  # <link rel="canonical|next|prev|search"> fetches nothing
        for t, attr in self.FETCHED:
            if tag == t and attrs.get(attr):
                self.urls.append(attrs[attr])


def external_resources(html_dir: str | Path) -> dict[str, list[str]]:
    """Per page, the resources it would load from another host (empty when the site is self-contained).

    Checks the HTML's script, stylesheet and image sources and ``url(...)`` / ``@import`` in the CSS.
    """
    html_dir = Path(html_dir)
    found: dict[str, list[str]] = {}
    remote = re.compile(r"^(https?:)?//", re.IGNORECASE)
    for page in sorted(html_dir.rglob("*.html")):
        parser = _Resources()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        urls = [u for u in parser.urls if remote.match(u.strip())]
        if urls:
            found[str(page.relative_to(html_dir))] = sorted(set(urls))
    for css in sorted(html_dir.rglob("*.css")):
        text = css.read_text(encoding="utf-8", errors="replace")
        urls = re.findall(r"""(?:url\(\s*['"]?|@import\s+['"])((?:https?:)?//[^'")\s]+)""", text)
        if urls:
            found[str(css.relative_to(html_dir))] = sorted(set(urls))
    return found


# --------------------------------------------------------------------------- building

def _load_run(run: Path) -> dict:
    summary = run / "summary.json"
    if not summary.is_file():
        raise SiteError(f"{run} holds no course run (no summary.json): run `python -m course_utils.course.site` "
                        "without --no-run, or `make course-run` first")
    data = json.loads(summary.read_text())
    missing = [r["notebook"] for r in data["notebooks"]
               if not (run / r.get("ipynb", Path(r["notebook"]).stem + ".ipynb")).is_file()]
    if missing:
        raise SiteError(f"the course run in {run} did not keep the executed notebooks ({', '.join(missing)}): "
                        "it was made by an older course run; run it again (--rerun)")
    return data


def stage(run: Path, source: Path) -> dict:
    """Write the Sphinx source of the site (landing page + prepared notebooks) into ``source``; return a summary."""
    data = _load_run(run)
    rows = data["notebooks"]
    (source / "notebooks").mkdir(parents=True, exist_ok=True)
    titles, counts = {}, {}
    for r in rows:
        stem = Path(r["notebook"]).stem
        nb = nbformat.read(run / r.get("ipynb", f"{stem}.ipynb"), as_version=4)
        prepared, counts[stem] = prepare_notebook(nb)
        titles[stem] = notebook_title(prepared, stem)
        nbformat.write(prepared, source / "notebooks" / f"{stem}.ipynb")
    (source / "index.md").write_text(landing_page(rows, data.get("mode", "full"), titles, date.today().isoformat()),
                                     encoding="utf-8")
    return {"mode": data.get("mode", "full"), "notebooks": [Path(r["notebook"]).stem for r in rows],
            "counts": counts}


def figure_audit(run: Path) -> dict[str, list[dict]]:
    """Per notebook, the audited figures that broke a rule of the course style (from ``<stem>.figures.jsonl``)."""
    out = {}
    for path in sorted(run.glob("*.figures.jsonl")):
        bad = [e for e in read_audit(path) if e["problems"]]
        if bad:
            out[path.name.removesuffix(".figures.jsonl")] = bad
    return out


def build(run: str | Path, out: str | Path | None = None, quiet: bool = True) -> Path:
    """Build the site of the course run in ``run`` into ``out`` (default ``<run>/site``); return ``out``."""
    run = Path(run).resolve()
    out = Path(out).resolve() if out is not None else run / "site"
    with tempfile.TemporaryDirectory(prefix="course-site-") as tmp:
        source = Path(tmp) / "source"
        info = stage(run, source)
        doctrees = Path(tmp) / "doctrees"
        staging_out = Path(tmp) / "html"
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(CONF_DIR), "-d", str(doctrees),
               "--keep-going", "-w", str(Path(tmp) / "warnings.txt")] + (["-q"] if quiet else []) + [
               str(source), str(staging_out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        warnings = (Path(tmp) / "warnings.txt").read_text() if (Path(tmp) / "warnings.txt").is_file() else ""
        if proc.returncode != 0:
            raise SiteError(f"sphinx-build failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}\n{warnings[-4000:]}")
        remote = external_resources(staging_out)
        if remote:
            raise SiteError("pages would load resources from other hosts (the site must work offline):\n"
                            + "\n".join(f"  {page}: {', '.join(urls)}" for page, urls in remote.items()))
        write_json(staging_out / "build.json", {**info, "sphinx_warnings": warnings.splitlines()})
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging_out, out)  # the finished site replaces the old one only once complete
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m course_utils.course.site", description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=Path("course-run"),
                    help="the course run to build from (default course-run; run first when it holds none)")
    ap.add_argument("--out", type=Path, default=None, help="where the site goes (default <run>/site)")
    ap.add_argument("--quick", action="store_true", help="when the course is run first: quick mode")
    ap.add_argument("--rerun", action="store_true", help="run the course again even when --run holds a run")
    ap.add_argument("--no-run", action="store_true", help="never run the course; fail when --run holds none")
    args = ap.parse_args(argv)
    run = args.run.resolve()
    status = 0
    if args.rerun or (not (run / "summary.json").is_file() and not args.no_run):
        from course_utils.course import headless

        print(f"running the course ({'quick' if args.quick else 'full'} mode) into {run} ...", flush=True)
        status = headless.main((["--quick"] if args.quick else []) + ["--out", str(run)])
    else:
        mode = json.loads((run / "summary.json").read_text()).get("mode", "?") if (run / "summary.json").is_file() \
            else None
        if mode:
            print(f"building from the {mode}-mode course run in {run} (--rerun to run the course again)")
    try:
        out = build(run, args.out)
    except SiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bad = figure_audit(run)
    for stem, entries in bad.items():
        print(f"figure style: {stem}: " + "; ".join(f"{e['figure']}: {', '.join(e['problems'])}" for e in entries))
    print(f"site: {out / 'index.html'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
