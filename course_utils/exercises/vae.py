"""Checks that students call on their exercise solutions of notebooks 01-05, with messages for typical mistakes.

What lives here: one ``check_*`` function per exercise of notebooks 01-05. A check
calls the student's function on fixed, seeded inputs chosen to expose what students
really write -- logits far in the tails (±30) where a hand-written ``log(1 - sigmoid)``
is -inf, and ±100 where ``log(1 + exp(logits))`` does; log-likelihoods far below float64's
underflow (-800 to -1100 nats), and realistic float32 batches whose images lie hundreds of nats
apart, where a maximum shared across images (or a mean in its place) underflows or overflows;
20-dimensional float32 covariances whose determinants underflow; a
number of samples M that changes between calls, two *different* generators, float64
inputs whose precision must survive, inputs with ``requires_grad`` where the result
feeds a gradient -- compares each result with a reference computed here, and, when
they differ, tries the wrong answers students typically give (the sign of the KL, σ
where σ² belongs, a missing log, a mean where a sum belongs, BCE's default
``reduction="mean"``, swapped arguments, ...) so that the message names the mistake.
Messages say what is wrong and why; they do not spell out the solution line.

A check prints one line starting with ``OK`` (and returns None, so a notebook
cell shows only that line) when the function is right, and raises
:class:`~course_utils.exercises.common.ExerciseError` (an ``AssertionError``)
otherwise. A ``NotImplementedError`` from an unsolved exercise is passed through
unchanged.

The reference formulas here are deliberately written out again rather than
imported from :mod:`course_utils.vae.losses` or :mod:`course_utils.toys.gaussians`,
so the checks do not share a bug with the code they are compared against (the tests
check both agree).

Exercises (notebook, question -> check):

- 01, Q1.2   ``sample_pixels(probs, generator)``              -> :func:`check_sample_pixels`
- 02, Q1.4a  ``naive_log_px(log_px_given_z)``                -> :func:`check_naive_log_px`
- 03, Q1.5b  ``kl_to_standard_normal(mu, sigma)``             -> :func:`check_kl_std_normal`
- 04, Q1.6   ``kl_gaussians(mu_q, cov_q, mu_p, cov_p)``       -> :func:`check_kl_gaussians` (the harder one)
- 04, Q1.10  ``per_example_loss(x, logits, mu, sigma)``       -> :func:`check_per_example_loss`
- 04, Q1.11  ``reparameterize(mu, sigma, eps)``               -> :func:`check_reparameterize`
- 05, Q1.15  ``gaussian_quantiles(n)``                        -> :func:`check_gaussian_quantiles`
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from course_utils.exercises.common import ExerciseError, _as_tensor, _call, _close, _first_match, _ok, _short


def _diagnose(got: torch.Tensor, expected: torch.Tensor,
              mistakes: Sequence[tuple[torch.Tensor | None, str]], name: str, context: str) -> None:
    """Raise ExerciseError naming the first typical mistake that ``got`` matches, or a generic one."""
    _first_match(got, mistakes, name)
    raise ExerciseError(f"{name} returned {_short(got)}, expected {_short(expected)} {context}. "
                        "It does not match any of the typical mistakes this check knows; "
                        "compare your formula with the one in the question term by term.")


def _check_shape(got: torch.Tensor, expected_shape: tuple, name: str, hint: str) -> None:
    if tuple(got.shape) != tuple(expected_shape):
        raise ExerciseError(f"{name} returned shape {tuple(got.shape)}, expected {tuple(expected_shape)}. {hint}")


def _check_floating(got: torch.Tensor, name: str, what: str) -> None:
    if not got.is_floating_point():
        raise ExerciseError(f"{name} returned dtype {got.dtype}; {what} must be floating-point numbers "
                            "(the losses and the decoder compute with floats).")


def _check_keeps_float64(got: torch.Tensor, name: str) -> None:
    if got.dtype != torch.float64:
        raise ExerciseError(f"{name} returned {got.dtype} for float64 inputs: somewhere the computation drops to "
                            "lower precision (a .float(), or a tensor created with a fixed dtype). Keep the dtype "
                            "of the inputs.")


def _check_keeps_float32(got: torch.Tensor, name: str, why: str = "") -> None:
    """float32 inputs must give a float32 result: an upcast inside the function hides float32's limits."""
    if got.dtype != torch.float32:
        raise ExerciseError(f"{name} returned {got.dtype} for float32 inputs: keep the inputs' dtype. "
                            + (why or "The VAE computes in float32, and a result in another dtype changes the "
                                      "dtype of everything computed from it."))


UPCAST = ("Converting to float64 inside the function hides the instability instead of removing it: a VAE "
          "computes in float32, and in float64 the same formula fails too, only further out.")


