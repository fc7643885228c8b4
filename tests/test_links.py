"""One place holds the repository: the launch links and README badges are built from it and cannot drift."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.course import links

ROOT = Path(__file__).resolve().parent.parent


def test_urls_are_built_from_the_repository_and_branch():
    r, b = links.REPOSITORY, links.BRANCH
    assert links.colab_url("05_vae") == f"https://colab.research.google.com/github/{r}/blob/{b}/notebooks/05_vae.ipynb"
    assert links.binder_url("notebooks/05_vae.py") == (f"https://mybinder.org/v2/gh/{r}/{b}"
                                                       "?urlpath=lab/tree/notebooks/05_vae.ipynb")
    assert links.binder_url().endswith("notebooks/01_latent_variable_models.ipynb")
    assert links.site_url("05_vae.ipynb") == links.SITE_URL + "notebooks/05_vae.html"
    assert links.clone_url() == f"https://github.com/{r}.git"
    with pytest.raises(ValueError, match="not a course notebook name"):
        links.colab_url("vae")


def test_readme_launch_links_are_current():
    readme = (ROOT / "README.md").read_text()
    assert links.render_readme(readme) == readme, "run `python -m course_utils.course.links readme`"
    for nb in links.notebook_names():
        assert links.colab_badge(nb) in readme and links.binder_badge(nb) in readme


def test_a_drifted_badge_is_rewritten_and_the_check_fails(tmp_path, capsys):
    readme = (ROOT / "README.md").read_text()
    drifted = readme.replace(links.colab_url("03_kl_divergence"),
                             "https://colab.research.google.com/github/someone/else/blob/main/notebooks/"
                             "03_kl_divergence.ipynb")
    assert drifted != readme
    assert links.render_readme(drifted) == readme
    path = tmp_path / "README.md"
    path.write_text(drifted)
    assert links.main(["readme", "--check", "--path", str(path)]) == 1
    assert "someone/else" in capsys.readouterr().err
    assert links.main(["readme", "--path", str(path)]) == 0
    assert path.read_text() == readme
    proc = subprocess.run([sys.executable, "-m", "course_utils.course.links", "readme", "--check", "--path",
                           str(path)], capture_output=True, text=True)  # the command line CI would call
    assert proc.returncode == 0, proc.stderr


def test_missing_markers_or_rows_are_named():
    readme = (ROOT / "README.md").read_text()
    with pytest.raises(ValueError, match="launch-badges"):
        links.render_readme(readme.replace(links.BADGE_START, ""))
    row = next(line for line in readme.splitlines() if "(notebooks/04_elbo_reparameterization.ipynb)" in line)
    with pytest.raises(ValueError, match="no row for 04_elbo_reparameterization.ipynb"):
        links.render_readme(readme.replace(row + "\n", ""))


def test_notebook_header_names_colab_binder_and_the_website():
    line = links.notebook_header("07_gan")
    assert links.colab_url("07_gan") in line and links.binder_url("07_gan") in line
    assert links.site_url("07_gan") in line
