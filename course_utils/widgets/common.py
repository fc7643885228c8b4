"""What the course's widgets share: PNG frames, a fast redraw of matplotlib figures, timed updates.

What lives here: :func:`png_from_array` (an image tensor as PNG bytes),
:func:`png_from_canvas` (a figure's current pixels), ``_new_figure`` (a matplotlib
``Figure`` on the Agg canvas -- never ``pyplot``, so nothing leaks into other
cells), :class:`_BlitPlot` (redraw only the moving artists)
and :class:`_Explorer`, the timed-update and display plumbing every explorer
inherits. The explorers themselves are in :mod:`course_utils.widgets.vae`
(notebooks 01-05) and :mod:`course_utils.widgets.gan` (notebooks 06-07).
"""
from __future__ import annotations

import io
import time
from collections.abc import Callable

import ipywidgets as widgets
import torch
from PIL import Image as PILImage

# CSS classes the browser test (tests/test_browser.py) looks for: the first slider with
# SLIDER_CLASS in a notebook is moved with the keyboard, and the first image with IMAGE_CLASS
# must change.
SLIDER_CLASS = "course-latent-slider"
IMAGE_CLASS = "course-latent-image"


def png_from_array(img: torch.Tensor, scale: int = 6) -> bytes:
    """A (H, W) tensor in [0, 1] as PNG bytes, enlarged ``scale`` times (nearest neighbour)."""
    arr = (img.detach().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    pil = PILImage.fromarray(arr, mode="L")
    if scale != 1:
        pil = pil.resize((arr.shape[1] * scale, arr.shape[0] * scale), PILImage.NEAREST)
    buf = io.BytesIO()
    pil.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=72)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.18, top=0.88)  # fixed: no layout engine per frame
    FigureCanvasAgg(fig)
    return fig


class _BlitPlot:
    """Redraw only the moving artists of a matplotlib figure (Agg), then encode the frame as PNG.

    A full draw (axes, ticks, labels, legend) happens in :meth:`full` -- when the axes
    limits change -- and is kept as a background; :meth:`fast` pastes the background and
    draws the ``animated`` artists on top, about ten times cheaper than a full draw.
    """

    def __init__(self, fig, animated):
        self.fig, self.canvas, self.animated = fig, fig.canvas, list(animated)
        for artist in self.animated:
            artist.set_animated(True)
        self.background = None

    def full(self) -> bytes:
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        return self.fast()

    def fast(self) -> bytes:
        if self.background is None:
            return self.full()
        self.canvas.restore_region(self.background)
        for artist in self.animated:
            artist.axes.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        frame = PILImage.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        frame.save(buf, format="PNG", compress_level=1)
        return buf.getvalue()


def png_from_canvas(fig) -> bytes:
    """The current pixels of a matplotlib ``Figure``'s Agg canvas as PNG bytes (no re-draw)."""
    canvas = fig.canvas
    width, height = canvas.get_width_height()
    rgba = PILImage.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    rgba.convert("RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


class _Explorer:
    """Shared plumbing: an Image widget, a text line, a timed ``update``."""

    result: dict
    last_seconds: float = float("nan")
    last_cpu_seconds: float = float("nan")
    widget: widgets.Widget

    def _timed(self, fn: Callable[[], None]) -> None:
        """Run one update; keep its wall time and the CPU time of this thread (robust to a busy machine)."""
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        self.last_seconds = time.perf_counter() - t0
        self.last_cpu_seconds = time.thread_time() - c0

    def _ipython_display_(self):  # pragma: no cover - exercised in the notebook only
        from IPython.display import display

        display(self.widget)
