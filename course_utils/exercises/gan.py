"""Checks that students call on their GAN exercise solutions (notebooks 06-08), with messages for typical mistakes.

What lives here: one ``check_*`` function per GAN exercise. As in
:mod:`course_utils.exercises.vae` (notebooks 01-05), a check calls the student's
function on fixed, seeded inputs, compares with a reference computed here and,
when they differ, tries the wrong answers students typically give (a flipped
sign, ``log(1 - D)`` where ``-log D`` belongs, a missing log, a sum where a mean
belongs, the sigmoid applied twice, a loss with no gradient because it went through
``.item()``, numpy or detached logits, fakes not detached for D's step, interpolation
endpoints or step counts off by one, slerp without normalisation, the square root of
a trace instead of the trace of a matrix square root) so the message names the mistake.
The loss checks also compare the *gradient* of the student's loss with respect to the
logits with the reference's, since training uses nothing else.

A check prints one line starting with ``OK`` and returns None when the function
is right, and raises :class:`course_utils.exercises.common.ExerciseError` otherwise.
A ``NotImplementedError`` from an unsolved exercise passes through unchanged.

The reference formulas are written out here again instead of imported from
:mod:`course_utils.gan.losses` / :mod:`course_utils.gan.interpolation`, so a check
never shares a bug with the code it is compared against (tests check they agree).

Exercises (notebook, question -> check):

- 06, Q2.2  ``discriminator_loss(real_logits, fake_logits)``   -> :func:`check_discriminator_loss`
- 06, Q2.4  ``generator_loss_ns(fake_logits)``                  -> :func:`check_generator_loss_non_saturating`
- 06       ``gan_step(G, D, opt_g, opt_d, real, z)``            -> :func:`check_gan_step`
- 07, Q2.7  ``lerp(z0, z1, steps)``                             -> :func:`check_lerp`
- 07, Q2.7  ``slerp(z0, z1, steps)``                            -> :func:`check_slerp`
- 08, Q3.1  ``frechet_distance(feats_a, feats_b)``              -> :func:`check_frechet_distance`
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_utils.exercises.common import ExerciseError, _as_tensor, _call, _close, _first_match, _ok, _short

__all__ = ["ExerciseError", "check_discriminator_loss", "check_frechet_distance", "check_gan_step",
           "check_generator_loss_non_saturating", "check_lerp", "check_slerp", "CHECKS"]


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


_NO_GRADIENT = ("no gradient reaches the logits: the loss you returned is not connected to them (it was built "
                "through .item(), numpy, torch.tensor(...) or detached logits). Training calls backward() on this "
                "loss, so compute it with torch operations on the logits themselves and return the tensor.")


def _call_differentiable(fn: Callable, name: str, *logits: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Call ``fn`` on copies of ``logits`` that require gradients; return its output and those leaves.

    A loss routed through numpy crashes on a tensor that requires grad, and one routed through
    ``.item()`` comes back as a Python number: both mean no gradient reaches the logits.
    """
    leaves = [x.detach().clone().requires_grad_(True) for x in logits]
    try:
        out = _call(fn, name, *leaves)
    except ExerciseError as exc:
        if "numpy" in str(exc) and "requires grad" in str(exc):
            raise ExerciseError(f"{name}: {_NO_GRADIENT} (Here numpy was called on a tensor that requires "
                                "gradients.)") from exc.__cause__
        raise
    if isinstance(out, (int, float, np.floating, np.ndarray)):
        raise ExerciseError(f"{name} returned a {type(out).__name__}, not a tensor: {_NO_GRADIENT}")
    out = _as_tensor(out, name)
    if not out.requires_grad:
        raise ExerciseError(f"{name}: {_NO_GRADIENT}")
    return out, leaves


