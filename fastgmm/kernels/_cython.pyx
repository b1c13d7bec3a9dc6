# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Cython backend: the compiled parallel drivers of the kernel contract.

`fastgmm.kernels._backend` validates arguments, makes the partition buffers
and reduces them; this module supplies the two drivers it calls,
`accumulate_partitions` and `posterior_partitions` (the same signatures as
the Numba backend's), each checking the shapes it relies on. Row ranges run
in parallel with OpenMP (``prange``), each into its own partition slot; a
range is worked in tiles of TILE rows, transposed so that inner loops run
over rows and vectorize; exp is the vectorizable one of ``_exp.h``. 'full'
with many features runs (x - m) U and the weighted scatter of a tile through
``scipy.linalg.cython_blas`` (trmm, syrk) in X's own dtype; so does 'diag'
with many features, as two matrix products per tile (gemm, see
`_range_diag_gemm`).

Arrays reach the per-range workers as pointers: means (k*d,), U (k*d*d,
d*d, k*d or k,), partial statistics (P, size). X is read as
``const floating[:, ::1]`` (float32 stays float32); everything else is
float64.
"""

cimport cython
from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY, NAN, isfinite, sqrt
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset
from scipy.linalg.cython_blas cimport dgemm, dsyrk, dtrmm, sgemm, ssyrk, strmm
from scipy.linalg.cython_lapack cimport dpotrf, dtrtrs

import numpy as np

from . import _common

cdef extern from "_exp.h" nogil:
    double exp_nonpositive "fastgmm_exp_nonpositive"(double x)
    double log_at_least_one "fastgmm_log_at_least_one"(double x)
    int FASTGMM_OPENMP
    int fastgmm_max_threads()

cdef extern from "_small_d.h" nogil:
    # the dispatchers: (size, x, nb, K, d, ...): size is d for the copies per
    # d, K for the row-major 'diag' tiles; 1 when done, 0 when not taken
    int FASTGMM_TILE
    int FASTGMM_ROW_BLOCK
    int FASTGMM_SMALL_D
    int FASTGMM_FEW_K
    int fastgmm_small_d_off
    int fastgmm_logp_full_small(Py_ssize_t size, const double* x, Py_ssize_t nb,
                                Py_ssize_t K, Py_ssize_t d, const double* c,
                                const double* means, const double* U, double* logp)
    int fastgmm_stats_full_small(Py_ssize_t size, const double* x, Py_ssize_t nb,
                                 Py_ssize_t K, Py_ssize_t d, const double* means,
                                 const double* wr, double* s1, double* s2)
    int fastgmm_logp_diag_small(Py_ssize_t size, const double* x, Py_ssize_t nb,
                                Py_ssize_t K, Py_ssize_t d, const double* c,
                                const double* means, const double* U, double* logp)
    int fastgmm_stats_diag_small(Py_ssize_t size, const double* x, Py_ssize_t nb,
                                 Py_ssize_t K, Py_ssize_t d, const double* means,
                                 const double* wr, double* s1, double* s2)
    int fastgmm_logp_diag_rows(Py_ssize_t size, const double* x, Py_ssize_t nb,
                               Py_ssize_t K, Py_ssize_t d, const double* c,
                               const double* means, const double* U, double* logp)
    int fastgmm_stats_diag_rows(Py_ssize_t size, const double* x, Py_ssize_t nb,
                                Py_ssize_t K, Py_ssize_t d, const double* means,
                                const double* wr, double* s1, double* s2)
    int fastgmm_logp_diag_rows_f(Py_ssize_t size, const float* x, Py_ssize_t nb,
                                 Py_ssize_t K, Py_ssize_t d, const double* c,
                                 const double* means, const double* U, double* logp)
    int fastgmm_stats_diag_rows_f(Py_ssize_t size, const float* x, Py_ssize_t nb,
                                  Py_ssize_t K, Py_ssize_t d, const double* means,
                                  const double* wr, double* s1, double* s2)

cdef extern from "_kmeans.h" nogil:
    void fastgmm_cumsum_search(const double* closest, const double* w, Py_ssize_t n,
                               const double* targets, const Py_ssize_t* order,
                               Py_ssize_t T, Py_ssize_t* picked)
    void fgk_block_d(const double* X, Py_ssize_t d, const double* offset,
                     Py_ssize_t i, Py_ssize_t nr, double* xt)
    void fgk_block_f(const float* X, Py_ssize_t d, const double* offset,
                     Py_ssize_t i, Py_ssize_t nr, double* xt)
    Py_ssize_t fastgmm_km_block(const double* xt, Py_ssize_t nr, Py_ssize_t d,
                                Py_ssize_t K, const double* centers, const double* cn,
                                const double* w, Py_ssize_t* labels, int update,
                                double* sums, double* counts)
    void fastgmm_kpp_block(const double* xt, Py_ssize_t nr, Py_ssize_t d,
                           Py_ssize_t T, const double* cands, const double* cn,
                           const double* xs, double* cl, const double* w, int update,
                           double* part)
    double fgk_einsum_dot(const double* a, const double* b, Py_ssize_t n, int W,
                          int fused)
    void fgk_einsum_squares(const double* x, Py_ssize_t d, int fused, double* part)
    void fgk_sum_rows(const double* a, Py_ssize_t P, Py_ssize_t T, double* out)
    void fgk_column_sums_d(const double* X, Py_ssize_t n, Py_ssize_t d, double* out)
    void fgk_column_sums_f(const float* X, Py_ssize_t n, Py_ssize_t d, double* out)

cdef extern from "_mstep.h" nogil:
    enum:
        FGM_FULL
        FGM_TIED
        FGM_DIAG
        FGM_SPHERICAL
    double fgm_sum(const double* a, Py_ssize_t n, Py_ssize_t stride)
    void fgm_mirror_upper(Py_ssize_t K, Py_ssize_t d, double* s2)
    void fgm_m_step(int kind, Py_ssize_t K, Py_ssize_t d, const double* nk_in,
                    const double* s1, const double* s2, const double* centers,
                    double reg, double eps10, double total_weight, double* nk,
                    double* delta, double* weights, double* means, double* cov)
    Py_ssize_t fgm_factor_variances(Py_ssize_t n, const double* cov, double* U)
    void fgm_constants(int kind, Py_ssize_t K, Py_ssize_t d, const double* weights,
                       const double* U, double half_d_log_2pi, double* c, double* tmp)

cdef extern from "_full_tiles.h" nogil:
    void fastgmm_full_dist_f(const float* z, Py_ssize_t dp, Py_ssize_t nb,
                             const float* U, float* dist)
    void fastgmm_full_dist_d(const double* z, Py_ssize_t dp, Py_ssize_t nb,
                             const double* U, double* dist)
    void fastgmm_full_scatter_f(const float* wz, const float* z, Py_ssize_t dp,
                                Py_ssize_t nb, float* G)
    void fastgmm_full_scatter_d(const double* wz, const double* z, Py_ssize_t dp,
                                Py_ssize_t nb, double* G)
    void fastgmm_full_weigh_f(const float* z, Py_ssize_t dp, Py_ssize_t nb,
                              const double* r, float* wz, double* t1)
    void fastgmm_full_weigh_d(const double* z, Py_ssize_t dp, Py_ssize_t nb,
                              const double* r, double* wz, double* t1)

ctypedef fused floating:
    float
    double

ctypedef fused floating_out:
    float
    double

# The kinds of pass of the drivers' switch (the values of _common.KIND;
# 'spherical' runs as DIAG).
cdef enum:
    FULL = 0
    TIED = 1
    DIAG = 2

cdef enum:
    TILE = 256  # rows per tile: _common.TILE

if (FULL, TIED, DIAG) != (_common.FULL, _common.TIED, _common.DIAG) \
        or (FGM_FULL, FGM_TIED, FGM_DIAG) != (FULL, TIED, DIAG) \
        or TILE != _common.TILE or FASTGMM_TILE != TILE \
        or TILE % FASTGMM_ROW_BLOCK != 0 \
        or FASTGMM_SMALL_D != _common.SMALL_D_MAX_FEATURES \
        or FASTGMM_FEW_K != _common.DIAG_ROWS_MAX_COMPONENTS:
    raise ImportError("fastgmm's Cython extension was built from other sources "
                      "than fastgmm.kernels._common; rebuild it (pip install -e .)")

OPENMP = bool(FASTGMM_OPENMP)


def set_small_d(bint on):
    """Whether `_small_d.h`'s copies run (the default: 'full' and 'diag' at
    d <= 8, 'diag' with few components on row-major tiles) or the paths they
    replace: for benchmarks/small_d_ab.py, which times one against the other
    in one process. Not for use during a pass."""
    global fastgmm_small_d_off
    fastgmm_small_d_off = 0 if on else 1


def max_threads():
    """Threads OpenMP would use (1 when built without OpenMP)."""
    return fastgmm_max_threads()


# --- tile steps shared by every covariance type ------------------------------------

cdef inline Py_ssize_t _whole(Py_ssize_t nb) noexcept nogil:
    """nb rounded up to whole vectors of rows (FASTGMM_ROW_BLOCK, 16): a loop
    over a tile's rows runs to here, and the compiler, which can see that the
    count is a multiple of 16, emits no scalar remainder: every row goes
    through the same vector code, whatever its place in the tile (the rule of
    docs/design.md, "A row's bits"). TILE is a multiple of 16, so the buffers
    hold these rows; their values are never used."""
    return (nb + (FASTGMM_ROW_BLOCK - 1)) & ~(<Py_ssize_t> (FASTGMM_ROW_BLOCK - 1))


cdef void _load_tile(const floating* X, Py_ssize_t d, const double* w, bint weighted,
                     Py_ssize_t start, Py_ssize_t nb, const double* fill,
                     double* xt) noexcept nogil:
    """xt[j * TILE + b] = X[start + b, j] as double; ``fill`` for weight 0.

    A row of weight 0 must not act, even where its values would overflow (a
    row of 1e200 squares to inf, and 0 * inf is NaN): it is read as ``fill``
    (a mean), which gives finite log-probabilities, and then adds nothing.
    The rows after the last, up to `_whole` (a multiple of 16), are ``fill``
    too: the loops over rows compute whole vectors of rows (so that a row gets
    the same bits wherever it falls in a tile); their results are not used.
    """
    cdef Py_ssize_t b, j
    cdef const floating* row
    for b in range(nb):
        row = X + (start + b) * d
        if weighted and w[start + b] == 0.0:
            for j in range(d):
                xt[j * TILE + b] = fill[j]
        else:
            for j in range(d):
                xt[j * TILE + b] = row[j]
    for b in range(nb, _whole(nb)):
        for j in range(d):
            xt[j * TILE + b] = fill[j]


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


cdef void _pad_rows(double* logp, Py_ssize_t K, Py_ssize_t nb) noexcept nogil:
    """log p[k, b] = 0 for nb <= b < `_whole` (nb): the rows that the loops
    below compute and nobody reads, defined so that they stay finite."""
    cdef Py_ssize_t b, k
    for k in range(K):
        for b in range(nb, _whole(nb)):
            logp[k * TILE + b] = 0.0


cdef void _row_max(const double* logp, Py_ssize_t K, Py_ssize_t nb,
                   double* top) noexcept nogil:
    """top[b] = max_k log p[k, b], for b < `_whole` (nb)."""
    cdef Py_ssize_t b, k
    cdef const double* row
    for b in range(_whole(nb)):
        top[b] = logp[b]
    for k in range(1, K):
        row = logp + k * TILE
        for b in range(_whole(nb)):
            top[b] = row[b] if row[b] > top[b] else top[b]


cdef void _exp_shifted(double* logp, Py_ssize_t K, Py_ssize_t nb,
                       const double* top, double* total) noexcept nogil:
    """log p[k, b] -> exp(log p[k, b] - top[b]) in place; total[b] = their sum
    (for b < `_whole` (nb): every row through the same vector code)."""
    cdef Py_ssize_t b, k
    cdef double e
    cdef double* row
    for b in range(_whole(nb)):
        total[b] = 0.0
    for k in range(K):
        row = logp + k * TILE
        for b in range(_whole(nb)):
            e = exp_nonpositive(row[b] - top[b])
            row[b] = e
            total[b] += e


cdef void _log_norm(const double* top, const double* total, Py_ssize_t nb,
                    double* lse) noexcept nogil:
    """lse[b] = top[b] + log(total[b]), for b < `_whole` (nb)."""
    cdef Py_ssize_t b
    for b in range(_whole(nb)):
        lse[b] = top[b] + log_at_least_one(total[b])


cdef double _responsibilities(double* logp, Py_ssize_t n_components, Py_ssize_t nb,
                              const double* w, double* top,
                              double* total) noexcept nogil:
    """log p -> w_b r_kb in place; return sum_b w_b lse_b (w: the tile's weights).

    log p must be defined for b < nb; the rows up to `_whole` (nb) are set
    here. top receives lse_b."""
    cdef Py_ssize_t b, k
    cdef double ll = 0.0
    cdef double* row
    _pad_rows(logp, n_components, nb)
    _row_max(logp, n_components, nb, top)
    _exp_shifted(logp, n_components, nb, top, total)
    _log_norm(top, total, nb, top)
    for b in range(nb):
        # branch-free so that it vectorizes; a zero weight adds nothing, even
        # to a row whose log-likelihood is -inf
        ll = ll + (w[b] * top[b] if w[b] != 0.0 else 0.0)
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
    if fastgmm_logp_full_small(d, xt, nb, K, d, c, means, U, logp):
        return  # d <= 8: _small_d.h, in registers
    for k in range(K):
        Uk = U + k * d * d
        row = logp + k * TILE
        for l in range(d):
            m = means[k * d + l]
            for b in range(_whole(nb)):
                diff[l * TILE + b] = xt[l * TILE + b] - m
        for b in range(_whole(nb)):
            row[b] = 0.0
        for j in range(d):
            u = Uk[j]
            for b in range(_whole(nb)):
                y[b] = diff[b] * u
            for l in range(1, j + 1):
                u = Uk[l * d + j]
                for b in range(_whole(nb)):
                    y[b] += diff[l * TILE + b] * u
            for b in range(_whole(nb)):
                row[b] += y[b] * y[b]
        for b in range(_whole(nb)):
            row[b] = c[k] - 0.5 * row[b]


cdef void _logp_diag(const double* xt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                     const double* c, const double* means, const double* U,
                     double* logp) noexcept nogil:
    cdef Py_ssize_t k, j, b
    cdef double m, p, t
    cdef double* row
    if fastgmm_logp_diag_small(d, xt, nb, K, d, c, means, U, logp):
        return  # d <= 8: _small_d.h, in registers
    for k in range(K):
        row = logp + k * TILE
        for b in range(_whole(nb)):
            row[b] = 0.0
        for j in range(d):
            m = means[k * d + j]
            p = U[k * d + j]
            for b in range(_whole(nb)):
                t = (xt[j * TILE + b] - m) * p
                row[b] += t * t
        for b in range(_whole(nb)):
            row[b] = c[k] - 0.5 * row[b]


cdef void _logp_tied(const double* xt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                     const double* c, const double* U, const double* center,
                     const double* shifted_u, double* logp,
                     double* y0) noexcept nogil:
    # (x - m_k) U = (x - g) U - (m_k - g) U: one triangular product per row
    cdef Py_ssize_t k, j, l, b
    cdef double u, g, s, t
    cdef double* row
    for j in range(d):
        for b in range(_whole(nb)):
            y0[j * TILE + b] = 0.0
        for l in range(j + 1):
            u = U[l * d + j]
            g = center[l]
            for b in range(_whole(nb)):
                y0[j * TILE + b] += (xt[l * TILE + b] - g) * u
    for k in range(K):
        row = logp + k * TILE
        for b in range(_whole(nb)):
            row[b] = 0.0
        for j in range(d):
            s = shifted_u[k * d + j]
            for b in range(_whole(nb)):
                t = y0[j * TILE + b] - s
                row[b] += t * t
        for b in range(_whole(nb)):
            row[b] = c[k] - 0.5 * row[b]


# --- statistics of a tile (wr[k * TILE + b] = w_b r_kb) --------------------------

cdef void _add_counts(const double* wr, Py_ssize_t nb, Py_ssize_t K,
                      double* nk, double* tile) noexcept nogil:
    """nk[k] += sum_b w_b r_kb; the tile's own sums into ``tile`` unless NULL."""
    cdef Py_ssize_t k, b
    cdef double acc
    cdef const double* row
    for k in range(K):
        row = wr + k * TILE
        acc = 0.0
        for b in range(nb):
            acc = acc + row[b]
        if tile != NULL:
            tile[k] = acc
        nk[k] += acc


cdef void _stats_full(const double* xt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                      const double* means, const double* wr, double* nk, double* s1,
                      double* s2, double* diff, double* t) noexcept nogil:
    cdef Py_ssize_t k, j, l, b
    cdef double m, v, acc
    cdef const double* row
    _add_counts(wr, nb, K, nk, NULL)
    if fastgmm_stats_full_small(d, xt, nb, K, d, means, wr, s1, s2):
        return  # d <= 8: _small_d.h, in registers
    for k in range(K):
        row = wr + k * TILE
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
    _add_counts(wr, nb, K, nk, NULL)
    if fastgmm_stats_diag_small(d, xt, nb, K, d, means, wr, s1, s2):
        return  # d <= 8: _small_d.h, in registers
    for k in range(K):
        row = wr + k * TILE
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
    _add_counts(wr, nb, K, nk, NULL)
    for k in range(K):
        row = wr + k * TILE
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

# --- one row range of one partition ---------------------------------------------

cdef double _range(const floating* X, Py_ssize_t d, Py_ssize_t K, int kind,
                   const double* w, bint weighted, const double* c,
                   const double* means, const double* U, const double* center,
                   const double* shifted, const double* shifted_u, Py_ssize_t start,
                   Py_ssize_t stop, double* nk, double* s1, double* s2, double* cc,
                   double ll, int* failed) noexcept nogil:
    """Add rows [start, stop) to one slot; return its log-likelihood continued.

    The direct-loop path of every kind. Tile after tile, so that a range
    continued by a later call adds up to the same bits. Sets ``failed[0]``
    when its buffers cannot be allocated.
    """
    cdef double* xt = <double*> malloc(d * TILE * sizeof(double))
    cdef double* logp = <double*> malloc(K * TILE * sizeof(double))
    cdef double* work = <double*> malloc(d * TILE * sizeof(double))
    cdef double* y = <double*> malloc(TILE * sizeof(double))
    cdef double* top = <double*> malloc(TILE * sizeof(double))
    cdef double* total = <double*> malloc(TILE * sizeof(double))
    cdef double* wt = <double*> malloc(TILE * sizeof(double))
    cdef Py_ssize_t s, nb
    if (xt == NULL or logp == NULL or work == NULL or y == NULL or top == NULL
            or total == NULL or wt == NULL):
        failed[0] = 1
        start = stop
    s = start
    while s < stop:
        nb = min(TILE, stop - s)
        _load_tile(X, d, w, weighted, s, nb, means, xt)
        _load_weights(w, weighted, s, nb, wt)
        if kind == FULL:
            _logp_full(xt, nb, d, K, c, means, U, logp, work, y)
        elif kind == TIED:
            _logp_tied(xt, nb, d, K, c, U, center, shifted_u, logp, work)
        else:
            _logp_diag(xt, nb, d, K, c, means, U, logp)
        ll += _responsibilities(logp, K, nb, wt, top, total)
        if kind == FULL:
            _stats_full(xt, nb, d, K, means, logp, nk, s1, s2, work, y)
        elif kind == TIED:
            _stats_tied(xt, nb, d, K, wt, means, center, shifted, logp, nk, s1,
                        s2, cc, work, top)
        else:
            _stats_diag(xt, nb, d, K, means, logp, nk, s1, s2)
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

cdef void _rows_minus(const floating* X, Py_ssize_t d, const double* w,
                      bint weighted, Py_ssize_t start, Py_ssize_t nb,
                      const floating* vec, floating* out,
                      Py_ssize_t ld) noexcept nogil:
    """out[b * ld + j] = X[start + b, j] - vec[j] (j < d); 0 for rows of weight 0."""
    cdef Py_ssize_t b, j
    cdef const floating* row
    for b in range(nb):
        row = X + (start + b) * d
        if weighted and w[start + b] == 0.0:
            for j in range(d):
                out[b * ld + j] = 0.0
        else:
            for j in range(d):
                out[b * ld + j] = row[j] - vec[j]


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
                             double* s1, double* s2, double ll,
                             int* failed) noexcept nogil:
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
    cdef double acc, r
    cdef Py_ssize_t s, nb, k, b, j, l
    cdef double* row
    if (means_x == NULL or U_x == NULL or diff == NULL or y == NULL
            or scatter == NULL or logp == NULL or top == NULL or total == NULL
            or acc1 == NULL or wt == NULL):
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
        _logp_full_blas(X, d, K, w, weighted, s, nb, c, means_x, U_x, logp, y)
        ll += _responsibilities(logp, K, nb, wt, top, total)
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
                             double ll, int* failed) noexcept nogil:
    """`_range` for 'diag' through matrix products."""
    cdef DiagGemm m
    cdef double* logp = <double*> malloc(K * TILE * sizeof(double))
    cdef double* top = <double*> malloc(TILE * sizeof(double))
    cdef double* total = <double*> malloc(TILE * sizeof(double))
    cdef double* wt = <double*> malloc(TILE * sizeof(double))
    cdef Py_ssize_t s, nb
    cdef bint ok = _diag_gemm_alloc(&m, d, K, sizeof(floating))
    if not ok or logp == NULL or top == NULL or total == NULL or wt == NULL:
        failed[0] = 1
        start = stop
    else:
        _diag_gemm_setup(d, K, c, means, U, center, <floating*> m.g_x, m.shift,
                         <floating*> m.bmat, m.cst)
    s = start
    while s < stop:
        nb = min(TILE, stop - s)
        _load_weights(w, weighted, s, nb, wt)
        _load_gemm_tile(X, d, w, weighted, s, nb, <floating*> m.g_x, <floating*> m.qt)
        _logp_diag_gemm(<floating*> m.qt, nb, d, K, <floating*> m.bmat, m.cst, logp,
                        <floating*> m.lx)
        ll += _responsibilities(logp, K, nb, wt, top, total)
        _stats_diag_gemm(<floating*> m.qt, nb, d, K, m.shift, logp, <floating*> m.rx,
                         <floating*> m.gx, m.cnt, nk, s1, s2)
        s += TILE
    _diag_gemm_free(&m)
    free(logp)
    free(top)
    free(total)
    free(wt)
    return ll


