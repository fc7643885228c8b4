"""The VAE's figures (assignment Figs. 1-3), returned as matplotlib figures.

What lives here: the training and validation ELBO per epoch (Q1.13), sample
grids kept at several epochs (Q1.14), the learned 2-D data manifold on a grid
of Gaussian quantiles (Q1.15), the encoder means of a z = 2 model over that grid
coloured by class with the aggregate posterior's mass per prior-equal cell
(:func:`plot_latent_scatter`, :func:`aggregate_posterior_cells`), and
reconstructions next to their originals.
Every function returns the figure; pass it to
:func:`course_utils.core.plots.save_figure` (or use ``save_to=``) to write it.
Image tiling comes from :mod:`course_utils.core.plots`; nothing here trains.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from course_utils.core.plots import PALETTE, image_grid, save_figure, show_grid
from course_utils.core.training import History


def _maybe_save(fig, save_to):
    if save_to is not None:
        save_figure(fig, save_to)
    return fig


def plot_elbo_curves(history: History, show_parts: bool = False, title: str | None = None, save_to=None):
    """Training and validation ELBO per epoch in one plot (assignment Fig. 1).

    The training value of an epoch is the average over its batches (while the
    model was still changing); the validation value is measured after the epoch.
    With ``show_parts``, two more panels show the reconstruction term
    ``-E_q[log p(x|z)]`` and the regularization term ``KL(q(z|x) || p(z))``.
    """
    epochs = history["epoch"]
    panels = [("elbo", "ELBO (nats per image)")]
    if show_parts:
        panels += [("reconstruction", "reconstruction -log p(x|z) (nats)"),
                   ("regularization", "regularization KL(q(z|x) || p(z)) (nats)")]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 3.6), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels, strict=True):
        ax.plot(epochs, history[key], "o-", ms=3, label="training")
        if history[f"val_{key}"]:
            ax.plot(epochs, history[f"val_{key}"], "s-", ms=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0][0].set_title(title or "ELBO during training (higher is better)")
    fig.tight_layout()
    return _maybe_save(fig, save_to)


def plot_samples_at_epochs(samples: dict[int, torch.Tensor] | History, nrow: int = 8, n: int | None = None,
                           title: str | None = None, save_to=None):
    """One grid of samples per kept epoch, side by side (assignment Fig. 2).

    ``samples`` maps epoch -> images (N, 784), e.g. ``history.samples`` of
    :func:`~course_utils.vae.train.train_vae`; the same latent points at every
    epoch, so the grids show how the decoder changes. Epoch 0 is before training.
    """
    samples = getattr(samples, "samples", samples)
    if not samples:
        raise ValueError("no samples were kept (set VAEConfig.sample_epochs, or train for at least one epoch)")
    epochs = sorted(samples)
    fig, axes = plt.subplots(1, len(epochs), figsize=(3.2 * len(epochs), 3.6), squeeze=False)
    for ax, epoch in zip(axes[0], epochs, strict=True):
        images = samples[epoch] if n is None else samples[epoch][:n]
        show_grid(images, nrow=nrow, ax=ax, title="before training" if epoch == 0 else f"epoch {epoch}")
    fig.suptitle(title or "Samples from the model (decoder means at fixed z ~ N(0, I))")
    fig.tight_layout()
    return _maybe_save(fig, save_to)


def gaussian_quantile_grid(n: int = 20, low: float = 0.05, high: float = 0.95) -> torch.Tensor:
    """``n`` latent coordinates at evenly spaced probabilities in [low, high], mapped through the N(0, 1) inverse CDF.

    Evenly spaced *probabilities* put as many grid points where the prior has
    its mass as the prior does: dense near 0, sparse in the tails.
    """
    p = torch.linspace(low, high, n, dtype=torch.float64)
    return torch.distributions.Normal(0.0, 1.0).icdf(p).to(torch.float32)


@torch.no_grad()
def manifold_image(model, n: int = 20, low: float = 0.05, high: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder means on an n x n grid of Gaussian quantiles of a 2-D latent space, tiled into one image.

    Returns ``(image, coords)``: the (28 n, 28 n) image, with z1 growing to the
    right and z2 growing upwards, and the n coordinates used along each axis.
    """
    if model.z_dim != 2:
        raise ValueError(f"the manifold plot needs a model with z_dim = 2, this one has z_dim = {model.z_dim}")
    coords = gaussian_quantile_grid(n, low, high)
    z2, z1 = torch.meshgrid(coords.flip(0), coords, indexing="ij")  # top row: largest z2
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1).to(model.device)
    means = model.decode(z).cpu()
    return image_grid(means, nrow=n, padding=0), coords