def _check_gradients(out: torch.Tensor, leaves: list[torch.Tensor], expected_fn: Callable, labels: list[str],
                     name: str) -> None:
    """Compare the gradient of the student's loss with respect to each input with the reference's."""
    grads = torch.autograd.grad(out.sum(), leaves, allow_unused=True)
    ref_leaves = [x.detach().double().requires_grad_(True) for x in leaves]
    ref = torch.autograd.grad(expected_fn(*ref_leaves), ref_leaves)
    for grad, want, label in zip(grads, ref, labels, strict=True):
        if grad is None or (not bool(grad.abs().sum() > 0) and bool(want.abs().sum() > 0)):
            raise ExerciseError(f"{name}: no gradient reaches the {label} logits (they were detached, or went "
                                "through .item() or numpy, on the way to the loss). Training needs that gradient: "
                                "compute the loss with torch operations on the logits themselves.")
        if not _close(grad, want, rtol=1e-3, atol=1e-6):
            raise ExerciseError(f"{name}: the loss has the right value, but its gradient with respect to the {label} "
                                f"logits is {_short(grad)} instead of {_short(want)}. Part of the loss does not depend "
                                "on the logits the way the formula does (a constant, a detached term, or a value "
                                "replaced by a number).")


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
    graph, leaves = _call_differentiable(loss_fn, name, real, fake)
    out = graph.detach()
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
    _check_gradients(graph, leaves, reference_discriminator_loss, ["real", "fake"], name)
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
              "log 4 at D = 1/2; its gradient reaches both batches of logits.")


# --------------------------------------------------------------------------- 06, Q2.4

def reference_generator_loss_non_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """``-E[log D(G(z))]`` from the discriminator's logits on fakes: a 0-d tensor."""
    return F.softplus(-fake_logits).mean()


def check_generator_loss_non_saturating(loss_fn: Callable) -> None:
    """Check ``loss_fn(fake_logits) -> 0-d tensor``: the non-saturating generator loss ``-E[log D(G(z))]``."""
    name = "generator_loss_ns"
    fake = _logits(12, 5) - 1.0
    graph, leaves = _call_differentiable(loss_fn, name, fake)
    out = graph.detach()
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
            (-log_1m_d.mean(), "this is the binary cross-entropy with label 0 ('fake') for the fakes, "
                               "-E[log(1 - D(G(z)))]: that is the discriminator's target. Minimising it would make "
                               "the fakes LESS convincing. The generator wants D to call its fakes real: label 1, "
                               "i.e. -E[log D(G(z))]."),
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
    _check_gradients(graph, leaves, reference_generator_loss_non_saturating, ["fake"], name)
    # early in training: the discriminator rejects the fakes with logits around -100 .. -200
    early = torch.tensor([-200.0, -120.0, -30.0, 1.0])
    out = _tensor(_call(loss_fn, name, early), name).reshape(())
    expected = reference_generator_loss_non_saturating(early.double())
    if not bool(torch.isfinite(out)) or not _close(out, expected, rtol=1e-4, atol=1e-3):
        raise ExerciseError(f"{name} returned {out.item()} (expected {expected.item():.3f}) for logits around -200, "
                            "i.e. D(G(z)) ~ 0 -- exactly the early-training case this loss is for. sigmoid(-200) "
                            f"rounds to 0 in float32 and log(0) = -inf: {_STABLE_HINT}")
    _ok(name, "-E[log D(G(z))] from logits, a batch mean, finite even when D(G(z)) rounds to 0; its gradient "
              "reaches the logits.")


# --------------------------------------------------------------------------- 06: one training step

class _TinyGenerator(nn.Module):
    """G for the step check: noise (N, 3) -> points (N, 2)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 5), nn.LeakyReLU(0.2), nn.Linear(5, 2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class _TinyDiscriminator(nn.Module):
    """D for the step check: points (N, 2) -> logits (N,), like the course's Discriminator."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 5), nn.LeakyReLU(0.2), nn.Linear(5, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def _params(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _grads(module: nn.Module) -> list[torch.Tensor]:
    """The module's gradients (zeros where a gradient is None)."""
    return [torch.zeros_like(p) if p.grad is None else p.grad.detach().clone() for p in module.parameters()]