# --- 'full' with up to FULL_TILES_MAX_FEATURES features: register-blocked tiles --
#
# Per tile and component, in X's dtype: z = x - m_k (the means as X's dtype
# has them, as in `_range_full_blas`: `recenter_full`), |z U_k|^2 and the
# scatter sum_b w_bk z_b z_b^T from register-blocked loops (_full_tiles.h);
# S1 and the sums over a tile's rows go to float64 per tile. Tiles are
# row-major with dp columns (the features rounded up to whole vectors,
# zero-padded); a row of weight 0 is a zero row.

cdef void _load_full_tile(const floating* X, Py_ssize_t d, Py_ssize_t dp,
                          const double* w, bint weighted, Py_ssize_t start,
                          Py_ssize_t nb, const floating* mean,
                          floating* z) noexcept nogil:
    """`_rows_minus` into rows of dp, and zero rows from nb up to `_whole` (nb)
    (the distances take rows in fours; the posterior reads whole blocks)."""
    cdef Py_ssize_t b, j
    _rows_minus(X, d, w, weighted, start, nb, mean, z, dp)
    for b in range(nb, _whole(nb)):
        for j in range(d):
            z[b * dp + j] = 0.0


cdef void _full_tiles_factors(Py_ssize_t d, Py_ssize_t K, Py_ssize_t dp,
                              const double* means, const double* U,
                              floating* means_x, floating* up) noexcept nogil:
    """The means and factors in X's dtype for _full_tiles.h: means_x (K x d),
    up (K x dp x dp, upper triangles; its padding, zeroed by the caller,
    stays 0)."""
    cdef Py_ssize_t j, k, l
    for j in range(K * d):
        means_x[j] = <floating> means[j]
    for k in range(K):
        for j in range(d):
            for l in range(j, d):
                up[(k * dp + j) * dp + l] = <floating> U[(k * d + j) * d + l]


