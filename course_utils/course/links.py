"""Where the course lives online, in one place: the repository, its launch links and its website.

Everything that names the repository is built from :data:`REPOSITORY` and :data:`BRANCH`:
the Binder and Colab launch links and badges (README, the notebooks' first cells, every page
of the course website), the Colab set-up cell (:mod:`course_utils.course.colab`) and the
website's address. Forking the course means changing these two lines and running::

    python -m course_utils.course.links readme          # rewrite README.md's launch badges
    python -m course_utils.course.links readme --check  # exit 1 when README.md has drifted (CI)

What does not live here: building the website (:mod:`course_utils.course.site`) and setting
up a Colab session (:mod:`course_utils.course.colab`).
"""
from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

REPOSITORY = "dgm-course/deep-generative-models"  # GitHub owner/name
BRANCH = "main"  # the branch Binder and Colab open
OWNER, NAME = REPOSITORY.split("/")
SITE_URL = f"https://{OWNER}.github.io/{NAME}/"  # where GitHub Pages serves the built website

ROOT = Path(__file__).resolve().parents[2]  # the repository (course_utils/course/ -> root)
COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE_IMAGE = "https://mybinder.org/badge_logo.svg"

# README.md blocks this module writes (everything between a start and its end marker).
BADGE_START, BADGE_END = "<!-- launch-badges:start -->", "<!-- launch-badges:end -->"
TABLE_START, TABLE_END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"
_ROW_NOTEBOOK = re.compile(r"\(notebooks/([0-9]{2}_[A-Za-z0-9_]+)\.ipynb\)")


def _notebook(name: str) -> str:
    """``"05_vae"``, ``"05_vae.ipynb"`` or ``"notebooks/05_vae.py"`` -> ``"05_vae.ipynb"``."""
    stem = Path(name).stem
    if not re.fullmatch(r"[0-9]{2}_[A-Za-z0-9_]+", stem):
        raise ValueError(f"{name!r} is not a course notebook name (expected NN_name, e.g. 05_vae)")
    return f"{stem}.ipynb"


def github_url(path: str = "") -> str:
    """The repository on GitHub, or one file in it on :data:`BRANCH`."""
    return f"https://github.com/{REPOSITORY}" + (f"/blob/{BRANCH}/{path}" if path else "")


def clone_url() -> str:
    return f"https://github.com/{REPOSITORY}.git"


def binder_url(notebook: str | None = None) -> str:
    """Binder launch link: JupyterLab on the whole course, opened at ``notebook`` (default: the first)."""
    nb = _notebook(notebook) if notebook else _notebook("01_latent_variable_models")
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=lab/tree/notebooks/{nb}"


def colab_url(notebook: str) -> str:
    """Open ``notebook`` in Google Colab (Colab reads it from GitHub; its first cell installs the course)."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{_notebook(notebook)}"


def site_url(notebook: str | None = None) -> str:
    """The course website, or one notebook's page on it."""
    return SITE_URL + (f"notebooks/{Path(_notebook(notebook)).stem}.html" if notebook else "")


def colab_badge(notebook: str) -> str:
    return f"[![Open in Colab]({COLAB_BADGE_IMAGE})]({colab_url(notebook)})"


def binder_badge(notebook: str | None = None) -> str:
    return f"[![Launch on Binder]({BINDER_BADGE_IMAGE})]({binder_url(notebook)})"


def notebook_header(notebook: str) -> str:
    """The launch line of a notebook's first (title) cell: Colab and Binder badges and its website page.

    Each notebook carries it under its title (``tests/test_colab.py`` checks it is current). It is one
    Markdown paragraph written on three lines, each ending in its URL, so the ``.py`` pair's comment
    lines stay within the linter's line length (a line that ends in a URL is exempt).
    """
    return (f"{colab_badge(notebook)}\n{binder_badge(notebook)}\n"
            f"· [read it with all outputs on the course website]({site_url(notebook)})")


def notebook_names(folder: Path | None = None) -> list[str]:
    folder = folder or ROOT / "notebooks"
    return sorted(p.name for p in folder.glob("[0-9][0-9]_*.ipynb"))


def _replace_block(text: str, start: str, end: str, body: str, where: str) -> str:
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f"{where} has no block {start} ... {end}; put the two markers back around it")
    return text[: i + len(start)] + "\n" + body + "\n" + text[j:]


def _table(block: str, notebooks: list[str], where: str) -> str:
    """Rewrite the last column ("launch") of each notebook row of the README's table."""
    rows, seen = [], set()
    for line in block.strip("\n").splitlines():
        m = _ROW_NOTEBOOK.search(line)
        if m and line.startswith("|"):
            nb = m.group(1) + ".ipynb"
            cells = line.strip().strip("|").split(" | ")
            cells[-1] = f"{colab_badge(nb)} {binder_badge(nb)}"
            line = "| " + " | ".join(c.strip() for c in cells) + " |"
            seen.add(nb)
        rows.append(line)
    missing = sorted(set(notebooks) - seen)
    if missing:
        raise ValueError(f"{where}'s notebook table has no row for {', '.join(missing)}: add one "
                         "(| [`NN_name`](notebooks/NN_name.ipynb) | topic | questions | launch |)")
    return "\n".join(rows)


def render_readme(text: str, notebooks: list[str] | None = None, where: str = "README.md") -> str:
    """``text`` with its launch badge and the notebook table's launch column rebuilt from :data:`REPOSITORY`."""
    notebooks = notebook_names() if notebooks is None else notebooks
    text = _replace_block(text, BADGE_START, BADGE_END, f"{binder_badge()} · [course website]({SITE_URL})", where)
    i, j = text.find(TABLE_START), text.find(TABLE_END)
    if i < 0 or j < i:
        raise ValueError(f"{where} has no block {TABLE_START} ... {TABLE_END}; put the markers back around "
                         "the notebook table")
    body = _table(text[i + len(TABLE_START): j], notebooks, where)
    return _replace_block(text, TABLE_START, TABLE_END, body, where)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.course.links", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("readme", help="rebuild README.md's launch badges from REPOSITORY and BRANCH")
    r.add_argument("--check", action="store_true", help="only report (exit 1) when README.md is out of date")
    r.add_argument("--path", type=Path, default=ROOT / "README.md")
    sub.add_parser("show", help="print the repository, branch and website address")
    args = parser.parse_args(argv)
    if args.command == "show":
        print(f"repository {REPOSITORY} (branch {BRANCH})\nbinder     {binder_url()}\nwebsite    {SITE_URL}")
        return 0
    old = args.path.read_text()
    new = render_readme(old, where=str(args.path))
    if args.check:
        if new != old:
            diff = difflib.unified_diff(old.splitlines(), new.splitlines(), "README.md", "expected", lineterm="")
            print("\n".join(diff) + "\n\nREADME.md's launch links are out of date: run "
                  "`python -m course_utils.course.links readme`", file=sys.stderr)
            return 1
        print("README.md launch links are up to date")
        return 0
    if new != old:
        from course_utils.core.storage import atomic_write

        with atomic_write(args.path, "w") as fh:
            fh.write(new)
        print(f"rewrote the launch links of {args.path}")
    else:
        print(f"{args.path}: already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
