"""k-means for the 'kmeans' and 'k-means++' initializations, on compiled passes.

It follows scikit-learn's ``KMeans(n_clusters=k, n_init=1)`` (algorithm
'lloyd') and ``kmeans_plusplus`` step by step and draw by draw, so that from
the same ``random_state`` the labels are scikit-learn's:

- 'kmeans' centres the data on their mean (``X.mean(axis=0)``) and seeds
  with k-means++ on the centred rows; ``kmeans_plusplus`` does not centre;
- k-means++: the first centre is ``random_state.choice(n, p=w / w.sum())``,
  each next one the best of ``2 + int(log k)`` candidates drawn as
  ``searchsorted(cumsum(w * closest), uniform(size=trials) * potential)``
  (the one whose potential, the weighted sum of squared distances to the
  nearest centre, is least; the first of equals);
- Lloyd: labels by |c|^2 - 2 x.c (the first of equals), centres as weighted
  means (``*= 1 / weight``); an empty cluster takes the rows farthest from
  their centres (``argpartition``, as scikit-learn); stop when the labels do
  not change (then the labels are final) or when the squared centre shift
  is at most ``tol * mean(var(X, axis=0))``, then label once more; at most
  ``max_iter`` iterations.

Every compiled call is the chosen backend's (`kernels.Backend`: its k-means
calls, the same bits in both backends). The passes (``kmeans_partitions``,
``kpp_partitions``) run in fixed row partitions, reduced in order: the same
bits for any number of threads. What cannot be bit for bit scikit-learn's:
its sums over rows run in an order that depends on its threads (the centres'
last bits), and float32 data are clustered in float64 here (scikit-learn
clusters them in float32).
Either can only change a label that sits on a tie to rounding.

The rows are read in place (centred tile by tile): nothing X-sized but
per-row norms, distances and labels is allocated. Rows with missing entries
(NaN, ``nan_policy='marginalize'``) are clustered with each NaN taken as its
feature's ``fill`` value, still in place: the rows are centred on ``fill``
and a NaN entry of a centred row is 0.
"""

import functools
import warnings

import numpy as np

from .. import kernels
from .._constants import BLOCK_ROWS
from ..kernels import _common

_CHUNK_ROWS = BLOCK_ROWS


class _Rows:
    """X, its weights and partitions, the offset the passes subtract, and the
    backend whose compiled calls run them.

    ``layout``: (n_components, covariance_type) whose partial statistics the
    partitions must hold (`partition_bounds` keeps them within its budget).
    ``missing``: X may hold NaN entries, taken at the offset (0 once centred).
    ``backend``: a `kernels.Backend` (None: `kernels.get_backend()`).
    """

    def __init__(self, X, w, offset, n_threads=None, layout=(1, "diag"),
                 missing=False, backend=None):
        self.backend = backend = _backend(backend)
        self.X = np.ascontiguousarray(X)
        self.n, self.d = self.X.shape
        self.w = (np.empty(0) if w is None
                  else np.ascontiguousarray(w, dtype=np.float64))
        self.offset = np.ascontiguousarray(offset, dtype=np.float64)
        self.bounds = np.ascontiguousarray(
            _common.partition_bounds(self.n, layout[0], self.d, layout[1]),
            dtype=np.intp)
        self.n_parts = self.bounds.shape[0] - 1
        self.n_threads = max(1, min(backend.threads(n_threads), self.n_parts))
        self.missing = missing

    def centred(self, rows):
        """X[rows] - offset in float64 (what scikit-learn's centred X holds;
        a missing entry 0)."""
        out = self.X[rows].astype(np.float64) - self.offset
        if self.missing:
            out[np.isnan(out)] = 0.0
        return out

    def squared_norms(self):
        """(|x - offset|^2 per row, as scikit-learn's row_norms (einsum); the
        features' sums of squares (x - offset)^2), in one read of X."""
        out = np.empty(self.n)
        variant = numpy_variant(self.backend)
        if variant is not None and self.X.dtype in _FLOATS:
            squares = np.empty(self.d)
            self.backend.kmeans_norms(self.X, self.offset, out, squares, _CHUNK_ROWS,
                                      *variant, self.n_threads)
            return out, squares
        squares = np.zeros(self.d)
        for start in range(0, self.n, _CHUNK_ROWS):
            xc = self.centred(slice(start, start + _CHUNK_ROWS))
            out[start:start + xc.shape[0]] = np.einsum("ij,ij->i", xc, xc)
            squares += np.einsum("ij,ij->j", xc, xc)
        return out, squares

    def weight_array(self):
        return np.ones(self.n) if self.w.size == 0 else self.w

    def in_one_call(self):
        """Whether the seeding's and Lloyd's loops run in one call: with the
        NumPy path's bits (`numpy_variant`), and losing no thread
        (`kernels.Backend.one_call_loops`)."""
        return (numpy_variant(self.backend) is not None and self.X.dtype in _FLOATS
                and self.backend.one_call_loops(self.n_threads, self.n_parts))


