# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The Cython backend's tiles: what the fused pass, the posterior and the EM
run share.

A row range is worked in tiles of TILE rows, transposed so that inner loops
run over rows and vectorize; exp is the vectorizable one of ``_exp.h``. Here
are the steps of a tile (load, log-probabilities, responsibilities,
statistics) and the workers that add a row range to one partition slot on
the direct loops: `_range` (every kind), `_range_full_tiles` ('full' on
register-blocked tiles, _full_tiles.h) and `_range_diag_rows` ('diag' with
few components on row-major tiles, _small_d.h), each the Student-t pass's
too when handed degrees of freedom (the steps `_student_logp`,
`_student_weights` and `_row_totals` around the same tile code). `_pass`
adds the BLAS tiles and the driver `accumulate_partitions`; `_posterior`
and `_em` call the steps and workers declared in ``_tiles.pxd``.

Arrays reach the per-range workers as pointers: means (k*d,), U (k*d*d,
d*d, k*d or k,), partial statistics (P, size). X is read as
``const floating[:, ::1]`` (float32 stays float32); everything else is
float64.
"""

from libc.math cimport log, log1p
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy

from ._kernels cimport *

from fastgmm.kernels import _common

__all__ = ["OPENMP", "max_threads", "set_small_d"]

# The constants the C defines (_kernels.pxd) against the Python side's: every
# role module cimports this one, so a mismatch stops the import of any.
if (FULL, TIED, DIAG) != (_common.FULL, _common.TIED, _common.DIAG) \
        or TILE != _common.TILE \
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
    in one process. Not for use during a pass.

    The switch is C's ``fastgmm_small_d_off``, one per module that includes
    _small_d.h: this module's is the one that counts. The copies per d run
    from here, and the row-major 'diag' tiles only where `_diag_rows`, which
    reads it, takes them (the other modules ask it)."""
    global fastgmm_small_d_off
    fastgmm_small_d_off = 0 if on else 1


def max_threads():
    """Threads OpenMP would use (1 when built without OpenMP)."""
    return fastgmm_max_threads()


def _log1p_scaled(const double[::1] delta, double nu, double[::1] out,
                  double[::1] ratio):
    """out[i] = log1p(delta[i] / nu) and ratio[i] = 1 / (1 + delta[i] / nu) by
    _exp.h's ``fastgmm_log1p_scaled``, as the Student-t pass calls it (inv_nu
    = 1/nu, log_inv_nu = -log(nu)): for the tests, not a driver (not in
    ``__all__``)."""
    cdef Py_ssize_t i
    cdef double inv_nu = 1.0 / nu, log_inv_nu = -log(nu)
    if out.shape[0] != delta.shape[0] or ratio.shape[0] != delta.shape[0]:
        raise ValueError("out and ratio must have the shape of delta")
    for i in range(delta.shape[0]):
        out[i] = log1p_scaled(delta[i], nu, inv_nu, log_inv_nu, &ratio[i])


# --- tile steps shared by every covariance type ------------------------------------

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


# --- the Student-t pass's steps of a tile (docs/design.md, "The Student-t pass") --
#
# With degrees of freedom (``dof`` not NULL), a worker computes its tile's log p
# as for the Gaussian pass but with zero constants (`_student_zeros`), so that
# log p[k, b] = -delta_kb / 2; `_student_logp` turns it into the t
# log-density (and u, log u); after the responsibilities, `_student_weights`
# adds nr and tlu and weighs w r by u in place, and the statistics code,
# unchanged, adds nk, S1 and S2 under the weights w r u. 'tied' hands its
# statistics the rows' total weights sum_k w r u (`_row_totals`).

cdef double* _student_zeros(const double* dof, Py_ssize_t K) noexcept nogil:
    """K zeros (the constants of the quadratic form) for the t pass (``dof``
    not NULL), freed by the caller; NULL for the Gaussian pass or when they
    cannot be allocated (the caller checks against ``dof``)."""
    if dof == NULL:
        return NULL
    return <double*> calloc(K, sizeof(double))


