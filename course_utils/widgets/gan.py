"""Interactive widgets for the GAN notebooks (ipywidgets 8), with their logic in plain functions.

What lives here:

- :class:`ToyGANExplorer` (notebook 06): choose the generator's loss, its optimizer
  and both learning rates of the 1-D toy GAN (:mod:`course_utils.toys.gan1d`), then
  slide through training to watch the game: data density, generator samples and
  the discriminator's D(x), next to mean D(x) and D(G(z)) over the steps.
- :class:`RingExplorer` (notebook 06): pick the generator's loss and the training step of
  the ring-of-Gaussians GAN (:mod:`course_utils.toys.ring`): the samples, the 8 modes
  (green when captured) and the count of modes captured over training.
- :class:`InterpolationExplorer` (notebook 07): choose a pair of latent points
  and a path (straight line or arc), and slide along it; the decoded image
  updates at once, and a strip shows the whole path with the current point framed.

The plain functions :func:`toy_frame`, :func:`ring_frame` and :func:`interpolation_frame` compute what
a widget shows; the widgets only draw it (PIL for images, a matplotlib ``Figure``
on the Agg canvas for plots -- never ``pyplot``, so nothing leaks into other
cells). Tests set ``widget.value`` and read ``explorer.result``,
``explorer.last_seconds`` (wall time of the last update) and
``explorer.last_cpu_seconds`` (this thread's CPU time: robust on a busy machine)
without a browser.
"""
from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
import torch

from course_utils.gan.interpolation import latent_path
from course_utils.toys.gan1d import ToyConfig, ToyRun, jensen_shannon, kde, snapshot_jsd, train_toy_gan
from course_utils.toys.ring import RingRun, ring_centres
from course_utils.widgets.common import IMAGE_CLASS, SLIDER_CLASS, png_from_array, png_from_canvas
from course_utils.widgets.common import _Explorer as _Timed  # timed update + notebook display, shared


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


# --------------------------------------------------------------------------- 06: the toy GAN

def toy_frame(run: ToyRun, index: int, bins: np.ndarray | None = None, jsd: list[float] | None = None) -> dict:
    """What the toy explorer shows at snapshot ``index`` of ``run``.

    Returns ``step``, the generator samples' histogram (``density`` over ``edges``,
    normalised like a density), ``d`` (D(x) on ``run.grid``), ``p_data`` on the grid,
    the mean D(x) / D(G(z)) per step so far (``d_real``, ``d_fake``), the
    samples' ``mean`` and ``std`` next to the data's, and ``jsd``: JSD(p_data, p_g) of the
    snapshot (p_g a KDE of the samples; from ``jsd`` if given, e.g. :func:`snapshot_jsd` of the run).
    """
    if not 0 <= index < len(run.snapshots):
        raise IndexError(f"snapshot index {index} outside 0..{len(run.snapshots) - 1}")
    snap = run.snapshots[index]
    grid = run.grid
    edges = np.linspace(float(grid[0]), float(grid[-1]), 121) if bins is None else bins
    samples = snap["samples"].numpy()
    density, _ = np.histogram(samples, bins=edges, density=True)  # samples outside the grid are left out
    step = snap["step"]
    return {
        "step": step,
        "edges": edges,
        "density": density,
        "d": snap["d"].numpy(),
        "p_data": run.config.data.pdf(grid).numpy(),
        "d_real": [h["d_real"] for h in run.history[:step]],
        "d_fake": [h["d_fake"] for h in run.history[:step]],
        "mean": float(samples.mean()),
        "std": float(samples.std()),
        "data_mean": run.config.data.mean,
        "data_std": run.config.data.std,
        "jsd": jsd[index] if jsd is not None else snapshot_jsd_at(run, index),
    }


def snapshot_jsd_at(run: ToyRun, index: int) -> float:
    """JSD(p_data, KDE of snapshot ``index``'s samples), in nats."""
    return jensen_shannon(run.grid, run.config.data.pdf(run.grid), kde(run.snapshots[index]["samples"], run.grid))


