"""Notebook 06's live 2-D GAN view: the game of :mod:`course_utils.toys.live2d` trained in the kernel while it is drawn.

What lives here:

- :class:`LiveGANView`, an `anywidget <https://anywidget.dev>`_ widget. The drawing is JavaScript on
  canvases (``live2d_view.js``: D's output as a heat map, the generator's image of a latent grid, real
  and fake samples, for each fake the arrow along which G's loss moves it, and charts of the losses, the
  binned JSD, W1 and the modes captured); the kernel sends numbers, never images. Playing *pulls*
  frames (``live2d_widget.js``): the browser asks for one, the kernel runs ``steps_per_frame`` game
  steps and answers with a frame, and the next request goes out when it has been drawn. One request
  is in flight at a time, so the kernel stays free between frames: a cell the student runs meanwhile is
  executed between two frames, and playing resumes after it.
- :func:`encode_frame`: one frame as a message (small JSON and float32 buffers), or, for the replay,
  quantised and base64-encoded inside the JSON.
- :func:`record_replay`, :func:`replay_html`, :data:`REPLAY_PRESETS`: runs of a few preset settings,
  recorded a frame every so many steps, and a self-contained HTML replay of them (the same drawing code,
  play / pause and a slider; no remote loads). A displayed :class:`LiveGANView` carries the replay as its
  ``text/html`` alternative when ``COURSE_STATIC_WIDGETS=1`` (the headless course run), which is what the
  course website shows.

What does not: the game itself (its steps, losses, distances and controls), which is
:mod:`course_utils.toys.live2d`.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import asdict, fields
from pathlib import Path

import anywidget
import torch
import traitlets

from course_utils.toys.live2d import DATASETS, LOSSES, OPTIMIZERS, GameSettings, LiveGame
from course_utils.widgets import static
from course_utils.widgets.common import _spread

_HERE = Path(__file__).resolve().parent
_VIEW_JS = (_HERE / "live2d_view.js").read_text()
REPLAY_CLASS = "course-live2d-replay"  # the website test looks for it
LEARNING_RATES = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 1e-1)
STEPS_PER_FRAME = (1, 2, 5, 10, 20, 50)
HISTORY_POINTS = 400  # the loss and distance charts get at most this many points (evenly spaced, the last kept)
REPLAY_HISTORY_POINTS = 120  # ... in the replay's frames
_CONTROLS = ("data", "generator_loss", "d_steps", "lr_d", "lr_g", "optimizer", "seed")

_CSS = """
.course-live2d, .course-live2d-replay { font: 12px sans-serif; color: #222; background: #fff; padding: 4px; }
.live2d-bar { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: center; margin: 2px 0; }
.live2d-panes { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
.live2d-legend, .live2d-layers, .live2d-readout, .live2d-message { margin: 2px 0; }
.live2d-message { color: #8a1c1c; min-height: 1em; }
.course-live2d-replay .live2d-message { color: #333; }
.live2d-box canvas { border: 0; }
"""


def _pick(rows: list[dict], n: int) -> list[dict]:
    """At most ``n`` of ``rows``, evenly spread, the first and the last kept."""
    return [rows[i] for i in _spread(len(rows), n, len(rows) - 1)] if rows else rows


def _columns(rows: list[dict], keys: tuple[str, ...], digits: int | None = None) -> dict:
    if digits is None:
        return {k: [r[k] for r in rows] for k in keys}
    return {k: [round(r[k], digits) for r in rows] for k in keys}


def encode_frame(game: LiveGame, frame: dict | None = None, quantise: bool = False) -> tuple[dict, list[bytes]]:
    """One frame of ``game`` as ``(content, buffers)``: the view's message.

    ``quantise=False`` (live): arrays as float32 message buffers. ``quantise=True`` (replay): arrays inside
    the JSON as base64 -- positions and arrows as int16 with a per-array scale, D's heat map as uint8
    (steps of 1/255) -- about a third of the float32 size; no buffers; the charts' series at most
    :data:`REPLAY_HISTORY_POINTS` points, rounded to 4 decimals.
    """
    frame = game.frame() if frame is None else frame
    arrays = {"real": frame["real"], "fake": frame["fake"], "heat": frame["heat"], "arrows": frame["arrows"],
              "lines": frame["latent_lines"]}
    content_arrays, buffers = {}, []
    points, digits = (REPLAY_HISTORY_POINTS, 4) if quantise else (HISTORY_POINTS, None)
    for name, t in arrays.items():
        t = t.detach().float().contiguous().reshape(-1)
        if not quantise:
            content_arrays[name] = {"dtype": "f4", "buffer": len(buffers)}
            buffers.append(t.numpy().tobytes())
            continue
        if name == "heat":
            raw, spec = (t.clamp(0, 1) * 255).round().to(torch.uint8), {"dtype": "u1", "scale": 1 / 255}
        else:
            top = float(t.abs().max()) if t.numel() else 0.0
            scale = max(top, 1e-12) / 32767
            raw, spec = (t / scale).round().clamp(-32767, 32767).to(torch.int16), {"dtype": "i2", "scale": scale}
        spec["b64"] = base64.b64encode(raw.numpy().tobytes()).decode("ascii")
        content_arrays[name] = spec
    content = {
        "type": "frame", "step": frame["step"], "settings": frame["settings"], "extent": game.extent,
        "grid": game.grid_size, "lines_shape": list(frame["latent_lines"].shape[:2]), "arrays": content_arrays,
        "history": _columns(_pick(frame["history"], points), ("step", "d_loss", "g_loss"), digits),
        "metrics": _columns(_pick(frame["metrics"], points), ("step", "jsd", "w1", "captured"), digits),
        "floors": frame["floors"], "n_modes": frame["modes"]["n_modes"],
    }
    return content, buffers


class LiveGANView(anywidget.AnyWidget):
    """The live 2-D GAN: display it, press play, change the controls while it runs.

    Each control is a trait (``view.d_steps = 5`` in a cell does what the menu does) and acts from the next
    step; a new seed or data set starts over (reset). :meth:`step` plays from Python (what the tests do).
    ``replay`` (recordings of :func:`record_replay`) or ``replay_steps`` (record them when needed) give the
    replay that stands in for the view outside a kernel.
    """

    _esm = _VIEW_JS + "\n" + (_HERE / "live2d_widget.js").read_text()
    _css = _CSS
    data = traitlets.Unicode("ring").tag(sync=True)
    generator_loss = traitlets.Unicode("non-saturating").tag(sync=True)
    d_steps = traitlets.Int(1).tag(sync=True)
    lr_d = traitlets.Float(1e-3).tag(sync=True)
    lr_g = traitlets.Float(2e-4).tag(sync=True)
    optimizer = traitlets.Unicode("adam").tag(sync=True)
    seed = traitlets.Int(0).tag(sync=True)
    steps_per_frame = traitlets.Int(5).tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    options = traitlets.Dict().tag(sync=True)

    def __init__(self, settings: GameSettings | None = None, steps_per_frame: int = 5,
                 replay: list[dict] | None = None, replay_steps: int | None = None, **game_kwargs):
        self.game = LiveGame(settings, **game_kwargs)
        s = self.game.settings
        options = {"data": list(DATASETS), "generator_loss": list(LOSSES), "optimizer": list(OPTIMIZERS),
                   "d_steps": [1, 2, 3, 4, 5], "seed": list(range(10)),
                   "lr_d": sorted(set(LEARNING_RATES) | {s.lr_d}), "lr_g": sorted(set(LEARNING_RATES) | {s.lr_g}),
                   "steps_per_frame": sorted(set(STEPS_PER_FRAME) | {int(steps_per_frame)})}
        if s.seed not in options["seed"]:
            options["seed"] = sorted(options["seed"] + [s.seed])
        super().__init__(options=options, steps_per_frame=int(steps_per_frame),
                         **{name: getattr(s, name) for name in _CONTROLS})
        self.replay, self.replay_steps = replay, replay_steps
        self.observe(self._on_control, names=list(_CONTROLS))
        self.on_msg(self._on_message)

    # -- controls and messages
    def _on_control(self, change) -> None:
        name, old = change["name"], change["old"]
        try:
            value = change["new"]
            if name in ("d_steps", "seed"):
                value = int(value)
            self.game.update(**{name: value})
        except (TypeError, ValueError) as err:
            self.set_trait(name, old)  # back to the value in force (its own notification applies nothing new)
            self.error = f"{name} = {change['new']!r} not applied: {err}"
            return
        self.error = ""
        self.push()  # drawn at once: a new seed or data set starts over; a new G loss turns the arrows

    def _on_message(self, _widget, content, _buffers) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "tick":
            if self.playing:
                self.game.step(self.steps_per_frame)
        elif kind == "step":
            self.game.step(1)
        elif kind == "reset":
            self.game.reset()
        elif kind != "frame":
            return
        self.push(reply=str(content.get("view", "")) or True)

    # -- from Python
    def step(self, n: int = 1) -> None:
        """Play ``n`` game steps (each: ``d_steps`` D updates, one G update), then send the frame."""
        self.game.step(int(n))
        self.push()

    def reset(self) -> None:
        """Back to the seed's initial state (step 0), and send the frame."""
        self.game.reset()
        self.push()

    def push(self, reply: str | bool = False) -> dict:
        """Measure, encode and send the current frame to every displayed view; returns its content.

        ``reply`` names the view whose request this answers (every view draws the frame; only that one,
        if playing, asks for the next, so two views of one widget do not double the pace; a frame sent
        because a control changed answers nobody)."""
        self.game.measure()
        content, buffers = encode_frame(self.game)
        content["reply"] = reply
        self.send(content, buffers)
        return content

    # -- outside a kernel: the replay
    def _repr_mimebundle_(self, **kwargs):
        """The widget; with ``COURSE_STATIC_WIDGETS=1`` also its replay as ``text/html`` (recorded here, once,
        for ``replay_steps`` steps of each preset, unless recordings were given)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if static.enabled() and self.replay is None and self.replay_steps:
            self.replay = record_replay(self.replay_steps)
        if static.enabled() and self.replay:
            data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
            data = dict(data)
            data["text/html"] = replay_html(self.replay)
            return (data, metadata) if isinstance(bundle, tuple) else data
        return bundle


# The replay's presets: (name, what it shows, settings changes from GameSettings()). Seed 0 each.
REPLAY_PRESETS = (
    ("non-saturating G loss, 1 D step", "The default game: Adam, lr D 1e-3, lr G 2e-4, 1 D step per G step.", {}),
    ("saturating G loss, 1 D step", "As the default, with G minimising log(1 - D(G(z))).",
     {"generator_loss": "saturating"}),
    ("non-saturating, 5 D steps", "As the default, with five D steps per G step.", {"d_steps": 5}),
    ("large learning rates", "Both learning rates 1e-2 (the default's 10x and 50x).", {"lr_d": 1e-2, "lr_g": 1e-2}),
    ("two clusters", "The default game on two far-apart clusters.", {"data": "two-clusters"}),
)
REPLAY_NOTE = ("One recorded run (seed 0) per setting, a frame every so many steps; other seeds end differently "
               "(the notebook's worked answers give five). Switching the G loss on the same networks, and every "
               "other control, needs the live view: run the notebook.")


def record_replay(steps: int, n_frames: int = 21, presets=REPLAY_PRESETS, n_show: int = 256,
                  grid: int = 40) -> list[dict]:
    """Play each preset for ``steps`` G steps from its seed and record ``n_frames`` frames, evenly spaced
    (step 0 and the last included), quantised for :func:`replay_html`."""
    if steps < 1 or n_frames < 2:
        raise ValueError(f"record_replay needs steps >= 1 and n_frames >= 2, got steps={steps}, n_frames={n_frames}")
    marks = sorted({round(i * steps / (n_frames - 1)) for i in range(n_frames)})
    recordings = []
    for name, description, changes in presets:
        game = LiveGame(GameSettings(**changes), n_show=n_show, grid=grid)
        frames = []
        for mark in marks:
            game.step(mark - game.steps)
            game.measure()
            frames.append(encode_frame(game, quantise=True)[0])
        settings = ", ".join(f"{f.name}={getattr(game.settings, f.name)}" for f in fields(GameSettings))
        recordings.append({"name": name, "description": f"{description} Recorded: {settings}.",
                           "settings": asdict(game.settings), "frames": frames})
    return recordings


def replay_html(recordings: list[dict], title: str = "The live 2-D GAN, replayed") -> str:
    """A self-contained HTML replay of ``recordings`` (from :func:`record_replay`): the live view's drawing,
    a run menu, play / pause and a slider over the recorded frames. Without JavaScript it says what it is."""
    if not recordings or any(not r.get("frames") for r in recordings):
        raise ValueError("replay_html needs at least one recording with frames (see record_replay)")
    payload = json.dumps({"presets": recordings}, separators=(",", ":")).replace("</", "<\\/")
    root_id = "course-live2d-" + hashlib.sha1(payload.encode()).hexdigest()[:12]
    script = ("(function () {\nvar ROOT_ID = " + json.dumps(root_id) + ";\n" + _VIEW_JS + "\n"
              + (_HERE / "live2d_replay.js").read_text() + "\n})();")
    parts = [
        f'<div class="{static.CSS_CLASS} {REPLAY_CLASS}" id="{root_id}">',
        f"<style>{_CSS}</style>",
        f'<p class="course-static-title"><b>{html.escape(title)}</b></p>',
        '<p class="live2d-replay-fallback"><i>A replay of recorded runs of the live 2-D GAN view; it needs '
        "JavaScript. Run notebook 06 for the live view.</i></p>",
        f'<script type="application/json" class="live2d-replay-data">{payload}</script>',
        f'<p class="course-static-note"><small>Recorded when the notebook ran. {html.escape(REPLAY_NOTE)}'
        "</small></p>",
        f"<script>{script}</script>",
        "</div>",
    ]
    out = "\n".join(parts)
    if len(out) > static.MAX_BYTES:
        raise ValueError(f"the replay is {len(out) / 1e6:.1f} MB (limit {static.MAX_BYTES / 1e6:.0f} MB): "
                         "record fewer frames or presets")
    return out
