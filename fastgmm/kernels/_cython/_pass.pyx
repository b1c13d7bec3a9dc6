# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The Cython backend's fused pass: the driver `accumulate_partitions` of the
kernel contract, and the tiles that run through BLAS.

`fastgmm.kernels._backend` validates arguments, makes the partition buffers
and reduces them; `accumulate_partitions` (the same signature as the Numba
backend's) checks the shapes it relies on and runs the row ranges in
parallel with OpenMP (``prange``), each into its own partition slot, on the
worker its shape takes: the direct loops, the register-blocked 'full' tiles
and the row-major 'diag' tiles of `_tiles`, or the tiles here: 'full' with
many features runs (x - m) U and the weighted scatter of a tile through
``scipy.linalg.cython_blas`` (trmm, syrk) in X's own dtype; so does 'diag'
with many features, as two matrix products per tile (gemm, see
`_range_diag_gemm`).

The Student-t pass (``dof``, ``nr`` and ``tlu`` given: `TAKES_DOF`) runs on
the same workers, each taking the steps of `_tiles` ("the Student-t pass's
steps of a tile") around its unchanged log-probabilities (with zero
constants) and statistics; without them, the Gaussian pass's code is that
of before (the t steps are behind a test per tile).
"""

from cython.parallel cimport parallel, prange
from libc.math cimport sqrt
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dgemm, dsyrk, dtrmm, sgemm, ssyrk, strmm

from ._kernels cimport *
from ._tiles cimport (_add_counts, _check_params, _diag_rows, _load_weights, _range,
                      _range_diag_rows, _range_full_tiles, _responsibilities,
                      _rows_minus, _student_buffer, _student_logp, _student_weights,
                      _student_zeros, _u_size)

from fastgmm.kernels import _common

__all__ = ["accumulate_partitions", "TAKES_DOF"]

#: The drivers compute the Student-t pass: `accumulate_partitions` takes
#: ``dof, nr, tlu`` and ``_posterior.posterior_partitions`` ``dof``
#: (`fastgmm.kernels._backend`).
TAKES_DOF = True


# --- 'full' with many features: tiles through BLAS in X's dtype ---------------

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
                          const double* w, bint weighted, Py_ssize_t s,
                          Py_ssize_t nb, const double* c, floating* means_x,
                          floating* U_x, double* logp, floating* y) noexcept nogil:
    """log p of a tile for 'full' through BLAS, in X's dtype."""
    cdef Py_ssize_t k, b, j
    cdef double acc
    cdef double* row
    for k in range(K):
        _rows_minus(X, d, w, weighted, s, nb, means_x + k * d, y, d)
        _trmm_right_upper(U_x + k * d * d, y, <int> d, <int> nb)
        row = logp + k * TILE
        for b in range(nb):
            acc = 0.0
            for j in range(d):
                acc = acc + y[b * d + j] * y[b * d + j]
            row[b] = c[k] - 0.5 * acc


cdef double _range_full_blas(const floating* X, Py_ssize_t d, Py_ssize_t K,
                             const double* w, bint weighted, const double* c,
                             const double* means, const double* U,
                             Py_ssize_t start, Py_ssize_t stop, double* nk,
                             double* s1, double* s2, double ll, int* failed,
                             const double* dof, double* nr,
                             double* tlu) noexcept nogil:
    """`_range` for 'full' through BLAS tiles."""
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
    # the Student-t pass's: zero constants, u and log u of a tile
    cdef double* zeros = _student_zeros(dof, K)
    cdef double* u = _student_buffer(dof, K)
    cdef double* logu = _student_buffer(dof, K)
    cdef const double* cq = zeros if dof != NULL else c
    cdef double acc, r
    cdef Py_ssize_t s, nb, k, b, j, l
    cdef double* row
    if (means_x == NULL or U_x == NULL or diff == NULL or y == NULL
            or scatter == NULL or logp == NULL or top == NULL or total == NULL
            or acc1 == NULL or wt == NULL
            or (dof != NULL and (zeros == NULL or u == NULL or logu == NULL))):
        failed[0] = 1
        start = stop
    else:
        for j in range(K * d):
            means_x[j] = <floating> means[j]
        for j in range(K * d * d):
            U_x[j] = <floating> U[j]
    s = start
    while s < stop:
        nb = min(TILE, stop - s)
        _load_weights(w, weighted, s, nb, wt)
        _logp_full_blas(X, d, K, w, weighted, s, nb, cq, means_x, U_x, logp, y)
        if dof != NULL:
            _student_logp(logp, K, nb, d, c, dof, u, logu, True)
        ll += _responsibilities(logp, K, nb, wt, top, total)
        if dof != NULL:
            _student_weights(logp, K, nb, u, logu, nr, tlu)
        for k in range(K):
            row = logp + k * TILE
            _rows_minus(X, d, w, weighted, s, nb, means_x + k * d, diff, d)
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
    free(zeros)
    free(u)
    free(logu)
    return ll


# --- 'diag' with many features: tiles as matrix products in X's dtype ------------
#
# Around a centre g (the mean of the means), with z = x - g, a_k = m_k - g and
# p_kj the precisions:
#   ||(x - m_k) p_k||^2 = sum_j z_j^2 p_kj^2 - 2 sum_j z_j a_kj p_kj^2 + const_k,
# so the log-probabilities of a tile are one product [z^2, z] B of the tile's
# (nb x 2d) rows with a (2d x k) matrix B, and its statistics one product
# [z^2, z]^T R with the responsibilities: T2_k = sum_b wr_kb z_b^2,
# T1_k = sum_b wr_kb z_b, from which, per tile and in float64,
#   S1_k += T1_k - N_k a_k,   S2_k += T2_k - 2 a_k T1_k + N_k a_k^2.
# The expansion loses about (a_kj p_kj)^2 ulps (cancellation): the caller
# takes this path only while those stay small (`_common.diag_gemm_ok`).
# Column-major views: the tile q[b * 2d + j] (row-major rows [z^2, z]) is
# the (2d x nb) matrix Q^T with leading dimension 2d; logp and the
# responsibilities are (nb x k) with leading dimension TILE; B and the
# products G are (2d x k) with leading dimension 2d.

cdef void _gemm(bint trans_a, int m, int n, int kk, floating alpha, floating* a,
                int lda, floating* b, int ldb, floating beta, floating* c,
                int ldc) noexcept nogil:
    """Column-major C (m x n) <- alpha op(A) B + beta C; op(A) = A or A^T."""
    cdef char ta = b'T' if trans_a else b'N', tb = b'N'
    if floating is double:
        dgemm(&ta, &tb, &m, &n, &kk, &alpha, a, &lda, b, &ldb, &beta, c, &ldc)
    else:
        sgemm(&ta, &tb, &m, &n, &kk, &alpha, a, &lda, b, &ldb, &beta, c, &ldc)


cdef void _diag_gemm_setup(Py_ssize_t d, Py_ssize_t K, const double* c,
                           const double* means, const double* U,
                           const double* center, floating* g_x, double* shift,
                           floating* bmat, double* cst) noexcept nogil:
    """g (in X's dtype), a_k = m_k - g, B and const_k = c_k - a_k^2 p_k^2 / 2."""
    cdef Py_ssize_t k, j
    cdef double a, p2, acc
    cdef floating p2x
    for j in range(d):
        g_x[j] = <floating> center[j]
    for k in range(K):
        acc = 0.0
        for j in range(d):
            a = means[k * d + j] - <double> g_x[j]
            shift[k * d + j] = a
            p2x = <floating> (U[k * d + j] * U[k * d + j])
            p2 = <double> p2x
            bmat[k * 2 * d + j] = p2x
            bmat[k * 2 * d + d + j] = <floating> (-2.0 * a * p2)
            acc = acc + a * a * p2
        cst[k] = c[k] - 0.5 * acc


cdef void _load_gemm_tile(const floating* X, Py_ssize_t d, const double* w,
                          bint weighted, Py_ssize_t start, Py_ssize_t nb,
                          const floating* g_x, floating* q) noexcept nogil:
    """q[b * 2d + j] = z_bj^2, q[b * 2d + d + j] = z_bj; 0 for rows of weight 0."""
    cdef Py_ssize_t b, j
    cdef floating z
    cdef const floating* row
    cdef floating* out
    for b in range(nb):
        row = X + (start + b) * d
        out = q + b * 2 * d
        if weighted and w[start + b] == 0.0:
            for j in range(2 * d):
                out[j] = 0.0
        else:
            for j in range(d):
                z = row[j] - g_x[j]
                out[j] = z * z
                out[d + j] = z


cdef void _logp_diag_gemm(floating* qt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                          floating* bmat, const double* cst, double* logp,
                          floating* lx) noexcept nogil:
    """log p[k, b] = const_k - ([z^2, z] B)[b, k] / 2."""
    cdef Py_ssize_t k, b
    if floating is double:
        for k in range(K):
            for b in range(nb):
                logp[k * TILE + b] = cst[k]
        _gemm(True, <int> nb, <int> K, <int> (2 * d), -0.5, qt, <int> (2 * d), bmat,
              <int> (2 * d), 1.0, logp, TILE)
    else:
        _gemm(True, <int> nb, <int> K, <int> (2 * d), 1.0, qt, <int> (2 * d), bmat,
              <int> (2 * d), 0.0, lx, TILE)
        for k in range(K):
            for b in range(nb):
                logp[k * TILE + b] = cst[k] - 0.5 * <double> lx[k * TILE + b]


cdef void _stats_diag_gemm(floating* qt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                           const double* shift, double* wr, floating* rx,
                           floating* gx, double* cnt, double* nk, double* s1,
                           double* s2) noexcept nogil:
    """N, S1, S2 around m_k from [z^2, z]^T R (wr[k * TILE + b] = w_b r_kb)."""
    cdef Py_ssize_t k, j, b
    cdef double a, t1, t2
    _add_counts(wr, nb, K, nk, cnt)
    if floating is double:
        _gemm(False, <int> (2 * d), <int> K, <int> nb, 1.0, qt, <int> (2 * d), wr,
              TILE, 0.0, gx, <int> (2 * d))
    else:
        for k in range(K):
            for b in range(nb):
                rx[k * TILE + b] = <floating> wr[k * TILE + b]
        _gemm(False, <int> (2 * d), <int> K, <int> nb, 1.0, qt, <int> (2 * d), rx,
              TILE, 0.0, gx, <int> (2 * d))
    for k in range(K):
        for j in range(d):
            a = shift[k * d + j]
            t2 = <double> gx[k * 2 * d + j]
            t1 = <double> gx[k * 2 * d + d + j]
            s1[k * d + j] += t1 - cnt[k] * a
            s2[k * d + j] += (t2 - 2.0 * a * t1) + cnt[k] * a * a


cdef struct DiagGemm:
    # the buffers of one range's 'diag' products (X's dtype where void*)
    void* g_x
    void* bmat
    void* qt
    void* lx
    void* rx
    void* gx
    double* shift
    double* cst
    double* cnt


cdef bint _diag_gemm_alloc(DiagGemm* m, Py_ssize_t d, Py_ssize_t K,
                           size_t item) noexcept nogil:
    m.g_x = malloc(d * item)
    m.bmat = malloc(2 * d * K * item)
    m.qt = malloc(2 * d * TILE * item)
    m.lx = malloc(K * TILE * item)
    m.rx = malloc(K * TILE * item)
    m.gx = malloc(2 * d * K * item)
    m.shift = <double*> malloc(K * d * sizeof(double))
    m.cst = <double*> malloc(K * sizeof(double))
    m.cnt = <double*> malloc(K * sizeof(double))
    return (m.g_x != NULL and m.bmat != NULL and m.qt != NULL and m.lx != NULL
            and m.rx != NULL and m.gx != NULL and m.shift != NULL and m.cst != NULL
            and m.cnt != NULL)


cdef void _diag_gemm_free(DiagGemm* m) noexcept nogil:
    free(m.g_x)
    free(m.bmat)
    free(m.qt)
    free(m.lx)
    free(m.rx)
    free(m.gx)
    free(m.shift)
    free(m.cst)
    free(m.cnt)


cdef double _range_diag_gemm(const floating* X, Py_ssize_t d, Py_ssize_t K,
                             const double* w, bint weighted, const double* c,
                             const double* means, const double* U,
                             const double* center, Py_ssize_t start,
                             Py_ssize_t stop, double* nk, double* s1, double* s2,
                             double ll, int* failed, const double* dof, double* nr,
                             double* tlu) noexcept nogil:
    """`_range` for 'diag' through matrix products (the Student-t pass: the
    constants const_k made from zeros, so that the products give -delta/2,
    which the expansion may leave slightly below 0: `_student_logp` clips)."""
    cdef DiagGemm m
    cdef double* logp = <double*> malloc(K * TILE * sizeof(double))
    cdef double* top = <double*> malloc(TILE * sizeof(double))
    cdef double* total = <double*> malloc(TILE * sizeof(double))
    cdef double* wt = <double*> malloc(TILE * sizeof(double))
    cdef double* zeros = _student_zeros(dof, K)
    cdef double* u = _student_buffer(dof, K)
    cdef double* logu = _student_buffer(dof, K)
    cdef const double* cq = zeros if dof != NULL else c
    cdef Py_ssize_t s, nb
    cdef bint ok = _diag_gemm_alloc(&m, d, K, sizeof(floating))
    if (not ok or logp == NULL or top == NULL or total == NULL or wt == NULL
            or (dof != NULL and (zeros == NULL or u == NULL or logu == NULL))):
        failed[0] = 1
        start = stop
    else:
        _diag_gemm_setup(d, K, cq, means, U, center, <floating*> m.g_x, m.shift,
                         <floating*> m.bmat, m.cst)
    s = start
    while s < stop:
        nb = min(TILE, stop - s)
        _load_weights(w, weighted, s, nb, wt)
        _load_gemm_tile(X, d, w, weighted, s, nb, <floating*> m.g_x, <floating*> m.qt)
        _logp_diag_gemm(<floating*> m.qt, nb, d, K, <floating*> m.bmat, m.cst, logp,
                        <floating*> m.lx)
        if dof != NULL:
            _student_logp(logp, K, nb, d, c, dof, u, logu, True)
        ll += _responsibilities(logp, K, nb, wt, top, total)
        if dof != NULL:
            _student_weights(logp, K, nb, u, logu, nr, tlu)
        _stats_diag_gemm(<floating*> m.qt, nb, d, K, m.shift, logp, <floating*> m.rx,
                         <floating*> m.gx, m.cnt, nk, s1, s2)
        s += TILE
    _diag_gemm_free(&m)
    free(logp)
    free(top)
    free(total)
    free(wt)
    free(zeros)
    free(u)
    free(logu)
    return ll


# --- the parallel driver: the entry point of the kernel contract ------------------

def accumulate_partitions(
    const floating[:, ::1] X,          # IN (n, d)
    const double[::1] w,               # IN (n,) sample weights, or (0,): all 1
    const double[::1] c,               # IN (k,) log w_k + log det U_k - d/2 log 2 pi
    const double[::1] means,           # IN (k*d,) the means m_k the pass centres on
    const double[::1] U,               # IN flat precision Cholesky factors
    const double[::1] center,          # IN (d,) 'tied', 'diag' with BLAS (else any)
    const double[::1] shifted,         # IN (k*d,) 'tied' only, m_k - g
    const double[::1] shifted_u,       # IN (k*d,) 'tied' only, (m_k - g) U
    const Py_ssize_t[:, ::1] segments, # IN (m, 3) slot, start, stop; slots increasing
    double[:, ::1] nk,                 # IN/OUT (P, k), added to
    double[:, ::1] s1,                 # IN/OUT (P, k*d), added to
    double[:, ::1] s2,                 # IN/OUT (P, |S2|), added to
    double[:, ::1] cc,                 # IN/OUT (P, k*k 'tied' / 1), added to
    double[::1] ll,                    # IN/OUT (P,), continued tile after tile
    int kind,                          # FULL, TIED or DIAG (_common.KIND)
    bint use_blas,                     # 'full' or 'diag' through BLAS tiles
    int n_threads,                     # already capped at the usable cores
    const double[::1] dof=None,        # IN (k,) the Student-t pass; None: Gaussian
    double[:, ::1] nr=None,            # IN/OUT (P, k) with dof: sum w r, added to
    double[:, ::1] tlu=None,           # IN/OUT (P, k) with dof: sum w r (log u - u)
):
    """Add each segment's statistics (N, S1, S2, C, L) to its partition slot
    (with ``dof``, the Student-t pass's: N, S1, S2 and C weighted by r u, and
    nr, tlu)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = c.shape[0]
    cdef Py_ssize_t n_parts = ll.shape[0], m = segments.shape[0], i, p
    cdef Py_ssize_t previous = -1
    cdef bint weighted = w.shape[0] > 0
    cdef bint student = dof is not None
    cdef int failed = 0
    _check_params(d, K, kind, use_blas, means, U, center, shifted_u)
    if student != (nr is not None) or student != (tlu is not None):
        raise ValueError("kernel: the Student-t pass needs dof, nr and tlu together")
    if student and (dof.shape[0] != K or nr.shape[0] != n_parts or nr.shape[1] != K
                    or tlu.shape[0] != n_parts or tlu.shape[1] != K):
        raise ValueError("kernel: dof must have n_components values, nr and tlu "
                         "shape (n_partitions, n_components)")
    if weighted and w.shape[0] != n:
        raise ValueError("kernel: sample weights must have one value per row")
    if kind == TIED and (shifted.shape[0] != K * d or cc.shape[1] != K * K):
        raise ValueError("kernel: tied centering arrays have the wrong size")
    if (nk.shape[0] != n_parts or s1.shape[0] != n_parts or s2.shape[0] != n_parts
            or cc.shape[0] != n_parts or nk.shape[1] != K or s1.shape[1] != K * d
            or s2.shape[1] != _u_size(kind, K, d)):
        raise ValueError("kernel: partial statistics have the wrong shape")
    if segments.shape[1] != 3:
        raise ValueError("kernel: segments must be (slot, start, stop) rows")
    for i in range(m):
        if segments[i, 0] <= previous or segments[i, 0] >= n_parts:
            raise ValueError("kernel: segment slots must increase within range")
        if segments[i, 1] < 0 or segments[i, 2] < segments[i, 1] or segments[i, 2] > n:
            raise ValueError("kernel: segment rows out of range")
        previous = segments[i, 0]
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")
    if m == 0 or n == 0:
        return
    cdef const double* w_ptr = &w[0] if weighted else NULL
    cdef const double* center_ptr = &center[0] if center.shape[0] else NULL
    cdef const double* shifted_ptr = &shifted[0] if shifted.shape[0] else NULL
    cdef const double* shifted_u_ptr = &shifted_u[0] if shifted_u.shape[0] else NULL
    cdef bint full_tiles = (use_blas and kind == FULL
                            and d <= _common.FULL_TILES_MAX_FEATURES)
    # the Student-t pass's (NULL: the Gaussian pass); slot p's at + p * K
    cdef const double* dof_ptr = &dof[0] if student else NULL
    cdef double* nr_ptr = &nr[0, 0] if student else NULL
    cdef double* tlu_ptr = &tlu[0, 0] if student else NULL
    cdef double* slot_nr
    cdef double* slot_tlu
    with nogil, parallel(num_threads=n_threads):
        for i in prange(m, schedule="static"):
            p = segments[i, 0]
            slot_nr = nr_ptr + p * K if student else NULL
            slot_tlu = tlu_ptr + p * K if student else NULL
            if _diag_rows(kind, d, K):
                ll[p] = _range_diag_rows(
                    &X[0, 0], d, K, w_ptr, weighted, &c[0], &means[0], &U[0],
                    segments[i, 1], segments[i, 2], &nk[p, 0], &s1[p, 0], &s2[p, 0],
                    ll[p], &failed, dof_ptr, slot_nr, slot_tlu)
            elif use_blas and kind == DIAG:
                ll[p] = _range_diag_gemm(
                    &X[0, 0], d, K, w_ptr, weighted, &c[0], &means[0], &U[0],
                    center_ptr, segments[i, 1], segments[i, 2], &nk[p, 0], &s1[p, 0],
                    &s2[p, 0], ll[p], &failed, dof_ptr, slot_nr, slot_tlu)
            elif full_tiles:
                ll[p] = _range_full_tiles(
                    &X[0, 0], d, K, w_ptr, weighted, &c[0], &means[0], &U[0],
                    segments[i, 1], segments[i, 2], &nk[p, 0], &s1[p, 0], &s2[p, 0],
                    ll[p], &failed, dof_ptr, slot_nr, slot_tlu)
            elif use_blas:
                ll[p] = _range_full_blas(
                    &X[0, 0], d, K, w_ptr, weighted, &c[0], &means[0], &U[0],
                    segments[i, 1], segments[i, 2], &nk[p, 0], &s1[p, 0], &s2[p, 0],
                    ll[p], &failed, dof_ptr, slot_nr, slot_tlu)
            else:
                ll[p] = _range(
                    &X[0, 0], d, K, kind, w_ptr, weighted, &c[0], &means[0], &U[0],
                    center_ptr, shifted_ptr, shifted_u_ptr, segments[i, 1],
                    segments[i, 2], &nk[p, 0], &s1[p, 0], &s2[p, 0], &cc[p, 0],
                    ll[p], &failed, dof_ptr, slot_nr, slot_tlu)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's tile buffers")

