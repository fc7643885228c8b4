"""Improved precision and recall of samples in a feature space (Kynkäänniemi et al., 2019), and nearest neighbours.

What lives here:

- :func:`knn_radii`: for each point of a set, the distance to its k-th nearest
  neighbour within the same set (the point itself not counted);
- :func:`manifold_fraction`: the fraction of query points that fall inside at least
  one ball ``B(r_i, radius_i)`` around the points of a reference set -- the
  k-NN estimate of "lies on the reference set's manifold";
- :func:`precision_recall`: **precision** = fraction of generated samples inside the
  real images' manifold (are the samples realistic?), **recall** = fraction of real
  images inside the samples' manifold (is all of the data covered?). A model that
  drops modes keeps its precision and loses recall; a blurry model loses precision.
- :func:`nearest_neighbours`: the closest points of a reference set (e.g. the training
  images, in pixel or feature space) to each query point, for a memorisation check.

The two sets should have the same size: the k-NN radii grow as a set gets smaller,
so recall of a small sample set is inflated (Kynkäänniemi et al. use equal sizes and
k = 3, as here). Distances are Euclidean, computed in float64 in chunks (memory
grows with ``chunk * len(reference)``: 256 rows of 10 000 are 20 MB). Nothing here knows where the features come from;
:func:`course_utils.evaluation.quality.sample_quality` feeds it the classifier's features.
"""
from __future__ import annotations

import torch

DEFAULT_K = 3  # Kynkäänniemi et al. (2019)


def _as_points(x, name: str) -> torch.Tensor:
    x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"{name} must have shape (N, d) with N >= 2, got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or inf")
    return x


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances (len(a), len(b)) in float64 by the matrix-product form |a|^2 + |b|^2 - 2ab.

    In float64 its round-off (about 1e-13 for features of size ~10) is far below any radius
    that matters, and it is twice as fast as the direct form on a CPU.
    """
    return torch.cdist(a, b, compute_mode="use_mm_for_euclid_dist")


def knn_radii(points, k: int = DEFAULT_K, chunk: int = 256) -> torch.Tensor:
    """Distance (N,) from each point to its k-th nearest *other* point of the same set (float64)."""
    x = _as_points(points, "points")
    if not 1 <= k < len(x):
        raise ValueError(f"k must be between 1 and N - 1 = {len(x) - 1}, got {k}")
    out = torch.empty(len(x), dtype=torch.float64)
    for i in range(0, len(x), chunk):
        d = _distances(x[i:i + chunk], x)
        rows = torch.arange(len(d))
        d[rows, rows + i] = float("inf")  # the point itself is not its own neighbour
        out[i:i + chunk] = d.topk(k, dim=1, largest=False).values[:, -1]
    return out


def manifold_fraction(query, reference, radii: torch.Tensor | None = None, k: int = DEFAULT_K,
                      chunk: int = 256) -> float:
    """Fraction of ``query`` points within ``radii[i]`` of at least one ``reference[i]``.

    ``radii`` default to :func:`knn_radii` ``(reference, k)``: the union of those balls is the
    k-NN estimate of the reference set's support ("manifold").
    """
    q, r = _as_points(query, "query"), _as_points(reference, "reference")
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"query and reference differ in dimension: {q.shape[1]} vs {r.shape[1]}")
    radii = knn_radii(r, k, chunk) if radii is None else torch.as_tensor(radii, dtype=torch.float64)
    if radii.shape != (len(r),):
        raise ValueError(f"radii must have shape ({len(r)},), got {tuple(radii.shape)}")
    inside = 0
    for i in range(0, len(q), chunk):
        inside += int((_distances(q[i:i + chunk], r) <= radii).any(dim=1).sum())
    return inside / len(q)


def precision_recall(real, fake, k: int = DEFAULT_K, chunk: int = 256) -> dict:
    """Improved precision and recall (Kynkäänniemi et al., 2019) of ``fake`` against ``real`` features.

    Returns ``{"precision", "recall", "k", "n_real", "n_fake"}``; both numbers are in [0, 1],
    higher is better. Use sets of the same size (see the module's docstring).
    """
    real, fake = _as_points(real, "real features"), _as_points(fake, "fake features")
    return {
        "precision": manifold_fraction(fake, real, knn_radii(real, k, chunk), chunk=chunk),
        "recall": manifold_fraction(real, fake, knn_radii(fake, k, chunk), chunk=chunk),
        "k": k, "n_real": len(real), "n_fake": len(fake),
    }


def nearest_neighbours(query, reference, n: int = 1, chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``n`` nearest ``reference`` points of each ``query`` point: ``(distances, indices)``, each (Q, n).

    Euclidean distance in whatever space the inputs live in (pixels, or classifier features),
    closest first. A generator that memorised its training set would have samples whose
    nearest training image is much closer than a held-out real image's nearest training image.
    """
    q = torch.as_tensor(query).detach().to("cpu", torch.float64)
    r = torch.as_tensor(reference).detach().to("cpu", torch.float64)
    q, r = q.reshape(len(q), -1), r.reshape(len(r), -1)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"query and reference differ in dimension: {q.shape[1]} vs {r.shape[1]}")
    if not 1 <= n <= len(r):
        raise ValueError(f"n must be between 1 and len(reference) = {len(r)}, got {n}")
    dists, idx = [], []
    for i in range(0, len(q), chunk):
        d = _distances(q[i:i + chunk], r)
        v, j = d.topk(n, dim=1, largest=False)
        dists.append(v)
        idx.append(j)
    return torch.cat(dists), torch.cat(idx)
