"""Interactive sliders for notebooks 01-05 (ipywidgets 8), with their logic in plain functions.

What lives here: five small explorers and the pure functions behind them.

- :class:`LatentExplorer`  latent coordinates -> the decoder's mean image (01, 05)
- :class:`KLExplorer`      mu_q, sigma_q -> both densities and KL(q||p), KL(p||q) (03)
- :class:`KLDirectionExplorer` separation and weight of a bimodal p -> the Gaussian fitted by
  the forward KL (mass-covering) and by the reverse KL (mode-seeking) (03)
- :class:`MonteCarloExplorer` number of samples M and latent dimension -> several runs of the
  naive estimate of log p(x) next to the exact value, exp(KL) and the ESS, on notebook 02's models
- :class:`ReconstructionExplorer` test-image index -> the image and its reconstruction (05)

Each explorer computes with a plain function (:func:`decode_image`, :func:`kl_panel`,
:func:`naive_running_estimate`, :func:`running_ess`, the toys' fits), draws into a PNG (PIL for
images; for plots a matplotlib ``Figure`` on the Agg
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
from course_utils.toys.naive_mc import running_ess
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
        base: the latent point the other coordinates stay at (default: 0, the prior's mean -- where its
            density peaks, but not a typical sample in many dimensions; pass a draw from the prior for that).
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

    The models, data points and runs are those of notebook 02's table and plot
    (:func:`course_utils.toys.naive_mc.naive_setup`; run r draws its samples with seed
    ``RUN_SEED + r``), so the widget shows the numbers the student just read. For each d it
    precomputes, when the explorer is built, ``runs`` running naive estimates and their
    effective sample sizes up to ``2**max_log2`` samples; moving a slider only slices and redraws.
    The text gives the exact log p(x), ``KL(p(z|x) || p(z))``, ``exp(KL)`` and each run's ESS.
    """

    def __init__(self, dims=(1, 2, 5, 10, 20), max_log2: int = 17, runs: int = 5):
        from course_utils.toys import naive_mc

        self._naive_mc = naive_mc
        self.max_log2, self.runs = max_log2, runs
        self._cache: dict[int, dict] = {}
        for d in dims:  # precompute every dimension once, so moving a slider only slices and redraws
            self.setup(d)
        self.m_slider = widgets.IntSlider(value=8, min=0, max=max_log2, description="log₂ M")
        self.d_slider = widgets.SelectionSlider(options=list(dims), value=dims[min(1, len(dims) - 1)],
                                                description="latent d")
        self.sliders = [self.m_slider, self.d_slider]
        self.image = widgets.Image(format="png")
        self.label = widgets.HTML()
        self.fig = _new_figure(5.8, 3.1)
        ax = self.ax = self.fig.add_subplot()
        self.lines = [ax.plot([1], [0.0], color=f"C{r % 10}", lw=1, alpha=0.8,
                              label="naive estimate, one run each" if r == 0 else None)[0] for r in range(runs)]
        self.exact_line = ax.axhline(0.0, color="k", ls="--", label="exact log p(x)")
        ax.set_xscale("log")
        ax.set_xlim(1, 2 ** max_log2)
        ax.set_xlabel("number of prior samples m")
        ax.set_ylabel("log p(x) [nats]")
        ax.legend(loc="lower right", fontsize=7)
        self.plot = _BlitPlot(self.fig, self.lines)
        self._shown_d = None
        for s in self.sliders:
            s.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox(self.sliders), self.image, self.label])
        self.update()

    def setup(self, d: int) -> dict:
        """Exact log p(x), KL, and each run's running naive estimate and ESS for latent dimension ``d`` (cached)."""
        if d not in self._cache:
            mc = self._naive_mc
            case = mc.naive_setup(d)
            running, ess = [], []
            for r in range(self.runs):
                log_w = case.log_w(mc.prior_samples(case, 2 ** self.max_log2, mc.RUN_SEED + r))
                running.append(mc.running_estimates(log_w))
                ess.append(running_ess(log_w))
            running, ess = torch.stack(running), torch.stack(ess)
            low = min(float(running[:, 15:].min()), case.exact) if running.shape[1] > 16 else case.exact - 10
            high = max(float(running[:, 15:].max()), case.exact) if running.shape[1] > 16 else case.exact + 1
            span = high - low
            self._cache[d] = {"exact": case.exact, "kl": case.kl, "running": running, "ess": ess,
                              "ylim": (low - 0.1 * span - 0.5, high + 0.1 * span + 0.5)}
        return self._cache[d]

    def _on_change(self, change) -> None:
        self.update()

    def update(self) -> None:
        def work():
            d, m = self.d_slider.value, 2 ** self.m_slider.value
            s = self.setup(d)
            estimates = s["running"][:, m - 1]
            ess = s["ess"][:, m - 1]
            if m > 1:
                steps = torch.unique(torch.logspace(0, math.log10(m), 200).round().long())
            else:
                steps = torch.ones(1).long()
            for r, line in enumerate(self.lines):
                line.set_data(steps, s["running"][r, steps - 1])
            if d != self._shown_d:  # new axes limits: full redraw, then only the estimates move
                self._shown_d = d
                self.exact_line.set_ydata([s["exact"], s["exact"]])
                self.ax.set_ylim(*s["ylim"])
                self.ax.set_title(f"Naive Monte Carlo estimate of log p(x), latent d = {d}, {self.runs} runs",
                                  fontsize=10)
                self.image.value = self.plot.full()
            else:
                self.image.value = self.plot.fast()
            self.result = {"d": d, "m": m, "exact": s["exact"], "kl": s["kl"], "exp_kl": math.exp(s["kl"]),
                           "estimates": estimates.tolist(), "errors": (estimates - s["exact"]).tolist(),
                           "ess": ess.tolist()}
        self._timed(work)
        r = self.result
        self.label.value = (
            f"d = {r['d']}, M = {r['m']}: exact log p(x) = {r['exact']:.3f} nats; "
            f"KL(p(z|x) ‖ p(z)) = {r['kl']:.2f} nats, exp(KL) = {r['exp_kl']:.3g}<br>"
            f"naive − exact, per run: " + ", ".join(f"{v:+.3f}" for v in r["errors"]) + " nats<br>"
            f"ESS of the {r['m']} samples, per run: " + ", ".join(f"{v:.1f}" for v in r["ess"])
            + f" &nbsp; <small>{1000 * self.last_seconds:.0f} ms</small>")