def _all_close(a: list[torch.Tensor], b: list[torch.Tensor], rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    return len(a) == len(b) and all(_close(x, y, rtol=rtol, atol=atol) for x, y in zip(a, b, strict=True))


def _add(a: list[torch.Tensor], b: list[torch.Tensor], scale: float = 1.0) -> list[torch.Tensor]:
    return [x + scale * y for x, y in zip(a, b, strict=True)]


class _WatchedSGD(torch.optim.SGD):
    """Plain SGD that records, at each ``step()``, both networks' parameters and gradients."""

    def __init__(self, module: nn.Module, lr: float, who: str, log: list, g: nn.Module, d: nn.Module):
        super().__init__(module.parameters(), lr=lr)
        self.who, self.log, self.g, self.d = who, log, g, d

    @torch.no_grad()
    def step(self, closure=None):
        event = {"who": self.who, "g_params": _params(self.g), "g_grads": _grads(self.g),
                 "d_params": _params(self.d), "d_grads": _grads(self.d)}
        out = super().step(closure)
        event["after"] = _params(self.g if self.who == "g" else self.d)
        self.log.append(event)
        return out


def _reference_step(g0: nn.Module, d0: nn.Module, real: torch.Tensor, z: torch.Tensor, lr: float) -> dict:
    """The reference step on copies: D's gradient (labels 1/0, fakes detached), D's update, G's gradients."""
    g, d = copy.deepcopy(g0), copy.deepcopy(d0)

    def grads_of(loss, module):
        return [t.detach() for t in torch.autograd.grad(loss, list(module.parameters()), retain_graph=True)]

    fake = g(z)
    real_logits, fake_logits = d(real), d(fake.detach())
    d_loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    out = {"d_loss": float(d_loss.detach()), "d_grad": grads_of(d_loss, d)}
    variants = {
        "swapped": F.softplus(real_logits).mean() + F.softplus(-fake_logits).mean(),
        "fake_as_real": F.softplus(-real_logits).mean() + F.softplus(-fake_logits).mean(),
        "summed": F.softplus(-real_logits).sum() + F.softplus(fake_logits).sum(),
    }
    out["d_variants"] = {k: grads_of(v, d) for k, v in variants.items()}
    # D's loss sent into G when the fakes are not detached
    out["d_loss_into_g"] = grads_of(F.softplus(-d(real)).mean() + F.softplus(d(g(z))).mean(), g)
    old_d = copy.deepcopy(d)
    with torch.no_grad():
        for p, grad in zip(d.parameters(), out["d_grad"], strict=True):
            p -= lr * grad
    out["d_after"] = _params(d)
    new_logits, old_logits = d(g(z)), old_d(g(z))
    g_losses = {
        "ns": F.softplus(-new_logits).mean(),
        "saturating": -F.softplus(new_logits).mean(),
        "label0": F.softplus(new_logits).mean(),
        "old_d": F.softplus(-old_logits).mean(),
        "summed": F.softplus(-new_logits).sum(),
    }
    out["g_loss"] = float(g_losses["ns"].detach())
    out["g_grad"] = grads_of(g_losses["ns"], g)
    out["g_variants"] = {k: grads_of(v, g) for k, v in g_losses.items() if k != "ns"}
    return out


STEP_RETURNS = "(d_loss, g_loss), two numbers"
ONE_NUMBER = "one number (a float, or a tensor with one element)"


def _number(x, name: str, what: str, returns: str = STEP_RETURNS) -> float:
    """``x`` as a float, or an :class:`ExerciseError` saying what ``name`` must return (``returns``)."""
    if torch.is_tensor(x):
        if x.numel() != 1:
            raise ExerciseError(f"{name} returned a {what} of shape {tuple(x.shape)}; it must return {returns}.")
        return float(x.detach())
    try:
        return float(x)
    except (TypeError, ValueError):
        raise ExerciseError(f"{name} must return {returns}; the {what} was a {type(x).__name__}.") from None


def _run_student_step(step_fn: Callable, name: str, g: nn.Module, d: nn.Module, real: torch.Tensor,
                      z: torch.Tensor, lr: float) -> tuple[list, tuple]:
    log: list = []
    opt_g = _WatchedSGD(g, lr, "g", log, g, d)
    opt_d = _WatchedSGD(d, lr, "d", log, g, d)
    try:
        out = step_fn(g, d, opt_g, opt_d, real.clone(), z.clone())
    except (NotImplementedError, ExerciseError):
        raise
    except RuntimeError as exc:
        text = str(exc)
        if "inplace operation" in text or "backward through the graph a second time" in text:
            raise ExerciseError(f"{name}: G's backward ran into a graph that D's backward had already used up. "
                                "Two usual causes: (1) D's loss was built from the fakes without .detach(), so "
                                "d_loss.backward() went through G and freed that part of the graph -- use "
                                "D(fake.detach()) in D's loss; (2) G's loss reuses the logits from D's step -- "
                                "after opt_d.step(), pass the fakes through the UPDATED D again and build G's loss "
                                f"from those. (PyTorch said: {text.splitlines()[0][:160]})") from exc
        raise ExerciseError(f"{name} raised RuntimeError: {text}") from exc
    except Exception as exc:
        raise ExerciseError(f"{name} raised {type(exc).__name__}: {exc}") from exc
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise ExerciseError(f"{name} must return (d_loss, g_loss), got {type(out).__name__}"
                            + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "") + ".")
    return log, (_number(out[0], name, "d_loss"), _number(out[1], name, "g_loss"))


