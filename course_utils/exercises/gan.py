"""Checks that students call on their GAN exercise solutions (notebooks 06-07), with messages for typical mistakes.

What lives here: one ``check_*`` function per GAN exercise. As in
:mod:`course_utils.exercises.vae` (notebooks 01-05), a check calls the student's
function on fixed, seeded inputs, compares with a reference computed here and,
when they differ, tries the wrong answers students typically give (a flipped
sign, ``log(1 - D)`` where ``-log D`` belongs, a missing log, a sum where a mean
belongs, the sigmoid applied twice, interpolation endpoints or step counts off
by one, slerp without normalisation) so the message names the mistake.

A check prints one line starting with ``OK`` and returns None when the function
is right, and raises :class:`course_utils.exercises.common.ExerciseError` otherwise.
A ``NotImplementedError`` from an unsolved exercise passes through unchanged.

The reference formulas are written out here again instead of imported from
:mod:`course_utils.gan.losses` / :mod:`course_utils.gan.interpolation`, so a check
never shares a bug with the code it is compared against (tests check they agree).

Exercises (notebook, question -> check):

- 06, Q2.2  ``discriminator_loss(real_logits, fake_logits)``   -> :func:`check_discriminator_loss`
- 06, Q2.4  ``generator_loss_ns(fake_logits)``                  -> :func:`check_generator_loss_non_saturating`
- 07, Q2.7  ``lerp(z0, z1, steps)``                             -> :func:`check_lerp`
- 07, Q2.7  ``slerp(z0, z1, steps)``                            -> :func:`check_slerp`
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from course_utils.exercises.common import ExerciseError, _as_tensor, _call, _close, _first_match, _ok, _short

__all__ = ["ExerciseError", "check_discriminator_loss", "check_generator_loss_non_saturating",
           "check_lerp", "check_slerp", "CHECKS"]


# --------------------------------------------------------------------------- small shared helpers

def _tensor(out, name: str) -> torch.Tensor:
    return _as_tensor(out, name).detach()


def _logits(seed: int, n: int, scale: float = 2.0) -> torch.Tensor:
    """Seeded float32 logits, none near 0 (so D is never exactly 1/2 and mistakes stay distinguishable)."""
    g = torch.Generator().manual_seed(seed)
    a = scale * torch.randn(n, generator=g)
    return torch.where(a.abs() < 0.2, a.sign() * 0.2 + a, a)


_STABLE_HINT = ("compute the logs from the logits: log D = F.logsigmoid(a) = -softplus(-a) and "
                "log(1 - D) = F.logsigmoid(-a) = -softplus(a), or use "
                "F.binary_cross_entropy_with_logits, instead of torch.log(torch.sigmoid(a)).")


# --------------------------------------------------------------------------- 06, Q2.2

def reference_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``-E[log D(x)] - E[log(1 - D(G(z)))]`` from logits, each expectation a batch mean: a 0-d tensor."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def check_discriminator_loss(loss_fn: Callable) -> None:
    """Check ``loss_fn(real_logits, fake_logits) -> 0-d tensor``: the discriminator's loss ``-V(D, G)``.

    ``real_logits`` (shape (6,)) and ``fake_logits`` (shape (4,), a different batch size on
    purpose) are the discriminator's logits; ``D = sigmoid(logit)``.
    """
    name = "discriminator_loss"
    real, fake = _logits(10, 6), _logits(11, 4) - 0.5
    out = _tensor(_call(loss_fn, name, real, fake), name)
    expected = reference_discriminator_loss(real.double(), fake.double())
    d_real, d_fake = torch.sigmoid(real.double()), torch.sigmoid(fake.double())
    log_dr, log_1m_df = F.logsigmoid(real.double()), F.logsigmoid(-fake.double())
    if out.ndim != 0 and out.numel() != 1:
        shapes = {(6,): "one value per real image", (4,): "one value per fake", (10,): "one value per image"}
        what = shapes.get(tuple(out.shape), f"shape {tuple(out.shape)}")
        raise ExerciseError(f"{name} returned {what}; return one number: the batch mean of -log D(x) over the "
                            "real images plus the batch mean of -log(1 - D(G(z))) over the fakes (.mean(), then add).")
    out = out.reshape(())
    if not bool(torch.isfinite(out)):
        raise ExerciseError(f"{name} returned {out.item()} for moderate logits; {_STABLE_HINT}")
    if not _close(out, expected):
        mistakes = [
            (-expected, "the sign is flipped: you returned V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))]. The "
                        "discriminator MAXIMISES V, so the loss it minimises is -V (a positive number)."),
            (-(F.logsigmoid(-real.double()).mean() + F.logsigmoid(fake.double()).mean()),
             "the labels are swapped: real images should get label 1 (-log D(x)) and fakes label 0 "
             "(-log(1 - D(G(z))))."),
            (-(log_dr.mean() + F.logsigmoid(fake.double()).mean()),
             "for the fakes you used -log D(G(z)); the discriminator wants D(G(z)) small, so its term is "
             "-log(1 - D(G(z))). (-log D(G(z)) is the GENERATOR's non-saturating loss.)"),
            (-(d_real.mean() + (1 - d_fake).mean()),
             "the logs are missing: the loss is -E[log D(x)] - E[log(1 - D(G(z)))], not -E[D(x)] - E[1 - D(G(z))]."),
            ((1 - d_real).mean() + d_fake.mean(),
             "the logs are missing: the loss is -E[log D(x)] - E[log(1 - D(G(z)))]."),
            (-(log_dr.sum() + log_1m_df.sum()), "you summed over the batch; each expectation is a batch MEAN "
                                                "(so the loss does not grow with the batch size)."),
            (0.5 * expected, "you averaged the two terms (divided by 2). Here the loss is -V(D, G): the real term "
                             "plus the fake term, log 4 at the optimum. (Halving only rescales the gradient, but keep "
                             "the course's convention so the numbers match.)"),
            (-(log_dr.sum() + log_1m_df.sum()) / 10, "you averaged over the real and fake images together (10 of "
                                                     "them). The batches can differ in size: take the mean of each "
                                                     "term separately, then add the two means."),
            (F.softplus(-d_real).mean() + F.softplus(d_fake).mean(),
             "the sigmoid is applied twice: the inputs are LOGITS. Either use F.binary_cross_entropy_with_logits "
             "on the logits, or compute D = sigmoid(logits) once and use F.binary_cross_entropy on D."),
            (-log_dr.mean(), "the fake term -E[log(1 - D(G(z)))] is missing."),
            (-log_1m_df.mean(), "the real term -E[log D(x)] is missing."),
        ]
        _first_match(out, mistakes, name)
        raise ExerciseError(f"{name} returned {out.item():.6g}, expected {expected.item():.6g} for real logits "
                            f"{_short(real)} and fake logits {_short(fake)}. It does not match a typical mistake "
                            "this check knows; compare with -mean(log D(x)) - mean(log(1 - D(G(z)))), "
                            "D = sigmoid(logit).")
    # a discriminator that is very sure: D(x) = sigmoid(+-200) rounds to 0 or 1 in float32
    extreme_real, extreme_fake = torch.tensor([-200.0, 3.0, 150.0]), torch.tensor([180.0, -2.0])
    out = _tensor(_call(loss_fn, name, extreme_real, extreme_fake), name).reshape(())
    expected = reference_discriminator_loss(extreme_real.double(), extreme_fake.double())
    if not bool(torch.isfinite(out)) or not _close(out, expected, rtol=1e-4, atol=1e-3):
        raise ExerciseError(f"{name} returned {out.item()} (expected {expected.item():.4f}) when the discriminator is "
                            "very confidently wrong (logits of +-200): sigmoid rounds to exactly 0 or 1 in float32 "
                            f"and log(0) = -inf. To avoid it, {_STABLE_HINT}")
    half = torch.zeros(5)
    at_half = _tensor(_call(loss_fn, name, half, half[:3]), name).reshape(())
    if not _close(at_half, torch.tensor(math.log(4.0))):
        raise ExerciseError(f"{name}: with D = 1/2 everywhere (all logits 0) the loss should be log 4 = 1.3863, "
                            f"got {at_half.item():.4f}.")
    _ok(name, "-E[log D(x)] - E[log(1 - D(G(z)))] from logits, batch means, finite for confident D; "
              "log 4 at D = 1/2.")


# --------------------------------------------------------------------------- 06, Q2.4

def reference_generator_loss_non_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """``-E[log D(G(z))]`` from the discriminator's logits on fakes: a 0-d tensor."""
    return F.softplus(-fake_logits).mean()


