"""The VAE and the GAN over several seeds: Fréchet distance, precision/recall, FD against 1/n, test ELBO.

One run of a model says little about its recipe: the GAN's Fréchet distance moves by
tens between runs that differ only in the seed. This script trains (or loads from the
model cache) the course's full-mode VAE (notebook 05: ``course_utils.course.runs.vae_config``)
and GAN (notebook 07: ``gan_config``) for each seed, changing nothing but ``seed``, and
scores each exactly as notebook 08 does (10 000 samples from noise seeded with
``EVAL_SEED``, the shipped evaluation classifier, :func:`course_utils.evaluation.sample_quality`):

- the Fréchet distance against the test set and the real-vs-real floor at the same n;
- improved precision and recall (Kynkäänniemi et al. 2019, k = 3) in the classifier's features;
- the class histogram and its total variation to the real test images' mix;
- the Fréchet distance on matched subsets against 1/n with its extrapolation FD_inf
  (Chong & Forsyth 2020), for each model and for held-out real images;
- the median distance of 1 000 samples (and of 1 000 test images) to their nearest training
  image, in pixels and in classifier features (a memorisation check);
- for the VAE, the test ELBO (all 10 000 test images) and the importance-weighted
  log-likelihood (k = 1000 on the first 2 000), as notebook 05 reports them.

Rows are merged into ``benchmarks/results/seeds.json`` by (model, seed) after every run, so a
rerun of one model (e.g. after a change of the GAN's recipe) keeps the other's rows; the
summary (mean and standard deviation over the seeds present) is recomputed each time.

    python benchmarks/seeds.py                    # both models, seeds 0 1 2 (~35 min on 2 cores)
    python benchmarks/seeds.py --models gan       # the GAN only; the VAE rows are kept
    python benchmarks/seeds.py --no-cache         # retrain even models found in the cache
    python benchmarks/seeds.py --no-reference-models   # seed 0 trained here too (its time on this machine)
    python benchmarks/seeds.py --quick --output seeds_quick.json   # quick-mode models: a smoke test
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

from common import RESULTS, mean_sd, stamp  # noqa: E402  (sets sys.path to the repository root)

OUT = "seeds.json"
MODELS = ("vae", "gan")


def _quick(flag: bool) -> None:
    os.environ["COURSE_QUICK"] = "1" if flag else "0"  # before course_utils decides anything


def memorisation(images01, data, classifier, n: int = 1000) -> dict:
    """Median distance of ``n`` images to their nearest training image, in pixels and in classifier features."""
    from course_utils.evaluation import near_copies, training_neighbours

    nb = training_neighbours(images01[:n], data, classifier)
    copies = near_copies({"images": images01[:n]}, data, classifier, neighbours={"images": nb})["images"]
    return {"nn_pixel_median": round(float(nb["pixel"][0][:, 0].median()), 4),
            "nn_feature_median": round(float(nb["feature"][0][:, 0].median()), 4), "nn_n": n,
            "near_copies": {space: {k: round(v, 4) for k, v in d.items()} for space, d in copies.items()}}


def score(images01, data, classifier) -> dict:
    from course_utils.evaluation import fd_against_n, isolated_pixels, reference_features, sample_quality

    q = sample_quality(images01, data, classifier)
    curve = fd_against_n(classifier.features(images01), reference_features(classifier, data), seed=0)
    return {
        "fd": round(q["fd"], 3), "fd_real_floor": round(q["fd_real_floor"], 3), "n_samples": q["n_samples"],
        "precision": round(q["precision"], 4), "recall": round(q["recall"], 4), "k": q["k"],
        "class_tv": round(q["class_tv"], 4), "class_histogram": q["class_histogram"],
        "classes_covered": q["classes_covered"], "speckle_per_image": round(isolated_pixels(images01), 3),
        "fd_vs_n": {"n": curve["n"], "fd_mean": [round(v, 3) for v in curve["fd_mean"]],
                    "fd_sd": [round(v, 3) for v in curve["fd_sd"]], "draws": curve["draws"],
                    "fd_inf": round(curve["fd_inf"], 3), "slope": round(curve["slope"], 1),
                    "max_residual": round(curve["max_residual"], 3)},
        **memorisation(images01, data, classifier),
    }


def run_vae(seed: int, data_gray, classifier, use_cache: bool, iw_k: int, iw_images: int) -> dict:
    from course_utils.core import load_data
    from course_utils.core.runtime import training_precision
    from course_utils.course import n_eval, vae_config, vae_data
    from course_utils.evaluation.comparison import vae_samples
    from course_utils.vae import train_vae
    from course_utils.vae.train import evaluate_vae

    config = dataclasses.replace(vae_config(), seed=seed)
    data = vae_data(load_data(data_gray.name, pixels="dynamic", verbose=False))
    vae, history = train_vae(config, data, use_cache=use_cache, progress=False)
    row = {"model": "vae", "seed": seed, "train_seconds": round(history.seconds, 1), "epochs": len(history),
           "config": config.to_dict(), "matmul_precision": training_precision(config.precision)}
    row.update(score(vae_samples(vae, n_eval()), data_gray, classifier))
    full = evaluate_vae(vae, data.test, binarize=data.binarize, iw_k=0, progress=False)
    iw = evaluate_vae(vae, data.test, binarize=data.binarize, iw_k=iw_k, n_images=iw_images, progress=False)
    row.update({"test_elbo": round(full["elbo"], 3), "test_elbo_images": full["n_images"],
                "test_iw_ll": round(iw["iw_ll"], 3), "iw_k": iw_k, "iw_images": iw["n_images"]})
    return row


def run_gan(seed: int, data_gray, classifier, use_cache: bool) -> dict:
    from course_utils.core.runtime import training_precision
    from course_utils.course import gan_config, n_eval
    from course_utils.evaluation.comparison import gan_samples
    from course_utils.gan import train_gan

    config = dataclasses.replace(gan_config(), seed=seed)
    generator, _, history = train_gan(config, data_gray, use_cache=use_cache, progress=False)
    row = {"model": "gan", "seed": seed, "train_seconds": round(history.seconds, 1), "epochs": len(history),
           "config": config.to_dict(), "matmul_precision": training_precision(config.precision)}
    row.update(score(gan_samples(generator, n_eval()), data_gray, classifier))
    return row


def summarise(rows: list[dict]) -> dict:
    """Mean, standard deviation (n - 1), min and max over the seeds of each model."""
    out = {}
    for model in MODELS:
        mine = sorted((r for r in rows if r["model"] == model), key=lambda r: r["seed"])
        if not mine:
            continue
        keys = ["fd", "fd_real_floor", "precision", "recall", "class_tv", "nn_pixel_median", "nn_feature_median",
                "speckle_per_image", "train_seconds"]
        if model == "vae":
            keys += ["test_elbo", "test_iw_ll"]
        out[model] = {"seeds": [r["seed"] for r in mine],
                      **{k: mean_sd([r[k] for r in mine]) for k in keys if all(k in r for r in mine)},
                      "fd_inf": mean_sd([r["fd_vs_n"]["fd_inf"] for r in mine])}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--no-cache", action="store_true", help="retrain models even when the cache has them")
    ap.add_argument("--no-reference-models", action="store_true",
                    help="train (or take from this machine's cache) seed 0 too, instead of loading the shipped "
                         "reference model; the evaluation classifier stays the shipped one")
    ap.add_argument("--quick", action="store_true", help="quick-mode models and 1 000 samples (a smoke test)")
    ap.add_argument("--iw-k", type=int, default=1000, help="importance samples for the VAE's log-likelihood")
    ap.add_argument("--iw-images", type=int, default=2000, help="test images for the IW estimate")
    ap.add_argument("--threads", type=int, default=None, help="PyTorch CPU threads (default: as set up)")
    ap.add_argument("--output", default=None, help=f"results file in benchmarks/results (default {OUT}; "
                                                   "with --quick nothing is written unless given)")
    args = ap.parse_args(argv)
    _quick(args.quick)

    from course_utils.core import load_data, set_threads
    from course_utils.core.storage import write_json
    from course_utils.course import classifier_config
    from course_utils.evaluation import train_classifier

    threads = set_threads(args.threads)
    output = args.output or (None if args.quick else OUT)
    path = RESULTS / output if output else None
    data = load_data(None, pixels="gray", verbose=False)
    classifier = train_classifier(data, classifier_config(), progress=False)
    print(f"{data}; {threads} threads; classifier test accuracy {classifier.test_accuracy:.4f}", flush=True)
    if args.no_reference_models:  # the classifier above is the shipped one either way (the yardstick)
        from course_utils.core import use_reference_models

        use_reference_models(False)

    results = json.loads(path.read_text()) if path is not None and path.is_file() else {}
    rows = [r for r in results.get("runs", []) if not (r["model"] in args.models and r["seed"] in args.seeds)]
    from course_utils.course import n_eval

    n = n_eval()
    reference = {"n_samples": n, "classifier_accuracy": round(classifier.test_accuracy, 4),
                 "classifier_config": classifier_config().to_dict(),
                 "real_held_out": score(data.val.images[:n], data, classifier),
                 "test_images_memorisation": memorisation(data.test.images, data, classifier)}
    for model in args.models:
        for seed in args.seeds:
            t0 = time.perf_counter()
            row = (run_vae(seed, data, classifier, not args.no_cache, args.iw_k, args.iw_images) if model == "vae"
                   else run_gan(seed, data, classifier, not args.no_cache))
            row.update({"threads": threads, "wall_seconds": round(time.perf_counter() - t0, 1), **stamp()})
            rows = [r for r in rows if (r["model"], r["seed"]) != (model, seed)] + [row]
            rows.sort(key=lambda r: (r["model"], r["seed"]))
            print(f"{model} seed {seed}: FD {row['fd']:.2f} (floor {row['fd_real_floor']:.2f}, FD_inf "
                  f"{row['fd_vs_n']['fd_inf']:.2f}), precision {row['precision']:.3f}, recall {row['recall']:.3f}, "
                  f"class TV {row['class_tv']:.3f}" + (f", test ELBO {row['test_elbo']:.2f}, IW {row['test_iw_ll']:.2f}"
                                                       if model == "vae" else "")
                  + f" [{row['wall_seconds']:.0f} s]", flush=True)
            results = {"notes": [
                "Each row: one full-mode model of the course (notebooks 05 / 07), only the seed changed; scored "
                "like notebook 08 (10 000 samples, noise seed EVAL_SEED, the shipped evaluation classifier).",
                "fd_real_floor: 10 000 held-out real (validation) images against the test set, scored like a "
                "model: the floor at the samples' n. fd_vs_n: matched random subsets of n samples and n test "
                "images (5 draws per n below 10 000), with the least-squares line FD = fd_inf + slope / n "
                "(Chong & Forsyth 2020); held-out real images extrapolate to about 0.",
                "precision/recall: Kynkäänniemi et al. 2019, k = 3, classifier features, 10 000 samples "
                "against 10 000 test images. class_tv: total variation between the samples' class histogram "
                "and the classifier's histogram of the test images.",
                "nn_*_median: the median distance of 1 000 images to their nearest training image; compare "
                "with reference.test_images_memorisation (held-out real images): a generator that copied "
                "training images would sit far below it. near_copies (course_utils.evaluation.near_copies): the "
                "share of the same images closer to their nearest training image than 99% of 1 000 held-out "
                "(validation) images are; held-out images give about 0.01, a copier about the share it copies.",
                "VAE test_elbo: all 10 000 test images (one fixed binarization); test_iw_ll: k = iw_k on the "
                "first iw_images test images, as notebook 05 reports them.",
                "speckle_per_image: isolated bright pixels per image (course_utils.evaluation.isolated_pixels: a "
                "pixel above 0.5 whose 8 neighbours are all below 0.5); reference.real_held_out has real images'. "
                "train_seconds: the run's training time on its machine, with the precision in its config "
                "('auto' resolves per CPU; the rows of 2026-12-07 were run with COURSE_PRECISION=float32).",
            ], "dataset": data.name, "reference": reference, "summary": summarise(rows), "runs": rows, **stamp()}
            if path is not None:
                write_json(path, results)
    if path is not None:
        print(f"wrote {path}")
    print(json.dumps(results["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
