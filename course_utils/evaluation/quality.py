"""Sample quality for any image model (VAE or GAN): Fréchet distance, real-vs-real floor, class coverage.

What lives here: :func:`sample_quality`, which scores a set of generated images
against the test set with the classifier of :mod:`course_utils.evaluation.classifier`
and the distance of :mod:`course_utils.evaluation.frechet`; the class histogram of
samples (mode coverage); the real-vs-real floor; and :func:`corrupt`, damaged copies
of images for checking that a score notices damage. Nothing here knows how the
samples were made. Images are in [0, 1] (see :func:`~course_utils.evaluation.classifier.check_unit_images`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from course_utils.evaluation.classifier import N_CLASSES, Classifier, check_unit_images, train_classifier
from course_utils.evaluation.frechet import frechet_distance

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
