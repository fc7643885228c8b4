"""``python -m course_utils vae``: train (or load from the cache) a VAE; write its figures and metrics.

Writes into ``--out`` (default ``vae-results``): ``elbo.png`` (Fig. 1),
``samples.png`` (Fig. 2), ``manifold.png`` (Fig. 3, from a z = 2 model: the
model itself when ``--z-dim 2``, else a second z = 2 run with the same settings,
skipped by ``--no-manifold``), ``reconstructions.png`` and ``metrics.json`` (test
ELBO, importance-weighted log-likelihood, epochs, seconds, settings).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import matplotlib

from course_utils.core.data import DataError, load_data
from course_utils.core.runtime import PRECISIONS, get_device, set_threads, training_precision
from course_utils.core.storage import write_json
from course_utils.core.training import TrainingDiverged
from course_utils.vae.model import VAEConfig


def add_arguments(parser) -> None:
    d = VAEConfig()
    parser.add_argument("--z-dim", type=int, default=d.z_dim, help=f"latent dimension (default {d.z_dim})")
    parser.add_argument("--hidden", type=int, default=d.hidden, help=f"hidden units (default {d.hidden})")
    parser.add_argument("--epochs", type=int, default=d.epochs, help=f"training epochs (default {d.epochs})")
    parser.add_argument("--lr", type=float, default=d.lr, help=f"Adam learning rate (default {d.lr})")
    parser.add_argument("--lr-schedule", choices=("constant", "cosine"), default=d.lr_schedule)
    parser.add_argument("--kl-warmup-epochs", type=float, default=d.kl_warmup_epochs)
    parser.add_argument("--batch-size", type=int, default=d.batch_size)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--precision", choices=PRECISIONS, default=d.precision,
                        help="training's matrix products: auto (bfloat16 where the hardware has it), float32, bfloat16")
    parser.add_argument("--dataset", default=None,
                        help="auto (the default: Fashion-MNIST, the data set of the reference numbers), "
                             "mnist or fashion-mnist")
    parser.add_argument("--pixels", choices=("dynamic", "static", "gray"), default="dynamic",
                        help="binarization of the images (default: dynamic)")
    parser.add_argument("--out", default="vae-results", help="folder for figures and metrics.json")
    parser.add_argument("--iw-k", type=int, default=5000, help="importance samples per test image (0: skip)")
    parser.add_argument("--iw-images", type=int, default=2000,
                        help="test images for the IW estimate (default 2000; 0: the whole test set)")
    parser.add_argument("--max-seconds", type=float, default=None, help="training time budget")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for PyTorch")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: automatic)")
    parser.add_argument("--no-cache", action="store_true", help="train even when a cached model exists")
    parser.add_argument("--no-manifold", action="store_true", help="skip the z = 2 manifold figure")


def run(args) -> int:
    from course_utils.vae.figures import plot_elbo_curves, plot_manifold, plot_reconstructions, plot_samples_at_epochs
    from course_utils.vae.train import evaluate_vae, evaluation_images, train_vae

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    set_threads(args.threads)
    try:
        data = load_data(args.dataset, pixels=args.pixels)
        config = VAEConfig(z_dim=args.z_dim, hidden=args.hidden, epochs=args.epochs, lr=args.lr,
                           lr_schedule=args.lr_schedule, kl_warmup_epochs=args.kl_warmup_epochs,
                           batch_size=args.batch_size, seed=args.seed, precision=args.precision)
    except (DataError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    out = Path(args.out)
    print(f"{data}\n{config}")

    def train(cfg):
        try:
            return train_vae(cfg, data, max_seconds=args.max_seconds, use_cache=not args.no_cache,
                             device=args.device)
        except TrainingDiverged as exc:  # NaN/inf or an exploded loss: no figures, no metrics
            print(f"error: {exc}")
            return None, None

    t0 = time.perf_counter()
    model, history = train(config)
    if model is None:
        return 1
    figures = {
        "elbo.png": plot_elbo_curves(history, show_parts=True,
                                     title=f"ELBO per epoch, z = {config.z_dim} ({data.pretty_name})"),
        "samples.png": plot_samples_at_epochs(history),
        "reconstructions.png": plot_reconstructions(model, evaluation_images(data.test, data.binarize, 10)),
    }
    if config.z_dim == 2:
        figures["manifold.png"] = plot_manifold(model)
    elif not args.no_manifold:
        print("Training (or loading) a z = 2 model with the same settings for the manifold figure.")
        small, _ = train(dataclasses.replace(config, z_dim=2))
        if small is not None:
            figures["manifold.png"] = plot_manifold(small, title=f"Learned manifold, z = 2 ({data.pretty_name})")
    from course_utils.core.plots import save_figure
    for name, fig in figures.items():
        print(f"wrote {save_figure(fig, out / name)}")
        plt.close(fig)

    n_iw = None if args.iw_images == 0 else args.iw_images
    scores = evaluate_vae(model, data.test, binarize=data.binarize, iw_k=args.iw_k, n_images=n_iw)
    elbo_all = evaluate_vae(model, data.test, binarize=data.binarize, iw_k=0)
    metrics = {
        "test_elbo": elbo_all["elbo"], "test_reconstruction": elbo_all["reconstruction"],
        "test_regularization": elbo_all["regularization"], "test_elbo_images": elbo_all["n_images"],
        "test_iw_ll": scores["iw_ll"], "iw_k": args.iw_k, "iw_images": scores["n_images"],
        "test_elbo_on_iw_images": scores["elbo"],
        "epochs": len(history), "train_seconds": history.seconds, "stop_reason": history.stop_reason,
        "interrupted": history.interrupted, "seconds_total": time.perf_counter() - t0,
        "dataset": data.name, "pixels": data.pixels, "config": config.to_dict(),
        "precision": training_precision(config.precision, get_device(args.device)),
    }
    print(f"wrote {write_json(out / 'metrics.json', metrics)}")
    iw = f"{metrics['test_iw_ll']:.2f}" if metrics["test_iw_ll"] is not None else "skipped"
    print(f"test ELBO {metrics['test_elbo']:.2f} nats, IW log-likelihood (k={args.iw_k}, "
          f"{metrics['iw_images']} images) {iw} nats")
    return 0
