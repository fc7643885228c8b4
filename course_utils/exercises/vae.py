"""Checks that students call on their exercise solutions, with messages for typical mistakes.

What lives here: one ``check_*`` function per exercise of notebooks 01-05 and the
small machinery they share. A check calls the student's function on fixed,
seeded inputs, compares the result with a reference computed here, and, when it
differs, tries the wrong answers students typically give (the sign of the KL,
sigma where sigma squared belongs, a missing log, a mean where a sum belongs, ...)
so that the message names the mistake instead of only saying "wrong".

A check prints one line starting with ``OK`` (and returns None, so a notebook
cell shows only that line) when the function is right, and raises
:class:`~course_utils.exercises.common.ExerciseError` (an ``AssertionError``)
otherwise. A ``NotImplementedError`` from an unsolved exercise is passed through
unchanged.

The reference formulas here are deliberately written out again rather than
imported from :mod:`course_utils.vae.losses`, so the checks do not share a bug with
the code they are meant to be compared against (the tests check both agree).

Exercises (notebook, question -> check):

- 01, Q1.2   ``sample_pixels(probs, generator)``          -> :func:`check_sample_pixels`
- 02, Q1.4a  ``naive_log_px(log_px_given_z)``            -> :func:`check_naive_log_px`
- 03, Q1.5b  ``kl_to_standard_normal(mu, sigma)``         -> :func:`check_kl_std_normal`
- 04, Q1.10  ``per_example_loss(x, logits, mu, sigma)``   -> :func:`check_per_example_loss`
- 04, Q1.11  ``reparameterize(mu, sigma, eps)``           -> :func:`check_reparameterize`
- 05, Q1.15  ``gaussian_quantiles(n)``                    -> :func:`check_gaussian_quantiles`
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
    got_s = _short(got)
    exp_s = _short(expected)
    raise ExerciseError(f"{name} returned {got_s}, expected {exp_s} {context}. "
                        "It does not match any of the typical mistakes this check knows; "
                        "compare your formula with the one in the question term by term.")


def _check_shape(got: torch.Tensor, expected_shape: tuple, name: str, hint: str) -> None:
    if tuple(got.shape) != tuple(expected_shape):
        raise ExerciseError(f"{name} returned shape {tuple(got.shape)}, expected {tuple(expected_shape)}. {hint}")


def _inputs(seed: int, n: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded (mu, sigma) of shape (n, d): mu in about [-2, 2], sigma in [0.2, 2.5] (never 1)."""
    g = torch.Generator().manual_seed(seed)
    mu = 2.0 * torch.rand(n, d, generator=g, dtype=torch.float64) * 2 - 2.0
    sigma = 0.2 + 2.3 * torch.rand(n, d, generator=g, dtype=torch.float64)
    return mu.float(), sigma.float()


# --------------------------------------------------------------------------- 01, Q1.2

def check_sample_pixels(sample_pixels: Callable) -> None:
    """Check ``sample_pixels(probs, generator) -> x``: one Bernoulli draw per pixel, ``x_m ~ Bernoulli(probs_m)``."""
    name = "sample_pixels"
    levels = torch.tensor([0.05, 0.3, 0.5, 0.7, 0.95])
    n = 4000
    probs = levels.repeat(n, 1)  # (n, 5): each column one probability
    out = _as_tensor(_call(sample_pixels, name, probs, torch.Generator().manual_seed(0)), name)
    _check_shape(out, probs.shape, name, "Return one value per pixel, the same shape as probs.")
    x = out.detach().float()
    if _close(x, probs):
        raise ExerciseError(f"{name} returned the probabilities f(z) themselves, the mean image. "
                            "A sample has pixels that are exactly 0 or 1: draw x_m ~ Bernoulli(f_m), "
                            "e.g. with torch.bernoulli(probs, generator=generator).")
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
                            f"{_short(levels, 5)}). P(x_m = 1) must be f_m: compare u < f, not u > f.")
    if not bool((freq - levels).abs().le(tol).all()):
        raise ExerciseError(f"{name}: the frequency of ones per pixel is {_short(freq, 5)} but should be close to "
                            f"f = {_short(levels, 5)}. P(x_m = 1) must be f_m.")
    corr = torch.corrcoef(x[:, 1:4].T)  # the three columns with p in (0.3, 0.7)
    if bool((corr - torch.eye(3)).abs().max() > 0.2):
        raise ExerciseError(f"{name}: the pixels are not independent (correlation up to "
                            f"{(corr - torch.eye(3)).abs().max():.2f}). Draw a separate uniform number for every "
                            "pixel, e.g. torch.rand(probs.shape, generator=generator), not one per image.")
    again = _as_tensor(_call(sample_pixels, name, probs, torch.Generator().manual_seed(0)), name).detach().float()
    if not torch.equal(again, x):
        raise ExerciseError(f"{name} gives different samples for the same seeded generator: pass "
                            "generator=generator to torch.bernoulli / torch.rand so results are reproducible.")
    return _ok(name, "pixels are independent Bernoulli(f_m) draws, reproducible from the generator.")