def _backend(backend):
    """The backend of the compiled calls (None: `kernels.get_backend()`)."""
    return kernels.get_backend() if backend is None else backend


def _row_norms(a):
    return np.einsum("ij,ij->i", a, a)


_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))
# the seeding keeps its candidates' distances up to this many bytes, and up
# to X's size beyond _KEEP_ALWAYS_BYTES
_KEEP_BYTES = 512 << 20
_KEEP_ALWAYS_BYTES = 64 << 20
# Lloyd in one call up to this many centre values: np.einsum takes the shift's
# dot product in one piece (its buffer's size)
_ONE_CALL_SHIFT = 8192
# (lanes, fused): the variants of np.einsum's dot kernel (`fgk_einsum_dot`)
# NumPy's builds take: SSE/AVX2/AVX-512 lanes, multiply-adds fused or not,
# or its scalar loop
_EINSUM_VARIANTS = ((2, 0), (4, 0), (4, 1), (2, 1), (8, 0), (8, 1), (1, 0))


def numpy_variant(backend=None):
    """The variant of np.einsum's dot this NumPy computes, if ``backend``'s
    compiled norms, mean and seeding give the NumPy path's bits with it
    (compared once per process and backend, on random data of magnitudes
    2^-20..2^20); None: keep the NumPy path."""
    return _numpy_variant(_backend(backend))


@functools.cache
def _numpy_variant(backend):
    rng = np.random.default_rng(20261202)
    a = rng.standard_normal((8, 41)) * np.exp2(rng.integers(-20, 21, size=(8, 41)))
    v = a.ravel()
    for variant in _EINSUM_VARIANTS:
        out = np.empty(a.shape[0])
        same = True
        for d in range(1, a.shape[1] + 1):
            rows = np.ascontiguousarray(a[:, :d])
            backend.einsum_dots(rows, out, *variant)
            if not np.array_equal(out, _row_norms(rows)):
                same = False
                break
        if same and backend.einsum_dot(v, v, *variant) == np.einsum("i,i->", v, v):
            return variant if _same_as_numpy(backend, variant, rng) else None
    return None


def _same_as_numpy(backend, variant, rng):
    """The compiled norms, sums of squares and mean give NumPy's bits."""
    for dtype in _FLOATS:
        for d in (1, 2, 3, 8, 17):
            X = (rng.standard_normal((300, d))
                 * np.exp2(rng.integers(-8, 9, size=(300, d)))).astype(dtype)
            offset = rng.standard_normal(d) * 100
            norms, squares = np.empty(300), np.empty(d)
            backend.kmeans_norms(X, offset, norms, squares, 128, *variant, 1)
            xc = X.astype(np.float64) - offset
            expected = np.zeros(d)
            for start in range(0, 300, 128):
                part = xc[start:start + 128]
                expected += np.einsum("ij,ij->j", part, part)
            if not (np.array_equal(norms, _row_norms(xc))
                    and np.array_equal(squares, expected)):
                return False
            if d >= 2:
                mean = np.empty(d)
                backend.column_mean(X, mean)
                if not np.array_equal(mean, X.mean(axis=0, dtype=np.float64)):
                    return False
    return True


