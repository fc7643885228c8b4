"""Training and sampling of the GAN (Q2.5-Q2.6): alternating D and G steps.

What lives here: :func:`train_gan` (one call trains, or loads from the model
cache, a generator and a discriminator), the training step it hands to the
shared epoch loop :func:`course_utils.core.training.fit`, :func:`sample` (the
generator in eval mode), the :class:`SampleSnapshots` hook that keeps sample
grids for fixed noise, and :func:`save_gan` / :func:`load_gan`.
The networks are in :mod:`course_utils.gan.model`, the losses in
:mod:`course_utils.gan.losses`.

Conventions: the data are images in [0, 1] (``load_data(..., pixels='gray')``);
training scales them once to [-1, 1], the range of the generator's tanh, and
everything the generator returns is in [-1, 1]. Use
:func:`course_utils.gan.model.to_unit` to go back to [0, 1] (e.g. for
:mod:`course_utils.evaluation.quality`).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch

from course_utils.core import checkpoints
from course_utils.core.batches import Batches
from course_utils.core.runtime import autocast, get_device, seed_everything, training_precision
from course_utils.core.training import History, Hook, TrainingDiverged, check_loss, fit
from course_utils.gan.losses import discriminator_loss, generator_loss
from course_utils.gan.model import Discriminator, GANConfig, Generator, build_gan, to_signed

CACHE_VERSION = 1

#: Divergence: a discriminator or generator loss above this many nats stops training. Both are
#: binary cross-entropies of D's logits, about |logit| when D is confidently right or wrong;
#: sigmoid is exactly 0 or 1 in float32 beyond |logit| ~ 17, so a healthy run, even one whose
#: discriminator wins outright, stays far below 1000 (the default run: d_loss ~ 0.5-1.4,
#: g_loss ~ 0.7-5); past it the weights have blown up (lr 1e6 reaches ~1e10 or NaN).
LOSS_CEILING = 1000.0
#: The discriminator wins outright when mean D(G(z)) stays below this for a whole epoch.
D_WINS_BELOW = 0.01


class DiscriminatorWinsWarning(RuntimeWarning):
    """The discriminator rejects (almost) every fake for a whole epoch: the generator learns little."""


@dataclass
class GANHistory(History):
    """The per-epoch record of a GAN run (see :class:`course_utils.core.training.History`).

    Each entry of ``history.epochs`` holds ``d_loss`` and ``g_loss`` (batch means
    over the epoch), ``d_real`` (mean D(x) on real images), ``d_fake`` (mean
    D(G(z)) on the fakes, measured in the discriminator's step) and ``seconds``.
    ``history.samples`` maps an epoch (0 = before training) to the generator's
    images, in [-1, 1], for the fixed noise ``history.noise``.
    """

    samples: dict[int, torch.Tensor] = field(default_factory=dict)
    noise: torch.Tensor | None = None


# --------------------------------------------------------------------------- data and noise

def check_image_range(images: torch.Tensor, name: str = "training images") -> None:
    """Raise a clear ``ValueError`` unless ``images`` is a float (N, 784) batch with pixels in [0, 1]."""
    if not images.is_floating_point():
        raise ValueError(f"{name} must be float pixels in [0, 1], got dtype {images.dtype} "
                         "(divide uint8 images by 255)")
    if images.ndim != 2 or images.shape[1] != 784:
        raise ValueError(f"{name} must have shape (N, 784), got {tuple(images.shape)}")
    if images.numel():
        lo, hi = torch.aminmax(images)
        if not (lo >= 0 and hi <= 1):  # also false for NaN
            hint = (" They look like [-1, 1] already; pass the [0, 1] images, training scales them."
                    if lo >= -1 and hi <= 1 else "")
            raise ValueError(f"{name} must hold pixels in [0, 1], found values in "
                             f"[{lo.item():.4g}, {hi.item():.4g}].{hint}")


def make_noise(n: int, latent_dim: int, seed: int | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` noise vectors z ~ N(0, I) of size ``latent_dim`` (CPU), from ``seed`` or ``generator``."""
    if generator is None and seed is not None:
        generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, latent_dim, generator=generator)


