"""Plotting shared by every figure: the course's style, image grids, saving, and the figure audit.

Model-specific figures (ELBO curves, manifolds, interpolations) live with their
models' figure modules; they all draw images through :func:`image_grid` and
save through :func:`save_figure`.

**The style, set here once** (:data:`STYLE`, applied by :func:`apply_style` when this module is
imported, i.e. whenever the course's plotting is imported): figures are opaque white, so they stay
legible in JupyterLab's dark theme and on dark web pages; categorical colours cycle through the
Okabe-Ito palette (:data:`PALETTE`, distinguishable with the common colour-vision deficiencies,
so ``"C0"``, ``"C1"``, ... are Okabe-Ito colours); continuous maps are perceptually uniform
(``viridis`` by default, ``gray`` for images).

**The audit**: :func:`figure_problems` lists what breaks those rules in one figure (a transparent
background, a colour outside the palette, a colour map that is not perceptually uniform, an axes
without a title or axis labels); :func:`png_problems` checks rendered pixels. With
``COURSE_FIGURE_AUDIT=<file>`` every figure drawn in the process (inline output or ``savefig``, and
the widgets' redraws) is audited and one JSON line per figure is appended to the file -- how the
headless course run and the tests check every figure a notebook draws.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import torch
from cycler import cycler
from matplotlib.colors import to_rgba

from course_utils.core.storage import atomic_write

# Okabe & Ito (2008), "Color universal design": eight colours told apart under the common
# colour-vision deficiencies. The order is the colour cycle: C0 blue, C1 orange, C2 bluish green, ...
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish green": "#009E73",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "sky blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
PALETTE = list(OKABE_ITO.values())
CONTINUOUS_CMAP = "viridis"  # perceptually uniform; "gray" for images
# Colour maps whose lightness changes uniformly (matplotlib's perceptually uniform sequential maps,
# and the gray ramps for images); "_r" (reversed) versions are as good.
UNIFORM_CMAPS = frozenset(n + r for n in ("viridis", "cividis", "magma", "inferno", "plasma", "gray", "Greys",
                                          "binary", "twilight", "twilight_shifted") for r in ("", "_r"))
STYLE = {
    "figure.facecolor": "white",
    "figure.edgecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "axes.prop_cycle": cycler(color=PALETTE),
    "image.cmap": CONTINUOUS_CMAP,
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
}
ENV_AUDIT = "COURSE_FIGURE_AUDIT"


def apply_style() -> None:
    """Set the course's figure style (:data:`STYLE`) in matplotlib's rcParams; figures made afterwards use it."""
    matplotlib.rcParams.update(STYLE)


# --------------------------------------------------------------------------- the audit

_PALETTE_RGB = [to_rgba(c)[:3] for c in PALETTE]


def allowed_colour(colour) -> bool:
    """True for a palette colour or a neutral grey (black and white included); alpha is ignored."""
    r, g, b, a = to_rgba(colour)
    if a == 0:
        return True  # invisible
    tol = 1.5 / 255
    if max(r, g, b) - min(r, g, b) <= tol:
        return True
    return any(max(abs(r - p[0]), abs(g - p[1]), abs(b - p[2])) <= tol for p in _PALETTE_RGB)


def _colours(values):
    try:
        import numpy as np

        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return [values]
    if arr.ndim == 1:
        return [arr]
    return list(arr.reshape(-1, arr.shape[-1]))


def figure_problems(fig, labels: bool = True) -> list[str]:
    """What in ``fig`` breaks the course's figure rules (empty when nothing does).

    Checks an opaque figure background; every line, patch and collection colour in :data:`PALETTE`
    or grey; colour-mapped artists (images, scatter with values, contours, meshes) on a map of
    :data:`UNIFORM_CMAPS`; and with ``labels``, a title (on the axes or the figure) and x and y
    labels on every axes that shows data with visible axes.
    """
    from matplotlib.collections import Collection
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    problems: list[str] = []
    if to_rgba(fig.get_facecolor())[3] < 1 or not fig.patch.get_visible():
        problems.append("transparent figure background (use the course style: opaque white)")
    seen: set[str] = set()

    def bad(what: str) -> None:
        if what not in seen:
            seen.add(what)
            problems.append(what)

    skip = {id(fig.patch)} | {id(ax.patch) for ax in fig.axes}
    for artist in fig.findobj():
        if id(artist) in skip or not artist.get_visible():
            continue
        if isinstance(artist, AxesImage):
            arr = artist.get_array()
            if arr is not None and arr.ndim == 2 and artist.get_cmap().name not in UNIFORM_CMAPS:
                bad(f"image with colour map {artist.get_cmap().name!r} (not perceptually uniform)")
        elif isinstance(artist, Line2D):
            for c in (artist.get_color(), artist.get_markerfacecolor(), artist.get_markeredgecolor()):
                if isinstance(c, str) and c in ("none", "auto"):
                    continue
                if not allowed_colour(c):
                    bad(f"line colour {matplotlib.colors.to_hex(c)} outside the course palette")
        elif isinstance(artist, Collection):
            if artist.get_array() is not None:
                if artist.get_cmap().name not in UNIFORM_CMAPS:
                    bad(f"colour map {artist.get_cmap().name!r} (not perceptually uniform)")
                continue
            for c in _colours(artist.get_facecolor()) + _colours(artist.get_edgecolor()):
                if len(c) and not allowed_colour(c):
                    bad(f"colour {matplotlib.colors.to_hex(c)} outside the course palette")
        elif isinstance(artist, Patch):
            for c in (artist.get_facecolor(), artist.get_edgecolor()):
                if not allowed_colour(c):
                    bad(f"patch colour {matplotlib.colors.to_hex(c)} outside the course palette")
    if labels:
        has_title = bool(fig.get_suptitle().strip()) or any(
            ax.get_title().strip() or ax.get_title("left").strip() for ax in fig.axes)
        data_axes = [ax for ax in fig.axes
                     if ax.get_visible() and (ax.lines or ax.collections or ax.patches or ax.images)]
        for i, ax in enumerate(fig.axes):
            if ax not in data_axes or not ax.axison:
                continue  # no data, or hidden axes (image grids): no axis labels needed
            name = f"axes {i}" + (f" ({ax.get_title()!r})" if ax.get_title() else "")
            if not ax.get_xlabel().strip() and not _shares_label(ax, "x"):
                bad(f"{name} has no x label")
            if not ax.get_ylabel().strip() and not _shares_label(ax, "y"):
                bad(f"{name} has no y label")
        if data_axes and not has_title:
            bad("figure has no title (on an axes or the figure)")
    return problems


def _shares_label(ax, which: str) -> bool:
    """A twin or shared axis carries the label (e.g. the bottom row of a grid labels the shared x)."""
    group = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    siblings = [a for a in group.get_siblings(ax) if a is not ax]
    get = (lambda a: a.get_xlabel()) if which == "x" else (lambda a: a.get_ylabel())
    return any(get(a).strip() for a in siblings)


def png_problems(png: bytes) -> list[str]:
    """Transparent pixels in a rendered PNG (empty when every pixel is opaque)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    if "A" not in img.getbands() and "transparency" not in img.info:
        return []
    import numpy as np

    alpha = np.asarray(img.convert("RGBA").getchannel("A"))
    lo = int(alpha.min())
    if lo == 255:
        return []
    n = int((alpha < 255).sum())
    return [f"{n} of {img.width * img.height} pixels are transparent (lowest alpha {lo})"]


