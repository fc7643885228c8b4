"""The GAN's figures: samples during training (Fig. 4), latent interpolations (Fig. 5), loss curves.

Each function returns a matplotlib figure, titled and labelled, and draws images
through :func:`course_utils.core.plots.show_grid`; save with
:func:`course_utils.core.plots.save_figure`. The data behind them come from
:mod:`course_utils.gan.train` (``history``, :func:`~course_utils.gan.train.sample`)
and :mod:`course_utils.gan.interpolation`.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import MaxNLocator

from course_utils.core.plots import show_grid
from course_utils.gan.interpolation import interpolate, random_pairs
from course_utils.gan.losses import LOG_4

SIGNED = (-1.0, 1.0)  # the generator's pixel range


def _epoch_title(epoch: int) -> str:
    return "before training" if epoch == 0 else f"after epoch {epoch}"


def snapshots_figure(samples: dict[int, torch.Tensor], nrow: int | None = None,
                     value_range=SIGNED, title: str = "GAN samples for fixed noise during training"):
    """One panel per kept epoch (e.g. ``history.samples``): the same noise, start to end (Fig. 4).

    ``samples`` maps an epoch (0 = before training) to images, (N, 784) in
    ``value_range`` ([-1, 1] for the GAN; pass ``(0, 1)`` for a VAE).
    """
    if not samples:
        raise ValueError("no sample grids to show (was the model trained with sample_epochs?)")
    epochs = sorted(samples)
    n = len(samples[epochs[0]])
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    rows = -(-n // nrow)
    fig, axes = plt.subplots(1, len(epochs), figsize=(0.45 * nrow * len(epochs) + 0.5, 0.45 * rows + 0.9),
                             squeeze=False)
    for ax, epoch in zip(axes[0], epochs, strict=True):
        show_grid(samples[epoch], nrow=nrow, ax=ax, title=_epoch_title(epoch), value_range=value_range)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def interpolation_figure(decode, latent_dim: int | None = None, n_pairs: int = 5, steps: int = 9,
                         method: str = "linear", seed: int = 0, value_range=SIGNED, z0=None, z1=None):
    """Rows of images along latent paths between random pairs of noise vectors (Fig. 5).

    ``decode`` is a GAN :class:`~course_utils.gan.model.Generator` (or a function from
    latent points to images in ``value_range``). Each row walks ``steps`` (>= 7 in the
    assignment) evenly spaced points from ``z0`` (left) to ``z1`` (right), by
    ``method`` ``'linear'`` or ``'spherical'``. Pass ``z0, z1`` of shape (P, D) to
    choose the pairs; otherwise ``n_pairs`` pairs are drawn from ``seed``.
    """
    if z0 is None or z1 is None:
        latent_dim = latent_dim or getattr(decode, "latent_dim", None)
        if latent_dim is None:
            raise ValueError("pass latent_dim (or z0 and z1) when decode is a plain function")
        z0, z1 = random_pairs(n_pairs, latent_dim, seed)
    images = interpolate(decode, z0, z1, steps=steps, method=method)  # (P, steps, 784)
    n_pairs = images.shape[0]
    fig, ax = plt.subplots(figsize=(0.6 * steps + 0.6, 0.6 * n_pairs + 0.9))
    show_grid(images.reshape(-1, images.shape[-1]), nrow=steps, ax=ax, value_range=value_range,
              title=f"{method.capitalize()} interpolation in latent space: "
                    f"{n_pairs} pairs, {steps} steps (left: z0, right: z1)")
    fig.tight_layout()
    return fig


def history_figure(history, title: str = "GAN training"):
    """Loss curves (nats) and mean discriminator outputs per epoch, with their equilibrium values.

    Left: the discriminator's loss (log 4 ~ 1.386 at the game's optimum) and the
    generator's loss. Right: mean D(x) on real images and mean D(G(z)) on fakes
    (1/2 at the optimum).
    """
    epochs = history["epoch"]
    fig, (ax_l, ax_d) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_l.plot(epochs, history["d_loss"], marker=".", label="discriminator loss  -V(D, G)")
    ax_l.plot(epochs, history["g_loss"], marker=".", label="generator loss")
    ax_l.axhline(LOG_4, color="gray", ls="--", lw=1, label="log 4 (D loss at the optimum)")
    ax_l.set_xlabel("epoch")
    ax_l.set_ylabel("loss (nats, mean per image)")
    ax_l.set_title("Losses")
    ax_l.legend(fontsize=8)
    ax_d.plot(epochs, history["d_real"], marker=".", label="mean D(x), real images")
    ax_d.plot(epochs, history["d_fake"], marker=".", label="mean D(G(z)), fakes")
    ax_d.axhline(0.5, color="gray", ls="--", lw=1, label="1/2 (the optimum)")
    ax_d.set_ylim(0, 1)
    ax_d.set_xlabel("epoch")
    ax_d.set_ylabel("discriminator output (probability)")
    ax_d.set_title("Discriminator outputs")
    ax_d.legend(fontsize=8)
    for ax in (ax_l, ax_d):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    return fig
