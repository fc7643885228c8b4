"""Train the course's reference models and ship them in ``course_utils/reference/``.

The reference models are the full-mode runs of the notebooks, trained once: the short VAEs of
notebooks 01, 02 and 04, notebook 05's two VAEs (also 08's), notebook 07's GAN and the evaluation
classifier (also 08's). A notebook in full mode loads the one made with exactly its settings and data
set instead of training (``course_utils.core.checkpoints.cached``); ``TRAIN_HERE = True`` in its
set-up cell or ``COURSE_TRAIN_HERE=1`` trains it there instead -- except the evaluation classifier, the
yardstick, which the notebooks load either way (this script trains it again).

    COURSE_THREADS=1 python benchmarks/train_reference_models.py   # every model, on one thread (Binder's case)
    python benchmarks/train_reference_models.py --only gan vae_z20
    python benchmarks/train_reference_models.py --check          # which shipped models match today's settings

How: each model is trained by the course's own function (``train_vae``, ``train_gan``,
``train_classifier``) in full mode on the course's data set, with ``COURSE_PRECISION=float32`` (so the
model is the same whatever ``precision="auto"`` chooses on this CPU), in a staging cache
(``--staging``; an interrupted run resumes there). Its weights are then rounded to float16 (half the
size; the evaluation of both versions is recorded, and the rounded one is what ships), evaluated the
way the notebooks evaluate them (test ELBO on the 10 000 binarized test images; the GAN's Fréchet
distance, precision and recall on 10 000 samples against the test set with the reference classifier;
the classifier's test accuracy), and written atomically to ``course_utils/reference/<key>.safetensors``
with their training history and the command, machine and date in the file's metadata.
``course_utils/reference/index.json`` lists them; ``benchmarks/results/reference_models.json`` holds the
same record with the machine and data set. ``tests/test_reference_models.py`` checks that every
shipped model still matches today's settings and reproduces its recorded numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import torch  # noqa: E402
from common import stamp, write_results  # also puts the repo root on sys.path
from safetensors.torch import save as st_save  # noqa: E402

from course_utils.core import checkpoints, load_data, set_threads, use_reference_models  # noqa: E402
from course_utils.core.data import resolve_dataset  # noqa: E402
from course_utils.core.precision import cpu_model  # noqa: E402
from course_utils.core.storage import atomic_write, write_json  # noqa: E402
from course_utils.course.runs import REFERENCE_RUNS, reference_problems  # noqa: E402

OUT = "reference_models.json"
STORED_DTYPE = torch.float16
#: how far the float16 weights may move a reported number from the float32 model's (also the test's
#: tolerance when it re-evaluates a shipped model on another machine)
TOLERANCE = {"test_elbo": 0.05, "fd": 0.5, "precision": 0.005, "recall": 0.005, "test_accuracy": 0.002}


BY_NAME = {ref.name: ref for ref in REFERENCE_RUNS}


def rounded_(modules) -> None:
    """Round every floating tensor of the modules to float16 and back, in place: the shipped weights."""
    with torch.no_grad():
        for module in modules:
            for tensor in module.state_dict().values():
                if tensor.is_floating_point():
                    tensor.copy_(tensor.to(STORED_DTYPE).float())


def ship(key: str, tensors: dict[str, torch.Tensor], meta: dict) -> Path:
    """Write a checkpoint's tensors in float16 with ``meta`` to the reference folder under ``key``, atomically."""
    tensors = {k: (v.to(STORED_DTYPE) if v.is_floating_point() else v).contiguous() for k, v in tensors.items()}
    path = checkpoints.reference_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        fh.write(st_save(tensors, metadata={"meta": json.dumps(meta)}))
    return path


def cpu_name() -> str:
    """The CPU's model name and its logical CPUs, for the line a notebook prints."""
    return f"{cpu_model()} ({os.cpu_count()} CPUs)"


