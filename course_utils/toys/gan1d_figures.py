"""Figures of notebook 06 (the GAN objective): D*, saturation, the toy GAN's game, mode collapse, disjoint supports.

Each function returns a titled, labelled matplotlib figure. The numbers behind
them come from :mod:`course_utils.toys.gan1d` (exact densities, D*, V on a grid,
toy runs, the game's diagnostics, disjoint supports), :mod:`course_utils.toys.ring`
(the 2-D ring of Gaussians) and :mod:`course_utils.gan.losses`.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from course_utils.toys.gan1d import (
    LOG_4,
    ToyRun,
    disjoint_supports,
    generator_gradients,
    jensen_shannon,
    mean_distance_from_half,
    optimal_discriminator,
    uniform_pdf,
    value_on_grid,
)
from course_utils.toys.ring import RingRun, ring_centres


def optimal_discriminator_figure(grid: torch.Tensor, p_data: torch.Tensor, candidates: dict[str, torch.Tensor]):
    """Left: p_data and each candidate p_g. Right: the optimal discriminator D* for each, V(D*, G) in the legend."""
    fig, (ax_p, ax_d) = plt.subplots(1, 2, figsize=(11, 3.6))
    x = grid.numpy()
    ax_p.plot(x, p_data.numpy(), color="k", lw=2, label="p_data")
    for i, (name, p_g) in enumerate(candidates.items()):
        d_star = optimal_discriminator(p_data, p_g)
        v = value_on_grid(grid, p_data, p_g, d_star)
        ax_p.plot(x, p_g.numpy(), color=f"C{i}", ls="--", label=f"p_g: {name}")
        ax_d.plot(x, d_star.numpy(), color=f"C{i}", label=f"{name}: V(D*, G) = {v:.3f}")
    ax_d.axhline(0.5, color="gray", ls=":", lw=1)
    ax_p.set_xlabel("x")
    ax_p.set_ylabel("density")
    ax_p.set_title("Data and three generators")
    ax_p.legend(fontsize=8)
    ax_d.set_ylim(-0.03, 1.03)
    ax_d.set_xlabel("x")
    ax_d.set_ylabel("D*(x) = p_data / (p_data + p_g)")
    ax_d.set_title(f"Optimal discriminators (−log 4 = {-LOG_4:.3f} nats)")
    ax_d.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def value_path_figure(grid: torch.Tensor, p_data: torch.Tensor, p_start: torch.Tensor, n: int = 41):
    """V(D*, G) and 2 JSD as the generator moves from ``p_start`` to ``p_data`` (p_g = (1 - λ) p_start + λ p_data)."""
    lambdas = np.linspace(0, 1, n)
    values, jsds, dev = [], [], []
    for lam in lambdas:
        p_g = (1 - lam) * p_start + lam * p_data
        d_star = optimal_discriminator(p_data, p_g)
        values.append(value_on_grid(grid, p_data, p_g, d_star))
        jsds.append(jensen_shannon(grid, p_data, p_g))
        dev.append(mean_distance_from_half(grid, p_data, p_g, d_star))
    fig, (ax_v, ax_d) = plt.subplots(1, 2, figsize=(11, 3.4))
    ax_v.plot(lambdas, values, label="V(D*, G), numerical")
    ax_v.plot(lambdas, [-LOG_4 + 2 * j for j in jsds], ls="--", label="−log 4 + 2 JSD(p_data, p_g)")
    ax_v.axhline(-LOG_4, color="gray", ls=":", label="−log 4")
    ax_v.set_xlabel("λ  (p_g = (1 − λ) p_start + λ p_data)")
    ax_v.set_ylabel("value (nats)")
    ax_v.set_title("The value at the optimal D falls to −log 4")
    ax_v.legend(fontsize=8)
    ax_d.plot(lambdas, dev)
    ax_d.set_xlabel("λ")
    ax_d.set_ylabel("E_m |D*(x) − 1/2|,  m = (p_data + p_g)/2")
    ax_d.set_title("D* becomes a coin flip where the data are")
    fig.tight_layout()
    return fig


def generator_loss_figure(n: int = 999):
    """Both generator losses (left) and their gradients with respect to the logit (right) against D(G(z))."""
    d = torch.linspace(1e-3, 1 - 1e-3, n, dtype=torch.float64)
    g = generator_gradients(d)
    x = d.numpy()
    fig, (ax_l, ax_g) = plt.subplots(1, 2, figsize=(11, 3.6))
    ax_l.plot(x, g["saturating"].numpy(), label="saturating: log(1 − D(G(z)))  (minimise)")
    ax_l.plot(x, g["non_saturating"].numpy(), label="non-saturating: −log D(G(z))  (minimise)")
    ax_l.axvspan(0, 0.1, color="C3", alpha=0.1, label="early training: D rejects the fakes")
    ax_l.set_xlabel("D(G(z))")
    ax_l.set_ylabel("generator loss (nats)")
    ax_l.set_title("The two generator losses")
    ax_l.legend(fontsize=8)
    ax_g.semilogy(x, g["dsat_da"].abs().numpy(), label="saturating: |∂/∂a| = D(G(z))")
    ax_g.semilogy(x, g["dns_da"].abs().numpy(), label="non-saturating: |∂/∂a| = 1 − D(G(z))")
    ax_g.axvspan(0, 0.1, color="C3", alpha=0.1)
    ax_g.set_xlabel("D(G(z))")
    ax_g.set_ylabel("|gradient| w.r.t. the logit a (log scale)")
    ax_g.set_title("What flows back into the generator")
    ax_g.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _density_panel(ax, run: ToyRun, index: int, bins: int = 100) -> None:
    snap = run.snapshots[index]
    x = run.grid.numpy()
    lo, hi = float(x[0]), float(x[-1])
    ax.plot(x, run.config.data.pdf(run.grid).numpy(), color="C0", lw=2, label="p_data")
    ax.hist(snap["samples"].numpy(), bins=bins, range=(lo, hi), density=True, color="C1",
            alpha=0.5, label="generator samples")
    ax_d = ax.twinx()
    ax_d.plot(x, snap["d"].numpy(), color="C2", label="D(x)")
    ax.d_axis = ax_d  # for the legend of the first panel
    ax_d.axhline(0.5, color="C2", ls=":", lw=1)
    ax_d.set_ylim(0, 1)
    ax_d.set_ylabel("D(x)", color="C2")
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, 1.35 * float(run.config.data.pdf(run.grid).max()))
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title(f"step {snap['step']}")


def toy_snapshots_figure(run: ToyRun, n_panels: int = 4, title: str = "The toy GAN during training"):
    """Data density, generator samples and D(x) at ``n_panels`` evenly spread snapshots of ``run``."""
    idx = sorted({round(i) for i in np.linspace(0, len(run.snapshots) - 1, n_panels)})
    fig, axes = plt.subplots(1, len(idx), figsize=(3.4 * len(idx), 3.1), squeeze=False)
    for ax, i in zip(axes[0], idx, strict=True):
        _density_panel(ax, run, i)
    first = axes[0][0]
    handles = first.get_legend_handles_labels()[0] + first.d_axis.get_legend_handles_labels()[0]
    first.legend(handles, [h.get_label() for h in handles], fontsize=7, loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def toy_history_figure(run: ToyRun, title: str = "The toy GAN's losses and discriminator outputs", smooth: int = 25):
    """Left: both losses per step (moving average) with log 4. Right: mean D(x) and D(G(z)) with 1/2."""
    def avg(v: torch.Tensor) -> np.ndarray:
        k = min(smooth, len(v)) or 1
        return np.convolve(v.numpy(), np.ones(k) / k, mode="valid")

    fig, (ax_l, ax_d) = plt.subplots(1, 2, figsize=(11, 3.3))
    curves = (("d_loss", "discriminator loss −V"), ("g_loss", f"generator loss ({run.config.generator_loss})"))
    for key, label in curves:
        v = avg(run.column(key))
        ax_l.plot(np.arange(len(v)) + 1, v, label=label)
    ax_l.axhline(LOG_4, color="gray", ls="--", lw=1, label="log 4 (D loss at the optimum)")
    ax_l.axhline(math.log(2), color="gray", ls=":", lw=1, label="log 2 (−log D at D = 1/2)")
    ax_l.set_xlabel("training step")
    ax_l.set_ylabel(f"loss (nats, moving average of {smooth})")
    ax_l.set_title("Losses")
    ax_l.legend(fontsize=8)
    for key, label in (("d_real", "mean D(x), real"), ("d_fake", "mean D(G(z)), fake")):
        v = avg(run.column(key))
        ax_d.plot(np.arange(len(v)) + 1, v, label=label)
    ax_d.axhline(0.5, color="gray", ls="--", lw=1, label="1/2")
    ax_d.set_ylim(0, 1)
    ax_d.set_xlabel("training step")
    ax_d.set_ylabel("discriminator output")
    ax_d.set_title("Discriminator outputs")
    ax_d.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def saturation_figure(runs: dict[str, ToyRun], title: str = "Early training: saturating vs non-saturating loss"):
    """For each labelled run: mean |∂loss_G/∂G(z)| per step (log scale) and the mean of the samples over training."""
    fig, (ax_g, ax_m) = plt.subplots(1, 2, figsize=(11, 3.4))
    for i, (label, run) in enumerate(runs.items()):
        ax_g.semilogy(np.arange(1, len(run.history) + 1), run.column("g_grad").clamp_min(1e-12).numpy(),
                      color=f"C{i}", label=label)
        steps = [s["step"] for s in run.snapshots]
        ax_m.plot(steps, [float(s["samples"].mean()) for s in run.snapshots], color=f"C{i}", label=label)
    data = next(iter(runs.values())).config.data
    ax_m.axhline(data.mean, color="gray", ls="--", lw=1, label=f"data mean {data.mean:.1f}")
    ax_g.set_xlabel("training step")
    ax_g.set_ylabel("mean |∂ loss_G / ∂ G(z)| per fake")
    ax_g.set_title("Gradient reaching the generator")
    ax_g.legend(fontsize=8)
    ax_m.set_xlabel("training step")
    ax_m.set_ylabel("mean of the generator's samples")
    ax_m.set_title("Where the generator is")
    ax_m.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def game_diagnostics_figure(run: ToyRun, diagnostics: list[dict], title: str = "What the losses do not show"):
    """Left: D's loss, -V(D, G) of the trained D and -V(D*, G) per snapshot, with log 4.
    Middle: JSD(p_data, p_g) per snapshot. Right: the last snapshot's p_data, p_g (KDE), D and D*.
    """
    steps = [d["step"] for d in diagnostics]
    fig, (ax_l, ax_j, ax_d) = plt.subplots(1, 3, figsize=(14, 3.6))
    ax_l.plot(steps, [d["d_loss"] for d in diagnostics], "o-", ms=3, label="trained D's loss (minibatches, avg.)")
    ax_l.plot(steps, [-d["v_trained"] for d in diagnostics], "s--", ms=3, label="−V(D, G): trained D, exact")
    ax_l.plot(steps, [-d["v_star"] for d in diagnostics], "^-", ms=3, label="−V(D*, G): optimal D = log 4 − 2 JSD")
    ax_l.axhline(LOG_4, color="gray", ls=":", lw=1, label="log 4 (equilibrium)")
    ax_l.set_xlabel("training step")
    ax_l.set_ylabel("discriminator loss (nats)")
    ax_l.set_title("D's loss near log 4 ...")
    ax_l.legend(fontsize=7)
    ax_j.plot(steps, [d["jsd"] for d in diagnostics], "o-", ms=3, color="C3")
    ax_j.axhline(0, color="gray", lw=1)
    ax_j.set_xlabel("training step")
    ax_j.set_ylabel("JSD(p_data, p_g) (nats, p_g from a KDE)")
    ax_j.set_title("... while p_g is not p_data")
    last = diagnostics[-1]
    x = run.grid.numpy()
    ax_d.plot(x, run.config.data.pdf(run.grid).numpy(), color="C0", lw=2, label="p_data")
    ax_d.plot(x, last["p_g"].numpy(), color="C1", lw=1.5, label="p_g (KDE of the samples)")
    ax_t = ax_d.twinx()
    ax_t.plot(x, last["d"].numpy(), color="C2", label="trained D(x)")
    ax_t.plot(x, last["d_star"].numpy(), color="k", ls="--", lw=1, label="D*(x) for this p_g")
    ax_t.set_ylim(0, 1)
    ax_t.set_ylabel("discriminator output")
    ax_d.set_xlim(-1, 8)
    ax_d.set_xlabel("x")
    ax_d.set_ylabel("density")
    ax_d.set_title(f"step {last['step']}: JSD = {last['jsd']:.3f} nats")
    handles = ax_d.get_legend_handles_labels()[0] + ax_t.get_legend_handles_labels()[0]
    ax_d.legend(handles, [h.get_label() for h in handles], fontsize=7, loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def disjoint_supports_figure(shifts=None, width: float = 1.0):
    """Left: p_data = U[0, 1] and two shifted p_g. Right: JSD and Wasserstein-1 against the shift."""
    shifts = np.linspace(-4, 4, 161) if shifts is None else np.asarray(shifts)
    r = disjoint_supports(shifts, width)
    fig, (ax_p, ax_m) = plt.subplots(1, 2, figsize=(11, 3.4))
    x = torch.linspace(-1, 6, 1401, dtype=torch.float64)
    ax_p.fill_between(x.numpy(), uniform_pdf(x, 0, width).numpy(), alpha=0.4, label="p_data = U[0, 1]")
    for s, c in ((2.0, "C1"), (4.0, "C3")):
        ax_p.plot(x.numpy(), uniform_pdf(x, s, s + width).numpy(), color=c, label=f"p_g = U[{s:g}, {s + width:g}]")
    ax_p.set_xlabel("x")
    ax_p.set_ylabel("density")
    ax_p.set_title("Two generators, neither overlapping the data")
    ax_p.legend(fontsize=8)
    ax_m.plot(r["shift"], r["jsd"], label="JSD(p_data, p_g) (nats)")
    ax_m.plot(r["shift"], r["w1"], label="Wasserstein-1 distance W1(p_data, p_g)")
    ax_m.axhline(math.log(2), color="gray", ls=":", lw=1, label="log 2")
    ax_m.set_xlabel("shift s of p_g = U[s, s + 1]")
    ax_m.set_ylabel("divergence / distance")
    ax_m.set_title("JSD is flat once the supports are apart; W1 is not")
    ax_m.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _ring_panel(ax, run: RingRun, index: int) -> None:
    snap = run.snapshots[index]
    centres = ring_centres(run.config).numpy()
    pts = snap["samples"].numpy()
    ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.3, color="C1")
    for k, (cx, cy) in enumerate(centres):
        ax.scatter([cx], [cy], s=60, facecolors="none", edgecolors="C2" if snap["per_mode"][k] else "C3", lw=1.5)
    lim = 1.6 * run.config.radius
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"step {snap['step']}: {snap['captured']}/{run.config.n_modes} modes", fontsize=9)
    ax.set_xlabel("x₁", fontsize=8)
    ax.set_ylabel("x₂", fontsize=8)


def ring_snapshots_figure(runs: dict[str, RingRun], n_panels: int = 5,
                          title: str = "Generator samples on the ring over training"):
    """One row per run: samples (orange) at ``n_panels`` evenly spread snapshots; circles at the modes,
    green when captured, red when not."""
    fig, axes = plt.subplots(len(runs), n_panels, figsize=(2.3 * n_panels, 2.5 * len(runs)), squeeze=False)
    for row, (label, run) in zip(axes, runs.items(), strict=True):
        idx = sorted({round(i) for i in np.linspace(0, len(run.snapshots) - 1, n_panels)})
        for ax, i in zip(row, idx, strict=False):
            _ring_panel(ax, run, i)
        row[0].set_ylabel(f"{label}\nx₂")
    fig.suptitle(title + " (circles: the 8 modes; green = captured)")
    fig.tight_layout()
    return fig


def ring_modes_figure(runs: dict[str, RingRun], title: str = "Modes captured during training"):
    """Modes captured (left) and the fraction of samples within 3 std of a mode (right), per snapshot."""
    fig, (ax_m, ax_q) = plt.subplots(1, 2, figsize=(11, 3.2))
    for i, (label, run) in enumerate(runs.items()):
        steps = [s["step"] for s in run.snapshots]
        ax_m.plot(steps, run.captured(), color=f"C{i}", label=label)
        ax_q.plot(steps, [s["high_quality"] for s in run.snapshots], color=f"C{i}", label=label)
    n_modes = next(iter(runs.values())).config.n_modes
    ax_m.axhline(n_modes, color="gray", ls=":", lw=1)
    ax_m.set_ylim(-0.3, n_modes + 0.5)
    ax_m.set_xlabel("training step")
    ax_m.set_ylabel(f"modes captured (of {n_modes})")
    ax_m.set_title("Coverage (like recall)")
    ax_m.legend(fontsize=8)
    ax_q.set_ylim(0, 1)
    ax_q.set_xlabel("training step")
    ax_q.set_ylabel("fraction of samples within 3 std of a mode")
    ax_q.set_title("Sample quality (like precision)")
    ax_q.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
