"""Interactive sliders for notebooks 01-05 (ipywidgets 8), with their logic in plain functions.

What lives here: three small explorers and the pure functions behind them.

- :class:`LatentExplorer`  latent coordinates -> the decoder's mean image (01, 05)
- :class:`KLExplorer`      mu_q, sigma_q -> both densities and KL(q||p), KL(p||q) (03)
- :class:`MonteCarloExplorer` number of samples M and latent dimension -> the naive
  estimate of log p(x) next to the exact value on a linear-Gaussian model (02)
- :class:`ReconstructionExplorer` test-image index -> the image and its reconstruction (05)

Each explorer computes with a plain function (:func:`decode_image`, :func:`kl_panel`,
:func:`naive_running_estimate`), draws into a PNG (PIL for images; for plots a matplotlib ``Figure`` on the Agg
canvas -- never ``pyplot``, so nothing leaks into other cells' outputs -- redrawing
only the moving lines over a cached background) and puts it in an ``ipywidgets.Image``. Tests set
``slider.value`` and read ``explorer.result`` and ``explorer.last_seconds``
without a browser. Display an explorer with ``display(explorer.widget)`` (or just
leave the explorer as the last expression of a cell).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import ipywidgets as widgets
import torch

from course_utils.toys.gaussians import kl_normal, normal_log_pdf
from course_utils.widgets.common import _BlitPlot, _Explorer, _new_figure, png_from_array

# --------------------------------------------------------------------------- pure helpers

@torch.no_grad()
def decode_image(decode: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """The decoder's mean image at one latent point ``z`` (shape (d,)): a (28, 28) tensor in [0, 1]."""
    out = decode(z.reshape(1, -1))
    return out.reshape(28, 28).detach().cpu()


def kl_panel(mu_q: float, sigma_q: float, mu_p: float = 0.0, sigma_p: float = 1.0,
             grid: torch.Tensor | None = None) -> dict:
    """Densities of q = N(mu_q, sigma_q^2) and p = N(mu_p, sigma_p^2) on ``grid`` and both KLs (nats)."""
    if sigma_q <= 0 or sigma_p <= 0:
        raise ValueError("standard deviations must be positive")
    grid = torch.linspace(-6, 6, 241, dtype=torch.float64) if grid is None else grid
    return {
        "z": grid,
        "q": normal_log_pdf(grid, mu_q, sigma_q).exp(),
        "p": normal_log_pdf(grid, mu_p, sigma_p).exp(),
        "kl_qp": float(kl_normal(mu_q, sigma_q, mu_p, sigma_p)),
        "kl_pq": float(kl_normal(mu_p, sigma_p, mu_q, sigma_q)),
    }


def naive_running_estimate(log_px_given_z: torch.Tensor) -> torch.Tensor:
    """Naive estimates after m = 1..M samples: ``logcumsumexp(log p(x|z_m)) - log m``, shape (M,)."""
    m = torch.arange(1, len(log_px_given_z) + 1, dtype=log_px_given_z.dtype)
    return torch.logcumsumexp(log_px_given_z, dim=0) - torch.log(m)


# --------------------------------------------------------------------------- latent sliders

class LatentExplorer(_Explorer):
    """Sliders for some latent coordinates; the decoder's mean image updates as they move.

    Args:
        decode: maps z of shape (1, d) to pixel probabilities (1, 784), e.g. ``model.decode``.
        z_dim: the latent dimension d.
        coords: which coordinates get a slider (default: the first min(d, 5)).
        base: the latent point the other coordinates stay at (default: 0, the prior's mean).
        limit: sliders run over [-limit, limit] (in prior standard deviations).
    """

    def __init__(self, decode, z_dim: int, coords=None, base: torch.Tensor | None = None,
                 limit: float = 3.0, step: float = 0.05, scale: int = 6, title: str = ""):
        self.decode = decode
        self.coords = list(coords) if coords is not None else list(range(min(z_dim, 5)))
        self.base = torch.zeros(z_dim) if base is None else base.detach().reshape(z_dim).cpu().clone()
        self.scale = scale
        self.sliders = [widgets.FloatSlider(value=float(self.base[i]), min=-limit, max=limit, step=step,
                                            description=f"z[{i}]", continuous_update=True,
                                            readout_format=".2f")
                        for i in self.coords]
        self.image = widgets.Image(format="png")
        self.image.add_class("course-latent-image")  # CSS hooks for the browser test (tests/test_browser.py)
        self.label = widgets.HTML()
        for s in self.sliders:
            s.add_class("course-latent-slider")
            s.observe(self._on_change, names="value")
        head = [widgets.HTML(f"<b>{title}</b>")] if title else []
        self.widget = widgets.HBox([widgets.VBox(head + self.sliders), widgets.VBox([self.image, self.label])])
        self.update()

    @property
    def z(self) -> torch.Tensor:
        z = self.base.clone()
        for i, s in zip(self.coords, self.sliders, strict=True):
            z[i] = s.value
        return z

    def _on_change(self, change) -> None:
        self.update()

    def update(self) -> None:
        def work():
            z = self.z
            img = decode_image(self.decode, z)
            self.image.value = png_from_array(img, self.scale)
            self.result = {"z": z, "image": img}
        self._timed(work)
        shown = ", ".join(f"{v:+.2f}" for v in self.result["z"][self.coords].tolist())
        self.label.value = f"z = ({shown}) &nbsp; <small>{1000 * self.last_seconds:.0f} ms</small>"


