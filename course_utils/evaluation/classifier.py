"""The evaluation classifier: a small CNN trained on the course's data, whose features score samples (Q3.1).

What lives here: :class:`ClassifierConfig`, :class:`Classifier` (``features`` for the
Fréchet distance, ``predict`` for class coverage), :func:`train_classifier` (trained
once and kept in the model cache, like the generative models) and
:func:`check_unit_images`, the input check of every evaluation function.

**Convention: every evaluation function takes images in [0, 1]**, of shape (N, 784)
(or (N, 1, 28, 28)), like the data. VAE samples (Bernoulli means) already are; GAN
samples are in [-1, 1] and must be mapped first with
:func:`course_utils.gan.model.to_unit` (``(x + 1) / 2``). Images outside [0, 1] raise
a ``ValueError`` that says so.

The distances themselves are in :mod:`course_utils.evaluation.frechet`; putting
classifier and distance together for a set of samples is
:mod:`course_utils.evaluation.quality`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_utils.core import checkpoints
from course_utils.core.batches import Batches
from course_utils.core.cpus import sharing
from course_utils.core.runtime import get_device, seed_everything
from course_utils.core.training import History, check_finite, fit

CACHE_VERSION = 1
N_CLASSES = 10


# --------------------------------------------------------------------------- inputs

def check_unit_images(images: torch.Tensor, name: str = "images") -> torch.Tensor:
    """Return ``images`` as a float (N, 784) tensor, or raise a clear error unless pixels are in [0, 1]."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim in (3, 4) and images.shape[-2:] == (28, 28):
        images = images.reshape(len(images), 784)
    if images.ndim != 2 or images.shape[1] != 784:
        raise ValueError(f"{name} must have shape (N, 784) or (N, 1, 28, 28), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"{name} must be float pixels in [0, 1], got dtype {images.dtype} "
                         "(divide uint8 images by 255)")
    if images.numel():
        lo, hi = torch.aminmax(images.detach())
        if not (lo >= 0 and hi <= 1):  # also false for NaN
            hint = ""
            if lo >= -1 and hi <= 1:
                hint = (" These look like GAN samples in [-1, 1]: pass "
                        "course_utils.gan.model.to_unit(x), i.e. (x + 1) / 2.")
            raise ValueError(f"{name} must hold pixels in [0, 1] (the evaluation's convention), "
                             f"found values in [{lo.item():.4g}, {hi.item():.4g}].{hint}")
    return images.float()


# --------------------------------------------------------------------------- the classifier

@dataclass(frozen=True)
class ClassifierConfig:
    """Settings of the evaluation classifier (defaults: about 91-92% test accuracy on Fashion-MNIST).

    Attributes:
        channels: output channels of the two 3x3 convolutions (each followed by
            BatchNorm, ReLU and 2x2 max-pooling).
        hidden: width of the penultimate layer, whose activations are the features.
        epochs, lr, batch_size, seed: Adam training on the training split, the learning
            rate decaying from ``lr`` to 0 along a cosine over the epochs.
        train_size: use only the first ``train_size`` training images (None: all).
    """

    channels: tuple[int, int] = (32, 64)
    hidden: int = 128
    epochs: int = 4
    lr: float = 1e-3
    batch_size: int = 128
    seed: int = 0
    train_size: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if len(self.channels) != 2 or min(self.channels) < 1 or self.hidden < 1:
            raise ValueError(f"ClassifierConfig needs two positive channel counts and hidden >= 1, got "
                             f"channels={self.channels}, hidden={self.hidden}")

    def arch(self) -> dict:
        return {"model": "classifier", "channels": list(self.channels), "hidden": self.hidden,
                "classes": N_CLASSES}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


