"""Improved precision/recall, nearest neighbours, FD against 1/n, the matched floor and sample_quality's new keys."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.spatial.distance
import torch
from conftest import load_offline_fashion

from course_utils import evaluation as E


def gaussian(n, d=8, shift=0.0, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, d, generator=g, dtype=torch.float64) + shift


# --------------------------------------------------------------------------- k-NN radii and manifolds

def brute_radii(x, k):
    """An independent computation with scipy: sort each row of the full distance matrix, skip the point itself."""
    d = scipy.spatial.distance.cdist(x.numpy(), x.numpy())
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


@pytest.mark.parametrize("k", [1, 3, 5])
def test_knn_radii_agree_with_scipy(k):
    x = gaussian(300, d=5, seed=1)
    np.testing.assert_allclose(E.knn_radii(x, k, chunk=64).numpy(), brute_radii(x, k), rtol=1e-9)


def test_manifold_fraction_agrees_with_a_loop():
    ref, query = gaussian(200, d=3, seed=2), gaussian(150, d=3, seed=3, shift=0.7)
    radii = E.knn_radii(ref, 3)
    d = scipy.spatial.distance.cdist(query.numpy(), ref.numpy())
    expected = float(np.mean([(row <= radii.numpy()).any() for row in d]))
    assert E.manifold_fraction(query, ref, radii, chunk=32) == pytest.approx(expected, abs=1e-12)


def test_precision_and_recall_tell_dropped_modes_from_bad_samples():
    two_modes = torch.cat([gaussian(1000, seed=4, shift=-3.0), gaussian(1000, seed=5, shift=3.0)])
    same = torch.cat([gaussian(1000, seed=6, shift=-3.0), gaussian(1000, seed=7, shift=3.0)])
    one_mode = gaussian(2000, seed=8, shift=3.0)  # drops a mode: realistic samples, half the data missing
    far = gaussian(2000, seed=9, shift=10.0)
    good = E.precision_recall(two_modes, same)
    dropped = E.precision_recall(two_modes, one_mode)
    bad = E.precision_recall(two_modes, far)
    assert good["precision"] > 0.6 and good["recall"] > 0.6
    assert dropped["precision"] > 0.6 and dropped["recall"] < 0.55  # at most the one mode kept
    assert bad["precision"] < 0.01 and bad["recall"] < 0.01
    assert good["n_real"] == good["n_fake"] == 2000 and good["k"] == 3


def test_precision_recall_input_errors():
    with pytest.raises(ValueError, match="N >= 2"):
        E.precision_recall(torch.zeros(1, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="k must be"):
        E.knn_radii(torch.randn(4, 2), k=4)
    with pytest.raises(ValueError, match="dimension"):
        E.manifold_fraction(torch.randn(5, 2), torch.randn(5, 3))
    with pytest.raises(ValueError, match="NaN"):
        E.knn_radii(torch.full((5, 2), float("nan")))


def test_nearest_neighbours_agree_with_scipy_and_find_copies():
    ref, query = gaussian(500, d=6, seed=10), gaussian(20, d=6, seed=11)
    dist, idx = E.nearest_neighbours(query, ref, n=3, chunk=7)
    d = scipy.spatial.distance.cdist(query.numpy(), ref.numpy())
    np.testing.assert_array_equal(idx.numpy(), np.argsort(d, axis=1)[:, :3])
    np.testing.assert_allclose(dist.numpy(), np.sort(d, axis=1)[:, :3], rtol=1e-9)
    copies = ref[[5, 17, 300]] + 1e-4
    dist, idx = E.nearest_neighbours(copies, ref)
    assert idx[:, 0].tolist() == [5, 17, 300] and (dist < 1e-3).all()
    with pytest.raises(ValueError, match="n must be"):
        E.nearest_neighbours(query, ref, n=0)


# --------------------------------------------------------------------------- FD against 1/n

def test_extrapolate_recovers_a_line_through_points():
    ns = [1000, 2000, 5000, 10000]
    fit = E.extrapolate(ns, [7.0 + 3000.0 / n for n in ns])
    assert fit["fd_inf"] == pytest.approx(7.0, abs=1e-9) and fit["slope"] == pytest.approx(3000.0, rel=1e-9)
    assert fit["max_residual"] < 1e-9
    with pytest.raises(ValueError, match="two different n"):
        E.extrapolate([100, 100], [1.0, 2.0])


def test_fd_against_n_two_samples_of_one_distribution_extrapolate_to_about_zero():
    a, b = gaussian(5000, d=16, seed=12), gaussian(5000, d=16, seed=13)
    curve = E.fd_against_n(a, b, draws=3, seed=0)
    assert curve["n"] == [1000, 1250, 1667, 2500, 5000]
    assert curve["fd_mean"][0] > curve["fd_mean"][-1] > 0  # biased upwards, less so with more samples
    assert abs(curve["fd_inf"]) < 0.2 * curve["fd_mean"][-1]  # the bias is (nearly) all of it
    assert curve["draws"] == [3, 3, 3, 3, 1] and curve["fd_sd"][-1] == 0.0


def test_fd_against_n_extrapolates_towards_the_true_distance():
    a, b = gaussian(6000, d=8, seed=14), gaussian(6000, d=8, seed=15, shift=0.5)
    true = 8 * 0.5 ** 2  # same covariance: FD = |mu_a - mu_b|^2
    curve = E.fd_against_n(a, b, ns=[1000, 2000, 3000, 6000], draws=4)
    assert abs(curve["fd_inf"] - true) < abs(curve["fd_mean"][0] - true)
    assert curve["fd_inf"] == pytest.approx(true, abs=0.1)
    with pytest.raises(ValueError, match="between 2 and"):
        E.fd_against_n(a, b, ns=[7000])


# --------------------------------------------------------------------------- on real images

TINY = E.ClassifierConfig(channels=(8, 16), hidden=32, epochs=1, train_size=5000)


@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    data = load_offline_fashion(tmp_path_factory, pixels="gray")
    data.val, data.test = data.val.subset(1500), data.test.subset(1500)
    data.train = data.train.subset(8000)  # the classifier uses 5000; neighbours are searched among 8000
    return data


@pytest.fixture(scope="module")
def classifier(fashion):
    return E.train_classifier(fashion, TINY, use_cache=False, progress=False)


def test_floor_is_matched_to_the_number_of_samples(fashion, classifier):
    small, large = E.matched_floor(fashion, classifier, 300), E.matched_floor(fashion, classifier, 1500)
    assert small > large > 0  # the estimate's bias shrinks with n
    assert large == pytest.approx(E.real_floor(fashion, classifier), rel=1e-9)  # all held-out images
    q = E.sample_quality(fashion.test.images[:300], fashion, classifier)
    assert q["fd_real_floor"] == pytest.approx(small, rel=1e-12) and q["floor_n"] == 300
    with pytest.raises(ValueError, match="held-out"):
        E.matched_floor(fashion, classifier, 1501)


def test_sample_quality_precision_recall_and_class_tv(fashion, classifier):
    n = 1000
    real = E.sample_quality(fashion.val.images[:n], fashion, classifier)
    itself = E.sample_quality(fashion.test.images[:n], fashion, classifier)
    assert itself["precision"] == itself["recall"] == 1.0 and itself["class_tv"] == pytest.approx(0.0, abs=1e-12)
    assert 0.5 < real["precision"] < 1 and 0.5 < real["recall"] < 1 and real["class_tv"] < 0.1
    trousers = fashion.test.images[fashion.test.labels == 1][:n]
    collapsed = E.sample_quality(trousers, fashion, classifier)
    assert collapsed["recall"] < 0.3 * real["recall"]  # one class of ten: most of the data is not covered
    assert collapsed["class_tv"] > 0.7
    with pytest.raises(ValueError, match="at most"):
        E.sample_quality(torch.rand(1501, 784), fashion, classifier)


def test_training_neighbours_find_training_images(fashion, classifier):
    picks = [3, 40, 999]
    nb = E.training_neighbours(fashion.train.images[picks], fashion, classifier)
    assert nb["pixel"][1][:, 0].tolist() == picks and (nb["pixel"][0][:, 0] < 1e-4).all()
    assert nb["feature"][1][:, 0].tolist() == picks
    held_out = E.training_neighbours(fashion.test.images[:20], fashion, classifier)
    assert (held_out["pixel"][0][:, 0] > 0.5).all()  # no test image is a copy of a training image
    assert math.isfinite(float(held_out["feature"][0].sum()))