# --------------------------------------------------------------------------- KL sliders

class KLExplorer(_Explorer):
    """Sliders for mu_q and sigma_q; draws q and p = N(mu_p, sigma_p^2) and prints KL(q||p) and KL(p||q)."""

    Y_LEVELS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # the y axis snaps to these, so most moves only blit

    def __init__(self, mu_p: float = 0.0, sigma_p: float = 1.0, mu_q: float = 1.0, sigma_q: float = 0.5):
        self.mu_p, self.sigma_p = mu_p, sigma_p
        self.mu_slider = widgets.FloatSlider(value=mu_q, min=-4, max=4, step=0.05, description="μ_q")
        self.sigma_slider = widgets.FloatSlider(value=sigma_q, min=0.05, max=3, step=0.05, description="σ_q")
        self.sliders = [self.mu_slider, self.sigma_slider]
        self.image = widgets.Image(format="png")
        self.label = widgets.HTML()
        self.fig = _new_figure(5.0, 2.6)
        ax = self.ax = self.fig.add_subplot()
        first = kl_panel(mu_q, sigma_q, mu_p, sigma_p)
        (self.q_line,) = ax.plot(first["z"], first["q"], color="C0", label="q = N(μ_q, σ_q²)")
        (self.p_line,) = ax.plot(first["z"], first["p"], color="C1", label=f"p = N({mu_p:g}, {sigma_p:g}²)")
        self.text = ax.text(0.02, 0.95, "", transform=ax.transAxes, va="top", fontsize=9)
        ax.set_xlabel("z")
        ax.set_ylabel("density")
        ax.set_xlim(-6, 6)
        ax.set_title("q against p: move μ_q and σ_q", fontsize=10)
        ax.legend(loc="upper right", fontsize=8)
        self.plot = _BlitPlot(self.fig, [self.q_line, self.text])
        self._ymax = None
        for s in self.sliders:
            s.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox(self.sliders), self.image, self.label])
        self.update()

    def _on_change(self, change) -> None:
        self.update()

    def update(self) -> None:
        def work():
            r = kl_panel(self.mu_slider.value, self.sigma_slider.value, self.mu_p, self.sigma_p)
            self.q_line.set_ydata(r["q"])
            self.text.set_text(f"KL(q‖p) = {r['kl_qp']:.3f} nats\nKL(p‖q) = {r['kl_pq']:.3f} nats")
            top = 1.1 * max(float(r["q"].max()), float(r["p"].max()))
            ymax = next((y for y in self.Y_LEVELS if y >= top), self.Y_LEVELS[-1])
            if ymax != self._ymax:
                self._ymax = ymax
                self.ax.set_ylim(0, ymax)
                self.image.value = self.plot.full()
            else:
                self.image.value = self.plot.fast()
            self.result = r
        self._timed(work)
        r = self.result
        self.label.value = (f"KL(q‖p) = <b>{r['kl_qp']:.4f}</b> nats &nbsp; KL(p‖q) = <b>{r['kl_pq']:.4f}</b> nats"
                            f" &nbsp; <small>{1000 * self.last_seconds:.0f} ms</small>")


# --------------------------------------------------------------------------- Monte Carlo slider

