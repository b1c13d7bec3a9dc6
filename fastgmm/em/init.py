"""Initial parameters, drawn from ``random_state`` exactly as scikit-learn draws them.

scikit-learn turns each ``init_params`` method into an n x k responsibility
matrix and runs one M-step on it. We make the same draws in the same order
(the k-means methods on fastgmm's compiled k-means, `em.kmeans`, which follows
scikit-learn's ``KMeans`` and ``kmeans_plusplus`` draw by draw, on the fit's
backend; scikit-learn's own when no backend is given), but never hold the n x k
matrix: hard assignments stay a label vector, and the uniform draws of
'random' are made again chunk by chunk from a copy of the generator state.
The statistics go through the same M-step as EM itself.

Rows with missing entries (``fill`` given) are initialized as the rows
completed with ``fill`` (each feature's observed mean), without making that
completed copy: the compiled passes read X in place and take a NaN entry as
its fill value; other paths fill chunk by chunk (or, without the compiled
extension, a copy for scikit-learn's KMeans).
"""

import threading

import numpy as np

from .._constants import BLOCK_ROWS
from . import kmeans as _kmeans
from .covariance import SufficientStats, m_step

_CHUNK_ROWS = BLOCK_ROWS


def initial_parameters(X, w, n_components, covariance_type, init_params,
                       random_state, reg_covar, fill=None, backend=None):
    """(weights, means, covariances) in float64 from ``init_params``.

    ``w`` holds the sample weights, or is None when every sample weighs 1.
    Rows of weight 0 take no part: the result is that of the other rows.
    ``fill``: X's NaN entries are missing, each counting as its feature's
    value in ``fill``. ``backend``: the `kernels.Backend` whose compiled
    k-means and labelled passes run (the fit's); None: scikit-learn's KMeans
    and NumPy. `initial_labels`, then `parameters_from_labels`.
    """
    X, w, labels = initial_labels(X, w, n_components, init_params, random_state,
                                  fill, backend)
    return parameters_from_labels(X, w, labels, n_components, covariance_type,
                                  random_state, reg_covar, fill, backend)


def initial_labels(X, w, n_components, init_params, random_state, fill=None,
                   backend=None):
    """(X, w, labels): the rows that take part (weight > 0), their weights,
    and each one's component under ``init_params`` (-1: none, for the draws
    from data); labels None for 'random', whose responsibilities
    `parameters_from_labels` draws. What a search's candidates of one
    n_components share, whatever their covariance structure
    (`SharedLabels`)."""
    if w is not None and not np.all(w > 0):
        rows = np.flatnonzero(w > 0)
        X, w = X[rows], w[rows]
    n_samples = X.shape[0]
    compiled = backend is not None
    if init_params == "kmeans" and compiled:
        labels = _kmeans.kmeans(X, w, n_components, random_state, fill=fill,
                                backend=backend).labels
    elif init_params == "kmeans":
        from sklearn.cluster import KMeans

        labels = (
            KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
            .fit(_filled(X, fill), sample_weight=w)
            .labels_
        )
    elif init_params == "k-means++":
        if compiled:
            indices = _kmeans.plusplus_indices(X, w, n_components, random_state,
                                               fill=fill, backend=backend)
        else:
            from sklearn.cluster import kmeans_plusplus

            _, indices = kmeans_plusplus(
                _filled(X, fill), n_components, sample_weight=w,
                random_state=random_state
            )
        labels = _labels_from_indices(indices, n_samples)
    elif init_params == "random_from_data":
        p = None if w is None else w / w.sum()
        indices = random_state.choice(n_samples, size=n_components, replace=False, p=p)
        labels = _labels_from_indices(indices, n_samples)
    else:  # "random"
        labels = None
    return X, w, labels


def parameters_from_labels(X, w, labels, n_components, covariance_type, random_state,
                           reg_covar, fill=None, backend=None):
    """(weights, means, covariances) of one M-step on `initial_labels`'
    hard assignments (labels None: on uniform random responsibilities drawn
    from ``random_state``, scikit-learn's 'random')."""
    if labels is None:
        return _from_random_resp(X, w, n_components, covariance_type, random_state,
                                 reg_covar, fill)
    return _from_labels(X, w, labels, n_components, covariance_type, reg_covar, fill,
                        backend)