cdef double* _student_buffer(const double* dof, Py_ssize_t K) noexcept nogil:
    """A K x TILE buffer for u or log u when ``dof`` is not NULL (else NULL;
    zeros: `_student_logp` reads it before a tile has set it)."""
    if dof == NULL:
        return NULL
    return <double*> calloc(K * TILE, sizeof(double))


cdef void _student_logp(double* logp, Py_ssize_t K, Py_ssize_t nb, Py_ssize_t d,
                        const double* c, const double* dof, double* u,
                        double* logu, bint keep) noexcept nogil:
    """log p[k, b] = -delta_kb / 2 -> c_k - (nu_k + d)/2 log1p(delta_kb / nu_k);
    with ``keep``, u[k, b] = (nu_k + d) / (nu_k + delta_kb) and logu[k, b] =
    log u (K x TILE buffers; without, the posterior's, neither: u and logu
    may be NULL). For b < `_whole` (nb) (the rows past nb are first set to
    delta = 0): every row through the same vector code, no libm call.

    So that a row's bits do not depend on the other rows of its tile, every
    tile runs the same loop on every row, `log1p_small` (exact steps up to
    t = 2^1022); a tile with a row past `BIG_T` (2^1000, where t may
    overflow) then computes those rows again by the long form,
    log(delta) + log(1/nu) (`log1p_scaled`), from a copy of their deltas,
    and writes over theirs alone."""
    cdef Py_ssize_t k, b
    cdef double nu, inv_nu, log_inv_nu, h, scale, lq, ck, delta, l1p, g
    cdef int any_big
    cdef double saved[TILE]
    cdef double* row
    cdef double* uk
    cdef double* lk
    _pad_rows(logp, K, nb)
    for k in range(K):
        nu = dof[k]
        inv_nu = 1.0 / nu
        log_inv_nu = -log(nu)
        h = 0.5 * (nu + <double> d)
        scale = (nu + <double> d) * inv_nu  # u = (nu + d) / nu / (1 + t)
        lq = log1p(<double> d * inv_nu)
        ck = c[k]
        row = logp + k * TILE
        uk = u + k * TILE
        lk = logu + k * TILE
        any_big = 0
        for b in range(_whole(nb)):  # (the t below; NaN: not big)
            any_big = any_big | ((-2.0 * row[b]) * inv_nu > BIG_T)
        if any_big:
            memcpy(saved, row, _whole(nb) * sizeof(double))
        if keep:
            for b in range(_whole(nb)):
                delta = -2.0 * row[b]
                delta = delta if delta > 0.0 else 0.0  # the products may give < 0
                l1p = log1p_small(delta * inv_nu, &g)
                row[b] = ck - h * l1p
                uk[b] = scale * g
                lk[b] = lq - l1p
        else:
            for b in range(_whole(nb)):
                delta = -2.0 * row[b]
                delta = delta if delta > 0.0 else 0.0
                row[b] = ck - h * log1p_small(delta * inv_nu, &g)
        if not any_big:
            continue
        for b in range(_whole(nb)):
            delta = -2.0 * saved[b]
            delta = delta if delta > 0.0 else 0.0
            if delta * inv_nu > BIG_T:
                l1p = log1p_scaled(delta, nu, inv_nu, log_inv_nu, &g)
                row[b] = ck - h * l1p
                if keep:
                    uk[b] = scale * g
                    lk[b] = lq - l1p


cdef void _student_weights(double* wr, Py_ssize_t K, Py_ssize_t nb, const double* u,
                           const double* logu, double* nr,
                           double* tlu) noexcept nogil:
    """wr[k, b] = w_b r_kb -> w_b r_kb u_kb in place; nr[k] += sum_b w_b r_kb,
    tlu[k] += sum_b w_b r_kb (log u_kb - u_kb) (a zero w r adds nothing, even
    where log u is -inf)."""
    cdef Py_ssize_t k, b
    cdef double acc_n, acc_t, a
    cdef double* row
    cdef const double* uk
    cdef const double* lk
    for k in range(K):
        row = wr + k * TILE
        uk = u + k * TILE
        lk = logu + k * TILE
        acc_n = 0.0
        acc_t = 0.0
        for b in range(nb):
            a = row[b]
            acc_n = acc_n + a
            acc_t = acc_t + (a * (lk[b] - uk[b]) if a != 0.0 else 0.0)
            row[b] = a * uk[b]
        nr[k] += acc_n
        tlu[k] += acc_t