class ToyGANExplorer(_Timed):
    """Controls for the toy GAN's generator loss, generator optimizer, learning rates and D steps per G step, and a
    training-step slider.

    Changing a control trains the toy GAN with those settings (a few seconds; each
    setting is trained once and remembered); the step slider then only redraws.

    Args:
        base: the :class:`~course_utils.toys.gan1d.ToyConfig` the controls start from
            (its other settings are kept).
        lr_options: the learning rates both sliders offer (must include ``base``'s).
        trainer: the function that trains a config (tests pass a faster one).
        runs: runs already trained (e.g. the notebook's), so they are not trained again.
    """

    LR_OPTIONS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)

    def __init__(self, base: ToyConfig | None = None, lr_options=LR_OPTIONS,
                 trainer: Callable[[ToyConfig], ToyRun] = train_toy_gan, runs: tuple[ToyRun, ...] = ()):
        self.base = base if base is not None else ToyConfig()
        self.trainer = trainer
        self.runs: dict[tuple, ToyRun] = {self._key(r.config): r for r in runs if self._same_base(r.config)}
        self.jsd: dict[tuple, list[float]] = {}  # per run: JSD of each snapshot, computed once
        options = sorted(set(lr_options) | {self.base.lr_d, self.base.lr_g})
        fmt = [(f"{v:g}", v) for v in options]
        self.loss = widgets.ToggleButtons(options=["non-saturating", "saturating"],
                                          value=self.base.generator_loss, description="G loss")
        self.optimizer = widgets.ToggleButtons(options=["adam", "sgd"], value=self.base.g_optimizer,
                                               description="G optimizer")
        self.lr_d = widgets.SelectionSlider(options=fmt, value=self.base.lr_d, description="lr of D",
                                            continuous_update=False)
        self.lr_g = widgets.SelectionSlider(options=fmt, value=self.base.lr_g, description="lr of G",
                                            continuous_update=False)
        self.d_steps = widgets.ToggleButtons(options=sorted({1, 2, 5, self.base.d_steps}), value=self.base.d_steps,
                                             description="D steps per G step")
        self.step = widgets.IntSlider(value=0, min=0, max=0, description="snapshot", continuous_update=True)
        self.image = widgets.Image(format="png")
        self.label = widgets.HTML()
        self._build_figure()
        for control in (self.loss, self.optimizer, self.lr_d, self.lr_g, self.d_steps):
            control.observe(self._on_setting, names="value")
        self.step.observe(self._on_step, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.loss, self.optimizer]),
                                    widgets.HBox([self.lr_d, self.lr_g]), self.d_steps, self.step, self.image,
                                    self.label])
        self._on_setting(None)

    @property
    def static_controls(self) -> list:
        """The stand-in sweeps the training step only: the other controls would train new GANs."""
        return [self.step]

    # -- state
    @property
    def config(self) -> ToyConfig:
        """The config the controls describe."""
        from dataclasses import replace

        return replace(self.base, generator_loss=self.loss.value, g_optimizer=self.optimizer.value,
                       lr_d=float(self.lr_d.value), lr_g=float(self.lr_g.value), d_steps=int(self.d_steps.value))

    @staticmethod
    def _key(config: ToyConfig) -> tuple:
        return (config.generator_loss, config.g_optimizer, config.lr_d, config.lr_g, config.d_steps)

    def _same_base(self, config: ToyConfig) -> bool:
        """Whether ``config`` differs from the base only in the settings the controls change."""
        from dataclasses import replace

        return replace(config, generator_loss=self.base.generator_loss, g_optimizer=self.base.g_optimizer,
                       lr_d=self.base.lr_d, lr_g=self.base.lr_g, d_steps=self.base.d_steps) == self.base

    def run_for(self, config: ToyConfig) -> ToyRun:
        """The trained run of ``config`` (trained on first use, then remembered with its snapshots' JSD)."""
        key = self._key(config)
        if key not in self.runs:
            self.runs[key] = self.trainer(config)
        if key not in self.jsd:
            self.jsd[key] = snapshot_jsd(self.runs[key])
        return self.runs[key]

    @property
    def run(self) -> ToyRun:
        return self.run_for(self.config)

    # -- callbacks
    def _on_setting(self, change) -> None:
        self.label.value = "<i>training the toy GAN ...</i>"
        run = self.run
        self._draw_background(run)
        last = len(run.snapshots) - 1
        with self.step.hold_trait_notifications():
            self.step.max = last
            self.step.value = last
        self.update()

    def _on_step(self, change) -> None:
        self.update()

    # -- drawing: the parts that stay for a run are drawn once ("background"); a snapshot
    #    only redraws the histogram, D(x) and the time marker on top of it (blitting)
    def _build_figure(self) -> None:
        fig = self.fig = _figure(9.0, 3.0)
        fig.set_dpi(72)
        fig.subplots_adjust(left=0.07, right=0.93, bottom=0.17, top=0.88, wspace=0.42)
        ax, ax_t = self.ax, self.ax_t = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
        ax_d = self.ax_d = ax.twinx()
        (self.data_line,) = ax.plot([], [], color="C0", lw=2, label="p_data")
        self.hist = ax.stairs(np.zeros(1), np.array([0.0, 1.0]), fill=True, color="C1", alpha=0.5,
                              label="generator samples", animated=True)
        (self.d_line,) = ax_d.plot([], [], color="C2", lw=1.5, label="D(x)", animated=True)
        ax_d.axhline(0.5, color="C2", ls=":", lw=1)
        ax_d.set_ylim(0, 1)
        ax_d.set_ylabel("D(x) (probability real)", color="C2")
        ax.set_xlabel("x")
        ax.set_ylabel("density")
        ax.set_title("Data, generator samples and the discriminator", fontsize=10)
        handles = [self.data_line, self.hist, self.d_line]
        ax.legend(handles, [h.get_label() for h in handles], loc="upper left", fontsize=7)
        (self.real_line,) = ax_t.plot([], [], color="C0", lw=1, label="mean D(x), real")
        (self.fake_line,) = ax_t.plot([], [], color="C1", lw=1, label="mean D(G(z)), fake")
        ax_t.axhline(0.5, color="gray", ls=":", lw=1)
        self.now_line = ax_t.axvline(0, color="k", lw=1, animated=True)
        ax_t.set_ylim(0, 1)
        ax_t.set_xlabel("training step")
        ax_t.set_ylabel("discriminator output")
        ax_t.set_title("The game over time", fontsize=10)
        ax_t.legend(loc="upper right", fontsize=7)
        self._background = None

    def _draw_background(self, run: ToyRun) -> None:
        x = run.grid.numpy()
        p = run.config.data.pdf(run.grid).numpy()
        self.data_line.set_data(x, p)
        self.ax.set_xlim(x[0], x[-1])
        self.ax.set_ylim(0, 1.35 * float(p.max()))
        steps = np.arange(1, len(run.history) + 1)
        self.real_line.set_data(steps, [h["d_real"] for h in run.history])
        self.fake_line.set_data(steps, [h["d_fake"] for h in run.history])
        self.ax_t.set_xlim(0, max(len(run.history), 1))
        self.fig.canvas.draw()
        self._background = self.fig.canvas.copy_from_bbox(self.fig.bbox)

    def update(self) -> None:
        def work():
            run = self.run
            r = toy_frame(run, self.step.value, jsd=self.jsd[self._key(self.config)])
            canvas = self.fig.canvas
            canvas.restore_region(self._background)
            self.hist.set_data(np.minimum(r["density"], self.ax.get_ylim()[1]), r["edges"])
            self.d_line.set_data(run.grid.numpy(), r["d"])
            self.now_line.set_xdata([r["step"], r["step"]])
            self.ax.draw_artist(self.hist)
            self.ax_d.draw_artist(self.d_line)
            self.ax_t.draw_artist(self.now_line)
            self.image.value = png_from_canvas(self.fig)
            self.result = r
        self._timed(work)
        c, r = self.config, self.result
        self.label.value = (f"{c.generator_loss} loss, {c.g_optimizer.upper()} for G, lr D = {c.lr_d:g}, "
                            f"lr G = {c.lr_g:g}. <b>Step {r['step']} of {c.steps}</b>: samples mean "
                            f"{r['mean']:.2f}, std {r['std']:.2f} (data: {r['data_mean']:.2f}, {r['data_std']:.2f}); "
                            f"<b>JSD(p_data, p_g) = {r['jsd']:.3f} nats</b> (p_g: KDE of the samples)"
                            f" &nbsp; <small>drawn in {1000 * self.last_seconds:.0f} ms</small>")