class SharedLabels:
    """`initial_labels` shared by fits that would compute the same ones: a
    search's candidates of one n_components, whatever their covariance
    structure or family, on the same rows (`GaussianMixtureSearch`).

    An entry is keyed by what the labels depend on besides the rows: the
    caller's key (n_components, init_params, ...) and the state of the
    random generator before the draw; it keeps the labels and the state
    after it, which a fit that finds the entry takes on, so that every fit
    draws as if alone (the same labels and the same later draws: results
    equal to the candidate fitted alone, bit for bit). Fits in several
    threads: the first to ask computes, the others wait for it.
    """

    def __init__(self, n_samples, n_features):
        self.shape = (int(n_samples), int(n_features))
        self._lock = threading.Lock()
        self._entries = {}

    def get(self, key, random_state, draw):
        """``draw()``'s value for ``key`` and ``random_state``'s state (a
        `numpy.random.RandomState`), computed once; ``random_state`` ends
        where ``draw`` leaves it."""
        name, keys, pos, has_gauss, cached = random_state.get_state()
        full = (key, name, keys.tobytes(), pos, has_gauss, cached)
        with self._lock:
            entry = self._entries.get(full)
            owner = entry is None
            if owner:
                entry = self._entries[full] = _Entry()
        if owner:
            try:
                entry.value = draw()
                entry.after = random_state.get_state()
            finally:
                entry.done.set()
            return entry.value
        entry.done.wait()
        if entry.after is None:  # the first draw failed: fail alike
            return draw()
        random_state.set_state(entry.after)
        return entry.value


class _Entry:
    def __init__(self):
        self.done = threading.Event()
        self.value = self.after = None


def filled(X, means):
    """A copy of X with each NaN replaced by its feature's entry of ``means``."""
    out = np.array(X)
    mask = np.isnan(out)
    out[mask] = np.take(means, np.nonzero(mask)[1])
    return out


def _filled(X, fill):
    """X, or (``fill`` given) a copy with each NaN replaced by its
    feature's fill value."""
    return X if fill is None else filled(X, fill)


def _labels_from_indices(indices, n_samples):
    labels = np.full(n_samples, -1, dtype=np.intp)
    labels[indices] = np.arange(len(indices))
    return labels


def _eps(X):
    return np.finfo(X.dtype).eps


def _weights(w, rows_or_slice, count):
    """The weights of some rows (ones without sample weights)."""
    return np.ones(count) if w is None else w[rows_or_slice]


def _total_weight(w, n_samples):
    return float(n_samples if w is None else w.sum())


def _from_labels(X, w, labels, n_components, covariance_type, reg_covar, fill=None,
                 backend=None):
    """One M-step on hard assignments (label -1: the row belongs to none): on
    ``backend``'s compiled passes, or (None) in NumPy."""
    if backend is not None:
        return _from_labels_compiled(X, w, labels, n_components, covariance_type,
                                     reg_covar, fill, backend)
    n_features = X.shape[1]
    stats = SufficientStats.zeros(n_components, n_features, covariance_type)
    centers = np.zeros((n_components, n_features))
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(n_components + 1))
    for k in range(n_components):
        rows = order[starts[k] : starts[k + 1]]
        if rows.size == 0:
            continue  # empty: no statistics, the mean stays at 0 as in sklearn
        xk = _filled(X[rows], fill).astype(np.float64)
        wk = _weights(w, rows, rows.size)
        nk = wk.sum()
        if nk == 0.0:
            continue
        centers[k] = wk @ xk / nk
        diff = xk - centers[k]
        stats.nk[k] = nk
        stats.s1[k] = wk @ diff
        _add_scatter(stats, k, diff, wk, covariance_type)
    return m_step(stats, centers, reg_covar, covariance_type, _eps(X),
                  _total_weight(w, X.shape[0]))


