"""The assignment's GAN: its configuration, generator and discriminator (Q2.5).

What lives here: :class:`GANConfig`, every knob of a GAN run with the
assignment's defaults, :class:`Generator` and :class:`Discriminator`, and the
two conversions between the data's pixel range [0, 1] and the generator's
tanh range [-1, 1]. The losses are in :mod:`course_utils.gan.losses`, training
and sampling in :mod:`course_utils.gan.train`, latent paths in
:mod:`course_utils.gan.interpolation`, figures in :mod:`course_utils.gan.figures`.

Architecture::

    generator      z (100) -> 128 (LeakyReLU 0.2)
                           -> 256 -> 512 -> 1024 (each Linear, BatchNorm1d, LeakyReLU 0.2)
                           -> 784 (Linear, tanh; no BatchNorm): an image with pixels in [-1, 1]
    discriminator  x (784) -> 512 -> 256 (each Linear, LeakyReLU 0.2) -> 1 logit

The discriminator returns a *logit* ``a``; the probability that ``x`` is real
is ``D(x) = sigmoid(a)``. Working with logits keeps every loss finite even
when ``D(x)`` rounds to 0 or 1.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

from course_utils.core.runtime import check_precision
from course_utils.core.training import snapshot_epochs

X_DIM = 784
GENERATOR_LOSSES = ("non-saturating", "saturating")


@dataclass(frozen=True)
class GANConfig:
    """Every setting of a GAN run. Defaults: the assignment's (z = 100, Adam 2e-4, betas (0.5, 0.999), batch 64).

    Attributes:
        latent_dim: size of the noise vector z ~ N(0, I).
        generator_hidden: widths of the generator's hidden layers; BatchNorm follows the linear layer of
            every hidden layer but the first, and never the output layer Linear(last width, 784).
        discriminator_hidden: widths of the discriminator's hidden layers.
        negative_slope: slope of LeakyReLU for negative inputs.
        lr: Adam's learning rate, for both networks.
        betas: Adam's (beta1, beta2); beta1 = 0.5 is the usual choice for GANs.
        batch_size: real images per step (and as many fakes).
        epochs: passes over the training images.
        seed: seeds the initial weights, the batch order and the noise.
        generator_loss: ``"non-saturating"`` (-log D(G(z))) or ``"saturating"`` (log(1 - D(G(z)))).
        train_size: use only the first ``train_size`` training images (None: all).
        sample_epochs: epochs at which training keeps a grid of samples for fixed noise
            (0 = before training); None means start, middle and end.
        n_samples: images in each kept sample grid (the same noise each time).
        precision: what training's matrix products compute in: ``"float32"``,
            ``"bfloat16"`` or ``"auto"`` (bfloat16 where the hardware has it, see
            :func:`course_utils.core.runtime.training_precision`); weights, losses and
            sampling are float32 either way.
        ema_decay: None (the assignment's: sample from the trained generator) or a decay in [0, 1): then
            training also keeps an exponential moving average of the generator's weights and BatchNorm
            statistics, ``avg <- decay * avg + (1 - decay) * current`` after every generator step (an average
            over the last ~``1 / (1 - decay)`` steps), and :func:`~course_utils.gan.train.train_gan` returns
            *that* generator; the networks and their training are unchanged. 0.999 is the course's recipe
            (:func:`course_utils.course.runs.gan_config`; measured in ``benchmarks/gan_recipes.py``).
    """

    latent_dim: int = 100
    generator_hidden: tuple[int, ...] = (128, 256, 512, 1024)
    discriminator_hidden: tuple[int, ...] = (512, 256)
    negative_slope: float = 0.2
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    batch_size: int = 64
    epochs: int = 30
    seed: int = 0
    generator_loss: str = "non-saturating"
    train_size: int | None = None
    sample_epochs: tuple[int, ...] | None = None
    n_samples: int = 25
    precision: str = "auto"
    ema_decay: float | None = None

    def __post_init__(self):
        for name in ("latent_dim", "batch_size", "n_samples"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"GANConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.ema_decay is not None and not 0 <= self.ema_decay < 1:  # also false for NaN
            raise ValueError(f"GANConfig.ema_decay must be None (no average) or in [0, 1), e.g. 0.999, "
                             f"got {self.ema_decay}")
        if self.epochs < 0:
            raise ValueError(f"GANConfig.epochs must be >= 0, got {self.epochs}")
        if not self.lr > 0:
            raise ValueError(f"GANConfig.lr must be > 0, got {self.lr}")
        if self.generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"GANConfig.generator_loss must be one of {GENERATOR_LOSSES}, "
                             f"got {self.generator_loss!r}")
        if self.train_size is not None and self.train_size < 1:
            raise ValueError(f"GANConfig.train_size must be >= 1 or None, got {self.train_size}")
        # tuples, so that a config built from lists (e.g. from JSON) compares and hashes alike
        object.__setattr__(self, "generator_hidden", tuple(int(h) for h in self.generator_hidden))
        object.__setattr__(self, "discriminator_hidden", tuple(int(h) for h in self.discriminator_hidden))
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        if self.sample_epochs is not None:
            object.__setattr__(self, "sample_epochs", tuple(int(e) for e in self.sample_epochs))
        check_precision(self.precision, "GANConfig.precision")

    @property
    def snapshot_epochs(self) -> tuple[int, ...]:
        """The epochs whose sample grids training keeps (sorted, within 0..epochs)."""
        return snapshot_epochs(self.sample_epochs, self.epochs)

    def arch(self) -> dict:
        """What a checkpoint must match: the shapes of both networks."""
        return {"model": "gan", "x_dim": X_DIM, "latent_dim": self.latent_dim,
                "generator_hidden": list(self.generator_hidden),
                "discriminator_hidden": list(self.discriminator_hidden)}

    def to_dict(self) -> dict:
        """A JSON-friendly record of every setting (stored in checkpoints and metrics files)."""
        d = asdict(self)
        for key in ("generator_hidden", "discriminator_hidden", "betas", "sample_epochs"):
            d[key] = list(d[key]) if d[key] is not None else None
        if d["ema_decay"] is None:  # absent unless set: the records (and cache keys) of runs without it stay
            del d["ema_decay"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> GANConfig:
        """The inverse of :meth:`to_dict` (unknown keys are an error, missing ones take defaults)."""
        return cls(**d)


def to_signed(x01: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1] -> [-1, 1], the range of the generator's tanh output: ``2x - 1``."""
    return x01 * 2.0 - 1.0


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Pixels in [-1, 1] (generator output) -> [0, 1], the data's range: ``(x + 1) / 2``."""
    return (x + 1.0) * 0.5


class Generator(nn.Module):
    """G: noise z of shape (N, latent_dim) -> images (N, 784) with pixels in [-1, 1].

    Build it from a :class:`GANConfig`; the weights are PyTorch's default
    initialisation drawn from ``config.seed``, so the same config gives the
    same network. The BatchNorm layers normalise with batch statistics in
    ``train()`` mode and with running averages in ``eval()`` mode: sample with
    :func:`course_utils.gan.train.sample`, which switches to eval mode so a fixed
    noise vector always gives the same image.
    """

    def __init__(self, config: GANConfig | None = None):
        super().__init__()
        self.config = config = config if config is not None else GANConfig()
        slope = config.negative_slope
        widths = (config.latent_dim, *config.generator_hidden)
        layers: list[nn.Module] = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
                layers.append(nn.Linear(n_in, n_out))
                if i > 0:  # the assignment: no BatchNorm after the first layer
                    layers.append(nn.BatchNorm1d(n_out))
                layers.append(nn.LeakyReLU(slope))
            layers += [nn.Linear(widths[-1], X_DIM), nn.Tanh()]
            self.net = nn.Sequential(*layers)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images G(z) of shape (N, 784) in [-1, 1] for noise ``z`` of shape (N, latent_dim)."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"the generator expects noise of shape (N, {self.latent_dim}) "
                             f"(latent_dim={self.latent_dim}), got {tuple(z.shape)}")
        return self.net(z)


