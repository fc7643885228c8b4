"""Estimators of log p(x) checked against a linear-Gaussian model, where log p(x) is exact.

Stated tolerances (float64, fixed seeds):
- naive MC with M = 50 000 prior samples, d = 2: every estimate within 0.15 nats of log p(x);
- importance weighting with k = 5 000 and the best diagonal q: the mean error below
  0.01 nats and every estimate within 0.05 nats;
- with the exact posterior as proposal (d = 1) the IW estimate is exact for any k (1e-9).
"""
from __future__ import annotations

import math

import pytest
import torch

from course_utils.toys.linear_gaussian import LinearGaussian
from course_utils.vae.estimators import iw_log_px, log_mean_exp, naive_log_px, vae_iw_log_px, vae_naive_log_px

pytestmark = pytest.mark.usefixtures("one_thread")


def g(seed):
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------- the exact model itself

def test_linear_gaussian_log_px_matches_quadrature_in_one_dimension():
    model = LinearGaussian.random(x_dim=5, z_dim=1, noise_std=0.7, seed=3)
    x, _ = model.sample(4, g(1))
    z = torch.linspace(-10, 10, 20001, dtype=torch.float64).reshape(-1, 1, 1).expand(-1, 4, 1)
    log_joint = model.log_px_given_z(x, z) + torch.distributions.Normal(0.0, 1.0).log_prob(z[..., 0]).double()
    quadrature = torch.logsumexp(log_joint, 0) + math.log(20 / 20000)
    torch.testing.assert_close(model.log_px(x), quadrature, atol=1e-6, rtol=0)


def test_linear_gaussian_elbo_plus_gap_is_log_px():
    model = LinearGaussian.random(x_dim=12, z_dim=3, noise_std=0.5, seed=0)
    x, _ = model.sample(10, g(1))
    mu, sigma = model.best_diagonal_q(x)
    for m, s in [(mu, sigma), (mu + 0.3, 2 * sigma), (torch.zeros_like(mu), torch.ones_like(sigma))]:
        gap = model.kl_to_posterior(x, m, s)
        assert (gap >= 0).all()
        torch.testing.assert_close(model.elbo(x, m, s) + gap, model.log_px(x))
    # in one dimension the posterior is a diagonal Gaussian: the gap closes
    one = LinearGaussian.random(x_dim=6, z_dim=1, seed=2)
    x1, _ = one.sample(5, g(3))
    mean, cov = one.posterior(x1)
    torch.testing.assert_close(one.elbo(x1, mean, cov.sqrt().expand_as(mean)), one.log_px(x1))


# --------------------------------------------------------------------------- the estimators

def test_elbo_below_iw_below_exact_log_px():
    """E[IW_1] = ELBO <= E[IW_10] <= E[IW_100] <= log p(x), on average over 20 points x 50 repeats."""
    model = LinearGaussian.random(x_dim=30, z_dim=4, noise_std=0.5, scale=0.3, seed=1)
    x, _ = model.sample(20, g(2))
    mu, sigma = model.best_diagonal_q(x)
    exact, elbo = model.log_px(x).mean().item(), model.elbo(x, mu, sigma).mean().item()
    assert exact - elbo > 0.1  # a visible gap: q is not the posterior
    rep = lambda t: t.repeat(50, 1)  # noqa: E731
    means, ses = {}, {}
    for k in (1, 10, 100):
        est = iw_log_px(rep(x), model.log_px_given_z, rep(mu), rep(sigma), k, generator=g(k))
        means[k], ses[k] = est.mean().item(), est.std().item() / math.sqrt(est.numel())
    assert abs(means[1] - elbo) < 3 * ses[1] + 1e-3
    assert elbo < means[10] < means[100]
    assert means[100] <= exact + 3 * ses[100]
    # return_elbo gives the average log weight, an unbiased ELBO estimate
    _, elbo_est = iw_log_px(x, model.log_px_given_z, mu, sigma, 2000, generator=g(9), return_elbo=True)
    assert abs(elbo_est.mean().item() - elbo) < 0.02


def test_both_estimators_converge_to_the_exact_log_px():
    model = LinearGaussian.random(x_dim=20, z_dim=2, noise_std=0.5, scale=0.5, seed=1)
    x, _ = model.sample(10, g(2))
    exact = model.log_px(x)
    naive = naive_log_px(x, model.log_px_given_z, 2, 50_000, generator=g(3))
    assert (naive - exact).abs().max() < 0.15
    mu, sigma = model.best_diagonal_q(x)
    iw = iw_log_px(x, model.log_px_given_z, mu, sigma, 5000, generator=g(4))
    assert (iw - exact).mean().abs() < 0.01
    assert (iw - exact).abs().max() < 0.05


def test_iw_with_the_exact_posterior_is_exact_for_any_k_and_any_chunking():
    model = LinearGaussian.random(x_dim=8, z_dim=1, noise_std=0.4, seed=5)
    x, _ = model.sample(6, g(1))
    mean, cov = model.posterior(x)
    sigma = cov.sqrt().expand_as(mean)
    for k, max_elements in [(1, 2 ** 20), (37, 50), (500, 10 ** 9)]:
        est = iw_log_px(x, model.log_px_given_z, mean, sigma, k, generator=g(k), max_elements=max_elements)
        torch.testing.assert_close(est, model.log_px(x), atol=1e-9, rtol=0)


def test_naive_error_grows_with_the_latent_dimension():
    errors = []
    for d in (1, 4, 16):
        model = LinearGaussian.random(x_dim=20, z_dim=d, noise_std=0.5, scale=0.5, seed=1)
        x, _ = model.sample(20, g(2))
        naive = naive_log_px(x, model.log_px_given_z, d, 1000, generator=g(3))
        errors.append((model.log_px(x) - naive).mean().item())
    assert errors[0] < errors[1] < errors[2]
    assert abs(errors[0]) < 0.05 and errors[2] > 10  # fine in 1-D, useless in 16-D with M = 1000


def test_estimators_are_chunked_and_reproducible():
    model = LinearGaussian.random(x_dim=10, z_dim=2, seed=0, dtype=torch.float32)
    x, _ = model.sample(4, g(1))
    a = naive_log_px(x, model.log_px_given_z, 2, 300, generator=g(5), max_elements=100)
    b = naive_log_px(x, model.log_px_given_z, 2, 300, generator=g(5), max_elements=100)
    assert a.shape == (4,) and a.dtype == torch.float32 and torch.equal(a, b)
    torch.testing.assert_close(log_mean_exp(torch.tensor([[0.0], [math.log(3.0)]])), torch.tensor([math.log(2.0)]))


# --------------------------------------------------------------------------- on a VAE

def test_vae_estimators_shapes_and_order():
    from course_utils.vae.model import VAE, VAEConfig
    from course_utils.vae.train import elbo

    model = VAE(VAEConfig(z_dim=3, hidden=32)).eval()
    x = torch.bernoulli(torch.full((12, 784), 0.2), generator=g(0))
    iw = vae_iw_log_px(model, x, 200, batch_size=5, generator=g(1))
    assert iw.shape == (12,) and torch.isfinite(iw).all()
    assert iw.mean().item() > elbo(model, x)["elbo"]  # IW with k = 200 beats the one-sample ELBO
    naive = vae_naive_log_px(model, x, 200, generator=g(2))
    assert naive.shape == (12,) and torch.isfinite(naive).all()
    with pytest.raises(ValueError, match=r"\(N, 784\)"):
        vae_naive_log_px(model, x.reshape(12, 28, 28), 10)
