"""Google Colab: the set-up cell every notebook starts with, and what it calls once the course is installed.

On Colab a notebook arrives alone (Colab opens it from GitHub), without ``course_utils``, the
results files it quotes or the other notebooks. The notebook's first code cell, the text of
:func:`first_cell`, therefore holds just enough to get them -- it must run before ``course_utils``
exists -- and does nothing at all elsewhere (no output, no command):

1. ``git clone --depth=1`` of the repository into ``/content/deep-generative-models`` (once per
   session; a re-run reuses the clone). The clone brings the package *and* ``benchmarks/results``,
   which :mod:`course_utils.course.results` reads, so quoted numbers work as in JupyterLab;
2. ``pip install --editable`` of the clone. The package's dependencies are lower bounds only
   (``pyproject.toml``), so pip keeps Colab's own torch, numpy and matplotlib and adds only what
   is missing or too old (ipywidgets 8 on a runtime that ships 7);
3. :func:`setup_colab`: turns on Colab's custom widget manager (ipywidgets 8 sliders render only
   with it) and prints one line saying what was done.

The data set comes the way it comes on a laptop online: the course's default, Fashion-MNIST (the
data set of every reference number), is downloaded with torchvision into the per-user cache on
first use; MNIST is one switch away (``os.environ["COURSE_DATASET"] = "mnist"`` before loading).
Trained models are cached in the session's ``~/.cache/dgm-course`` (gone when the runtime is
recycled; point ``COURSE_CACHE_DIR`` at a mounted Google Drive folder to keep them).

What does not live here: the repository's name (:mod:`course_utils.course.links`).
"""
from __future__ import annotations

import sys

from course_utils.course import links

COLAB_DIR = f"/content/{links.NAME}"  # where the set-up cell clones the repository on Colab
FIRST_CELL_MARK = "# Google Colab only"  # how tests (and phase-2 tooling) recognise the set-up cell


def on_colab() -> bool:
    """True inside a Google Colab runtime (its kernel has imported ``google.colab``)."""
    return "google.colab" in sys.modules


def first_cell(course_dir: str = COLAB_DIR) -> str:
    """The source of every notebook's first code cell (kept current by ``tests/test_colab.py``)."""
    return f'''\
{FIRST_CELL_MARK} (elsewhere this cell does nothing): fetch the course, install it, enable its sliders.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    COURSE_DIR = "{course_dir}"
    if not os.path.isdir(COURSE_DIR):
        subprocess.run(["git", "clone", "--quiet", "--depth=1", "--branch={links.BRANCH}",
                        "{links.clone_url()}", COURSE_DIR], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--editable", COURSE_DIR], check=True)
    sys.path.insert(0, COURSE_DIR)
    from course_utils.course.colab import setup_colab

    setup_colab(COURSE_DIR)'''


def _ipywidgets_major() -> int:
    import ipywidgets

    return int(str(ipywidgets.__version__).split(".")[0])


def setup_colab(course_dir: str = COLAB_DIR, echo=print) -> bool:
    """Finish the Colab set-up after the first cell installed the course; return False (silently) off Colab.

    Enables Colab's custom widget manager and prints one line. When the kernel had already
    imported an ipywidgets older than 8 before pip upgraded it, the sliders cannot work in
    this session: the line then says to restart the session and run the cell again.
    """
    if not on_colab():
        return False
    from google.colab import output  # type: ignore[import-not-found]

    output.enable_custom_widget_manager()
    if _ipywidgets_major() < 8:
        echo("Colab: the course is installed, but this session still runs ipywidgets "
             f"{sys.modules['ipywidgets'].__version__}: choose Runtime > Restart session, then run this cell again.")
        return True
    echo(f"Colab: course_utils installed from github.com/{links.REPOSITORY} (code and results files in "
         f"{course_dir}), Colab's widget manager enabled; the data set, Fashion-MNIST (the course's default), "
         "downloads on first use -- for MNIST run import os; os.environ['COURSE_DATASET'] = 'mnist' first.")
    return True


def notebook_problems(nb, name: str) -> list[str]:
    """What a course notebook lacks at its top: the launch line under its title and the set-up cell.

    Empty when the first markdown cell holds :func:`course_utils.course.links.notebook_header` and
    the first code cell is exactly :func:`first_cell` (what ``tests/test_colab.py`` asserts for every
    notebook once they carry them).
    """
    problems = []
    markdown = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    code = next((c for c in nb.cells if c.cell_type == "code"), None)
    if markdown is None or links.notebook_header(name) not in markdown.source:
        problems.append(f"{name}: the first markdown cell lacks the launch line "
                        f"(links.notebook_header({name!r}))")
    if code is None or code.source.strip() != first_cell().strip():
        problems.append(f"{name}: the first code cell is not the Colab set-up cell (colab.first_cell())")
    return problems