class MonteCarloExplorer(_Explorer):
    """Sliders for log2 of the number of prior samples M and the latent dimension d.

    For each d it builds (once, seeded) a linear-Gaussian model with ``x_dim``
    observed dimensions, one data point x, and ``2**max_log2`` prior samples with
    their log p(x|z), all when the explorer is built (about a second). Moving a
    slider then only slices the precomputed running estimate and redraws.
    """

    def __init__(self, dims=(1, 2, 5, 10, 20), x_dim: int = 20, max_log2: int = 16, seed: int = 0,
                 noise_std: float = 0.5):
        from course_utils.toys.linear_gaussian import LinearGaussian

        self._LinearGaussian = LinearGaussian
        self.x_dim, self.max_log2, self.seed, self.noise_std = x_dim, max_log2, seed, noise_std
        self._cache: dict[int, dict] = {}
        for d in dims:  # precompute every dimension once, so moving a slider only slices and redraws
            self.setup(d)
        self.m_slider = widgets.IntSlider(value=10, min=0, max=max_log2, description="log₂ M")
        self.d_slider = widgets.SelectionSlider(options=list(dims), value=dims[min(1, len(dims) - 1)],
                                                description="latent d")
        self.sliders = [self.m_slider, self.d_slider]
        self.image = widgets.Image(format="png")
        self.label = widgets.HTML()
        self.fig = _new_figure(5.5, 2.8)
        ax = self.ax = self.fig.add_subplot()
        (self.est_line,) = ax.plot([1], [0.0], color="C0", label="naive estimate after m samples")
        self.exact_line = ax.axhline(0.0, color="k", ls="--", label="exact log p(x)")
        self.text = ax.text(0.02, 0.95, "", transform=ax.transAxes, va="top", fontsize=9)
        ax.set_xscale("log")
        ax.set_xlim(1, 2 ** max_log2)
        ax.set_xlabel("number of prior samples m")
        ax.set_ylabel("log p(x) [nats]")
        ax.legend(loc="lower right", fontsize=8)
        self.plot = _BlitPlot(self.fig, [self.est_line, self.text])
        self._shown_d = None
        for s in self.sliders:
            s.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox(self.sliders), self.image, self.label])
        self.update()

    def setup(self, d: int) -> dict:
        """The model, data point, exact log p(x) and running naive estimate for latent dimension ``d`` (cached)."""
        if d not in self._cache:
            model = self._LinearGaussian.random(self.x_dim, d, noise_std=self.noise_std, seed=self.seed + d)
            g = torch.Generator().manual_seed(self.seed + 1000 + d)
            x, _ = model.sample(1, generator=g)
            z = torch.randn(2 ** self.max_log2, 1, d, generator=g, dtype=x.dtype)
            running = naive_running_estimate(model.log_px_given_z(x, z)[:, 0])
            exact = float(model.log_px(x)[0])
            low = min(float(running[15:].min()), exact) if len(running) > 16 else exact - 10  # skip the first few
            self._cache[d] = {"exact": exact, "running": running,
                              "ylim": (low - 0.1 * (exact - low) - 1, exact + 0.3 * (exact - low) + 3)}
        return self._cache[d]

    def _on_change(self, change) -> None:
        self.update()

    def update(self) -> None:
        def work():
            d, m = self.d_slider.value, 2 ** self.m_slider.value
            s = self.setup(d)
            estimate = float(s["running"][m - 1])
            if m > 1:
                steps = torch.unique(torch.logspace(0, math.log10(m), 200).round().long())
            else:
                steps = torch.ones(1).long()
            self.est_line.set_data(steps, s["running"][steps - 1])
            self.text.set_text(f"M = {m}: estimate {estimate:.2f}, exact {s['exact']:.2f} nats")
            if d != self._shown_d:  # new axes limits: full redraw, then only the estimate moves
                self._shown_d = d
                self.exact_line.set_ydata([s["exact"], s["exact"]])
                self.ax.set_ylim(*s["ylim"])
                self.ax.set_title(f"Naive Monte Carlo estimate of log p(x), latent d = {d}", fontsize=10)
                self.image.value = self.plot.full()
            else:
                self.image.value = self.plot.fast()
            self.result = {"d": d, "m": m, "estimate": estimate, "exact": s["exact"],
                           "error": estimate - s["exact"]}
        self._timed(work)
        r = self.result
        self.label.value = (f"M = {r['m']}: naive {r['estimate']:.3f}, exact {r['exact']:.3f}, "
                            f"error {r['error']:+.3f} nats &nbsp; <small>{1000 * self.last_seconds:.0f} ms</small>")


# --------------------------------------------------------------------------- reconstructions

class ReconstructionExplorer(_Explorer):
    """Pick a test image by index; shows it next to the VAE's reconstruction (decoder mean at the encoder mean)."""

    def __init__(self, model, images: torch.Tensor, scale: int = 5):
        self.model, self.images, self.scale = model, images, scale
        self.index = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="test image")
        self.sliders = [self.index]
        self.original = widgets.Image(format="png")
        self.recon = widgets.Image(format="png")
        self.label = widgets.HTML()
        self.index.observe(self._on_change, names="value")
        cap = lambda t: widgets.HTML(f"<center>{t}</center>")  # noqa: E731
        self.widget = widgets.VBox([self.index, widgets.HBox([widgets.VBox([cap("image"), self.original]),
                                                              widgets.VBox([cap("reconstruction"), self.recon])]),
                                    self.label])
        self.update()

    def _on_change(self, change) -> None:
        self.update()

    @torch.no_grad()
    def update(self) -> None:
        def work():
            x = self.images[self.index.value].reshape(1, -1)
            r = self.model.reconstruct(x).reshape(28, 28).cpu()
            self.original.value = png_from_array(x.reshape(28, 28), self.scale)
            self.recon.value = png_from_array(r, self.scale)
            self.result = {"index": self.index.value, "image": x.reshape(28, 28), "reconstruction": r}
        self._timed(work)
        self.label.value = f"<small>{1000 * self.last_seconds:.0f} ms</small>"


def typical_error(result: dict) -> float:
    """|estimate - exact| of a :class:`MonteCarloExplorer` result (convenience for tests and prose)."""
    return abs(result["estimate"] - result["exact"]) if math.isfinite(result["estimate"]) else math.inf
