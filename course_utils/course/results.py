"""The measured numbers the notebooks quote, read from the results files of ``benchmarks/``.

A notebook never types a measured number into its prose: a code cell reads it from
``benchmarks/results/<name>.json`` (written by a benchmark script, with its command,
machine and date) and prints it together with the machine it came from, so the text
and the measurement cannot drift apart. What lives here: :func:`load` (one results
file), :func:`value` (one number inside it, by a dotted key), :func:`provenance` (the
"measured on ..." line -- of the part of the file a number came from, when a key is given),
:func:`dataset` (the data set a number was measured on) and :func:`quote` (a reference number
labelled with its data set and provenance, or, when the student's run is on another data set,
the one sentence that says why it is not compared). What does not: the benchmarks themselves
(``benchmarks/``).

The folder is the repository's ``benchmarks/results``; ``COURSE_RESULTS_DIR``
points elsewhere (e.g. a copy shipped with a course website).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from course_utils.core.data import PRETTY_NAMES

ROOT = Path(__file__).resolve().parents[2]  # the repository (course_utils/course/ -> root)


def results_dir() -> Path:
    """Where the results files are: ``COURSE_RESULTS_DIR`` or the repository's ``benchmarks/results``."""
    env = os.environ.get("COURSE_RESULTS_DIR")
    return Path(env).expanduser() if env else ROOT / "benchmarks" / "results"


def load(name: str) -> dict:
    """The parsed results file ``name`` (``"gan"`` or ``"gan.json"``); a clear error when it is missing."""
    filename = name if name.endswith(".json") else f"{name}.json"
    path = results_dir() / filename
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"No results file {path}. The course's measured numbers come from the scripts in benchmarks/ "
            "(see the README's 'Measured numbers'); run the one that writes "
            f"{filename}, or set COURSE_RESULTS_DIR to a folder that has it.") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"The results file {path} is not valid JSON ({exc}); rerun its benchmark.") from None


def value(name: str, key: str):
    """One entry of a results file by a dotted key, e.g. ``value("gan", "details.n_eval_samples")``."""
    node = load(name)
    for part in key.split("."):
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(f"{name}.json has no entry {key!r} (stopped at {part!r})")
    return node


PROVENANCE_KEYS = ("machine", "date", "command")
_SOURCE_KEYS = (*PROVENANCE_KEYS, "dataset")  # what a results file, or one part of it, records about its run


def _source(d: dict, key: str | None) -> dict:
    """The provenance and data-set keys of the part of results file ``d`` that holds ``key``.

    A file's top level is its last invocation; a number can come from an earlier one recorded as a
    part: ``parts.<part>`` listing the number under ``keys`` (``vae.json``: a speed run and a quality
    run), an entry with its own ``machine``/``date``/``command``, or an entry with per-mode
    ``<mode>_date``/``<mode>_command``/``<mode>_dataset`` for a ``<mode>_...`` key (``notebooks.json``).
    """
    top = {k: d[k] for k in _SOURCE_KEYS if k in d}
    if not key:
        return top
    first, _, rest = key.partition(".")
    for part in (d.get("parts") or {}).values():
        if isinstance(part, dict) and first in part.get("keys", ()):
            return {**top, **{k: part[k] for k in _SOURCE_KEYS if k in part}}
    entry = d.get(first)
    if isinstance(entry, dict):
        own = {k: entry[k] for k in _SOURCE_KEYS if k in entry}
        mode = rest.split(".")[0].split("_")[0] if rest else ""
        if mode:
            own.update({k: entry[f"{mode}_{k}"] for k in ("date", "command", "dataset") if f"{mode}_{k}" in entry})
        return {**top, **own}
    return top


def provenance(name: str, key: str | None = None) -> str:
    """``"measured on <machine>, <date> (<command>)"`` for a results file, or for the part of it that
    produced ``key`` (a dotted key as in :func:`value`): a file's top-level command is its last run,
    which need not be the run behind every number in it."""
    d = _source(load(name), key)
    return f"measured on {d.get('machine', 'an unrecorded machine')}, {d.get('date', 'undated')} " \
           f"(`{d.get('command', 'command not recorded')}`)"


def dataset(name: str, key: str | None = None) -> str:
    """The data set the numbers of results file ``name`` (or the part holding ``key``) were measured on:
    ``'fashion-mnist'``, ``'mnist'`` or ``'none'``; a clear error when the file does not record it."""
    d = _source(load(name), key)
    if "dataset" not in d:
        raise KeyError(f"{name}.json does not record the data set of {key or 'its numbers'}; every results "
                       "file must (tests/test_results_datasets.py): add a 'dataset' key.")
    return d["dataset"]


def dataset_name(key: str) -> str:
    """``'Fashion-MNIST'`` for ``'fashion-mnist'``, ``'MNIST'`` for ``'mnist'``."""
    return PRETTY_NAMES.get(key, key)


def not_comparable(name: str, student_dataset: str, key: str | None = None) -> str | None:
    """None when ``name``'s reference numbers (at ``key``) were measured on ``student_dataset``; otherwise
    the one sentence that says why they are not printed beside the student's run."""
    ref = dataset(name, key)
    if ref in ("none", student_dataset):
        return None
    return (f"(The reference numbers here were measured on {dataset_name(ref)} and this run is on "
            f"{dataset_name(student_dataset)}: numbers of different data sets do not compare, so they are not "
            f"shown; unset COURSE_DATASET, or set it to {ref}, to see them.)")


def quote(name: str, key: str | None, text: str, student_dataset: str) -> str:
    """A reference number, already written out in ``text``, labelled with its data set and the provenance
    of the part of ``name`` that produced ``key``; or, when ``student_dataset`` differs from the
    reference's, only :func:`not_comparable`'s sentence (the comparison is not printed)."""
    why = not_comparable(name, student_dataset, key)
    if why:
        return why
    ref = dataset(name, key)
    label = "" if ref == "none" else f"{dataset_name(ref)}, "
    return f"{text} ({label}{provenance(name, key)})"
