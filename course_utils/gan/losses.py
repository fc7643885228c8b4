"""The GAN's losses as small pure functions of the discriminator's logits (Q2.2-Q2.4).

What lives here: the value function V(D, G), the discriminator's loss, and the
generator's two losses (saturating and non-saturating). Nothing here owns
parameters or knows about training; the networks are in :mod:`course_utils.gan.model`,
the loop in :mod:`course_utils.gan.train`.

Conventions: the discriminator outputs a logit ``a``, and ``D = sigmoid(a)``.
Every log-probability is computed from the logit with the identities

    log D       = log sigmoid(a)     = -softplus(-a)
    log (1 - D) = log sigmoid(-a)    = -softplus(a)

which stay finite where ``D`` itself rounds to 0 or 1 (``torch.log(torch.sigmoid(a))``
gives ``-inf`` for ``a < -104`` in float32). Each function averages over the batch
and returns a 0-d tensor, in nats.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_4 = math.log(4.0)  # -V(D*, G) at the optimum p_g = p_data, where D* = 1/2 everywhere


def log_d(logits: torch.Tensor) -> torch.Tensor:
    """``log D(x)`` elementwise, computed stably from the logits: ``-softplus(-a)``."""
    return -F.softplus(-logits)


def log_one_minus_d(logits: torch.Tensor) -> torch.Tensor:
    """``log(1 - D(x))`` elementwise, computed stably from the logits: ``-softplus(a)``."""
    return -F.softplus(logits)


def value_function(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The minimax objective ``V(D, G) = E_data[log D(x)] + E_z[log(1 - D(G(z)))]`` (batch means).

    The discriminator maximises V, the generator minimises it. When D outputs
    1/2 everywhere (the optimum once ``p_g = p_data``), ``V = 2 log(1/2) = -log 4``.
    """
    return log_d(real_logits).mean() + log_one_minus_d(fake_logits).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's binary cross-entropy: ``-E[log D(x)] - E[log(1 - D(G(z)))] = -V(D, G)``.

    Real images carry label 1, fakes label 0; the two batch means are *added*
    (not averaged), so minimising this loss is exactly maximising V. At
    ``D = 1/2`` everywhere it equals ``log 4 ~ 1.386``.
    """
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def generator_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's original minimax loss ``E_z[log(1 - D(G(z)))]`` (to be minimised).

    Its derivative with respect to the logit is ``-D(G(z))``: when the
    discriminator confidently rejects the fakes (``D(G(z)) -> 0``, as early in
    training) the gradient vanishes, the loss *saturates*.
    """
    return log_one_minus_d(fake_logits).mean()


def generator_loss_non_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss ``-E_z[log D(G(z))]`` (to be minimised).

    Its derivative with respect to the logit is ``-(1 - D(G(z)))``, close to -1
    exactly where the saturating loss gives nothing: a strong signal early in
    training. It has the same fixed point as the minimax game.
    """
    return -log_d(fake_logits).mean()


GENERATOR_LOSS_FUNCTIONS = {
    "saturating": generator_loss_saturating,
    "non-saturating": generator_loss_non_saturating,
}


def generator_loss(fake_logits: torch.Tensor, kind: str = "non-saturating") -> torch.Tensor:
    """The generator loss named ``kind``: ``"non-saturating"`` (default) or ``"saturating"``."""
    try:
        fn = GENERATOR_LOSS_FUNCTIONS[kind]
    except KeyError:
        raise ValueError(f"unknown generator loss {kind!r}; use one of "
                         f"{sorted(GENERATOR_LOSS_FUNCTIONS)}") from None
    return fn(fake_logits)
