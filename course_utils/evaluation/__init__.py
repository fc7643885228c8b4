"""Judging samples of any image model: the classifier, the Fréchet distance, coverage, VAE vs GAN (Q3.1).

What lives here:

- :mod:`~course_utils.evaluation.classifier` the small CNN whose features and labels score samples (cached)
- :mod:`~course_utils.evaluation.frechet`    the Fréchet distance between two feature sets, in float64
- :mod:`~course_utils.evaluation.precision_recall` improved precision/recall (k-NN radii), nearest neighbours,
  all-pairs distances in chunks of at most :data:`CHUNK_BYTES`
- :mod:`~course_utils.evaluation.sample_size` FD against 1/n and its extrapolation FD_inf (Chong & Forsyth 2020)
- :mod:`~course_utils.evaluation.quality`    :func:`sample_quality`: FD, floor at the same n, precision/recall, classes;
  :func:`isolated_pixels` (speckle)
- :mod:`~course_utils.evaluation.comparison` notebook 08's comparison of the VAE with the GAN and its figures

What does not: training the generative models (:mod:`course_utils.vae`,
:mod:`course_utils.gan`) or deciding which runs the course trains
(:mod:`course_utils.course.runs`). Every function here takes images in [0, 1].
"""
from __future__ import annotations

from course_utils.evaluation.classifier import (
    N_CLASSES,
    Classifier,
    ClassifierConfig,
    check_unit_images,
    train_classifier,
)
from course_utils.evaluation.comparison import (
    EVAL_SEED,
    categorical_latent_gradients,
    coverage_figure,
    gradient_through_rounding,
    model_samples,
    near_copies,
    neighbours_figure,
    per_image_elbo,
    score_models,
    scores_figure,
    scores_table,
    side_by_side_figure,
    training_neighbours,
)
from course_utils.evaluation.frechet import frechet_distance, frechet_distance_gaussians, gaussian_stats
from course_utils.evaluation.precision_recall import (
    CHUNK_BYTES,
    knn_radii,
    manifold_fraction,
    nearest_neighbours,
    pair_chunks,
    precision_recall,
)
from course_utils.evaluation.quality import (
    class_distance,
    class_histogram,
    corrupt,
    isolated_pixels,
    matched_floor,
    real_floor,
    reference_features,
    sample_quality,
)
from course_utils.evaluation.sample_size import extrapolate, fd_against_n

__all__ = [
    "CHUNK_BYTES",
    "Classifier",
    "ClassifierConfig",
    "EVAL_SEED",
    "N_CLASSES",
    "categorical_latent_gradients",
    "check_unit_images",
    "class_distance",
    "class_histogram",
    "corrupt",
    "coverage_figure",
    "extrapolate",
    "fd_against_n",
    "frechet_distance",
    "frechet_distance_gaussians",
    "gaussian_stats",
    "gradient_through_rounding",
    "isolated_pixels",
    "knn_radii",
    "manifold_fraction",
    "matched_floor",
    "model_samples",
    "near_copies",
    "nearest_neighbours",
    "neighbours_figure",
    "pair_chunks",
    "per_image_elbo",
    "precision_recall",
    "real_floor",
    "reference_features",
    "sample_quality",
    "score_models",
    "scores_figure",
    "scores_table",
    "side_by_side_figure",
    "train_classifier",
    "training_neighbours",
]