def _from_labels_compiled(X, w, labels, n_components, covariance_type, reg_covar,
                          fill=None, backend=None):
    """`_from_labels` in two compiled passes over X (the labels' means, then
    the statistics around them), in fixed partitions reduced in order, on
    ``backend`` (None: `kernels.get_backend()`)."""
    from ..kernels import _common

    rows = _kmeans._Rows(X, w, np.zeros(X.shape[1]),
                         layout=(n_components, covariance_type), backend=backend)
    k, d = n_components, rows.d
    kind = _common.KIND[covariance_type]  # 'spherical' sums the 'diag' scatter
    s2_shape = {_common.FULL: (k, d, d), _common.TIED: (d, d),
                _common.DIAG: (k, d)}[kind]
    labels = np.ascontiguousarray(labels, dtype=np.intp)
    fill_values = None if fill is None else np.ascontiguousarray(fill, dtype=np.float64)
    nk = np.empty((rows.n_parts, k))
    s1 = np.empty((rows.n_parts, k * d))
    s2 = np.empty((rows.n_parts, int(np.prod(s2_shape))))

    def statistics(centers, kind):
        rows.backend.labelled_partitions(rows.X, rows.w, labels, centers.ravel(),
                                         rows.bounds, nk, s1, s2, kind, rows.n_threads,
                                         fill_values)
        return nk.sum(axis=0), s1.sum(axis=0).reshape(k, d)

    counts, sums = statistics(np.zeros((k, d)), -1)
    centers = sums / np.where(counts > 0, counts, 1.0)[:, None]
    stats = SufficientStats.zeros(k, d, covariance_type)
    stats.nk[:], stats.s1[:] = statistics(centers, kind)
    scatter = s2.sum(axis=0).reshape(s2_shape)
    stats.s2[...] = scatter.sum(axis=1) if covariance_type == "spherical" else scatter
    return m_step(stats, centers, reg_covar, covariance_type, _eps(X),
                  _total_weight(w, rows.n))


def _add_scatter(stats, k, diff, weights, covariance_type):
    """Add sum_i weights_i diff_i diff_i^T (shaped by type) to component k."""
    if covariance_type == "full":
        stats.s2[k] += (diff * weights[:, None]).T @ diff
    elif covariance_type == "tied":
        stats.s2 += (diff * weights[:, None]).T @ diff
    elif covariance_type == "diag":
        stats.s2[k] += weights @ diff**2
    else:
        stats.s2[k] += weights @ np.sum(diff**2, axis=1)


def _random_resp_chunks(random_state, n_samples, n_components, dtype):
    """Row chunks of sklearn's normalized uniform responsibilities."""
    for start in range(0, n_samples, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, n_samples)
        resp = random_state.uniform(size=(stop - start, n_components)).astype(dtype)
        resp /= resp.sum(axis=1)[:, None]
        yield start, stop, resp


def _from_random_resp(X, w, n_components, covariance_type, random_state, reg_covar,
                      fill=None):
    """One M-step on uniform random responsibilities, in two chunked passes.

    The first pass draws the responsibilities and sums counts and means; the
    second draws them again from a copy of the generator state and sums the
    scatter around those means. The generator ends where one draw of the
    whole n x k matrix would have left it.
    """
    n_samples, n_features = X.shape
    replay = np.random.RandomState()
    replay.set_state(random_state.get_state())

    nk = np.zeros(n_components)
    sums = np.zeros((n_components, n_features))
    for start, stop, resp in _random_resp_chunks(
        random_state, n_samples, n_components, X.dtype
    ):
        rw = resp * _weights(w, slice(start, stop), stop - start)[:, None]
        nk += rw.sum(axis=0)
        sums += rw.T @ _filled(X[start:stop], fill)
    centers = sums / np.where(nk > 0, nk, 1.0)[:, None]

    stats = SufficientStats.zeros(n_components, n_features, covariance_type)
    stats.nk[:] = nk
    for start, stop, resp in _random_resp_chunks(
        replay, n_samples, n_components, X.dtype
    ):
        rw = resp * _weights(w, slice(start, stop), stop - start)[:, None]
        xc = _filled(X[start:stop], fill).astype(np.float64)
        for k in range(n_components):
            diff = xc - centers[k]
            stats.s1[k] += rw[:, k] @ diff
            _add_scatter(stats, k, diff, rw[:, k], covariance_type)
    return m_step(stats, centers, reg_covar, covariance_type, _eps(X),
                  _total_weight(w, X.shape[0]))