cdef double _range_full_tiles(const floating* X, Py_ssize_t d, Py_ssize_t K,
                              const double* w, bint weighted, const double* c,
                              const double* means, const double* U,
                              Py_ssize_t start, Py_ssize_t stop, double* nk,
                              double* s1, double* s2, double ll,
                              int* failed) noexcept nogil:
    """`_range` for 'full' through register-blocked tiles (_full_tiles.h)."""
    cdef Py_ssize_t lanes = 32 // sizeof(floating)
    cdef Py_ssize_t dp = ((d + lanes - 1) // lanes) * lanes
    # zero-filled: the padding columns stay 0
    cdef floating* means_x = <floating*> calloc(K * d, sizeof(floating))
    cdef floating* up = <floating*> calloc(K * dp * dp, sizeof(floating))
    cdef floating* z = <floating*> calloc(TILE * dp, sizeof(floating))
    cdef floating* wz = <floating*> calloc(TILE * dp, sizeof(floating))
    cdef floating* gx = <floating*> calloc(dp * dp, sizeof(floating))
    cdef floating* dist = <floating*> calloc(TILE, sizeof(floating))
    cdef double* t1 = <double*> malloc(dp * sizeof(double))
    cdef double* logp = <double*> malloc(K * TILE * sizeof(double))
    cdef double* top = <double*> malloc(TILE * sizeof(double))
    cdef double* total = <double*> malloc(TILE * sizeof(double))
    cdef double* wt = <double*> malloc(TILE * sizeof(double))
    cdef Py_ssize_t s, nb, k, b, j, l
    if (means_x == NULL or up == NULL or z == NULL or wz == NULL or gx == NULL
            or dist == NULL or t1 == NULL or logp == NULL or top == NULL
            or total == NULL or wt == NULL):
        failed[0] = 1
        start = stop
    else:
        _full_tiles_factors(d, K, dp, means, U, means_x, up)
    s = start
    while s < stop:
        nb = min(TILE, stop - s)
        _load_weights(w, weighted, s, nb, wt)
        for k in range(K):
            _load_full_tile(X, d, dp, w, weighted, s, nb, means_x + k * d, z)
            if floating is double:
                fastgmm_full_dist_d(z, dp, nb, up + k * dp * dp, dist)
            else:
                fastgmm_full_dist_f(z, dp, nb, up + k * dp * dp, dist)
            for b in range(nb):
                logp[k * TILE + b] = c[k] - 0.5 * <double> dist[b]
        ll += _responsibilities(logp, K, nb, wt, top, total)
        _add_counts(logp, nb, K, nk, NULL)
        for k in range(K):
            _load_full_tile(X, d, dp, w, weighted, s, nb, means_x + k * d, z)
            if floating is double:
                fastgmm_full_weigh_d(z, dp, nb, logp + k * TILE, wz, t1)
                fastgmm_full_scatter_d(wz, z, dp, nb, gx)
            else:
                fastgmm_full_weigh_f(z, dp, nb, logp + k * TILE, wz, t1)
                fastgmm_full_scatter_f(wz, z, dp, nb, gx)
            for j in range(d):
                s1[k * d + j] += t1[j]
                for l in range(j, d):
                    s2[(k * d + j) * d + l] += <double> gx[j * dp + l]
        s += TILE
    free(means_x)
    free(up)
    free(z)
    free(wz)
    free(gx)
    free(dist)
    free(t1)
    free(logp)
    free(top)
    free(total)
    free(wt)
    return ll


# --- 'diag' with few components and many features: row-major tiles -------------

cdef inline bint _diag_rows(int kind, Py_ssize_t d, Py_ssize_t K) noexcept nogil:
    """Whether a 'diag' pass of this shape runs on row-major tiles
    (`_small_d.h`): at most FASTGMM_FEW_K components, more features than the
    copies per d take."""
    return (kind == DIAG and K <= FASTGMM_FEW_K and d > FASTGMM_SMALL_D
            and not fastgmm_small_d_off)


cdef void _load_rows(const floating* X, Py_ssize_t d, const double* w, bint weighted,
                     Py_ssize_t start, Py_ssize_t nb, const double* fill,
                     double* xr) noexcept nogil:
    """xr[b * d + j] = X[start + b, j] as double; ``fill`` for weight 0."""
    cdef Py_ssize_t b, j
    cdef const floating* row
    for b in range(nb):
        row = X + (start + b) * d
        if weighted and w[start + b] == 0.0:
            for j in range(d):
                xr[b * d + j] = fill[j]
        else:
            for j in range(d):
                xr[b * d + j] = row[j]


cdef double _range_diag_rows(const floating* X, Py_ssize_t d, Py_ssize_t K,
                             const double* w, bint weighted, const double* c,
                             const double* means, const double* U, Py_ssize_t start,
                             Py_ssize_t stop, double* nk, double* s1, double* s2,
                             double ll, int* failed) noexcept nogil:
    """`_range` for 'diag' with few components, on row-major tiles."""
    # a float64 copy of the tile only with sample weights (rows of weight 0
    # read as a mean); otherwise the kernels read X's rows in place
    cdef double* xr = <double*> malloc(TILE * d * sizeof(double)) if weighted else NULL
    cdef double* logp = <double*> malloc(K * TILE * sizeof(double))
    cdef double* top = <double*> malloc(TILE * sizeof(double))
    cdef double* total = <double*> malloc(TILE * sizeof(double))
    cdef double* wt = <double*> malloc(TILE * sizeof(double))
    cdef Py_ssize_t s, nb
    if ((weighted and xr == NULL) or logp == NULL or top == NULL or total == NULL
            or wt == NULL):
        failed[0] = 1
        start = stop
    s = start
    while s < stop:
        nb = min(TILE, stop - s)
        _load_weights(w, weighted, s, nb, wt)
        if weighted:
            _load_rows(X, d, w, weighted, s, nb, means, xr)
            fastgmm_logp_diag_rows(K, xr, nb, K, d, c, means, U, logp)
        elif floating is double:  # the tile's rows as they are
            fastgmm_logp_diag_rows(K, X + s * d, nb, K, d, c, means, U, logp)
        else:
            fastgmm_logp_diag_rows_f(K, X + s * d, nb, K, d, c, means, U, logp)
        ll += _responsibilities(logp, K, nb, wt, top, total)
        _add_counts(logp, nb, K, nk, NULL)
        if weighted:
            fastgmm_stats_diag_rows(K, xr, nb, K, d, means, logp, s1, s2)
        elif floating is double:
            fastgmm_stats_diag_rows(K, X + s * d, nb, K, d, means, logp, s1, s2)
        else:
            fastgmm_stats_diag_rows_f(K, X + s * d, nb, K, d, means, logp, s1, s2)
        s += TILE
    free(xr)
    free(logp)
    free(top)
    free(total)
    free(wt)
    return ll


# --- posteriors ------------------------------------------------------------------

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
                           Py_ssize_t* labels, int* failed) noexcept nogil:
    """Per-row results of rows [start, stop), tile by tile.

    No BLAS call here: a BLAS product's bits for one row depend on the
    product's shape and on where the row falls in it (OpenBLAS's kernels
    for edges and for small matrices), so per-row outputs run on our own
    loops, whose arithmetic is the same for every row (docs/design.md, "A
    row's bits"). 'full' with `_common.BLAS_MIN_FEATURES` features or more
    (``use_blas``) runs the register-blocked tiles of the fit (_full_tiles.h,
    in X's dtype); 'diag' the direct loops, in float64.
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
    cdef Py_ssize_t s, nb, j, k, l, b
    cdef bint ok = (xt != NULL and logp != NULL and work != NULL and y != NULL
                    and top != NULL and total != NULL)
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
                fastgmm_logp_diag_rows(K, X + s * d, nb, K, d, c, means, U, logp)
            else:
                fastgmm_logp_diag_rows_f(K, X + s * d, nb, K, d, c, means, U, logp)
        elif full_tiles:
            for k in range(K):
                _load_full_tile(X, d, dp, NULL, False, s, nb, means_x + k * d, z)
                if floating is double:
                    fastgmm_full_dist_d(z, dp, _whole(nb), up + k * dp * dp, dist)
                else:
                    fastgmm_full_dist_f(z, dp, _whole(nb), up + k * dp * dp, dist)
                for b in range(_whole(nb)):
                    logp[k * TILE + b] = c[k] - 0.5 * <double> dist[b]
        else:
            _load_tile(X, d, NULL, False, s, nb, means, xt)
            if kind == FULL:
                _logp_full(xt, nb, d, K, c, means, U, logp, work, y)
            elif kind == TIED:
                _logp_tied(xt, nb, d, K, c, U, center, shifted_u, logp, work)
            else:
                _logp_diag(xt, nb, d, K, c, means, U, logp)
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


# --- the parallel drivers: entry points of the kernel contract ---------------------

cdef Py_ssize_t _u_size(int kind, Py_ssize_t K, Py_ssize_t d) except -1:
    if kind == FULL:
        return K * d * d
    if kind == TIED:
        return d * d
    if kind == DIAG:
        return K * d
    raise ValueError(f"kernel: unknown covariance kind {kind}")


def _check_params(Py_ssize_t d, Py_ssize_t K, int kind, bint use_blas, means, U, center,
                  shifted_u):
    if means.shape[0] != K * d:
        raise ValueError("kernel: means must have n_components * n_features values")
    if U.shape[0] != _u_size(kind, K, d):
        raise ValueError("kernel: precisions_cholesky has the wrong size")
    if kind == TIED and (center.shape[0] != d or shifted_u.shape[0] != K * d):
        raise ValueError("kernel: tied centering arrays have the wrong size")
    if use_blas and kind == TIED:
        raise ValueError("kernel: 'tied' has no BLAS path")
    if use_blas and kind == DIAG and center.shape[0] != d:
        raise ValueError("kernel: the 'diag' products need a centre of n_features")
    if K < 1 or d < 1:
        raise ValueError("kernel: need at least one component and one feature")


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
):
    """Add each segment's statistics (N, S1, S2, C, L) to its partition slot."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = c.shape[0]
    cdef Py_ssize_t n_parts = ll.shape[0], m = segments.shape[0], i, p
    cdef Py_ssize_t previous = -1
    cdef bint weighted = w.shape[0] > 0
    cdef int failed = 0
    _check_params(d, K, kind, use_blas, means, U, center, shifted_u)
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
    with nogil, parallel(num_threads=n_threads):
        for i in prange(m, schedule="static"):
            p = segments[i, 0]
            if _diag_rows(kind, d, K):
                ll[p] = _range_diag_rows(
                    &X[0, 0], d, K, w_ptr, weighted, &c[0], &means[0], &U[0],
                    segments[i, 1], segments[i, 2], &nk[p, 0], &s1[p, 0], &s2[p, 0],
                    ll[p], &failed)
            elif use_blas and kind == DIAG:
                ll[p] = _range_diag_gemm(
                    &X[0, 0], d, K, w_ptr, weighted, &c[0], &means[0], &U[0],
                    center_ptr, segments[i, 1], segments[i, 2], &nk[p, 0], &s1[p, 0],
                    &s2[p, 0], ll[p], &failed)
            elif full_tiles:
                ll[p] = _range_full_tiles(
                    &X[0, 0], d, K, w_ptr, weighted, &c[0], &means[0], &U[0],
                    segments[i, 1], segments[i, 2], &nk[p, 0], &s1[p, 0], &s2[p, 0],
                    ll[p], &failed)
            elif use_blas:
                ll[p] = _range_full_blas(
                    &X[0, 0], d, K, w_ptr, weighted, &c[0], &means[0], &U[0],
                    segments[i, 1], segments[i, 2], &nk[p, 0], &s1[p, 0], &s2[p, 0],
                    ll[p], &failed)
            else:
                ll[p] = _range(
                    &X[0, 0], d, K, kind, w_ptr, weighted, &c[0], &means[0], &U[0],
                    center_ptr, shifted_ptr, shifted_u_ptr, segments[i, 1],
                    segments[i, 2], &nk[p, 0], &s1[p, 0], &s2[p, 0], &cc[p, 0],
                    ll[p], &failed)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's tile buffers")


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
):
    """Per-row results from log p, partition by partition."""
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
    if n == 0:
        return
    cdef floating_out* norm_ptr = &log_norm[0] if log_norm.shape[0] > 0 else NULL
    cdef floating_out* resp_ptr = &resp[0, 0] if resp.shape[0] > 0 else NULL
    cdef Py_ssize_t* labels_ptr = &labels[0] if labels.shape[0] > 0 else NULL
    cdef const double* center_ptr = &center[0] if center.shape[0] else NULL
    cdef const double* shifted_u_ptr = &shifted_u[0] if shifted_u.shape[0] else NULL
    with nogil, parallel(num_threads=n_threads):
        for p in prange(n_parts, schedule="static"):
            _posterior_range(&X[0, 0], d, K, kind, use_blas, &c[0], &means[0], &U[0],
                             center_ptr, shifted_u_ptr, bounds[p], bounds[p + 1], raw,
                             norm_ptr, resp_ptr, labels_ptr, &failed)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's tile buffers")