def plot_manifold(model, n: int = 20, low: float = 0.05, high: float = 0.95, title: str | None = None,
                  save_to=None):
    """The learned data manifold of a z = 2 VAE (assignment Fig. 3): decoder means on a grid of Gaussian quantiles."""
    image, coords = manifold_image(model, n, low, high)
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(image.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    side = image.shape[0] / n
    ticks = list(range(0, n, max(1, n // 5))) + [n - 1]
    ax.set_xticks([(i + 0.5) * side for i in ticks], [f"{coords[i]:.2f}" for i in ticks])
    ax.set_yticks([(i + 0.5) * side for i in ticks], [f"{coords.flip(0)[i]:.2f}" for i in ticks])
    ax.set_xlabel("z1 (Gaussian quantiles)")
    ax.set_ylabel("z2 (Gaussian quantiles)")
    ax.set_title(title or f"Learned manifold: decoder means on a {n}x{n} grid of N(0,1) quantiles")
    fig.tight_layout()
    return _maybe_save(fig, save_to)


@torch.no_grad()
def plot_reconstructions(model, x: torch.Tensor, n: int = 10, title: str | None = None, save_to=None):
    """Originals (top row) and their reconstructions (bottom row): decoder means at the encoder's mean."""
    x = x[:n]
    recon = model.reconstruct(x).cpu()
    fig, axes = plt.subplots(2, 1, figsize=(0.9 * len(x) + 0.6, 2.6))
    show_grid(x, nrow=len(x), ax=axes[0], title="originals")
    show_grid(recon, nrow=len(x), ax=axes[1], title="reconstructions (decoder mean at the mean of q(z|x))")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _maybe_save(fig, save_to)


def aggregate_posterior_cells(mu: torch.Tensor, sigma: torch.Tensor, k: int = 10) -> torch.Tensor:
    """The mass of the aggregate posterior ``q(z) = (1/N) sum_n N(z; mu_n, diag sigma_n^2)`` in k x k cells.

    ``mu``, ``sigma`` are (N, 2), the encoder's outputs for N images. The cells' edges are the
    N(0, 1) quantiles at ``0, 1/k, ..., 1`` in each coordinate, so under the *prior* every cell holds
    exactly ``1/k^2``; the (k, k) result (rows: z2 from top = largest to bottom, columns: z1 from
    left) shows where the aggregate posterior has more or less mass than the prior. Computed exactly
    from the Gaussian CDF (no sampling).
    """
    if mu.ndim != 2 or mu.shape[1] != 2 or mu.shape != sigma.shape:
        raise ValueError(f"mu and sigma must both be (N, 2); got {tuple(mu.shape)} and {tuple(sigma.shape)}")
    normal = torch.distributions.Normal(0.0, 1.0)
    edges = normal.icdf(torch.linspace(0, 1, k + 1, dtype=torch.float64)[1:-1])
    edges = torch.cat([torch.tensor([-torch.inf], dtype=torch.float64), edges,
                       torch.tensor([torch.inf], dtype=torch.float64)])
    mu, sigma = mu.double(), sigma.double()
    cdf = normal.cdf((edges[None, None, :] - mu[:, :, None]) / sigma[:, :, None])  # (N, 2, k + 1)
    per_axis = cdf[:, :, 1:] - cdf[:, :, :-1]                                       # (N, 2, k)
    cells = torch.einsum("ni,nj->ij", per_axis[:, 1], per_axis[:, 0]) / len(mu)    # (z2 bin, z1 bin)
    return cells.flip(0)


@torch.no_grad()
def plot_latent_scatter(model, x: torch.Tensor, labels: torch.Tensor, class_names=None, n: int = 20,
                        low: float = 0.05, high: float = 0.95, title: str | None = None, save_to=None):
    """Encoder means ``E_q[z|x]`` of images ``x`` for a z = 2 VAE, coloured by class, over the quantile grid.

    The grey lines are the latent values of :func:`plot_manifold`'s n x n grid (N(0, 1) quantiles
    from ``low`` to ``high``): where the prior puts its mass. Where the dots leave a cell of that grid
    empty, the decoder's image in the manifold figure is one no test image was encoded near.
    """
    if model.z_dim != 2:
        raise ValueError(f"the latent scatter needs a model with z_dim = 2, this one has z_dim = {model.z_dim}")
    mu, _ = model.encode(x.to(model.device))
    mu = mu.cpu()
    coords = gaussian_quantile_grid(n, low, high)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    for c in coords.tolist():
        ax.axvline(c, color="0.85", lw=0.6, zorder=0)
        ax.axhline(c, color="0.85", lw=0.6, zorder=0)
    classes = sorted(set(labels.tolist()))
    # The course palette has eight colours; classes beyond eight reuse them with another marker.
    markers = ("o", "^", "s")
    for i, c in enumerate(classes):
        sel = labels == c
        name = class_names[c] if class_names is not None else str(c)
        ax.scatter(mu[sel, 0], mu[sel, 1], s=4, alpha=0.5, color=PALETTE[i % len(PALETTE)],
                   marker=markers[(i // len(PALETTE)) % len(markers)], label=name)
    span = max(3.0, float(mu.abs().max()) * 1.05)
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.set_xlabel("z1 (encoder mean)")
    ax.set_ylabel("z2 (encoder mean)")
    ax.legend(markerscale=4, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title or f"Encoder means of {len(x)} images over the {n}x{n} quantile grid")
    fig.tight_layout()
    return _maybe_save(fig, save_to)
