"""Training and evaluating the VAE (Q1.12-Q1.15).

What lives here: :func:`train_vae` (one call trains, or loads from the model
cache, a :class:`~course_utils.vae.model.VAE`), the training step it hands to the
shared epoch loop :func:`course_utils.core.training.fit`, the learning-rate and
KL-weight schedules, and the evaluation of a trained model on a data split:
:func:`elbo` and :func:`evaluate_vae` (test ELBO and importance-weighted
log-likelihood). The network is in :mod:`course_utils.vae.model`, the loss pieces in
:mod:`course_utils.vae.losses`, the log p(x) estimators in
:mod:`course_utils.vae.estimators`, the figures in :mod:`course_utils.vae.figures`.

Conventions: images are (N, 784) in [0, 1]. With dynamically binarized data
(``load_data(..., pixels='dynamic')``) every training batch is a fresh Bernoulli
sample of the gray images; validation and test images are binarized once, with
a fixed seed, so every epoch and every model is scored on the same binary images.
All values are in nats per image; the ELBO is negative and higher is better.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch

from course_utils.core import checkpoints
from course_utils.core.cpus import sharing
from course_utils.core.runtime import autocast, get_device, training_precision
from course_utils.core.training import History, Hook, TrainingDiverged, check_loss, fit
from course_utils.vae.estimators import vae_iw_log_px
from course_utils.vae.losses import negative_elbo
from course_utils.vae.model import VAE, VAEConfig, check_images

CACHE_VERSION = 1
EVAL_SEED = 12345  # binarization of validation/test images and the evaluation noise

#: Divergence: a batch's negative ELBO above this many nats per image stops training. An
#: all-0.5 Bernoulli decoder scores 784 log 2 ~ 543 nats on *any* image in [0, 1] (binary or
#: gray), and a freshly initialised VAE scores about that; a healthy run only goes down from
#: there. Ten times it (6.9 nats per pixel: the observed pixel given probability < 1/1000
#: on average) is reached only by weights that have blown up (lr 1e6: ~1e34 nats).
LOSS_CEILING = 10 * 784 * math.log(2)


@dataclass
class VAEHistory(History):
    """The per-epoch record of a VAE run (see :class:`course_utils.core.training.History`).

    Each entry of ``history.epochs`` holds, averaged over the epoch, the training
    ``elbo``, ``reconstruction`` (``-log p(x|z)``) and ``regularization``
    (``KL(q(z|x) || p(z))``), the same three on the validation set with a ``val_``
    prefix, the learning rate ``lr``, the KL weight ``kl_weight`` and ``seconds``.
    ``history.samples`` maps an epoch (0 = before training) to decoder means
    (n, 784) at the fixed latent points ``history.noise``.
    """

    samples: dict[int, torch.Tensor] = field(default_factory=dict)
    noise: torch.Tensor | None = None


# --------------------------------------------------------------------------- schedules

def learning_rate(config: VAEConfig, progress: float) -> float:
    """The learning rate at ``progress`` in [0, 1] of training (constant, or a cosine decay to ``lr * lr_final``)."""
    if config.lr_schedule == "constant":
        return config.lr
    final = config.lr * config.lr_final
    return final + 0.5 * (config.lr - final) * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


def kl_weight(config: VAEConfig, epoch: float) -> float:
    """The weight of the KL term after ``epoch`` (fractional) epochs: a linear warm-up from 0 to 1, then 1."""
    if config.kl_warmup_epochs <= 0:
        return 1.0
    return min(1.0, epoch / config.kl_warmup_epochs)


# --------------------------------------------------------------------------- one training step

def make_step(model: VAE, optimizer: torch.optim.Optimizer, config: VAEConfig, steps_per_epoch: int,
              noise: torch.Generator | None = None, start: int = 0) -> Callable[[torch.Tensor], dict]:
    """The function doing one optimisation step on a batch ``x`` (N, 784).

    1. Encode x, draw one z = mu + sigma * eps (reparameterized), decode; with
       ``config.precision`` resolving to bfloat16 the matrix products run in
       bfloat16 (``torch.autocast``) and the loss is computed in float32.
    2. The loss is the batch mean of ``reconstruction + kl_weight * regularization``
       (``kl_weight`` is 1, the plain negative ELBO, unless a warm-up is configured).
    3. Check the negative ELBO is finite and below :data:`LOSS_CEILING` *before*
       updating, so a NaN or a blown-up model stops training (:class:`TrainingDiverged`).
    4. Backpropagate and take an Adam step.

    ``start`` is the number of steps already taken (the schedules' position when a run resumes).
    Returns the batch means of the ELBO and its two parts (unweighted), as 0-d tensors.
    """
    total_steps = max(1, config.epochs * steps_per_epoch)
    count = start
    mixed = autocast(config.precision, model.device)

    def step(x: torch.Tensor) -> dict:
        nonlocal count
        lr = learning_rate(config, count / total_steps)
        beta = kl_weight(config, count / steps_per_epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with mixed:
            out = model(x, noise)
        parts = negative_elbo(x, out["logits"].float(), out["mu"].float(), out["sigma"].float())
        reconstruction = parts["reconstruction"].mean()
        regularization = parts["regularization"].mean()
        negative = reconstruction + regularization
        loss = reconstruction + beta * regularization if beta != 1.0 else negative
        # 0 <= beta <= 1 and both parts >= 0: a finite negative ELBO below the ceiling bounds the loss too
        check_loss(negative, "the VAE loss (negative ELBO per image)", LOSS_CEILING,
                   f"10 x 784 log 2: ten times what an all-0.5 decoder scores, {LOSS_CEILING / 10:.0f} nats")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        count += 1
        reconstruction, regularization = reconstruction.detach(), regularization.detach()
        return {"elbo": -(reconstruction + regularization), "reconstruction": reconstruction,
                "regularization": regularization, "lr": lr, "kl_weight": beta}

    return step


def make_optimizer(model: VAE, config: VAEConfig) -> torch.optim.Adam:
    """Adam with the config's learning rate; PyTorch's fused kernel where it exists (same algorithm, faster)."""
    try:
        return torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device/dtype
        return torch.optim.Adam(model.parameters(), lr=config.lr)


# --------------------------------------------------------------------------- evaluation

def binarized(images: torch.Tensor, seed: int = EVAL_SEED) -> torch.Tensor:
    """One fixed Bernoulli sample of gray images (the same ``seed`` gives the same binary images)."""
    return torch.bernoulli(images, generator=torch.Generator().manual_seed(seed))


def evaluation_images(split, binarize: bool, n: int | None = None) -> torch.Tensor:
    """The first ``n`` images of ``split`` (all when None), binarized with the fixed evaluation seed if asked."""
    images = split.images if n is None else split.images[:n]
    return binarized(images) if binarize else images


@torch.no_grad()
def elbo(model: VAE, x: torch.Tensor, batch_size: int = 1000, seed: int = EVAL_SEED) -> dict[str, float]:
    """The average single-sample ELBO of ``x`` (N, 784) and its two parts, in nats per image.

    ``{"elbo", "reconstruction", "regularization"}``; the z samples are drawn with
    a fixed ``seed``, so the same model and images always give the same numbers.
    """
    check_images(x)
    model.eval()
    noise = torch.Generator().manual_seed(seed)
    sums = {"loss": 0.0, "reconstruction": 0.0, "regularization": 0.0}
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(model.device)
        out = model(xb, noise)
        for k, v in negative_elbo(xb, out["logits"], out["mu"], out["sigma"]).items():
            sums[k] += v.sum().item()
    n = max(len(x), 1)
    return {"elbo": -sums["loss"] / n, "reconstruction": sums["reconstruction"] / n,
            "regularization": sums["regularization"] / n}


@sharing("evaluation")
def evaluate_vae(model: VAE, split, binarize: bool = True, iw_k: int = 5000, n_images: int | None = None,
                 seed: int = EVAL_SEED, progress: bool = True) -> dict:
    """Score a trained VAE on a data split: the test ELBO and the importance-weighted log-likelihood.

    Args:
        model: a trained :class:`~course_utils.vae.model.VAE`.
        split: e.g. ``data.test`` (a :class:`~course_utils.core.data.Split`).
        binarize: score one fixed binarization of the images (``data.binarize``).
        iw_k: importance samples per image (0 skips the IW estimate).
        n_images: score only the first ``n_images`` images (the IW estimate costs
            ``iw_k`` decoder passes per image: about a minute per 1000 images at k = 5000
            on a laptop CPU).
    Returns:
        ``{"elbo", "reconstruction", "regularization", "iw_ll", "iw_k", "n_images", "iw_seconds"}``
        in nats per image (``iw_ll`` is None when ``iw_k`` is 0).
    """
    x = evaluation_images(split, binarize, n_images)
    result = {**elbo(model, x, seed=seed), "iw_ll": None, "iw_k": iw_k, "n_images": len(x), "iw_seconds": 0.0}
    if iw_k:
        t0 = time.perf_counter()
        estimates = vae_iw_log_px(model, x, iw_k, generator=torch.Generator().manual_seed(seed),
                                  progress=progress)
        result["iw_ll"] = estimates.mean().item()
        result["iw_seconds"] = time.perf_counter() - t0
    return result


# --------------------------------------------------------------------------- the whole run

def _run_parts(config: VAEConfig, data) -> dict:
    """What determines a trained VAE besides the precision: every setting, the data set, its sizes."""
    return {"version": CACHE_VERSION, "config": config.to_dict(), "dataset": data.name, "pixels": data.pixels,
            "n_train": len(data.train), "n_val": len(data.val)}


def vae_cache_key(config: VAEConfig, data, device: str | torch.device | None = None) -> str:
    """The model-cache key: every setting, the precision it resolves to on ``device``, the data set, its size."""
    return checkpoints.cache_key("vae", **_run_parts(config, data),
                                 precision=training_precision(config.precision, get_device(device)))


def vae_reference_key(config: VAEConfig, data) -> str:
    """The key of the course's reference model for these settings and data (every setting, the data set and
    its sizes; not the precision ``"auto"`` resolves to on this machine)."""
    return checkpoints.cache_key("vae", **_run_parts(config, data))


def train_vae(config: VAEConfig, data, hooks: Iterable[Hook] = (), max_seconds: float | None = None,
              use_cache: bool = True, progress: bool = True,
              device: str | torch.device | None = None) -> tuple[VAE, VAEHistory]:
    """Train the VAE of ``config`` on ``data.train`` (or load it from the model cache).

    Args:
        config: a :class:`~course_utils.vae.model.VAEConfig`.
        data: a :class:`~course_utils.core.data.Data` with images in [0, 1]; batches are
            binarized on the fly when ``data.binarize`` (``pixels='dynamic'``).
        hooks: ``hook(epoch, history)`` after each epoch, as in :func:`~course_utils.core.training.fit`
            (they run only when training, not when the cache answers).
        max_seconds: a time budget; training stops before an epoch that would overrun
            it (such a shortened run is returned but not cached).
        use_cache: load the course's reference model for exactly these settings and data when one is
            shipped (unless ``COURSE_TRAIN_HERE=1`` or ``use_reference_models(False)``), else an identical
            earlier run (same config, data set and size) instead of training, and store a complete run
            for next time.
        progress: show a ``tqdm`` progress bar and cache messages.
        device: where to compute (default: :func:`course_utils.core.runtime.get_device`).

    Returns:
        ``(model, history)``: the model in eval mode and a :class:`VAEHistory` with
        the per-epoch training and validation ELBO and its two parts, and the sample
        grids kept at ``config.snapshot_epochs``.

    Ctrl-C stops after the current step and returns the model as it is (not cached).
    At the end of every epoch a resumable checkpoint is written beside the cached
    model (:class:`~course_utils.core.checkpoints.RunState`; not with ``use_cache=False``):
    a run cut short (Ctrl-C, a lost kernel, the time budget) resumes from its last
    complete epoch when called again with the same settings, and ends with the same
    model as an uninterrupted run.
    A NaN, inf or exploded loss (above :data:`LOSS_CEILING`) raises
    :class:`~course_utils.core.training.TrainingDiverged` (for NaN/inf its subclass
    ``NonFiniteLossError``) saying at which epoch and step and what to try; its
    ``.model`` is back at the last complete epoch's state.
    """
    device = get_device(device)
    check_images(data.train.checked(), "training images")
    if len(data.train) < 1:
        raise ValueError("the training set is empty")
    model = VAE(config).to(device)
    bank = checkpoints.SampleBank(len(config.snapshot_epochs), config.n_samples, config.z_dim)
    history = VAEHistory()
    key = vae_cache_key(config, data, device)

    def run_training() -> dict:
        val_x = evaluation_images(data.val, data.binarize) if len(data.val) else None
        if val_x is not None:
            check_images(val_x, "validation images")
        history.noise = torch.randn(config.n_samples, config.z_dim,
                                    generator=torch.Generator().manual_seed(config.seed + 2))

        def keep_samples(epoch: int, _history=None) -> None:
            if epoch in config.snapshot_epochs:
                with torch.no_grad():
                    history.samples[epoch] = model.decode(history.noise.to(device)).cpu()

        # uint8 pixels converted a batch at a time: the batches of Batches(data.train.images, ...), no float32 copy
        batches = data.train.batches(batch_size=config.batch_size, shuffle=True, binarize=data.binarize,
                                     seed=config.seed, device=device)
        optimizer = make_optimizer(model, config)
        noise = torch.Generator().manual_seed(config.seed + 1)
        state = checkpoints.RunState(checkpoints.partial_checkpoint_path(key) if use_cache else None,
                                     modules={"vae": model}, optimizers={"adam": optimizer},
                                     generators={"batches": batches.generator, "noise": noise},
                                     history=history, verbose=progress)
        if not state.resume():
            keep_samples(0)
            state.mark()  # epoch 0, with its sample grid
        step = make_step(model, optimizer, config, len(batches), noise=noise, start=history.steps)

        def evaluate() -> dict:
            scores = elbo(model, val_x)
            model.train()
            return scores

        model.train()
        try:
            fit(step, batches, epochs=config.epochs - len(history),
                evaluate=evaluate if val_x is not None else None,
                hooks=[keep_samples, state, *hooks], max_seconds=max_seconds, progress=progress,
                desc=state.describe(f"VAE z={config.z_dim}"), history=history)
        except TrainingDiverged as exc:
            error = state.diverged(exc, f"Try a learning rate 10 times lower (lr={config.lr:g} -> "
                                        f"{config.lr / 10:g}: VAEConfig(lr=...), or --lr on the command line).")
            model.eval()
            error.model = model
            raise error from None
        complete = not history.interrupted and len(history) == config.epochs
        if complete:
            bank.noise.copy_(history.noise)
            for i, epoch in enumerate(config.snapshot_epochs):
                bank.images[i].copy_(history.samples[epoch])
        elif progress and not history.interrupted:
            print(f"Stopped after {len(history)} of {config.epochs} epochs ({history.stop_reason}); "
                  "this shortened run is not cached as finished (calling again resumes it).")
        return {"complete": complete, "config": config.to_dict(), "dataset": data.name,
                "pixels": data.pixels, "n_train": len(data.train), "history": history.to_dict(),
                "precision": training_precision(config.precision, device)}

    modules = {"vae": model, "snapshots": bank}
    meta, from_cache = checkpoints.cached(key, modules, config.arch(), run_training, use_cache=use_cache,
                                          verbose=progress, reference=vae_reference_key(config, data))
    if from_cache:
        history = VAEHistory.from_dict(meta["history"])
        history.noise = bank.noise.clone()
        history.samples = {e: bank.images[i].clone() for i, e in enumerate(config.snapshot_epochs)}
    return model.eval(), history