# --- k-means (the 'kmeans' and 'k-means++' initializations) ------------------------
#
# scikit-learn's formulas, evaluated in its order where that decides a
# comparison: a squared distance is |c|^2 - 2 x.c (Lloyd) or
# (|c|^2 - 2 x.c) + |x|^2 clipped at 0 (k-means++), x.c one chain of
# multiply-adds in feature order (`_kmeans.h`), as a BLAS product's inner loop
# adds it; the norms come from the caller (NumPy's einsum, as scikit-learn's
# row_norms). Rows are X - offset (the data centred on their mean for
# 'kmeans'), made in float64 sixteen rows at a time: nothing the size of X
# is allocated. Centres are (k, d) rows in the offset's coordinates.


cdef inline void _km_block(const floating* X, Py_ssize_t d, const double* offset,
                           Py_ssize_t i, Py_ssize_t nr, double* xt) noexcept nogil:
    if floating is double:
        fgk_block_d(X, d, offset, i, nr, xt)
    else:
        fgk_block_f(X, d, offset, i, nr, xt)


cdef Py_ssize_t _km_range(const floating* X, Py_ssize_t d, Py_ssize_t K,
                          const double* offset, const double* centers, const double* cn,
                          const double* w, bint weighted, Py_ssize_t start,
                          Py_ssize_t stop, Py_ssize_t* labels, bint update,
                          double* sums, double* counts, int* failed) noexcept nogil:
    """Label rows start..stop; with ``update`` add their weights and weighted
    (centred) rows to their centre's counts and sums. Returns how many
    labels changed."""
    cdef double* xt = <double*> malloc(16 * d * sizeof(double))
    cdef Py_ssize_t i, nr, changed = 0
    if xt == NULL:
        failed[0] = 1
        return 0
    i = start
    while i < stop:
        nr = min(16, stop - i)
        _km_block(X, d, offset, i, nr, xt)
        changed += fastgmm_km_block(xt, nr, d, K, centers, cn,
                                    w + i if weighted else NULL, labels + i, update,
                                    sums, counts)
        i += nr
    free(xt)
    return changed


