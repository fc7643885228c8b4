"""Each GAN exercise check accepts the reference solution and names the typical wrong answers (06-08)."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from conftest import accepts, rejects

from course_utils.evaluation import frechet_distance
from course_utils.exercises import gan as gx
from course_utils.gan import interpolation
from course_utils.gan import losses as gan_losses


def test_every_check_passes_not_implemented_through():
    def unsolved(*args):
        raise NotImplementedError

    assert set(gx.CHECKS) == {"discriminator_loss", "generator_loss_ns", "gan_step", "lerp", "slerp",
                              "frechet_distance"}

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
    (lambda f: -F.logsigmoid(-f).mean(), "label 0"),
    (lambda f: F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)), "label 1"),
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
    """Every message of the discriminator-loss check that is about the optimum says log 4 (D = 1/2)."""
    ref = gan_losses.discriminator_loss
    assert math.isclose(gx.reference_discriminator_loss(torch.zeros(3), torch.zeros(2)).item(), math.log(4),
                        rel_tol=1e-6)
    # the right answer: the OK line names log 4 at D = 1/2
    assert "log 4 at D = 1/2" in accepts(gx.check_discriminator_loss, ref)
    # the two terms averaged (half the loss): the message says the loss is log 4 at the optimum
    rejects(gx.check_discriminator_loss, lambda r, f: 0.5 * ref(r, f), "averaged the two terms", "log 4 at the optimum")

    # right everywhere except at D = 1/2 (all logits 0): the D = 1/2 case names log 4 and what it got
    def wrong_at_half(r, f):
        loss = ref(r, f)
        at_half = not (bool(r.detach().any()) or bool(f.detach().any()))
        return loss + 1.0 if at_half else loss

    msg = rejects(gx.check_discriminator_loss, wrong_at_half, "with D = 1/2 everywhere (all logits 0)",
                  "the loss should be log 4 = 1.3863", f"got {math.log(4) + 1:.4f}")
    assert msg.startswith("discriminator_loss: ")



def test_slerp_unit_length_message_does_not_claim_norms_stay_between_the_ends():
    msg = rejects(gx.check_slerp, lambda z0, z1, n: (lambda p: p / p.norm(dim=1, keepdim=True))(slerp_ok(z0, z1, n)),
                  "unit length")
    assert "keep norms between" not in msg and "not fixed" in msg
    # the fact behind the corrected message: |z0| = 1, |z1| = 2, 150 degrees apart
    z0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    z1 = 2 * torch.tensor([math.cos(math.radians(150)), math.sin(math.radians(150))], dtype=torch.float64)
    norms = interpolation.slerp(z0, z1, 201).norm(dim=1)
    assert norms.min() < 0.8 < 1 and norms.max() > 2.7 > 2


def test_slerp_generic_message_shows_the_middle_row():
    def wrong(z0, z1, n):  # right ends, wrong middle: the first rows agree, so showing row 0 would say nothing
        path = slerp_ok(z0, z1, n)
        path[1:-1] += 0.5
        return path

    msg = rejects(gx.check_slerp, wrong, "middle row")
    z0, z1 = gx._pair(30, 100)
    z1 = 1.3 * (0.7 * z0 + 0.7 * z1)
    mid = gx.reference_slerp(z0.double(), z1.double(), 7)[3]
    assert gx._short(mid) in msg and gx._short(z0) not in msg


# ----------------------------------------------------------------- gradients of the loss checks (06)

def test_loss_checks_compare_gradients_not_only_values():
    """A loss built through .item(), numpy or detached logits has the right value and no gradient: rejected."""
    ref_d = gan_losses.discriminator_loss
    for wrong in (
        lambda r, f: torch.tensor(ref_d(r, f).item()),                           # .item(), rewrapped
        lambda r, f: ref_d(r, f).item(),                                         # a Python float
        lambda r, f: torch.tensor(np.log1p(np.exp(-r.detach().numpy())).mean()  # numpy on detached logits
                                  + np.log1p(np.exp(f.detach().numpy())).mean()),
        lambda r, f: torch.from_numpy(np.log1p(np.exp(-r.numpy())).mean(keepdims=True)),  # numpy: crashes
        lambda r, f: ref_d(r.detach(), f.detach()),                              # detached logits
    ):
        rejects(gx.check_discriminator_loss, wrong, "no gradient reaches the")
    msg = rejects(gx.check_discriminator_loss, lambda r, f: ref_d(r.detach(), f), "no gradient reaches the real logits")
    assert "fake logits" not in msg
    rejects(gx.check_discriminator_loss, lambda r, f: ref_d(r, f.detach()), "no gradient reaches the fake logits")
    ref_g = gan_losses.generator_loss_non_saturating
    for wrong in (lambda f: torch.tensor(ref_g(f).item()), lambda f: ref_g(f).item(), lambda f: ref_g(f.detach()),
                  lambda f: torch.tensor(np.log1p(np.exp(-f.detach().numpy())).mean())):
        rejects(gx.check_generator_loss_non_saturating, wrong, "no gradient reaches the")


def test_loss_checks_reject_a_right_value_with_a_wrong_gradient():
    def value_right_gradient_wrong(r, f):
        loss = gan_losses.discriminator_loss(r, f)
        return loss.detach() + 0.5 * (r.sum() - r.sum().detach())  # adds 0 to the value, 0.5 to each real gradient

    rejects(gx.check_discriminator_loss, value_right_gradient_wrong, "gradient with respect to the real")


# ----------------------------------------------------------------- one training step (06)

def step_reference(G, D, opt_g, opt_d, real, z):
    fake = G(z)
    d_loss = -F.logsigmoid(D(real)).mean() - F.logsigmoid(-D(fake.detach())).mean()
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = -F.logsigmoid(D(fake)).mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def step_bce_frozen(G, D, opt_g, opt_d, real, z):
    """A valid alternative: BCE with labels, set_to_none, D frozen for G's step, G(z) computed again, tensors."""
    opt_d.zero_grad(set_to_none=True)
    fake = G(z).detach()
    d_loss = (F.binary_cross_entropy_with_logits(D(real), torch.ones(len(real)))
              + F.binary_cross_entropy_with_logits(D(fake), torch.zeros(len(fake))))
    d_loss.backward()
    opt_d.step()
    D.requires_grad_(False)
    logits = D(G(z))
    g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    G.zero_grad()
    g_loss.backward()
    opt_g.step()
    D.requires_grad_(True)
    return d_loss.detach(), g_loss.detach()