# --------------------------------------------------------------------------- 02, Q1.4a

def reference_naive_log_px(log_px_given_z: torch.Tensor) -> torch.Tensor:
    """log (1/M) sum_m p(x|z_m) from log p(x|z_m) of shape (M, N), in log space: (N,)."""
    m = log_px_given_z.shape[0]
    return torch.logsumexp(log_px_given_z, dim=0) - math.log(m)


def check_naive_log_px(naive_log_px: Callable) -> None:
    """Check ``naive_log_px(log_px_given_z) -> (N,)``: ``logsumexp`` over the M samples minus ``log M``."""
    name = "naive_log_px"
    g = torch.Generator().manual_seed(2)
    m, n = 50, 3
    small = -3.0 - 4.0 * torch.rand(m, n, generator=g)     # exp() is fine here
    images = -450.0 - 60.0 * torch.rand(m, n, generator=g)  # like real images (float32, as a model gives)
    for values, where in ((small, "for log-likelihoods around -5 nats"),
                          (images, "for log-likelihoods around -480 nats, as for real images")):
        out = _as_tensor(_call(naive_log_px, name, values.clone()), name)
        if tuple(out.shape) in ((m,), (m, 1)):
            raise ExerciseError(f"{name} returned shape {tuple(out.shape)}: you reduced over the images, not "
                                f"the samples. The input has shape (M, N) = ({m}, {n}); average over the M "
                                "samples (dim=0) and return one value per image, shape (N,).")
        if out.ndim == 0:
            raise ExerciseError(f"{name} returned a single number; return one estimate per image, shape (N,) = ({n},).")
        _check_shape(out, (n,), name, "Reduce over the samples (dim=0) and keep one value per image.")
        expected = reference_naive_log_px(values.double()).float()
        if _close(out, expected, rtol=1e-6, atol=1e-4):
            continue
        if bool(torch.isinf(out).any()) or bool(torch.isnan(out).any()):
            raise ExerciseError(f"{name} returned {_short(out)} {where}. exp(-480) underflows to 0 in floating "
                                "point, so log(mean(exp(...))) gives -inf. Stay in log space: "
                                "torch.logsumexp(log_px_given_z, dim=0) - log M.")
        mistakes = [
            (values.mean(0), "this is the mean of log p(x|z), i.e. E[log p(x|z)], which by Jensen's inequality "
                             "is below log E[p(x|z)] = log p(x). Average the probabilities, not their logs: "
                             "logsumexp over the samples minus log M."),
            (torch.logsumexp(values, 0), "you forgot the 1/M: the estimate is log((1/M) sum_m p(x|z_m)) = "
                                         "logsumexp(...) - log M."),
            (torch.logsumexp(values, 0) + math.log(m), "the 1/M has the wrong sign: subtract log M, do not add it."),
            (torch.logsumexp(values, 0) / m, "dividing the log by M is not dividing the sum by M: subtract log M."),
            (values.sum(0), "summing log p(x|z_m) multiplies the probabilities; the estimator averages them: "
                            "logsumexp over the samples minus log M."),
            (values.max(0).values, "the largest term alone is not the average: use logsumexp - log M."),
            (torch.log(values.exp().mean(0)), "exponentiating the log-likelihoods directly under/overflows; "
                                              "use torch.logsumexp."),
        ]
        _diagnose(out, expected, mistakes, name, where)
    return _ok(name, "log-mean-exp over the samples, stable for log-likelihoods of hundreds of nats.")


# --------------------------------------------------------------------------- 03, Q1.5b

