"""The VAE loss pieces against torch.distributions, on random inputs."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from course_utils.vae import losses

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def test_kl_std_normal_matches_torch_distributions(gen):
    mu = 3 * torch.randn(64, 20, generator=gen, dtype=torch.float64)
    sigma = torch.exp(torch.randn(64, 20, generator=gen, dtype=torch.float64))
    ours = losses.kl_std_normal(mu, sigma)
    ref = kl_divergence(Normal(mu, sigma), Normal(torch.zeros_like(mu), torch.ones_like(sigma))).sum(-1)
    assert ours.shape == (64,)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


def test_kl_is_zero_at_the_prior_and_positive_elsewhere(gen):
    assert losses.kl_std_normal(torch.zeros(3, 5), torch.ones(3, 5)).abs().max() == 0
    mu, sigma = torch.randn(100, 5, generator=gen), torch.rand(100, 5, generator=gen) + 0.1
    assert (losses.kl_std_normal(mu, sigma) > 0).all()
    # the course's worked example: KL(N(5, 0.01) || N(0, 1)) in one dimension
    kl = losses.kl_std_normal(torch.tensor([[5.0]]), torch.tensor([[0.1]]))
    torch.testing.assert_close(kl, torch.tensor([-torch.log(torch.tensor(0.1)) + (0.01 + 25) / 2 - 0.5]))


def test_bernoulli_log_likelihood_matches_torch_distributions(gen):
    logits = 8 * torch.randn(32, 784, generator=gen, dtype=torch.float64)
    x = torch.bernoulli(torch.full((32, 784), 0.4, dtype=torch.float64), generator=gen)
    ours = losses.bernoulli_log_likelihood(logits, x)
    ref = Independent(Bernoulli(logits=logits), 1).log_prob(x)
    assert ours.shape == (32,)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-9)
    assert (ours <= 0).all()


def test_bernoulli_log_likelihood_extreme_logits_are_finite_and_float32_accurate(gen):
    logits = torch.tensor([[-200.0, 200.0, 0.0, 30.0, -30.0]])
    x = torch.tensor([[1.0, 0.0, 1.0, 1.0, 0.0]])
    ll = losses.bernoulli_log_likelihood(logits, x)
    assert torch.isfinite(ll).all()
    torch.testing.assert_close(ll, torch.tensor([-200.0 - 200.0 - 0.6931472]), atol=1e-4, rtol=0)
    big = 20 * torch.randn(16, 784, generator=gen)
    xb = torch.bernoulli(torch.full((16, 784), 0.5), generator=gen)
    ref = -F.binary_cross_entropy_with_logits(big.double(), xb.double(), reduction="none").sum(-1)
    torch.testing.assert_close(losses.bernoulli_log_likelihood(big, xb).double(), ref, rtol=1e-6, atol=1e-3)


def test_bernoulli_log_likelihood_gradient_is_x_minus_sigmoid(gen):
    logits = (4 * torch.randn(8, 784, generator=gen, dtype=torch.float64)).requires_grad_()
    logits.data[0, :3] = 0.0  # the kink of |l| must not bias the gradient
    x = torch.bernoulli(torch.full((8, 784), 0.3, dtype=torch.float64), generator=gen)
    (grad,) = torch.autograd.grad(losses.bernoulli_log_likelihood(logits, x).sum(), logits)
    torch.testing.assert_close(grad, x - torch.sigmoid(logits.detach()))


def test_bernoulli_log_likelihood_broadcasts_over_samples(gen):
    logits = torch.randn(5, 3, 784, generator=gen)
    x = torch.bernoulli(torch.full((3, 784), 0.5), generator=gen)
    ll = losses.bernoulli_log_likelihood(logits, x)
    assert ll.shape == (5, 3)
    torch.testing.assert_close(ll[2], losses.bernoulli_log_likelihood(logits[2], x))
    with pytest.raises(ValueError, match="pixels"):
        losses.bernoulli_log_likelihood(torch.zeros(3, 100), x)


def test_gaussian_log_densities_match_torch_distributions(gen):
    z = torch.randn(7, 4, 3, generator=gen, dtype=torch.float64)
    mu = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    sigma = torch.rand(4, 3, generator=gen, dtype=torch.float64) + 0.2
    torch.testing.assert_close(losses.gaussian_log_density(z, mu, sigma), Normal(mu, sigma).log_prob(z).sum(-1))
    torch.testing.assert_close(losses.std_normal_log_density(z), Normal(0.0, 1.0).log_prob(z).sum(-1))


def test_negative_elbo_parts_and_sign(gen):
    x = torch.bernoulli(torch.full((6, 784), 0.5), generator=gen)
    logits, mu = torch.randn(6, 784, generator=gen), torch.randn(6, 20, generator=gen)
    sigma = torch.rand(6, 20, generator=gen) + 0.5
    parts = losses.negative_elbo(x, logits, mu, sigma)
    assert set(parts) == {"loss", "reconstruction", "regularization"}
    assert all(v.shape == (6,) for v in parts.values())
    torch.testing.assert_close(parts["reconstruction"], -losses.bernoulli_log_likelihood(logits, x))
    torch.testing.assert_close(parts["regularization"], losses.kl_std_normal(mu, sigma))
    torch.testing.assert_close(parts["loss"], parts["reconstruction"] + parts["regularization"])
    # the assignment's formula, written out, with the KL's sign as in Q1.10
    f = torch.sigmoid(logits.double())
    formula = (-(x * torch.log(f) + (1 - x) * torch.log(1 - f)).sum(-1)
               - 0.5 * (1 + torch.log(sigma.double() ** 2) - mu.double() ** 2 - sigma.double() ** 2).sum(-1))
    torch.testing.assert_close(parts["loss"].double(), formula, rtol=1e-5, atol=1e-3)
    means = losses.batch_mean(parts)
    torch.testing.assert_close(means["loss"], parts["loss"].mean())
