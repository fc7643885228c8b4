"""The course's own machinery: which runs it trains, the notebooks' tooling, the command lines.

What lives here:

- :mod:`~course_utils.course.runs`     the trained runs notebooks 05, 07, 08 and the benchmarks share, defined once
- :mod:`~course_utils.course.report`   key numbers a notebook reports to the instructor's summary
- :mod:`~course_utils.course.results`  the measured numbers notebooks quote, read from benchmarks/results
- :mod:`~course_utils.course.nbtools`  execute, clean and rebuild the notebooks from their .py pairs
- :mod:`~course_utils.course.outputs`  compare checked outputs with a new run, to the precision computed
- :mod:`~course_utils.course.student`  student versions of the notebooks (solutions removed)
- :mod:`~course_utils.course.headless` the headless course run (``make course-run``)
- :mod:`~course_utils.course.links`    the repository's name, its Binder/Colab links and README badges, in one place
- :mod:`~course_utils.course.colab`    the notebooks' Colab set-up cell and what it calls
- :mod:`~course_utils.course.site`     the course website, built from a course run (``make site``)
- :mod:`~course_utils.course.grading`  nbgrader: metadata from the exercise markers, a release without answers
- :mod:`~course_utils.course.cli`      ``python -m course_utils data|vae|gan``: training *and* evaluation

This is the top layer: it may import every other room, and no other room imports it.
"""
from __future__ import annotations

from course_utils.course.report import record
from course_utils.course.runs import (
    EVAL_SEED,
    classifier_config,
    gan_config,
    intro_data,
    intro_vae_config,
    n_eval,
    usage_vae_config,
    vae2_config,
    vae_config,
    vae_data,
)

__all__ = [
    "EVAL_SEED",
    "classifier_config",
    "gan_config",
    "intro_data",
    "intro_vae_config",
    "n_eval",
    "record",
    "usage_vae_config",
    "vae2_config",
    "vae_config",
    "vae_data",
]