def _check_bounds(const Py_ssize_t[::1] bounds, Py_ssize_t n):
    cdef Py_ssize_t p, n_parts = bounds.shape[0] - 1
    if n_parts < 1 or bounds[0] != 0 or bounds[n_parts] != n:
        raise ValueError("kernel: bounds must run from 0 to n_samples")
    for p in range(n_parts):
        if bounds[p + 1] < bounds[p]:
            raise ValueError("kernel: bounds must not decrease")
    return n_parts


def _check_centres(Py_ssize_t d, Py_ssize_t K, const double[::1] offset,
                   const double[::1] centers, const double[::1] cn):
    if d < 1 or K < 1:
        raise ValueError("kernel: need at least one centre and one feature")
    if cn.shape[0] != K or centers.shape[0] != K * d or offset.shape[0] != d:
        raise ValueError("kernel: offset and centres must have n_features columns")


def kmeans_partitions(
    const floating[:, ::1] X,       # IN (n, d)
    const double[::1] offset,       # IN (d,) subtracted from every row
    const double[::1] centers,      # IN (k*d,) in the offset's coordinates
    const double[::1] cn,           # IN (k,) |c_k|^2
    const double[::1] w,            # IN (n,) sample weights, or (0,): all 1
    const Py_ssize_t[::1] bounds,   # IN (P + 1,) row bounds, 0 to n
    Py_ssize_t[::1] labels,         # IN/OUT (n,) the previous labels -> the new
    double[:, ::1] sums,            # OUT (P, k*d) weighted centred rows per label
    double[:, ::1] counts,          # OUT (P, k) weight per label
    Py_ssize_t[::1] changed,        # OUT (P,) labels changed per partition
    bint update,                    # sums and counts too (else labels only)
    int n_threads,
):
    """One Lloyd step, partition by partition: labels, and (``update``) each
    partition's sums and counts per label (zeroed here first)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = cn.shape[0], p
    cdef Py_ssize_t n_parts = _check_bounds(bounds, n)
    cdef bint weighted = w.shape[0] > 0
    cdef int failed = 0
    _check_centres(d, K, offset, centers, cn)
    if (weighted and w.shape[0] != n) or labels.shape[0] != n:
        raise ValueError("kernel: weights and labels must have one value per row")
    if (sums.shape[0] != n_parts or sums.shape[1] != K * d or counts.shape[0] != n_parts
            or counts.shape[1] != K or changed.shape[0] != n_parts):
        raise ValueError("kernel: partial sums have the wrong shape")
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")
    sums[:, :] = 0.0
    counts[:, :] = 0.0
    changed[:] = 0
    if n == 0:
        return
    cdef const double* w_ptr = &w[0] if weighted else NULL
    with nogil, parallel(num_threads=n_threads):
        for p in prange(n_parts, schedule="static"):
            changed[p] = _km_range(&X[0, 0], d, K, &offset[0], &centers[0], &cn[0],
                                   w_ptr, weighted, bounds[p], bounds[p + 1],
                                   &labels[0], update, &sums[p, 0], &counts[p, 0],
                                   &failed)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's buffers")


cdef void _kpp_range(const floating* X, Py_ssize_t d, Py_ssize_t T,
                     const double* offset, const double* xsq, const double* cands,
                     const double* cn, double* closest, const double* w,
                     bint weighted, Py_ssize_t start, Py_ssize_t stop, bint update,
                     double* pots, int* failed) noexcept nogil:
    """k-means++ on rows start..stop. The squared distance to candidate t is
    max((|c_t|^2 - 2 x.c_t) + |x|^2, 0); pots[t] += w min(closest, it).
    ``update`` (T = 1): closest = min(closest, distance) as well."""
    cdef double* xt = <double*> malloc(16 * d * sizeof(double))
    cdef double* part = <double*> calloc(16 * T, sizeof(double))
    cdef Py_ssize_t i, nr, t, r
    cdef double total
    if xt == NULL or part == NULL:
        failed[0] = 1
        free(xt)
        free(part)
        return
    i = start
    while i < stop:
        nr = min(16, stop - i)
        _km_block(X, d, offset, i, nr, xt)
        fastgmm_kpp_block(xt, nr, d, T, cands, cn, xsq + i, closest + i,
                          w + i if weighted else NULL, update, part)
        i += nr
    for t in range(T):
        total = 0.0
        for r in range(16):
            total = total + part[t * 16 + r]
        pots[t] += total
    free(xt)
    free(part)


def kpp_partitions(
    const floating[:, ::1] X,       # IN (n, d)
    const double[::1] offset,       # IN (d,)
    const double[::1] xsq,          # IN (n,) |x - offset|^2
    const double[::1] cands,        # IN (T*d,) candidate centres, offset coordinates
    const double[::1] cn,           # IN (T,) their |c|^2
    double[::1] closest,            # IN (n,) squared distance to the nearest centre
                                    # (OUT too with update)
    const double[::1] w,            # IN (n,) or (0,)
    const Py_ssize_t[::1] bounds,   # IN (P + 1,)
    double[:, ::1] pots,            # OUT (P, T) sum of w min(closest, dist_t)
    bint update,                    # T == 1: closest = min(closest, dist)
    int n_threads,
):
    """The potential of each k-means++ candidate, partition by partition."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], T = cn.shape[0], p
    cdef Py_ssize_t n_parts = _check_bounds(bounds, n)
    cdef bint weighted = w.shape[0] > 0
    cdef int failed = 0
    _check_centres(d, T, offset, cands, cn)
    if ((weighted and w.shape[0] != n) or xsq.shape[0] != n
            or closest.shape[0] != n):
        raise ValueError("kernel: weights, norms and distances need one value per row")
    if pots.shape[0] != n_parts or pots.shape[1] != T:
        raise ValueError("kernel: partial potentials have the wrong shape")
    if update and T != 1:
        raise ValueError("kernel: update takes one candidate")
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")
    pots[:, :] = 0.0
    if n == 0:
        return
    cdef const double* w_ptr = &w[0] if weighted else NULL
    with nogil, parallel(num_threads=n_threads):
        for p in prange(n_parts, schedule="static"):
            _kpp_range(&X[0, 0], d, T, &offset[0], &xsq[0], &cands[0], &cn[0],
                       &closest[0], w_ptr, weighted, bounds[p], bounds[p + 1], update,
                       &pots[p, 0], &failed)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's buffers")


