# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The Cython backend's one-call EM run: `em_loop`, a whole EM run of a
small fit in one call.

The M-step and the constants of `em.covariance` in C (`_mstep`), the pass of
`accumulate_partitions` on one partition (the workers of `_tiles`), the
lower bound and the convergence test of `em.driver.run_em`: the bits of the
pass-by-pass driver, with the GIL released for the whole run
(tests/em/test_one_call.py).
"""

from cython.parallel cimport parallel, prange
from libc.math cimport isfinite
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

from ._kernels cimport *
from ._mstep cimport _factor_full, _factor_size, _kind_of
from ._tiles cimport _diag_rows, _range, _range_diag_rows, _range_full_tiles

__all__ = ["em_loop", "EM_DONE", "EM_NONFINITE", "EM_ILL_DEFINED", "EM_NO_MEMORY"]


# what `em_loop` reports: converged or not, a non-finite log-likelihood, an
# ill-defined covariance (its component), no memory
cdef enum:
    _EM_DONE = 0
    _EM_NONFINITE = 1
    _EM_ILL_DEFINED = 2
    _EM_NO_MEMORY = 3

EM_DONE, EM_NONFINITE, EM_ILL_DEFINED, EM_NO_MEMORY = (
    _EM_DONE, _EM_NONFINITE, _EM_ILL_DEFINED, _EM_NO_MEMORY)


def em_loop(
    const floating[:, ::1] X,          # IN (n, d)
    const double[::1] w,               # IN (n,) or (0,): all 1
    double[::1] weights,               # IN/OUT (k,)
    double[::1] means,                 # IN/OUT (k*d,)
    double[::1] cov,                   # IN/OUT flat covariances of the kind
    double[::1] U,                     # IN/OUT flat precision Cholesky factors
    str covariance_type,               # 'full', 'diag' or 'spherical'
    bint full_tiles,                   # 'full' on the register-blocked tiles
    double tol, double reg_covar, double eps, Py_ssize_t max_iter,
    double lower_bound,                # the bound before the first iteration
    double total_weight,               # what the mean log-likelihood divides by
    double half_d_log_2pi,
    const Py_ssize_t[:, ::1] segments, # IN (P, 3) slot, start, stop: the partitions
    int n_threads,                     # already capped at the usable cores
    double[::1] bounds,                # OUT (max_iter,) the bound of each iteration
):
    """EM from (weights, means, cov, U) until the bound gains less than tol:
    (status, n_iter, converged, component). The parameters are those after
    the last M-step (as the driver's); status EM_DONE, or the error that
    stopped the run (the parameters are then unspecified). Each pass is
    `accumulate_partitions` over ``segments`` (one per partition, slots 0 to
    P - 1), reduced in partition order as `_common.reduce_partials`."""
    cdef int kind = _kind_of(covariance_type)
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = weights.shape[0]
    cdef Py_ssize_t P = segments.shape[0], n_s2, it, j, k, p, i
    cdef Py_ssize_t n_factor = _factor_size(kind, K, d), slot
    cdef Py_ssize_t n_iter = 0, component = -1
    cdef int pass_kind = FULL if kind == FGM_FULL else DIAG
    cdef int status = _EM_DONE, failed = 0
    cdef bint converged = False, weighted = w.shape[0] > 0
    cdef bint rows_path = _diag_rows(pass_kind, d, K)
    cdef double previous, total
    if kind == FGM_TIED:
        raise ValueError("kernel: em_loop takes 'full', 'diag' or 'spherical'")
    if K < 1 or d < 1 or n < 1 or means.shape[0] != K * d:
        raise ValueError("kernel: means must be (n_components, n_features)")
    if U.shape[0] != n_factor or cov.shape[0] != n_factor:
        raise ValueError("kernel: covariances and factors of the wrong size")
    if weighted and w.shape[0] != n:
        raise ValueError("kernel: sample weights must have one value per row")
    if max_iter < 1 or bounds.shape[0] < max_iter:
        raise ValueError("kernel: bounds must hold max_iter values")
    if full_tiles and kind != FGM_FULL:
        raise ValueError("kernel: the tiles are for 'full'")
    if P < 1 or segments.shape[1] != 3:
        raise ValueError("kernel: segments must be (slot, start, stop) rows")
    for i in range(P):
        if (segments[i, 0] != i or segments[i, 1] != (0 if i == 0 else segments[i - 1, 2])
                or segments[i, 2] < segments[i, 1]):
            raise ValueError("kernel: segments must be the partitions, in order")
    if segments[P - 1, 2] != n:
        raise ValueError("kernel: segments must cover the rows")
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")
    n_s2 = K * d * d if kind == FGM_FULL else K * d  # what a pass adds into
    cdef Py_ssize_t part = K + K * d + n_s2 + 2  # a slot: nk, s1, s2, cc, ll
    cdef const double* w_ptr = &w[0] if weighted else NULL
    # the partitions' statistics (a slot each) and the pass's factors
    # ('spherical' runs as 'diag': each U_k repeated d times), the reduced
    # statistics, the constants and the next parameters
    cdef double* slots = <double*> calloc(P * part, sizeof(double))
    cdef double* buf = <double*> calloc(
        4 * K + 4 * K * d + n_s2 + 2 * n_factor + d * d + d, sizeof(double))
    if slots == NULL or buf == NULL:
        free(slots)
        free(buf)
        raise MemoryError("fastgmm: cannot allocate the EM run's buffers")
    cdef double* nk = buf
    cdef double* s1 = nk + K
    cdef double* s2 = s1 + K * d
    cdef double* c = s2 + n_s2
    cdef double* U_pass = c + K
    cdef double* new_weights = U_pass + K * d
    cdef double* new_means = new_weights + K
    cdef double* new_cov = new_means + K * d
    cdef double* new_U = new_cov + n_factor
    cdef double* delta = new_U + n_factor
    cdef double* work = delta + K * d
    cdef double* tmp = work + d * d
    cdef double* kept = tmp + d  # the counts plus 10 eps, of the M-step
    cdef double* q
    cdef const double* U_ptr
    with nogil:
        for it in range(max_iter):
            previous = lower_bound
            fgm_constants(kind, K, d, &weights[0], &U[0], half_d_log_2pi, c, tmp)
            if kind == FGM_SPHERICAL:
                for k in range(K):
                    for j in range(d):
                        U_pass[k * d + j] = U[k]
                U_ptr = U_pass
            else:
                U_ptr = &U[0]
            memset(slots, 0, P * part * sizeof(double))
            # the Gaussian pass (dof NULL): the t family runs pass by pass
            with parallel(num_threads=n_threads):
                for i in prange(P, schedule="static"):
                    q = slots + i * part
                    if rows_path:
                        q[part - 1] = _range_diag_rows(
                            &X[0, 0], d, K, w_ptr, weighted, c, &means[0], U_ptr,
                            segments[i, 1], segments[i, 2], q, q + K, q + K + K * d,
                            0.0, &failed, NULL, NULL, NULL)
                    elif full_tiles:
                        q[part - 1] = _range_full_tiles(
                            &X[0, 0], d, K, w_ptr, weighted, c, &means[0], U_ptr,
                            segments[i, 1], segments[i, 2], q, q + K, q + K + K * d,
                            0.0, &failed, NULL, NULL, NULL)
                    else:
                        q[part - 1] = _range(
                            &X[0, 0], d, K, pass_kind, w_ptr, weighted, c, &means[0],
                            U_ptr, NULL, NULL, NULL, segments[i, 1], segments[i, 2],
                            q, q + K, q + K + K * d, q + K + K * d + n_s2, 0.0,
                            &failed, NULL, NULL, NULL)
            if failed:
                status = _EM_NO_MEMORY
                break
            # `reduce_partials`: from zero, the slots added in order
            total = 0.0
            memset(nk, 0, (K + K * d + n_s2) * sizeof(double))
            for p in range(P):
                q = slots + p * part
                for k in range(K):
                    nk[k] = nk[k] + q[k]
                for j in range(K * d):
                    s1[j] = s1[j] + q[K + j]
                for j in range(n_s2):
                    s2[j] = s2[j] + q[K + K * d + j]
                total = total + q[part - 1]
            if kind == FGM_SPHERICAL:  # the trace, in place: s2[k] of its d values
                for k in range(K):
                    s2[k] = fgm_sum(s2 + k * d, d, 1)
            elif kind == FGM_FULL:
                fgm_mirror_upper(K, d, s2)
            if not isfinite(total):
                status = _EM_NONFINITE
                break
            fgm_m_step(kind, K, d, nk, s1, s2, &means[0], reg_covar, 10.0 * eps, 0.0,
                       kept, delta, new_weights, new_means, new_cov)
            if kind == FGM_FULL:
                component = _factor_full(K, d, new_cov, new_U, work)
            else:
                component = fgm_factor_variances(n_factor, new_cov, new_U)
                if component >= 0 and kind == FGM_DIAG:
                    component = component // d
            if component >= 0:
                status = _EM_ILL_DEFINED
                break
            memcpy(&weights[0], new_weights, K * sizeof(double))
            memcpy(&means[0], new_means, K * d * sizeof(double))
            memcpy(&cov[0], new_cov, n_factor * sizeof(double))
            memcpy(&U[0], new_U, n_factor * sizeof(double))
            lower_bound = total / total_weight
            bounds[it] = lower_bound
            n_iter = it + 1
            if abs(lower_bound - previous) < tol:
                converged = True
                break
    free(slots)
    free(buf)
    return status, n_iter, converged, component
