"""Sample quality for any image model (VAE or GAN): a Fréchet distance and class coverage (Q3.1).

What lives here: a small convolutional :class:`Classifier` trained on the same
data set (cached like the models, with its test accuracy), the Fréchet distance
between two sets of its penultimate-layer features, the class histogram of
generated samples (mode coverage), the real-vs-real floor, and
:func:`sample_quality`, which puts these together for one set of samples.
Nothing here knows how the samples were made.

**Convention: every function here takes images in [0, 1]**, of shape (N, 784)
(or (N, 1, 28, 28)), like the data. VAE samples (Bernoulli means) already are;
GAN samples are in [-1, 1] and must be mapped first with
:func:`course_utils.gan.to_unit` (``(x + 1) / 2``). Images outside [0, 1] raise
a ``ValueError`` that says so.

The Fréchet distance between two feature sets is that of the Gaussians with
their means and covariances::

    FD = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr( (S_a^{1/2} S_b S_a^{1/2})^{1/2} )

(the FID of Heusel et al., 2017, with this course's classifier in place of
Inception). It depends on the number of samples, so compare scores computed
with the same number (the test set's 10 000 by default) and always next to the
real-vs-real floor: test images against held-out training images.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import checkpoints
from .batches import Batches
from .runtime import get_device, seed_everything
from .training import History, check_finite, fit

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
                        "course_utils.gan.to_unit(x), i.e. (x + 1) / 2.")
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


# --------------------------------------------------------------------------- Fréchet distance

def _as_float64(feats) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(feats) if not isinstance(feats, torch.Tensor) else feats)
    x = x.detach().to("cpu", torch.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"features must have shape (N, d) with N >= 2, got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("features contain NaN or inf")
    return x


def gaussian_stats(feats) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (d,) and unbiased covariance (d, d), in float64, of features of shape (N, d)."""
    x = _as_float64(feats)
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / (len(x) - 1)