# --------------------------------------------------------------------------- 06: mode collapse on the ring

def ring_frame(run: RingRun, index: int) -> dict:
    """What the ring explorer shows at snapshot ``index``: step, samples, modes captured, the counts so far."""
    if not 0 <= index < len(run.snapshots):
        raise IndexError(f"snapshot index {index} outside 0..{len(run.snapshots) - 1}")
    snap = run.snapshots[index]
    return {"step": snap["step"], "samples": snap["samples"].numpy(), "per_mode": list(snap["per_mode"]),
            "captured": snap["captured"], "high_quality": snap["high_quality"],
            "steps_so_far": [s["step"] for s in run.snapshots[:index + 1]],
            "captured_so_far": run.captured()[:index + 1]}


class RingExplorer(_Timed):
    """A dropdown for the generator's loss and a slider for the training step of the ring GAN.

    Args:
        runs: ``{label: RingRun}`` trained in the notebook (e.g. one per generator loss), all
            with the same ``snapshot_every`` and ``steps``.
    """

    def __init__(self, runs: dict[str, RingRun]):
        if not runs:
            raise ValueError("RingExplorer needs at least one run")
        lengths = {len(r.snapshots) for r in runs.values()}
        if len(lengths) != 1:
            raise ValueError(f"all runs need the same snapshots to share the step slider, got {sorted(lengths)}")
        self.runs = dict(runs)
        first = next(iter(self.runs.values()))
        self.loss = widgets.Dropdown(options=list(self.runs), value=next(iter(self.runs)), description="G loss")
        self.step = widgets.SelectionSlider(options=[(str(s["step"]), i) for i, s in enumerate(first.snapshots)],
                                            value=len(first.snapshots) - 1, description="step",
                                            continuous_update=True)
        self.image = widgets.Image(format="png")
        self.label = widgets.HTML()
        self._build_figure(first)
        self.loss.observe(self._on_loss, names="value")
        self.step.observe(lambda change: self.update(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.loss, self.step]), self.image, self.label])
        self._on_loss(None)

    @property
    def run(self) -> RingRun:
        return self.runs[self.loss.value]

    @property
    def static_controls(self) -> list:
        """The stand-in sweeps the loss (at the last step) and the training step (for the first loss)."""
        return [self.loss, self.step]

    def _build_figure(self, run: RingRun) -> None:
        fig = self.fig = _figure(8.0, 3.4)
        fig.set_dpi(72)
        fig.subplots_adjust(left=0.06, right=0.97, bottom=0.15, top=0.88, wspace=0.3)
        ax, ax_t = self.ax, self.ax_t = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
        centres = ring_centres(run.config).numpy()
        lim = 1.6 * run.config.radius
        self.points = ax.scatter([], [], s=2, alpha=0.3, color="C1", animated=True)
        self.marks = ax.scatter(centres[:, 0], centres[:, 1], s=70, facecolors="none", edgecolors="C3", lw=1.5,
                                animated=True)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("samples (circles: modes, green = captured)", fontsize=10)
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        (self.curve,) = ax_t.plot([], [], color="C0")
        self.now = ax_t.axvline(0, color="k", lw=1, animated=True)
        ax_t.axhline(run.config.n_modes, color="gray", ls=":", lw=1)
        ax_t.set_ylim(-0.3, run.config.n_modes + 0.5)
        ax_t.set_xlabel("training step")
        ax_t.set_ylabel("modes captured")
        ax_t.set_title("modes captured over training", fontsize=10)
        self._background = None

    def _on_loss(self, change) -> None:
        run = self.run
        self.curve.set_data([s["step"] for s in run.snapshots], run.captured())
        self.ax_t.set_xlim(0, max(run.snapshots[-1]["step"], 1))
        self.fig.canvas.draw()
        self._background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        self.update()

    def update(self) -> None:
        def work():
            r = ring_frame(self.run, self.step.value)
            canvas = self.fig.canvas
            canvas.restore_region(self._background)
            self.points.set_offsets(r["samples"])
            self.marks.set_edgecolors(["C2" if c else "C3" for c in r["per_mode"]])
            self.now.set_xdata([r["step"], r["step"]])
            self.ax.draw_artist(self.points)
            self.ax.draw_artist(self.marks)
            self.ax_t.draw_artist(self.now)
            self.image.value = png_from_canvas(self.fig)
            self.result = r
        self._timed(work)
        r = self.result
        self.label.value = (f"{self.loss.value}: <b>step {r['step']}</b>, {r['captured']} of "
                            f"{len(r['per_mode'])} modes captured, {100 * r['high_quality']:.0f}% of the samples "
                            f"within 3 std of a mode &nbsp; <small>drawn in {1000 * self.last_seconds:.0f} ms</small>")


