"""Each exercise check of notebooks 01-05 accepts the reference and valid alternatives, and rejects what students write.

Every typical wrong answer is rejected with a message that names the mistake; and no rejection
message spells out the solution line (checked against a list of fragments per exercise).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import accepts, rejects

from course_utils.exercises import vae as ex

# fragments of the solution lines that a rejection message must not contain
GIVEAWAYS = {
    "sample_pixels": ["torch.bernoulli(probs", "generator=generator", "torch.rand(probs.shape"],
    "naive_log_px": ["torch.logsumexp(", "logsumexp(log_px_given_z", "- math.log(M)", "log M."],
    "kl": ["-log sigma + (sigma^2 + mu^2)/2 - 1/2", "(-torch.log(sigma)", ".sum(-1)", "1 + log sigma^2"],
    "kl_gaussians": ["torch.linalg", "0.5 * (", "tr(cov_p^-1 cov_q) + "],
    "loss": ["binary_cross_entropy_with_logits(logits, x", "reduction=\"none\"", "reduction='none'",
             "F.logsigmoid", "softplus(", "-0.5 * (1 + torch.log", "1 + log sigma^2 - mu^2"],
    "reparameterize": ["mu + sigma * eps"],
    "quantiles": [".icdf(", "linspace(0.05, 0.95, n)"],
}


def rejects_without_giveaway(check, fn, fragment, exercise):
    message = rejects(check, fn, fragment)
    for giveaway in GIVEAWAYS[exercise]:
        assert giveaway not in message, f"the message gives the solution away ({giveaway!r}): {message}"
    return message


def test_checks_pass_not_implemented_through():
    def unsolved(*args):
        raise NotImplementedError

    for check in ex.CHECKS.values():
        with pytest.raises(NotImplementedError):
            check(unsolved)


def test_crash_becomes_exercise_error():
    rejects(ex.check_kl_std_normal, lambda mu, sigma: mu @ sigma, "raised RuntimeError")


# ----------------------------------------------------------------- 01 sample_pixels

@pytest.mark.parametrize("good", [
    lambda p, g: torch.bernoulli(p, generator=g),
    lambda p, g: (torch.rand(p.shape, generator=g) < p).float(),
    lambda p, g: (torch.rand(p.shape, generator=g, dtype=p.dtype) < p).to(p.dtype),
    lambda p, g: torch.where(torch.rand(p.shape, generator=g) < p, 1.0, 0.0),
], ids=["bernoulli", "uniform-float", "uniform-to-dtype", "where"])
def test_sample_pixels_accepts(good):
    assert accepts(ex.check_sample_pixels, good)


def reseeding_to_its_own_start(p, g):
    g.manual_seed(g.initial_seed())  # "for reproducibility": every call restarts the generator
    return torch.bernoulli(p, generator=g)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda p, g: p.clone(), "the mean image"),
    (lambda p, g: (p > 0.5).float(), "thresholded"),
    (lambda p, g: (torch.rand(p.shape, generator=g) > p).float(), "1 - f_m"),
    (lambda p, g: (torch.rand(len(p), 1, generator=g) < p).float(), "not independent"),
    (lambda p, g: torch.bernoulli(p), "does not come from the generator passed in"),
    (lambda p, g: torch.bernoulli(p, generator=torch.Generator().manual_seed(0)), "ignores the generator"),
    (lambda p, g: torch.bernoulli(p, generator=g.manual_seed(0)), "ignores the generator"),
    (reseeding_to_its_own_start, "re-seeds the generator"),
    (lambda p, g: torch.rand(p.shape, generator=g) < p, "dtype torch.bool"),
    (lambda p, g: (torch.rand(p.shape, generator=g) < p).long(), "dtype torch.int64"),
    (lambda p, g: (torch.rand(p.shape, generator=g) < p).double(), "for probabilities of dtype torch.float32"),
    (lambda p, g: p[:, :2], "shape"),
], ids=["mean", "threshold", "one-minus", "shared-uniform", "global-rng", "own-generator", "reseed-0",
        "reseed-start", "bool", "long", "float64", "shape"])
def test_sample_pixels_rejects(wrong, fragment):
    rejects_without_giveaway(ex.check_sample_pixels, wrong, fragment, "sample_pixels")


# ----------------------------------------------------------------- 02 naive_log_px

def max_trick(lp):
    top = lp.max(0).values
    return top + torch.log(torch.exp(lp - top).mean(0))


@pytest.mark.parametrize("good", [
    lambda lp: torch.logsumexp(lp, 0) - math.log(lp.shape[0]),
    lambda lp: torch.logsumexp(lp, dim=0) - np.log(len(lp)),
    lambda lp: torch.logsumexp(lp, 0) - torch.log(torch.tensor(float(lp.shape[0]))),
    max_trick,
    lambda lp: __import__("course_utils.vae.estimators", fromlist=["log_mean_exp"]).log_mean_exp(lp, 0),
], ids=["logsumexp", "numpy-log", "tensor-log", "max-trick", "package"])
def test_naive_accepts(good):
    assert accepts(ex.check_naive_log_px, good)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda lp: lp.mean(0), "Jensen"),
    (lambda lp: torch.logsumexp(lp, 0), "1/M of the average is missing"),
    (lambda lp: torch.log(torch.exp(lp).mean(0)), "underflows to 0"),
    (lambda lp: torch.log(torch.exp(lp.double()).mean(0)), "even in float64"),
    (lambda lp: torch.logsumexp(lp, 1) - math.log(lp.shape[1]), "reduced over the images"),
    (lambda lp: lp.sum(0), "multiplies the probabilities"),
    (lambda lp: torch.logsumexp(lp, 0) + math.log(lp.shape[0]), "wrong sign"),
    (lambda lp: torch.logsumexp(lp, 0) - math.log(50), "hard-coded"),
    (lambda lp: torch.logsumexp(lp, 0) - math.log(lp.shape[1]), "number of images N"),
    (lambda lp: torch.logsumexp(lp, 0) / lp.shape[0], "dividing the log by M"),
    (lambda lp: lp.max(0).values, "largest term alone"),
    (lambda lp: torch.log(torch.exp(lp - lp.max(0).values).mean(0)), "did not add it back"),
    (lambda lp: (torch.logsumexp(lp, 0) - math.log(lp.shape[0])).float(), "float32 for float64 inputs"),
    # numerically unstable forms that are right on mild inputs: they fail only on realistic float32 batches
    (lambda lp: lp.max() + torch.log(torch.exp(lp - lp.max()).mean(0)), "shared across images"),
    (lambda lp: torch.log(torch.exp(lp - torch.max(lp)).sum(0)) + torch.max(lp) - math.log(len(lp)),
     "shared across images"),
    (lambda lp: lp.mean(0) + torch.log(torch.exp(lp - lp.mean(0)).mean(0)), "overflowed"),
], ids=["mean-of-logs", "no-1/M", "exp-float32", "exp-float64", "wrong-dim", "sum", "plus-logM", "M-hardcoded",
        "divided-by-N", "log-over-M", "max", "max-not-added", "float32", "global-max", "global-max-sum", "mean-shift"])
def test_naive_rejects(wrong, fragment):
    rejects_without_giveaway(ex.check_naive_log_px, wrong, fragment, "naive_log_px")


def test_naive_cases_go_below_float64_underflow_and_vary_m():
    cases = ex._naive_cases()
    assert len({values.shape[0] for values, _ in cases}) >= 4
    deep = [values for values, _ in cases if values.dtype == torch.float64 and values.max() < -745]
    assert deep, "no case below exp()'s float64 underflow"
    assert all(torch.exp(v).eq(0).all() for v in deep)


def test_naive_cases_include_a_realistic_float32_batch():
    """Images hundreds of nats apart, samples spread over hundreds of nats, in float32: a shared maximum underflows
    for the lower images and a mean in place of the maximum overflows -- and the stable forms stay exact."""
    batches = [v for v, _ in ex._naive_cases() if v.dtype == torch.float32]
    wide = [v for v in batches if (v.max(0).values.max() - v.max(0).values.min()) > 500
            and ((v.max(0).values - v.mean(0)) > 90).all()]
    assert wide, "no float32 case whose columns differ by hundreds of nats"
    v = wide[0]
    assert torch.isinf(v.max() + torch.log(torch.exp(v - v.max()).mean(0))).any()
    assert torch.isinf(v.mean(0) + torch.log(torch.exp(v - v.mean(0)).mean(0))).any()
    torch.testing.assert_close(torch.logsumexp(v, 0) - math.log(len(v)),
                               ex.reference_naive_log_px(v.double()).float(), rtol=0, atol=1e-3)


# ----------------------------------------------------------------- 03 KL to N(0, I)

def good_terms(mu, s):
    return -torch.log(s) + 0.5 * (s**2 + mu**2) - 0.5


@pytest.mark.parametrize("good", [
    lambda mu, s: good_terms(mu, s).sum(-1),
    lambda mu, s: -0.5 * (1 + torch.log(s**2) - mu**2 - s**2).sum(-1),        # the assignment's form
    lambda mu, s: -torch.log(s).sum(-1) + 0.5 * (s**2 + mu**2).sum(-1) - 0.5 * mu.shape[-1],
    lambda mu, s: torch.distributions.kl_divergence(torch.distributions.Normal(mu, s),
                                                    torch.distributions.Normal(0.0, 1.0)).sum(-1),
    lambda mu, s: __import__("course_utils.vae.losses", fromlist=["kl_std_normal"]).kl_std_normal(mu, s),
], ids=["per-dim", "assignment", "split-sums", "torch-distributions", "package"])
def test_kl_accepts(good):
    assert accepts(ex.check_kl_std_normal, good)


def test_kl_reference_and_package_agree():
    from course_utils.vae.losses import kl_std_normal

    mu, s = torch.randn(4, 3), torch.rand(4, 3) + 0.1
    torch.testing.assert_close(ex.reference_kl_std_normal(mu, s), kl_std_normal(mu, s))


@pytest.mark.parametrize("wrong, fragment", [
    (lambda mu, s: -good_terms(mu, s).sum(-1), "sign is flipped"),
    (lambda mu, s: -(1 + torch.log(s**2) - mu**2 - s**2).sum(-1), "factor 1/2 in front of the sum"),
    (lambda mu, s: -0.5 * (torch.log(s**2) - mu**2 - s**2).sum(-1), "the constant is missing"),
    (lambda mu, s: (-torch.log(s) + 0.5 * (s**2 + mu**2)).sum(-1), "the constant is missing"),
    (lambda mu, s: (-torch.log(s**2) + 0.5 * (s**2 + mu**2) - 0.5).sum(-1), "log term is doubled"),
    (lambda mu, s: (-torch.log(s) + 0.5 * (s + mu**2) - 0.5).sum(-1), "sigma where sigma^2 belongs"),
    (lambda mu, s: (-0.5 * torch.log(s) + 0.5 * (s + mu**2) - 0.5).sum(-1), "as the variance"),
    (lambda mu, s: (-s + 0.5 * (s**2 + mu**2) - 0.5).sum(-1), "log is missing"),
    (lambda mu, s: -0.5 * (1 + torch.log(s) - mu**2 - s**2).sum(-1), "you wrote log sigma"),
    (lambda mu, s: good_terms(mu, s).mean(-1), "averaged over the latent dimensions"),
    (lambda mu, s: good_terms(mu, s), "sum of the per-dimension KLs"),
    (lambda mu, s: good_terms(mu, s).sum(), "one KL per"),
    (lambda mu, s: (torch.log(s) + (1 + mu**2) / (2 * s**2) - 0.5).sum(-1), "KL(p || q)"),
    (lambda mu, s: good_terms(mu, s).sum(-1).detach(), "carries no gradient"),
    (lambda mu, s: torch.tensor(good_terms(mu, s).sum(-1).tolist()), "carries no gradient"),
    (lambda mu, s: good_terms(mu.detach(), s).sum(-1), "no gradient reaches mu"),
    (lambda mu, s: good_terms(mu, s).sum(-1).float(), "float32 for float64 inputs"),
    (lambda mu, s: good_terms(mu.double(), s.double()).sum(-1), "torch.float64 for float32 inputs"),
], ids=["sign", "half-missing", "one-missing", "constant-missing", "log-sigma-squared", "sigma-for-variance",
        "sigma-is-variance", "no-log", "log-sigma-in-assignment-form", "mean", "no-sum", "batch-sum", "reverse",
        "detached", "rebuilt-tensor",
        "mu-detached", "float32", "float64-for-float32"])
def test_kl_rejects(wrong, fragment):
    rejects_without_giveaway(ex.check_kl_std_normal, wrong, fragment, "kl")


# ----------------------------------------------------------------- 04 KL between full-covariance Gaussians

def cholesky_kl(mq, sq, mp, sp):
    lp = torch.linalg.cholesky(sp)
    a = torch.cholesky_solve(sq, lp)
    diff = (mp - mq).unsqueeze(-1)
    maha = (diff * torch.cholesky_solve(diff, lp)).sum((-2, -1))
    return 0.5 * (torch.diagonal(a, dim1=-2, dim2=-1).sum(-1) + maha - mq.shape[-1]
                  + torch.logdet(sp) - torch.logdet(sq))


@pytest.mark.parametrize("good", [
    ex.reference_kl_gaussians,
    cholesky_kl,
    lambda mq, sq, mp, sp: torch.distributions.kl_divergence(torch.distributions.MultivariateNormal(mq, sq),
                                                             torch.distributions.MultivariateNormal(mp, sp)),
    lambda *a: __import__("course_utils.toys.gaussians", fromlist=["kl_gaussians"]).kl_gaussians(*a),
], ids=["inverse", "cholesky", "torch-distributions", "package"])
def test_kl_gaussians_accepts(good):
    assert accepts(ex.check_kl_gaussians, good)


def kl_parts(mq, sq, mp, sp, inv=None, maha_inv=None):
    d = mq.shape[-1]
    inv_p = torch.linalg.inv(sp) if inv is None else inv
    diff = (mp - mq).unsqueeze(-1)
    trace = torch.diagonal(inv_p @ sq, dim1=-2, dim2=-1).sum(-1)
    m_inv = inv_p if maha_inv is None else maha_inv
    maha = (diff.transpose(-2, -1) @ m_inv @ diff)[..., 0, 0]
    return trace, maha, d, torch.logdet(sp), torch.logdet(sq)


def _kl(combine):
    return lambda mq, sq, mp, sp: combine(*kl_parts(mq, sq, mp, sp))


@pytest.mark.parametrize("wrong, fragment", [
    (lambda mq, sq, mp, sp: ex.reference_kl_gaussians(mp, sp, mq, sq), "reverse divergence"),
    (_kl(lambda t, m, d, lp, lq: t + m - d + lp - lq), "factor 1/2 in front of the bracket"),
    (lambda mq, sq, mp, sp: 0.5 * (torch.diagonal(torch.linalg.inv(sq) @ sp, dim1=-2, dim2=-1).sum(-1)
                                   + kl_parts(mq, sq, mp, sp)[1] - mq.shape[-1]
                                   + torch.logdet(sp) - torch.logdet(sq)), "wrong inverse"),
    (lambda mq, sq, mp, sp: (lambda t, m, d, lp, lq: 0.5 * (t + m - d + lp - lq))(
        *kl_parts(mq, sq, mp, sp, maha_inv=torch.linalg.inv(sq))), "Mahalanobis term uses cov_q^-1"),
    (_kl(lambda t, m, d, lp, lq: 0.5 * (t + m - d - lp + lq)), "log-determinant term has the wrong sign"),
    (_kl(lambda t, m, d, lp, lq: 0.5 * (t + m + lp - lq)), "the -d in the bracket is missing"),
    (lambda mq, sq, mp, sp: ex.reference_kl_gaussians(
        mq, torch.diag_embed(torch.diagonal(sq, dim1=-2, dim2=-1)),
        mp, torch.diag_embed(torch.diagonal(sp, dim1=-2, dim2=-1))), "only the diagonals"),
    (lambda mq, sq, mp, sp: (lambda t, m, d, lp, lq: 0.5 * (
        t + m - d + torch.log(torch.diagonal(sp, dim1=-2, dim2=-1)).sum(-1)
        - torch.log(torch.diagonal(sq, dim1=-2, dim2=-1)).sum(-1)))(*kl_parts(mq, sq, mp, sp)),
     "not the sum of the logs of its diagonal entries"),
    (lambda mq, sq, mp, sp: (lambda t, m, d, lp, lq: 0.5 * (t + m - d + torch.det(sp) - torch.det(sq)))(
        *kl_parts(mq, sq, mp, sp)), "need their logs"),
    (lambda mq, sq, mp, sp: 0.5 * (torch.trace(torch.linalg.inv(sp) @ sq) + (mp - mq) @ torch.linalg.inv(sp) @ (mp - mq)
                                   - len(mq) + torch.logdet(sp) - torch.logdet(sq)), "raised RuntimeError"),
    (lambda mq, sq, mp, sp: ex.reference_kl_gaussians(mq, sq, mp, sp).float(), "float32 for float64 inputs"),
    # right in float64 and 3-D, but the determinant of a 20-D float32 posterior covariance underflows
    (lambda mq, sq, mp, sp: (lambda t, m, d, lp, lq: 0.5 * (t + m - d + torch.log(torch.det(sp))
                                                             - torch.log(torch.det(sq))))(*kl_parts(mq, sq, mp, sp)),
     "without forming the determinant"),
    (lambda mq, sq, mp, sp: 0.5 * torch.log(torch.det(sp) / torch.det(sq)) + (lambda t, m, d, lp, lq: 0.5 * (
        t + m - d))(*kl_parts(mq, sq, mp, sp)), "without forming the determinant"),
    # the same log(det) made to pass by an upcast: right values, but float64 for float32 inputs
    (lambda mq, sq, mp, sp: (lambda t, m, d, lp, lq: 0.5 * (t + m - d + torch.log(torch.det(sp.double()))
                                                             - torch.log(torch.det(sq.double()))))(
        *kl_parts(mq, sq, mp, sp)), "hides the instability"),
], ids=["reverse", "half", "trace-inverse", "maha-inverse", "logdet-sign", "no-d", "diagonals", "logdiag", "det",
        "unbatched-trace", "float32", "log-of-det", "log-det-ratio", "upcast-log-of-det"])
def test_kl_gaussians_rejects(wrong, fragment):
    rejects_without_giveaway(ex.check_kl_gaussians, wrong, fragment, "kl_gaussians")


def test_kl_gaussians_float32_case_breaks_log_det_but_not_the_stable_forms():
    mq, sq, mp, sp = ex._posterior_like_pairs()
    f = [t.float() for t in (mq, sq, mp, sp)]
    assert (torch.det(f[1]) == 0).all() and torch.isfinite(torch.logdet(f[1])).all()
    # notebook 04's worked answer says their determinants are "about 10^-53"
    assert ((torch.det(sq) > 1e-54) & (torch.det(sq) < 1e-52)).all()
    expected = ex.reference_kl_gaussians(mq, sq, mp, sp)
    for stable in (ex.reference_kl_gaussians, cholesky_kl):
        torch.testing.assert_close(stable(*f).double(), expected, rtol=1e-3, atol=1e-3)


def test_kl_gaussians_reference_agrees_with_torch_and_the_package():
    from torch.distributions import MultivariateNormal, kl_divergence

    from course_utils.toys.gaussians import kl_gaussians

    g = torch.Generator().manual_seed(0)
    mq, mp = torch.randn(5, 4, generator=g, dtype=torch.float64), torch.randn(5, 4, generator=g, dtype=torch.float64)
    sq, sp = ex._spd(g, 5, d=4), ex._spd(g, 5, d=4)
    via_torch = kl_divergence(MultivariateNormal(mq, sq), MultivariateNormal(mp, sp))
    torch.testing.assert_close(ex.reference_kl_gaussians(mq, sq, mp, sp), via_torch)
    torch.testing.assert_close(kl_gaussians(mq, sq, mp, sp), via_torch)


# ----------------------------------------------------------------- 04 per-example loss

def kl(mu, s):
    return -0.5 * (1 + torch.log(s**2) - mu**2 - s**2).sum(-1)


def bce(x, logits, reduction="none"):
    return F.binary_cross_entropy_with_logits(logits, x, reduction=reduction)


@pytest.mark.parametrize("good", [
    lambda x, lg, mu, s: bce(x, lg).sum(-1) + kl(mu, s),
    lambda x, lg, mu, s: -(x * F.logsigmoid(lg) + (1 - x) * F.logsigmoid(-lg)).sum(-1) + kl(mu, s),
    lambda x, lg, mu, s: (F.softplus(lg) - x * lg).sum(-1) + kl(mu, s),
    lambda x, lg, mu, s: -torch.distributions.Bernoulli(logits=lg).log_prob(x).sum(-1) + kl(mu, s),
    lambda x, lg, mu, s: __import__("course_utils.vae.losses", fromlist=["negative_elbo"]).negative_elbo(
        x, lg, mu, s)["loss"],
], ids=["bce-with-logits", "logsigmoid", "softplus", "bernoulli-logits", "package"])
def test_loss_accepts(good):
    assert accepts(ex.check_per_example_loss, good)


def hand_written(x, lg, mu, s, eps=0.0):
    f = torch.sigmoid(lg)
    return -(x * torch.log(f + eps) + (1 - x) * torch.log(1 - f + eps)).sum(-1) + kl(mu, s)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda x, lg, mu, s: bce(x, lg).sum(-1) - kl(mu, s), "sign of the KL term"),
    (lambda x, lg, mu, s: bce(x, lg, "mean") + kl(mu, s), "default reduction='mean'"),
    (lambda x, lg, mu, s: bce(x, lg, "sum") + kl(mu, s), "reduction='sum'"),
    (lambda x, lg, mu, s: F.binary_cross_entropy_with_logits(x, lg, reduction="none").sum(-1) + kl(mu, s),
     "arguments of the binary cross-entropy are swapped"),
    (lambda x, lg, mu, s: F.binary_cross_entropy(x, torch.sigmoid(lg), reduction="none").sum(-1) + kl(mu, s),
     "arguments of the binary cross-entropy are swapped"),
    (lambda x, lg, mu, s: -(x * F.logsigmoid(lg)).sum(-1) + kl(mu, s), "(1 - x) log(1 - f) term is missing"),
    (lambda x, lg, mu, s: bce(x, lg).sum(-1) + 2 * kl(mu, s), "factor 1/2 in front of its sum"),
    (lambda x, lg, mu, s: bce(x, lg).sum(-1) - 0.5 * (torch.log(s**2) - mu**2 - s**2).sum(-1), "constant 1"),
    (lambda x, lg, mu, s: bce(x, lg).mean(-1) + kl(mu, s), "averaged the reconstruction over the pixels"),
    (lambda x, lg, mu, s: (bce(x, lg).sum(-1) + kl(mu, s)).mean(), "batch mean"),
    (lambda x, lg, mu, s: (bce(x, lg).sum(-1) + kl(mu, s)).sum(), "sum over the batch"),
    (lambda x, lg, mu, s: bce(x, lg).sum(-1) - 0.5 * (1 + torch.log(s) - mu**2 - s**2).sum(-1), "log sigma^2"),
    (lambda x, lg, mu, s: bce(x, lg).sum(-1) - 0.5 * (1 + torch.log(s**2) - mu**2 - s).sum(-1), "not sigma"),
    (lambda x, lg, mu, s: -(x * torch.sigmoid(lg) + (1 - x) * (1 - torch.sigmoid(lg))).sum(-1) + kl(mu, s),
     "logs are missing"),
    (lambda x, lg, mu, s: F.binary_cross_entropy(torch.sigmoid(torch.sigmoid(lg)), x, reduction="none").sum(-1)
     + kl(mu, s), "sigmoid twice"),
    (lambda x, lg, mu, s: bce(x, lg).sum(-1), "KL (regularization) term is missing"),
    (lambda x, lg, mu, s: kl(mu, s) + 0 * lg.sum(-1), "reconstruction term is missing"),
    (hand_written, "written out with f = sigmoid(logits) is not stable"),
    (lambda x, lg, mu, s: hand_written(x, lg, mu, s, eps=1e-8), "epsilon added inside the log"),
    (lambda x, lg, mu, s: -(x * torch.log(torch.sigmoid(lg).clamp(1e-6, 1 - 1e-6))
                            + (1 - x) * torch.log(1 - torch.sigmoid(lg).clamp(1e-6, 1 - 1e-6))).sum(-1) + kl(mu, s),
     "f clamped away from 0 and 1"),
    (lambda x, lg, mu, s: F.binary_cross_entropy(torch.sigmoid(lg), x, reduction="none").sum(-1) + kl(mu, s),
     "clamps log(0) to -100"),
    # right at +-30 in float32, but exp(logits) overflows beyond about 88
    (lambda x, lg, mu, s: (torch.log(1 + torch.exp(lg)) - x * lg).sum(-1) + kl(mu, s), "overflows float32"),
    (lambda x, lg, mu, s: (torch.log1p(torch.exp(lg)) - x * lg).sum(-1) + kl(mu, s), "overflows float32"),
    (lambda x, lg, mu, s: (bce(x, lg).sum(-1) + kl(mu, s)).detach(), "carries no gradient"),
    (lambda x, lg, mu, s: bce(x, lg.detach()).sum(-1) + kl(mu, s), "no gradient reaches logits"),
    (lambda x, lg, mu, s: (bce(x, lg).sum(-1) + kl(mu, s)).float(), "float32 for float64 inputs"),
    # log(1 + exp(l)) made to pass at +-100 by an upcast: right values, but float64 for float32 inputs
    (lambda x, lg, mu, s: (torch.log1p(torch.exp(lg.double())) - x * lg).sum(-1) + kl(mu, s),
     "hides the instability"),
], ids=["kl-sign", "bce-mean", "bce-sum", "swapped-logits", "swapped-probs", "no-1-minus-x", "kl-half",
        "kl-one", "pixel-mean", "batch-mean", "batch-sum", "log-sigma", "sigma-not-squared", "no-logs",
        "double-sigmoid", "no-kl", "no-reconstruction", "hand-written-log-sigmoid", "epsilon", "clamp",
        "prob-bce", "log-1-plus-exp", "log1p-exp", "detached", "logits-detached", "float32", "upcast-log1p-exp"])
def test_loss_rejects(wrong, fragment):
    rejects_without_giveaway(ex.check_per_example_loss, wrong, fragment, "loss")


def test_loss_tails_really_break_the_hand_written_form():
    """At logits of +-30 in float32, sigmoid rounds to 1 and the hand-written BCE is not finite; the reference is."""
    x, logits, mu, sigma = ex._loss_inputs(7, tails=True)
    assert (logits.abs() == 30).float().mean() > 0.1
    assert not torch.isfinite(hand_written(x, logits, mu, sigma)).all()
    assert torch.isfinite(ex.reference_per_example_loss(x, logits, mu, sigma)).all()
    # notebook 04's worked answer: "f rounds to exactly 1 from a logit of about 17"
    assert torch.sigmoid(torch.tensor(17.0)) == 1 and torch.sigmoid(torch.tensor(16.0)) < 1


# ----------------------------------------------------------------- 04 reparameterize

@pytest.mark.parametrize("good", [
    lambda mu, sigma, eps: mu + sigma * eps,
    lambda mu, sigma, eps: torch.addcmul(mu, sigma, eps),
    lambda mu, sigma, eps: eps * sigma + mu,
], ids=["plain", "addcmul", "commuted"])
def test_reparameterize_accepts(good):
    assert accepts(ex.check_reparameterize, good)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda mu, s, eps: mu + s**2 * eps, "variance sigma^2"),
    (lambda mu, s, eps: mu + s.sqrt() * eps, "square root"),
    (lambda mu, s, eps: mu + torch.exp(0.5 * s) * eps, "log-variance"),
    (lambda mu, s, eps: mu + eps, "sigma is missing"),
    (lambda mu, s, eps: s + mu * eps, "swapped"),
    (lambda mu, s, eps: mu, "returned the mean"),
    (lambda mu, s, eps: torch.normal(mu, s), "drew new noise"),
    (lambda mu, s, eps: torch.distributions.Normal(mu, s).sample() * 0 + (mu + s * eps).detach(), "no gradient"),
    (lambda mu, s, eps: (mu + s * eps).detach(), "no gradient"),
    (lambda mu, s, eps: mu.detach() + s * eps, "no gradient reaches mu"),
    (lambda mu, s, eps: (mu + s * eps).float(), "float32 for float64 inputs"),
    (lambda mu, s, eps: (mu + s * eps).double(), "torch.float64 for float32 inputs"),
], ids=["variance", "sqrt", "logvar", "no-sigma", "swapped", "mean", "new-noise", "sample", "detached",
        "mu-detached", "float32", "float64-for-float32"])
def test_reparameterize_rejects(wrong, fragment):
    rejects_without_giveaway(ex.check_reparameterize, wrong, fragment, "reparameterize")


# ----------------------------------------------------------------- 05 quantiles

def test_quantiles_reference_and_package_agree():
    from course_utils.vae.figures import gaussian_quantile_grid

    normal = torch.distributions.Normal(0.0, 1.0)
    assert accepts(ex.check_gaussian_quantiles, lambda n: normal.icdf(torch.linspace(0.05, 0.95, n)))
    assert accepts(ex.check_gaussian_quantiles, gaussian_quantile_grid)
    from scipy.stats import norm  # scipy is pinned in requirements.txt

    assert accepts(ex.check_gaussian_quantiles, lambda n: torch.from_numpy(norm.ppf(np.linspace(0.05, 0.95, n))))


@pytest.mark.parametrize("wrong, fragment", [
    (lambda n: torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0, 1, n)), "infinities"),
    (lambda n: torch.linspace(-2, 2, n), "evenly spaced latent values"),
    (lambda n: torch.linspace(0.05, 0.95, n), "probabilities themselves"),
    (lambda n: torch.distributions.Normal(0.0, 1.0).icdf((torch.arange(n) + 0.5) / n), "midpoints"),
    (lambda n: torch.distributions.Normal(0.0, 1.0).cdf(torch.linspace(0.05, 0.95, n)), "INVERSE of the CDF"),
    (lambda n: torch.arange(n), "dtype torch.int64"),
])
def test_quantiles_rejects(wrong, fragment):
    rejects_without_giveaway(ex.check_gaussian_quantiles, wrong, fragment, "quantiles")