cdef void _row_totals(const double* wr, Py_ssize_t K, Py_ssize_t nb,
                      double* wt) noexcept nogil:
    """wt[b] = sum_k wr[k, b], k in order ('tied' with the t pass: the rows'
    weights its statistics take, sum_k w r u)."""
    cdef Py_ssize_t k, b
    cdef const double* row
    for b in range(nb):
        wt[b] = 0.0
    for k in range(K):
        row = wr + k * TILE
        for b in range(nb):
            wt[b] += row[b]


# --- one row range of one partition ---------------------------------------------

cdef double _range(const floating* X, Py_ssize_t d, Py_ssize_t K, int kind,
                   const double* w, bint weighted, const double* c,
                   const double* means, const double* U, const double* center,
                   const double* shifted, const double* shifted_u, Py_ssize_t start,
                   Py_ssize_t stop, double* nk, double* s1, double* s2, double* cc,
                   double ll, int* failed, const double* dof, double* nr,
                   double* tlu) noexcept nogil:
    """Add rows [start, stop) to one slot; return its log-likelihood continued.

    The direct-loop path of every kind. Tile after tile, so that a range
    continued by a later call adds up to the same bits. Sets ``failed[0]``
    when its buffers cannot be allocated. ``dof`` not NULL: the Student-t
    pass, which adds to the slot's ``nr`` and ``tlu`` too (NULL: the
    Gaussian pass, as it always was).
    """
    cdef double* xt = <double*> malloc(d * TILE * sizeof(double))
    cdef double* logp = <double*> malloc(K * TILE * sizeof(double))
    cdef double* work = <double*> malloc(d * TILE * sizeof(double))
    cdef double* y = <double*> malloc(TILE * sizeof(double))
    cdef double* top = <double*> malloc(TILE * sizeof(double))
    cdef double* total = <double*> malloc(TILE * sizeof(double))
    cdef double* wt = <double*> malloc(TILE * sizeof(double))
    # the Student-t pass's: zero constants, u and log u of a tile
    cdef double* zeros = _student_zeros(dof, K)
    cdef double* u = _student_buffer(dof, K)
    cdef double* logu = _student_buffer(dof, K)
    cdef const double* cq = zeros if dof != NULL else c
    cdef Py_ssize_t s, nb
    if (xt == NULL or logp == NULL or work == NULL or y == NULL or top == NULL
            or total == NULL or wt == NULL
            or (dof != NULL and (zeros == NULL or u == NULL or logu == NULL))):
        failed[0] = 1
        start = stop
    s = start
    while s < stop:
        nb = min(TILE, stop - s)
        _load_tile(X, d, w, weighted, s, nb, means, xt)
        _load_weights(w, weighted, s, nb, wt)
        if kind == FULL:
            _logp_full(xt, nb, d, K, cq, means, U, logp, work, y)
        elif kind == TIED:
            _logp_tied(xt, nb, d, K, cq, U, center, shifted_u, logp, work)
        else:
            _logp_diag(xt, nb, d, K, cq, means, U, logp)
        if dof != NULL:
            _student_logp(logp, K, nb, d, c, dof, u, logu, True)
        ll += _responsibilities(logp, K, nb, wt, top, total)
        if dof != NULL:
            _student_weights(logp, K, nb, u, logu, nr, tlu)
            if kind == TIED:
                _row_totals(logp, K, nb, wt)
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
    free(zeros)
    free(u)
    free(logu)
    return ll