# --------------------------------------------------------------------------- 07: latent interpolation

@torch.no_grad()
def interpolation_frame(decode: Callable[[torch.Tensor], torch.Tensor], z0: torch.Tensor, z1: torch.Tensor,
                        steps: int, index: int, method: str = "linear") -> dict:
    """The point ``index`` (0 = ``z0``, ``steps - 1`` = ``z1``) of the path and its decoded image.

    ``decode`` maps latent points (N, D) to images (N, 784) with pixels in [0, 1].
    Returns ``{"t", "z", "norm", "image"}`` with ``image`` a (28, 28) tensor in [0, 1].
    """
    if not 0 <= index < steps:
        raise IndexError(f"step {index} outside 0..{steps - 1}")
    z = latent_path(z0, z1, steps, method)[index]
    image = decode(z.reshape(1, -1)).reshape(28, 28).detach().cpu().clamp(0, 1)
    return {"t": index / (steps - 1), "z": z, "norm": float(z.norm()), "image": image}


def _strip_png(images: torch.Tensor, current: int, scale: int = 2) -> bytes:
    """A row of (28, 28) images in [0, 1] with a white frame around image ``current``."""
    n = len(images)
    pad = 2
    canvas = torch.zeros(28 + 2 * pad, n * (28 + 2 * pad))
    for i, img in enumerate(images):
        x0 = i * (28 + 2 * pad)
        if i == current:
            canvas[:, x0:x0 + 28 + 2 * pad] = 1.0
        canvas[pad:pad + 28, x0 + pad:x0 + pad + 28] = img
    return png_from_array(canvas, scale)