@torch.no_grad()
def sample(generator: Generator, n_or_noise: int | torch.Tensor, seed: int | None = None,
           chunk: int = 2048) -> torch.Tensor:
    """Images from the generator, in [-1, 1], shape (N, 784), on the CPU.

    ``n_or_noise`` is either a number of images (noise drawn from ``seed``, or from
    PyTorch's global generator when ``seed`` is None) or a noise tensor of shape
    (N, latent_dim). The generator runs in eval mode, so BatchNorm uses its running
    statistics and the same noise always gives the same images; its previous mode
    is restored afterwards.
    """
    if isinstance(n_or_noise, torch.Tensor):
        noise = n_or_noise
    else:
        noise = make_noise(int(n_or_noise), generator.latent_dim, seed=seed)
    if noise.ndim != 2 or noise.shape[1] != generator.latent_dim:
        raise ValueError(f"noise must have shape (N, {generator.latent_dim}) for this generator "
                         f"(latent_dim={generator.latent_dim}), got {tuple(noise.shape)}")
    was_training = generator.training
    generator.eval()
    try:
        device = generator.device
        dtype = next(generator.parameters()).dtype
        parts = [generator(noise[i:i + chunk].to(device, dtype)).cpu() for i in range(0, len(noise), chunk)]
    finally:
        generator.train(was_training)
    return torch.cat(parts) if parts else torch.empty(0, 784)


class SampleSnapshots:
    """A training hook keeping ``sample(generator, noise)`` at chosen epochs.

    Use: ``hook = SampleSnapshots(generator, noise, epochs=(1, 5, 10))``, pass it
    in ``hooks=``; afterwards ``hook.samples`` maps each epoch reached to its
    images in [-1, 1]. :func:`train_gan` keeps its own snapshots (at
    ``config.snapshot_epochs``) in ``history.samples``.
    """

    def __init__(self, generator: Generator, noise: torch.Tensor, epochs: Iterable[int],
                 samples: dict[int, torch.Tensor] | None = None):
        self.generator, self.noise, self.epochs = generator, noise, set(int(e) for e in epochs)
        self.samples = samples if samples is not None else {}

    def __call__(self, epoch: int, history: History) -> None:
        if epoch in self.epochs:
            self.samples[epoch] = sample(self.generator, self.noise)


def warn_if_discriminator_wins(config: GANConfig) -> Hook:
    """A hook warning (:class:`DiscriminatorWinsWarning`) after an epoch whose mean D(G(z)) is below
    :data:`D_WINS_BELOW`: the discriminator won outright; training goes on."""

    def hook(epoch: int, history: History) -> None:
        d_fake = history.last.get("d_fake")
        if d_fake is not None and d_fake < D_WINS_BELOW:
            tip = ("the non-saturating generator loss (generator_loss='non-saturating', "
                   "--generator-loss non-saturating), " if config.generator_loss == "saturating" else "")
            warnings.warn(
                f"The discriminator wins outright: mean D(G(z)) was {d_fake:.2g} over epoch {epoch} "
                f"(below {D_WINS_BELOW}): it rejects nearly every fake, so the generator gets little to "
                f"learn from. Training goes on; if it persists, try {tip}a lower learning rate "
                f"(lr={config.lr:g}, --lr) or a smaller discriminator.", DiscriminatorWinsWarning, stacklevel=2)

    return hook


# --------------------------------------------------------------------------- one training step

