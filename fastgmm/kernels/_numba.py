"""Numba backend: the fused EM pass and the log-probability matrix.

The public functions here (`accumulate`, `log_prob`) prepare arguments and
call `@njit` kernels; the kernels compute. One kernel per covariance type,
parallel over the partitions of `_common.partition_bounds`, each partition
worked row by row into its own slot of partial statistics, which
`_common.reduce_partials` sums in partition order.

X is read in its own dtype (float32 stays float32 in memory); arithmetic and
statistics are float64.
"""

import math

import numba
import numpy as np
from numba import njit, prange

from . import _common

# fastmath is set here and nowhere else. Reassociation lets reductions
# vectorize; results stay deterministic for a given machine and partitioning.
# No 'nnan'/'ninf': -inf log-probabilities must compare correctly.
_FASTMATH = {"reassoc", "contract", "nsz"}
_JIT = dict(cache=True, nogil=True, fastmath=_FASTMATH)

_LOG_2PI = math.log(2.0 * math.pi)


@njit(**_JIT)
def _normalize(logp, resp):
    """Responsibilities of one row into resp; return its log-sum-exp."""
    n_components = logp.shape[0]
    top = logp[0]
    for k in range(1, n_components):
        if logp[k] > top:
            top = logp[k]
    if top == -np.inf:
        # every component has zero density here: no responsibility to share
        for k in range(n_components):
            resp[k] = 0.0
        return -np.inf
    total = 0.0
    for k in range(n_components):
        e = math.exp(logp[k] - top)
        resp[k] = e
        total += e
    inv = 1.0 / total
    for k in range(n_components):
        resp[k] *= inv
    return top + math.log(total)


# --- per-row log-probabilities (fill diff[k] = x - m_k and logp[k]) -------------


@njit(**_JIT)
def _row_full(X, i, c, means, U, diff, logp):
    n_components, n_features = means.shape
    for k in range(n_components):
        for j in range(n_features):
            diff[k, j] = X[i, j] - means[k, j]
        maha = 0.0
        for j in range(n_features):
            y = 0.0
            for l in range(j + 1):
                y += diff[k, l] * U[k, l, j]
            maha += y * y
        logp[k] = c[k] - 0.5 * maha


@njit(**_JIT)
def _row_diag(X, i, c, means, U, diff, logp):
    n_components, n_features = means.shape
    for k in range(n_components):
        maha = 0.0
        for j in range(n_features):
            t = X[i, j] - means[k, j]
            diff[k, j] = t
            y = t * U[k, j]
            maha += y * y
        logp[k] = c[k] - 0.5 * maha


@njit(**_JIT)
def _row_spherical(X, i, c, means, U, diff, logp):
    n_components, n_features = means.shape
    for k in range(n_components):
        sq = 0.0
        for j in range(n_features):
            t = X[i, j] - means[k, j]
            diff[k, j] = t
            sq += t * t
        logp[k] = c[k] - 0.5 * sq * U[k] * U[k]


@njit(**_JIT)
def _row_tied(X, i, c, means, U, center, shifted, shifted_u, xg, diff, logp):
    # (x - m_k) U = (x - g) U - (m_k - g) U: one triangular product per row
    n_components, n_features = means.shape
    for j in range(n_features):
        xg[j] = X[i, j] - center[j]
    for k in range(n_components):
        logp[k] = 0.0
    for j in range(n_features):
        y = 0.0
        for l in range(j + 1):
            y += xg[l] * U[l, j]
        for k in range(n_components):
            t = y - shifted_u[k, j]
            logp[k] += t * t
    for k in range(n_components):
        logp[k] = c[k] - 0.5 * logp[k]
        for j in range(n_features):
            diff[k, j] = xg[j] - shifted[k, j]


# --- the fused pass, one partition -------------------------------------------------


@njit(**_JIT)
def _block_full(X, w, c, means, U, start, stop, nk, s1, s2, diff, logp, resp):
    n_components, n_features = means.shape
    ll = 0.0
    for i in range(start, stop):
        wi = w[i]
        if wi == 0.0:
            continue
        _row_full(X, i, c, means, U, diff, logp)
        ll += wi * _normalize(logp, resp)
        for k in range(n_components):
            r = wi * resp[k]
            nk[k] += r
            for j in range(n_features):
                rd = r * diff[k, j]
                s1[k, j] += rd
                for l in range(j, n_features):
                    s2[k, j, l] += rd * diff[k, l]
    return ll


