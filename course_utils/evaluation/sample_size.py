"""How the Fréchet distance depends on the number of samples, and its extrapolation to infinitely many (FD_inf).

The Fréchet distance estimated from ``n`` samples is biased upwards, and the bias
shrinks roughly like ``1/n`` (the covariance estimates' noise adds to the trace
terms). Chong & Forsyth (2020, "Effectively Unbiased FID and Inception Score and
where to find them") therefore compute the distance at several ``n``, fit the line
``FD(n) = FD_inf + slope / n`` and report its intercept ``FD_inf``: the score with
the sample-size bias removed, comparable between evaluations that used different ``n``.

What lives here: :func:`fd_against_n`, which computes the distance on *matched*
random subsets (``n`` model features against ``n`` reference features, so both
sides' bias shrinks together and two samples of one distribution extrapolate to
about 0), averaged over a few draws per ``n``, and fits the line;
:func:`extrapolate`, the fit alone. The distance itself is
:func:`course_utils.evaluation.frechet.frechet_distance`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from course_utils.evaluation.frechet import frechet_distance

DEFAULT_FRACTIONS = (1.0, 1 / 2, 1 / 3, 1 / 4, 1 / 5)  # n = N, N/2, ..., N/5: evenly spaced in 1/n


def extrapolate(ns: Sequence[int], fds: Sequence[float]) -> dict:
    """Least-squares line ``FD = FD_inf + slope / n`` through the points: ``{"fd_inf", "slope", "max_residual"}``."""
    ns, fds = np.asarray(ns, dtype=np.float64), np.asarray(fds, dtype=np.float64)
    if ns.shape != fds.shape or len(ns) < 2 or len(np.unique(ns)) < 2:
        raise ValueError("extrapolate needs matching lists of at least two different n and their distances")
    slope, intercept = np.polyfit(1.0 / ns, fds, 1)
    residual = fds - (intercept + slope / ns)
    return {"fd_inf": float(intercept), "slope": float(slope), "max_residual": float(np.abs(residual).max())}


def fd_against_n(model_features, reference_features, ns: Sequence[int] | None = None, draws: int = 5,
                 seed: int = 0) -> dict:
    """The Fréchet distance on matched random subsets of ``n`` model and ``n`` reference features, per ``n``.

    Args:
        model_features, reference_features: (N_m, d) and (N_r, d) features (e.g. ``Classifier.features``).
        ns: the subset sizes (default: ``N, N/2, ..., N/5`` with ``N = min(N_m, N_r)``,
            evenly spaced in ``1/n``).
        draws: random subset pairs per ``n`` (only one when ``n`` is the whole of both sets).
        seed: seeds the subsets.

    Returns:
        ``{"n": [...], "fd_mean": [...], "fd_sd": [...], "draws": [...], "fd_inf", "slope", "max_residual"}``
        (see :func:`extrapolate`); ``fd_sd`` is the spread over the draws (0 for a single draw).
    """
    a = torch.as_tensor(model_features).detach().to("cpu", torch.float64)
    b = torch.as_tensor(reference_features).detach().to("cpu", torch.float64)
    full = min(len(a), len(b))
    if ns is None:
        ns = sorted({int(round(full * f)) for f in DEFAULT_FRACTIONS})
    ns = [int(n) for n in ns]
    if min(ns) < 2 or max(ns) > full:
        raise ValueError(f"every n must be between 2 and {full} (the smaller set), got {ns}")
    g = torch.Generator().manual_seed(seed)
    out = {"n": [], "fd_mean": [], "fd_sd": [], "draws": []}
    for n in ns:
        k = 1 if n == len(a) == len(b) else draws
        values = []
        for _ in range(k):
            ia = torch.randperm(len(a), generator=g)[:n]
            ib = torch.randperm(len(b), generator=g)[:n]
            values.append(frechet_distance(a[ia], b[ib]))
        out["n"].append(n)
        out["fd_mean"].append(float(np.mean(values)))
        out["fd_sd"].append(float(np.std(values, ddof=1)) if k > 1 else 0.0)
        out["draws"].append(k)
    return {**out, **extrapolate(out["n"], out["fd_mean"])}