class Classifier(nn.Module):
    """A small CNN for 28x28 images in [0, 1]: two conv blocks, one hidden layer (the features), 10 logits.

    ``features(x)`` are the penultimate-layer activations used by the Fréchet
    distance; ``forward(x)`` returns class logits; ``predict(x)`` class indices.
    After :func:`train_classifier`, ``test_accuracy`` holds its accuracy on the test split.
    """

    def __init__(self, config: ClassifierConfig | None = None):
        super().__init__()
        self.config = config = config if config is not None else ClassifierConfig()
        c1, c2 = config.channels
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.conv = nn.Sequential(
                nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(),
            )
            self.hidden = nn.Sequential(nn.Linear(c2 * 7 * 7, config.hidden), nn.ReLU())
            self.dropout = nn.Dropout(0.3)
            self.out = nn.Linear(config.hidden, N_CLASSES)
        self.test_accuracy: float | None = None
        self.history: History | None = None
        self._reference_features: dict = {}

    @property
    def device(self) -> torch.device:
        return self.out.weight.device

    def _hidden(self, x01: torch.Tensor) -> torch.Tensor:
        x = (x01.reshape(len(x01), 1, 28, 28) - 0.5) / 0.5
        return self.hidden(self.conv(x))

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        """Class logits (N, 10) for images (N, 784) in [0, 1]."""
        return self.out(self.dropout(self._hidden(x01)))

    @torch.no_grad()
    def features(self, images01: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """Penultimate-layer activations (N, hidden) as float64 on the CPU (eval mode)."""
        images01 = check_unit_images(images01)
        return self._eval_map(lambda x: self._hidden(x), images01, batch_size).double()

    @torch.no_grad()
    def predict(self, images01: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """Predicted class indices (N,) for images in [0, 1]."""
        images01 = check_unit_images(images01)
        return self._eval_map(lambda x: self(x).argmax(1), images01, batch_size)

    @sharing("evaluation")
    def _eval_map(self, fn, images: torch.Tensor, batch_size: int) -> torch.Tensor:
        was_training = self.training
        self.eval()
        try:
            parts = [fn(images[i:i + batch_size].to(self.device)).cpu()
                     for i in range(0, len(images), batch_size)]
        finally:
            self.train(was_training)
        return torch.cat(parts)


def accuracy(classifier: Classifier, images01: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images01`` that ``classifier`` labels correctly."""
    return float((classifier.predict(images01) == labels.cpu()).float().mean())


def classifier_cache_key(config: ClassifierConfig, data) -> str:
    """The model-cache key: every classifier setting, the data set, its pixel handling and size."""
    n = len(data.train) if config.train_size is None else min(config.train_size, len(data.train))
    return checkpoints.cache_key("classifier", version=CACHE_VERSION, config=config.to_dict(),
                                 dataset=data.name, pixels=data.pixels, n_train=n)


def train_classifier(data, config: ClassifierConfig | None = None, use_cache: bool = True,
                     progress: bool = True, device=None) -> Classifier:
    """Train the evaluation classifier on ``data.train`` (or load it from the model cache).

    The returned classifier is in eval mode, with ``test_accuracy`` (on ``data.test``)
    and ``history`` (per-epoch training loss and validation accuracy) set.
    Training uses the images as stored (use ``pixels='gray'`` data), without
    binarization, so it judges gray images as the generative models produce them.
    """
    config = config if config is not None else ClassifierConfig()
    device = get_device(device)
    train = data.train if config.train_size is None else data.train.subset(config.train_size)
    check_unit_images(train.images, "training images")
    model = Classifier(config).to(device)

    def run_training() -> dict:
        seed_everything(config.seed)
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
        batches = Batches(train.images.float(), train.labels, batch_size=config.batch_size, shuffle=True,
                          seed=config.seed, device=device)

        def step(batch):
            x, y = batch
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            check_finite(loss, "the classifier loss")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return {"loss": loss.detach(), "accuracy": (logits.argmax(1) == y).float().mean()}

        def evaluate():
            out = {"accuracy": accuracy(model, data.val.images, data.val.labels)}
            model.train()
            return out

        def cosine_lr(epoch, history):  # decay the learning rate to 0 over the run
            for group in opt.param_groups:
                group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * epoch / max(config.epochs, 1)))

        model.train()
        history = fit(step, batches, epochs=config.epochs, evaluate=evaluate if len(data.val) else None,
                      hooks=[cosine_lr], progress=progress, desc="classifier")
        model.eval()
        complete = not history.interrupted and len(history) == config.epochs
        return {"complete": complete, "config": config.to_dict(), "dataset": data.name,
                "test_accuracy": accuracy(model, data.test.images, data.test.labels),
                "history": history.to_dict()}

    meta, _ = checkpoints.cached(classifier_cache_key(config, data), {"classifier": model},
                                 config.arch(), run_training, use_cache=use_cache, verbose=progress)
    model.eval()
    model.test_accuracy = float(meta["test_accuracy"])
    model.history = History.from_dict(meta["history"])
    return model