def reference_kl_std_normal(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag sigma^2) || N(0, I)) summed over the last dimension: ``-log s + (s^2 + mu^2)/2 - 1/2``."""
    return (-torch.log(sigma) + 0.5 * (sigma ** 2 + mu ** 2) - 0.5).sum(-1)


def check_kl_std_normal(kl_fn: Callable) -> None:
    """Check ``kl_fn(mu, sigma) -> (N,)``: the KL of a diagonal Gaussian (std ``sigma``) to N(0, I)."""
    name = "kl_to_standard_normal"
    n, d = 5, 3
    mu, sigma = _inputs(3, n, d)
    zero = _as_tensor(_call(kl_fn, name, torch.zeros(2, d), torch.ones(2, d)), name)
    out = _as_tensor(_call(kl_fn, name, mu.clone(), sigma.clone()), name)
    if tuple(out.shape) == (n, d):
        raise ExerciseError(f"{name} returned shape {(n, d)}, one value per latent dimension. For a diagonal "
                            "Gaussian the KL is the sum over dimensions: add .sum(-1) and return shape (N,).")
    if out.ndim == 0:
        raise ExerciseError(f"{name} returned a single number for a batch of {n} examples; return one KL per "
                            "example, shape (N,) -- sum over the latent dimensions only (dim=-1).")
    _check_shape(out, (n,), name, "Sum over the latent dimensions (dim=-1), one value per example.")
    expected = reference_kl_std_normal(mu, sigma)
    if _close(out, expected):
        if not _close(zero, torch.zeros(2)):
            raise ExerciseError(f"{name}(0, 1) should be 0 (q equals p), got {_short(zero)}.")
        return _ok(name, "matches -log sigma + (sigma^2 + mu^2)/2 - 1/2 summed over dimensions, and KL(p||p) = 0.")
    per_dim = lambda t: t.sum(-1)  # noqa: E731
    mistakes = [
        (-expected, "the sign is flipped: a KL divergence is never negative. Per dimension it is "
                    "-log sigma + (sigma^2 + mu^2)/2 - 1/2 "
                    "(the assignment's -1/2 (1 + log sigma^2 - mu^2 - sigma^2))."),
        (per_dim(-2 * torch.log(sigma) + 0.5 * (sigma ** 2 + mu ** 2) - 0.5),
         "the first term is log(sigma_p / sigma_q) = -log sigma, not log(sigma_p^2 / sigma_q^2) = -log sigma^2 "
         "(-2 log sigma). sigma is the standard deviation."),
        (per_dim(-torch.log(sigma) + 0.5 * (sigma + mu ** 2) - 0.5),
         "you used sigma where sigma^2 belongs: the quadratic term is (sigma^2 + mu^2)/2."),
        (per_dim(-0.5 * torch.log(sigma) + 0.5 * (sigma + mu ** 2) - 0.5),
         "you treated sigma as the variance. The argument is the standard deviation: use -log sigma and sigma^2."),
        (per_dim(-sigma + 0.5 * (sigma ** 2 + mu ** 2) - 0.5),
         "a log is missing: the first term is -log sigma, not -sigma."),
        (per_dim(-torch.log(sigma) + 0.5 * (sigma ** 2 + mu ** 2)),
         "the -1/2 per dimension is missing: with it, KL(N(0,1) || N(0,1)) = 0."),
        (per_dim(-torch.log(sigma) + 0.5 * (sigma ** 2 + mu ** 2) - 0.5) / d,
         "you averaged over the latent dimensions; the KL of a diagonal Gaussian is the sum over dimensions."),
        (per_dim(torch.log(sigma) + (1 + mu ** 2) / (2 * sigma ** 2) - 0.5),
         "this is KL(p || q), the reverse divergence. KL is not symmetric: "
         "compute KL(q || p) with q = N(mu, sigma^2)."),
        (per_dim(torch.log(sigma) + 0.5 * (sigma ** 2 + mu ** 2) - 0.5),
         "the sign of the log term is wrong: log(sigma_p/sigma_q) = log(1/sigma) = -log sigma."),
    ]
    _diagnose(out, expected, mistakes, name, f"for mu = {_short(mu[0], 3)}..., sigma = {_short(sigma[0], 3)}...")


# --------------------------------------------------------------------------- 04, Q1.10

def reference_per_example_loss(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor,
                               sigma: torch.Tensor) -> torch.Tensor:
    """L_n = -sum_m [x log f + (1-x) log(1-f)] - 1/2 sum_j (1 + log sigma^2 - mu^2 - sigma^2), shape (N,)."""
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    kl = -0.5 * (1 + torch.log(sigma ** 2) - mu ** 2 - sigma ** 2).sum(-1)
    return reconstruction + kl


def check_per_example_loss(loss_fn: Callable) -> None:
    """Check ``loss_fn(x, logits, mu, sigma) -> (N,)``: the one-sample negative ELBO of Q1.10 per example."""
    name = "per_example_loss"
    g = torch.Generator().manual_seed(4)
    n, pixels, d = 6, 784, 4
    x = (torch.rand(n, pixels, generator=g) < 0.3).float()
    logits = 2.0 * torch.randn(n, pixels, generator=g)
    mu, sigma = _inputs(5, n, d)
    out = _as_tensor(_call(loss_fn, name, x.clone(), logits.clone(), mu.clone(), sigma.clone()), name)
    expected = reference_per_example_loss(x, logits, mu, sigma)
    if out.ndim == 0:
        if _close(out, expected.mean()):
            raise ExerciseError(f"{name} returned the batch mean. Return L_n for each example, shape (N,); the "
                                "training step averages over the batch afterwards (loss.mean()).")
        if _close(out, expected.sum()):
            raise ExerciseError(f"{name} returned the sum over the batch. Return L_n for each example, shape (N,) "
                                "(and average over the batch, not sum, when you train).")
        raise ExerciseError(f"{name} returned a single number; return one loss per example, shape (N,) = ({n},).")
    _check_shape(out, (n,), name, "Sum over pixels and latent dimensions, keep one value per example.")
    if _close(out, expected):
        return _ok(name, "reconstruction (summed over pixels) + KL (summed over latent dims), per example.")
    f = torch.sigmoid(logits)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    kl_terms = -0.5 * (1 + torch.log(sigma ** 2) - mu ** 2 - sigma ** 2)
    rec_sum, kl_sum = rec.sum(-1), kl_terms.sum(-1)
    mistakes = [
        (rec_sum - kl_sum, "the sign of the KL term is wrong. -1/2 sum_j (1 + log sigma^2 - mu^2 - sigma^2) IS the KL "
                           "(>= 0) and is added to the loss; +1/2 sum_j (...) would be minus the KL."),
        (-rec_sum + kl_sum, "the reconstruction term has the wrong sign: the loss contains -log p(x|z) = "
                            "-sum_m [x log f + (1-x) log(1-f)], a positive number."),
        (-rec_sum - kl_sum, "both signs are flipped: this is the ELBO, not the loss. The loss is -ELBO."),
        (rec.mean(-1) + kl_sum, "you averaged the reconstruction over the pixels (e.g. a BCE with reduction='mean'). "
                                "log p(x|z) of independent pixels is a SUM over the 784 pixels."),
        (rec.mean(-1) + kl_terms.mean(-1), "you averaged over pixels and latent dimensions; both terms are sums."),
        (rec_sum + kl_terms.mean(-1), "you averaged the KL over the latent dimensions; it is a sum over dimensions."),
        (rec_sum + (-0.5 * (1 + torch.log(sigma) - mu ** 2 - sigma ** 2)).sum(-1),
         "in the KL, log sigma^2 is 2 log sigma; you wrote log sigma (sigma is the standard deviation)."),
        (rec_sum + (-0.5 * (1 + torch.log(sigma ** 2) - mu ** 2 - sigma)).sum(-1),
         "in the KL the last term is sigma^2 (the variance), not sigma."),
        (rec_sum + (-0.5 * (1 + torch.log(sigma) - mu ** 2 - sigma)).sum(-1),
         "you treated sigma as the variance; it is the standard deviation: use log sigma^2 and sigma^2."),
        (-(x * f + (1 - x) * (1 - f)).sum(-1) + kl_sum,
         "the logs are missing in the reconstruction term: -sum_m [x log f + (1-x) log(1-f)]."),
        (F.binary_cross_entropy(torch.sigmoid(f), x, reduction="none").sum(-1) + kl_sum,
         "you applied the sigmoid twice: the decoder outputs logits; f = sigmoid(logits) once "
         "(or use F.binary_cross_entropy_with_logits on the logits)."),
        (rec_sum, "the KL (regularization) term is missing."),
        (kl_sum, "the reconstruction term is missing."),
    ]
    _diagnose(out, expected, mistakes, name, "for a batch of 6 random examples")


# --------------------------------------------------------------------------- 04, Q1.11

def check_reparameterize(reparameterize: Callable) -> None:
    """Check ``reparameterize(mu, sigma, eps) -> z = mu + sigma * eps``, differentiable in mu and sigma."""
    name = "reparameterize"
    n, d = 5, 3
    mu0, sigma0 = _inputs(6, n, d)
    eps = torch.randn(n, d, generator=torch.Generator().manual_seed(7))
    mu = mu0.clone().requires_grad_(True)
    sigma = sigma0.clone().requires_grad_(True)
    out = _as_tensor(_call(reparameterize, name, mu, sigma, eps.clone()), name)
    _check_shape(out, (n, d), name, "z has the shape of mu.")
    expected = mu0 + sigma0 * eps
    if not _close(out, expected):
        mistakes = [
            (mu0 + sigma0 ** 2 * eps, "you scaled eps by the variance sigma^2. z = mu + sigma * eps uses the "
                                      "standard deviation sigma."),
            (mu0 + sigma0.sqrt() * eps, "you took the square root of sigma, treating it as a variance. sigma is "
                                        "already the standard deviation: z = mu + sigma * eps."),
            (mu0 + torch.exp(0.5 * sigma0) * eps, "you treated sigma as a log-variance (exp(sigma/2)). Here sigma "
                                                  "is the standard deviation itself: z = mu + sigma * eps."),
            (mu0 + torch.exp(sigma0) * eps, "you exponentiated sigma; it is the standard deviation, not its log."),
            (mu0 + eps, "sigma is missing: z = mu + sigma * eps."),
            (sigma0 + mu0 * eps, "mu and sigma are swapped: z = mu + sigma * eps."),
            (mu0 * eps + sigma0, "mu and sigma are swapped: z = mu + sigma * eps."),
            (mu0, "you returned the mean; a sample adds the scaled noise sigma * eps."),
        ]
        for wrong, message in mistakes:
            if _close(out, wrong):
                raise ExerciseError(f"{name}: {message}")
        raise ExerciseError(f"{name} returned {_short(out)}, expected mu + sigma * eps = {_short(expected)}. "
                            "Use the eps passed in (do not draw new noise inside the function): the randomness "
                            "must come in as an input for the trick to work.")
    if not out.requires_grad:
        raise ExerciseError(f"{name} returns the right values, but no gradient flows back to mu and sigma "
                            "(the output does not require grad). Sampling with torch.normal or .sample(), or "
                            ".detach(), blocks the gradient: compute z = mu + sigma * eps with tensor operations.")
    out.sum().backward()
    if mu.grad is None or sigma.grad is None:
        raise ExerciseError(f"{name}: no gradient reaches {'mu' if mu.grad is None else 'sigma'}. "
                            "Compute z = mu + sigma * eps from the tensors passed in.")
    if not (_close(mu.grad, torch.ones(n, d)) and _close(sigma.grad, eps)):
        raise ExerciseError(f"{name}: the gradients are wrong (dz/dmu should be 1 and dz/dsigma should be eps).")
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
        out = out.reshape(n).float()
        expected = reference_gaussian_quantiles(n)
        if _close(out, expected, rtol=1e-3, atol=1e-4):
            continue
        if bool(torch.isinf(out).any()):
            raise ExerciseError(f"{name}({n}) contains infinities: the probabilities 0 and 1 map to -inf and +inf "
                                "under the inverse CDF. Stay inside (0, 1): linspace(0.05, 0.95, n).")
        mid = (torch.arange(n, dtype=torch.float64) + 0.5) / n
        lin = torch.linspace(0.05, 0.95, n, dtype=torch.float64)
        mistakes = [
            (normal.icdf(mid).float(), "the midpoints (i + 1/2)/n are a sensible grid too, but this exercise (and "
                                       "the course's manifold figure) uses the probabilities linspace(0.05, 0.95, n)."),
            (torch.linspace(-2, 2, n), "evenly spaced latent values are not Gaussian quantiles: space the "
                                       "PROBABILITIES evenly, linspace(0.05, 0.95, n), and map them through the "
                                       "inverse CDF (torch.distributions.Normal(0, 1).icdf)."),
            (torch.linspace(-3, 3, n), "evenly spaced latent values are not Gaussian quantiles: space the "
                                       "PROBABILITIES evenly and map them through the inverse CDF (icdf)."),
            (lin.float(), "these are the probabilities themselves; map them through the inverse CDF of N(0, 1) "
                          "to get latent values."),
            (normal.cdf(lin).float(), "you applied the CDF; the quantile function is the INVERSE CDF (icdf)."),
        ]
        _diagnose(out, expected, mistakes, name, f"for n = {n}")
    _ok(name, "inverse CDF of N(0,1) at linspace(0.05, 0.95, n): dense near 0, sparse in the tails.")


CHECKS = {
    "sample_pixels": check_sample_pixels,
    "naive_log_px": check_naive_log_px,
    "kl_to_standard_normal": check_kl_std_normal,
    "per_example_loss": check_per_example_loss,
    "reparameterize": check_reparameterize,
    "gaussian_quantiles": check_gaussian_quantiles,
}