def _check_one_step(step_fn: Callable, name: str, seed: int, junk: bool) -> None:
    lr = 0.1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g, d = _TinyGenerator(), _TinyDiscriminator()
    gen = torch.Generator().manual_seed(seed + 1)
    real = torch.randn(6, 2, generator=gen) + torch.tensor([2.0, -1.0])
    z = torch.randn(6, 3, generator=gen)
    g_junk = [0.3 * torch.randn(p.shape, generator=gen) for p in g.parameters()]
    d_junk = [0.3 * torch.randn(p.shape, generator=gen) for p in d.parameters()]
    if junk:  # gradients left over from an earlier step, as in a real training loop
        for p, j in zip(g.parameters(), g_junk, strict=True):
            p.grad = j.clone()
        for p, j in zip(d.parameters(), d_junk, strict=True):
            p.grad = j.clone()
    ref = _reference_step(g, d, real, z, lr)
    g_before = _params(g)
    log, (d_loss, g_loss) = _run_student_step(step_fn, name, g, d, real, z, lr)

    d_steps, g_steps = [e for e in log if e["who"] == "d"], [e for e in log if e["who"] == "g"]
    if not d_steps:
        raise ExerciseError(f"{name}: opt_d.step() was never called, so D was not updated.")
    if not g_steps:
        raise ExerciseError(f"{name}: opt_g.step() was never called, so G was not updated.")
    if len(g_steps) > 1:
        raise ExerciseError(f"{name}: opt_g.step() was called {len(g_steps)} times; one step updates G once.")
    if len(d_steps) > 1:
        raise ExerciseError(f"{name}: opt_d.step() was called {len(d_steps)} times. One step updates D once; a "
                            "second opt_d.step() after G's backward trains D on the GENERATOR's loss gradients.")
    first, second = log[0], log[1]
    if first["who"] == "g":
        raise ExerciseError(f"{name}: G was updated before D. Update D first (on real images and detached "
                            "fakes), then G through the UPDATED D.")
    # ---- D's step
    if not _all_close(first["g_params"], g_before):
        raise ExerciseError(f"{name}: G's parameters changed before D's step.")
    g_grads_at_d = first["g_grads"]
    start_g = g_junk if junk else [torch.zeros_like(p) for p in g_before]
    zero_g = [torch.zeros_like(p) for p in g_before]
    if not (_all_close(g_grads_at_d, start_g) or _all_close(g_grads_at_d, zero_g)):
        raise ExerciseError(f"{name}: when D took its step, D's loss had sent gradients into G's parameters: the "
                            "fakes were not detached. Use D(fake.detach()) in D's loss, so D's step neither "
                            "computes nor leaves gradients for G (they would add to G's own gradient unless "
                            "zeroed, and cost a backward pass through G).")
    d_grad = first["d_grads"]
    if not _all_close(d_grad, ref["d_grad"]):
        if junk and _all_close(d_grad, _add(ref["d_grad"], d_junk)):
            raise ExerciseError(f"{name}: D's gradient at its step still contains the gradient left over from the "
                                "previous step: call opt_d.zero_grad() before d_loss.backward().")
        messages = {
            "swapped": "D's gradient is that of swapped labels: real images must get label 1 and fakes label 0 "
                       "(D's loss is -E[log D(x)] - E[log(1 - D(G(z)))]).",
            "fake_as_real": "D's loss gives the fakes label 1; for D they are fakes: label 0, "
                            "-E[log(1 - D(G(z)))].",
            "summed": "D's loss sums over the batch; take the batch mean of each term.",
        }
        for key, message in messages.items():
            if _all_close(d_grad, ref["d_variants"][key]):
                raise ExerciseError(f"{name}: {message}")
        raise ExerciseError(f"{name}: D's gradient at its step is not that of the discriminator loss "
                            "-E[log D(x)] - E[log(1 - D(G(z)))] on the given real images and the fakes G(z) "
                            "(real label 1, fake label 0, batch means).")
    # ---- G's step
    if not _all_close(second["d_params"], ref["d_after"]):
        raise ExerciseError(f"{name}: D's parameters changed between D's step and G's step.")
    g_grad = second["g_grads"]
    if not _all_close(g_grad, ref["g_grad"]):
        if junk and _all_close(g_grad, _add(ref["g_grad"], g_junk)):
            raise ExerciseError(f"{name}: G's gradient at its step still contains the gradient left over from the "
                                "previous step: call opt_g.zero_grad() before g_loss.backward().")
        if _all_close(g_grad, _add(ref["g_grad"], ref["d_loss_into_g"])) or (
                junk and _all_close(g_grad, _add(_add(ref["g_grad"], ref["d_loss_into_g"]), g_junk))):
            raise ExerciseError(f"{name}: G's gradient also contains D's loss: the fakes were not detached in D's "
                                "step and G's gradients were not zeroed before g_loss.backward().")
        messages = {
            "saturating": "G's gradient is that of the SATURATING loss E[log(1 - D(G(z)))]; use the "
                          "non-saturating -E[log D(G(z))].",
            "label0": "G's loss gives its fakes label 0 ('fake'), which is D's target: "
                      "-E[log(1 - D(G(z)))] makes the fakes LESS convincing. G wants them called real: label 1, "
                      "-E[log D(G(z))].",
            "old_d": "G's gradient went through D as it was BEFORE its step. Pass the fakes through D again after "
                     "opt_d.step() and build G's loss from those logits.",
            "summed": "G's loss sums over the batch; take the batch mean.",
        }
        for key, message in messages.items():
            if _all_close(g_grad, ref["g_variants"][key]):
                raise ExerciseError(f"{name}: {message}")
        raise ExerciseError(f"{name}: G's gradient at its step is not that of the non-saturating loss "
                            "-E[log D(G(z))] through the updated D, for the fakes G(z) of the noise z passed in.")
    if not _all_close(_params(d), ref["d_after"]):
        raise ExerciseError(f"{name}: D's parameters changed after D's step (during or after G's step).")
    if not all(p.requires_grad for p in d.parameters()):
        raise ExerciseError(f"{name}: D's parameters no longer require gradients after the step: if you freeze D "
                            "for G's step (D.requires_grad_(False)), unfreeze it afterwards, or the next D step "
                            "cannot learn.")
    if not _close(torch.tensor(d_loss), torch.tensor(ref["d_loss"]), rtol=1e-4, atol=1e-6):
        if _close(torch.tensor(d_loss), torch.tensor(ref["g_loss"]), rtol=1e-4, atol=1e-6):
            raise ExerciseError(f"{name}: the two losses are returned in the wrong order: return (d_loss, g_loss).")
        raise ExerciseError(f"{name}: the returned d_loss is {d_loss:.5g}, expected {ref['d_loss']:.5g} (D's loss "
                            "before its update).")
    if not _close(torch.tensor(g_loss), torch.tensor(ref["g_loss"]), rtol=1e-4, atol=1e-6):
        raise ExerciseError(f"{name}: the returned g_loss is {g_loss:.5g}, expected {ref['g_loss']:.5g} (G's "
                            "non-saturating loss through the updated D).")