def column_mean(X, backend=None):
    """``X.mean(axis=0, dtype=np.float64)``, compiled (``backend``'s) when it
    has NumPy's bits."""
    X = np.asarray(X)
    backend = _backend(backend)
    if (X.ndim == 2 and X.shape[0] >= 1 and X.shape[1] >= 2 and X.dtype in _FLOATS
            and X.flags.c_contiguous and numpy_variant(backend) is not None):
        out = np.empty(X.shape[1])
        backend.column_mean(X, out)
        return out
    return X.mean(axis=0, dtype=np.float64)


def _packed(centres):
    """(centres, |c|^2) as the passes take them: flat float64, and NumPy's
    einsum norms (scikit-learn's row_norms)."""
    centres = np.ascontiguousarray(centres, dtype=np.float64)
    return centres.ravel(), _row_norms(centres)


def kmeans_plusplus(rows, n_clusters, random_state, x_squared_norms=None):
    """Indices of the k-means++ seeds (scikit-learn's ``_kmeans_plusplus``)."""
    n = rows.n
    xsq = rows.squared_norms()[0] if x_squared_norms is None else x_squared_norms
    trials = 2 + int(np.log(n_clusters))
    indices = np.full(n_clusters, -1, dtype=np.intp)
    indices[0] = _first_centre(random_state, rows)
    if rows.in_one_call():
        # the whole loop in one call (the draws of every round taken first,
        # as below)
        draws = random_state.uniform(size=(n_clusters - 1, trials))
        # each candidate's closest distances kept: one read of X per round,
        # up to _KEEP_BYTES and never more memory than X's own (past 64 MiB:
        # few features); beyond, a second read takes the chosen one's
        budget = min(_KEEP_BYTES, max(rows.X.nbytes, _KEEP_ALWAYS_BYTES))
        keep = np.empty((trials if trials * n * 8 <= budget else 0, n))
        rows.backend.kpp_loop(rows.X, rows.offset, np.ascontiguousarray(xsq), rows.w,
                              rows.bounds, draws, indices, np.empty(n), keep,
                              rows.n_threads)
        return indices
    closest = np.full(n, np.inf)
    pots = np.empty((rows.n_parts, trials))
    pot1 = np.empty((rows.n_parts, 1))
    picked = np.empty(trials, dtype=np.intp)
    one_part = rows.n_parts == 1

    def update(c):
        rows.backend.kpp_partitions(rows.X, rows.offset, xsq, *_packed(c), closest,
                                    rows.w, rows.bounds, pot1, True, rows.n_threads)
        return pot1[0, 0] if one_part else pot1.sum()

    current_pot = update(rows.centred(indices[:1]))
    # the draws of every centre at once: the generator gives the same numbers
    # as one uniform(size=trials) per centre (uniform on [0, 1) is
    # random_sample)
    draws = random_state.uniform(size=(n_clusters - 1, trials))
    for c in range(1, n_clusters):
        targets = draws[c - 1] * current_pot
        order = np.argsort(targets, kind="stable")
        rows.backend.kpp_pick(closest, rows.w, targets, order, picked)
        candidates = np.minimum(picked, n - 1)
        cands = rows.centred(candidates)
        rows.backend.kpp_partitions(rows.X, rows.offset, xsq, *_packed(cands), closest,
                                    rows.w, rows.bounds, pots, False, rows.n_threads)
        candidate_pots = pots[0] if one_part else pots.sum(axis=0)
        best = int(candidate_pots.argmin())
        indices[c] = candidates[best]
        # scikit-learn's potential is the candidate's own (update()'s sum of
        # the same values equals it but for rounding)
        current_pot = candidate_pots[best]
        update(cands[best:best + 1])
    return indices


_DRAW_CHUNK = 1 << 16