def step_one_batch(G, D, opt_g, opt_d, real, z):
    """As course_utils.gan.train.make_step: reals and detached fakes through D as one batch."""
    fake = G(z)
    logits = D(torch.cat([real, fake.detach()]))
    d_loss = gan_losses.discriminator_loss(logits[:len(real)], logits[len(real):])
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = gan_losses.generator_loss_non_saturating(D(fake))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return float(d_loss.detach()), float(g_loss.detach())


def make_step_variant(detach=True, swap=False, fake_label=0, zero_d=True, zero_g=True, g_loss="ns", old_d=False,
                      d_twice=False, g_first=False, returns="both", reuse=False, freeze_forever=False,
                      recompute_fake=False):
    def step(G, D, opt_g, opt_d, real, z):
        def d_step():
            fake = G(z)
            f_in = fake.detach() if detach else fake
            real_logits, fake_logits = D(real), D(f_in)
            real_target = 0.0 if swap else 1.0
            fake_target = (1.0 - fake_label) if swap else float(fake_label)
            loss = (F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_target))
                    + F.binary_cross_entropy_with_logits(fake_logits, torch.full_like(fake_logits, fake_target)))
            if zero_d:
                opt_d.zero_grad()
            loss.backward()
            opt_d.step()
            return loss, fake, fake_logits

        def g_step(fake, fake_logits, judge):
            if recompute_fake:
                fake = G(z)
            logits = fake_logits if reuse else judge(fake)
            if g_loss == "ns":
                loss = F.softplus(-logits).mean()
            elif g_loss == "saturating":
                loss = -F.softplus(logits).mean()
            elif g_loss == "label0":
                loss = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))
            else:
                loss = F.softplus(-logits).sum()
            if zero_g:
                opt_g.zero_grad()
            if freeze_forever:
                D.requires_grad_(False)
            loss.backward()
            if d_twice:
                opt_d.step()
            opt_g.step()
            return loss

        if g_first:
            gl = g_step(G(z), None, D)
            dl, _, _ = d_step()
        else:
            judge = copy.deepcopy(D) if old_d else None
            dl, fake, fake_logits = d_step()
            gl = g_step(fake, fake_logits, judge if old_d else D)
        if returns == "swapped":
            return gl.item(), dl.item()
        return dl.item(), gl.item()

    return step


def test_gan_step_accepts_the_reference_and_valid_alternatives():
    for fn in (step_reference, step_bce_frozen, step_one_batch, make_step_variant(),
               make_step_variant(recompute_fake=True)):
        accepts(gx.check_gan_step, fn)