def _psd_sqrt(cov: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (via eigh)."""
    w, v = torch.linalg.eigh((cov + cov.T) / 2)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def _trace_sqrt_product(cov_a: torch.Tensor, cov_b: torch.Tensor) -> torch.Tensor:
    """tr((S_a S_b)^{1/2}) = tr((S_a^{1/2} S_b S_a^{1/2})^{1/2}): a symmetric PSD eigenproblem."""
    root_a = _psd_sqrt(cov_a)
    m = root_a @ cov_b @ root_a
    return torch.linalg.eigvalsh((m + m.T) / 2).clamp(min=0).sqrt().sum()


def frechet_distance_gaussians(mu_a, cov_a, mu_b, cov_b) -> float:
    """The Fréchet (2-Wasserstein squared) distance between N(mu_a, cov_a) and N(mu_b, cov_b).

    ``|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^{1/2} S_b S_a^{1/2})^{1/2})``, in
    float64. The trace term is computed in both orders and averaged, so the result is
    symmetric to the last bit; tiny negative round-off is clipped to 0.
    """
    mu_a, mu_b = (torch.as_tensor(m, dtype=torch.float64) for m in (mu_a, mu_b))
    cov_a, cov_b = (torch.as_tensor(c, dtype=torch.float64) for c in (cov_a, cov_b))
    if mu_a.shape != mu_b.shape or cov_a.shape != cov_b.shape or cov_a.shape != (len(mu_a), len(mu_a)):
        raise ValueError(f"shapes do not match: mu {tuple(mu_a.shape)} / {tuple(mu_b.shape)}, "
                         f"cov {tuple(cov_a.shape)} / {tuple(cov_b.shape)}")
    diff = mu_a - mu_b
    cross = 0.5 * (_trace_sqrt_product(cov_a, cov_b) + _trace_sqrt_product(cov_b, cov_a))
    fd = diff @ diff + torch.trace(cov_a) + torch.trace(cov_b) - 2.0 * cross
    return max(float(fd), 0.0)


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between two feature sets (N_a, d) and (N_b, d), e.g. ``Classifier.features``.

    Fits a Gaussian (mean, covariance) to each set and returns
    :func:`frechet_distance_gaussians` of the two. 0 for identical sets; grows as
    the sets' statistics move apart.
    """
    a, b = _as_float64(feats_a), _as_float64(feats_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets differ in dimension: {a.shape[1]} vs {b.shape[1]}")
    return frechet_distance_gaussians(*gaussian_stats(a), *gaussian_stats(b))


# --------------------------------------------------------------------------- putting it together

def class_histogram(images01: torch.Tensor, classifier: Classifier) -> torch.Tensor:
    """How many of ``images01`` the classifier assigns to each class: int64 counts (10,)."""
    return torch.bincount(classifier.predict(images01), minlength=N_CLASSES)


def reference_features(classifier: Classifier, data, split: str = "test") -> torch.Tensor:
    """The classifier's features of ``data.<split>`` images (memoised on the classifier)."""
    key = (data.name, data.pixels, split, len(getattr(data, split)))
    if key not in classifier._reference_features:
        classifier._reference_features[key] = classifier.features(getattr(data, split).images)
    return classifier._reference_features[key]


def real_floor(data, classifier: Classifier) -> float:
    """The real-vs-real floor: FD between test images and held-out training (validation) images.

    Neither split was used to fit the classifier or the generative models, so this
    is the score a perfect model could expect with this many samples.
    """
    return frechet_distance(reference_features(classifier, data, "val"),
                            reference_features(classifier, data, "test"))


def sample_quality(images01: torch.Tensor, data, classifier: Classifier | None = None,
                   min_fraction: float = 0.01) -> dict:
    """Score generated images (in [0, 1]) against the test set.

    Returns a dict with:
        ``fd``: Fréchet distance between the samples' features and the test images';
        ``fd_real_floor``: the same for held-out training images (see :func:`real_floor`);
        ``class_histogram``: counts of samples per predicted class (list of 10 ints);
        ``classes_covered``: classes receiving at least ``min_fraction`` of the samples
        (1%: a tenth of a fair share), out of ``n_classes``;
        ``n_samples``, ``classifier_accuracy`` (on the test set).

    ``classifier`` defaults to :func:`train_classifier` ``(data)`` (cached). Use as many
    samples as the test set has (10 000) to compare with the floor.
    """
    images01 = check_unit_images(images01, "samples")
    classifier = classifier if classifier is not None else train_classifier(data)
    counts = class_histogram(images01, classifier)
    return {
        "fd": frechet_distance(classifier.features(images01), reference_features(classifier, data)),
        "fd_real_floor": real_floor(data, classifier),
        "class_histogram": counts.tolist(),
        "classes_covered": int((counts >= min_fraction * len(images01)).sum()),
        "n_classes": N_CLASSES,
        "n_samples": len(images01),
        "classifier_accuracy": classifier.test_accuracy,
    }


# --------------------------------------------------------------------------- corruptions

def corrupt(images01: torch.Tensor, kind: str, strength: float, seed: int = 0) -> torch.Tensor:
    """A corrupted copy of images in [0, 1], for checking that a score notices damage.

    ``kind='noise'``: add Gaussian noise of standard deviation ``strength``, clipped to [0, 1];
    ``kind='blur'``: Gaussian blur with standard deviation ``strength`` pixels.
    ``strength=0`` returns the images unchanged.
    """
    x = check_unit_images(images01).clone()
    if strength < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    if strength == 0:
        return x
    if kind == "noise":
        g = torch.Generator().manual_seed(seed)
        return (x + strength * torch.randn(x.shape, generator=g)).clamp_(0, 1)
    if kind == "blur":
        radius = max(1, int(round(3 * strength)))
        t = torch.arange(-radius, radius + 1, dtype=torch.float32)
        k = torch.exp(-0.5 * (t / strength) ** 2)
        k = k / k.sum()
        img = x.reshape(-1, 1, 28, 28)
        img = F.conv2d(F.pad(img, (radius, radius, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
        img = F.conv2d(F.pad(img, (0, 0, radius, radius), mode="replicate"), k.view(1, 1, -1, 1))
        return img.reshape(len(x), 784).clamp_(0, 1)
    raise ValueError(f"unknown corruption {kind!r}; use 'noise' or 'blur'")
