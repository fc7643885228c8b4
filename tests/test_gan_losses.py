"""GAN losses against hand-computed values, the optimum V = -log 4, and the saturation argument (Q2.2-2.4)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_utils.gan import losses as L


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def t(*values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_hand_computed_values():
    # D(x) = 0.9 and 0.6 on two real images, D(G(z)) = 0.2 and 0.5 on two fakes
    real, fake = t(logit(0.9), logit(0.6)), t(logit(0.2), logit(0.5))
    expected_v = (math.log(0.9) + math.log(0.6)) / 2 + (math.log(0.8) + math.log(0.5)) / 2
    assert L.value_function(real, fake).item() == pytest.approx(expected_v, rel=1e-12)
    assert L.discriminator_loss(real, fake).item() == pytest.approx(-expected_v, rel=1e-12)
    assert L.generator_loss_saturating(fake).item() == pytest.approx((math.log(0.8) + math.log(0.5)) / 2, rel=1e-12)
    assert L.generator_loss_non_saturating(fake).item() == pytest.approx(-(math.log(0.2) + math.log(0.5)) / 2,
                                                                          rel=1e-12)


def test_value_is_minus_log_4_when_d_outputs_one_half():
    half = torch.zeros(7, dtype=torch.float64)  # logit 0 <=> D = 1/2
    assert L.value_function(half, torch.zeros(3, dtype=torch.float64)).item() == pytest.approx(-math.log(4), abs=1e-15)
    assert L.discriminator_loss(half, half).item() == pytest.approx(math.log(4), abs=1e-15)
    assert L.LOG_4 == pytest.approx(math.log(4))
    assert L.generator_loss_non_saturating(half).item() == pytest.approx(math.log(2))
    assert L.generator_loss_saturating(half).item() == pytest.approx(-math.log(2))


def test_discriminator_loss_is_bce_with_labels_one_and_zero():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(50, generator=g) * 3, torch.randn(40, generator=g) * 3
    bce = (F.binary_cross_entropy(torch.sigmoid(real), torch.ones(50))
           + F.binary_cross_entropy(torch.sigmoid(fake), torch.zeros(40)))
    assert L.discriminator_loss(real, fake).item() == pytest.approx(bce.item(), rel=1e-5)
    assert L.discriminator_loss(real, fake).item() == pytest.approx(-L.value_function(real, fake).item(), rel=1e-6)


def test_losses_stay_finite_where_the_probability_rounds_off():
    very_sure_fake = torch.tensor([-200.0])  # sigmoid rounds to 0 in float32: log would give -inf
    assert torch.log(torch.sigmoid(very_sure_fake)).item() == -math.inf
    assert L.generator_loss_non_saturating(very_sure_fake).item() == pytest.approx(200.0)
    assert L.generator_loss_saturating(torch.tensor([200.0])).item() == pytest.approx(-200.0)
    assert torch.isfinite(L.discriminator_loss(torch.tensor([-300.0]), torch.tensor([300.0])))


def _grad(fn, a: float) -> float:
    x = torch.tensor([a], dtype=torch.float64, requires_grad=True)
    fn(x).backward()
    return x.grad.item()


def test_saturating_gradient_vanishes_as_d_of_g_goes_to_zero_non_saturating_does_not():
    # d/da log(1 - sigmoid(a)) = -sigmoid(a) = -D;  d/da -log sigmoid(a) = -(1 - D)
    sat, ns = [], []
    for d in (0.5, 0.1, 1e-2, 1e-4, 1e-8):
        a = logit(d)
        sat.append(abs(_grad(L.generator_loss_saturating, a)))
        ns.append(abs(_grad(L.generator_loss_non_saturating, a)))
        assert sat[-1] == pytest.approx(d, rel=1e-6)
        assert ns[-1] == pytest.approx(1 - d, rel=1e-6)
    assert sat == sorted(sat, reverse=True) and sat[-1] < 1e-7   # vanishes
    assert min(ns) >= 0.5 and ns[-1] > 0.999                       # stays ~1
    # both push the logit up (towards fooling D): the gradient of the loss is negative
    assert _grad(L.generator_loss_saturating, -3.0) < 0 and _grad(L.generator_loss_non_saturating, -3.0) < 0


def test_losses_are_batch_means():
    a = torch.tensor([0.3, -1.2])
    repeated = L.generator_loss_non_saturating(a.repeat(5)).item()
    assert repeated == pytest.approx(L.generator_loss_non_saturating(a).item())
    assert L.discriminator_loss(a.repeat(3), a).item() == pytest.approx(L.discriminator_loss(a, a).item())


def test_generator_loss_by_name():
    a = torch.tensor([-1.0, 0.5])
    assert L.generator_loss(a).item() == L.generator_loss_non_saturating(a).item()
    assert L.generator_loss(a, "saturating").item() == L.generator_loss_saturating(a).item()
    with pytest.raises(ValueError, match="unknown generator loss"):
        L.generator_loss(a, "wasserstein")