@pytest.mark.parametrize("wrong, fragment", [
    (make_step_variant(detach=False), "D's backward had already used up"),  # fakes not detached, same fakes for G
    (make_step_variant(detach=False, recompute_fake=True), "the fakes were not detached"),
    (make_step_variant(reuse=True), "logits from D's step"),
    (make_step_variant(swap=True), "swapped labels"),
    (make_step_variant(fake_label=1), "fakes label 1"),
    (make_step_variant(zero_d=False), "opt_d.zero_grad()"),
    (make_step_variant(zero_g=False), "opt_g.zero_grad()"),
    (make_step_variant(g_loss="saturating"), "SATURATING"),
    (make_step_variant(g_loss="label0"), "label 0"),
    (make_step_variant(g_loss="sum"), "sums over the batch"),
    (make_step_variant(old_d=True), "BEFORE its step"),
    (make_step_variant(d_twice=True), "opt_d.step() was called 2 times"),
    (make_step_variant(g_first=True), "G was updated before D"),
    (make_step_variant(returns="swapped"), "wrong order"),
    (make_step_variant(freeze_forever=True), "no longer require gradients"),
])
def test_gan_step_names_typical_mistakes(wrong, fragment):
    rejects(gx.check_gan_step, wrong, fragment)


def test_gan_step_without_updates_and_with_bad_returns():
    def no_d_step(G, D, opt_g, opt_d, real, z):
        g_loss = F.softplus(-D(G(z))).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        return 0.0, g_loss.item()

    rejects(gx.check_gan_step, no_d_step, "opt_d.step() was never called")
    rejects(gx.check_gan_step, lambda *a: step_reference(*a)[0], "must return (d_loss, g_loss)")


# ----------------------------------------------------------------- the Fréchet distance (08)

def fd_with(cov, cross):
    def fd(a, b):
        s1, s2 = cov(a), cov(b)
        return float(((a.mean(0) - b.mean(0)) ** 2).sum() + s1.trace() + s2.trace() - 2 * cross(s1, s2))
    return fd


def unbiased(x):
    return torch.cov(x.T)


def sqrtm_cross(s1, s2):
    return float(np.trace(scipy.linalg.sqrtm((s1 @ s2).numpy())).real)


def mixed_bias(a, b):
    """The first set's covariance biased (N), the second's unbiased (N - 1)."""
    s1, s2 = torch.cov(a.T, correction=0), torch.cov(b.T)
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + s1.trace() + s2.trace() - 2 * sqrtm_cross(s1, s2))


def test_frechet_check_accepts_the_reference_and_valid_alternatives():
    accepts(gx.check_frechet_distance, frechet_distance)  # the course's implementation
    accepts(gx.check_frechet_distance, fd_with(unbiased, sqrtm_cross))
    accepts(gx.check_frechet_distance, fd_with(lambda x: torch.from_numpy(np.cov(x.numpy(), rowvar=False)),
                                               lambda s1, s2: np.sqrt(np.linalg.eigvals((s1 @ s2).numpy())
                                                                      .real.clip(0)).sum()))
    accepts(gx.check_frechet_distance, lambda a, b: torch.tensor(frechet_distance(a, b)))  # a 0-d tensor is fine


@pytest.mark.parametrize("wrong, fragment", [
    (fd_with(unbiased, lambda s1, s2: torch.sqrt((s1 @ s2).trace())), "square root of the TRACE"),
    (fd_with(unbiased, lambda s1, s2: torch.sqrt(s1 @ s2).trace()), "ELEMENTWISE square root"),
    (fd_with(unbiased, lambda s1, s2: (torch.sqrt(s1) @ torch.sqrt(s2)).trace()), "NaN"),
    (fd_with(unbiased, lambda s1, s2: np.trace(scipy.linalg.sqrtm(s1.numpy()) @ scipy.linalg.sqrtm(s2.numpy())).real),
     "commute"),
    (fd_with(lambda x: torch.cov(x.T, correction=0), sqrtm_cross), "divide by N"),
    (lambda a, b: mixed_bias(a, b), "first set's covariance divides by N"),
    (fd_with(lambda x: torch.cov(x), sqrtm_cross), "treat each ROW as a variable"),
    (fd_with(unbiased, lambda s1, s2: 0.5 * sqrtm_cross(s1, s2)), "factor 2"),
    (lambda a, b: math.sqrt(frechet_distance(a, b)), "2-Wasserstein distance W2"),  # W2 instead of W2^2
])
def test_frechet_check_names_typical_mistakes(wrong, fragment):
    rejects(gx.check_frechet_distance, wrong, fragment)


def test_frechet_check_type_errors_speak_of_one_number_not_of_gan_losses():
    """Issue 20: a wrong return type of frechet_distance was explained with '(d_loss, g_loss)'."""
    for wrong in (lambda a, b: None, lambda a, b: (1.0, 2.0), lambda a, b: torch.ones(2)):
        message = rejects(gx.check_frechet_distance, wrong, "must return one number")
        assert "d_loss" not in message and "g_loss" not in message


def test_frechet_check_reference_agrees_with_the_engine():
    a, b = gx._fd_inputs(50, 12, 12)
    assert gx.reference_frechet_distance(a, b) == pytest.approx(frechet_distance(a, b), rel=1e-9)
