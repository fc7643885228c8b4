"""How much the evaluation classifier itself moves the sample-quality numbers (issue 24: the yardstick).

Notebooks 07 and 08 score generated samples in the features of one classifier: the Fréchet distance,
precision and recall. The course ships that classifier and loads it even when a student trains the
generative models here (``TRAIN_HERE = True``), so a model trained here is measured with the network that
measured the reference numbers. This script measures why that matters: the same samples of the course's
reference GAN and VAE (notebook 08's, 10 000 each, ``EVAL_SEED``) and the held-out real images are scored
with the shipped classifier (seed 0, trained on one thread), with the same settings *and seed* trained again
here (other arithmetic: this machine's thread count; ``train_here=True``, not cached), and with the same
settings and other seeds -- the spread a yardstick of the same design adds on its own.

    python benchmarks/yardstick.py                  # seed 0 again, seeds 1 and 2 (~6 min on 2 cores)

Writes ``benchmarks/results/yardstick.json``; the classifiers trained here go to the model cache.
"""
from __future__ import annotations

import argparse
import dataclasses
import os

from common import stamp, write_results  # noqa: E402  (sets sys.path to the repository root)

OUT = "yardstick.json"
SETS = ("VAE", "GAN", "real (held out)")  # what score_models scores, each against the test images
MEASURES = ("fd", "precision", "recall")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="classifier seeds trained here")
    ap.add_argument("--threads", type=int, default=None, help="PyTorch CPU threads (default: as set up)")
    args = ap.parse_args(argv)
    os.environ["COURSE_QUICK"] = "0"  # the full-mode reference models and classifier

    from course_utils.core import load_data, set_threads
    from course_utils.course import classifier_config, gan_config, n_eval, vae_config, vae_data
    from course_utils.evaluation import train_classifier
    from course_utils.evaluation.comparison import gan_samples, score_models, vae_samples
    from course_utils.gan import train_gan
    from course_utils.vae import train_vae

    threads = set_threads(args.threads)
    gray = load_data("fashion-mnist", pixels="gray", verbose=False)
    vae, _ = train_vae(vae_config(), vae_data(load_data("fashion-mnist", pixels="dynamic", verbose=False)),
                       progress=False)
    generator, _, _ = train_gan(gan_config(), gray, progress=False)
    samples = {"VAE": vae_samples(vae, n_eval()), "GAN": gan_samples(generator, n_eval())}
    rows = []
    # the shipped classifier (the notebooks' yardstick), seed 0 trained again here (not cached), the other seeds
    for seed, again in [(0, False), (0, True), *((s, False) for s in args.seeds)]:
        config = dataclasses.replace(classifier_config(), seed=seed)
        classifier = train_classifier(gray, config, progress=False, train_here=again, use_cache=not again)
        scores = score_models(samples, gray, classifier)
        rows.append({"classifier_seed": seed, "shipped": seed == 0 and not again, "retrained_here": again,
                     "test_accuracy": round(classifier.test_accuracy, 4),
                     "train_seconds": round(sum(e["seconds"] for e in classifier.history.epochs), 1),
                     **{name: {k: round(float(scores[name][k]), 4) for k in MEASURES} for name in SETS}})
        print(rows[-1], flush=True)
    spread = {name: {k: [min(r[name][k] for r in rows), max(r[name][k] for r in rows)] for k in MEASURES}
              for name in SETS}
    shipped, retrained = rows[0], rows[1]
    same_seed = {name: {k: round(retrained[name][k] - shipped[name][k], 4) for k in MEASURES} for name in SETS}
    write_results(OUT, {
        "rows": rows, "range_over_classifiers": spread, "same_seed_retrained_minus_shipped": same_seed,
        "n_samples": n_eval(), "dataset": gray.name,
        "classifier_config": classifier_config().to_dict(), "threads": threads, **stamp(),
        "notes": ["The same samples (the course's reference VAE and GAN, notebook 08's: n_samples each, EVAL_SEED) and "
                  "n_samples held-out real images, scored in the features of classifiers of the same settings: the "
                  "shipped one (seed 0, course_utils/reference/, trained once at one thread), seed 0 trained again "
                  "here (retrained_here: the same seed, other arithmetic -- this run's thread count) and other seeds "
                  "trained here. range_over_classifiers: min and max over all rows of each number -- what the "
                  "yardstick alone moves; same_seed_retrained_minus_shipped: the retrained seed 0 minus the shipped "
                  "one."]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