def make_step(generator: Generator, discriminator: Discriminator, opt_g: torch.optim.Optimizer,
              opt_d: torch.optim.Optimizer, loss: str = "non-saturating",
              noise_rng: torch.Generator | None = None,
              precision: str = "auto") -> Callable[[torch.Tensor], dict]:
    """The function doing one alternating update on a batch of real images in [-1, 1].

    1. Draw z, make fakes ``G(z)``.
    2. Discriminator step: minimise ``discriminator_loss`` on the reals and the
       fakes (detached: this step does not touch G). Reals and fakes go through D
       as one batch; D has no BatchNorm, so this is the same as two passes.
    3. Generator step: minimise the chosen generator loss of ``D(G(z))`` under
       the updated D, for the same fakes; D's weights are frozen meanwhile (no
       gradients are computed for them).

    With ``precision`` resolving to bfloat16 (see
    :func:`course_utils.core.runtime.training_precision`) the networks' matrix products
    run in bfloat16 (``torch.autocast``); the losses are computed in float32.

    Each loss is checked for NaN/inf and for exceeding :data:`LOSS_CEILING` before its
    update, so a diverged run stops (:class:`~course_utils.core.training.TrainingDiverged`)
    without updating with the bad loss.
    """
    latent_dim = generator.latent_dim
    mixed = autocast(precision, next(generator.parameters()).device)

    def step(real: torch.Tensor) -> dict:
        b = real.shape[0]
        z = torch.randn(b, latent_dim, generator=noise_rng).to(real.device)
        with mixed:
            fake = generator(z)
            logits = discriminator(torch.cat([real, fake.detach()])).float()
        real_logits, fake_logits = logits[:b], logits[b:]
        d_loss = discriminator_loss(real_logits, fake_logits)
        check_loss(d_loss, "the discriminator loss", LOSS_CEILING, "no working GAN gets near it")
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        discriminator.requires_grad_(False)
        try:
            with mixed:
                fake_logits_g = discriminator(fake).float()
            g_loss = generator_loss(fake_logits_g, loss)
            check_loss(g_loss, "the generator loss", LOSS_CEILING, "no working GAN gets near it")
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
        finally:
            discriminator.requires_grad_(True)

        with torch.no_grad():
            d_real = torch.sigmoid(real_logits).mean()
            d_fake = torch.sigmoid(fake_logits).mean()
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "d_real": d_real, "d_fake": d_fake}

    return step


def averaged_generator(generator: Generator, decay: float) -> torch.optim.swa_utils.AveragedModel:
    """An exponential moving average of ``generator``'s weights *and* BatchNorm buffers
    (``torch.optim.swa_utils.AveragedModel``): call ``.update_parameters(generator)`` after each generator
    step; ``.module`` is the averaged generator (its first update copies the weights)."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def with_average(step: Callable[[torch.Tensor], dict], generator: Generator,
                 average: torch.optim.swa_utils.AveragedModel | None) -> Callable[[torch.Tensor], dict]:
    """``step``, followed by an update of the moving average ``average`` of ``generator`` (None: ``step``)."""
    if average is None:
        return step

    def averaged_step(real: torch.Tensor) -> dict:
        out = step(real)
        average.update_parameters(generator)
        return out

    return averaged_step


def make_optimizers(generator: Generator, discriminator: Discriminator,
                    config: GANConfig) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for each network with the config's learning rate and betas: ``(opt_g, opt_d)``.

    PyTorch's fused Adam kernel is used where it exists (the same algorithm, one
    kernel per step instead of a dozen elementwise passes: a few ms less per step
    on a CPU).
    """
    def adam(params):
        try:
            return torch.optim.Adam(params, lr=config.lr, betas=config.betas, fused=True)
        except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device/dtype
            return torch.optim.Adam(params, lr=config.lr, betas=config.betas)

    return adam(list(generator.parameters())), adam(list(discriminator.parameters()))


# --------------------------------------------------------------------------- the whole run

def _run_parts(config: GANConfig, data) -> dict:
    """What determines a trained GAN besides the precision: every setting, the data set, the images used."""
    n = len(data.train) if config.train_size is None else min(config.train_size, len(data.train))
    return {"version": CACHE_VERSION, "config": config.to_dict(), "dataset": data.name, "pixels": data.pixels,
            "n_train": n}


def gan_cache_key(config: GANConfig, data, device: str | torch.device | None = None) -> str:
    """The model-cache key: every setting, the precision it resolves to on ``device``, the data set, its size."""
    return checkpoints.cache_key("gan", **_run_parts(config, data),
                                 precision=training_precision(config.precision, get_device(device)))


