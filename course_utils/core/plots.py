"""Small plotting helpers shared by every figure: image grids and saving.

Model-specific figures (ELBO curves, manifolds, interpolations) live with their
models' figure modules; they all draw images through :func:`image_grid` and
save through :func:`save_figure`.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid

from course_utils.core.storage import atomic_write


def as_images(x: torch.Tensor, side: int = 28) -> torch.Tensor:
    """(N, 784) or (N, 28, 28) or (N, 1, 28, 28) -> (N, 1, 28, 28) float on the CPU."""
    x = x.detach().to("cpu", torch.float32)
    if x.ndim == 2:
        x = x.reshape(len(x), 1, side, side)
    elif x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or x.shape[1:] != (1, side, side):
        raise ValueError(f"expected images of shape (N, {side * side}) or (N, 1, {side}, {side}), "
                         f"got {tuple(x.shape)}")
    return x


def image_grid(x: torch.Tensor, nrow: int = 8, value_range=(0.0, 1.0), padding: int = 2) -> torch.Tensor:
    """Tile images into one (H, W) tensor in [0, 1] (``value_range`` (-1, 1) for tanh outputs)."""
    lo, hi = value_range
    x = (as_images(x) - lo) / (hi - lo)
    grid = make_grid(x.clamp(0, 1), nrow=nrow, padding=padding, pad_value=1.0)
    return grid[0]


def show_grid(x: torch.Tensor, nrow: int = 8, title: str | None = None, ax=None,
              value_range=(0.0, 1.0)):
    """Draw an image grid on ``ax`` (a new figure when None); return the figure."""
    if ax is None:
        n = len(x)
        rows = -(-n // nrow)
        fig, ax = plt.subplots(figsize=(min(nrow, n) * 0.6 + 0.4, rows * 0.6 + 0.6))
    else:
        fig = ax.figure
    ax.imshow(image_grid(x, nrow, value_range).numpy(), cmap="gray", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def save_figure(fig, path, dpi: int = 120) -> Path:
    """Save ``fig`` to ``path`` (format from the suffix), atomically."""
    path = Path(path)
    with atomic_write(path) as fh:
        fig.savefig(fh, format=path.suffix.lstrip(".") or "png", dpi=dpi, bbox_inches="tight")
    return path