def kpp_pick(const double[::1] closest, const double[::1] w,
             const double[::1] targets, const Py_ssize_t[::1] order,
             Py_ssize_t[::1] picked):
    """picked[t] = the first i with cumsum(w * closest)[i] >= targets[t]
    (NumPy's searchsorted on NumPy's cumsum: the products rounded, then added
    in row order), or n when none; ``order`` sorts the targets."""
    cdef Py_ssize_t n = closest.shape[0], T = targets.shape[0], t
    cdef bint weighted = w.shape[0] > 0
    if (weighted and w.shape[0] != n) or order.shape[0] != T or picked.shape[0] != T:
        raise ValueError("kernel: kpp_pick's arrays have the wrong shapes")
    for t in range(T):
        if order[t] < 0 or order[t] >= T:
            raise ValueError("kernel: order must index the targets")
        picked[t] = n
    if n == 0 or T == 0:
        return
    with nogil:
        fastgmm_cumsum_search(&closest[0], &w[0] if weighted else NULL, n, &targets[0],
                              &order[0], T, &picked[0])


# --- k-means in whole calls: the norms, the mean, the k-means++ seeding --------------
#
# What `em.kmeans` computes with NumPy between the passes, in C with the GIL
# released: the rows' norms as np.einsum("ij,ij->i") adds them (its kernel in
# `fgk_einsum_dot`, in the variant this NumPy takes, found at run time), the
# features' sums of squares as np.einsum("ij,ij->j") per chunk of rows, the
# mean as X.mean(axis=0), and the whole k-means++ seeding loop (draws given):
# the bits of the NumPy path (tests/em/test_kmeans_calls.py).


def einsum_dots(const double[:, ::1] a, double[::1] out, int W, int fused):
    """out[i] = np.einsum("ij,ij->i", a, a)[i] in variant (W lanes, fused)."""
    cdef Py_ssize_t n = a.shape[0], d = a.shape[1], i
    if out.shape[0] != n or d < 1:
        raise ValueError("kernel: einsum_dots needs one output per row, d >= 1")
    for i in range(n):
        out[i] = fgk_einsum_dot(&a[i, 0], &a[i, 0], d, W, fused)


def einsum_dot(const double[::1] a, const double[::1] b, int W, int fused):
    """np.einsum("i,i->", a, b) in variant (W lanes, fused)."""
    if a.shape[0] != b.shape[0] or a.shape[0] < 1:
        raise ValueError("kernel: einsum_dot needs two vectors of one length >= 1")
    return fgk_einsum_dot(&a[0], &b[0], a.shape[0], W, fused)


cdef inline void _centred_row(const floating* X, Py_ssize_t d, const double* offset,
                              Py_ssize_t i, double* out) noexcept nogil:
    """X[i] - offset in float64, a NaN (missing) entry 0: `_Rows.centred`."""
    cdef Py_ssize_t j
    cdef double v
    cdef const floating* row = X + i * d
    for j in range(d):
        v = <double> row[j] - offset[j]
        out[j] = v if v == v else 0.0


cdef void _norms_chunk(const floating* X, Py_ssize_t d, const double* offset,
                       Py_ssize_t start, Py_ssize_t stop, int W, int fused,
                       double* norms, double* part, int* failed) noexcept nogil:
    # one feature: the chunk is one contiguous column, which np.einsum
    # ("ij,ij->j") adds as a dot product
    cdef Py_ssize_t size = d if d > 1 else stop - start
    cdef double* buf = <double*> malloc(max(size, 1) * sizeof(double))
    cdef Py_ssize_t i
    if buf == NULL:
        failed[0] = 1
        return
    for i in range(start, stop):
        if d > 1:
            _centred_row(X, d, offset, i, buf)
            norms[i] = fgk_einsum_dot(buf, buf, d, W, fused)
            fgk_einsum_squares(buf, d, fused, part)
        else:
            _centred_row(X, 1, offset, i, buf + i - start)
            norms[i] = fgk_einsum_dot(buf + i - start, buf + i - start, 1, W, fused)
    if d == 1 and stop > start:
        part[0] = fgk_einsum_dot(buf, buf, stop - start, W, fused)
    free(buf)


def kmeans_norms(
    const floating[:, ::1] X,       # IN (n, d)
    const double[::1] offset,       # IN (d,)
    double[::1] norms,              # OUT (n,) |x - offset|^2
    double[::1] squares,            # OUT (d,) sums of (x - offset)^2 over rows
    Py_ssize_t chunk,               # the NumPy path's chunk of rows
    int W, int fused,               # the einsum variant
    int n_threads,
):
    """`_Rows.squared_norms` in one call: the norms row by row, the squares
    chunk by chunk (each from zero, added in row order), the chunks' sums
    added in chunk order from zero."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], c, j
    cdef Py_ssize_t n_chunks
    cdef int failed = 0
    if d < 1 or offset.shape[0] != d or squares.shape[0] != d or norms.shape[0] != n:
        raise ValueError("kernel: kmeans_norms' arrays have the wrong shapes")
    if chunk < 1 or n_threads < 1:
        raise ValueError("kernel: chunk and n_threads must be >= 1")
    squares[:] = 0.0
    if n == 0:
        return
    n_chunks = (n + chunk - 1) // chunk
    cdef double* parts = <double*> calloc(n_chunks * d, sizeof(double))
    if parts == NULL:
        raise MemoryError("fastgmm: cannot allocate the norms' partial sums")
    with nogil:
        for c in prange(n_chunks, schedule="static", num_threads=n_threads):
            _norms_chunk(&X[0, 0], d, &offset[0], c * chunk, min(n, (c + 1) * chunk),
                         W, fused, &norms[0], parts + c * d, &failed)
        # `squares += part` chunk by chunk from 0: parts[0] + parts[1] + ...
        # (a sum of squares is not -0, so 0 + parts[0] is parts[0])
        fgk_sum_rows(parts, n_chunks, d, &squares[0])
    free(parts)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the norms' buffers")


def column_mean(const floating[:, ::1] X, double[::1] out):
    """X.mean(axis=0, dtype=np.float64) for n >= 1 rows and d >= 2 features."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], j
    if n < 1 or d < 2 or out.shape[0] != d:
        raise ValueError("kernel: column_mean needs n >= 1 rows, d >= 2 features")
    with nogil:
        if floating is double:
            fgk_column_sums_d(&X[0, 0], n, d, &out[0])
        else:
            fgk_column_sums_f(&X[0, 0], n, d, &out[0])
        for j in range(d):
            out[j] = out[j] / <double> n