def gan_reference_key(config: GANConfig, data) -> str:
    """The key of the course's reference model for these settings and data (every setting, the data set and
    its size; not the precision ``"auto"`` resolves to on this machine)."""
    return checkpoints.cache_key("gan", **_run_parts(config, data))


def train_gan(config: GANConfig, data, hooks: Iterable[Hook] = (), max_seconds: float | None = None,
              use_cache: bool = True, progress: bool = True,
              device: str | torch.device | None = None) -> tuple[Generator, Discriminator, GANHistory]:
    """Train the GAN of ``config`` on ``data.train`` (or load it from the model cache).

    Args:
        config: a :class:`~course_utils.gan.model.GANConfig`.
        data: a :class:`~course_utils.core.data.Data` with images in [0, 1]
            (``load_data(..., pixels='gray')``); they are scaled to [-1, 1] here. Every
            step sees ``config.batch_size`` images (a last, smaller batch is dropped).
        hooks: ``hook(epoch, history)`` after each epoch, as in :func:`~course_utils.core.training.fit`
            (they run only when training, not when the cache answers).
        max_seconds: a time budget; training stops before an epoch that would overrun it
            (such a shortened run is returned but not cached).
        use_cache: load the course's reference model for exactly these settings and data when one is
            shipped (unless ``COURSE_TRAIN_HERE=1`` or ``use_reference_models(False)``), else an identical
            earlier run (same config, data set and size) instead of training, and store a complete run
            for next time.
        progress: show a ``tqdm`` progress bar and cache messages.
        device: where to compute (default: :func:`course_utils.core.runtime.get_device`).

    Returns:
        ``(generator, discriminator, history)``; ``history`` is a :class:`GANHistory`
        with per-epoch losses, mean D(x) and D(G(z)), and the sample grids kept at
        ``config.snapshot_epochs`` for fixed noise. Both networks are returned in eval mode. With
        ``config.ema_decay`` set, ``generator`` holds the moving average of the trained generator's weights
        (:func:`averaged_generator`), which also made the sample grids; the discriminator is the one trained
        against the (non-averaged) generator.

    Ctrl-C stops after the current step and returns the networks as they are (not
    cached). At the end of every epoch a resumable checkpoint is written beside the
    cached model (:class:`~course_utils.core.checkpoints.RunState`; not with
    ``use_cache=False``): a run cut short resumes from its last complete epoch when
    called again with the same settings, and ends as an uninterrupted run would.
    A NaN, inf or exploded loss (above :data:`LOSS_CEILING`) raises
    :class:`~course_utils.core.training.TrainingDiverged` (``NonFiniteLossError`` for
    NaN/inf) whose ``.generator`` and ``.discriminator`` are back at the last complete
    epoch's state. A discriminator that wins outright (mean D(G(z)) below
    :data:`D_WINS_BELOW` for an epoch) gives a :class:`DiscriminatorWinsWarning`.
    """
    device = get_device(device)
    train = data.train if config.train_size is None else data.train.subset(config.train_size)
    check_image_range(train.checked())
    if len(train) < config.batch_size:
        raise ValueError(f"{len(train)} training images are fewer than one batch "
                         f"(batch_size={config.batch_size})")
    seed_everything(config.seed)
    generator, discriminator = build_gan(config)
    generator.to(device)
    discriminator.to(device)
    bank = checkpoints.SampleBank(len(config.snapshot_epochs), config.n_samples, config.latent_dim)
    # with config.ema_decay: the moving average of G is what is sampled, kept and returned
    average = averaged_generator(generator, config.ema_decay) if config.ema_decay is not None else None
    sampler = average.module if average is not None else generator
    history = GANHistory()
    key = gan_cache_key(config, data, device)

    def run_training() -> dict:
        nonlocal history
        noise = make_noise(config.n_samples, config.latent_dim, seed=config.seed + 2)
        history.noise = noise
        opt_g, opt_d = make_optimizers(generator, discriminator, config)
        noise_rng = torch.Generator().manual_seed(config.seed + 3)
        # stored pixels converted (and scaled to [-1, 1]) a batch at a time: the batches of
        # Batches(to_signed(train.images.float()), ...) without a float32 copy of the training set
        batches = Batches(train.stored, transform=lambda x: to_signed(train.convert(x).float()),
                          batch_size=config.batch_size, shuffle=True,
                          drop_last=True, seed=config.seed, device=device)
        modules = {"generator": generator, "discriminator": discriminator}
        if average is not None:
            modules["generator_average"] = average  # its weights, buffers and count: a resumed run averages on
        state = checkpoints.RunState(checkpoints.partial_checkpoint_path(key) if use_cache else None,
                                     modules=modules,
                                     optimizers={"generator": opt_g, "discriminator": opt_d},
                                     generators={"batches": batches.generator, "noise": noise_rng},
                                     history=history, verbose=progress)
        resumed = state.resume()
        snap = SampleSnapshots(sampler, history.noise, config.snapshot_epochs, samples=history.samples)
        if not resumed and 0 in snap.epochs:
            snap(0, history)
            state.mark()  # epoch 0, with its sample grid
        step = with_average(make_step(generator, discriminator, opt_g, opt_d, config.generator_loss, noise_rng,
                                      precision=config.precision), generator, average)
        generator.train()
        discriminator.train()
        try:
            fit(step, batches, epochs=config.epochs - len(history),
                hooks=[snap, state, warn_if_discriminator_wins(config), *hooks], max_seconds=max_seconds,
                progress=progress, desc=state.describe("GAN"), history=history)
        except TrainingDiverged as exc:
            error = state.diverged(exc, f"Try a learning rate 10 times lower (lr={config.lr:g} -> "
                                        f"{config.lr / 10:g}: GANConfig(lr=...), or --lr on the command line).")
            generator.eval()
            discriminator.eval()
            error.generator, error.discriminator = generator, discriminator
            raise error from None
        if average is not None:  # what is returned and stored: the averaged generator
            generator.load_state_dict(average.module.state_dict())
        complete = not history.interrupted and len(history) == config.epochs
        if complete:
            bank.noise.copy_(history.noise)
            for i, epoch in enumerate(config.snapshot_epochs):
                bank.images[i].copy_(history.samples[epoch])
        return {"complete": complete, "config": config.to_dict(), "dataset": data.name,
                "pixels": data.pixels, "n_train": len(train), "history": history.to_dict(),
                "precision": training_precision(config.precision, device)}

    modules = {"generator": generator, "discriminator": discriminator, "snapshots": bank}
    meta, from_cache = checkpoints.cached(key, modules, config.arch(), run_training, use_cache=use_cache,
                                          verbose=progress, reference=gan_reference_key(config, data))
    if from_cache:
        history = GANHistory.from_dict(meta["history"])
        history.noise = bank.noise.clone()
        history.samples = {e: bank.images[i].clone() for i, e in enumerate(config.snapshot_epochs)}
    generator.eval()
    discriminator.eval()
    return generator, discriminator, history


