"""Sample quality for any image model (VAE or GAN): Fréchet distance, matched floor, precision/recall, coverage.

What lives here: :func:`sample_quality`, which scores a set of generated images
against the test set with the classifier of :mod:`course_utils.evaluation.classifier`:
the distance of :mod:`course_utils.evaluation.frechet`, the real-vs-real floor *at the
samples' n* (:func:`matched_floor`), improved precision and recall in the classifier's
feature space (:mod:`course_utils.evaluation.precision_recall`), and the class
histogram of the samples with its total variation to real images'; plus
:func:`corrupt`, damaged copies of images for checking that a score notices damage.
Nothing here knows how the samples were made. Images are in [0, 1] (see
:func:`~course_utils.evaluation.classifier.check_unit_images`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from course_utils.core.cpus import sharing
from course_utils.evaluation.classifier import N_CLASSES, Classifier, check_unit_images, train_classifier
from course_utils.evaluation.frechet import frechet_distance
from course_utils.evaluation.precision_recall import DEFAULT_K, precision_recall

# --------------------------------------------------------------------------- putting it together

def class_histogram(images01: torch.Tensor, classifier: Classifier) -> torch.Tensor:
    """How many of ``images01`` the classifier assigns to each class: int64 counts (10,)."""
    return torch.bincount(classifier.predict(images01), minlength=N_CLASSES)


def _reference(classifier: Classifier, data, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The classifier's features and predicted classes of ``data.<split>``, from one pass, memoised on it."""
    key = (data.name, data.pixels, split, len(getattr(data, split)))
    if key not in classifier._reference_features:
        classifier._reference_features[key] = classifier.features_and_predictions(getattr(data, split))
    return classifier._reference_features[key]


def reference_features(classifier: Classifier, data, split: str = "test") -> torch.Tensor:
    """The classifier's features of ``data.<split>`` images (memoised on the classifier, with the predictions).

    Computed from the split's stored pixels one batch at a time (no float32 copy of the split).
    """
    return _reference(classifier, data, split)[0]


def reference_predictions(classifier: Classifier, data, split: str = "test") -> torch.Tensor:
    """The classifier's predicted classes of ``data.<split>`` images (memoised on the classifier)."""
    return _reference(classifier, data, split)[1]


def real_floor(data, classifier: Classifier) -> float:
    """FD between *all* test images and *all* held-out training (validation) images (10 000 each).

    Neither split was used to fit the classifier or the generative models. This is the
    floor for 10 000 samples only; for another number of samples use :func:`matched_floor`.
    """
    return frechet_distance(reference_features(classifier, data, "val"),
                            reference_features(classifier, data, "test"))


def matched_floor(data, classifier: Classifier, n: int) -> float:
    """The real-vs-real floor at ``n`` samples: FD between the first ``n`` held-out real images and the test set.

    It is computed exactly like a model's score (``n`` images against all test images), so it
    is the score a perfect model could expect with that many samples: the estimate's upward
    bias grows like 1/n, and a floor computed with another n is not comparable.
    """
    val = reference_features(classifier, data, "val")
    if not 2 <= n <= len(val):
        raise ValueError(f"a floor at n = {n} needs 2 <= n <= {len(val)} held-out images")
    return frechet_distance(val[:n], reference_features(classifier, data, "test"))


def class_distance(histogram, reference) -> float:
    """Total variation distance between two class histograms (counts): ``1/2 sum_k |p_k - q_k|``, in [0, 1].

    0 when the samples spread over the classes exactly like the reference; 1 when they share no class.
    """
    p = torch.as_tensor(histogram, dtype=torch.float64)
    q = torch.as_tensor(reference, dtype=torch.float64)
    if p.shape != q.shape or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("two non-empty histograms over the same classes are needed")
    return float(0.5 * (p / p.sum() - q / q.sum()).abs().sum())


@sharing("evaluation")
def sample_quality(images01: torch.Tensor, data, classifier: Classifier | None = None,
                   min_fraction: float = 0.01, k: int = DEFAULT_K) -> dict:
    """Score ``n`` generated images (in [0, 1]) against the test set.

    Returns a dict with:
        ``fd``: Fréchet distance between the samples' features and all test images';
        ``fd_real_floor``: the same for the first ``n`` held-out real images
        (:func:`matched_floor`: the floor at this ``n``), ``floor_n``;
        ``precision``, ``recall``: improved precision and recall (k-NN radii, ``k``) of the
        samples' features against the first ``n`` test images' (equal sizes);
        ``class_histogram``: counts of samples per predicted class (list of 10 ints);
        ``class_tv``: total variation between that histogram and the classifier's histogram
        of the first ``n`` test images (0: the real class mix; a class histogram cannot see
        dropping *within* a class);
        ``classes_covered``: classes receiving at least ``min_fraction`` of the samples (a weak
        test: 1% counts a class with a third of its fair share as covered), out of ``n_classes``;
        ``n_samples``, ``classifier_accuracy`` (on the test set).

    ``classifier`` defaults to :func:`train_classifier` ``(data)`` (cached). ``n`` must not
    exceed the held-out and test images (10 000 each).
    """
    images01 = check_unit_images(images01, "samples")
    classifier = classifier if classifier is not None else train_classifier(data)
    n = len(images01)
    test = reference_features(classifier, data)
    if n > min(len(test), len(data.val)):
        raise ValueError(f"{n} samples: the floor and precision/recall need as many held-out and test images, "
                         f"but there are {len(data.val)} and {len(test)}; score at most that many samples")
    feats, predictions = classifier.features_and_predictions(images01)  # one pass for both
    counts = torch.bincount(predictions, minlength=N_CLASSES)
    real_counts = torch.bincount(reference_predictions(classifier, data)[:n], minlength=N_CLASSES)
    pr = precision_recall(test[:n], feats, k=k)
    return {
        "fd": frechet_distance(feats, test),
        "fd_real_floor": matched_floor(data, classifier, n),
        "floor_n": n,
        "precision": pr["precision"],
        "recall": pr["recall"],
        "k": k,
        "class_histogram": counts.tolist(),
        "class_tv": class_distance(counts, real_counts),
        "classes_covered": int((counts >= min_fraction * n).sum()),
        "n_classes": N_CLASSES,
        "n_samples": n,
        "classifier_accuracy": classifier.test_accuracy,
    }


def isolated_pixels(images01: torch.Tensor, threshold: float = 0.5, chunk: int = 1000) -> float:
    """Speckle: bright pixels per image with no bright neighbour -- above ``threshold`` while all 8 neighbours
    are below it (outside the image counts as dark). ``images01``: (N, 784) or (N, 28, 28) in [0, 1].

    Real Fashion-MNIST test images have about 0.75 per image (their bright pixels come in strokes and areas);
    salt-and-pepper noise inside a garment adds isolated ones. A number for what the eye calls speckle,
    used to compare a generator's samples with real images (``benchmarks/gan_recipes.py``, ``seeds.py``).
    """
    total, n = 0, 0
    for x in images01.reshape(-1, 784).split(chunk):
        x = x.float()
        patches = F.unfold(F.pad(x.reshape(-1, 1, 28, 28), (1, 1, 1, 1)), 3)  # (B, 9, 784); index 4: the centre
        neighbours = torch.cat([patches[:, :4], patches[:, 5:]], dim=1).amax(dim=1)
        total += int(((x > threshold) & (neighbours < threshold)).sum())
        n += len(x)
    return total / max(n, 1)


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
