# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Cython backend: the fused EM pass and the log-probability matrix.

The same algorithm as the Numba backend (see ``_numba.py``) on the same
contract: partitions of ``_common.partition_bounds`` run in parallel with
OpenMP (``prange``, each into its own slot of partial statistics, reduced in
partition order by ``_common.reduce_partials``); a partition is worked in
tiles of TILE rows, transposed so that inner loops run over rows and
vectorize; exp is the vectorizable one of ``_exp.h``. 'full' with many
features runs (x - m) U and the weighted scatter of a tile through
``scipy.linalg.cython_blas`` (trmm, syrk) in X's own dtype.

Kernel arguments are flat: means (k*d,), U (k*d*d, d*d, k*d or k,), partial
statistics (P, size). X is read as ``const floating[:, ::1]`` (float32 stays
float32); everything else is float64.
"""

cimport cython
from cython.parallel cimport parallel, prange
from libc.math cimport log, sqrt
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dsyrk, dtrmm, ssyrk, strmm

import numpy as np

from . import _common

cdef extern from "_exp.h" nogil:
    double exp_nonpositive "fastgmm_exp_nonpositive"(double x)
    double log_at_least_one "fastgmm_log_at_least_one"(double x)
    int FASTGMM_OPENMP
    int fastgmm_max_threads()

ctypedef fused floating:
    float
    double

ctypedef fused floating_out:
    float
    double

cdef enum:
    TILE = 256  # rows per tile, as in the Numba backend
#: From this many features on, 'full' goes through BLAS.
BLAS_MIN_FEATURES = 24

OPENMP = bool(FASTGMM_OPENMP)


def max_threads():
    """Threads OpenMP would use (1 when built without OpenMP)."""
    return fastgmm_max_threads()


# --- tile steps shared by every covariance type ------------------------------------

cdef void _load_tile(const floating* X, Py_ssize_t d, Py_ssize_t start,
                     Py_ssize_t nb, double* xt) noexcept nogil:
    """xt[j * TILE + b] = X[start + b, j] as double."""
    cdef Py_ssize_t b, j
    cdef const floating* row
    for b in range(nb):
        row = X + (start + b) * d
        for j in range(d):
            xt[j * TILE + b] = row[j]


cdef void _load_weights(const double* w, bint weighted, Py_ssize_t start,
                        Py_ssize_t nb, double* wt) noexcept nogil:
    """wt[b] = w[start + b], or 1 without sample weights."""
    cdef Py_ssize_t b
    if weighted:
        for b in range(nb):
            wt[b] = w[start + b]
    else:
        for b in range(nb):
            wt[b] = 1.0


cdef double _responsibilities(double* logp, Py_ssize_t n_components, Py_ssize_t nb,
                              const double* w, double* top,
                              double* total) noexcept nogil:
    """log p -> w_b r_kb in place; return sum_b w_b lse_b (w: the tile's weights)."""
    cdef Py_ssize_t b, k
    cdef double e, lse, ll = 0.0
    cdef double* row
    for b in range(nb):
        top[b] = logp[b]
    for k in range(1, n_components):
        row = logp + k * TILE
        for b in range(nb):
            top[b] = row[b] if row[b] > top[b] else top[b]
    for b in range(nb):
        total[b] = 0.0
    for k in range(n_components):
        row = logp + k * TILE
        for b in range(nb):
            e = exp_nonpositive(row[b] - top[b])
            row[b] = e
            total[b] += e
    for b in range(nb):
        lse = top[b] + log_at_least_one(total[b])
        # branch-free so that it vectorizes; a zero weight adds nothing, even
        # to a row whose log-likelihood is -inf
        ll = ll + (w[b] * lse if w[b] != 0.0 else 0.0)
        total[b] = w[b] / total[b]
    for k in range(n_components):
        row = logp + k * TILE
        for b in range(nb):
            row[b] *= total[b]
    return ll


# --- log-probabilities of a tile -----------------------------------------------------

cdef void _logp_full(const double* xt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                     const double* c, const double* means, const double* U,
                     double* logp, double* diff, double* y) noexcept nogil:
    cdef Py_ssize_t k, j, l, b
    cdef double m, u
    cdef double* row
    cdef const double* Uk
    for k in range(K):
        Uk = U + k * d * d
        row = logp + k * TILE
        for l in range(d):
            m = means[k * d + l]
            for b in range(nb):
                diff[l * TILE + b] = xt[l * TILE + b] - m
        for b in range(nb):
            row[b] = 0.0
        for j in range(d):
            u = Uk[j]
            for b in range(nb):
                y[b] = diff[b] * u
            for l in range(1, j + 1):
                u = Uk[l * d + j]
                for b in range(nb):
                    y[b] += diff[l * TILE + b] * u
            for b in range(nb):
                row[b] += y[b] * y[b]
        for b in range(nb):
            row[b] = c[k] - 0.5 * row[b]


cdef void _logp_diag(const double* xt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                     const double* c, const double* means, const double* U,
                     double* logp) noexcept nogil:
    cdef Py_ssize_t k, j, b
    cdef double m, p, t
    cdef double* row
    for k in range(K):
        row = logp + k * TILE
        for b in range(nb):
            row[b] = 0.0
        for j in range(d):
            m = means[k * d + j]
            p = U[k * d + j]
            for b in range(nb):
                t = (xt[j * TILE + b] - m) * p
                row[b] += t * t
        for b in range(nb):
            row[b] = c[k] - 0.5 * row[b]


cdef void _logp_spherical(const double* xt, Py_ssize_t nb, Py_ssize_t d,
                          Py_ssize_t K, const double* c, const double* means,
                          const double* U, double* logp) noexcept nogil:
    cdef Py_ssize_t k, j, b
    cdef double m, t, half_prec
    cdef double* row
    for k in range(K):
        row = logp + k * TILE
        for b in range(nb):
            row[b] = 0.0
        for j in range(d):
            m = means[k * d + j]
            for b in range(nb):
                t = xt[j * TILE + b] - m
                row[b] += t * t
        half_prec = 0.5 * U[k] * U[k]
        for b in range(nb):
            row[b] = c[k] - half_prec * row[b]


cdef void _logp_tied(const double* xt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                     const double* c, const double* U, const double* center,
                     const double* shifted_u, double* logp,
                     double* y0) noexcept nogil:
    # (x - m_k) U = (x - g) U - (m_k - g) U: one triangular product per row
    cdef Py_ssize_t k, j, l, b
    cdef double u, g, s, t
    cdef double* row
    for j in range(d):
        for b in range(nb):
            y0[j * TILE + b] = 0.0
        for l in range(j + 1):
            u = U[l * d + j]
            g = center[l]
            for b in range(nb):
                y0[j * TILE + b] += (xt[l * TILE + b] - g) * u
    for k in range(K):
        row = logp + k * TILE
        for b in range(nb):
            row[b] = 0.0
        for j in range(d):
            s = shifted_u[k * d + j]
            for b in range(nb):
                t = y0[j * TILE + b] - s
                row[b] += t * t
        for b in range(nb):
            row[b] = c[k] - 0.5 * row[b]


# --- statistics of a tile (wr[k * TILE + b] = w_b r_kb) --------------------------

cdef void _stats_full(const double* xt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                      const double* means, const double* wr, double* nk, double* s1,
                      double* s2, double* diff, double* t) noexcept nogil:
    cdef Py_ssize_t k, j, l, b
    cdef double m, v, acc
    cdef const double* row
    for k in range(K):
        row = wr + k * TILE
        acc = 0.0
        for b in range(nb):
            acc = acc + row[b]
        nk[k] += acc
        for l in range(d):
            m = means[k * d + l]
            for b in range(nb):
                diff[l * TILE + b] = xt[l * TILE + b] - m
        for l in range(d):
            acc = 0.0
            for b in range(nb):
                v = row[b] * diff[l * TILE + b]
                t[b] = v
                acc = acc + v
            s1[k * d + l] += acc
            for j in range(l, d):
                acc = 0.0
                for b in range(nb):
                    acc = acc + t[b] * diff[j * TILE + b]
                s2[(k * d + l) * d + j] += acc


cdef void _stats_diag(const double* xt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                      const double* means, const double* wr, double* nk, double* s1,
                      double* s2) noexcept nogil:
    cdef Py_ssize_t k, j, b
    cdef double m, dv, v, acc, acc1, acc2
    cdef const double* row
    for k in range(K):
        row = wr + k * TILE
        acc = 0.0
        for b in range(nb):
            acc = acc + row[b]
        nk[k] += acc
        for j in range(d):
            m = means[k * d + j]
            acc1 = 0.0
            acc2 = 0.0
            for b in range(nb):
                dv = xt[j * TILE + b] - m
                v = row[b] * dv
                acc1 = acc1 + v
                acc2 = acc2 + v * dv
            s1[k * d + j] += acc1
            s2[k * d + j] += acc2


cdef void _stats_spherical(const double* xt, Py_ssize_t nb, Py_ssize_t d,
                           Py_ssize_t K, const double* means, const double* wr,
                           double* nk, double* s1, double* s2) noexcept nogil:
    cdef Py_ssize_t k, j, b
    cdef double m, dv, v, acc, acc1, acc2
    cdef const double* row
    for k in range(K):
        row = wr + k * TILE
        acc = 0.0
        for b in range(nb):
            acc = acc + row[b]
        nk[k] += acc
        acc2 = 0.0
        for j in range(d):
            m = means[k * d + j]
            acc1 = 0.0
            for b in range(nb):
                dv = xt[j * TILE + b] - m
                v = row[b] * dv
                acc1 = acc1 + v
                acc2 = acc2 + v * dv
            s1[k * d + j] += acc1
        s2[k] += acc2


cdef void _stats_tied(const double* xt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                      const double* w, const double* means, const double* center,
                      const double* shifted, const double* wr, double* nk,
                      double* s1, double* s2, double* cc, double* xm,
                      double* t) noexcept nogil:
    """N, S1; A = sum_b w_b (x_b - mbar_b)(x_b - mbar_b)^T; C_kl = sum w r_k r_l."""
    cdef Py_ssize_t k, j, l, b
    cdef double m, s, g, acc
    cdef const double* row
    cdef const double* row2
    for k in range(K):
        row = wr + k * TILE
        acc = 0.0
        for b in range(nb):
            acc = acc + row[b]
        nk[k] += acc
        for j in range(d):
            m = means[k * d + j]
            acc = 0.0
            for b in range(nb):
                acc = acc + row[b] * (xt[j * TILE + b] - m)
            s1[k * d + j] += acc
    # r_kb = wr_kb / w_b; rows of zero weight have wr = 0 and add nothing
    for b in range(nb):
        t[b] = 1.0 / w[b] if w[b] != 0.0 else 0.0
    # xm[j, b] = (x_b - g)_j - sum_k r_kb (m_k - g)_j
    for j in range(d):
        g = center[j]
        for b in range(nb):
            xm[j * TILE + b] = 0.0
        for k in range(K):
            s = shifted[k * d + j]
            row = wr + k * TILE
            for b in range(nb):
                xm[j * TILE + b] += row[b] * s
        for b in range(nb):
            xm[j * TILE + b] = (xt[j * TILE + b] - g) - xm[j * TILE + b] * t[b]
    for j in range(d):
        for l in range(j, d):
            acc = 0.0
            for b in range(nb):
                acc = acc + w[b] * xm[j * TILE + b] * xm[l * TILE + b]
            s2[j * d + l] += acc
    for k in range(K):
        row = wr + k * TILE
        for l in range(k + 1, K):
            row2 = wr + l * TILE
            acc = 0.0
            for b in range(nb):
                acc = acc + row[b] * row2[b] * t[b]
            cc[k * K + l] += acc


# --- one partition ------------------------------------------------------------------

cdef double _partition(const floating* X, Py_ssize_t d, Py_ssize_t K, int kind,
                       const double* w, bint weighted, const double* c,
                       const double* means,
                       const double* U, const double* center, const double* shifted,
                       const double* shifted_u, Py_ssize_t start, Py_ssize_t stop,
                       double* nk, double* s1, double* s2, double* cc) noexcept nogil:
    """kind: 0 full, 1 tied, 2 diag, 3 spherical (the direct-loop path)."""
    cdef double* xt = <double*> malloc(d * TILE * sizeof(double))
    cdef double* logp = <double*> malloc(K * TILE * sizeof(double))
    cdef double* work = <double*> malloc(d * TILE * sizeof(double))
    cdef double* y = <double*> malloc(TILE * sizeof(double))
    cdef double* top = <double*> malloc(TILE * sizeof(double))
    cdef double* total = <double*> malloc(TILE * sizeof(double))
    cdef double* wt = <double*> malloc(TILE * sizeof(double))
    cdef double ll = 0.0
    cdef Py_ssize_t s, nb
    s = start
    while s < stop:
        nb = min(TILE, stop - s)
        _load_tile(X, d, s, nb, xt)
        _load_weights(w, weighted, s, nb, wt)
        if kind == 0:
            _logp_full(xt, nb, d, K, c, means, U, logp, work, y)
        elif kind == 1:
            _logp_tied(xt, nb, d, K, c, U, center, shifted_u, logp, work)
        elif kind == 2:
            _logp_diag(xt, nb, d, K, c, means, U, logp)
        else:
            _logp_spherical(xt, nb, d, K, c, means, U, logp)
        ll += _responsibilities(logp, K, nb, wt, top, total)
        if kind == 0:
            _stats_full(xt, nb, d, K, means, logp, nk, s1, s2, work, y)
        elif kind == 1:
            _stats_tied(xt, nb, d, K, wt, means, center, shifted, logp, nk, s1,
                        s2, cc, work, top)
        elif kind == 2:
            _stats_diag(xt, nb, d, K, means, logp, nk, s1, s2)
        else:
            _stats_spherical(xt, nb, d, K, means, logp, nk, s1, s2)
        s += TILE
    free(xt)
    free(logp)
    free(work)
    free(y)
    free(top)
    free(total)
    free(wt)
    return ll


# --- 'full' with many features: tiles through BLAS in X's dtype ---------------

cdef void _rows_minus(const floating* X, Py_ssize_t d, Py_ssize_t start,
                      Py_ssize_t nb, const floating* vec, floating* out) noexcept nogil:
    cdef Py_ssize_t b, j
    cdef const floating* row
    for b in range(nb):
        row = X + (start + b) * d
        for j in range(d):
            out[b * d + j] = row[j] - vec[j]


cdef void _trmm_right_upper(floating* U, floating* y, int d, int nb) noexcept nogil:
    """y (nb x d, row-major) <- y U, U upper triangular (row-major)."""
    # column-major, y is d x nb and U reads as U^T (lower): y^T <- U^T y^T
    cdef char side = b'L', uplo = b'L', trans = b'N', diag = b'N'
    cdef floating one = 1.0
    if floating is double:
        dtrmm(&side, &uplo, &trans, &diag, &d, &nb, &one, U, &d, y, &d)
    else:
        strmm(&side, &uplo, &trans, &diag, &d, &nb, &one, U, &d, y, &d)


cdef void _syrk_upper(floating* z, floating* out, int d, int nb,
                      floating beta) noexcept nogil:
    """out (d x d, row-major upper triangle) <- z^T z + beta out; z nb x d."""
    # column-major, z is d x nb: z z^T, lower triangle = row-major upper
    cdef char uplo = b'L', trans = b'N'
    cdef floating one = 1.0
    if floating is double:
        dsyrk(&uplo, &trans, &d, &nb, &one, z, &d, &beta, out, &d)
    else:
        ssyrk(&uplo, &trans, &d, &nb, &one, z, &d, &beta, out, &d)


cdef void _logp_full_blas(const floating* X, Py_ssize_t d, Py_ssize_t K,
                          Py_ssize_t s, Py_ssize_t nb, const double* c,
                          floating* means_x, floating* U_x, double* logp,
                          floating* y) noexcept nogil:
    """log p of a tile for 'full' through BLAS, in X's dtype."""
    cdef Py_ssize_t k, b, j
    cdef double acc
    cdef double* row
    for k in range(K):
        _rows_minus(X, d, s, nb, means_x + k * d, y)
        _trmm_right_upper(U_x + k * d * d, y, <int> d, <int> nb)
        row = logp + k * TILE
        for b in range(nb):
            acc = 0.0
            for j in range(d):
                acc = acc + y[b * d + j] * y[b * d + j]
            row[b] = c[k] - 0.5 * acc


cdef double _partition_full_blas(const floating* X, Py_ssize_t d, Py_ssize_t K,
                                 const double* w, bint weighted, const double* c,
                                 const double* means, const double* U,
                                 Py_ssize_t start, Py_ssize_t stop, double* nk,
                                 double* s1, double* s2) noexcept nogil:
    cdef floating* means_x = <floating*> malloc(K * d * sizeof(floating))
    cdef floating* U_x = <floating*> malloc(K * d * d * sizeof(floating))
    cdef floating* diff = <floating*> malloc(TILE * d * sizeof(floating))
    cdef floating* y = <floating*> malloc(TILE * d * sizeof(floating))
    cdef floating* scatter = <floating*> malloc(d * d * sizeof(floating))
    cdef double* logp = <double*> malloc(K * TILE * sizeof(double))
    cdef double* top = <double*> malloc(TILE * sizeof(double))
    cdef double* total = <double*> malloc(TILE * sizeof(double))
    cdef double* acc1 = <double*> malloc(d * sizeof(double))
    cdef double* wt = <double*> malloc(TILE * sizeof(double))
    cdef double ll = 0.0, acc, r
    cdef Py_ssize_t s, nb, k, b, j, l
    cdef double* row
    for j in range(K * d):
        means_x[j] = <floating> means[j]
    for j in range(K * d * d):
        U_x[j] = <floating> U[j]
    s = start
    while s < stop:
        nb = min(TILE, stop - s)
        _load_weights(w, weighted, s, nb, wt)
        _logp_full_blas(X, d, K, s, nb, c, means_x, U_x, logp, y)
        ll += _responsibilities(logp, K, nb, wt, top, total)
        for k in range(K):
            row = logp + k * TILE
            _rows_minus(X, d, s, nb, means_x + k * d, diff)
            acc = 0.0
            for j in range(d):
                acc1[j] = 0.0
            for b in range(nb):
                acc = acc + row[b]
                r = sqrt(row[b])
                for j in range(d):
                    acc1[j] += row[b] * diff[b * d + j]
                    y[b * d + j] = <floating> (diff[b * d + j] * r)
            nk[k] += acc
            for j in range(d):
                s1[k * d + j] += acc1[j]
            if floating is double:
                _syrk_upper(y, s2 + k * d * d, <int> d, <int> nb, 1.0)
            else:
                _syrk_upper(y, scatter, <int> d, <int> nb, 0.0)
                # column-major lower of scatter = row-major upper (j <= l)
                for j in range(d):
                    for l in range(j, d):
                        s2[(k * d + j) * d + l] += scatter[j * d + l]
        s += TILE
    free(means_x)
    free(U_x)
    free(diff)
    free(y)
    free(scatter)
    free(logp)
    free(top)
    free(total)
    free(acc1)
    free(wt)
    return ll


# --- entry points ---------------------------------------------------------------

_KIND = {"full": 0, "tied": 1, "diag": 2, "spherical": 3}


def _accumulate(const floating[:, ::1] X, const double[::1] w, const double[::1] c,
                const double[::1] means, const double[::1] U,
                const double[::1] center, const double[::1] shifted,
                const double[::1] shifted_u, const Py_ssize_t[::1] bounds,
                double[:, ::1] nk, double[:, ::1] s1, double[:, ::1] s2,
                double[:, ::1] cc, double[::1] ll, int kind, bint use_blas,
                int n_threads):
    cdef Py_ssize_t d = X.shape[1], K = c.shape[0]
    cdef Py_ssize_t n_parts = bounds.shape[0] - 1, p
    cdef bint weighted = w.shape[0] > 0
    cdef const double* w_ptr = &w[0] if weighted else NULL
    with nogil, parallel(num_threads=n_threads):
        for p in prange(n_parts, schedule="static"):
            if use_blas:
                ll[p] = _partition_full_blas(
                    &X[0, 0], d, K, w_ptr, weighted, &c[0], &means[0], &U[0],
                    bounds[p], bounds[p + 1], &nk[p, 0], &s1[p, 0], &s2[p, 0])
            else:
                ll[p] = _partition(
                    &X[0, 0], d, K, kind, w_ptr, weighted, &c[0], &means[0], &U[0],
                    &center[0], &shifted[0], &shifted_u[0], bounds[p], bounds[p + 1],
                    &nk[p, 0], &s1[p, 0], &s2[p, 0], &cc[p, 0])


cdef void _posterior_tile(double* logp, Py_ssize_t K, Py_ssize_t nb, Py_ssize_t s,
                          bint raw, floating_out* log_norm, floating_out* resp,
                          Py_ssize_t* labels, double* top,
                          double* total) noexcept nogil:
    """From log p[k, b] of a tile: log-sum-exp, responsibilities, argmax.

    Outputs are written only when their pointer is not NULL. With ``raw``,
    resp receives log p itself.
    """
    cdef Py_ssize_t b, k, best
    cdef double e
    cdef double* row
    if raw:
        for b in range(nb):
            for k in range(K):
                resp[(s + b) * K + k] = <floating_out> logp[k * TILE + b]
        return
    for b in range(nb):
        top[b] = logp[b]
    for k in range(1, K):
        row = logp + k * TILE
        for b in range(nb):
            top[b] = row[b] if row[b] > top[b] else top[b]
    if labels != NULL:
        for b in range(nb):
            best = 0
            for k in range(1, K):
                if logp[k * TILE + b] > logp[best * TILE + b]:
                    best = k
            labels[s + b] = best
    if log_norm == NULL and resp == NULL:
        return
    for b in range(nb):
        total[b] = 0.0
    for k in range(K):
        row = logp + k * TILE
        for b in range(nb):
            e = exp_nonpositive(row[b] - top[b])
            row[b] = e
            total[b] += e
    if log_norm != NULL:
        for b in range(nb):
            log_norm[s + b] = <floating_out> (top[b] + log_at_least_one(total[b]))
    if resp != NULL:
        for b in range(nb):
            total[b] = 1.0 / total[b]
        for b in range(nb):
            for k in range(K):
                resp[(s + b) * K + k] = <floating_out> (logp[k * TILE + b] * total[b])


cdef void _posterior_partition(const floating* X, Py_ssize_t d, Py_ssize_t K,
                               int kind, bint use_blas, const double* c,
                               const double* means, const double* U,
                               const double* center, const double* shifted_u,
                               Py_ssize_t start, Py_ssize_t stop, bint raw,
                               floating_out* log_norm, floating_out* resp,
                               Py_ssize_t* labels) noexcept nogil:
    cdef double* xt = <double*> malloc(d * TILE * sizeof(double))
    cdef double* logp = <double*> malloc(K * TILE * sizeof(double))
    cdef double* work = <double*> malloc(d * TILE * sizeof(double))
    cdef double* y = <double*> malloc(TILE * sizeof(double))
    cdef double* top = <double*> malloc(TILE * sizeof(double))
    cdef double* total = <double*> malloc(TILE * sizeof(double))
    cdef floating* means_x = NULL
    cdef floating* U_x = NULL
    cdef floating* rows = NULL
    cdef Py_ssize_t s = start, nb, j
    if use_blas:
        means_x = <floating*> malloc(K * d * sizeof(floating))
        U_x = <floating*> malloc(K * d * d * sizeof(floating))
        rows = <floating*> malloc(TILE * d * sizeof(floating))
        for j in range(K * d):
            means_x[j] = <floating> means[j]
        for j in range(K * d * d):
            U_x[j] = <floating> U[j]
    while s < stop:
        nb = min(TILE, stop - s)
        if use_blas:
            _logp_full_blas(X, d, K, s, nb, c, means_x, U_x, logp, rows)
        else:
            _load_tile(X, d, s, nb, xt)
            if kind == 0:
                _logp_full(xt, nb, d, K, c, means, U, logp, work, y)
            elif kind == 1:
                _logp_tied(xt, nb, d, K, c, U, center, shifted_u, logp, work)
            elif kind == 2:
                _logp_diag(xt, nb, d, K, c, means, U, logp)
            else:
                _logp_spherical(xt, nb, d, K, c, means, U, logp)
        _posterior_tile(logp, K, nb, s, raw, log_norm, resp, labels, top, total)
        s += TILE
    free(xt)
    free(logp)
    free(work)
    free(y)
    free(top)
    free(total)
    free(means_x)
    free(U_x)
    free(rows)


def _posterior(const floating[:, ::1] X, const double[::1] c, const double[::1] means,
               const double[::1] U, const double[::1] center,
               const double[::1] shifted_u, const Py_ssize_t[::1] bounds,
               floating_out[::1] log_norm, floating_out[:, ::1] resp,
               Py_ssize_t[::1] labels, int kind, bint use_blas, bint raw,
               int n_threads):
    cdef Py_ssize_t d = X.shape[1], K = c.shape[0]
    cdef Py_ssize_t n_parts = bounds.shape[0] - 1, p
    cdef floating_out* norm_ptr = &log_norm[0] if log_norm.shape[0] > 0 else NULL
    cdef floating_out* resp_ptr = &resp[0, 0] if resp.shape[0] > 0 else NULL
    cdef Py_ssize_t* labels_ptr = &labels[0] if labels.shape[0] > 0 else NULL
    with nogil, parallel(num_threads=n_threads):
        for p in prange(n_parts, schedule="static"):
            _posterior_partition(&X[0, 0], d, K, kind, use_blas, &c[0], &means[0],
                                 &U[0], &center[0], &shifted_u[0], bounds[p],
                                 bounds[p + 1], raw, norm_ptr, resp_ptr, labels_ptr)


def _n_threads(n_threads):
    if n_threads is None:
        return fastgmm_max_threads()
    return max(1, int(n_threads))


def _flat(a):
    return np.ascontiguousarray(a, dtype=np.float64).ravel()


def _tied_args(means, U, covariance_type):
    if covariance_type == "tied":
        center, shifted, shifted_u = _common.tied_centering(means, U)
        return _flat(center), _flat(shifted), _flat(shifted_u)
    empty = np.zeros(1)
    return empty, empty, empty


def accumulate(X, w, c, means, U, covariance_type, out, n_threads=None):
    """The fused E-step/statistics pass; see `fastgmm.kernels`."""
    w = _common.NO_WEIGHTS if w is None else w
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    bounds = _common.partition_bounds(
        n_samples, n_components, n_features, covariance_type
    ).astype(np.intp)
    partials = _common.empty_partials(
        bounds.shape[0] - 1, n_components, n_features, covariance_type
    )
    nk, s1, s2, cc, ll = partials
    n_parts = nk.shape[0]
    use_blas = covariance_type == "full" and n_features >= BLAS_MIN_FEATURES
    center, shifted, shifted_u = _tied_args(means, U, covariance_type)
    flat_cc = cc.reshape(n_parts, -1) if cc.size else np.zeros((n_parts, 1))
    with _common.single_threaded_blas(use_blas):
        _accumulate(
            X, w, _flat(c), _flat(means), _flat(U), center, shifted, shifted_u,
            bounds, nk, s1.reshape(n_parts, -1), s2.reshape(n_parts, -1), flat_cc,
            ll, _KIND[covariance_type], use_blas, _n_threads(n_threads),
        )
    total = _common.reduce_partials(partials, means, covariance_type, out)
    if use_blas and X.dtype != np.float64:
        # the float32 tiles were taken around the means rounded to float32
        _common.recenter_full(out, means.astype(X.dtype) - means)
    return total


def posterior(X, c, means, U, covariance_type, log_norm=None, resp=None,
              labels=None, raw=False, n_threads=None):
    """Per-row results from log p; see `fastgmm.kernels`."""
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    out_dtype = (resp if resp is not None else
                 log_norm if log_norm is not None else X).dtype
    log_norm = np.zeros(0, out_dtype) if log_norm is None else log_norm
    resp = np.zeros((0, n_components), out_dtype) if resp is None else resp
    labels = np.zeros(0, np.intp) if labels is None else labels
    bounds = _common.partition_bounds(
        n_samples, n_components, n_features, "diag"
    ).astype(np.intp)
    use_blas = covariance_type == "full" and n_features >= BLAS_MIN_FEATURES
    center, _, shifted_u = _tied_args(means, U, covariance_type)
    with _common.single_threaded_blas(use_blas):
        _posterior(X, _flat(c), _flat(means), _flat(U), center, shifted_u, bounds,
                   log_norm, resp, labels, _KIND[covariance_type], use_blas, raw,
                   _n_threads(n_threads))


def log_prob(X, c, means, U, covariance_type, out, n_threads=None):
    """Fill out[i, k] = log w_k + log N(x_i | m_k, U_k); see `fastgmm.kernels`."""
    posterior(X, c, means, U, covariance_type, resp=out, raw=True, n_threads=n_threads)
    return out
