"""Does bfloat16 training change the GAN's sample quality? Fréchet distance per (precision, seed).

The GAN's Fréchet distance moves by 10-30 between runs that differ only in the seed or in
float rounding (thread count, precision), so one run per precision says little. This trains
the full-mode GAN (``GANConfig()``, 30 epochs) for each given seed in one precision, scores
10 000 samples as ``benchmarks/bench_gan.py`` does (same classifier from the model cache,
same sample noise), and merges the rows into ``benchmarks/results/gan_precision.json``.

    python benchmarks/gan_precision.py float32 1 2 --threads 1
    python benchmarks/gan_precision.py bfloat16 1 2 --threads 1   # the two can run side by side
"""
from __future__ import annotations

import argparse
import json
import time

from common import RESULTS, stamp  # noqa: E402  (sets sys.path to the repository root)

from course_utils.core import data as data_mod  # noqa: E402
from course_utils.core.runtime import PRECISIONS, set_threads  # noqa: E402
from course_utils.core.storage import write_json  # noqa: E402
from course_utils.course.runs import EVAL_SEED  # noqa: E402
from course_utils.evaluation import ClassifierConfig, sample_quality, train_classifier  # noqa: E402
from course_utils.gan.model import GANConfig, to_unit  # noqa: E402
from course_utils.gan.train import sample, train_gan  # noqa: E402

OUT = RESULTS / "gan_precision.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("precision", choices=[p for p in PRECISIONS if p != "auto"])
    ap.add_argument("seeds", type=int, nargs="+")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    threads = set_threads(args.threads)
    data = data_mod.load_data(None, pixels="gray", verbose=False)
    classifier = train_classifier(data, ClassifierConfig(), progress=False)
    for seed in args.seeds:
        t0 = time.perf_counter()
        generator, _, history = train_gan(GANConfig(seed=seed, precision=args.precision), data,
                                          use_cache=False, progress=False)
        quality = sample_quality(to_unit(sample(generator, len(data.test), seed=EVAL_SEED)), data, classifier)
        row = {"dataset": data.name, "precision": args.precision, "seed": seed, "threads": threads,
               "fd": round(quality["fd"], 2),
               "classes_covered": quality["classes_covered"], "train_seconds": round(history.seconds),
               **stamp()}
        print(json.dumps(row), flush=True)
        results = json.loads(OUT.read_text()) if OUT.is_file() else {"runs": []}
        if results.get("dataset", data.name) != data.name:
            raise SystemExit(f"{OUT.name} holds {results['dataset']} runs; this run is {data.name}: use another file")
        results["dataset"] = data.name
        results["runs"] = [r for r in results["runs"]
                           if (r["precision"], r["seed"], r["threads"]) != (args.precision, seed, threads)] + [row]
        write_json(OUT, results)
        print(f"{time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
