"""The evaluation classifier: a small CNN trained on the course's data, whose features score samples (Q3.1).

What lives here: :class:`ClassifierConfig`, :class:`Classifier` (``features`` for the
Fréchet distance, ``predict`` for class coverage), :func:`train_classifier` (the course
ships the full-mode one on Fashion-MNIST, which is loaded even when ``TRAIN_HERE`` trains
the generative models; any other is trained once and kept in the model cache) and
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
from course_utils.core.data import Split
from course_utils.core.runtime import get_device, seed_everything
from course_utils.core.training import History, check_finite, fit

CACHE_VERSION = 1
N_CLASSES = 10
CHECK_ROWS = 4096  # images converted and range-checked at a time when a whole Split is checked (13 MB of float32)
EVAL_BYTES = 16 * 2 ** 20  # the most one activation tensor of an evaluation batch takes (16 MiB)


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


def check_unit_split(split: Split, name: str = "images") -> None:
    """:func:`check_unit_images` of a :class:`~course_utils.core.data.Split`'s images, :data:`CHECK_ROWS` at a time.

    Only one chunk is ever converted to float32, not the whole split.
    """
    if split.divisor is None:
        check_unit_images(split.stored, name)
        return
    for i in range(0, len(split), CHECK_ROWS):
        check_unit_images(split.rows(i, i + CHECK_ROWS), name)


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


class MaxPool2x2(nn.MaxPool2d):
    """``nn.MaxPool2d(2)``; without gradients (evaluation) the maximum of the four strided 2x2 views instead,
    the same numbers (a maximum is exact) about 5x faster on a CPU, where max_pool2d on NCHW tensors is
    the slowest layer of this network (measured: 20 ms against 3 ms for a batch of 167 on one thread).
    Training keeps max_pool2d and its gradient."""

    def __init__(self):
        super().__init__(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or x.shape[-1] % 2 or x.shape[-2] % 2:
            return super().forward(x)
        return torch.maximum(torch.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2]),
                             torch.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2]))


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
                nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(), MaxPool2x2(),
                nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(), MaxPool2x2(),
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

    def eval_batch_size(self, max_bytes: int = EVAL_BYTES) -> int:
        """Images per evaluation batch such that the first convolution's float32 output fits ``max_bytes``.

        167 images for the default 32 channels. The features do not depend on it (each image is
        computed on its own in eval mode; the same bits on the CPU measured, float32 round-off at most
        elsewhere); the memory does: a batch of 1 000 had three 100 MB activations alive at once.
        """
        return max(1, int(max_bytes) // (4 * self.config.channels[0] * 28 * 28))

    def _hidden(self, x01: torch.Tensor) -> torch.Tensor:
        x = (x01.reshape(len(x01), 1, 28, 28) - 0.5) / 0.5
        return self.hidden(self.conv(x))

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        """Class logits (N, 10) for images (N, 784) in [0, 1]."""
        return self.out(self.dropout(self._hidden(x01)))

    @torch.no_grad()
    def features(self, images01: torch.Tensor | Split, batch_size: int | None = None) -> torch.Tensor:
        """Penultimate-layer activations (N, hidden) as float64 on the CPU (eval mode).

        ``images01``: a tensor of images in [0, 1], or a :class:`~course_utils.core.data.Split`
        (its stored pixels converted one batch at a time; the same numbers as its ``images``).
        ``batch_size`` defaults to :meth:`eval_batch_size`.
        """
        return self._eval_map(lambda x: self._hidden(x), images01, batch_size).double()

    @torch.no_grad()
    def features_and_predictions(self, images01: torch.Tensor | Split,
                                 batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features(images01), predict(images01))`` from one pass through the network: the same numbers as
        the two calls (the logits are computed from the same float32 features), at half the cost."""
        def both(x):
            hidden = self._hidden(x)
            return torch.cat([hidden, self.out(hidden).argmax(1, keepdim=True).to(hidden.dtype)], 1)

        out = self._eval_map(both, images01, batch_size)
        return out[:, :-1].double(), out[:, -1].long()

    @torch.no_grad()
    def predict(self, images01: torch.Tensor | Split, batch_size: int | None = None) -> torch.Tensor:
        """Predicted class indices (N,) for images in [0, 1] (a tensor or a :class:`~course_utils.core.data.Split`)."""
        return self._eval_map(lambda x: self(x).argmax(1), images01, batch_size)

    @sharing("evaluation")
    def _eval_map(self, fn, images: torch.Tensor | Split, batch_size: int | None) -> torch.Tensor:
        batch_size = self.eval_batch_size() if batch_size is None else batch_size
        if isinstance(images, Split):
            split = images

            def batch(i):  # convert and check one batch at a time
                return check_unit_images(split.rows(i, i + batch_size))
        else:
            images = check_unit_images(images)

            def batch(i):
                return images[i:i + batch_size]
        was_training = self.training
        self.eval()
        try:
            # One output tensor, filled batch by batch: a list of small per-batch outputs kept between the
            # freed activations fragments the heap (glibc then holds hundreds of MB more at the peak).
            out = None
            for i in range(0, len(images), batch_size):
                y = fn(batch(i).to(self.device)).cpu()
                if out is None:
                    out = torch.empty((len(images), *y.shape[1:]), dtype=y.dtype)
                out[i:i + len(y)] = y
                del y
        finally:
            self.train(was_training)
        return out if out is not None else fn(torch.zeros(0, 784, device=self.device)).cpu()