def _figure_name(fig) -> str:
    titles = [fig.get_suptitle()] if fig.get_suptitle() else []
    titles += [ax.get_title() for ax in fig.axes if ax.get_title()]
    return " / ".join(titles) or f"untitled figure with {len(fig.axes)} axes"


def audit_figure(fig, how: str, transparent: bool = False) -> list[str]:
    """Audit ``fig`` and append the result to ``$COURSE_FIGURE_AUDIT`` (nothing happens when it is unset)."""
    path = os.environ.get(ENV_AUDIT)
    if not path:
        return []
    problems = figure_problems(fig)
    if transparent:
        problems.insert(0, "drawn with transparent=True")
    with open(path, "a", encoding="utf-8") as fh:  # one short line per figure; appends do not interleave
        fh.write(json.dumps({"figure": _figure_name(fig), "how": how, "problems": problems}) + "\n")
    return problems


def read_audit(path) -> list[dict]:
    """The entries of a figure-audit file (empty when there is none)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _install_audit() -> None:
    """Wrap matplotlib's ``print_figure`` (inline outputs and ``savefig`` both go through it) once."""
    from matplotlib.backend_bases import FigureCanvasBase

    if getattr(FigureCanvasBase.print_figure, "_course_audit", False):
        return
    original = FigureCanvasBase.print_figure

    def print_figure(self, filename, *args, **kwargs):
        transparent = bool(kwargs.get("transparent", matplotlib.rcParams["savefig.transparent"]))
        face = kwargs.get("facecolor")
        if face not in (None, "auto") and to_rgba(face)[3] < 1:
            transparent = True
        audit_figure(self.figure, "print_figure", transparent)
        return original(self, filename, *args, **kwargs)

    print_figure._course_audit = True
    FigureCanvasBase.print_figure = print_figure


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
    from torchvision.utils import make_grid  # here, not at import: torchvision costs a kernel ~160 MB and 1 s

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


apply_style()
if os.environ.get(ENV_AUDIT):
    _install_audit()