cdef int _kpp_pass(const floating* X, Py_ssize_t d, Py_ssize_t T, const double* offset,
                   const double* xsq, const double* cands, const double* cn,
                   double* closest, const double* w_ptr, bint weighted,
                   const Py_ssize_t* bounds, Py_ssize_t n_parts, bint update,
                   double* pots, int n_threads) noexcept nogil:
    """`kpp_partitions` without the GIL: returns 1 when a buffer failed."""
    cdef int failed = 0
    cdef Py_ssize_t p
    memset(pots, 0, n_parts * T * sizeof(double))
    for p in prange(n_parts, schedule="static", num_threads=n_threads):
        _kpp_range(X, d, T, offset, xsq, cands, cn, closest, w_ptr, weighted,
                   bounds[p], bounds[p + 1], update, pots + p * T, &failed)
    return failed


cdef inline bint _before(double a, double b) noexcept nogil:
    """a sorts before b in np.argsort (NaN last)."""
    return a < b or (b != b and a == a)


def kpp_loop(
    const floating[:, ::1] X,       # IN (n, d)
    const double[::1] offset,       # IN (d,)
    const double[::1] xsq,          # IN (n,) |x - offset|^2 (`kmeans_norms`)
    const double[::1] w,            # IN (n,) or (0,)
    const Py_ssize_t[::1] bounds,   # IN (P + 1,)
    const double[:, ::1] draws,     # IN (k - 1, T) the uniform draws of the trials
    Py_ssize_t[::1] indices,        # IN [0] the first centre; OUT (k,) the seeds
    double[::1] closest,            # work (n,)
    int n_threads,
):
    """`em.kmeans.kmeans_plusplus` from its first centre on, in one call:
    each round the targets (draws times the potential), their rows by the
    cumulative sum, the candidates' potentials (partitions summed in order),
    the best (the first of equals), the distances to it. A candidate's norm is
    its row's in ``xsq`` (np.einsum gives a row the same bits alone or in an
    array)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = indices.shape[0]
    cdef Py_ssize_t T = draws.shape[1], n_parts = _check_bounds(bounds, n)
    cdef Py_ssize_t c, t, i, j, best, key, first
    cdef bint weighted = w.shape[0] > 0
    cdef double current
    cdef int failed = 0
    if K < 1 or draws.shape[0] != K - 1 or (K > 1 and T < 1):
        raise ValueError("kernel: draws must be (n_clusters - 1, trials)")
    if (weighted and w.shape[0] != n) or xsq.shape[0] != n or closest.shape[0] != n:
        raise ValueError("kernel: weights, norms and distances need one value per row")
    if d < 1 or offset.shape[0] != d:
        raise ValueError("kernel: offset must have n_features values")
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")
    first = indices[0]
    if first < 0 or first >= n:
        raise ValueError("kernel: the first centre must index a row")
    if K == 1:
        return
    cdef double* buf = <double*> malloc(((T + 1) * d + 4 * T + (n_parts + 1) * T)
                                        * sizeof(double))
    cdef Py_ssize_t* ibuf = <Py_ssize_t*> malloc(3 * T * sizeof(Py_ssize_t))
    if buf == NULL or ibuf == NULL:
        free(buf)
        free(ibuf)
        raise MemoryError("fastgmm: cannot allocate the seeding's buffers")
    cdef double* cands = buf                 # (T, d)
    cdef double* chosen = cands + T * d      # (d,) the centre added last
    cdef double* cn = chosen + d             # (T,)
    cdef double* targets = cn + T            # (T,)
    cdef double* cpots = targets + T         # (T,)
    cdef double* cn1 = cpots + T             # (T,): [0] the chosen centre's norm
    cdef double* pots = cn1 + T              # (P, T)
    cdef Py_ssize_t* order = ibuf
    cdef Py_ssize_t* picked = ibuf + T
    cdef Py_ssize_t* cidx = ibuf + 2 * T
    cdef const double* w_ptr = &w[0] if weighted else NULL
    with nogil:
        _centred_row(&X[0, 0], d, &offset[0], first, chosen)
        cn1[0] = xsq[first]
        for i in range(n):
            closest[i] = INFINITY
        failed |= _kpp_pass(&X[0, 0], d, 1, &offset[0], &xsq[0], chosen, cn1,
                            &closest[0], w_ptr, weighted, &bounds[0], n_parts, True,
                            pots, n_threads)
        # pot1[0, 0], or pot1.sum() (NumPy's add.reduce)
        current = pots[0] if n_parts == 1 else fgm_sum(pots, n_parts, 1)
        for c in range(1, K):
            for t in range(T):
                targets[t] = draws[c - 1, t] * current
            # np.argsort(targets, kind="stable"): an insertion sort
            for t in range(T):
                key = t
                j = t
                while j > 0 and _before(targets[key], targets[order[j - 1]]):
                    order[j] = order[j - 1]
                    j -= 1
                order[j] = key
                picked[t] = n
            fastgmm_cumsum_search(&closest[0], w_ptr, n, targets, order, T, picked)
            for t in range(T):
                cidx[t] = min(picked[t], n - 1)
                _centred_row(&X[0, 0], d, &offset[0], cidx[t], cands + t * d)
                cn[t] = xsq[cidx[t]]
            failed |= _kpp_pass(&X[0, 0], d, T, &offset[0], &xsq[0], cands, cn,
                                &closest[0], w_ptr, weighted, &bounds[0], n_parts,
                                False, pots, n_threads)
            fgk_sum_rows(pots, n_parts, T, cpots)
            # argmin: the first of the least (the first NaN, as NumPy)
            best = 0
            for t in range(T):
                if cpots[t] != cpots[t]:
                    best = t
                    break
                if cpots[t] < cpots[best]:
                    best = t
            indices[c] = cidx[best]
            current = cpots[best]
            if c < K - 1:  # (the last round's distances are not used)
                memcpy(chosen, cands + best * d, d * sizeof(double))
                cn1[0] = cn[best]
                failed |= _kpp_pass(&X[0, 0], d, 1, &offset[0], &xsq[0], chosen, cn1,
                                    &closest[0], w_ptr, weighted, &bounds[0], n_parts,
                                    True, pots, n_threads)
    free(buf)
    free(ibuf)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's buffers")


cdef int _km_pass(const floating* X, Py_ssize_t d, Py_ssize_t K, const double* offset,
                  const double* centers, const double* cn, const double* w_ptr,
                  bint weighted, const Py_ssize_t* bounds, Py_ssize_t n_parts,
                  Py_ssize_t* labels, bint update, double* sums, double* counts,
                  Py_ssize_t* changed, int n_threads) noexcept nogil:
    """`kmeans_partitions` without the GIL: returns 1 when a buffer failed."""
    cdef int failed = 0
    cdef Py_ssize_t p
    memset(sums, 0, n_parts * K * d * sizeof(double))
    memset(counts, 0, n_parts * K * sizeof(double))
    for p in prange(n_parts, schedule="static", num_threads=n_threads):
        changed[p] = _km_range(X, d, K, offset, centers, cn, w_ptr, weighted,
                               bounds[p], bounds[p + 1], labels, update,
                               sums + p * K * d, counts + p * K, &failed)
    return failed


def lloyd_loop(
    const floating[:, ::1] X,       # IN (n, d)
    const double[::1] offset,       # IN (d,)
    double[::1] centers,            # IN/OUT (k*d,) in the offset's coordinates
    const double[::1] w,            # IN (n,) or (0,)
    const Py_ssize_t[::1] bounds,   # IN (P + 1,)
    Py_ssize_t[::1] labels,         # IN/OUT (n,)
    double[:, ::1] sums,            # OUT (P, k*d) the last pass's partial sums
    double[:, ::1] counts,          # OUT (P, k)
    Py_ssize_t[::1] changed,        # OUT (P,)
    Py_ssize_t max_iter,
    double tol,                     # the squared shift at which Lloyd stops
    int W, int fused,               # the einsum variant (`em.kmeans.numpy_variant`)
    int n_threads,
):
    """`em.kmeans._lloyd` in one call, while no cluster is empty. Returns
    (stopped, n_iter): stopped, the labels are final and ``centers`` the
    last; else pass n_iter left a cluster empty, its partials are in
    sums/counts/changed and ``centers`` are the ones it used (the NumPy
    path relocates and goes on)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K, n_parts = _check_bounds(bounds, n)
    cdef Py_ssize_t it, k, j, total, n_iter = 0
    cdef bint weighted = w.shape[0] > 0, strict = False, stopped = True
    cdef double r, shift
    cdef int failed = 0
    if d < 1 or offset.shape[0] != d or centers.shape[0] % d or centers.shape[0] < d:
        raise ValueError("kernel: centres must be (k, n_features)")
    K = centers.shape[0] // d
    if (weighted and w.shape[0] != n) or labels.shape[0] != n:
        raise ValueError("kernel: weights and labels must have one value per row")
    if (sums.shape[0] != n_parts or sums.shape[1] != K * d or counts.shape[0] != n_parts
            or counts.shape[1] != K or changed.shape[0] != n_parts):
        raise ValueError("kernel: partial sums have the wrong shape")
    if max_iter < 1 or n_threads < 1:
        raise ValueError("kernel: max_iter and n_threads must be >= 1")
    if n == 0:
        raise ValueError("kernel: no rows")
    cdef double* buf = <double*> malloc((3 * K * d + 2 * K) * sizeof(double))
    if buf == NULL:
        raise MemoryError("fastgmm: cannot allocate Lloyd's buffers")
    cdef double* new = buf
    cdef double* diff = new + K * d
    cdef double* cn = diff + K * d
    cdef double* weight = cn + K
    cdef const double* w_ptr = &w[0] if weighted else NULL
    with nogil:
        for it in range(1, max_iter + 1):
            n_iter = it
            for k in range(K):
                cn[k] = fgk_einsum_dot(&centers[k * d], &centers[k * d], d, W, fused)
            failed |= _km_pass(&X[0, 0], d, K, &offset[0], &centers[0], cn, w_ptr,
                               weighted, &bounds[0], n_parts, &labels[0], True,
                               &sums[0, 0], &counts[0, 0], &changed[0], n_threads)
            fgk_sum_rows(&sums[0, 0], n_parts, K * d, new)
            fgk_sum_rows(&counts[0, 0], n_parts, K, weight)
            for k in range(K):
                if not weight[k] > 0:
                    stopped = False
            if not stopped:
                break
            for k in range(K):  # scikit-learn's *= 1 / weight
                r = 1.0 / weight[k]
                for j in range(d):
                    new[k * d + j] = new[k * d + j] * r
            for j in range(K * d):
                diff[j] = new[j] - centers[j]
            shift = fgk_einsum_dot(diff, diff, K * d, W, fused)
            memcpy(&centers[0], new, K * d * sizeof(double))
            total = 0
            for j in range(n_parts):
                total += changed[j]
            if it > 1 and total == 0:
                strict = True
                break
            if shift <= tol:
                break
        if stopped and not strict:
            for k in range(K):
                cn[k] = fgk_einsum_dot(&centers[k * d], &centers[k * d], d, W, fused)
            failed |= _km_pass(&X[0, 0], d, K, &offset[0], &centers[0], cn, w_ptr,
                               weighted, &bounds[0], n_parts, &labels[0], False,
                               &sums[0, 0], &counts[0, 0], &changed[0], n_threads)
    free(buf)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's buffers")
    return bool(stopped), n_iter


