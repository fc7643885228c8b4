"""What the course's widgets share: PNG frames, a fast redraw of matplotlib figures, timed updates.

What lives here: :func:`png_from_array` (an image tensor as PNG bytes),
:func:`png_from_canvas` (a figure's current pixels), ``_new_figure`` (a matplotlib
``Figure`` on the Agg canvas -- never ``pyplot``, so nothing leaks into other
cells), :class:`_BlitPlot` (redraw only the moving artists)
and :class:`_Explorer`, the timed-update and display plumbing every explorer
inherits -- including the kernel-free stand-in of :mod:`course_utils.widgets.static`
(:meth:`_Explorer.static_tracks`, :meth:`_Explorer.static_html`). The explorers themselves are
in :mod:`course_utils.widgets.vae` (notebooks 01-05) and :mod:`course_utils.widgets.gan`
(notebooks 06-07).
"""
from __future__ import annotations

import io
import time
import weakref
from collections.abc import Callable

import ipywidgets as widgets
import torch
from PIL import Image as PILImage

from course_utils.core.plots import audit_figure
from course_utils.widgets import static

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


_AUDITED: weakref.WeakSet = weakref.WeakSet()


def _audit_once(fig) -> None:
    """Audit a widget's figure the first time it is drawn (a no-op unless ``COURSE_FIGURE_AUDIT`` is set)."""
    if fig not in _AUDITED:
        _AUDITED.add(fig)
        audit_figure(fig, "widget")


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
        _audit_once(self.fig)
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
    _audit_once(fig)
    canvas = fig.canvas
    width, height = canvas.get_width_height()
    rgba = PILImage.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    rgba.convert("RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


class _Explorer:
    """Shared plumbing: an Image widget, a text line, a timed ``update``, and the kernel-free stand-in.

    Displaying an explorer (``explorer`` as a cell's last line, or ``display(explorer)``) shows the
    live widget; with ``COURSE_STATIC_WIDGETS=1`` the same output also carries, as its ``text/html``
    alternative, the static stand-in of :meth:`static_html` -- what the course website shows. By
    default the stand-in sweeps each control in :attr:`static_controls` (default: ``self.sliders``)
    on its own, the others left where they are, and captures :meth:`static_images` (default:
    ``[self.image]``) after each step. Explorers whose controls do not fit that pattern override
    :meth:`static_tracks` (e.g. one track per latent pair, built with :meth:`sweep`).
    """

    result: dict
    last_seconds: float = float("nan")
    last_cpu_seconds: float = float("nan")
    widget: widgets.Widget
    static_title: str = ""
    static_max_frames: int = 21

    def _timed(self, fn: Callable[[], None]) -> None:
        """Run one update; keep its wall time and the CPU time of this thread (robust to a busy machine)."""
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        self.last_seconds = time.perf_counter() - t0
        self.last_cpu_seconds = time.thread_time() - c0

    # -- the kernel-free stand-in (course_utils.widgets.static)

    @property
    def static_controls(self) -> list:
        """The controls the stand-in sweeps, one track each (default: ``self.sliders``)."""
        return list(getattr(self, "sliders", []))

    def static_images(self) -> list:
        """The ``ipywidgets.Image`` widgets a frame captures, side by side: default, every one in ``self.widget``."""
        found, stack = [], [self.widget]
        while stack:
            w = stack.pop(0)
            if isinstance(w, widgets.Image):
                found.append(w)
            stack[:0] = list(getattr(w, "children", ()))
        return found

    def _frame(self) -> bytes:
        images = [w.value for w in self.static_images()]
        if len(images) == 1:
            return static.opaque_png(bytes(images[0]))
        tiles = [PILImage.open(io.BytesIO(bytes(b))).convert("RGB") for b in images]
        gap = 8
        canvas = PILImage.new("RGB", (sum(t.width for t in tiles) + gap * (len(tiles) - 1),
                                      max(t.height for t in tiles)), (255, 255, 255))
        x = 0
        for t in tiles:
            canvas.paste(t, (x, 0))
            x += t.width + gap
        buf = io.BytesIO()
        canvas.save(buf, format="PNG", compress_level=6)
        return buf.getvalue()

    def sweep(self, control, max_frames: int | None = None, description: str | None = None) -> static.Track:
        """Move ``control`` over up to ``max_frames`` of its values, capture a frame at each, put it back.

        The live widget's value is the track's start frame. Works for sliders (float, int,
        selection) and option widgets (dropdowns, toggle buttons).
        """
        values, labels = sweep_values(control, max_frames or self.static_max_frames)
        original = control.value
        start = values.index(original) if original in values else 0
        frames = []
        try:
            for v in values:
                control.value = v
                frames.append(self._frame())
        finally:
            control.value = original
        return static.Track(description or control.description or "value", labels, frames, start)

    def static_tracks(self) -> list[static.Track]:
        """The stand-in's tracks: by default one :meth:`sweep` per control in :attr:`static_controls`.

        Empty when the explorer has no ``static_controls`` (then it has no stand-in).
        """
        return [self.sweep(c) for c in self.static_controls]

    def static_html(self) -> str | None:
        """The self-contained HTML stand-in (frames + a JavaScript slider per track), or None without tracks."""
        tracks = self.static_tracks()
        return static.static_html(tracks, title=self.static_title) if tracks else None

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_()
        if static.enabled():
            stand_in = self.static_html()
            if stand_in:
                bundle["text/html"] = stand_in
        return bundle

    def _ipython_display_(self):
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)


def sweep_values(control, max_frames: int) -> tuple[list, list[str]]:
    """Up to ``max_frames`` values of a slider or option widget, evenly spread and including its current
    value, and their readouts (what the widget would show)."""
    if max_frames < 2:
        raise ValueError(f"max_frames must be at least 2, got {max_frames}")
    if hasattr(control, "options") and not hasattr(control, "min"):  # SelectionSlider, Dropdown, ToggleButtons
        labels_all = list(control._options_labels)
        values_all = list(control._options_values)
        idx = _spread(len(values_all), max_frames, values_all.index(control.value))
        return [values_all[i] for i in idx], [labels_all[i] for i in idx]
    lo, hi, step = control.min, control.max, control.step
    if isinstance(control, widgets.IntSlider):
        n = (hi - lo) // step + 1
        idx = _spread(n, max_frames, (control.value - lo) // step)
        values = [lo + i * step for i in idx]
        return values, [str(v) for v in values]
    n = int(round((hi - lo) / step)) + 1
    current = int(round((control.value - lo) / step))
    idx = _spread(n, max_frames, current)
    fmt = getattr(control, "readout_format", ".2f") or ".2f"
    values = [control.value if i == current else round(lo + i * step, 10) for i in idx]
    return values, [format(v, fmt) for v in values]


def _spread(n: int, k: int, must: int) -> list[int]:
    """``min(n, k)`` indices of ``range(n)``, evenly spread, ends included, with ``must`` among them."""
    if n <= k:
        return list(range(n))
    idx = sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})
    if must not in idx:
        nearest = min(range(len(idx)), key=lambda j: abs(idx[j] - must))
        idx[nearest] = must
        idx = sorted(set(idx))
    return idx