def check_generator_loss_non_saturating(loss_fn: Callable) -> None:
    """Check ``loss_fn(fake_logits) -> 0-d tensor``: the non-saturating generator loss ``-E[log D(G(z))]``."""
    name = "generator_loss_ns"
    fake = _logits(12, 5) - 1.0
    out = _tensor(_call(loss_fn, name, fake), name)
    if out.ndim != 0 and out.numel() != 1:
        raise ExerciseError(f"{name} returned shape {tuple(out.shape)}; return one number, the batch mean of "
                            "-log D(G(z)).")
    out = out.reshape(())
    expected = reference_generator_loss_non_saturating(fake.double())
    d = torch.sigmoid(fake.double())
    log_d, log_1m_d = F.logsigmoid(fake.double()), F.logsigmoid(-fake.double())
    if not bool(torch.isfinite(out)):
        raise ExerciseError(f"{name} returned {out.item()} for moderate logits; {_STABLE_HINT}")
    if not _close(out, expected):
        mistakes = [
            (log_1m_d.mean(), "this is the SATURATING loss E[log(1 - D(G(z)))] from the minimax game. The "
                              "non-saturating loss is -E[log D(G(z))]: same fixed point, but a strong gradient "
                              "when D(G(z)) is near 0."),
            (-log_1m_d.mean(), "-E[log(1 - D(G(z)))] goes DOWN when D(G(z)) goes down: minimising it would make "
                               "the fakes less convincing. The non-saturating loss is -E[log D(G(z))]."),
            (log_d.mean(), "the sign is flipped: the generator wants to MAXIMISE E[log D(G(z))], so the loss it "
                           "minimises is -E[log D(G(z))] (a positive number)."),
            (-d.mean(), "the log is missing: the loss is -E[log D(G(z))], not -E[D(G(z))]."),
            ((1 - d).mean(), "the log is missing: the loss is -E[log D(G(z))], not E[1 - D(G(z))]."),
            (-log_d.sum(), "you summed over the batch; use the batch MEAN of -log D(G(z))."),
            (F.softplus(-d).mean(), "the sigmoid is applied twice: the input is LOGITS. Use "
                                    "F.binary_cross_entropy_with_logits(logits, ones) or "
                                    "-F.logsigmoid(logits).mean()."),
            (-torch.log(fake.double().abs()).mean(), "you took the log of the logits; D = sigmoid(logit) first."),
        ]
        _first_match(out, mistakes, name)
        raise ExerciseError(f"{name} returned {out.item():.6g}, expected {expected.item():.6g} for logits "
                            f"{_short(fake)}; compare with -mean(log sigmoid(logits)).")
    # early in training: the discriminator rejects the fakes with logits around -100 .. -200
    early = torch.tensor([-200.0, -120.0, -30.0, 1.0])
    out = _tensor(_call(loss_fn, name, early), name).reshape(())
    expected = reference_generator_loss_non_saturating(early.double())
    if not bool(torch.isfinite(out)) or not _close(out, expected, rtol=1e-4, atol=1e-3):
        raise ExerciseError(f"{name} returned {out.item()} (expected {expected.item():.3f}) for logits around -200, "
                            "i.e. D(G(z)) ~ 0 -- exactly the early-training case this loss is for. sigmoid(-200) "
                            f"rounds to 0 in float32 and log(0) = -inf: {_STABLE_HINT}")
    _ok(name, "-E[log D(G(z))] from logits, a batch mean, finite even when D(G(z)) rounds to 0.")