def check_gan_step(step_fn: Callable) -> None:
    """Check ``step_fn(G, D, opt_g, opt_d, real, z) -> (d_loss, g_loss)``: one alternating GAN update.

    The check runs it twice on tiny networks (G: 3 -> 2, D: 2 -> logit) with SGD optimizers
    it watches: the second time with gradients left over in both networks, as after an
    earlier step. It verifies that D steps first, with G's parameters unchanged and no
    gradient sent into G (fakes detached), on D's loss with real label 1 and fake label 0;
    that D is unchanged by G's step; and that G's gradient at its step is the non-saturating
    loss's, through the updated D.
    """
    name = "gan_step"
    _check_one_step(step_fn, name, seed=40, junk=False)
    _check_one_step(step_fn, name, seed=41, junk=True)
    _ok(name, "D first (labels 1/0, fakes detached, G untouched), then G through the updated D with the "
              "non-saturating loss; gradients zeroed; D unchanged by G's step.")


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
             "you normalised the result to unit length. slerp combines the ORIGINAL z0 and z1, so its first point "
             "is z0 and its last z1, whatever their norms (in between, the norm is not fixed either: it is "
             "neither 1 nor confined between |z0| and |z1|)."),
        ]
        _first_match(out, mistakes, name)
        mid = steps // 2
        raise ExerciseError(f"{name}: the points do not lie on the arc from z0 to z1: the middle row (t = "
                            f"{mid}/{steps - 1}) is {_short(out[mid])}, expected {_short(expected[mid])}; compare with "
                            "[sin((1 - t) w) z0 + sin(t w) z1] / sin(w).")
    _ok(name, "the great-circle path from z0 to z1, angle from the normalised vectors, both ends included.")