def _first_centre(random_state, rows):
    """``random_state.choice(n, p=w / w.sum())``, the first seed. Unweighted
    with a RandomState, the same draw without two arrays of n: its
    probabilities are all 1 / n (the sum of n ones is n), their cumulative
    sum runs from one chunk to the next in the same order (np.add.accumulate
    from the carried sum: NumPy's cumsum adds one value at a time), divided by
    its last value, searched (side 'right') for the one uniform draw. The
    sums and the division only grow along the rows, so the draw lies in the
    first chunk whose last sum, divided, exceeds it: that chunk alone is
    summed again."""
    n = rows.n
    if rows.w.size or n < 2 * _DRAW_CHUNK or type(random_state) is not np.random.RandomState:
        weights = rows.weight_array()
        return random_state.choice(n, p=weights / weights.sum())
    piece = np.full(_DRAW_CHUNK + 1, 1.0 / float(n))
    cdf = np.empty(_DRAW_CHUNK + 1)
    starts = range(0, n, _DRAW_CHUNK)
    ends = []  # each chunk's last cumulative sum
    for start in starts:
        m = min(_DRAW_CHUNK, n - start)
        piece[0] = ends[-1] if ends else 0.0
        ends.append(np.add.accumulate(piece[:m + 1], out=cdf[:m + 1])[m])
    total = ends[-1]
    u = random_state.random_sample()  # what choice draws (size None: one)
    for c, start in enumerate(starts):
        if ends[c] / total > u:
            m = min(_DRAW_CHUNK, n - start)
            piece[0] = ends[c - 1] if c else 0.0
            part = np.add.accumulate(piece[:m + 1], out=cdf[:m + 1])[1:]
            part /= total
            return start + int(part.searchsorted(u, side="right"))
    return n  # (as searchsorted: u >= every value; not for u < 1)


class KMeansResult:
    def __init__(self, labels, centers, n_iter):
        self.labels = labels
        self.centers = centers
        self.n_iter = n_iter


def kmeans(X, w, n_clusters, random_state, *, max_iter=300, tol=1e-4, n_threads=None,
           fill=None, backend=None):
    """scikit-learn's ``KMeans(n_clusters, n_init=1).fit(X, sample_weight=w)``:
    labels, centres (in X's coordinates) and n_iter. ``fill``: X's NaN
    entries count as these values (then the rows are centred on them, their
    mean when they are the features' observed means). ``backend``: the
    `kernels.Backend` whose calls run it (None: `kernels.get_backend()`)."""
    X = np.asarray(X)
    n = X.shape[0]
    if n < n_clusters:
        raise ValueError(f"n_samples={n} should be >= n_clusters={n_clusters}.")
    backend = _backend(backend)
    if fill is None:
        mean = column_mean(X, backend)
    else:
        mean = np.asarray(fill, dtype=np.float64)
    rows = _Rows(X, w, mean, n_threads, missing=fill is not None, backend=backend)
    xsq, squares = rows.squared_norms()
    # tol * the mean of the features' variances (scikit-learn's _tolerance)
    threshold = float(np.mean(squares / n)) * tol if tol else 0.0
    seeds = kmeans_plusplus(rows, n_clusters, random_state, xsq)
    centers = rows.centred(seeds)
    labels, centers, n_iter = _lloyd(rows, centers, max_iter, threshold)
    distinct = np.count_nonzero(np.bincount(labels, minlength=n_clusters))
    if distinct < n_clusters:
        from sklearn.exceptions import ConvergenceWarning

        warnings.warn(
            f"Number of distinct clusters ({distinct}) found smaller than "
            f"n_clusters ({n_clusters}). Possibly due to duplicate points in X.",
            ConvergenceWarning, stacklevel=3)
    return KMeansResult(labels, centers + mean, n_iter)


def plusplus_indices(X, w, n_clusters, random_state, n_threads=None, fill=None,
                     backend=None):
    """scikit-learn's ``kmeans_plusplus(X, n_clusters, sample_weight=w)[1]``
    (``fill``, ``backend``: as in `kmeans`)."""
    X = np.asarray(X)
    offset = np.zeros(X.shape[1]) if fill is None else np.asarray(fill, dtype=np.float64)
    rows = _Rows(X, w, offset, n_threads, missing=fill is not None, backend=backend)
    return kmeans_plusplus(rows, n_clusters, random_state)