class InterpolationExplorer(_Timed):
    """Choose a latent pair and a path; slide along it and watch the decoded image.

    Args:
        decode: latent points (N, D) -> images (N, 784) with pixels in [0, 1], e.g.
            ``lambda z: to_unit(sample(generator, z))`` for the GAN.
        z0, z1: the candidate pairs, two tensors of shape (P, D) (pair i runs from z0[i] to z1[i]).
        steps: points on each path, both ends included (the slider moves one point per key press).
        method: the path to start with, ``"linear"`` (lerp) or ``"spherical"`` (slerp).
        scale: enlargement of the 28x28 image (nearest neighbour); shown at ``width``.

    The slider has the CSS class ``course-latent-slider`` and the image
    ``course-latent-image`` (the browser test looks for them).
    """

    def __init__(self, decode: Callable[[torch.Tensor], torch.Tensor], z0: torch.Tensor, z1: torch.Tensor,
                 steps: int = 15, method: str = "linear", scale: int = 8, width: str = "224px"):
        if z0.ndim != 2 or z0.shape != z1.shape:
            raise ValueError(f"z0 and z1 must both have shape (P, D), got {tuple(z0.shape)} and {tuple(z1.shape)}")
        if steps < 2:
            raise ValueError(f"a path needs at least 2 steps, got {steps}")
        self.decode, self.steps, self.scale = decode, steps, scale
        self.z0, self.z1 = z0.detach().cpu(), z1.detach().cpu()
        self.pair = widgets.Dropdown(options=[(f"pair {i}", i) for i in range(len(z0))], value=0, description="pair")
        self.method = widgets.ToggleButtons(options=[("straight line (lerp)", "linear"), ("arc (slerp)", "spherical")],
                                            value=method, description="path")
        self.position = widgets.IntSlider(value=0, min=0, max=steps - 1, description="step",
                                          continuous_update=True)
        self.position.add_class(SLIDER_CLASS)
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=width, height=width))
        self.image.add_class(IMAGE_CLASS)
        self.strip = widgets.Image(format="png")
        self.label = widgets.HTML()
        self._path_images: torch.Tensor | None = None
        self.pair.observe(self._on_path, names="value")
        self.method.observe(self._on_path, names="value")
        self.position.observe(self._on_position, names="value")
        path_box = widgets.VBox([widgets.HTML("whole path (z0 left, z1 right):"), self.strip, self.label])
        self.widget = widgets.VBox([widgets.HBox([self.pair, self.method]), self.position,
                                    widgets.HBox([self.image, path_box])])
        self._on_path(None)

    @property
    def pair_points(self) -> tuple[torch.Tensor, torch.Tensor]:
        i = self.pair.value
        return self.z0[i], self.z1[i]

    def _on_path(self, change) -> None:
        """A new pair or path: decode the whole path once for the strip, then draw the current point."""
        a, b = self.pair_points
        with torch.no_grad():
            path = latent_path(a, b, self.steps, self.method.value)
            self._path_images = self.decode(path).reshape(self.steps, 28, 28).detach().cpu().clamp(0, 1)
        self.update()

    def _on_position(self, change) -> None:
        self.update()

    def static_tracks(self):
        """The stand-in: the current pair, one track along each path (lerp and slerp), both images per frame."""
        original = self.method.value
        tracks = []
        try:
            for label, method in zip(self.method._options_labels, self.method._options_values, strict=True):
                self.method.value = method
                tracks.append(self.sweep(self.position, description=f"step on the {label}"))
        finally:
            self.method.value = original
        return tracks

    def update(self) -> None:
        """Decode the current point and draw it (and the strip's frame)."""
        def work():
            a, b = self.pair_points
            r = interpolation_frame(self.decode, a, b, self.steps, self.position.value, self.method.value)
            self.image.value = png_from_array(r["image"], self.scale)
            self.strip.value = _strip_png(self._path_images, self.position.value)
            self.result = r
        self._timed(work)
        r = self.result
        self.label.value = (f"t = {r['t']:.2f} &nbsp; |z| = {r['norm']:.2f} "
                            f"(ends {float(self.pair_points[0].norm()):.2f}, {float(self.pair_points[1].norm()):.2f})"
                            f"<br><small>decoded and drawn in {1000 * self.last_seconds:.1f} ms</small>")