@njit(**_JIT)
def _block_diag(X, w, c, means, U, start, stop, nk, s1, s2, diff, logp, resp):
    n_components, n_features = means.shape
    ll = 0.0
    for i in range(start, stop):
        wi = w[i]
        if wi == 0.0:
            continue
        _row_diag(X, i, c, means, U, diff, logp)
        ll += wi * _normalize(logp, resp)
        for k in range(n_components):
            r = wi * resp[k]
            nk[k] += r
            for j in range(n_features):
                rd = r * diff[k, j]
                s1[k, j] += rd
                s2[k, j] += rd * diff[k, j]
    return ll


@njit(**_JIT)
def _block_spherical(X, w, c, means, U, start, stop, nk, s1, s2, diff, logp, resp):
    n_components, n_features = means.shape
    ll = 0.0
    for i in range(start, stop):
        wi = w[i]
        if wi == 0.0:
            continue
        _row_spherical(X, i, c, means, U, diff, logp)
        ll += wi * _normalize(logp, resp)
        for k in range(n_components):
            r = wi * resp[k]
            nk[k] += r
            sq = 0.0
            for j in range(n_features):
                rd = r * diff[k, j]
                s1[k, j] += rd
                sq += rd * diff[k, j]
            s2[k] += sq
    return ll


@njit(**_JIT)
def _block_tied(
    X, w, c, means, U, center, shifted, shifted_u, start, stop,
    nk, s1, s2, cc, xg, diff, logp, resp,
):
    n_components, n_features = means.shape
    ll = 0.0
    for i in range(start, stop):
        wi = w[i]
        if wi == 0.0:
            continue
        _row_tied(X, i, c, means, U, center, shifted, shifted_u, xg, diff, logp)
        ll += wi * _normalize(logp, resp)
        # xg <- x - mbar = sum_k r_k (x - m_k)
        for j in range(n_features):
            xg[j] = 0.0
        for k in range(n_components):
            rk = resp[k]
            r = wi * rk
            nk[k] += r
            for j in range(n_features):
                s1[k, j] += r * diff[k, j]
                xg[j] += rk * diff[k, j]
            for l in range(k + 1, n_components):
                cc[k, l] += r * resp[l]
        for j in range(n_features):
            t = wi * xg[j]
            for l in range(j, n_features):
                s2[j, l] += t * xg[l]
    return ll


# --- parallel drivers over partitions ------------------------------------------------


@njit(parallel=True, **_JIT)
def _accumulate_full(X, w, c, means, U, bounds, nk, s1, s2, ll):
    n_components, n_features = means.shape
    for p in prange(bounds.shape[0] - 1):
        diff = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        resp = np.empty(n_components)
        ll[p] = _block_full(
            X, w, c, means, U, bounds[p], bounds[p + 1], nk[p], s1[p], s2[p],
            diff, logp, resp,
        )


@njit(parallel=True, **_JIT)
def _accumulate_diag(X, w, c, means, U, bounds, nk, s1, s2, ll):
    n_components, n_features = means.shape
    for p in prange(bounds.shape[0] - 1):
        diff = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        resp = np.empty(n_components)
        ll[p] = _block_diag(
            X, w, c, means, U, bounds[p], bounds[p + 1], nk[p], s1[p], s2[p],
            diff, logp, resp,
        )


@njit(parallel=True, **_JIT)
def _accumulate_spherical(X, w, c, means, U, bounds, nk, s1, s2, ll):
    n_components, n_features = means.shape
    for p in prange(bounds.shape[0] - 1):
        diff = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        resp = np.empty(n_components)
        ll[p] = _block_spherical(
            X, w, c, means, U, bounds[p], bounds[p + 1], nk[p], s1[p], s2[p],
            diff, logp, resp,
        )


