"""Sliders that still move without a kernel: pre-computed frames and a small JavaScript slider in one HTML output.

A live ipywidgets slider needs a running kernel: on the course website, in an exported HTML page
or on a phone nothing recomputes the image when it moves. The stand-in built here is what
matplotlib's ``Animation.to_jshtml`` is for animations: a handful of frames computed while the
notebook ran, embedded as PNG data in a self-contained HTML snippet (no CDN, no external file)
with a native ``<input type="range">`` per :class:`Track` that swaps the frames. Without
JavaScript the first frame is an ordinary ``<img>`` and the (useless) controls stay hidden.

What lives here: :class:`Track` (one slider's frames), :func:`static_html` (the snippet) and
:func:`enabled` (whether explorers add it to their output). How an explorer makes its tracks --
sweeping its own controls -- is :meth:`course_utils.widgets.common._Explorer.static_tracks`.

The stand-in is added only when ``COURSE_STATIC_WIDGETS=1`` (the headless course run sets it, so
the executed notebooks the website is built from carry it). It rides in the *same* output as the
live widget, as its ``text/html`` alternative: JupyterLab, Colab and VS Code render the widget and
ignore it; a page without the widget manager (the course website) shows it.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
from dataclasses import dataclass, field

ENV_STATIC = "COURSE_STATIC_WIDGETS"
CSS_CLASS = "course-static-widget"  # the browser test looks for these classes
SLIDER_CLASS = "course-static-slider"
IMAGE_CLASS = "course-static-image"
MAX_BYTES = 2_000_000  # one stand-in larger than this is refused: choose fewer frames or smaller images


def enabled() -> bool:
    """True when explorers should add the static stand-in to their output (``COURSE_STATIC_WIDGETS=1``)."""
    return os.environ.get(ENV_STATIC, "").strip().lower() in ("1", "true", "yes")


@dataclass
class Track:
    """One slider of the stand-in: its name, a readout per frame and the frames (PNG bytes).

    ``start`` is the frame shown first: the live widget's value when the frames were made.
    """

    description: str
    labels: list[str]
    frames: list[bytes]
    start: int = 0
    alt: str = field(default="")

    def __post_init__(self):
        if not self.frames:
            raise ValueError(f"track {self.description!r} has no frames")
        if len(self.labels) != len(self.frames):
            raise ValueError(f"track {self.description!r}: {len(self.labels)} labels for {len(self.frames)} frames")
        if not 0 <= self.start < len(self.frames):
            raise ValueError(f"track {self.description!r}: start {self.start} outside 0..{len(self.frames) - 1}")
        for i, frame in enumerate(self.frames):
            if not isinstance(frame, bytes) or not frame.startswith(b"\x89PNG"):
                raise ValueError(f"track {self.description!r}: frame {i} is not PNG bytes")


def opaque_png(png: bytes) -> bytes:
    """``png`` composited over white (a frame must stay legible on a dark page); unchanged when already opaque."""
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    if "A" not in img.getbands() and "transparency" not in img.info:
        return png
    rgba = img.convert("RGBA")
    if rgba.getchannel("A").getextrema()[0] == 255:
        return png
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    buf = io.BytesIO()
    Image.alpha_composite(white, rgba).convert("RGB").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# The slider logic, inlined once per stand-in (about 600 bytes): find this stand-in's root by id,
# read each track's frames, reveal its controls, swap the image on input.
_SCRIPT = """(function () {
  var root = document.getElementById(%(id)s);
  if (!root || root.dataset.ready) { return; }
  root.dataset.ready = "1";
  root.querySelectorAll(".course-static-track").forEach(function (track) {
    var data = JSON.parse(track.querySelector("script.course-static-frames").textContent);
    var img = track.querySelector("img"), input = track.querySelector("input"), out = track.querySelector("output");
    function show(i) {
      img.src = data.frames[i];
      img.alt = data.description + " = " + data.labels[i];
      out.textContent = data.labels[i];
      input.setAttribute("aria-valuetext", data.labels[i]);
    }
    input.addEventListener("input", function () { show(Number(input.value)); });
    track.querySelector(".course-static-controls").hidden = false;
  });
})();"""


def static_html(tracks: list[Track], title: str = "", note: str | None = None) -> str:
    """A self-contained HTML snippet: per track an ``<img>`` of its start frame and a range slider over its frames.

    The snippet loads nothing from anywhere (frames are ``data:`` URIs, the script is inline), keeps
    working when several stand-ins share a page (each finds its root by a content-derived id), and
    shows the start frames as plain images when JavaScript is off.
    """
    if not tracks:
        raise ValueError("a static stand-in needs at least one track")
    frames = [[opaque_png(f) for f in t.frames] for t in tracks]
    digest = hashlib.sha1(b"".join(b"".join(fs) for fs in frames) + title.encode()).hexdigest()[:12]
    root_id = f"course-static-{digest}"
    note = ("Static copy of the widget: each slider moves on its own over frames computed when the "
            "notebook ran. Run the notebook for the live widget.") if note is None else note
    parts = [f'<div class="{CSS_CLASS}" id="{root_id}">']
    if title:
        parts.append(f'<p class="course-static-title"><b>{html.escape(title)}</b></p>')
    for t, fs in zip(tracks, frames, strict=True):
        uris = [_data_uri(f) for f in fs]
        alt = t.alt or f"{t.description} = {t.labels[t.start]}"
        label = html.escape(t.labels[t.start])
        # JSON inside <script>: "</" must not appear raw or it would close the element
        data = json.dumps({"description": t.description, "labels": t.labels, "frames": uris}).replace("</", "<\\/")
        parts += [
            '<div class="course-static-track" style="display:inline-block;vertical-align:top;margin:0 1em 1em 0">',
            f'<img class="{IMAGE_CLASS}" src="{uris[t.start]}" alt="{html.escape(alt)}" '
            'style="display:block;background:#fff">',
            '<div class="course-static-controls" hidden>',
            f'<label>{html.escape(t.description)} <input type="range" class="{SLIDER_CLASS}" min="0" '
            f'max="{len(fs) - 1}" step="1" value="{t.start}" aria-valuetext="{label}"></label>',
            f" <output>{label}</output>",
            "</div>",
            f'<script type="application/json" class="course-static-frames">{data}</script>',
            "</div>",
        ]
    if note:
        parts.append(f'<p class="course-static-note"><small>{html.escape(note)}</small></p>')
    parts.append(f"<script>{_SCRIPT % {'id': json.dumps(root_id)}}</script>")
    parts.append("</div>")
    out = "\n".join(parts)
    if len(out) > MAX_BYTES:
        raise ValueError(f"the static stand-in is {len(out) / 1e6:.1f} MB (limit {MAX_BYTES / 1e6:.0f} MB): "
                         "use fewer frames (max_frames) or smaller images")
    return out
