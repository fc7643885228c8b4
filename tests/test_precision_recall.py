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


@pytest.mark.parametrize("nq,nr,d,budget", [(1000, 50000, 784, 16 * 2 ** 20), (1000, 50000, 128, 16 * 2 ** 20),
                                             (10000, 10000, 128, 2 ** 20), (3, 5, 784, 100), (20, 500, 6, 4096)])
def test_pair_chunks_keep_every_float64_temporary_within_the_budget(nq, nr, d, budget):
    q, r = E.pair_chunks(nq, nr, d, budget)
    assert 1 <= q <= nq and 1 <= r <= nr
    temporaries = {"reference chunk (cdist's copy)": r * (d + 2) * 8, "query chunk": q * (d + 2) * 8,
                   "distances": q * r * 8}
    row = (d + 2) * 8
    if row <= budget:  # one row always fits unless a single row is larger than the budget
        assert max(temporaries.values()) <= budget, temporaries
    else:
        assert q == r == 1
    assert E.pair_chunks(nq, nr, d, budget, max_query_rows=2)[0] <= 2


def recorded_blocks(monkeypatch):
    """Record the shape and dtype of both operands of every distance block computed."""
    import importlib

    PR = importlib.import_module("course_utils.evaluation.precision_recall")
    seen, original = [], PR._distances

    def spy(a, b):
        seen.append((tuple(a.shape), tuple(b.shape), a.dtype, b.dtype))
        return original(a, b)

    monkeypatch.setattr(PR, "_distances", spy)
    return seen


def test_nearest_neighbours_of_uint8_pixels_convert_chunks_within_a_byte_budget(monkeypatch):
    from course_utils.core.data import Split

    g = torch.Generator().manual_seed(20)
    pixels = torch.randint(0, 256, (3000, 784), generator=g, dtype=torch.uint8)
    query = torch.rand(50, 784, generator=g)
    split = Split(pixels, torch.zeros(3000, dtype=torch.int64), divisor=255.0)
    expected = torch.cdist(query.double(), split.images.double())  # the whole-set float64 reference
    budget = 2 ** 20
    seen = recorded_blocks(monkeypatch)
    dist, idx = E.nearest_neighbours(query, split, n=4, chunk_bytes=budget)
    assert len(seen) > 1 and all(a == b == torch.float64 for _, _, a, b in seen)  # converted per chunk
    assert all(rows * (784 + 2) * 8 <= budget for _, (rows, _), _, _ in seen)  # no whole-set copy
    assert all(q * r * 8 <= budget for (q, _), (r, _), _, _ in seen)
    np.testing.assert_array_equal(idx.numpy(), np.argsort(expected.numpy(), axis=1, kind="stable")[:, :4])
    np.testing.assert_allclose(dist.numpy(), np.sort(expected.numpy(), axis=1)[:, :4], rtol=1e-12)
    # the same answer from the float32 images and from a raw uint8 tensor (in 0..255 units)
    d32, i32 = E.nearest_neighbours(query, split.images, n=4)
    assert torch.equal(i32, idx) and torch.allclose(d32, dist, rtol=1e-12, atol=0)
    d8, i8 = E.nearest_neighbours(query * 255, pixels, n=4, chunk_bytes=budget)
    assert torch.equal(i8, idx) and torch.allclose(d8 / 255, dist, rtol=1e-6)  # float32 round-off of x/255


def test_chunking_by_bytes_changes_no_result():
    real, fake = gaussian(700, d=16, seed=21), gaussian(650, d=16, seed=22, shift=0.3)
    whole = E.precision_recall(real, fake, chunk_bytes=2 ** 40)  # one block
    for budget in (2 ** 12, 2 ** 16):
        assert E.precision_recall(real, fake, chunk_bytes=budget) == whole
        np.testing.assert_allclose(E.knn_radii(real, 3, chunk_bytes=budget).numpy(), brute_radii(real, 3),
                                   rtol=1e-9)
    ref, query = gaussian(900, d=6, seed=23), gaussian(40, d=6, seed=24)
    a = E.nearest_neighbours(query, ref, n=5, chunk_bytes=2 ** 40)
    b = E.nearest_neighbours(query, ref, n=5, chunk_bytes=512, chunk=3)
    assert torch.equal(a[1], b[1]) and torch.allclose(a[0], b[0], rtol=1e-12, atol=0)
    assert E.knn_radii(real.float(), 3).dtype == torch.float64  # float32 input, float64 distances


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


def test_classifier_evaluates_a_split_in_bounded_batches_with_the_same_numbers(fashion, classifier):
    bs = classifier.eval_batch_size()
    from course_utils.evaluation.classifier import EVAL_BYTES

    assert bs * 4 * classifier.config.channels[0] * 28 * 28 <= EVAL_BYTES  # the first activation
    assert classifier.eval_batch_size(1) == 1
    split = fashion.test.subset(700)
    feats = classifier.features(split)  # stored uint8 pixels, converted a batch at a time
    assert feats.dtype == torch.float64 and feats.shape == (700, classifier.config.hidden)
    assert torch.equal(feats, classifier.features(split.images))
    torch.testing.assert_close(feats, classifier.features(split.images, batch_size=1000), rtol=1e-5, atol=1e-5)
    assert torch.equal(classifier.predict(split), classifier.predict(split.images, batch_size=1000))
    assert classifier.features(split.images[:0]).shape == (0, classifier.config.hidden)


def test_training_neighbours_find_training_images(fashion, classifier):
    picks = [3, 40, 999]
    nb = E.training_neighbours(fashion.train.images[picks], fashion, classifier)
    assert nb["pixel"][1][:, 0].tolist() == picks and (nb["pixel"][0][:, 0] < 1e-4).all()
    assert nb["feature"][1][:, 0].tolist() == picks
    held_out = E.training_neighbours(fashion.test.images[:20], fashion, classifier)
    assert (held_out["pixel"][0][:, 0] > 0.5).all()  # no test image is a copy of a training image
    assert math.isfinite(float(held_out["feature"][0].sum()))