# --------------------------------------------------------------------------- 08, Q3.1: the Fréchet distance

def _cov(x: torch.Tensor, unbiased: bool = True) -> torch.Tensor:
    xc = x - x.mean(0)
    return xc.T @ xc / (len(x) - (1 if unbiased else 0))


def _sqrtm_psd(m: torch.Tensor) -> torch.Tensor:
    w, v = torch.linalg.eigh((m + m.T) / 2)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def reference_frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """``|mu_a - mu_b|^2 + tr S_a + tr S_b - 2 tr[(S_a^{1/2} S_b S_a^{1/2})^{1/2}]`` with unbiased covariances."""
    a, b = feats_a.double(), feats_b.double()
    sa, sb = _cov(a), _cov(b)
    root = _sqrtm_psd(sa)
    cross = torch.linalg.eigvalsh(root @ sb @ root).clamp(min=0).sqrt().sum()
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + sa.trace() + sb.trace() - 2 * cross)


def _fd_variants(a: torch.Tensor, b: torch.Tensor) -> list[tuple[float | None, str]]:
    """Values of the typical wrong Fréchet distances for the features a, b, with their messages."""
    mu = ((a.mean(0) - b.mean(0)) ** 2).sum()
    sa, sb = _cov(a), _cov(b)
    ra, rb = _sqrtm_psd(sa), _sqrtm_psd(sb)
    cross = torch.linalg.eigvalsh(ra @ sb @ ra).clamp(min=0).sqrt().sum()
    traces = sa.trace() + sb.trace()

    def fd(mu_term, s1, s2, cross_term):
        return float(mu_term + s1.trace() + s2.trace() - 2 * cross_term)

    def cross_of(s1, s2):
        r = _sqrtm_psd(s1)
        return torch.linalg.eigvalsh(r @ s2 @ r).clamp(min=0).sqrt().sum()

    sab = sa @ sb
    out = [
        (float(mu + traces - 2 * sab.trace().clamp(min=0).sqrt()),
         "you took the square root of the TRACE, 2 sqrt(tr(S_a S_b)). The cross term is the trace of the "
         "MATRIX square root, tr[(S_a^{1/2} S_b S_a^{1/2})^{1/2}]: the sum of the square roots of the "
         "eigenvalues of S_a S_b, not the square root of their sum."),
        (float(mu + traces - 2 * sab.diagonal().clamp(min=0).sqrt().sum()),
         "you took an ELEMENTWISE square root (torch.sqrt / np.sqrt of a matrix), whose trace is "
         "sum_i sqrt((S_a S_b)_ii). A matrix square root R satisfies R @ R = M: use scipy.linalg.sqrtm, or "
         "the eigenvalues of S_a^{1/2} S_b S_a^{1/2} (torch.linalg.eigvalsh), then sum their square roots."),
        (float(mu + traces - 2 * (sa.clamp(min=0).sqrt() @ sb.clamp(min=0).sqrt()).trace()),
         "you took elementwise square roots of the covariances (torch.sqrt / np.sqrt); the cross term needs the "
         "MATRIX square root tr[(S_a^{1/2} S_b S_a^{1/2})^{1/2}] (scipy.linalg.sqrtm or an eigendecomposition)."),
        (float(mu + traces - 2 * (ra @ rb).trace()),
         "tr(S_a^{1/2} S_b^{1/2}) equals the cross term only when the two covariances commute. Use "
         "tr[(S_a^{1/2} S_b S_a^{1/2})^{1/2}] (or the square roots of the eigenvalues of S_a S_b)."),
        (fd(mu, _cov(a, False), _cov(b, False), cross_of(_cov(a, False), _cov(b, False))),
         "the covariances divide by N (the biased, maximum-likelihood estimate); use the unbiased N - 1 "
         "(torch.cov(x.T), np.cov(x, rowvar=False)), like the course's gaussian_stats. The difference shrinks "
         "with N, but it is visible with the few features the check uses."),
        (fd(mu, _cov(a, False), sb, cross_of(_cov(a, False), sb)),
         "the first set's covariance divides by N and the second's by N - 1: use the unbiased N - 1 for both."),
        (fd(mu, sa, _cov(b, False), cross_of(sa, _cov(b, False))),
         "the second set's covariance divides by N and the first's by N - 1: use the unbiased N - 1 for both."),
        (float(mu + traces - cross), "the cross term needs a factor 2: ... - 2 tr[(S_a^{1/2} S_b S_a^{1/2})^{1/2}]."),
        (float(mu.sqrt() + traces - 2 * cross),
         "the mean term is the SQUARED distance |mu_a - mu_b|^2, not |mu_a - mu_b|."),
        (float(mu + traces + 2 * cross), "the cross term is SUBTRACTED: ... - 2 tr[(S_a^{1/2} S_b S_a^{1/2})^{1/2}]."),
        (math.sqrt(max(float(mu + traces - 2 * cross), 0.0)),
         "you returned the square root: that is the 2-Wasserstein distance W2 between the two Gaussians. The "
         "Fréchet distance, as reported for generative models (Heusel et al. 2017), is its SQUARE, W2^2 = "
         "|mu_a - mu_b|^2 + tr S_a + tr S_b - 2 tr[(S_a^{1/2} S_b S_a^{1/2})^{1/2}], without a final square root."),
    ]
    if len(a) == len(b) and len(a) > 1:  # torch.cov(x) / np.cov(x) without rowvar: samples taken as variables
        ta, tb = torch.cov(a), torch.cov(b)
        out.append((fd(mu, ta, tb, cross_of(ta, tb)),
                    "your covariances are N x N: torch.cov(x) and np.cov(x) treat each ROW as a variable. The "
                    "features are the columns: use torch.cov(x.T) or np.cov(x, rowvar=False) (d x d)."))
    return out