def check() -> list[str]:
    """Which reference models are missing or do not match today's settings (one line each)."""
    return reference_problems(load_data(pixels="dynamic", verbose=False), load_data(pixels="gray", verbose=False))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=sorted(BY_NAME), help="train just these (default: all)")
    ap.add_argument("--staging", default=str(Path(tempfile.gettempdir()) / "dgm-reference-staging"),
                    help="cache folder the float32 runs are trained in (kept: an interrupted run resumes)")
    ap.add_argument("--check", action="store_true", help="only say which shipped models match today's settings")
    args = ap.parse_args(argv)
    os.environ["COURSE_QUICK"] = "0"  # every run is the full-mode one
    os.environ["COURSE_PRECISION"] = "float32"  # a float32 model whatever this CPU's "auto" would choose
    dataset = resolve_dataset()
    if args.check:
        problems = check()
        print("\n".join(problems) if problems else "every reference model matches today's settings")
        return 1 if problems else 0

    os.environ["COURSE_CACHE_DIR"] = args.staging
    set_threads()
    use_reference_models(False)  # train (or resume, or load the staged run), never load a shipped one
    dyn, gray = load_data(pixels="dynamic"), load_data(pixels="gray")
    chosen = [BY_NAME[n] for n in args.only] if args.only else list(REFERENCE_RUNS)
    index = checkpoints.reference_index()
    results_path = Path(__file__).resolve().parent / "results" / OUT
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    for key in ("machine", "date", "command"):
        results.pop(key, None)
    provenance = {**stamp(), "cpu": cpu_name()}
    classifier = None
    if any(r.kind == "gan" for r in chosen):  # the GAN is scored with the shipped (rounded) classifier:
        # the one retrained in this invocation (staged, then rounded), else the one the course ships now
        retrain = any(r.kind == "classifier" for r in chosen)
        classifier = BY_NAME["classifier"].train(gray, train_here=retrain)
        rounded_([classifier])
        chosen = [r for r in chosen if r.kind != "gan"] + [r for r in chosen if r.kind == "gan"]
    for ref in chosen:
        data = ref.data(dyn, gray)
        model = ref.train(data, train_here=True)
        history = model.history if ref.kind == "classifier" else model[-1]
        train_seconds = round(sum(e.get("seconds", 0.0) for e in history.epochs), 1)
        float32 = ref.evaluate(model, data, classifier)
        rounded_(ref.modules(model))
        shipped = ref.evaluate(model, data, classifier)
        moved = {k: round(abs(shipped[k] - float32[k]), 4) for k in shipped}
        too_far = [f"{k} moved by {moved[k]} > {TOLERANCE[k]}" for k in moved if moved[k] > TOLERANCE[k]]
        if too_far:
            print(f"{ref.name}: rounding to float16 changes its numbers too much ({'; '.join(too_far)}); "
                  "not shipped.", file=sys.stderr)
            return 1
        key = ref.key(data)
        staged = checkpoints.model_cache_path(ref.cache_key(data))  # the float32 run in the staging cache
        tensors, staged_meta = checkpoints.read_checkpoint(staged)
        record = {"name": ref.name, "title": f"{ref.title} on {data.pretty_name}", "notebooks": list(ref.notebooks),
                  "dataset": data.name, "train_seconds": train_seconds, "epochs": len(history.epochs),
                  "precision": staged_meta.get("precision", "float32"), "stored_dtype": str(STORED_DTYPE)[6:],
                  "evaluation": shipped, "evaluation_float32": float32,
                  "tolerance": {k: TOLERANCE[k] for k in shipped}, "threads": torch.get_num_threads(), **provenance}
        for old in [k for k, v in index.items() if v.get("name") == ref.name and k != key]:
            checkpoints.reference_path(old).unlink(missing_ok=True)  # its settings changed: the old file goes
            index.pop(old)
        # the classifier's meta holds its test accuracy, which the notebooks print: the shipped weights' one
        update = {"test_accuracy": shipped["test_accuracy"]} if ref.kind == "classifier" else {}
        path = ship(key, tensors, {**staged_meta, **update, "reference": record})
        index[key] = record
        write_json(checkpoints.REFERENCE_DIR / "index.json", dict(sorted(index.items())))
        results[ref.name] = {"key": key, **record}
        write_results(OUT, {**results, "dataset": dataset, "stored_in": "course_utils/reference/"})
        if ref.kind == "classifier" and classifier is None:
            classifier = model
        print(f"{ref.name}: {path.name} ({path.stat().st_size / 1e6:.1f} MB), trained {train_seconds:.0f} s, "
              f"{shipped} (float32: {float32})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
