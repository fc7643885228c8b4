"""Numbers that describe a trained VAE beyond its ELBO: bits per dimension, rate and distortion, active units.

What lives here:

- :func:`bits_per_dim` -- a log-likelihood in nats per image as bits per pixel,
  ``-log p(x) / (D ln 2)``, the convention for image likelihoods (lower is better);
- :func:`kl_per_dimension` -- ``KL(q(z_j|x) || p(z_j))`` of a diagonal Gaussian q, one value
  per example and latent coordinate (summing over j gives the KL of the loss);
- :func:`latent_usage` -- on a set of images: the rate (the average KL, nats), the
  distortion (the average ``-log p(x|z)`` with one z from q, nats), the per-coordinate KL,
  and each coordinate's *activity* ``Var_x(E_q[z_j|x])`` (Burda et al., 2016): a coordinate
  whose q(z_j|x) is the prior for every x has activity 0 and KL 0 -- an inactive unit.

What does not: the loss and the estimators of log p(x) (:mod:`course_utils.vae.losses`,
:mod:`course_utils.vae.estimators`), training (:mod:`course_utils.vae.train`).
"""
from __future__ import annotations

import math

import torch

from course_utils.vae.losses import bernoulli_log_likelihood

ACTIVITY_THRESHOLD = 0.01  # Burda et al. (2016): a unit is active when Var_x(E_q[z_j|x]) > 0.01


def bits_per_dim(nats_per_image, dims: int = 784):
    """``-nats / (dims * ln 2)``: a log-likelihood (or ELBO) in nats per image as bits per dimension.

    The sign flips: a log-likelihood of -235 nats per 784-pixel image is 235 / (784 ln 2) = 0.43
    bits per pixel, and lower is better. Works on floats and tensors.
    """
    if dims < 1:
        raise ValueError(f"dims must be >= 1, got {dims}")
    return -nats_per_image / (dims * math.log(2.0))


def kl_per_dimension(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu_j, sigma_j^2) || N(0, 1))`` per coordinate, shape of ``mu``: ``-log s + (s^2 + mu^2)/2 - 1/2``."""
    return 0.5 * (mu ** 2 + sigma ** 2 - 1.0) - torch.log(sigma)


@torch.no_grad()
def latent_usage(model, x: torch.Tensor, batch_size: int = 1000, seed: int = 0,
                 threshold: float = ACTIVITY_THRESHOLD) -> dict:
    """Rate, distortion and per-coordinate use of the latent code of a VAE on binary images ``x`` (N, 784).

    Returns ``{"rate", "distortion", "kl_per_dim" (d,), "activity" (d,), "active" (d,) bool,
    "n_active", "threshold"}``; ``rate + distortion`` is minus the one-sample ELBO (nats per image).
    """
    model.eval()
    noise = torch.Generator().manual_seed(seed)
    mus, kls, distortion = [], [], 0.0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(model.device)
        out = model(xb, noise)
        mus.append(out["mu"].double().cpu())
        kls.append(kl_per_dimension(out["mu"].double(), out["sigma"].double()).cpu())
        distortion += -bernoulli_log_likelihood(out["logits"], xb).sum().item()
    mu, kl = torch.cat(mus), torch.cat(kls)
    activity = mu.var(0)
    active = activity > threshold
    return {"rate": kl.sum(1).mean().item(), "distortion": distortion / max(len(x), 1),
            "kl_per_dim": kl.mean(0), "activity": activity, "active": active,
            "n_active": int(active.sum()), "threshold": threshold}
