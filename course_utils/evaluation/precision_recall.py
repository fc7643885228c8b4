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
k = 3, as here). Distances are Euclidean, computed in float64 in chunks whose size is set in
bytes, not rows (:data:`CHUNK_BYTES`, :func:`pair_chunks`): the inputs stay in the dtype they
are stored in (uint8 pixels, float32 images or features) and only one chunk at a time is
converted to float64, so 1 000 images against the 50 000 training images take a few
temporaries of at most 16 MiB each instead of a 314 MB float64 copy of the training set.
Nothing here knows where the features come from;
:func:`course_utils.evaluation.quality.sample_quality` feeds it the classifier's features.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from course_utils.core.data import Split

DEFAULT_K = 3  # Kynkäänniemi et al. (2019)
CHUNK_BYTES = 16 * 2 ** 20  # the most one float64 temporary of an all-pairs computation takes (16 MiB)
_F64 = 8  # bytes per float64


def pair_chunks(n_query: int, n_reference: int, dim: int, chunk_bytes: int = CHUNK_BYTES,
                max_query_rows: int | None = None) -> tuple[int, int]:
    """Rows of the query and of the reference set per chunk of an all-pairs distance computation.

    One step holds a float64 reference chunk (and ``torch.cdist``'s copy of it with two more
    columns), a float64 query chunk (likewise) and the (query rows, reference rows) float64
    distances; each of them takes at most ``chunk_bytes`` (unless a single row is larger:
    at least one row is always taken). ``max_query_rows`` caps the query rows further.
    """
    if chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be positive, got {chunk_bytes}")
    row = _F64 * (dim + 2)
    ref_rows = max(1, min(n_reference, chunk_bytes // row))
    query_rows = max(1, min(n_query, chunk_bytes // (_F64 * max(ref_rows, dim + 2))))
    if max_query_rows is not None:
        query_rows = max(1, min(query_rows, int(max_query_rows)))
    return query_rows, ref_rows


def _row_reader(x) -> tuple[Callable[[int, int], torch.Tensor], int, int]:
    """``(rows, N, d)``: ``rows(i, j)`` is rows i..j of ``x`` as float64 (N, d), converted only then.

    ``x`` stays in its stored dtype: a tensor (uint8, float32, ...; images are flattened) or a
    :class:`~course_utils.core.data.Split`, whose stored pixels are converted per chunk to the
    float32 values ``Split.images`` holds and then to float64.
    """
    if isinstance(x, Split):
        n, d = len(x), x.dim
        return (lambda i, j: x.rows(i, j).to(torch.float64)), n, d
    x = torch.as_tensor(x).detach()
    if x.device.type != "cpu":
        x = x.cpu()
    if x.ndim == 0:
        raise ValueError("points must be an array of shape (N, d)")
    x = x.reshape(len(x), -1)
    return (lambda i, j: x[i:j].to(torch.float64)), len(x), x.shape[1]


def _as_points(x, name: str) -> torch.Tensor:
    """``x`` as a (N, d) CPU tensor in its stored dtype (no float64 copy), checked: N >= 2, finite."""
    x = torch.as_tensor(x).detach()
    if x.device.type != "cpu":
        x = x.cpu()
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"{name} must have shape (N, d) with N >= 2, got {tuple(x.shape)}")
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or inf")
    return x


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances (len(a), len(b)) in float64 by the matrix-product form |a|^2 + |b|^2 - 2ab.

    In float64 its round-off (about 1e-13 for features of size ~10) is far below any radius
    that matters, and it is twice as fast as the direct form on a CPU.
    """
    return torch.cdist(a, b, compute_mode="use_mm_for_euclid_dist")


def _blocks(query, reference, chunk_bytes: int = CHUNK_BYTES,
            max_query_rows: int | None = None) -> Iterator[tuple[int, int, torch.Tensor]]:
    """``(q0, r0, distances)`` blocks covering the (len(query), len(reference)) distance matrix.

    Reference chunks outside, query chunks inside: each reference chunk is converted to
    float64 once; the query too when it fits one chunk. Block sizes: :func:`pair_chunks`.
    """
    q_rows, nq, dq = _row_reader(query)
    r_rows, nr, dr = _row_reader(reference)
    if dq != dr:
        raise ValueError(f"query and reference differ in dimension: {dq} vs {dr}")
    qc, rc = pair_chunks(nq, nr, dq, chunk_bytes, max_query_rows)
    whole_query = q_rows(0, nq) if qc >= nq else None
    for r0 in range(0, nr, rc):
        r = r_rows(r0, min(r0 + rc, nr))
        for q0 in range(0, nq, qc):
            q = whole_query if whole_query is not None else q_rows(q0, min(q0 + qc, nq))
            yield q0, r0, _distances(q, r)
            del q
        del r


def _smallest(query, reference, n: int, chunk_bytes: int = CHUNK_BYTES, max_query_rows: int | None = None,
              exclude_self: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``n`` smallest distances of each query row to the reference and their indices, (Q, n) each.

    Merged over reference chunks (a running top-``n``); ``exclude_self`` sets the distance of
    query row i to reference row i to infinity (the same set on both sides).
    """
    nq = len(query)
    best_v = torch.full((nq, n), float("inf"), dtype=torch.float64)
    best_i = torch.zeros((nq, n), dtype=torch.int64)
    for q0, r0, d in _blocks(query, reference, chunk_bytes, max_query_rows):
        rows = slice(q0, q0 + len(d))
        lo, hi = max(q0, r0), min(q0 + d.shape[0], r0 + d.shape[1])
        if exclude_self and lo < hi:  # where global query index == global reference index
            a = torch.arange(lo, hi)
            d[a - q0, a - r0] = float("inf")
        v, j = d.topk(min(n, d.shape[1]), dim=1, largest=False)
        cand_v, cand_i = torch.cat([best_v[rows], v], 1), torch.cat([best_i[rows], j + r0], 1)
        v, pick = cand_v.topk(n, dim=1, largest=False)
        best_v[rows], best_i[rows] = v, cand_i.gather(1, pick)
        del d
    return best_v, best_i


def knn_radii(points, k: int = DEFAULT_K, chunk: int | None = None, chunk_bytes: int = CHUNK_BYTES) -> torch.Tensor:
    """Distance (N,) from each point to its k-th nearest *other* point of the same set (float64).

    ``chunk`` caps the query rows per step; memory per step is bounded by ``chunk_bytes``
    (:func:`pair_chunks`).
    """
    x = _as_points(points, "points")
    if not 1 <= k < len(x):
        raise ValueError(f"k must be between 1 and N - 1 = {len(x) - 1}, got {k}")
    return _smallest(x, x, k, chunk_bytes, chunk, exclude_self=True)[0][:, -1].contiguous()


def manifold_fraction(query, reference, radii: torch.Tensor | None = None, k: int = DEFAULT_K,
                      chunk: int | None = None, chunk_bytes: int = CHUNK_BYTES) -> float:
    """Fraction of ``query`` points within ``radii[i]`` of at least one ``reference[i]``.

    ``radii`` default to :func:`knn_radii` ``(reference, k)``: the union of those balls is the
    k-NN estimate of the reference set's support ("manifold").
    """
    q, r = _as_points(query, "query"), _as_points(reference, "reference")
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"query and reference differ in dimension: {q.shape[1]} vs {r.shape[1]}")
    radii = knn_radii(r, k, chunk, chunk_bytes) if radii is None else torch.as_tensor(radii, dtype=torch.float64)
    if radii.shape != (len(r),):
        raise ValueError(f"radii must have shape ({len(r)},), got {tuple(radii.shape)}")
    inside = torch.zeros(len(q), dtype=torch.bool)
    for q0, r0, d in _blocks(q, r, chunk_bytes, chunk):
        inside[q0:q0 + len(d)] |= (d <= radii[r0:r0 + d.shape[1]]).any(dim=1)
        del d
    return int(inside.sum()) / len(q)


def precision_recall(real, fake, k: int = DEFAULT_K, chunk: int | None = None,
                     chunk_bytes: int = CHUNK_BYTES) -> dict:
    """Improved precision and recall (Kynkäänniemi et al., 2019) of ``fake`` against ``real`` features.

    Returns ``{"precision", "recall", "k", "n_real", "n_fake"}``; both numbers are in [0, 1],
    higher is better. Use sets of the same size (see the module's docstring).
    """
    real, fake = _as_points(real, "real features"), _as_points(fake, "fake features")
    return {
        "precision": manifold_fraction(fake, real, knn_radii(real, k, chunk, chunk_bytes), chunk=chunk,
                                       chunk_bytes=chunk_bytes),
        "recall": manifold_fraction(real, fake, knn_radii(fake, k, chunk, chunk_bytes), chunk=chunk,
                                    chunk_bytes=chunk_bytes),
        "k": k, "n_real": len(real), "n_fake": len(fake),
    }


def nearest_neighbours(query, reference, n: int = 1, chunk: int | None = None,
                       chunk_bytes: int = CHUNK_BYTES) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``n`` nearest ``reference`` points of each ``query`` point: ``(distances, indices)``, each (Q, n).

    Euclidean distance in whatever space the inputs live in (pixels, or classifier features),
    closest first. A generator that memorised its training set would have samples whose
    nearest training image is much closer than a held-out real image's nearest training image.

    ``reference`` may be a tensor in any dtype (it is never copied whole: chunks of it are
    converted to float64 one at a time) or a :class:`~course_utils.core.data.Split`, whose
    uint8 pixels are converted per chunk to the values of ``Split.images``. ``chunk`` caps the
    query rows per step; memory per step is bounded by ``chunk_bytes`` (:func:`pair_chunks`).
    Equal distances (duplicate reference points) may come in either order.
    """
    _, nq, _ = _row_reader(query)
    _, nr, _ = _row_reader(reference)
    if not 1 <= n <= nr:
        raise ValueError(f"n must be between 1 and len(reference) = {nr}, got {n}")
    if nq == 0:
        return torch.empty(0, n, dtype=torch.float64), torch.empty(0, n, dtype=torch.int64)
    return _smallest(query, reference, n, chunk_bytes, chunk)
