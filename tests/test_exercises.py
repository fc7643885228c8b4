"""Each exercise check accepts the reference solution and names the typical wrong answers."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import accepts, rejects

from course_utils.exercises import vae as ex


def test_checks_pass_not_implemented_through():
    def unsolved(*args):
        raise NotImplementedError

    for check in ex.CHECKS.values():
        with pytest.raises(NotImplementedError):
            check(unsolved)


def test_crash_becomes_exercise_error():
    rejects(ex.check_kl_std_normal, lambda mu, sigma: mu @ sigma, "raised RuntimeError")


# ----------------------------------------------------------------- 01 sample_pixels

def test_sample_pixels_reference():
    assert accepts(ex.check_sample_pixels, lambda p, g: torch.bernoulli(p, generator=g))
    # the uniform-comparison spelling is just as right
    assert accepts(ex.check_sample_pixels, lambda p, g: (torch.rand(p.shape, generator=g) < p).float())


@pytest.mark.parametrize("wrong, fragment", [
    (lambda p, g: p.clone(), "the mean image"),
    (lambda p, g: (p > 0.5).float(), "thresholded"),
    (lambda p, g: (torch.rand(p.shape, generator=g) > p).float(), "1 - f_m"),
    (lambda p, g: (torch.rand(len(p), 1, generator=g) < p).float(), "not independent"),
    (lambda p, g: torch.bernoulli(p), "reproducible"),
    (lambda p, g: p[:, :2], "shape"),
])
def test_sample_pixels_mistakes(wrong, fragment):
    rejects(ex.check_sample_pixels, wrong, fragment)


# ----------------------------------------------------------------- 02 naive_log_px

def test_naive_reference():
    assert accepts(ex.check_naive_log_px, lambda lp: torch.logsumexp(lp, 0) - math.log(lp.shape[0]))


@pytest.mark.parametrize("wrong, fragment", [
    (lambda lp: lp.mean(0), "Jensen"),
    (lambda lp: torch.logsumexp(lp, 0), "forgot the 1/M"),
    (lambda lp: torch.log(torch.exp(lp).mean(0)), "logsumexp"),
    (lambda lp: torch.logsumexp(lp, 1) - math.log(lp.shape[1]), "reduced over the images"),
    (lambda lp: lp.sum(0), "multiplies the probabilities"),
    (lambda lp: torch.logsumexp(lp, 0) + math.log(lp.shape[0]), "wrong sign"),
])
def test_naive_mistakes(wrong, fragment):
    rejects(ex.check_naive_log_px, wrong, fragment)


# ----------------------------------------------------------------- 03 KL

def test_kl_reference_and_package_agree():
    from course_utils.vae.losses import kl_std_normal

    assert accepts(ex.check_kl_std_normal,
                   lambda mu, s: -torch.log(s).sum(-1) + 0.5 * (s**2 + mu**2).sum(-1) - 0.5 * mu.shape[-1])
    assert accepts(ex.check_kl_std_normal, kl_std_normal)
    mu, s = torch.randn(4, 3), torch.rand(4, 3) + 0.1
    torch.testing.assert_close(ex.reference_kl_std_normal(mu, s), kl_std_normal(mu, s))


def good_terms(mu, s):
    return -torch.log(s) + 0.5 * (s**2 + mu**2) - 0.5


@pytest.mark.parametrize("wrong, fragment", [
    (lambda mu, s: -good_terms(mu, s).sum(-1), "sign is flipped"),
    (lambda mu, s: (-torch.log(s**2) + 0.5 * (s**2 + mu**2) - 0.5).sum(-1), "not log(sigma_p^2 / sigma_q^2)"),
    (lambda mu, s: (-torch.log(s) + 0.5 * (s + mu**2) - 0.5).sum(-1), "sigma where sigma^2 belongs"),
    (lambda mu, s: (-0.5 * torch.log(s) + 0.5 * (s + mu**2) - 0.5).sum(-1), "as the variance"),
    (lambda mu, s: (-s + 0.5 * (s**2 + mu**2) - 0.5).sum(-1), "log is missing"),
    (lambda mu, s: good_terms(mu, s).mean(-1), "averaged over the latent dimensions"),
    (lambda mu, s: good_terms(mu, s), "sum over dimensions"),
    (lambda mu, s: good_terms(mu, s).sum(), "one KL per"),
    (lambda mu, s: (torch.log(s) + (1 + mu**2) / (2 * s**2) - 0.5).sum(-1), "KL(p || q)"),
    (lambda mu, s: (-torch.log(s) + 0.5 * (s**2 + mu**2)).sum(-1), "-1/2 per dimension"),
])
def test_kl_mistakes(wrong, fragment):
    rejects(ex.check_kl_std_normal, wrong, fragment)


# ----------------------------------------------------------------- 04 per-example loss

def reference_loss(x, logits, mu, sigma):
    f = torch.sigmoid(logits)
    rec = -(x * torch.log(f) + (1 - x) * torch.log(1 - f)).sum(-1)
    return rec - 0.5 * (1 + torch.log(sigma**2) - mu**2 - sigma**2).sum(-1)


def test_loss_reference_and_package_agree():
    from course_utils.vae.losses import negative_elbo

    assert accepts(ex.check_per_example_loss, reference_loss)
    assert accepts(ex.check_per_example_loss, lambda x, lg, mu, s: negative_elbo(x, lg, mu, s)["loss"])


def bce(x, logits, reduction):
    return F.binary_cross_entropy_with_logits(logits, x, reduction=reduction)


def kl(mu, s):
    return -0.5 * (1 + torch.log(s**2) - mu**2 - s**2).sum(-1)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda x, lg, mu, s: bce(x, lg, "none").sum(-1) + 0.5 * (1 + torch.log(s**2) - mu**2 - s**2).sum(-1),
     "sign of the KL term"),
    (lambda x, lg, mu, s: bce(x, lg, "none").mean(-1) + kl(mu, s), "averaged the reconstruction over the pixels"),
    (lambda x, lg, mu, s: reference_loss(x, lg, mu, s).mean(), "batch mean"),
    (lambda x, lg, mu, s: reference_loss(x, lg, mu, s).sum(), "sum over the batch"),
    (lambda x, lg, mu, s: bce(x, lg, "none").sum(-1) - 0.5 * (1 + torch.log(s) - mu**2 - s**2).sum(-1), "log sigma^2"),
    (lambda x, lg, mu, s: bce(x, lg, "none").sum(-1) - 0.5 * (1 + torch.log(s**2) - mu**2 - s).sum(-1),
     "not sigma"),
    (lambda x, lg, mu, s: -(x * torch.sigmoid(lg) + (1 - x) * (1 - torch.sigmoid(lg))).sum(-1) + kl(mu, s),
     "logs are missing"),
    (lambda x, lg, mu, s: F.binary_cross_entropy(torch.sigmoid(torch.sigmoid(lg)), x, reduction="none").sum(-1)
     + kl(mu, s), "sigmoid twice"),
    (lambda x, lg, mu, s: bce(x, lg, "none").sum(-1), "KL (regularization) term is missing"),
])
def test_loss_mistakes(wrong, fragment):
    rejects(ex.check_per_example_loss, wrong, fragment)


# ----------------------------------------------------------------- 04 reparameterize

def test_reparameterize_reference():
    assert accepts(ex.check_reparameterize, lambda mu, sigma, eps: mu + sigma * eps)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda mu, s, eps: mu + s**2 * eps, "variance sigma^2"),
    (lambda mu, s, eps: mu + s.sqrt() * eps, "square root"),
    (lambda mu, s, eps: mu + torch.exp(0.5 * s) * eps, "log-variance"),
    (lambda mu, s, eps: mu + eps, "sigma is missing"),
    (lambda mu, s, eps: torch.normal(mu, s), "Use the eps passed in"),
    (lambda mu, s, eps: (mu + s * eps).detach(), "no gradient"),
    (lambda mu, s, eps: mu.detach() + s * eps, "no gradient reaches mu"),
])
def test_reparameterize_mistakes(wrong, fragment):
    rejects(ex.check_reparameterize, wrong, fragment)


# ----------------------------------------------------------------- 05 quantiles

def test_quantiles_reference_and_package_agree():
    from course_utils.vae.figures import gaussian_quantile_grid

    normal = torch.distributions.Normal(0.0, 1.0)
    assert accepts(ex.check_gaussian_quantiles, lambda n: normal.icdf(torch.linspace(0.05, 0.95, n)))
    assert accepts(ex.check_gaussian_quantiles, gaussian_quantile_grid)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda n: torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0, 1, n)), "infinities"),
    (lambda n: torch.linspace(-2, 2, n), "evenly spaced latent values"),
    (lambda n: torch.linspace(0.05, 0.95, n), "probabilities themselves"),
    (lambda n: torch.distributions.Normal(0.0, 1.0).icdf((torch.arange(n) + 0.5) / n), "midpoints"),
    (lambda n: torch.distributions.Normal(0.0, 1.0).cdf(torch.linspace(0.05, 0.95, n)), "INVERSE CDF"),
])
def test_quantiles_mistakes(wrong, fragment):
    rejects(ex.check_gaussian_quantiles, wrong, fragment)