@njit(parallel=True, **_JIT)
def _accumulate_tied(
    X, w, c, means, U, center, shifted, shifted_u, bounds, nk, s1, s2, cc, ll
):
    n_components, n_features = means.shape
    for p in prange(bounds.shape[0] - 1):
        xg = np.empty(n_features)
        diff = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        resp = np.empty(n_components)
        ll[p] = _block_tied(
            X, w, c, means, U, center, shifted, shifted_u, bounds[p], bounds[p + 1],
            nk[p], s1[p], s2[p], cc[p], xg, diff, logp, resp,
        )


@njit(parallel=True, **_JIT)
def _log_prob_full(X, c, means, U, bounds, out):
    n_components, n_features = means.shape
    for p in prange(bounds.shape[0] - 1):
        diff = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        for i in range(bounds[p], bounds[p + 1]):
            _row_full(X, i, c, means, U, diff, logp)
            for k in range(n_components):
                out[i, k] = logp[k]


@njit(parallel=True, **_JIT)
def _log_prob_diag(X, c, means, U, bounds, out):
    n_components, n_features = means.shape
    for p in prange(bounds.shape[0] - 1):
        diff = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        for i in range(bounds[p], bounds[p + 1]):
            _row_diag(X, i, c, means, U, diff, logp)
            for k in range(n_components):
                out[i, k] = logp[k]


@njit(parallel=True, **_JIT)
def _log_prob_spherical(X, c, means, U, bounds, out):
    n_components, n_features = means.shape
    for p in prange(bounds.shape[0] - 1):
        diff = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        for i in range(bounds[p], bounds[p + 1]):
            _row_spherical(X, i, c, means, U, diff, logp)
            for k in range(n_components):
                out[i, k] = logp[k]


@njit(parallel=True, **_JIT)
def _log_prob_tied(X, c, means, U, center, shifted, shifted_u, bounds, out):
    n_components, n_features = means.shape
    for p in prange(bounds.shape[0] - 1):
        xg = np.empty(n_features)
        diff = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        for i in range(bounds[p], bounds[p + 1]):
            _row_tied(X, i, c, means, U, center, shifted, shifted_u, xg, diff, logp)
            for k in range(n_components):
                out[i, k] = logp[k]


_ACCUMULATE = {
    "full": _accumulate_full,
    "diag": _accumulate_diag,
    "spherical": _accumulate_spherical,
}
_LOG_PROB = {
    "full": _log_prob_full,
    "diag": _log_prob_diag,
    "spherical": _log_prob_spherical,
}


def _set_threads(n_threads):
    """Set Numba's thread count for this calling thread; return the old one."""
    previous = numba.get_num_threads()
    if n_threads is None:
        n_threads = numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS)))
    return previous


def accumulate(X, w, c, means, U, covariance_type, out, n_threads=None):
    """The fused E-step/statistics pass; see `fastgmm.kernels.accumulate`."""
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    bounds = _common.partition_bounds(
        n_samples, n_components, n_features, covariance_type
    )
    partials = _common.empty_partials(
        bounds.shape[0] - 1, n_components, n_features, covariance_type
    )
    nk, s1, s2, cc, ll = partials
    previous = _set_threads(n_threads)
    try:
        if covariance_type == "tied":
            center, shifted, shifted_u = _common.tied_centering(means, U)
            _accumulate_tied(
                X, w, c, means, U, center, shifted, shifted_u, bounds,
                nk, s1, s2, cc, ll,
            )
        else:
            _ACCUMULATE[covariance_type](X, w, c, means, U, bounds, nk, s1, s2, ll)
    finally:
        numba.set_num_threads(previous)
    return _common.reduce_partials(partials, means, covariance_type, out)


def log_prob(X, c, means, U, covariance_type, out, n_threads=None):
    """Fill out[i, k] = log w_k + log N(x_i | m_k, U_k); see `fastgmm.kernels`."""
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    bounds = _common.partition_bounds(n_samples, n_components, n_features, "diag")
    previous = _set_threads(n_threads)
    try:
        if covariance_type == "tied":
            center, shifted, shifted_u = _common.tied_centering(means, U)
            _log_prob_tied(X, c, means, U, center, shifted, shifted_u, bounds, out)
        else:
            _LOG_PROB[covariance_type](X, c, means, U, bounds, out)
    finally:
        numba.set_num_threads(previous)
    return out