# --- rows minus a vector (the BLAS tiles of _pass, the register-blocked tiles) ----

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
                              double* s1, double* s2, double ll, int* failed,
                              const double* dof, double* nr,
                              double* tlu) noexcept nogil:
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
    cdef double* zeros = _student_zeros(dof, K)
    cdef double* u = _student_buffer(dof, K)
    cdef double* logu = _student_buffer(dof, K)
    cdef const double* cq = zeros if dof != NULL else c
    cdef Py_ssize_t s, nb, k, b, j, l
    if (means_x == NULL or up == NULL or z == NULL or wz == NULL or gx == NULL
            or dist == NULL or t1 == NULL or logp == NULL or top == NULL
            or total == NULL or wt == NULL
            or (dof != NULL and (zeros == NULL or u == NULL or logu == NULL))):
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
                logp[k * TILE + b] = cq[k] - 0.5 * <double> dist[b]
        if dof != NULL:
            _student_logp(logp, K, nb, d, c, dof, u, logu, True)
        ll += _responsibilities(logp, K, nb, wt, top, total)
        if dof != NULL:
            _student_weights(logp, K, nb, u, logu, nr, tlu)
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
    free(zeros)
    free(u)
    free(logu)
    return ll


# --- 'diag' with few components and many features: row-major tiles -------------

cdef bint _diag_rows(int kind, Py_ssize_t d, Py_ssize_t K) noexcept nogil:
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
                             double ll, int* failed, const double* dof, double* nr,
                             double* tlu) noexcept nogil:
    """`_range` for 'diag' with few components, on row-major tiles."""
    # a float64 copy of the tile only with sample weights (rows of weight 0
    # read as a mean); otherwise the kernels read X's rows in place
    cdef double* xr = <double*> malloc(TILE * d * sizeof(double)) if weighted else NULL
    cdef double* logp = <double*> malloc(K * TILE * sizeof(double))
    cdef double* top = <double*> malloc(TILE * sizeof(double))
    cdef double* total = <double*> malloc(TILE * sizeof(double))
    cdef double* wt = <double*> malloc(TILE * sizeof(double))
    cdef double* zeros = _student_zeros(dof, K)
    cdef double* u = _student_buffer(dof, K)
    cdef double* logu = _student_buffer(dof, K)
    cdef const double* cq = zeros if dof != NULL else c
    cdef Py_ssize_t s, nb
    if ((weighted and xr == NULL) or logp == NULL or top == NULL or total == NULL
            or wt == NULL
            or (dof != NULL and (zeros == NULL or u == NULL or logu == NULL))):
        failed[0] = 1
        start = stop
    s = start
    while s < stop:
        nb = min(TILE, stop - s)
        _load_weights(w, weighted, s, nb, wt)
        if weighted:
            _load_rows(X, d, w, weighted, s, nb, means, xr)
            fastgmm_logp_diag_rows(K, xr, nb, K, d, cq, means, U, logp)
        elif floating is double:  # the tile's rows as they are
            fastgmm_logp_diag_rows(K, X + s * d, nb, K, d, cq, means, U, logp)
        else:
            fastgmm_logp_diag_rows_f(K, X + s * d, nb, K, d, cq, means, U, logp)
        if dof != NULL:
            _student_logp(logp, K, nb, d, c, dof, u, logu, True)
        ll += _responsibilities(logp, K, nb, wt, top, total)
        if dof != NULL:
            _student_weights(logp, K, nb, u, logu, nr, tlu)
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
    free(zeros)
    free(u)
    free(logu)
    return ll


# --- the drivers' checks of their parameters ---------------------------------------

cdef Py_ssize_t _u_size(int kind, Py_ssize_t K, Py_ssize_t d) except -1:
    if kind == FULL:
        return K * d * d
    if kind == TIED:
        return d * d
    if kind == DIAG:
        return K * d
    raise ValueError(f"kernel: unknown covariance kind {kind}")


cdef int _check_params(Py_ssize_t d, Py_ssize_t K, int kind, bint use_blas, means, U,
                       center, shifted_u) except -1:
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
    return 0