# --------------------------------------------------------------------------- forward vs reverse KL

class KLDirectionExplorer(_Explorer):
    """One Gaussian q fitted to a bimodal mixture p both ways: ``KL(p || q)`` (mass-covering) and ``KL(q || p)``.

    Sliders: the distance between p's two modes and the weight of the left one. The plot shows p,
    the forward fit (moment matching) and every local minimum of the reverse KL that
    :func:`~course_utils.toys.kl_directions.fit_reverse` finds (the best solid, the others dashed):
    on each mode, and -- at intermediate separations -- a wide one between them, which can be the
    best. The text gives both divergences for the forward fit and the best reverse fit. Fits are computed on demand
    (:func:`course_utils.toys.kl_directions.fit_reverse`, a few Newton steps) and cached per slider value.
    """

    static_max_frames = 11  # each frame is a fresh fit: the stand-in keeps to 11 positions per slider
    MAX_OTHER_MINIMA = 2  # fit_reverse starts from three points, so it finds at most three minima

    def __init__(self, separation: float = 4.0, weight: float = 0.6, std: float = 0.6):
        self.std = std
        self.sep_slider = widgets.FloatSlider(value=separation, min=0.0, max=7.0, step=0.25,
                                              description="separation")
        self.weight_slider = widgets.FloatSlider(value=weight, min=0.2, max=0.8, step=0.05,
                                                 description="left weight")
        self.sliders = [self.sep_slider, self.weight_slider]
        self.image = widgets.Image(format="png")
        self.label = widgets.HTML()
        self.grid = torch.linspace(-7, 7, 561, dtype=torch.float64)
        self.fig = _new_figure(5.8, 3.0)
        ax = self.ax = self.fig.add_subplot()
        (self.p_line,) = ax.plot(self.grid, self.grid * 0, color="k", lw=1.5, label="p (mixture)")
        (self.fwd_line,) = ax.plot(self.grid, self.grid * 0, color="C0", label="q minimising KL(p‖q)")
        (self.rev_line,) = ax.plot(self.grid, self.grid * 0, color="C3", label="q minimising KL(q‖p)")
        self.rev_others = [ax.plot(self.grid, self.grid * 0, color="C3", ls="--", lw=1,
                                   label="other local minima of KL(q‖p)" if k == 0 else None)[0]
                           for k in range(self.MAX_OTHER_MINIMA)]
        ax.set_xlim(-7, 7)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("z")
        ax.set_ylabel("density")
        ax.set_title("one Gaussian q fitted to a bimodal p, both ways", fontsize=10)
        ax.legend(loc="upper right", fontsize=7)
        self.plot = _BlitPlot(self.fig, [self.p_line, self.fwd_line, self.rev_line, *self.rev_others])
        self._fits: dict[tuple[float, float], dict] = {}
        for s in self.sliders:
            s.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox(self.sliders), self.image, self.label])
        self.plot.full()
        self.update()

    def fits(self, separation: float, weight: float) -> dict:
        """The mixture, its forward fit and the reverse fits, with both KLs of each (cached per slider value)."""
        from course_utils.toys import kl_directions as kd

        key = (round(separation, 6), round(weight, 6))
        if key not in self._fits:
            p = kd.Mixture1D.bimodal(separation, weight, self.std)
            fwd = kd.fit_forward(p)
            rev = kd.fit_reverse(p)
            self._fits[key] = {
                "p": p, "forward": fwd, "reverse": rev,
                "forward_kls": (float(kd.forward_kl(p, *fwd)), float(kd.reverse_kl(p, *fwd))),
                "reverse_kls": (float(kd.forward_kl(p, *rev[0][:2])), rev[0][2]),
            }
        return self._fits[key]

    def _on_change(self, change) -> None:
        self.update()

    def update(self) -> None:
        def work():
            r = self.fits(self.sep_slider.value, self.weight_slider.value)
            z = self.grid
            self.p_line.set_ydata(r["p"].log_prob(z).exp())
            self.fwd_line.set_ydata(normal_log_pdf(z, *r["forward"]).exp())
            best = r["reverse"][0]
            self.rev_line.set_ydata(normal_log_pdf(z, best[0], best[1]).exp())
            others = r["reverse"][1:]
            for k, line in enumerate(self.rev_others):  # every other local minimum, dashed
                if k < len(others):
                    line.set_ydata(normal_log_pdf(z, others[k][0], others[k][1]).exp())
                else:
                    line.set_ydata(z * float("nan"))
            self.image.value = self.plot.fast()
            self.result = {"forward": r["forward"], "reverse": [t[:2] for t in r["reverse"]],
                           "forward_kls": r["forward_kls"], "reverse_kls": r["reverse_kls"],
                           "n_reverse_minima": len(r["reverse"])}
        self._timed(work)
        r = self.result
        (f_pq, f_qp), (r_pq, r_qp) = r["forward_kls"], r["reverse_kls"]
        (fm, fs), (rm, rs) = r["forward"], r["reverse"][0]
        self.label.value = (
            f"<b>forward</b> fit N({fm:.2f}, {fs:.2f}²): KL(p‖q) = {f_pq:.3f}, KL(q‖p) = {f_qp:.3f} nats<br>"
            f"<b>reverse</b> fit N({rm:.2f}, {rs:.2f}²): KL(p‖q) = {r_pq:.3f}, KL(q‖p) = {r_qp:.3f} nats "
            f"({r['n_reverse_minima']} local minim{'um' if r['n_reverse_minima'] == 1 else 'a'} of KL(q‖p))"
            f" &nbsp; <small>{1000 * self.last_seconds:.0f} ms</small>")


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
