# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The Cython backend's posterior: the driver `posterior_partitions` of the
kernel contract (the same signature as the Numba backend's).

Per-row results (log-sum-exp, responsibilities, argmax, or the raw log p)
tile by tile, from the log-probabilities of `_tiles` (the direct loops, the
row-major 'diag' tiles) or of the register-blocked 'full' tiles; partitions
in parallel with OpenMP (``prange``). No BLAS: a row's outputs are the same
bits wherever it falls (docs/design.md, "A row's bits"). With ``dof`` (the
Student-t pass), each path computes its log p with zero constants and
`_tiles._student_logp` turns them into the t log-densities.
"""

from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY, NAN
from libc.stdlib cimport calloc, free, malloc

from ._kernels cimport *
from ._tiles cimport (_check_params, _diag_rows, _exp_shifted, _full_tiles_factors,
                      _load_full_tile, _load_tile, _log_norm, _logp_diag, _logp_full,
                      _logp_tied, _pad_rows, _row_max, _student_logp, _student_zeros)

__all__ = ["posterior_partitions"]


cdef void _posterior_tile(double* logp, Py_ssize_t K, Py_ssize_t nb, Py_ssize_t s,
                          bint raw, floating_out* log_norm, floating_out* resp,
                          Py_ssize_t* labels, double* top, double* total,
                          double* lse) noexcept nogil:
    """From log p[k, b] of a tile: log-sum-exp, responsibilities, argmax.

    Outputs are written only when their pointer is not NULL. With ``raw``,
    resp receives log p itself. A row whose log p are all -inf (zero density
    under every component, numerically) gets log_norm -inf, responsibilities
    NaN and label -1: the caller resolves it. The loops with more than one
    rounding per value run over whole vectors of rows (`_whole`).
    """
    cdef Py_ssize_t b, k, best
    cdef bint degenerate = False
    if raw:
        for b in range(nb):
            for k in range(K):
                resp[(s + b) * K + k] = <floating_out> logp[k * TILE + b]
        return
    _pad_rows(logp, K, nb)
    _row_max(logp, K, nb, top)
    for b in range(nb):
        if not top[b] > -INFINITY:
            degenerate = True
    if labels != NULL:
        for b in range(nb):
            best = 0
            for k in range(1, K):
                if logp[k * TILE + b] > logp[best * TILE + b]:
                    best = k
            labels[s + b] = best if top[b] > -INFINITY else -1
    if log_norm == NULL and resp == NULL:
        return
    _exp_shifted(logp, K, nb, top, total)
    if log_norm != NULL:
        _log_norm(top, total, nb, lse)
        for b in range(nb):
            log_norm[s + b] = <floating_out> lse[b]
        if degenerate:
            for b in range(nb):
                if not top[b] > -INFINITY:
                    log_norm[s + b] = -INFINITY
    if resp != NULL:
        for b in range(_whole(nb)):
            total[b] = 1.0 / total[b]
        for b in range(nb):
            for k in range(K):
                resp[(s + b) * K + k] = <floating_out> (logp[k * TILE + b] * total[b])
        if degenerate:
            for b in range(nb):
                if not top[b] > -INFINITY:
                    for k in range(K):
                        resp[(s + b) * K + k] = NAN


cdef void _posterior_range(const floating* X, Py_ssize_t d, Py_ssize_t K,
                           int kind, bint use_blas, const double* c,
                           const double* means, const double* U,
                           const double* center, const double* shifted_u,
                           Py_ssize_t start, Py_ssize_t stop, bint raw,
                           floating_out* log_norm, floating_out* resp,
                           Py_ssize_t* labels, int* failed,
                           const double* dof) noexcept nogil:
    """Per-row results of rows [start, stop), tile by tile.

    No BLAS call here: a BLAS product's bits for one row depend on the
    product's shape and on where the row falls in it (OpenBLAS's kernels
    for edges and for small matrices), so per-row outputs run on our own
    loops, whose arithmetic is the same for every row (docs/design.md, "A
    row's bits"). 'full' with `_common.BLAS_MIN_FEATURES` features or more
    (``use_blas``) runs the register-blocked tiles of the fit (_full_tiles.h,
    in X's dtype); 'diag' the direct loops, in float64. ``dof`` not NULL:
    the Student-t log p.
    """
    cdef double* xt = <double*> malloc(d * TILE * sizeof(double))
    cdef double* logp = <double*> malloc(K * TILE * sizeof(double))
    cdef double* work = <double*> malloc(d * TILE * sizeof(double))
    cdef double* y = <double*> malloc(TILE * sizeof(double))
    cdef double* top = <double*> malloc(TILE * sizeof(double))
    cdef double* total = <double*> malloc(TILE * sizeof(double))
    cdef Py_ssize_t lanes = 32 // sizeof(floating)
    cdef Py_ssize_t dp = ((d + lanes - 1) // lanes) * lanes
    cdef floating* means_x = NULL
    cdef floating* up = NULL
    cdef floating* z = NULL
    cdef floating* dist = NULL
    # the Student-t pass's zero constants (NULL for the Gaussian pass)
    cdef double* zeros = _student_zeros(dof, K)
    cdef const double* cq = zeros if dof != NULL else c
    cdef Py_ssize_t s, nb, j, k, l, b
    cdef bint ok = (xt != NULL and logp != NULL and work != NULL and y != NULL
                    and top != NULL and total != NULL
                    and (dof == NULL or zeros != NULL))
    cdef bint row_major = _diag_rows(kind, d, K)
    cdef bint full_tiles = use_blas and kind == FULL
    if ok and full_tiles:
        # zero-filled: the padding columns stay 0
        means_x = <floating*> calloc(K * d, sizeof(floating))
        up = <floating*> calloc(K * dp * dp, sizeof(floating))
        z = <floating*> calloc(TILE * dp, sizeof(floating))
        dist = <floating*> calloc(TILE, sizeof(floating))
        ok = means_x != NULL and up != NULL and z != NULL and dist != NULL
        if ok:
            _full_tiles_factors(d, K, dp, means, U, means_x, up)
    if not ok:
        failed[0] = 1
        start = stop
    s = start
    while s < stop:
        nb = min(TILE, stop - s)
        if row_major:
            if floating is double:
                fastgmm_logp_diag_rows(K, X + s * d, nb, K, d, cq, means, U, logp)
            else:
                fastgmm_logp_diag_rows_f(K, X + s * d, nb, K, d, cq, means, U, logp)
        elif full_tiles:
            for k in range(K):
                _load_full_tile(X, d, dp, NULL, False, s, nb, means_x + k * d, z)
                if floating is double:
                    fastgmm_full_dist_d(z, dp, _whole(nb), up + k * dp * dp, dist)
                else:
                    fastgmm_full_dist_f(z, dp, _whole(nb), up + k * dp * dp, dist)
                for b in range(_whole(nb)):
                    logp[k * TILE + b] = cq[k] - 0.5 * <double> dist[b]
        else:
            _load_tile(X, d, NULL, False, s, nb, means, xt)
            if kind == FULL:
                _logp_full(xt, nb, d, K, cq, means, U, logp, work, y)
            elif kind == TIED:
                _logp_tied(xt, nb, d, K, cq, U, center, shifted_u, logp, work)
            else:
                _logp_diag(xt, nb, d, K, cq, means, U, logp)
        if dof != NULL:
            _student_logp(logp, K, nb, d, c, dof, NULL, NULL, False)
        _posterior_tile(logp, K, nb, s, raw, log_norm, resp, labels, top, total, y)
        s += TILE
    free(xt)
    free(logp)
    free(work)
    free(y)
    free(top)
    free(total)
    free(means_x)
    free(up)
    free(z)
    free(dist)
    free(zeros)


# --- the parallel driver: the entry point of the kernel contract ------------------

def posterior_partitions(
    const floating[:, ::1] X,          # IN (n, d)
    const double[::1] c,               # IN (k,)
    const double[::1] means,           # IN (k*d,)
    const double[::1] U,               # IN flat precision Cholesky factors
    const double[::1] center,          # IN (d,) 'tied', 'diag' with BLAS
    const double[::1] shifted_u,       # IN (k*d,) 'tied' only
    const Py_ssize_t[::1] bounds,      # IN (P + 1,) row bounds, 0 to n
    floating_out[::1] log_norm,        # OUT (n,) or (0,): logsumexp_k log p_ik
    floating_out[:, ::1] resp,         # OUT (n, k) or (0, k): r_ik (raw: log p_ik)
    Py_ssize_t[::1] labels,            # OUT (n,) or (0,): argmax_k log p_ik
    int kind,
    bint use_blas,
    bint raw,
    int n_threads,
    const double[::1] dof=None,        # IN (k,) the Student-t pass; None: Gaussian
):
    """Per-row results from log p, partition by partition (with ``dof``, the
    Student-t log p)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = c.shape[0]
    cdef Py_ssize_t n_parts = bounds.shape[0] - 1, p
    cdef int failed = 0
    _check_params(d, K, kind, use_blas, means, U, center, shifted_u)
    if log_norm.shape[0] not in (0, n) or labels.shape[0] not in (0, n):
        raise ValueError("kernel: log_norm and labels must have one value per row")
    if resp.shape[0] not in (0, n) or resp.shape[1] != K:
        raise ValueError("kernel: resp must have shape (n_samples, n_components)")
    if raw and resp.shape[0] == 0:
        raise ValueError("kernel: raw log-probabilities need resp")
    if n_parts < 0 or bounds[0] != 0 or bounds[n_parts] != n:
        raise ValueError("kernel: bounds must run from 0 to n_samples")
    for p in range(n_parts):
        if bounds[p + 1] < bounds[p]:
            raise ValueError("kernel: bounds must not decrease")
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")
    if dof is not None and dof.shape[0] != K:
        raise ValueError("kernel: dof must have n_components values")
    if n == 0:
        return
    cdef floating_out* norm_ptr = &log_norm[0] if log_norm.shape[0] > 0 else NULL
    cdef floating_out* resp_ptr = &resp[0, 0] if resp.shape[0] > 0 else NULL
    cdef Py_ssize_t* labels_ptr = &labels[0] if labels.shape[0] > 0 else NULL
    cdef const double* center_ptr = &center[0] if center.shape[0] else NULL
    cdef const double* shifted_u_ptr = &shifted_u[0] if shifted_u.shape[0] else NULL
    cdef const double* dof_ptr = &dof[0] if dof is not None else NULL
    with nogil, parallel(num_threads=n_threads):
        for p in prange(n_parts, schedule="static"):
            _posterior_range(&X[0, 0], d, K, kind, use_blas, &c[0], &means[0], &U[0],
                             center_ptr, shifted_u_ptr, bounds[p], bounds[p + 1], raw,
                             norm_ptr, resp_ptr, labels_ptr, &failed, dof_ptr)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's tile buffers")

