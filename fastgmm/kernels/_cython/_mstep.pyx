# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The Cython backend's M-step in C: what `fastgmm.em.covariance` computes on
small arrays, in NumPy's order of operations (``_mstep.h``; LAPACK's
potrf/trtrs as `precisions_cholesky` calls them), for the one-call EM run
(`_em`, which cimports the functions of ``_mstep.pxd``) and for the
constants of every pass (`log_prob_constants`); and EVE's and VVE's common
orientation (`common_orientation`, ``_orientation.h``), which
`fastgmm.em.parsimonious` calls.
"""

from libc.math cimport isfinite
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset
from scipy.linalg.cython_lapack cimport dpotrf, dtrtrs

from ._kernels cimport *
from ._tiles cimport _u_size

from fastgmm.kernels import _common

__all__ = ["log_prob_constants", "common_orientation", "_add_reduce"]


cdef int _kind_of(str covariance_type) except -1:
    if covariance_type == "full":
        return FGM_FULL
    if covariance_type == "tied":
        return FGM_TIED
    if covariance_type == "diag":
        return FGM_DIAG
    if covariance_type == "spherical":
        return FGM_SPHERICAL
    raise ValueError(f"kernel: unknown covariance type {covariance_type!r}")


cdef Py_ssize_t _factor_size(int kind, Py_ssize_t K, Py_ssize_t d) except -1:
    """The flat size of a kind's factors ('spherical': one per component;
    FGM_FULL, FGM_TIED, FGM_DIAG are the drivers' FULL, TIED, DIAG)."""
    return K if kind == FGM_SPHERICAL else _u_size(kind, K, d)


def log_prob_constants(const double[::1] weights, const double[::1] U,
                       str covariance_type, Py_ssize_t n_features,
                       double half_d_log_2pi, double[::1] c):
    """c_k = log w_k + log det U_k - half_d_log_2pi into ``c`` (k,); U flat."""
    cdef int kind = _kind_of(covariance_type)
    cdef Py_ssize_t K = weights.shape[0], d = n_features
    if K < 1 or d < 1 or c.shape[0] != K or U.shape[0] != _factor_size(kind, K, d):
        raise ValueError("kernel: constants of the wrong shape")
    cdef double* tmp = <double*> malloc(d * sizeof(double))
    if tmp == NULL:
        raise MemoryError()
    fgm_constants(kind, K, d, &weights[0], &U[0], half_d_log_2pi, &c[0], tmp)
    free(tmp)


def common_orientation(w, S, D, bint equal_volume, Py_ssize_t max_sweeps, double tol):
    """EVE's and VVE's common orientation: D (d, d) overwritten by the Jacobi
    sweeps from D (at most ``max_sweeps``, until the objective changes by at
    most ``tol`` relative) for the weights ``w`` (k,) and the matrices ``S``
    (k, d, d); returns the number of sweeps. The arguments are checked
    (`_common.orientation_arguments`: ValueError). The Numba backend's
    `common_orientation`, the same bits."""
    w, S, D = _common.orientation_arguments(w, S, D)
    cdef const double[::1] w_v = w
    cdef const double[:, :, ::1] S_v = S
    cdef double[:, ::1] D_v = D
    cdef Py_ssize_t k = S_v.shape[0], d = S_v.shape[1], sweeps
    cdef double* M = <double*> malloc(k * d * d * sizeof(double))
    cdef double* a = <double*> malloc(k * d * sizeof(double))
    if M == NULL or a == NULL:
        free(M)
        free(a)
        raise MemoryError()
    with nogil:
        sweeps = fgm_common_orientation(k, d, &w_v[0], &S_v[0, 0, 0], &D_v[0, 0],
                                        equal_volume, max_sweeps, tol, M, a)
    free(M)
    free(a)
    return sweeps


def _add_reduce(const double[::1] a):
    """np.add.reduce(a) as the C of _mstep.h computes it (for the tests)."""
    if a.shape[0] == 0:
        return 0.0
    return fgm_sum(&a[0], a.shape[0], 1)


cdef Py_ssize_t _factor_full(Py_ssize_t K, Py_ssize_t d, const double* cov, double* U,
                             double* a) noexcept nogil:
    """U_k = inv(L_k)^T, L_k L_k^T = cov_k, as `precisions_cholesky`; the
    first ill-defined component, or -1. ``a``: d*d work space."""
    cdef int n = <int> d, info = 0, i, j
    cdef Py_ssize_t k
    cdef char lower = b'L', notrans = b'N', nonunit = b'N'
    cdef double* b
    for k in range(K):
        # f2py hands LAPACK a column-major copy of cov_k: cov_k itself, as
        # it is symmetric; the factor in b, column-major, is U_k row-major
        memcpy(a, cov + k * d * d, d * d * sizeof(double))
        dpotrf(&lower, &n, a, &n, &info)
        if info != 0:
            return k
        b = U + k * d * d
        memset(b, 0, d * d * sizeof(double))
        for i in range(n):
            b[i * n + i] = 1.0
        dtrtrs(&lower, &notrans, &nonunit, &n, &n, a, &n, b, &n, &info)
        if info != 0:
            return k
    for k in range(K):
        for i in range(n):
            for j in range(n):
                if not isfinite(U[(k * d + i) * d + j]):
                    return k
            if not U[(k * d + i) * d + i] > 0.0:
                return k
    return -1