def _fd_inputs(seed: int, n_a: int, n_b: int, d: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Two feature sets with correlated, non-commuting covariances and different means."""
    g = torch.Generator().manual_seed(seed)
    mix_a = torch.randn(d, d, generator=g, dtype=torch.float64)
    mix_b = torch.randn(d, d, generator=g, dtype=torch.float64)
    a = torch.randn(n_a, d, generator=g, dtype=torch.float64) @ mix_a + 1.0
    b = torch.randn(n_b, d, generator=g, dtype=torch.float64) @ mix_b - 0.5
    return a, b


def check_frechet_distance(fd_fn: Callable) -> None:
    """Check ``fd_fn(feats_a, feats_b) -> number``: the Fréchet distance between two feature sets (N, d).

    The Fréchet distance is the *squared* 2-Wasserstein distance W2² between the two fitted Gaussians
    (a squared metric, not itself a metric: its square root is the metric).

    Each set's Gaussian is its mean and its *unbiased* covariance (N - 1, as ``torch.cov``,
    ``np.cov`` and the course's :func:`~course_utils.evaluation.frechet.gaussian_stats`);
    the inputs are float64 tensors.
    """
    name = "frechet_distance"
    for seed, n_a, n_b in ((50, 12, 12), (51, 30, 17)):
        a, b = _fd_inputs(seed, n_a, n_b)
        try:
            out = _call(fd_fn, name, a, b)
        except ExerciseError as exc:
            if n_a != n_b:
                raise ExerciseError(f"{exc}\nThis call had {n_a} and {n_b} features (N differs): a covariance "
                                    "of shape (N, N) -- torch.cov(x) or np.cov(x) without rowvar=False -- "
                                    "cannot be combined across the two sets.") from exc.__cause__
            raise
        value = _number(out, name, "result", ONE_NUMBER)
        expected = reference_frechet_distance(a, b)
        if math.isnan(value):
            raise ExerciseError(f"{name} returned NaN. An elementwise square root (torch.sqrt / np.sqrt) of a "
                                "matrix with negative entries gives NaN; the cross term needs the MATRIX square "
                                "root tr[(S_a^{1/2} S_b S_a^{1/2})^{1/2}] (scipy.linalg.sqrtm, or the eigenvalues "
                                "of S_a^{1/2} S_b S_a^{1/2}).")
        if math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9):
            continue
        for wrong, message in _fd_variants(a, b):
            if wrong is not None and math.isclose(value, wrong, rel_tol=1e-6, abs_tol=1e-9):
                raise ExerciseError(f"{name}: {message}")
        raise ExerciseError(f"{name} returned {value:.6g}, expected {expected:.6g} for {n_a} and {n_b} features "
                            "of dimension 4. It matches no typical mistake this check knows; compare with "
                            "|mu_a - mu_b|^2 + tr S_a + tr S_b - 2 tr[(S_a^{1/2} S_b S_a^{1/2})^{1/2}].")
    a, b = _fd_inputs(52, 20, 20)
    same = _number(_call(fd_fn, name, a, a.clone()), name, "result", ONE_NUMBER)
    if not abs(same) < 1e-6:
        raise ExerciseError(f"{name}: two identical feature sets should have distance 0, got {same:.3g}.")
    _ok(name, "|mu_a - mu_b|^2 + tr S_a + tr S_b - 2 tr[(S_a^{1/2} S_b S_a^{1/2})^{1/2}], unbiased covariances; "
              "0 for identical sets.")


CHECKS = {
    "discriminator_loss": check_discriminator_loss,
    "generator_loss_ns": check_generator_loss_non_saturating,
    "gan_step": check_gan_step,
    "lerp": check_lerp,
    "slerp": check_slerp,
    "frechet_distance": check_frechet_distance,
}
