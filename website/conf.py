"""Sphinx configuration of the course website.

Not run by hand: ``python -m course_utils.course.site`` (``make site``) stages the executed notebooks
of a course run next to a generated landing page and calls ``sphinx-build -c site/``. Everything the
pages load is local: MathJax 3 from the ``sphinx-mathjax-offline`` package, the theme's own assets,
and no ipywidgets manager at all (the explorers' static stand-ins are plain HTML and JavaScript).
"""
from __future__ import annotations

from course_utils.course import links

project = "Deep generative models: an interactive course"
author = ""  # no "By ..." line in the footer

extensions = [
    "myst_nb",  # notebooks (already executed by the course run) and the MyST landing page
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax's files copied into _static/mathjax: no CDN
]

# The notebooks come executed from the course run; never execute them again here.
nb_execution_mode = "off"
# myst-nb would load require.js and the widget manager from a CDN for notebooks with widget state.
# The site carries no widget state (the builder strips it) and loads no widget JavaScript.
nb_ipywidgets_js = {}
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "html_image"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # notebooks start sections at "##" under their "#" title

exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_theme = "sphinx_book_theme"
html_title = "Deep generative models"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_show_copyright = False
html_show_sphinx = False
html_theme_options = {
    "repository_url": links.github_url(),
    "repository_branch": links.BRANCH,
    "path_to_docs": "",  # pages are notebooks/NN_name, as in the repository: the launch links line up
    "use_repository_button": True,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "launch_buttons": {
        "binderhub_url": "https://mybinder.org",
        "colab_url": "https://colab.research.google.com",
        "notebook_interface": "jupyterlab",
    },
}