# --------------------------------------------------------------------------- files

def save_gan(path, generator: Generator, discriminator: Discriminator, history: History | None = None,
             **meta) -> None:
    """Save both networks, their config and (optionally) the history to a safetensors file."""
    config = generator.config
    record = {"arch": config.arch(), "config": config.to_dict(), **meta}
    if history is not None:
        record["history"] = history.to_dict()
    checkpoints.save_checkpoint(path, {"generator": generator, "discriminator": discriminator}, record)


def load_gan(path, config: GANConfig | None = None,
             device: str | torch.device | None = None) -> tuple[Generator, Discriminator, dict]:
    """Load a GAN saved by :func:`save_gan` (or from the model cache): ``(generator, discriminator, meta)``.

    Without ``config`` the networks are built from the config stored in the file.
    With one whose architecture differs from the file's, a
    :class:`~course_utils.core.checkpoints.CheckpointError` names each difference.
    """
    if config is None:
        config = GANConfig.from_dict(checkpoints.stored_config(path, "GAN"))
    generator, discriminator = build_gan(config)
    meta = checkpoints.load_checkpoint(path, {"generator": generator, "discriminator": discriminator},
                                       config.arch())
    device = get_device(device)
    return generator.to(device).eval(), discriminator.to(device).eval(), meta
