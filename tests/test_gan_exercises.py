"""Each GAN exercise check accepts the reference solution and names the typical wrong answers (06-07)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import accepts, rejects

from course_utils.exercises import gan as gx
from course_utils.gan import interpolation
from course_utils.gan import losses as gan_losses


def test_every_check_passes_not_implemented_through():
    def unsolved(*args):
        raise NotImplementedError

    for check in gx.CHECKS.values():
        with pytest.raises(NotImplementedError):
            check(unsolved)


def test_a_crash_becomes_an_exercise_error():
    rejects(gx.check_discriminator_loss, lambda r, f: r @ f, "raised RuntimeError")


def test_references_agree_with_the_engine():
    g = torch.Generator().manual_seed(0)
    real, fake = 3 * torch.randn(9, generator=g), 3 * torch.randn(5, generator=g)
    torch.testing.assert_close(gx.reference_discriminator_loss(real, fake), gan_losses.discriminator_loss(real, fake))
    torch.testing.assert_close(gx.reference_generator_loss_non_saturating(fake),
                               gan_losses.generator_loss_non_saturating(fake))
    z0, z1 = torch.randn(2, 12, generator=g, dtype=torch.float64)
    torch.testing.assert_close(gx.reference_lerp(z0, z1, 8), interpolation.lerp(z0, z1, 8))
    torch.testing.assert_close(gx.reference_slerp(z0, z1, 8), interpolation.slerp(z0, z1, 8))


# ----------------------------------------------------------------- discriminator loss (06, Q2.2)

def test_discriminator_loss_accepts_reference_spellings():
    accepts(gx.check_discriminator_loss, gan_losses.discriminator_loss)
    accepts(gx.check_discriminator_loss, lambda r, f: -F.logsigmoid(r).mean() - F.logsigmoid(-f).mean())
    accepts(gx.check_discriminator_loss,
            lambda r, f: F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
            + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))


@pytest.mark.parametrize("wrong, fragment", [
    (lambda r, f: F.logsigmoid(r).mean() + F.logsigmoid(-f).mean(), "sign is flipped"),
    (lambda r, f: -F.logsigmoid(-r).mean() - F.logsigmoid(f).mean(), "labels are swapped"),
    (lambda r, f: -F.logsigmoid(r).mean() - F.logsigmoid(f).mean(), "-log(1 - D(G(z)))"),
    (lambda r, f: -torch.sigmoid(r).mean() - (1 - torch.sigmoid(f)).mean(), "logs are missing"),
    (lambda r, f: -F.logsigmoid(r).sum() - F.logsigmoid(-f).sum(), "summed over the batch"),
    (lambda r, f: 0.5 * (-F.logsigmoid(r).mean() - F.logsigmoid(-f).mean()), "averaged the two terms"),
    (lambda r, f: -torch.cat([F.logsigmoid(r), F.logsigmoid(-f)]).mean(), "together"),
    (lambda r, f: F.binary_cross_entropy_with_logits(torch.sigmoid(r), torch.ones_like(r))
     + F.binary_cross_entropy_with_logits(torch.sigmoid(f), torch.zeros_like(f)), "sigmoid is applied twice"),
    (lambda r, f: -F.logsigmoid(r).mean(), "fake term"),
    (lambda r, f: -F.logsigmoid(-r).mean() * 0 - F.logsigmoid(-f).mean(), "real term"),
    (lambda r, f: -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean(), "logits of +-200"),
    (lambda r, f: -F.logsigmoid(r), "one value per real image"),
])
def test_discriminator_loss_names_typical_mistakes(wrong, fragment):
    rejects(gx.check_discriminator_loss, wrong, fragment)


def test_discriminator_loss_unstable_version_gets_the_stability_hint():
    msg = rejects(gx.check_discriminator_loss,
                  lambda r, f: F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
                  + F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f)) if r.abs().max() < 100
                  else torch.tensor(float("inf")), "very confidently wrong")
    assert "logsigmoid" in msg


# ----------------------------------------------------------------- non-saturating generator loss (06, Q2.4)

def test_generator_loss_accepts_reference_spellings():
    accepts(gx.check_generator_loss_non_saturating, gan_losses.generator_loss_non_saturating)
    accepts(gx.check_generator_loss_non_saturating,
            lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f)))
    accepts(gx.check_generator_loss_non_saturating, lambda f: F.softplus(-f).mean())


@pytest.mark.parametrize("wrong, fragment", [
    (lambda f: F.logsigmoid(-f).mean(), "SATURATING loss"),
    (lambda f: -F.logsigmoid(-f).mean(), "less convincing"),
    (lambda f: F.logsigmoid(f).mean(), "sign is flipped"),
    (lambda f: -torch.sigmoid(f).mean(), "log is missing"),
    (lambda f: (1 - torch.sigmoid(f)).mean(), "log is missing"),
    (lambda f: -F.logsigmoid(f).sum(), "summed over the batch"),
    (lambda f: F.binary_cross_entropy_with_logits(torch.sigmoid(f), torch.ones_like(f)), "sigmoid is applied twice"),
    (lambda f: -torch.log(torch.sigmoid(f)).mean(), "D(G(z)) ~ 0"),
    (lambda f: -F.logsigmoid(f), "return one number"),
])
def test_generator_loss_names_typical_mistakes(wrong, fragment):
    rejects(gx.check_generator_loss_non_saturating, wrong, fragment)


# ----------------------------------------------------------------- lerp (07, Q2.7)

def lerp_ok(z0, z1, steps):
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    return (1 - t) * z0 + t * z1


def test_lerp_accepts_reference_spellings():
    accepts(gx.check_lerp, lerp_ok)
    accepts(gx.check_lerp, lambda z0, z1, n: interpolation.lerp(z0, z1, n))
    accepts(gx.check_lerp, lambda z0, z1, n: torch.stack([torch.lerp(z0, z1, i / (n - 1)) for i in range(n)]))


@pytest.mark.parametrize("wrong, fragment", [
    (lambda z0, z1, n: lerp_ok(z1, z0, n), "backwards"),
    (lambda z0, z1, n: torch.stack([(1 - i / n) * z0 + i / n * z1 for i in range(n)]), "last point is not z1"),
    (lambda z0, z1, n: torch.stack([(1 - i / n) * z0 + i / n * z1 for i in range(1, n + 1)]), "first point is not z0"),
    (lambda z0, z1, n: lerp_ok(z0, z1, n + 1), "off by one"),
    (lambda z0, z1, n: lerp_ok(z0, z1, n - 1) if n > 2 else lerp_ok(z0, z1, 3), "off by one"),
    (lambda z0, z1, n: lerp_ok(z0, z1, n).T, "one COLUMN per step"),
    (lambda z0, z1, n: z0 + torch.linspace(0, 1, n).unsqueeze(1) * z1, "does not end at z1"),
    (lambda z0, z1, n: torch.stack([(1 - t) * z0 + t * z1 for t in torch.linspace(0, 1, n) ** 2]), "evenly spaced"),
])
def test_lerp_names_typical_mistakes(wrong, fragment):
    rejects(gx.check_lerp, wrong, fragment)


# ----------------------------------------------------------------- slerp (07, Q2.7)

def slerp_ok(z0, z1, n):
    omega = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
    t = torch.linspace(0, 1, n).unsqueeze(1)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def test_slerp_accepts_reference_spellings():
    accepts(gx.check_slerp, slerp_ok)
    accepts(gx.check_slerp, lambda z0, z1, n: interpolation.slerp(z0, z1, n))


def _normalised(z0, z1, n):
    return slerp_ok(z0 / z0.norm(), z1 / z1.norm(), n)


def _raw_angle(z0, z1, n):
    omega = torch.arccos((z0 @ z1).clamp(-1, 1))
    t = torch.linspace(0, 1, n).unsqueeze(1)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega).clamp_min(1e-12)


def _no_division(z0, z1, n):
    omega = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
    t = torch.linspace(0, 1, n).unsqueeze(1)
    return torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1


def _unclamped_raw(z0, z1, n):
    omega = torch.arccos(z0 @ z1)
    t = torch.linspace(0, 1, n).unsqueeze(1)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


@pytest.mark.parametrize("wrong, fragment", [
    (_normalised, "normalised z0 and z1"),
    (_raw_angle, "raw dot product"),
    (_no_division, "division by sin(w) is missing"),
    (_unclamped_raw, "returned NaN"),
    (lambda z0, z1, n: lerp_ok(z0, z1, n), "straight line"),
    (lambda z0, z1, n: slerp_ok(z1, z0, n), "backwards"),
    (lambda z0, z1, n: slerp_ok(z0, z1, n + 1), "off by one"),
    (lambda z0, z1, n: (lambda p: p / p.norm(dim=1, keepdim=True))(slerp_ok(z0, z1, n)), "unit length"),
])
def test_slerp_names_typical_mistakes(wrong, fragment):
    rejects(gx.check_slerp, wrong, fragment)


def test_check_messages_mention_log4_at_half():
    # a loss that is right except at D = 1/2 is impossible to write by accident; the message text is what matters
    assert math.isclose(gx.reference_discriminator_loss(torch.zeros(3), torch.zeros(2)).item(), math.log(4),
                        rel_tol=1e-6)