def accuracy(classifier: Classifier, images01: torch.Tensor | Split, labels: torch.Tensor) -> float:
    """Fraction of ``images01`` (a tensor or a :class:`~course_utils.core.data.Split`) labelled correctly."""
    return float((classifier.predict(images01) == labels.cpu()).float().mean())


def classifier_cache_key(config: ClassifierConfig, data) -> str:
    """The model-cache key: every classifier setting, the data set, its pixel handling and size."""
    n = len(data.train) if config.train_size is None else min(config.train_size, len(data.train))
    return checkpoints.cache_key("classifier", version=CACHE_VERSION, config=config.to_dict(),
                                 dataset=data.name, pixels=data.pixels, n_train=n)


#: How the line printed on loading the shipped classifier ends (``TRAIN_HERE`` does not train it).
YARDSTICK_HINT = ("It is the yardstick of the Fréchet distance, precision and recall here and of the reference "
                  "numbers beside them, so it is loaded even with TRAIN_HERE = True. "
                  "train_classifier(data, classifier_config(), train_here=True) trains one here (numbers measured "
                  "with it do not compare with the course's).")


def train_classifier(data, config: ClassifierConfig | None = None, use_cache: bool = True,
                     progress: bool = True, device=None, train_here: bool = False) -> Classifier:
    """Train the evaluation classifier on ``data.train`` (or load it: the shipped one, the model cache).

    The classifier is the **yardstick** of the course's sample-quality numbers, not a model a student
    trains to watch: where the course ships one made with exactly these settings and data (Fashion-MNIST,
    full mode's ``classifier_config()``, i.e. ``ClassifierConfig()``), it is loaded even when the reference models
    are off (a notebook's ``TRAIN_HERE = True``, ``COURSE_TRAIN_HERE=1``), so a model trained here is measured
    with the classifier the reference models and ``seeds.json`` were measured with (older results files used
    classifiers of the same settings trained on their machines). ``train_here=True`` ignores a shipped one
    (the model cache, then training, answer); where none is shipped (MNIST, other settings) that is
    what happens anyway.

    The returned classifier is in eval mode, with ``test_accuracy`` (on ``data.test``)
    and ``history`` (per-epoch training loss and validation accuracy) set.
    Training uses the images as stored (use ``pixels='gray'`` data), without
    binarization, so it judges gray images as the generative models produce them.
    """
    config = config if config is not None else ClassifierConfig()
    device = get_device(device)
    train = data.train if config.train_size is None else data.train.subset(config.train_size)
    check_unit_split(train, "training images")
    model = Classifier(config).to(device)

    def run_training() -> dict:
        seed_everything(config.seed)
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
        # stored pixels, converted a batch at a time: the batches of Batches(train.images.float(), ...)
        batches = Batches(train.stored, train.labels, batch_size=config.batch_size, shuffle=True,
                          seed=config.seed, device=device, transform=lambda x: train.convert(x).float())

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
            out = {"accuracy": accuracy(model, data.val, data.val.labels)}
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
                "test_accuracy": accuracy(model, data.test, data.test.labels),
                "history": history.to_dict()}

    key = classifier_cache_key(config, data)  # no precision in it: the reference model's key too
    meta, _ = checkpoints.cached(key, {"classifier": model}, config.arch(), run_training, use_cache=use_cache,
                                 verbose=progress, reference=None if train_here else key,
                                 reference_always=True, train_hint=YARDSTICK_HINT)
    model.eval()
    model.test_accuracy = float(meta["test_accuracy"])
    model.history = History.from_dict(meta["history"])
    return model
