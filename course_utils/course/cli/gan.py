"""``python -m course_utils gan``: train (or load) the GAN; write its figures and a metrics file.

Writes into ``--out`` (default ``outputs/gan``):

- ``samples.png``        samples for fixed noise at the start, middle and end (Fig. 4);
- ``interpolation.png``  latent interpolations between several pairs (Fig. 5);
- ``losses.png``         loss curves and mean discriminator outputs per epoch;
- ``metrics.json``       Fréchet distance (with the real-vs-real floor), class coverage,
                         classifier accuracy, seconds, the config.
"""
from __future__ import annotations

import time
from pathlib import Path

import matplotlib

from course_utils.core.data import DataError, load_data
from course_utils.core.runtime import PRECISIONS, get_device, training_precision
from course_utils.core.storage import write_json
from course_utils.core.training import TrainingDiverged
from course_utils.gan.model import GANConfig, to_unit

DEFAULTS = GANConfig()


def add_arguments(parser) -> None:
    parser.add_argument("--epochs", type=int, default=DEFAULTS.epochs, help="training epochs (default %(default)s)")
    parser.add_argument("--dataset", default=None,
                        help="auto (the default: Fashion-MNIST, the data set of the reference numbers), "
                             "mnist or fashion-mnist")
    parser.add_argument("--out", default="outputs/gan", help="folder for figures and metrics (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--lr", type=float, default=DEFAULTS.lr, help="Adam learning rate (default %(default)s)")
    parser.add_argument("--precision", choices=PRECISIONS, default=DEFAULTS.precision,
                        help="training's matrix products: auto (bfloat16 where the hardware has it), float32, bfloat16")
    parser.add_argument("--generator-loss", choices=["non-saturating", "saturating"],
                        default=DEFAULTS.generator_loss)
    parser.add_argument("--latent-dim", type=int, default=DEFAULTS.latent_dim)
    parser.add_argument("--ema-decay", type=float, default=None,
                        help="sample from a moving average of G's weights with this decay per step, e.g. 0.999 "
                             "(the course's notebooks do); default: the assignment's last G")
    parser.add_argument("--train-size", type=int, default=None, help="use only this many training images")
    parser.add_argument("--max-seconds", type=float, default=None, help="time budget for training")
    parser.add_argument("--eval-samples", type=int, default=10_000,
                        help="samples for the Fréchet distance (default: the test set's size)")
    parser.add_argument("--steps", type=int, default=9, help="interpolation steps per pair (>= 7)")
    parser.add_argument("--pairs", type=int, default=5, help="interpolated pairs")
    parser.add_argument("--method", choices=["linear", "spherical"], default="linear", help="interpolation path")
    parser.add_argument("--no-cache", action="store_true", help="train again even when a cached model exists")
    parser.add_argument("--no-eval", action="store_true", help="skip the Fréchet distance and class coverage")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_utils.core.plots import save_figure
    from course_utils.core.runtime import set_threads
    from course_utils.evaluation.classifier import train_classifier
    from course_utils.evaluation.quality import sample_quality
    from course_utils.gan.figures import history_figure, interpolation_figure, snapshots_figure
    from course_utils.gan.train import sample, train_gan

    set_threads()
    t0 = time.perf_counter()
    try:
        data = load_data(args.dataset, pixels="gray")
        config = GANConfig(epochs=args.epochs, seed=args.seed, lr=args.lr, generator_loss=args.generator_loss,
                           latent_dim=args.latent_dim, train_size=args.train_size, precision=args.precision,
                           ema_decay=args.ema_decay)
    except (DataError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    print(f"{data}\n{config}")
    try:
        generator, _, history = train_gan(config, data, max_seconds=args.max_seconds,
                                          use_cache=not args.no_cache, progress=not args.quiet)
    except TrainingDiverged as exc:  # NaN/inf or an exploded loss: no figures, no metrics
        print(f"error: {exc}")
        return 3
    out = Path(args.out)
    paths = []
    for name, fig in (("samples.png", snapshots_figure(history.samples)),
                      ("interpolation.png", interpolation_figure(generator, n_pairs=args.pairs, steps=args.steps,
                                                                 method=args.method, seed=args.seed)),
                      ("losses.png", history_figure(history, title=f"GAN training on {data.pretty_name}"))):
        paths.append(save_figure(fig, out / name))
        plt.close(fig)
    metrics = {"dataset": data.name, "epochs": len(history), "train_seconds": round(history.seconds, 2),
               "stop_reason": history.stop_reason, "final": history.last}
    if not args.no_eval:
        classifier = train_classifier(data, progress=not args.quiet)
        images = to_unit(sample(generator, args.eval_samples, seed=args.seed + 10))
        metrics.update(sample_quality(images, data, classifier))
    metrics["seconds"] = round(time.perf_counter() - t0, 2)
    metrics["config"] = config.to_dict()
    metrics["precision"] = training_precision(config.precision, get_device())
    paths.append(write_json(out / "metrics.json", metrics))
    for key in ("fd", "fd_real_floor", "classes_covered", "classifier_accuracy"):
        if key in metrics:
            print(f"{key}: {metrics[key]}")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