cdef void _labelled_range(const floating* X, Py_ssize_t d, const double* w, bint weighted,
                          const Py_ssize_t* labels, const double* centers,
                          const double* fill, int kind, Py_ssize_t start,
                          Py_ssize_t stop, double* nk, double* s1, double* s2,
                          int* failed) noexcept nogil:
    cdef Py_ssize_t i, j, l, lab
    cdef double wi, wj, x
    cdef const floating* row
    cdef double* base
    cdef double* diff = <double*> malloc(d * sizeof(double))
    if diff == NULL:
        failed[0] = 1
        return
    for i in range(start, stop):
        lab = labels[i]
        if lab < 0:
            continue
        wi = w[i] if weighted else 1.0
        nk[lab] += wi
        row = X + i * d
        for j in range(d):
            x = <double> row[j]
            if fill != NULL and x != x:  # a missing entry: its fill value
                x = fill[j]
            diff[j] = x - centers[lab * d + j]
            s1[lab * d + j] += wi * diff[j]
        if kind == FULL or kind == TIED:
            base = s2 + (lab * d * d if kind == FULL else 0)
            for j in range(d):
                wj = wi * diff[j]
                for l in range(d):
                    base[j * d + l] += wj * diff[l]
        elif kind == DIAG:
            for j in range(d):
                s2[lab * d + j] += wi * diff[j] * diff[j]
    free(diff)


def labelled_partitions(
    const floating[:, ::1] X,       # IN (n, d)
    const double[::1] w,            # IN (n,) or (0,): all 1
    const Py_ssize_t[::1] labels,   # IN (n,) the component of each row, -1: none
    const double[::1] centers,      # IN (k*d,) the statistics' centres
    const Py_ssize_t[::1] bounds,   # IN (P + 1,)
    double[:, ::1] nk,              # OUT (P, k) weights per label
    double[:, ::1] s1,              # OUT (P, k*d) sum w (x - c)
    double[:, ::1] s2,              # OUT (P, |S2|) sum w (x - c)(x - c)^T by kind
    int kind,                       # FULL, TIED, DIAG, or -1: nk and s1 only
    int n_threads,
    const double[::1] fill=None,    # IN (d,) the value of a NaN entry, or None
):
    """The statistics of hard assignments (one M-step on labels), partition
    by partition: each row counts for its label alone. With ``fill``, a NaN
    entry of X (a missing value) counts as its feature's fill value."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = nk.shape[1], p, i
    cdef Py_ssize_t n_parts = _check_bounds(bounds, n)
    cdef bint weighted = w.shape[0] > 0
    cdef int failed = 0
    if d < 1 or K < 1 or centers.shape[0] != K * d:
        raise ValueError("kernel: centres must be (n_components, n_features)")
    if (weighted and w.shape[0] != n) or labels.shape[0] != n:
        raise ValueError("kernel: weights and labels must have one value per row")
    if kind not in (-1, FULL, TIED, DIAG):
        raise ValueError(f"kernel: unknown covariance kind {kind}")
    if fill is not None and fill.shape[0] != d:
        raise ValueError("kernel: fill must have n_features values")
    if (nk.shape[0] != n_parts or s1.shape[0] != n_parts or s2.shape[0] != n_parts
            or s1.shape[1] != K * d
            or (kind >= 0 and s2.shape[1] != _u_size(kind, K, d))):
        raise ValueError("kernel: partial statistics have the wrong shape")
    for i in range(n):
        if labels[i] < -1 or labels[i] >= K:
            raise ValueError("kernel: labels must be -1 or a component")
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")
    nk[:, :] = 0.0
    s1[:, :] = 0.0
    s2[:, :] = 0.0
    if n == 0:
        return
    cdef const double* w_ptr = &w[0] if weighted else NULL
    cdef const double* fill_ptr = &fill[0] if fill is not None else NULL
    with nogil, parallel(num_threads=n_threads):
        for p in prange(n_parts, schedule="static"):
            _labelled_range(&X[0, 0], d, w_ptr, weighted, &labels[0], &centers[0],
                            fill_ptr, kind,
                            bounds[p], bounds[p + 1], &nk[p, 0], &s1[p, 0], &s2[p, 0],
                            &failed)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's buffers")


# --- a whole EM run of a small fit in one call ----------------------------------------
#
# The M-step and the constants of `em.covariance` in C (_mstep.h, NumPy's order
# of operations; LAPACK's potrf/trtrs as `precisions_cholesky` calls them), the
# pass of `accumulate_partitions` on one partition, the lower bound and the
# convergence test of `em.driver.run_em`: the bits of the pass-by-pass driver,
# with the GIL released for the whole run (tests/em/test_em_loop.py).

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
            with parallel(num_threads=n_threads):
                for i in prange(P, schedule="static"):
                    q = slots + i * part
                    if rows_path:
                        q[part - 1] = _range_diag_rows(
                            &X[0, 0], d, K, w_ptr, weighted, c, &means[0], U_ptr,
                            segments[i, 1], segments[i, 2], q, q + K, q + K + K * d,
                            0.0, &failed)
                    elif full_tiles:
                        q[part - 1] = _range_full_tiles(
                            &X[0, 0], d, K, w_ptr, weighted, c, &means[0], U_ptr,
                            segments[i, 1], segments[i, 2], q, q + K, q + K + K * d,
                            0.0, &failed)
                    else:
                        q[part - 1] = _range(
                            &X[0, 0], d, K, pass_kind, w_ptr, weighted, c, &means[0],
                            U_ptr, NULL, NULL, NULL, segments[i, 1], segments[i, 2],
                            q, q + K, q + K + K * d, q + K + K * d + n_s2, 0.0,
                            &failed)
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