def _inputs(seed: int, n: int, d: int, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded (mu, sigma) of shape (n, d): mu in [-2, 2], sigma in [0.2, 2.5] (never 1)."""
    g = torch.Generator().manual_seed(seed)
    mu = 4.0 * torch.rand(n, d, generator=g, dtype=torch.float64) - 2.0
    sigma = 0.2 + 2.3 * torch.rand(n, d, generator=g, dtype=torch.float64)
    return mu.to(dtype), sigma.to(dtype)


def _gradients(fn: Callable, name: str, args: dict[str, torch.Tensor], wrt: Sequence[str]):
    """Call ``fn(*args.values())`` with the inputs named in ``wrt`` requiring grad.

    Returns ``{name: gradient of output.sum()}`` for those inputs, or raises an ExerciseError saying
    that the result (or one input's path into it) is detached.
    """
    leaves = {k: v.detach().clone().requires_grad_(True) if k in wrt else v for k, v in args.items()}
    out = _as_tensor(_call(fn, name, *leaves.values()), name)
    if not out.requires_grad:
        raise ExerciseError(f"{name} returns the right values, but its result carries no gradient: something "
                            "detached it (.detach(), .item(), .numpy(), math.* functions, torch.tensor(...) around "
                            "a result, or torch.no_grad()). Training differentiates this result, so it must stay a "
                            "differentiable function of the inputs.")
    out.sum().backward()
    missing = [k for k in wrt if leaves[k].grad is None]
    if missing:
        raise ExerciseError(f"{name}: no gradient reaches {', '.join(missing)}: that input is used through a "
                            "detached copy (or not at all), so training could not update what produces it.")
    return {k: leaves[k].grad for k in wrt}


# --------------------------------------------------------------------------- 01, Q1.2

def check_sample_pixels(sample_pixels: Callable) -> None:
    """Check ``sample_pixels(probs, generator) -> x``: one Bernoulli draw per pixel, ``x_m ~ Bernoulli(probs_m)``.

    Besides the frequencies, it checks that the randomness comes from the generator passed in:
    the same seed reproduces the sample, two different seeds give different samples, and two calls
    with one generator give two different samples.
    """
    name = "sample_pixels"
    levels = torch.tensor([0.05, 0.3, 0.5, 0.7, 0.95])
    n = 4000
    probs = levels.repeat(n, 1)  # (n, 5): each column one probability

    def draw(seed_or_generator):
        g = (torch.Generator().manual_seed(seed_or_generator) if isinstance(seed_or_generator, int)
             else seed_or_generator)
        return _as_tensor(_call(sample_pixels, name, probs, g), name).detach()

    out = draw(0)
    _check_shape(out, probs.shape, name, "Return one value per pixel, the same shape as probs.")
    if out.dtype == torch.bool or not out.is_floating_point():
        raise ExerciseError(f"{name} returned dtype {out.dtype}. A sample's pixels are the numbers 0 and 1 as "
                            "floats, like probs: the decoder's loss computes x * log f, which needs floats.")
    if out.dtype != probs.dtype:
        raise ExerciseError(f"{name} returned dtype {out.dtype} for probabilities of dtype {probs.dtype}. Return "
                            "the dtype of probs (a float64 sample of float32 probabilities doubles the memory and "
                            "turns every later computation with it into float64).")
    x = out.float()
    if _close(x, probs):
        raise ExerciseError(f"{name} returned the probabilities f(z) themselves, the mean image. "
                            "A sample has pixels that are exactly 0 or 1, drawn at random with P(x_m = 1) = f_m.")
    if not bool(((x == 0) | (x == 1)).all()):
        raise ExerciseError(f"{name} returned values other than 0 and 1 (e.g. {_short(x[(x != 0) & (x != 1)])}). "
                            "Each pixel of a sample is a Bernoulli draw: exactly 0 or 1.")
    if _close(x, (probs > 0.5).float()) or _close(x, (probs >= 0.5).float()):
        raise ExerciseError(f"{name} thresholded the probabilities at 0.5 instead of sampling. A pixel with "
                            "f_m = 0.3 must be 1 in about 30% of the samples, not never.")
    freq = x.mean(0)
    tol = 4 * torch.sqrt(levels * (1 - levels) / n)
    if bool((freq - (1 - levels)).abs().le(tol).all()) and not bool((freq - levels).abs().le(tol).all()):
        raise ExerciseError(f"{name} draws 1 with probability 1 - f_m (frequencies {_short(freq, 5)} for f = "
                            f"{_short(levels, 5)}): the comparison with the uniform number points the wrong way.")
    if not bool((freq - levels).abs().le(tol).all()):
        raise ExerciseError(f"{name}: the frequency of ones per pixel is {_short(freq, 5)} but should be close to "
                            f"f = {_short(levels, 5)}. P(x_m = 1) must be f_m.")
    corr = torch.corrcoef(x[:, 1:4].T)  # the three columns with p in (0.3, 0.7)
    if bool((corr - torch.eye(3)).abs().max() > 0.2):
        raise ExerciseError(f"{name}: the pixels are not independent (correlation up to "
                            f"{(corr - torch.eye(3)).abs().max():.2f}): one random number is shared by all pixels "
                            "of an image. Every pixel needs its own draw.")
    if not torch.equal(draw(0), out):
        raise ExerciseError(f"{name} gives different samples for two generators with the same seed: the randomness "
                            "does not come from the generator passed in (e.g. the global random state is used), "
                            "so results cannot be reproduced.")
    if torch.equal(draw(1), out):
        raise ExerciseError(f"{name} gives the same sample for generators seeded 0 and 1: it ignores the generator "
                            "passed in (it makes or seeds a generator of its own), so every call repeats one draw.")
    g = torch.Generator().manual_seed(2)
    if torch.equal(draw(g), draw(g)):
        raise ExerciseError(f"{name}: two calls with the same generator gave the same sample: it re-seeds the "
                            "generator (manual_seed inside the function), so consecutive samples are not independent.")
    return _ok(name, "pixels are independent Bernoulli(f_m) draws, taken from the generator passed in.")


# --------------------------------------------------------------------------- 02, Q1.4a

def reference_naive_log_px(log_px_given_z: torch.Tensor) -> torch.Tensor:
    """log (1/M) sum_m p(x|z_m) from log p(x|z_m) of shape (M, N), in log space: (N,)."""
    m = log_px_given_z.shape[0]
    return torch.logsumexp(log_px_given_z, dim=0) - math.log(m)


def _naive_cases() -> list[tuple[torch.Tensor, str]]:
    """Inputs (M, N) for the naive estimator: M changes between calls, values go far below float64's underflow."""
    g = torch.Generator().manual_seed(2)
    return [
        (-3.0 - 4.0 * torch.rand(50, 3, generator=g), "for M = 50 log-likelihoods around -5 nats"),
        (-450.0 - 60.0 * torch.rand(50, 3, generator=g), "for M = 50 log-likelihoods around -480 nats (float32)"),
        (-800.0 - 300.0 * torch.rand(7, 4, generator=g, dtype=torch.float64),
         "for M = 7 log-likelihoods between -800 and -1100 nats (float64)"),
        (-900.0 - 150.0 * torch.rand(1000, 2, generator=g, dtype=torch.float64),
         "for M = 1000 log-likelihoods between -900 and -1050 nats (float64)"),
        (-1000.0 + torch.randn(1, 3, generator=g, dtype=torch.float64), "for M = 1 sample"),
        # what a naive estimate really sees, in float32: images (columns) hundreds of nats apart, and within an
        # image prior samples whose log-likelihoods spread over hundreds of nats
        (torch.tensor([-150.0, -420.0, -700.0, -950.0]) - 250.0 * torch.rand(64, 4, generator=g),
         "for M = 64 float32 log-likelihoods of 4 images that lie hundreds of nats apart (column maxima near -150, "
         "-420, -700 and -950), each spread over 250 nats"),
    ]


def check_naive_log_px(naive_log_px: Callable) -> None:
    """Check ``naive_log_px(log_px_given_z) -> (N,)``: the log of the average of p(x_n|z_m) over the M samples."""
    name = "naive_log_px"
    for values, where in _naive_cases():
        m, n = values.shape
        out = _as_tensor(_call(naive_log_px, name, values.clone()), name)
        if out.ndim == 0:
            raise ExerciseError(f"{name} returned a single number; return one estimate per image, shape (N,) = ({n},).")
        if tuple(out.shape) in ((m,), (m, 1)) and m != n:
            raise ExerciseError(f"{name} returned shape {tuple(out.shape)}: you reduced over the images, not "
                                f"the samples. The input has shape (M, N) = ({m}, {n}); the average runs over the M "
                                "samples (dim 0), one estimate per image, shape (N,).")
        _check_shape(out, (n,), name, "Reduce over the samples (dim 0) and keep one value per image.")
        _check_floating(out, name, "the estimates")
        expected = reference_naive_log_px(values.double())
        if bool((out == math.inf).any()):
            raise ExerciseError(f"{name} returned +inf {where}. An exponential overflowed: whatever you subtract "
                                "before exponentiating must be at least every term of the image (no smaller, like "
                                "their mean), so that every exponent is <= 0 (float32 overflows above e^88).")
        top_column = values.max(0).values.argmax()
        if (m > 1 and n > 1 and bool(torch.isinf(out).any()) and bool(torch.isfinite(out[top_column]))
                and float(values.max(0).values.max() - values.max(0).values.min()) > 100):
            raise ExerciseError(f"{name} returned {_short(out)} {where}: finite for the image with the largest "
                                "log-likelihood, -inf for images hundreds of nats below it. The number you factor "
                                "out before exponentiating is shared across images (the largest value of the whole "
                                "batch, or of each sample across the images), so the other images' terms still "
                                "underflow. Each image needs its own largest term, taken over its M samples.")
        if bool(torch.isinf(out).any()) or bool(torch.isnan(out).any()):
            raise ExerciseError(f"{name} returned {_short(out)} {where}. Exponentiating log-likelihoods this small "
                                "underflows to 0 (exp(-480) in float32; exp(-800) even in float64, whose smallest "
                                "positive number is about e^-745), so the log of their mean is -inf. Average them "
                                "without leaving log space: factor out the largest term before exponentiating.")
        if _close(out, expected, rtol=1e-7, atol=1e-3):
            if values.dtype == torch.float64:
                _check_keeps_float64(out, name)
            continue
        big = values.double().max(0).values
        mistakes = [
            (values.mean(0), "this is the mean of log p(x|z), i.e. E[log p(x|z)], which by Jensen's inequality "
                             "is below log E[p(x|z)] = log p(x). The estimator averages the probabilities p(x|z_m), "
                             "then takes the log."),
            (torch.logsumexp(values, 0), "the 1/M of the average is missing: log of the sum, not of the mean."),
            (torch.logsumexp(values, 0) + math.log(m), "the 1/M is applied with the wrong sign: log M is added."),
            (torch.logsumexp(values, 0) - math.log(50) if m != 50 else None,
             f"the result is right for M = 50 but not for M = {m}: the number of samples is hard-coded. Take M from "
             "the input (its first dimension)."),
            (torch.logsumexp(values, 0) - math.log(n) if m != n else None,
             "you divided by the number of images N instead of the number of samples M (the first dimension)."),
            (torch.logsumexp(values, 0) / m, "dividing the log by M is not dividing the sum by M."),
            (values.sum(0), "summing log p(x|z_m) multiplies the probabilities; the estimator averages them."),
            (values.max(0).values if m > 1 else None, "the largest term alone is not the average of the terms."),
            (expected - big, "you factored the largest term out before exponentiating but did not add it back "
                             "after the log."),
        ]
        _diagnose(out, expected, mistakes, name, where)
    return _ok(name, "log-mean-exp over the samples: right for any M, stable far below float64's underflow and "
                     "for float32 images hundreds of nats apart.")


# --------------------------------------------------------------------------- 03, Q1.5b

def reference_kl_std_normal(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag sigma^2) || N(0, I)) summed over the last dimension: ``-log s + (s^2 + mu^2)/2 - 1/2``."""
    return (-torch.log(sigma) + 0.5 * (sigma ** 2 + mu ** 2) - 0.5).sum(-1)


def check_kl_std_normal(kl_fn: Callable) -> None:
    """Check ``kl_fn(mu, sigma) -> (N,)``: the KL of a diagonal Gaussian (std ``sigma``) to N(0, I).

    Also: KL(N(0, I) || N(0, I)) = 0, float32 and float64 inputs keep their dtype, and the gradients in mu and sigma
    (the KL is part of the training loss) are those of the KL.
    """
    name = "kl_to_standard_normal"
    n, d = 5, 3
    mu, sigma = _inputs(3, n, d)
    out = _as_tensor(_call(kl_fn, name, mu.clone(), sigma.clone()), name)
    if tuple(out.shape) == (n, d):
        raise ExerciseError(f"{name} returned shape {(n, d)}, one value per latent dimension. The KL of a diagonal "
                            "Gaussian is the sum of the per-dimension KLs: return one value per example, shape (N,).")
    if out.ndim == 0:
        raise ExerciseError(f"{name} returned a single number for a batch of {n} examples; return one KL per "
                            "example, shape (N,): sum over the latent dimensions only.")
    _check_shape(out, (n,), name, "Sum over the latent dimensions (the last one), one value per example.")
    _check_floating(out, name, "KL values")
    expected = reference_kl_std_normal(mu, sigma)
    if not _close(out, expected):
        log_s, s2, m2 = torch.log(sigma), sigma ** 2, mu ** 2
        per_dim = lambda t: t.sum(-1)  # noqa: E731
        mistakes = [
            (-expected, "the sign is flipped: a KL divergence is never negative, and this is negative for every "
                        "example. (In the assignment's form, the -1/2 in front of the sum is part of the KL.)"),
            (2 * expected, "this is twice the KL: the factor 1/2 in front of the sum over dimensions is missing."),
            (per_dim(-2 * log_s + 0.5 * (s2 + m2) - 0.5),
             "the log term is doubled: the first term of the KL is log(sigma_p / sigma_q), a ratio of standard "
             "deviations; log(sigma_p^2 / sigma_q^2) needs a factor 1/2. sigma is the standard deviation."),
            (per_dim(-log_s + 0.5 * (sigma + m2) - 0.5),
             "you used sigma where sigma^2 belongs in the quadratic term (the variance of q enters there)."),
            (per_dim(-0.5 * log_s + 0.5 * (sigma + m2) - 0.5),
             "you treated sigma as the variance. The argument is the standard deviation."),
            (per_dim(-sigma + 0.5 * (s2 + m2) - 0.5), "a log is missing in the first term."),
            (per_dim(-0.5 * log_s + 0.5 * (s2 + m2) - 0.5),
             "the log term is half as large as it should be: in the assignment's form -1/2 (... + log sigma^2 ...) "
             "the log is of the variance, log sigma^2 = 2 log sigma, and you wrote log sigma (sigma is the "
             "standard deviation)."),
            (per_dim(-log_s + 0.5 * (s2 + m2)),
             "the constant is missing (in the assignment's form, the 1 inside the bracket; equivalently a -1/2 per "
             "dimension). Without it KL(N(0, 1) || N(0, 1)) is 1/2 per dimension instead of 0."),
            (per_dim(-log_s + 0.5 * (s2 + m2) - 0.5) / d,
             "you averaged over the latent dimensions; the KL of a diagonal Gaussian is the sum over dimensions."),
            (per_dim(log_s + (1 + m2) / (2 * s2) - 0.5),
             "this is KL(p || q), the reverse divergence. KL is not symmetric: q = N(mu, sigma^2) comes first."),
            (per_dim(log_s + 0.5 * (s2 + m2) - 0.5),
             "the sign of the log term is wrong: log(sigma_p / sigma_q) with sigma_p = 1 is -log sigma."),
        ]
        _diagnose(out, expected, mistakes, name, f"for mu = {_short(mu[0], 3)}..., sigma = {_short(sigma[0], 3)}...")
    _check_keeps_float32(out, name)
    zero = _as_tensor(_call(kl_fn, name, torch.zeros(2, d), torch.ones(2, d)), name)
    if not _close(zero, torch.zeros(2)):
        raise ExerciseError(f"{name}(0, 1) should be 0 (q equals p), got {_short(zero)}.")
    grads = _gradients(kl_fn, name, {"mu": mu, "sigma": sigma}, ("mu", "sigma"))
    if not (_close(grads["mu"], mu) and _close(grads["sigma"], sigma - 1 / sigma)):
        raise ExerciseError(f"{name}: the values are right but the gradients are not (dKL/dmu should be mu and "
                            "dKL/dsigma should be sigma - 1/sigma); part of the computation is detached or replaced.")
    mu64, sigma64 = _inputs(4, n, d, torch.float64)
    _check_keeps_float64(_as_tensor(_call(kl_fn, name, mu64, sigma64), name), name)
    return _ok(name, "KL of a diagonal Gaussian to N(0, I), summed over dimensions, with the right gradients.")


# --------------------------------------------------------------------------- 04, Q1.6 (harder)

def reference_kl_gaussians(mu_q: torch.Tensor, cov_q: torch.Tensor, mu_p: torch.Tensor,
                           cov_p: torch.Tensor) -> torch.Tensor:
    """``1/2 [tr(S_p^-1 S_q) + (m_p - m_q)^T S_p^-1 (m_p - m_q) - d + log det S_p - log det S_q]``, batched."""
    d = mu_q.shape[-1]
    inv_p = torch.linalg.inv(cov_p)
    diff = (mu_p - mu_q).unsqueeze(-1)
    trace = torch.diagonal(inv_p @ cov_q, dim1=-2, dim2=-1).sum(-1)
    maha = (diff.transpose(-2, -1) @ inv_p @ diff)[..., 0, 0]
    return 0.5 * (trace + maha - d + torch.logdet(cov_p) - torch.logdet(cov_q))


def _spd(g: torch.Generator, *batch: int, d: int = 3) -> torch.Tensor:
    a = torch.randn(*batch, d, d, generator=g, dtype=torch.float64)
    return a @ a.transpose(-2, -1) + 0.5 * torch.eye(d, dtype=torch.float64)


def _posterior_like_pairs(seed: int = 9, n: int = 3, d: int = 20) -> tuple[torch.Tensor, ...]:
    """float32 pairs of d-dimensional Gaussians such as a VAE's posteriors can be: standard deviations around 0.05.

    Their determinants (about 1e-53) are below float32's smallest positive number (about 1e-45), so a
    determinant formed before its log underflows to 0; the log-determinants themselves (about -120) are
    ordinary numbers.
    """
    g = torch.Generator().manual_seed(seed)

    def cov():
        a = torch.randn(n, d, d, generator=g, dtype=torch.float64)
        return 0.002 * (a @ a.transpose(-2, -1) / d + 0.5 * torch.eye(d, dtype=torch.float64))

    mu_q, mu_p = 0.05 * torch.randn(n, d, generator=g, dtype=torch.float64), 0.05 * torch.randn(n, d, generator=g,
                                                                                                 dtype=torch.float64)
    return mu_q, cov(), mu_p, cov()


def _check_kl_gaussians_float32(kl_fn: Callable, name: str) -> None:
    mu_q, cov_q, mu_p, cov_p = _posterior_like_pairs()
    expected = reference_kl_gaussians(mu_q, cov_q, mu_p, cov_p)
    args = [t.float() for t in (mu_q, cov_q, mu_p, cov_p)]
    out = _as_tensor(_call(kl_fn, name, *args), name).detach()
    _check_keeps_float32(out, name, UPCAST)
    if tuple(out.shape) == tuple(expected.shape) and _close(out, expected, rtol=1e-3, atol=1e-3):
        return
    where = ("for 3 pairs of 20-dimensional float32 Gaussians with standard deviations around 0.05, as a VAE's "
             f"posteriors can have (KLs {_short(expected, 3)})")
    with torch.no_grad():
        det_q = torch.det(args[1])
    if bool((det_q.abs() < 1e-30).any()):
        raise ExerciseError(f"{name} returned {_short(out, 3)} {where}. Such covariances have determinants near "
                            f"{float(torch.det(cov_q[0])):.0e}, which float32 cannot hold (it rounds them to 0 or to "
                            "a few significant bits), so the log of a determinant is -inf or wrong. Their "
                            "log-determinants are ordinary numbers: compute the log-determinant without forming "
                            "the determinant first.")
    raise ExerciseError(f"{name} returned {_short(out, 3)}, expected {_short(expected, 3)} {where}: it is right "
                        "in float64 on 3-D inputs but loses precision here; avoid forming numbers that overflow or "
                        "underflow in float32 (a determinant, an exponential).")


def check_kl_gaussians(kl_fn: Callable) -> None:
    """Check ``kl_fn(mu_q, cov_q, mu_p, cov_p)``: ``KL(N(mu_q, cov_q) || N(mu_p, cov_p))`` for full covariances.

    Called with one pair (mu of shape (d,), cov (d, d)) and with a batch of pairs (mu (N, d),
    cov (N, d, d)); the covariances are far from diagonal, so a formula that only uses their
    diagonals fails. float64 in, float64 out; float32 in, float32 out.
    """
    name = "kl_gaussians"
    g = torch.Generator().manual_seed(8)
    n, d = 4, 3
    mu_q, mu_p = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g,
                                                                                   dtype=torch.float64)
    cov_q, cov_p = _spd(g, n), _spd(g, n)
    single = _as_tensor(_call(kl_fn, name, mu_q[0], cov_q[0], mu_p[0], cov_p[0]), name)
    if single.numel() != 1:
        raise ExerciseError(f"{name} returned shape {tuple(single.shape)} for one pair of Gaussians (mu of shape "
                            f"({d},), cov ({d}, {d})); a KL is one number.")
    batch = slice(0, 1)  # diagnose on the single pair first; on the batch once the single pair is right
    out, where = single.reshape(1), "for one pair of 3-D Gaussians"
    expected = reference_kl_gaussians(mu_q[batch], cov_q[batch], mu_p[batch], cov_p[batch])
    if _close(out, expected, rtol=1e-6):
        batch = slice(None)
        out = _as_tensor(_call(kl_fn, name, mu_q, cov_q, mu_p, cov_p), name)
        _check_shape(out, (n,), name, "With a batch of N pairs (leading dimensions), return one KL per pair: "
                                      "use operations that work on batches of matrices.")
        expected, where = reference_kl_gaussians(mu_q, cov_q, mu_p, cov_p), "for a batch of 4 pairs"
        if _close(out, expected, rtol=1e-6):
            _check_keeps_float64(out, name)
            same = _as_tensor(_call(kl_fn, name, mu_q, cov_q, mu_q, cov_q), name)
            if not _close(same, torch.zeros(n), atol=1e-8):
                raise ExerciseError(f"{name}(q, q) should be 0 for every pair, got {_short(same)}.")
            _check_kl_gaussians_float32(kl_fn, name)
            return _ok(name, "KL between full-covariance Gaussians, one pair or a batch, 0 for identical ones, "
                             "stable for 20-D float32 posteriors.")
    mq, sq, mp, sp = mu_q[batch], cov_q[batch], mu_p[batch], cov_p[batch]
    ref = reference_kl_gaussians
    diag = lambda s: torch.diag_embed(torch.diagonal(s, dim1=-2, dim2=-1))  # noqa: E731
    inv_p, inv_q = torch.linalg.inv(sp), torch.linalg.inv(sq)
    diff = (mp - mq).unsqueeze(-1)
    trace = torch.diagonal(inv_p @ sq, dim1=-2, dim2=-1).sum(-1)
    maha = (diff.transpose(-2, -1) @ inv_p @ diff)[..., 0, 0]
    logdet_p, logdet_q = torch.logdet(sp), torch.logdet(sq)
    mistakes = [
        (ref(mp, sp, mq, sq), "this is KL(p || q), the reverse divergence: the arguments' roles are swapped. "
                              "KL is not symmetric."),
        (2 * expected, "this is twice the KL: the factor 1/2 in front of the bracket is missing."),
        (-expected, "the sign is flipped: a KL divergence is never negative."),
        (0.5 * (torch.diagonal(inv_q @ sp, dim1=-2, dim2=-1).sum(-1) + maha - d + logdet_p - logdet_q),
         "the trace term uses the wrong inverse: it is tr(cov_p^-1 cov_q), the covariance of the second "
         "argument inverted."),
        (0.5 * (trace + (diff.transpose(-2, -1) @ inv_q @ diff)[..., 0, 0] - d + logdet_p - logdet_q),
         "the Mahalanobis term uses cov_q^-1; the difference of the means is measured in the metric of cov_p."),
        (0.5 * (trace + maha - d - logdet_p + logdet_q),
         "the log-determinant term has the wrong sign: it is log det cov_p - log det cov_q."),
        (0.5 * (trace + maha + logdet_p - logdet_q), "the -d in the bracket is missing: with it, KL(q || q) = 0."),
        (ref(mq, diag(sq), mp, diag(sp)),
         "you used only the diagonals of the covariance matrices. The off-diagonal entries (the correlations) "
         "change the KL: use the full matrices."),
        (0.5 * (trace + maha - d + torch.log(torch.diagonal(sp, dim1=-2, dim2=-1)).sum(-1)
                - torch.log(torch.diagonal(sq, dim1=-2, dim2=-1)).sum(-1)),
         "log det of a covariance matrix is not the sum of the logs of its diagonal entries (that holds only for "
         "diagonal matrices; for a Cholesky factor L of cov it is 2 sum log L_jj)."),
        (0.5 * (trace + maha - d + torch.det(sp) - torch.det(sq)), "the determinants need their logs."),
    ]
    _diagnose(out, expected, mistakes, name, where)


# --------------------------------------------------------------------------- 04, Q1.10

def reference_per_example_loss(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor,
                               sigma: torch.Tensor) -> torch.Tensor:
    """L_n = -sum_m [x log f + (1-x) log(1-f)] - 1/2 sum_j (1 + log sigma^2 - mu^2 - sigma^2), shape (N,)."""
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    kl = -0.5 * (1 + torch.log(sigma ** 2) - mu ** 2 - sigma ** 2).sum(-1)
    return reconstruction + kl


def _loss_inputs(seed: int, n: int = 6, pixels: int = 784, d: int = 4, tails: float | bool = False,
                 dtype=torch.float32):
    """Seeded (x, logits, mu, sigma); with ``tails`` (True means 30) a fifth of the logits are +-tails."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, pixels, generator=g) < 0.3).to(dtype)
    logits = 2.0 * torch.randn(n, pixels, generator=g, dtype=dtype)
    if tails:  # a fifth of the pixels with logits of +-tails, right and wrong alike
        size = 30.0 if tails is True else float(tails)
        tail = torch.rand(n, pixels, generator=g) < 0.2
        sign = torch.where(torch.rand(n, pixels, generator=g) < 0.5, -1.0, 1.0).to(dtype)
        logits = torch.where(tail, size * sign, logits)
    mu, sigma = _inputs(seed + 1, n, d, dtype)
    return x, logits, mu, sigma


def check_per_example_loss(loss_fn: Callable) -> None:
    """Check ``loss_fn(x, logits, mu, sigma) -> (N,)``: the one-sample negative ELBO of Q1.10 per example.

    On ordinary logits first (where most mistakes show), then on logits of ±30 (where a
    hand-written log(1 - sigmoid) gives inf or NaN and an epsilon inside the log gives wrong values),
    then of ±100 (where ``log(1 + exp(logits))`` overflows float32), then the gradients in the
    logits, mu and sigma, then float64 inputs.
    """
    name = "per_example_loss"
    x, logits, mu, sigma = _loss_inputs(4)
    n, d = mu.shape
    out = _as_tensor(_call(loss_fn, name, x.clone(), logits.clone(), mu.clone(), sigma.clone()), name)
    expected = reference_per_example_loss(x.double(), logits.double(), mu.double(), sigma.double())
    if out.ndim == 0:
        if _close(out, expected.mean()):
            raise ExerciseError(f"{name} returned the batch mean. Return L_n for each example, shape (N,); the "
                                "training step averages over the batch afterwards.")
        if _close(out, expected.sum()):
            raise ExerciseError(f"{name} returned the sum over the batch. Return L_n for each example, shape (N,) "
                                "(and when you train, average over the batch: a sum would make the step size depend "
                                "on the batch size).")
        raise ExerciseError(f"{name} returned a single number; return one loss per example, shape (N,) = ({n},).")
    _check_shape(out, (n,), name, "Sum over pixels and latent dimensions, keep one value per example.")
    _check_floating(out, name, "losses")
    if not _close(out, expected, rtol=1e-5, atol=1e-3):
        f = torch.sigmoid(logits.double())
        xd, ld, md, sd = x.double(), logits.double(), mu.double(), sigma.double()
        rec = F.binary_cross_entropy_with_logits(ld, xd, reduction="none")
        kl_terms = -0.5 * (1 + torch.log(sd ** 2) - md ** 2 - sd ** 2)
        rec_sum, kl_sum = rec.sum(-1), kl_terms.sum(-1)
        mistakes = [
            (rec_sum - kl_sum, "the sign of the KL term is wrong: the KL (>= 0) is added to the loss, and in the "
                               "assignment's form the -1/2 in front of the sum is part of the KL (with +1/2 the "
                               "term is minus the KL)."),
            (-rec_sum + kl_sum, "the reconstruction term has the wrong sign: the loss contains -log p(x|z), a "
                                "positive number for binary x."),
            (-rec_sum - kl_sum, "both signs are flipped: this is the ELBO, not the loss. The loss is -ELBO."),
            (rec.mean() + kl_sum, "the reconstruction is one number shared by all examples: the mean of the binary "
                                  "cross-entropy over the whole batch and all pixels. That is what BCE returns with "
                                  "its default reduction='mean'. Each example needs its own sum over its 784 pixels."),
            (rec.sum() + kl_sum, "the reconstruction is the sum over the whole batch (BCE with reduction='sum'), added "
                                 "to every example's KL. Each example needs the sum over its own pixels only."),
            (rec.mean(-1) + kl_sum, "you averaged the reconstruction over the pixels. log p(x|z) of independent "
                                    "pixels is a SUM over the 784 pixels."),
            (rec.mean(-1) + kl_terms.mean(-1), "you averaged over pixels and latent dimensions; both terms are sums."),
            (rec_sum + kl_terms.mean(-1), "you averaged the KL over the latent dimensions; it is a sum over "
                                          "dimensions."),
            (rec_sum + 2 * kl_sum, "the KL term is twice too large: the factor 1/2 in front of its sum over latent "
                                   "dimensions is missing."),
            (rec_sum + kl_sum + 0.5 * d, "the KL term is too large by 1/2 per latent dimension: the constant 1 "
                                         "inside its bracket is missing."),
            (F.binary_cross_entropy_with_logits(xd, ld, reduction="none").sum(-1) + kl_sum,
             "the arguments of the binary cross-entropy are swapped: its first argument is the prediction "
             "(logits or probabilities), the second the target x."),
            (F.binary_cross_entropy(xd, f, reduction="none").sum(-1) + kl_sum,
             "the arguments of the binary cross-entropy are swapped: its first argument is the prediction "
             "(logits or probabilities), the second the target x."),
            (-(xd * torch.log(f)).sum(-1) + kl_sum,
             "the (1 - x) log(1 - f) term is missing: pixels that are 0 also have a likelihood, 1 - f."),
            (rec_sum + (-0.5 * (1 + torch.log(sd) - md ** 2 - sd ** 2)).sum(-1),
             "in the KL, log sigma^2 is 2 log sigma; you wrote log sigma (sigma is the standard deviation)."),
            (rec_sum + (-0.5 * (1 + torch.log(sd ** 2) - md ** 2 - sd)).sum(-1),
             "in the KL the last term is the variance sigma^2, not sigma."),
            (rec_sum + (-0.5 * (1 + torch.log(sd) - md ** 2 - sd)).sum(-1),
             "you treated sigma as the variance; it is the standard deviation."),
            (-(xd * f + (1 - xd) * (1 - f)).sum(-1) + kl_sum,
             "the logs are missing in the reconstruction term: it is minus the log-likelihood, not the likelihood."),
            (F.binary_cross_entropy(torch.sigmoid(f), xd, reduction="none").sum(-1) + kl_sum,
             "you applied the sigmoid twice: the decoder outputs logits, and a function that takes logits applies "
             "the sigmoid itself."),
            (rec_sum, "the KL (regularization) term is missing."),
            (kl_sum, "the reconstruction term is missing."),
        ]
        _diagnose(out, expected, mistakes, name, "for a batch of 6 random examples")
    _check_keeps_float32(out, name, UPCAST)

    xt, lt, mt, st = _loss_inputs(7, tails=True)
    tail = _as_tensor(_call(loss_fn, name, xt, lt, mt, st), name)
    expected_tail = reference_per_example_loss(xt.double(), lt.double(), mt.double(), st.double())
    if not bool(torch.isfinite(tail).all()):
        raise ExerciseError(f"{name} returned {_short(tail)} for logits of +-30. In float32 sigmoid(30) rounds to "
                            "exactly 1, so log(1 - f) = log(0) = -inf (and 0 * (-inf) = NaN where x = 1): "
                            "x log f + (1 - x) log(1 - f) written out with f = sigmoid(logits) is not stable. "
                            "Compute the reconstruction term from the logits, without rounding f first.")
    if not _close(tail, expected_tail, rtol=1e-5, atol=1e-2):
        head = (f"{name} is right for moderate logits but returns {_short(tail)} instead of {_short(expected_tail)} "
                "when some logits are +-30. ")
        if bool((tail > expected_tail).all()):
            raise ExerciseError(head + "In float32 sigmoid(30) rounds to exactly 1, and a binary cross-entropy on "
                                "probabilities then clamps log(0) to -100 (PyTorch's binary_cross_entropy does): a "
                                "confidently wrong pixel costs 100 nats instead of 30. Work from the logits, not "
                                "from rounded probabilities.")
        raise ExerciseError(head + "A small epsilon added inside the log, or f clamped away from 0 and 1, caps "
                            "-log f at about -log(epsilon), so a confidently wrong pixel (30 nats) costs far less "
                            "than it should. Work from the logits.")
    xf, lf, mf, sf = _loss_inputs(8, tails=100.0)
    far = _as_tensor(_call(loss_fn, name, xf, lf, mf, sf), name)
    expected_far = reference_per_example_loss(xf.double(), lf.double(), mf.double(), sf.double())
    if not _close(far, expected_far, rtol=1e-5, atol=1e-2):
        raise ExerciseError(f"{name} is right for logits of +-30 but returns {_short(far)} instead of "
                            f"{_short(expected_far)} when some logits are +-100 (a decoder very sure of a background "
                            "pixel). exp(logits) overflows float32 above a logit of about 88, so log(1 + exp(logits)) "
                            "written out directly is inf there, although its value is simply about the logit. Use a "
                            "form that never exponentiates a large positive number.")
    grads = _gradients(loss_fn, name, {"x": x, "logits": logits, "mu": mu, "sigma": sigma},
                       ("logits", "mu", "sigma"))
    right = (_close(grads["logits"], torch.sigmoid(logits) - x, atol=1e-5) and _close(grads["mu"], mu)
             and _close(grads["sigma"], sigma - 1 / sigma))
    if not right:
        raise ExerciseError(f"{name}: the values are right but the gradients are not (d/dlogits should be "
                            "sigmoid(logits) - x, d/dmu = mu, d/dsigma = sigma - 1/sigma): part of the loss is "
                            "detached or computed outside autograd.")
    x64, l64, m64, s64 = _loss_inputs(9, dtype=torch.float64)
    _check_keeps_float64(_as_tensor(_call(loss_fn, name, x64, l64, m64, s64), name), name)
    return _ok(name, "reconstruction (summed over pixels) + KL (summed over latent dims) per example, "
                     "stable at logits of +-30 and +-100, with the right gradients.")


# --------------------------------------------------------------------------- 04, Q1.11

def check_reparameterize(reparameterize: Callable) -> None:
    """Check ``reparameterize(mu, sigma, eps) -> z``: a sample of N(mu, diag sigma^2) from the given noise.

    The values must be those of the location-scale transform of ``eps``, gradients must reach mu
    and sigma (dz/dmu = 1, dz/dsigma = eps), and float32 and float64 inputs must keep their dtype.
    """
    name = "reparameterize"
    n, d = 5, 3
    mu0, sigma0 = _inputs(6, n, d)
    eps = torch.randn(n, d, generator=torch.Generator().manual_seed(7))
    mu = mu0.clone().requires_grad_(True)
    sigma = sigma0.clone().requires_grad_(True)
    out = _as_tensor(_call(reparameterize, name, mu, sigma, eps.clone()), name)
    _check_shape(out, (n, d), name, "z has the shape of mu.")
    _check_floating(out, name, "z")
    expected = mu0 + sigma0 * eps
    if not _close(out, expected):
        mistakes = [
            (mu0 + sigma0 ** 2 * eps, "you scaled eps by the variance sigma^2. sigma is the standard deviation, and "
                                      "the spread of z around mu must be sigma."),
            (mu0 + sigma0.sqrt() * eps, "you took the square root of sigma, treating it as a variance. sigma is "
                                        "already the standard deviation."),
            (mu0 + torch.exp(0.5 * sigma0) * eps, "you treated sigma as a log-variance (exp(sigma/2)). Here sigma "
                                                  "is the standard deviation itself."),
            (mu0 + torch.exp(sigma0) * eps, "you exponentiated sigma; it is the standard deviation, not its log."),
            (mu0 + eps, "sigma is missing: this sample has spread 1 whatever q's standard deviation is."),
            (sigma0 + mu0 * eps, "mu and sigma are swapped: mu is the centre, sigma scales the noise."),
            (mu0 * eps + sigma0, "mu and sigma are swapped: mu is the centre, sigma scales the noise."),
            (mu0, "you returned the mean; a sample adds the scaled noise."),
        ]
        for wrong, message in mistakes:
            if _close(out, wrong):
                raise ExerciseError(f"{name}: {message}")
        raise ExerciseError(f"{name} returned {_short(out)}, expected {_short(expected)}. If you drew new noise "
                            "inside the function: the trick needs the randomness to come in as the input eps, so "
                            "that z is a deterministic, differentiable function of mu and sigma.")
    if not out.requires_grad:
        raise ExerciseError(f"{name} returns the right values, but no gradient flows back to mu and sigma "
                            "(the output does not require grad): the sample was drawn or copied outside autograd "
                            "(.sample(), torch.normal, .detach(), .item()), which is exactly what the trick avoids.")
    out.sum().backward()
    if mu.grad is None or sigma.grad is None:
        raise ExerciseError(f"{name}: no gradient reaches {'mu' if mu.grad is None else 'sigma'}: it enters "
                            "through a detached copy.")
    if not (_close(mu.grad, torch.ones(n, d)) and _close(sigma.grad, eps)):
        raise ExerciseError(f"{name}: the gradients are wrong (dz/dmu should be 1 and dz/dsigma should be eps).")
    _check_keeps_float32(out, name)
    mu64, sigma64 = _inputs(6, n, d, torch.float64)
    _check_keeps_float64(_as_tensor(_call(reparameterize, name, mu64, sigma64, eps.double()), name), name)
    return _ok(name, "z = mu + sigma * eps, with dz/dmu = 1 and dz/dsigma = eps.")


# --------------------------------------------------------------------------- 05, Q1.15

def reference_gaussian_quantiles(n: int, low: float = 0.05, high: float = 0.95) -> torch.Tensor:
    """N(0, 1) quantiles at n evenly spaced probabilities from ``low`` to ``high``: shape (n,).

    The same grid as :func:`course_utils.vae.figures.gaussian_quantile_grid` (the manifold figure).
    """
    p = torch.linspace(low, high, n, dtype=torch.float64)
    return torch.distributions.Normal(0.0, 1.0).icdf(p).float()


def check_gaussian_quantiles(quantile_fn: Callable) -> None:
    """Check ``quantile_fn(n) -> (n,)``: N(0, 1) quantiles at probabilities ``linspace(0.05, 0.95, n)``."""
    name = "gaussian_quantiles"
    normal = torch.distributions.Normal(0.0, 1.0)
    for n in (5, 20):
        out = _as_tensor(_call(quantile_fn, name, n), name)
        _check_shape(out.squeeze() if out.ndim > 1 else out, (n,), name, "Return the n latent values of one axis.")
        _check_floating(out, name, "latent coordinates")
        out = out.reshape(n).float()
        expected = reference_gaussian_quantiles(n)
        if _close(out, expected, rtol=1e-3, atol=1e-4):
            continue
        if bool(torch.isinf(out).any()):
            raise ExerciseError(f"{name}({n}) contains infinities: the probabilities 0 and 1 map to -inf and +inf "
                                "under the inverse CDF. The grid's probabilities run from 0.05 to 0.95.")
        mid = (torch.arange(n, dtype=torch.float64) + 0.5) / n
        lin = torch.linspace(0.05, 0.95, n, dtype=torch.float64)
        mistakes = [
            (normal.icdf(mid).float(), "the midpoints (i + 1/2)/n are a sensible grid too, but this exercise (and "
                                       "the course's manifold figure) uses probabilities from 0.05 to 0.95."),
            (torch.linspace(-2, 2, n), "evenly spaced latent values are not Gaussian quantiles: it is the "
                                       "PROBABILITIES that are evenly spaced, then mapped to latent values."),
            (torch.linspace(-3, 3, n), "evenly spaced latent values are not Gaussian quantiles: it is the "
                                       "PROBABILITIES that are evenly spaced, then mapped to latent values."),
            (lin.float(), "these are the probabilities themselves, not the latent values they map to."),
            (normal.cdf(lin).float(), "you applied the CDF; the quantile function is the INVERSE of the CDF."),
        ]
        _diagnose(out, expected, mistakes, name, f"for n = {n}")
    _ok(name, "inverse CDF of N(0,1) at probabilities from 0.05 to 0.95: dense near 0, sparse in the tails.")


CHECKS = {
    "sample_pixels": check_sample_pixels,
    "naive_log_px": check_naive_log_px,
    "kl_to_standard_normal": check_kl_std_normal,
    "kl_gaussians": check_kl_gaussians,
    "per_example_loss": check_per_example_loss,
    "reparameterize": check_reparameterize,
    "gaussian_quantiles": check_gaussian_quantiles,
}