# --------------------------------------------------------------------------- 07, Q2.7: interpolation

def _pair(seed: int, d: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(d, generator=g), torch.randn(d, generator=g)


def reference_lerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """``(1 - t) z0 + t z1`` for ``t = linspace(0, 1, steps)``: shape (steps, D), rows from z0 to z1."""
    t = torch.linspace(0, 1, steps, dtype=z0.dtype).unsqueeze(1)
    return (1 - t) * z0 + t * z1


def _path_shape(out: torch.Tensor, steps: int, d: int, name: str) -> None:
    if tuple(out.shape) == (steps, d):
        return
    if tuple(out.shape) == (d, steps):
        raise ExerciseError(f"{name} returned shape {(d, steps)}: one COLUMN per step. Return one row per step, "
                            f"shape (steps, D) = ({steps}, {d}).")
    if out.ndim == 2 and out.shape[1] == d and out.shape[0] in (steps - 1, steps + 1):
        raise ExerciseError(f"{name} returned {out.shape[0]} points for steps = {steps} (off by one). The path "
                            f"has exactly `steps` points INCLUDING both ends: t = 0, 1/(steps-1), ..., 1, "
                            "e.g. torch.linspace(0, 1, steps).")
    raise ExerciseError(f"{name} returned shape {tuple(out.shape)}, expected (steps, D) = ({steps}, {d}).")


def _endpoint_mistakes(out, z0, z1, steps, make_path, name) -> None:
    """Messages for paths that start or end in the wrong place (shared by lerp and slerp)."""
    t_excl = torch.arange(steps, dtype=z0.dtype) / steps             # 0 .. (steps-1)/steps: misses z1
    t_late = torch.arange(1, steps + 1, dtype=z0.dtype) / steps      # 1/steps .. 1: misses z0
    t_mid = (torch.arange(steps, dtype=z0.dtype) + 0.5) / steps      # midpoints: misses both
    mistakes = [
        (make_path(z1, z0, None), "the path runs backwards: the first point must be z0 and the last z1 "
                                  "(z(t) = (1 - t) z0 + t z1; the weight of z0 is (1 - t))."),
        (make_path(z0, z1, t_excl), "the last point is not z1: t = arange(steps) / steps stops one step short of 1. "
                                    "Use t = linspace(0, 1, steps) so both ends are included."),
        (make_path(z0, z1, t_late), "the first point is not z0: t starts at 1/steps. Use t = linspace(0, 1, steps) "
                                    "so both ends are included."),
        (make_path(z0, z1, t_mid), "neither end is included: use t = linspace(0, 1, steps)."),
    ]
    _first_match(out, mistakes, name)


def check_lerp(lerp_fn: Callable) -> None:
    """Check ``lerp_fn(z0, z1, steps) -> (steps, D)``: evenly spaced points from ``z0`` to ``z1``, both included."""
    name = "lerp"
    for seed, steps, d in ((20, 7, 16), (21, 9, 100), (22, 2, 5)):
        z0, z1 = _pair(seed, d)
        out = _tensor(_call(lerp_fn, name, z0, z1, steps), name)
        _path_shape(out, steps, d, name)
        expected = reference_lerp(z0, z1, steps)
        if _close(out, expected):
            continue

        def make_path(a, b, t, steps=steps):  # bound now: called within this iteration only
            t = torch.linspace(0, 1, steps, dtype=a.dtype) if t is None else t
            return (1 - t.unsqueeze(1)) * a + t.unsqueeze(1) * b

        _endpoint_mistakes(out, z0, z1, steps, make_path, name)
        t = torch.linspace(0, 1, steps).unsqueeze(1)
        _first_match(out, [
            (z0 + t * z1, "z(t) = z0 + t z1 does not end at z1: use (1 - t) z0 + t z1 = z0 + t (z1 - z0)."),
            (t * (z1 - z0), "the path starts at 0, not z0: use z0 + t (z1 - z0)."),
        ], name)
        if _close(out[0], z0) and _close(out[-1], z1):
            raise ExerciseError(f"{name}: the ends are right but the points in between are not evenly spaced on the "
                                "straight line: use t = linspace(0, 1, steps) and (1 - t) z0 + t z1.")
        raise ExerciseError(f"{name} returned rows starting {_short(out[0])}, expected the first row z0 = "
                            f"{_short(z0)} and the last z1 = {_short(z1)}, evenly spaced in between.")
    _ok(name, "steps points from z0 to z1 inclusive, evenly spaced: (1 - t) z0 + t z1, t = linspace(0, 1, steps).")


def reference_slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Spherical interpolation (steps, D): ``sin((1-t) w)/sin w z0 + sin(t w)/sin w z1``, cos w = z0.z1/(|z0||z1|)."""
    omega = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
    t = torch.linspace(0, 1, steps, dtype=z0.dtype).unsqueeze(1)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def check_slerp(slerp_fn: Callable) -> None:
    """Check ``slerp_fn(z0, z1, steps) -> (steps, D)``: the great-circle path from ``z0`` to ``z1``."""
    name = "slerp"
    for seed, steps, d in ((30, 7, 100), (31, 9, 16)):
        z0, z1 = _pair(seed, d)
        z1 = 1.3 * (0.7 * z0 + 0.7 * z1)  # about 45 degrees apart (sin w ~ 0.7) and of different norms,
        # so a missing division by sin w or a normalisation mistake shows
        out = _tensor(_call(slerp_fn, name, z0, z1, steps), name)
        _path_shape(out, steps, d, name)
        expected = reference_slerp(z0.double(), z1.double(), steps)
        if _close(out, expected, rtol=1e-3, atol=1e-4):
            continue
        if bool(torch.isnan(out).any()):
            raise ExerciseError(f"{name} returned NaN. arccos needs a cosine in [-1, 1]: normalise the dot product, "
                                "cos w = z0 . z1 / (|z0| |z1|) (and clamp it to [-1, 1] against round-off).")
        cos = z0.double() @ z1.double() / (z0.double().norm() * z1.double().norm())
        omega = torch.arccos(cos)
        t = torch.linspace(0, 1, steps, dtype=torch.float64).unsqueeze(1)
        a, b = z0.double(), z1.double()
        u0, u1 = a / a.norm(), b / b.norm()

        def make_path(p, q, tt, t=t, omega=omega):  # bound now: called within this iteration only
            tt = t if tt is None else tt.unsqueeze(1)
            return (torch.sin((1 - tt) * omega) * p + torch.sin(tt * omega) * q) / torch.sin(omega)

        _endpoint_mistakes(out, a, b, steps, make_path, name)
        raw = torch.arccos((a @ b).clamp(-1, 1))
        mistakes = [
            (make_path(u0, u1, None), "you normalised z0 and z1, so the path lies on the unit sphere and its ends are "
                                      "not z0 and z1. Normalise only to compute the angle, cos w = z0.z1/(|z0||z1|); "
                                      "combine the ORIGINAL vectors."),
            ((torch.sin((1 - t) * raw) * a + torch.sin(t * raw) * b) / torch.sin(raw).clamp_min(1e-12),
             "the angle was computed from the raw dot product z0 . z1; divide it by |z0| |z1| first "
             "(cos w = z0 . z1 / (|z0| |z1|))."),
            (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b,
             "the division by sin(w) is missing, so the ends are not z0 and z1: "
             "z(t) = [sin((1 - t) w) z0 + sin(t w) z1] / sin(w)."),
            (reference_lerp(a, b, steps), "this is the straight line (lerp). slerp follows the arc: "
                                          "z(t) = [sin((1 - t) w) z0 + sin(t w) z1] / sin(w)."),
            ((torch.cos((1 - t) * omega) * a + torch.cos(t * omega) * b) / torch.cos(omega),
             "use sines, not cosines: z(t) = [sin((1 - t) w) z0 + sin(t w) z1] / sin(w)."),
            (make_path(a, b, None) / make_path(a, b, None).norm(dim=1, keepdim=True),
             "you normalised the result to unit length; slerp's points keep norms between |z0| and |z1|."),
        ]
        _first_match(out, mistakes, name)
        raise ExerciseError(f"{name}: the points do not lie on the arc from z0 to z1 (first row {_short(out[0])}, "
                            f"expected {_short(expected[0])}); compare with "
                            "[sin((1 - t) w) z0 + sin(t w) z1] / sin(w).")
    _ok(name, "the great-circle path from z0 to z1, angle from the normalised vectors, both ends included.")


CHECKS = {
    "discriminator_loss": check_discriminator_loss,
    "generator_loss_ns": check_generator_loss_non_saturating,
    "lerp": check_lerp,
    "slerp": check_slerp,
}