class Discriminator(nn.Module):
    """D: images (N, 784) in [-1, 1] -> logits (N,); ``torch.sigmoid(logits)`` is P(x is real).

    Images of shape (N, 1, 28, 28) or (N, 28, 28) are flattened first. No BatchNorm:
    each image is judged on its own, so real and fake images can share one batch.
    """

    def __init__(self, config: GANConfig | None = None):
        super().__init__()
        self.config = config = config if config is not None else GANConfig()
        slope = config.negative_slope
        widths = (X_DIM, *config.discriminator_hidden)
        layers: list[nn.Module] = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed + 1)  # not the generator's stream
            for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
                layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(slope)]
            layers.append(nn.Linear(widths[-1], 1))
            self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (N,) for images ``x`` of shape (N, 784), pixels in [-1, 1]."""
        if x.ndim in (3, 4) and x.shape[-2:] == (28, 28):
            x = x.reshape(len(x), X_DIM)
        if x.ndim != 2 or x.shape[1] != X_DIM:
            raise ValueError(f"the discriminator expects images of shape (N, {X_DIM}) or "
                             f"(N, 1, 28, 28), got {tuple(x.shape)}")
        return self.net(x).squeeze(1)


def build_gan(config: GANConfig | None = None) -> tuple[Generator, Discriminator]:
    """A freshly initialised ``(generator, discriminator)`` pair for ``config``."""
    config = config if config is not None else GANConfig()
    return Generator(config), Discriminator(config)