def _lloyd(rows, centers, max_iter, tol):
    """scikit-learn's _kmeans_single_lloyd: (labels, centres, n_iter)."""
    k, d = centers.shape
    labels = np.full(rows.n, -1, dtype=np.intp)
    sums = np.empty((rows.n_parts, k * d))
    counts = np.empty((rows.n_parts, k))
    changed = np.empty(rows.n_parts, dtype=np.intp)
    strict = False
    n_iter = 0
    one_part = rows.n_parts == 1
    start, resume = 1, False
    if rows.in_one_call() and max_iter >= 1 and k * d <= _ONE_CALL_SHIFT:
        # the loop in one call while no cluster is empty
        variant = numpy_variant(rows.backend)
        centers = np.array(centers, dtype=np.float64, order="C")
        stopped, n_iter = rows.backend.lloyd_loop(
            rows.X, rows.offset, centers.reshape(-1), rows.w, rows.bounds, labels,
            sums, counts, changed, max_iter, tol, *variant, rows.n_threads)
        if stopped:
            return labels, centers, n_iter
        start, resume = n_iter, True  # that pass left a cluster empty
    for n_iter in range(start, max_iter + 1):
        if not resume:
            rows.backend.kmeans_partitions(rows.X, rows.offset, *_packed(centers),
                                           rows.w, rows.bounds, labels, sums, counts,
                                           changed, True, rows.n_threads)
        resume = False
        if one_part:  # (copies: the next pass overwrites sums and counts)
            new, weight = sums[0].reshape(k, d).copy(), counts[0].copy()
        else:
            new, weight = sums.sum(axis=0).reshape(k, d), counts.sum(axis=0)
        if weight.min() > 0:  # the common case: scikit-learn's *= 1 / weight
            new *= (1.0 / weight)[:, None]
        else:
            _relocate_empty(rows, centers, new, weight, labels)
            _average(new, weight)
        diff = (new - centers).ravel()
        # (einsum: on huge data an infinite shift, > tol as scikit-learn's,
        # without an overflow warning)
        shift = np.einsum("i,i->", diff, diff)
        centers = new
        # the first pass changes every label (from -1); sklearn compares
        # with the labels before the pass
        if n_iter > 1 and (changed[0] if one_part else changed.sum()) == 0:
            strict = True
            break
        if shift <= tol:
            break
    if not strict:
        rows.backend.kmeans_partitions(rows.X, rows.offset, *_packed(centers), rows.w,
                                       rows.bounds, labels, sums, counts, changed,
                                       False, rows.n_threads)
    return labels, centers, n_iter


def _average(centers, weight):
    """scikit-learn's _average_centers, in its order (an empty centre copies
    the heaviest one, as it stands when its turn comes)."""
    heaviest = int(np.argmax(weight))
    for j in range(centers.shape[0]):
        if weight[j] > 0:
            centers[j] *= 1.0 / weight[j]
        else:
            centers[j] = centers[heaviest]


def _relocate_empty(rows, centers_old, centers_new, weight, labels):
    """scikit-learn's _relocate_empty_clusters_dense: each empty centre takes
    one of the rows farthest from their centres."""
    empty = np.flatnonzero(weight == 0)
    if empty.size == 0:
        return
    distances = np.empty(rows.n)
    for start in range(0, rows.n, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, rows.n)
        diff = rows.centred(slice(start, stop)) - centers_old[labels[start:stop]]
        distances[start:stop] = (diff ** 2).sum(axis=1)
    far = np.argpartition(distances, -empty.size)[: -empty.size - 1 : -1]
    if np.max(distances) == 0:
        return
    weights = rows.weight_array()
    for new_id, index in zip(empty, far):
        x = rows.centred([index])[0]
        wi = weights[index]
        old_id = labels[index]
        centers_new[old_id] -= x * wi
        centers_new[new_id] = x * wi
        weight[new_id] = wi
        weight[old_id] -= wi
