"""Numba backend: the compiled parallel drivers of the kernel contract.

`fastgmm.kernels._backend` validates arguments, makes the partition buffers
and reduces them; this module supplies every driver of its contract
(`_backend.DRIVERS`), with the signatures and the bits of the Cython
backend's: the passes, `accumulate_partitions` and `posterior_partitions`
(here), the k-means calls (`_numba_kmeans`), the constants of a pass and EVE's
and VVE's common orientation (`_numba_mstep`) and a small fit's whole EM run in one call, `em_loop`
(here, on the passes of this module and the arithmetic of `_numba_mstep`).

`accumulate_partitions` and `posterior_partitions` run their row ranges on
``n_threads`` threads, a
range in tiles of `_common.TILE` rows: the calling thread and the threads of
a pool each run one compiled, GIL-free (``nogil``) loop over their share of
the ranges. Numba's own ``parallel=True`` is not used: compiling a parfor
re-optimizes every function it calls (about 17 s per driver and dtype, most
of a cold start), and its 'workqueue' threading layer aborts the process
when entered from several threads at once.

A tile is worked column by column so that every inner loop runs over rows,
contiguous in memory, and vectorizes:

1. the tile is copied transposed, xt[j, b] = X[start + b, j], in float64;
2. for each component, log p[k, b] = c_k - 0.5 * ||(x_b - m_k) U_k||^2;
3. per row, the max-shifted log-sum-exp and the responsibilities r[k, b];
4. for each component, N, S1 and S2 of the tile are sums over b.

For 'full' with many features (`_common.uses_blas`), steps 2 and 4 are
matrix products through BLAS (``np.dot``) on row-major tiles in X's own
dtype, so float32 data run at float32 speed; tile sums are then added to
float64 statistics. 'tied' has no BLAS path: its one triangular product per
row is already cheap next to the k distances.
"""

import math

import numba
import numpy as np
from numba import njit, types

from ._common import DIAG, FULL, TIED, TILE, usable_cores
from ._numba_base import _FASTMATH, _JIT, _STRICT, pairwise  # noqa: F401  (_FASTMATH: the tests)
from ._numba_base import run_shares as _run_shares
from ._numba_kmeans import (  # noqa: F401  (the k-means calls of the contract)
    column_mean,
    einsum_dot,
    einsum_dots,
    kmeans_norms,
    kmeans_partitions,
    kpp_loop,
    kpp_partitions,
    kpp_pick,
    labelled_partitions,
    lloyd_loop,
)
from ._numba_mstep import SPHERICAL, factor_full, factor_size, factor_variances, kind_of
from ._numba_mstep import add_reduce as _add_reduce  # noqa: F401  (for the tests)
from ._numba_mstep import common_orientation  # noqa: F401  (of the contract)
from ._numba_mstep import constants as _constants
from ._numba_mstep import log_prob_constants  # noqa: F401  (of the contract)
from ._numba_math import (  # noqa: F401  (exp_nonpositive, log_at_least_one: the tests)
    _BIG_T,
    exp_nonpositive,
    log1p_scaled,
    log1p_small,
    log_at_least_one,
)
from ._numba_mstep import m_step as _m_step


# --- the Student-t pass's steps of a tile (docs/design.md, "The Student-t pass") --


@njit(**_JIT)
def _student_logp(logp, nb, c, dof, n_features, u, logu):
    """log p[k, b] = -delta_kb / 2 (the quadratic form with c = 0) -> the t
    log-density c_k - (nu_k + d)/2 log1p(delta_kb / nu_k); u[k, b] = (nu_k +
    d) / (nu_k + delta_kb) and logu[k, b] = log u (both skipped when u is
    empty: the posterior)."""
    want_u = u.shape[0] > 0
    saved = np.empty(nb)
    for k in range(logp.shape[0]):
        nu = dof[k]
        inv_nu = 1.0 / nu
        log_inv_nu = -math.log(nu)
        h = 0.5 * (nu + n_features)
        scale = (nu + n_features) * inv_nu  # u = (nu + d) / nu / (1 + t)
        lq = math.log1p(n_features * inv_nu)
        ck = c[k]
        # every tile runs the same loop on every row (log1p_small); a tile
        # with a row past _BIG_T then computes those rows again by the long
        # form, from a copy of their deltas (a row's bits do not depend on
        # the other rows of its tile)
        any_big = False
        for b in range(nb):  # (the t below; NaN: not big)
            any_big |= (-2.0 * logp[k, b]) * inv_nu > _BIG_T
        if any_big:
            saved[:nb] = logp[k, :nb]
        for b in range(nb):
            delta = -2.0 * logp[k, b]
            delta = delta if delta > 0.0 else 0.0
            l1p, g = log1p_small(delta * inv_nu)
            logp[k, b] = ck - h * l1p
            if want_u:
                u[k, b] = scale * g
                logu[k, b] = lq - l1p
        if not any_big:
            continue
        for b in range(nb):
            delta = -2.0 * saved[b]
            delta = delta if delta > 0.0 else 0.0
            if delta * inv_nu > _BIG_T:
                l1p, g = log1p_scaled(delta, nu, inv_nu, log_inv_nu)
                logp[k, b] = ck - h * l1p
                if want_u:
                    u[k, b] = scale * g
                    logu[k, b] = lq - l1p


@njit(**_JIT)
def _student_weights(wr, nb, u, logu, nr, tlu):
    """wr[k, b] = w_b r_kb -> w_b r_kb u_kb in place; nr[k] += sum_b w_b r_kb,
    tlu[k] += sum_b w_b r_kb (log u_kb - u_kb)."""
    for k in range(wr.shape[0]):
        acc_n = 0.0
        acc_t = 0.0
        for b in range(nb):
            a = wr[k, b]
            acc_n += a
            acc_t += a * (logu[k, b] - u[k, b]) if a != 0.0 else 0.0
            wr[k, b] = a * u[k, b]
        nr[k] += acc_n
        tlu[k] += acc_t


@njit(**_JIT)
def _column_sums(wr, nb, wt):
    """wt[b] = sum_k wr[k, b] ('tied' with the t pass: the rows' total weight)."""
    for b in range(nb):
        wt[b] = 0.0
    for k in range(wr.shape[0]):
        for b in range(nb):
            wt[b] += wr[k, b]


# --- tile steps shared by every covariance type -----------------------------------


@njit(**_JIT)
def _load_tile(X, w, start, nb, fill, xt):
    """xt[j, b] = X[start + b, j] as float64; ``fill`` for rows of weight 0.

    A row of weight 0 must not act, even where its values would overflow (a
    row of 1e200 squares to inf, and 0 * inf is NaN): it is read as ``fill``
    (a mean), which gives finite log-probabilities, and then adds nothing.
    """
    n_features = X.shape[1]
    if w.shape[0] == 0:
        for b in range(nb):
            for j in range(n_features):
                xt[j, b] = X[start + b, j]
    else:
        for b in range(nb):
            if w[start + b] != 0.0:
                for j in range(n_features):
                    xt[j, b] = X[start + b, j]
            else:
                for j in range(n_features):
                    xt[j, b] = fill[j]


@njit(**_JIT)
def _load_weights(w, start, nb, wt):
    """wt[b] = w[start + b], or 1 when w is empty (no sample weights)."""
    if w.shape[0] == 0:
        for b in range(nb):
            wt[b] = 1.0
    else:
        for b in range(nb):
            wt[b] = w[start + b]


@njit(**_JIT)
def _row_max(logp, nb, top):
    """top[b] = max_k log p[k, b]."""
    for b in range(nb):
        top[b] = logp[0, b]
    for k in range(1, logp.shape[0]):
        for b in range(nb):
            top[b] = max(top[b], logp[k, b])


@njit(**_JIT)
def _exp_shifted(logp, nb, top, total):
    """log p[k, b] -> exp(log p[k, b] - top[b]) in place; total[b] = their sum."""
    for b in range(nb):
        total[b] = 0.0
    for k in range(logp.shape[0]):
        for b in range(nb):
            e = exp_nonpositive(logp[k, b] - top[b])
            logp[k, b] = e
            total[b] += e


@njit(**_JIT)
def _responsibilities(logp, nb, wt, top, total):
    """Turn log p[k, b] into w_b r_kb in place; return sum_b w_b lse_b.

    Rows of zero weight get zero responsibilities and add nothing.
    """
    n_components = logp.shape[0]
    _row_max(logp, nb, top)
    _exp_shifted(logp, nb, top, total)
    ll = 0.0
    for b in range(nb):
        wb = wt[b]
        lse = top[b] + log_at_least_one(total[b])
        # branch-free so that it vectorizes
        ll += wb * lse if wb != 0.0 else 0.0
        total[b] = wb / total[b]
    for k in range(n_components):
        for b in range(nb):
            logp[k, b] *= total[b]  # w_b r_kb
    return ll


# --- log-probabilities of a tile, per covariance type ----------------------------


@njit(**_JIT)
def _logp_full(xt, nb, c, means, U, logp, diff, y):
    n_components, n_features = means.shape
    for k in range(n_components):
        for l in range(n_features):
            m = means[k, l]
            for b in range(nb):
                diff[l, b] = xt[l, b] - m
        for b in range(nb):
            logp[k, b] = 0.0
        for j in range(n_features):
            u = U[k, 0, j]
            for b in range(nb):
                y[b] = diff[0, b] * u
            for l in range(1, j + 1):
                u = U[k, l, j]
                for b in range(nb):
                    y[b] += diff[l, b] * u
            for b in range(nb):
                logp[k, b] += y[b] * y[b]
        ck = c[k]
        for b in range(nb):
            logp[k, b] = ck - 0.5 * logp[k, b]


@njit(**_JIT)
def _logp_diag(xt, nb, c, means, U, logp):
    n_components, n_features = means.shape
    for k in range(n_components):
        for b in range(nb):
            logp[k, b] = 0.0
        for j in range(n_features):
            m = means[k, j]
            p = U[k, j]
            for b in range(nb):
                t = (xt[j, b] - m) * p
                logp[k, b] += t * t
        ck = c[k]
        for b in range(nb):
            logp[k, b] = ck - 0.5 * logp[k, b]


@njit(**_JIT)
def _logp_tied(xt, nb, c, U, center, shifted_u, logp, y0):
    # (x - m_k) U = (x - g) U - (m_k - g) U: one triangular product per row
    n_components, n_features = shifted_u.shape
    for j in range(n_features):
        for b in range(nb):
            y0[j, b] = 0.0
        for l in range(j + 1):
            u = U[l, j]
            g = center[l]
            for b in range(nb):
                y0[j, b] += (xt[l, b] - g) * u
    for k in range(n_components):
        for b in range(nb):
            logp[k, b] = 0.0
        for j in range(n_features):
            s = shifted_u[k, j]
            for b in range(nb):
                t = y0[j, b] - s
                logp[k, b] += t * t
        ck = c[k]
        for b in range(nb):
            logp[k, b] = ck - 0.5 * logp[k, b]


# --- statistics of a tile, per covariance type -------------------------------------
# wr[k, b] = w_b r_kb (the output of _responsibilities)


@njit(**_JIT)
def _add_counts(wr, nb, nk):
    """nk[k] += sum_b w_b r_kb."""
    for k in range(wr.shape[0]):
        acc = 0.0
        for b in range(nb):
            acc += wr[k, b]
        nk[k] += acc


@njit(**_JIT)
def _stats_full(xt, nb, means, wr, nk, s1, s2, diff, t):
    n_components, n_features = means.shape
    _add_counts(wr, nb, nk)
    for k in range(n_components):
        for l in range(n_features):
            m = means[k, l]
            for b in range(nb):
                diff[l, b] = xt[l, b] - m
        for l in range(n_features):
            acc = 0.0
            for b in range(nb):
                v = wr[k, b] * diff[l, b]
                t[b] = v
                acc += v
            s1[k, l] += acc
            for j in range(l, n_features):
                acc = 0.0
                for b in range(nb):
                    acc += t[b] * diff[j, b]
                s2[k, l, j] += acc


@njit(**_JIT)
def _stats_diag(xt, nb, means, wr, nk, s1, s2):
    n_components, n_features = means.shape
    _add_counts(wr, nb, nk)
    for k in range(n_components):
        for j in range(n_features):
            m = means[k, j]
            acc1 = 0.0
            acc2 = 0.0
            for b in range(nb):
                dv = xt[j, b] - m
                v = wr[k, b] * dv
                acc1 += v
                acc2 += v * dv
            s1[k, j] += acc1
            s2[k, j] += acc2


@njit(**_JIT)
def _stats_tied(xt, nb, wt, means, center, shifted, wr, nk, s1, s2, cc, xm, inv_w):
    """N, S1; A = sum_b w_b (x_b - mbar_b)(x_b - mbar_b)^T; C_kl = sum w r_k r_l."""
    n_components, n_features = means.shape
    _add_counts(wr, nb, nk)
    for k in range(n_components):
        for j in range(n_features):
            m = means[k, j]
            acc = 0.0
            for b in range(nb):
                acc += wr[k, b] * (xt[j, b] - m)
            s1[k, j] += acc
    # r_kb = wr_kb / w_b; rows of zero weight have wr = 0 and add nothing
    for b in range(nb):
        wb = wt[b]
        inv_w[b] = 1.0 / wb if wb != 0.0 else 0.0
    # xm[j, b] = (x_b - g)_j - sum_k r_kb (m_k - g)_j
    for j in range(n_features):
        g = center[j]
        for b in range(nb):
            xm[j, b] = 0.0
        for k in range(n_components):
            s = shifted[k, j]
            for b in range(nb):
                xm[j, b] += wr[k, b] * s
        for b in range(nb):
            xm[j, b] = (xt[j, b] - g) - xm[j, b] * inv_w[b]
    for j in range(n_features):
        for l in range(j, n_features):
            acc = 0.0
            for b in range(nb):
                acc += wt[b] * xm[j, b] * xm[l, b]
            s2[j, l] += acc
    for k in range(n_components):
        for l in range(k + 1, n_components):
            acc = 0.0
            for b in range(nb):
                acc += wr[k, b] * wr[l, b] * inv_w[b]
            cc[k, l] += acc


# --- 'full' through BLAS, in X's dtype ----------------------------------------------


@njit(**_JIT)
def _rows_minus(X, w, start, nb, vec, out):
    """out[b, :] = X[start + b, :] - vec in out's dtype (X's); 0 for weight 0."""
    n_features = X.shape[1]
    weighted = w.shape[0] > 0
    for b in range(nb):
        if weighted and w[start + b] == 0.0:
            for j in range(n_features):
                out[b, j] = 0.0
        else:
            for j in range(n_features):
                out[b, j] = X[start + b, j] - vec[j]


@njit(**_JIT)
def _logp_full_blas(X, w, s, nb, c, means_x, U_x, logp, diff, y):
    """log p of a tile for 'full' through BLAS, in X's dtype (row-major tiles)."""
    n_components, n_features = means_x.shape
    for k in range(n_components):
        _rows_minus(X, w, s, nb, means_x[k], diff)
        np.dot(diff[:nb], U_x[k], y[:nb])
        ck = c[k]
        for b in range(nb):
            acc = 0.0
            for j in range(n_features):
                acc += y[b, j] * y[b, j]
            logp[k, b] = ck - 0.5 * acc


@njit(**_JIT)
def _range_full_blas(X, w, c, means, U, start, stop, nk, s1, s2, ll, dof, nr, tlu):
    n_components, n_features = means.shape
    student = dof.shape[0] > 0
    c_pass = np.zeros(n_components) if student else c
    u = np.empty((n_components, TILE) if student else (0, 0))
    logu = np.empty((n_components, TILE) if student else (0, 0))
    dt = X.dtype
    means_x = means.astype(dt)
    U_x = U.astype(dt)
    diff = np.empty((TILE, n_features), dtype=dt)
    y = np.empty((TILE, n_features), dtype=dt)
    scatter = np.empty((n_features, n_features), dtype=dt)
    logp = np.empty((n_components, TILE))
    top = np.empty(TILE)
    total = np.empty(TILE)
    wt = np.empty(TILE)
    for s in range(start, stop, TILE):
        nb = min(TILE, stop - s)
        _load_weights(w, s, nb, wt)
        _logp_full_blas(X, w, s, nb, c_pass, means_x, U_x, logp, diff, y)
        if student:
            _student_logp(logp, nb, c, dof, n_features, u, logu)
        ll += _responsibilities(logp, nb, wt, top, total)
        if student:
            _student_weights(logp, nb, u, logu, nr, tlu)
        for k in range(n_components):
            _rows_minus(X, w, s, nb, means_x[k], diff)
            acc = 0.0
            for b in range(nb):
                acc += logp[k, b]
            nk[k] += acc
            for j in range(n_features):
                acc = 0.0
                for b in range(nb):
                    acc += logp[k, b] * diff[b, j]
                s1[k, j] += acc
            for b in range(nb):
                r = math.sqrt(logp[k, b])
                for j in range(n_features):
                    y[b, j] = diff[b, j] * r
            np.dot(y[:nb].T, y[:nb], scatter)
            for j in range(n_features):
                for l in range(j, n_features):
                    s2[k, j, l] += scatter[j, l]
    return ll


# --- 'diag' with many features: tiles as matrix products in X's dtype ------------
# (the expansion around the mean of the means g: see _cython.pyx, where it is
# written out; Q is (nb, 2d) here: z^2 in columns 0..d-1, z = x - g in d..2d-1)


@njit(**_JIT)
def _diag_gemm_setup(X, c, means, U, center):
    """g in X's dtype, a_k = m_k - g, B (2d, k) and const_k."""
    n_components, n_features = means.shape
    dt = X.dtype
    g_x = center.astype(dt)
    shift = np.empty((n_components, n_features))
    bmat = np.empty((2 * n_features, n_components), dtype=dt)
    cst = np.empty(n_components)
    for k in range(n_components):
        acc = 0.0
        for j in range(n_features):
            a = means[k, j] - np.float64(g_x[j])
            shift[k, j] = a
            bmat[j, k] = U[k, j] * U[k, j]  # rounded to X's dtype
            p2 = np.float64(bmat[j, k])
            bmat[n_features + j, k] = -2.0 * a * p2
            acc += a * a * p2
        cst[k] = c[k] - 0.5 * acc
    return g_x, shift, bmat, cst


@njit(**_JIT)
def _load_gemm_tile(X, w, start, nb, g_x, q):
    """q[b, j] = z_bj^2, q[b, d + j] = z_bj (z = x - g); 0 for rows of weight 0."""
    n_features = X.shape[1]
    weighted = w.shape[0] > 0
    for b in range(nb):
        if weighted and w[start + b] == 0.0:
            for j in range(2 * n_features):
                q[b, j] = 0.0
        else:
            for j in range(n_features):
                z = X[start + b, j] - g_x[j]
                q[b, j] = z * z
                q[b, n_features + j] = z


@njit(**_JIT)
def _logp_diag_gemm(q, nb, bmat, cst, logp, lx):
    """log p[k, b] = const_k - ([z^2, z] B)[b, k] / 2."""
    np.dot(q[:nb], bmat, lx[:nb])
    for k in range(cst.shape[0]):
        ck = cst[k]
        for b in range(nb):
            logp[k, b] = ck - 0.5 * np.float64(lx[b, k])


@njit(**_JIT)
def _stats_diag_gemm(q, nb, shift, wr, rx, gx, nk, s1, s2):
    """N, S1, S2 around m_k from [z^2, z]^T R (wr[k, b] = w_b r_kb)."""
    n_components, n_features = shift.shape
    for k in range(n_components):
        for b in range(nb):
            rx[b, k] = wr[k, b]  # in X's dtype
    np.dot(q[:nb].T, rx[:nb], gx)
    for k in range(n_components):
        cnt = 0.0
        for b in range(nb):
            cnt += wr[k, b]
        nk[k] += cnt
        for j in range(n_features):
            a = shift[k, j]
            t2 = np.float64(gx[j, k])
            t1 = np.float64(gx[n_features + j, k])
            s1[k, j] += t1 - cnt * a
            s2[k, j] += (t2 - 2.0 * a * t1) + cnt * a * a


@njit(**_JIT)
def _range_diag_gemm(X, w, c, means, U, center, start, stop, nk, s1, s2, ll, dof, nr,
                     tlu):
    n_components, n_features = means.shape
    dt = X.dtype
    student = dof.shape[0] > 0
    c_pass = np.zeros(n_components) if student else c
    u = np.empty((n_components, TILE) if student else (0, 0))
    logu = np.empty((n_components, TILE) if student else (0, 0))
    g_x, shift, bmat, cst = _diag_gemm_setup(X, c_pass, means, U, center)
    q = np.empty((TILE, 2 * n_features), dtype=dt)
    lx = np.empty((TILE, n_components), dtype=dt)
    rx = np.empty((TILE, n_components), dtype=dt)
    gx = np.empty((2 * n_features, n_components), dtype=dt)
    logp = np.empty((n_components, TILE))
    top = np.empty(TILE)
    total = np.empty(TILE)
    wt = np.empty(TILE)
    for s in range(start, stop, TILE):
        nb = min(TILE, stop - s)
        _load_weights(w, s, nb, wt)
        _load_gemm_tile(X, w, s, nb, g_x, q)
        _logp_diag_gemm(q, nb, bmat, cst, logp, lx)
        if student:
            _student_logp(logp, nb, c, dof, n_features, u, logu)
        ll += _responsibilities(logp, nb, wt, top, total)
        if student:
            _student_weights(logp, nb, u, logu, nr, tlu)
        _stats_diag_gemm(q, nb, shift, logp, rx, gx, nk, s1, s2)
    return ll


# --- one row range of one partition ------------------------------------------------


@njit(**_JIT)
def _range(X, w, c, means, U, center, shifted, shifted_u, kind, use_blas,
           start, stop, nk, s1, s2, cc, ll, dof, nr, tlu):
    """Add the statistics of rows [start, stop) to one partition's slot.

    ``nk``, ``s1``, ``s2``, ``cc``: the slot's flat buffers; ``ll``: its
    log-likelihood so far. Returns the new log-likelihood: tile after tile,
    so that a range continued by a later call adds up to the same bits.
    ``dof`` (k,), ``nr``, ``tlu``: the Student-t pass's (``dof`` empty: the
    Gaussian pass; see `_student_logp`, `_student_weights`).
    """
    n_components, n_features = means.shape
    if use_blas and kind == DIAG:
        return _range_diag_gemm(
            X, w, c, means, U.reshape((n_components, n_features)), center, start,
            stop, nk, s1.reshape((n_components, n_features)),
            s2.reshape((n_components, n_features)), ll, dof, nr, tlu)
    if use_blas:
        return _range_full_blas(
            X, w, c, means, U.reshape((n_components, n_features, n_features)),
            start, stop, nk, s1.reshape((n_components, n_features)),
            s2.reshape((n_components, n_features, n_features)), ll, dof, nr, tlu)
    student = dof.shape[0] > 0
    c_pass = np.zeros(n_components) if student else c
    u = np.empty((n_components, TILE) if student else (0, 0))
    logu = np.empty((n_components, TILE) if student else (0, 0))
    xt = np.empty((n_features, TILE))
    logp = np.empty((n_components, TILE))
    work = np.empty((n_features, TILE))
    y = np.empty(TILE)
    top = np.empty(TILE)
    total = np.empty(TILE)
    wt = np.empty(TILE)
    s1_2d = s1.reshape((n_components, n_features))
    for s in range(start, stop, TILE):
        nb = min(TILE, stop - s)
        _load_tile(X, w, s, nb, means[0], xt)
        _load_weights(w, s, nb, wt)
        if kind == FULL:
            U3 = U.reshape((n_components, n_features, n_features))
            _logp_full(xt, nb, c_pass, means, U3, logp, work, y)
        elif kind == TIED:
            _logp_tied(xt, nb, c_pass, U.reshape((n_features, n_features)), center,
                       shifted_u, logp, work)
        else:
            _logp_diag(xt, nb, c_pass, means, U.reshape((n_components, n_features)),
                       logp)
        if student:
            _student_logp(logp, nb, c, dof, n_features, u, logu)
        ll += _responsibilities(logp, nb, wt, top, total)
        if student:
            _student_weights(logp, nb, u, logu, nr, tlu)
            if kind == TIED:
                _column_sums(logp, nb, wt)
        if kind == FULL:
            _stats_full(xt, nb, means, logp, nk, s1_2d,
                        s2.reshape((n_components, n_features, n_features)), work, y)
        elif kind == TIED:
            _stats_tied(xt, nb, wt, means, center, shifted, logp, nk, s1_2d,
                        s2.reshape((n_features, n_features)),
                        cc.reshape((n_components, n_components)), work, top)
        else:
            _stats_diag(xt, nb, means, logp, nk, s1_2d,
                        s2.reshape((n_components, n_features)))
    return ll


# --- posteriors for predict, predict_proba, score_samples -----------------------


@njit(**_JIT)
def _posterior_tile(logp, nb, s, raw, log_norm, resp, labels, top, total):
    """From log p[k, b] of a tile: log-sum-exp, responsibilities, argmax.

    Each output is written only when it has rows (an empty array: not wanted).
    With ``raw``, resp receives log p itself. A row whose log p are all -inf
    (zero density under every component, numerically) gets log_norm -inf,
    responsibilities NaN and label -1: the caller resolves it.
    """
    n_components = logp.shape[0]
    if raw:
        for b in range(nb):
            for k in range(n_components):
                resp[s + b, k] = logp[k, b]
        return
    _row_max(logp, nb, top)
    degenerate = False
    for b in range(nb):
        degenerate |= not top[b] > -np.inf
    if labels.shape[0] > 0:
        for b in range(nb):
            best = 0
            for k in range(1, n_components):
                if logp[k, b] > logp[best, b]:
                    best = k
            labels[s + b] = best if top[b] > -np.inf else -1
    if log_norm.shape[0] == 0 and resp.shape[0] == 0:
        return
    _exp_shifted(logp, nb, top, total)
    if log_norm.shape[0] > 0:
        for b in range(nb):
            log_norm[s + b] = top[b] + log_at_least_one(total[b])
        if degenerate:
            for b in range(nb):
                if not top[b] > -np.inf:
                    log_norm[s + b] = -np.inf
    if resp.shape[0] > 0:
        for b in range(nb):
            total[b] = 1.0 / total[b]
        for b in range(nb):
            for k in range(n_components):
                resp[s + b, k] = logp[k, b] * total[b]
        if degenerate:
            for b in range(nb):
                if not top[b] > -np.inf:
                    for k in range(n_components):
                        resp[s + b, k] = np.nan


@njit(**_JIT)
def _posterior_range(X, c, means, U, center, shifted_u, kind, start, stop,
                     raw, log_norm, resp, labels, dof):
    """Per-row results of rows [start, stop), tile by tile, on the direct
    loops (never BLAS: `posterior_partitions`); ``dof`` empty: the Gaussian
    log p, else the Student-t's."""
    n_components, n_features = means.shape
    student = dof.shape[0] > 0
    c_pass = np.zeros(n_components) if student else c
    no_u = np.empty((0, 0))
    no_weights = np.zeros(0)
    xt = np.empty((n_features, TILE))
    logp = np.empty((n_components, TILE))
    work = np.empty((n_features, TILE))
    y = np.empty(TILE)
    top = np.empty(TILE)
    total = np.empty(TILE)
    for s in range(start, stop, TILE):
        nb = min(TILE, stop - s)
        _load_tile(X, no_weights, s, nb, means[0], xt)
        if kind == FULL:
            _logp_full(xt, nb, c_pass, means,
                       U.reshape((n_components, n_features, n_features)),
                       logp, work, y)
        elif kind == TIED:
            _logp_tied(xt, nb, c_pass, U.reshape((n_features, n_features)), center,
                       shifted_u, logp, work)
        else:
            _logp_diag(xt, nb, c_pass, means, U.reshape((n_components, n_features)),
                       logp)
        if student:
            _student_logp(logp, nb, c, dof, n_features, no_u, no_u)
        _posterior_tile(logp, nb, s, raw, log_norm, resp, labels, top, total)


# --- the parallel drivers -------------------------------------------------------------


@njit(**_JIT)
def _check_blas(kind, use_blas, center, n_features):
    if use_blas and kind == TIED:
        raise ValueError("kernel: 'tied' has no BLAS path")
    if use_blas and kind == DIAG and center.shape[0] != n_features:
        raise ValueError("kernel: the 'diag' products need a centre of n_features")


@njit(**_JIT)
def _check_accumulate(X, w, c, means, U, center, shifted, shifted_u, segments,
                      nk, s1, s2, cc, ll, kind, use_blas):
    """The shapes the drivers rely on; ValueError, never an out-of-bounds access."""
    n_samples, n_features = X.shape
    n_components = c.shape[0]
    n_parts = ll.shape[0]
    if means.shape[0] != n_components * n_features:
        raise ValueError("kernel: means must have n_components * n_features values")
    if kind == FULL:
        u_size = n_components * n_features * n_features
        s2_size = u_size
    elif kind == TIED:
        u_size = n_features * n_features
        s2_size = u_size
    elif kind == DIAG:
        u_size = n_components * n_features
        s2_size = u_size
    else:
        raise ValueError("kernel: unknown covariance kind")
    if U.shape[0] != u_size:
        raise ValueError("kernel: precisions_cholesky has the wrong size")
    if w.shape[0] != 0 and w.shape[0] != n_samples:
        raise ValueError("kernel: sample weights must have one value per row")
    if kind == TIED and (center.shape[0] != n_features
                         or shifted.shape[0] != n_components * n_features
                         or shifted_u.shape[0] != n_components * n_features
                         or cc.shape[1] != n_components * n_components):
        raise ValueError("kernel: tied centering arrays have the wrong size")
    _check_blas(kind, use_blas, center, n_features)
    if (nk.shape[0] != n_parts or s1.shape[0] != n_parts or s2.shape[0] != n_parts
            or cc.shape[0] != n_parts or nk.shape[1] != n_components
            or s1.shape[1] != n_components * n_features or s2.shape[1] != s2_size):
        raise ValueError("kernel: partial statistics have the wrong shape")
    if segments.shape[1] != 3:
        raise ValueError("kernel: segments must be (slot, start, stop) rows")
    previous = -1
    for i in range(segments.shape[0]):
        slot, start, stop = segments[i, 0], segments[i, 1], segments[i, 2]
        if slot <= previous or slot >= n_parts:
            raise ValueError("kernel: segment slots must increase within range")
        if start < 0 or stop < start or stop > n_samples:
            raise ValueError("kernel: segment rows out of range")
        previous = slot


@njit(**_JIT)
def _accumulate_share(X, w, c, means, U, center, shifted, shifted_u, segments,
                      nk, s1, s2, cc, ll, kind, use_blas, share, n_shares):
    """Segments share, share + n_shares, ... of a pass (one thread's part)."""
    none = np.zeros(0)
    _accumulate_share_t(X, w, c, means, U, center, shifted, shifted_u, segments,
                        nk, s1, s2, cc, ll, kind, use_blas, share, n_shares, none,
                        np.zeros((0, 0)), np.zeros((0, 0)))


@njit(**_JIT)
def _accumulate_share_t(X, w, c, means, U, center, shifted, shifted_u, segments,
                        nk, s1, s2, cc, ll, kind, use_blas, share, n_shares, dof, nr,
                        tlu):
    """`_accumulate_share` of the Student-t pass (``dof`` empty: the Gaussian)."""
    n_components = c.shape[0]
    student = dof.shape[0] > 0
    no_stats = np.zeros(0)
    n_features = X.shape[1]
    means_2d = means.reshape((n_components, n_features))
    shifted_2d = shifted.reshape((-1, n_features))
    shifted_u_2d = shifted_u.reshape((-1, n_features))
    for i in range(share, segments.shape[0], n_shares):
        p = segments[i, 0]
        ll[p] = _range(X, w, c, means_2d, U, center, shifted_2d, shifted_u_2d, kind,
                       use_blas, segments[i, 1], segments[i, 2], nk[p], s1[p], s2[p],
                       cc[p], ll[p], dof, nr[p] if student else no_stats,
                       tlu[p] if student else no_stats)


@njit(**_JIT)
def _check_posterior(X, c, means, U, center, shifted_u, bounds, log_norm, resp,
                     labels, kind, use_blas, raw):
    n_samples, n_features = X.shape
    n_components = c.shape[0]
    if means.shape[0] != n_components * n_features:
        raise ValueError("kernel: means must have n_components * n_features values")
    if kind == FULL:
        u_size = n_components * n_features * n_features
    elif kind == TIED:
        u_size = n_features * n_features
    elif kind == DIAG:
        u_size = n_components * n_features
    else:
        raise ValueError("kernel: unknown covariance kind")
    if U.shape[0] != u_size:
        raise ValueError("kernel: precisions_cholesky has the wrong size")
    if kind == TIED and (center.shape[0] != n_features
                         or shifted_u.shape[0] != n_components * n_features):
        raise ValueError("kernel: tied centering arrays have the wrong size")
    _check_blas(kind, use_blas, center, n_features)
    if log_norm.shape[0] not in (0, n_samples):
        raise ValueError("kernel: log_norm must have one value per row")
    if labels.shape[0] not in (0, n_samples):
        raise ValueError("kernel: labels must have one value per row")
    if resp.shape[0] not in (0, n_samples) or resp.shape[1] != n_components:
        raise ValueError("kernel: resp must have shape (n_samples, n_components)")
    if raw and resp.shape[0] == 0:
        raise ValueError("kernel: raw log-probabilities need resp")
    if bounds.shape[0] < 1 or bounds[0] != 0 or bounds[bounds.shape[0] - 1] != n_samples:
        raise ValueError("kernel: bounds must run from 0 to n_samples")
    for p in range(bounds.shape[0] - 1):
        if bounds[p + 1] < bounds[p]:
            raise ValueError("kernel: bounds must not decrease")


@njit(**_JIT)
def _posterior_share(X, c, means, U, center, shifted_u, bounds, log_norm, resp,
                     labels, kind, raw, share, n_shares, dof):
    """Partitions share, share + n_shares, ... of the posteriors."""
    n_components = c.shape[0]
    n_features = X.shape[1]
    means_2d = means.reshape((n_components, n_features))
    shifted_u_2d = shifted_u.reshape((-1, n_features))
    for p in range(share, bounds.shape[0] - 1, n_shares):
        _posterior_range(X, c, means_2d, U, center, shifted_u_2d, kind,
                         bounds[p], bounds[p + 1], raw, log_norm, resp, labels, dof)


# --- entry points: the drivers of the kernel contract -------------------------------


def max_threads():
    """The threads a pass runs on by default: the usable cores."""
    return usable_cores()


#: The drivers compute the Student-t pass (``dof``): `_backend._check_takes_dof`.
TAKES_DOF = True

_NO_DOF = np.zeros(0)


def _check_dof(dof, n_components, n_parts=None, nr=None, tlu=None):
    """ValueError unless dof is (k,) and nr, tlu (P, k) float64 (the shapes
    the drivers index)."""
    if dof.ndim != 1 or dof.shape[0] != n_components or dof.dtype != np.float64:
        raise ValueError("kernel: dof must be a float64 array of n_components values")
    for name, a in (("nr", nr), ("tlu", tlu)):
        if n_parts is not None and not (
                isinstance(a, np.ndarray) and a.dtype == np.float64 and a.ndim == 2
                and a.shape == (n_parts, n_components) and a.flags.c_contiguous
                and a.flags.writeable):
            raise ValueError(f"kernel: partial {name} must be writable float64 of "
                             "shape (n_partitions, n_components)")


def accumulate_partitions(X, w, c, means, U, center, shifted, shifted_u, segments,
                          nk, s1, s2, cc, ll, kind, use_blas, n_threads, dof=None,
                          nr=None, tlu=None):
    """Add each segment's statistics to its partition slot.

    X : const (n, d) float32/float64, C order          # IN
    w : const (n,) float64, or (0,): every row weighs 1  # IN
    c, means, U : const (k,), (k*d,), flat U float64   # IN  (see _backend)
    center : const (d,) for 'tied' and 'diag' with use_blas  # IN
    shifted, shifted_u : const (k*d,), (k*d,) for 'tied'  # IN
    segments : const (m, 3) intp, (slot, start, stop), slots increasing  # IN
    nk, s1, s2, cc : (P, k), (P, k*d), (P, |S2|), (P, |C|) float64  # IN/OUT, added to
    ll : (P,) float64, the slots' log-likelihoods      # IN/OUT, continued
    kind : FULL, TIED or DIAG (`_common.KIND`); use_blas : 'full' or 'diag' through
        BLAS tiles
    n_threads : int, already capped (`_common.resolve_threads`)
    dof : const (k,) float64, or None: the Student-t pass  # IN
    nr, tlu : (P, k) float64 with dof                   # IN/OUT, added to
    """
    _check_accumulate(X, w, c, means, U, center, shifted, shifted_u, segments,
                      nk, s1, s2, cc, ll, kind, use_blas)
    if dof is None:
        _run_shares(n_threads, segments.shape[0],
                    lambda share, n_shares: _accumulate_share(
                        X, w, c, means, U, center, shifted, shifted_u, segments, nk,
                        s1, s2, cc, ll, kind, use_blas, share, n_shares))
        return
    _check_dof(dof, c.shape[0], ll.shape[0], nr, tlu)
    _run_shares(n_threads, segments.shape[0], lambda share, n_shares: _accumulate_share_t(
        X, w, c, means, U, center, shifted, shifted_u, segments, nk, s1, s2, cc, ll,
        kind, use_blas, share, n_shares, dof, nr, tlu))


def posterior_partitions(X, c, means, U, center, shifted_u, bounds, log_norm, resp,
                         labels, kind, use_blas, raw, n_threads, dof=None):
    """Per-row results from log p, partition by partition.

    X : const (n, d) float32/float64, C order          # IN
    c, means, U, center, shifted_u : as in `accumulate_partitions`  # IN
    bounds : const (P + 1,) int64 row bounds, 0 to n   # IN
    log_norm : (n,) or (0,) float32/float64            # OUT, logsumexp_k log p_ik
    resp : (n, k) or (0, k), log_norm's dtype          # OUT, r_ik (raw: log p_ik)
    labels : (n,) or (0,) intp                         # OUT, argmax_k log p_ik
    kind, use_blas, n_threads : as in `accumulate_partitions`; raw : bool
    dof : const (k,) float64, or None: the Student-t log p  # IN

    Per-row outputs never go through BLAS (``use_blas`` is checked, then
    not taken): a BLAS product's bits for a row depend on the product's
    shape and on the row's place in it, and a row's outputs must not
    (docs/design.md, "A row's bits"); the direct loops compute every row alike.
    """
    _check_posterior(X, c, means, U, center, shifted_u, bounds, log_norm, resp,
                     labels, kind, use_blas, raw)
    if dof is None:
        dof = _NO_DOF
    else:
        _check_dof(dof, c.shape[0])
    _run_shares(n_threads, bounds.shape[0] - 1, lambda share, n_shares: _posterior_share(
        X, c, means, U, center, shifted_u, bounds, log_norm, resp, labels, kind,
        raw, share, n_shares, dof))


# --- a whole EM run of a small fit in one call ------------------------------------------
#
# The extension's `em_loop`, the same signature and bits: the constants, the
# pass of `accumulate_partitions` (the same compiled `_accumulate_share`, with
# arguments of the types `FitPass` hands it), the reduction of the partitions
# in order (`_common.reduce_partials`), the M-step and the factors of
# `em.covariance` (`_numba_mstep`), the lower bound and the convergence test
# of `em.driver.run_em`, in one compiled call without the GIL. The passes run
# on the calling thread (the pool is Python's): `Backend.loops_on_threads`.

# what `em_loop` reports: converged or not, a non-finite log-likelihood, an
# ill-defined covariance (its component), no memory (never here: Numba raises)
EM_DONE, EM_NONFINITE, EM_ILL_DEFINED, EM_NO_MEMORY = 0, 1, 2, 3
#: `em_loop`, `kpp_loop` and `lloyd_loop` run their passes on the calling
#: thread: `Backend.one_call_loops`.
LOOPS_ON_THREADS = False


def em_loop_takes(covariance_type, n_features, n_components, dtype):
    """Whether `em_loop` runs this fit: 'full', 'diag' and 'spherical' on
    the direct loops (not through BLAS tiles: `_common.uses_blas`)."""
    from ._common import uses_blas

    return (covariance_type in ("full", "diag", "spherical")
            and not uses_blas(covariance_type, n_features, n_components, "numba"))


def _em_run(accumulate_share, X, w, weights, means, means_r, cov, U, U_pass,
            U_pass_r, c, c_r, kind, pass_kind, tol, reg_covar, eps10, max_iter,
            lower_bound, total_weight, half_d_log_2pi, segments, none, nk_p, s1_p,
            s2_p, cc_p, ll_p, bounds):
    """`em_loop` in one compiled call: (status, n_iter, converged, component).

    ``accumulate_share``: `_accumulate_share`, called through its address
    (`_em_run_for`): the machine code of the pass-by-pass driver's passes,
    not a copy compiled into this function (Numba links a callee's IR into
    its caller and optimizes it again, and under fastmath that may round
    otherwise). ``means_r``, ``U_pass_r``, ``c_r``: read-only views of
    ``means``, ``U_pass`` (``U`` itself but for 'spherical', where it is U
    repeated over the features) and ``c``: the pass takes the argument types
    `FitPass` hands it.
    """
    K = weights.shape[0]
    d = X.shape[1]
    P = segments.shape[0]
    n_factor = cov.shape[0]
    n_s2 = s2_p.shape[1]
    nk = np.empty(K)
    s1 = np.empty(K * d)
    s2 = np.empty(n_s2)
    s2_trace = np.empty(K)
    kept = np.empty(K)
    delta = np.empty(K * d)
    new_weights = np.empty(K)
    new_means = np.empty(K * d)
    new_cov = np.empty(n_factor)
    new_U = np.empty(n_factor)
    work = np.empty(d * d)
    tmp = np.empty(d)
    ints = np.zeros(2, dtype=np.int32)
    chars = np.zeros(2, dtype=np.uint8)
    status = EM_DONE
    n_iter = 0
    converged = False
    component = -1
    for it in range(max_iter):
        previous = lower_bound
        _constants(kind, K, d, weights, U, half_d_log_2pi, c, tmp)
        if kind == SPHERICAL:
            for k in range(K):
                for j in range(d):
                    U_pass[k * d + j] = U[k]
        nk_p[:, :] = 0.0
        s1_p[:, :] = 0.0
        s2_p[:, :] = 0.0
        cc_p[:, :] = 0.0
        ll_p[:] = 0.0
        accumulate_share(X, w, c_r, means_r, U_pass_r, none, none, none, segments,
                         nk_p, s1_p, s2_p, cc_p, ll_p, pass_kind, False, 0, 1)
        # `reduce_partials`: from zero, the slots added in order
        total = 0.0
        nk[:] = 0.0
        s1[:] = 0.0
        s2[:] = 0.0
        for p in range(P):
            for k in range(K):
                nk[k] = nk[k] + nk_p[p, k]
            for j in range(K * d):
                s1[j] = s1[j] + s1_p[p, j]
            for j in range(n_s2):
                s2[j] = s2[j] + s2_p[p, j]
            total = total + ll_p[p]
        if kind == SPHERICAL:  # the trace: np.add.reduce over the features
            for k in range(K):
                s2_trace[k] = pairwise(s2, k * d, d)
        elif kind == FULL:  # the upper triangle onto the lower
            for k in range(K):
                for i in range(1, d):
                    for j in range(i):
                        s2[(k * d + i) * d + j] = s2[(k * d + j) * d + i]
        if not math.isfinite(total):
            status = EM_NONFINITE
            break
        _m_step(kind, K, d, nk, s1, s2_trace if kind == SPHERICAL else s2, means,
                reg_covar, eps10, 0.0, kept, delta, new_weights, new_means, new_cov)
        if kind == FULL:
            component = factor_full(K, d, new_cov, new_U, work, ints, chars)
        else:
            component = factor_variances(n_factor, new_cov, new_U)
            if component >= 0 and kind == DIAG:
                component = component // d
        if component >= 0:
            status = EM_ILL_DEFINED
            break
        weights[:] = new_weights
        means[:] = new_means
        cov[:] = new_cov
        U[:] = new_U
        lower_bound = total / total_weight
        bounds[it] = lower_bound
        n_iter = it + 1
        if abs(lower_bound - previous) < tol:
            converged = True
            break
    return status, n_iter, converged, component


def _view(a):
    """A read-only view of ``a`` (the type `FitPass` hands the pass)."""
    view = a.view(np.ndarray)
    view.setflags(write=False)
    return view


def _float64_out(a, name):
    if (not isinstance(a, np.ndarray) or a.dtype != np.float64 or a.ndim != 1
            or not a.flags.c_contiguous or not a.flags.writeable):
        raise ValueError(f"kernel: {name} must be a writable float64 vector")
    return a


def em_loop(X, w, weights, means, cov, U, covariance_type, full_tiles, tol, reg_covar,
            eps, max_iter, lower_bound, total_weight, half_d_log_2pi, segments,
            n_threads, bounds):
    """EM from (weights, means, cov, U) until the bound gains less than tol:
    (status, n_iter, converged, component), as the extension's `em_loop`
    (its arguments and outcomes; the parameters are those after the last
    M-step, unspecified after an error). Each pass is `accumulate_partitions`
    over ``segments`` (one per partition, slots 0 to P - 1), on the calling
    thread whatever ``n_threads`` says. ``full_tiles``: must be False (this
    backend's 'full' has no tiles the loop takes; `em_loop_takes`)."""
    kind = kind_of(covariance_type)
    if not (isinstance(X, np.ndarray) and X.ndim == 2 and X.flags.c_contiguous
            and X.dtype in (np.float32, np.float64)):
        raise ValueError("kernel: X must be a C-contiguous float32/float64 matrix")
    n, d = X.shape
    weights, means, cov, U = (_float64_out(a, name) for a, name in (
        (weights, "weights"), (means, "means"), (cov, "cov"), (U, "U")))
    bounds = _float64_out(bounds, "bounds")
    w = np.ascontiguousarray(w, dtype=np.float64)
    segments = np.ascontiguousarray(segments, dtype=np.intp)
    K = weights.shape[0]
    if kind == TIED:
        raise ValueError("kernel: em_loop takes 'full', 'diag' or 'spherical'")
    if K < 1 or d < 1 or n < 1 or means.shape[0] != K * d:
        raise ValueError("kernel: means must be (n_components, n_features)")
    n_factor = factor_size(kind, K, d)
    if U.shape[0] != n_factor or cov.shape[0] != n_factor:
        raise ValueError("kernel: covariances and factors of the wrong size")
    if w.ndim != 1 or w.shape[0] not in (0, n):
        raise ValueError("kernel: sample weights must have one value per row")
    if max_iter < 1 or bounds.shape[0] < max_iter:
        raise ValueError("kernel: bounds must hold max_iter values")
    if full_tiles:
        raise ValueError("kernel: the Numba backend's em_loop takes no 'full' tiles")
    P = segments.shape[0] if segments.ndim == 2 else 0
    if P < 1 or segments.shape[1] != 3:
        raise ValueError("kernel: segments must be (slot, start, stop) rows")
    starts = np.concatenate([[0], segments[:-1, 2]])
    if (np.any(segments[:, 0] != np.arange(P)) or np.any(segments[:, 1] != starts)
            or np.any(segments[:, 2] < segments[:, 1])):
        raise ValueError("kernel: segments must be the partitions, in order")
    if segments[P - 1, 2] != n:
        raise ValueError("kernel: segments must cover the rows")
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")
    pass_kind = FULL if kind == FULL else DIAG
    n_s2 = K * d * d if kind == FULL else K * d
    U_pass = np.empty(K * d) if kind == SPHERICAL else U
    c = np.empty(K)
    status, n_iter, converged, component = _em_run_for(X.dtype)(
        _accumulate_share, _view(X), _view(w), weights, means, _view(means), cov, U,
        U_pass,
        _view(U_pass), c, _view(c), kind, pass_kind, float(tol), float(reg_covar),
        10.0 * float(eps), int(max_iter), float(lower_bound), float(total_weight),
        float(half_d_log_2pi), _view(segments), _NONE, np.zeros((P, K)),
        np.zeros((P, K * d)), np.zeros((P, n_s2)), np.zeros((P, 1)), np.zeros(P),
        bounds)
    return int(status), int(n_iter), bool(converged), int(component)


_NONE = _view(np.zeros(0))
_em_runs = {}


def _em_run_for(dtype):
    """`_em_run` compiled for X of ``dtype`` (on first use: its signature is
    explicit, the pass a first-class function of `_accumulate_share`'s
    type as `FitPass` calls it)."""
    dtype = np.dtype(dtype)
    run = _em_runs.get(dtype)
    if run is None:
        def ro(dt, ndim):
            return types.Array(dt, ndim, "C", readonly=True)

        def rw(ndim, dt=types.float64):
            return types.Array(dt, ndim, "C")

        f64, i64, x = types.float64, types.int64, numba.from_dtype(dtype)
        vec = ro(f64, 1)
        pass_type = types.FunctionType(types.none(
            ro(x, 2), vec, vec, vec, vec, vec, vec, vec, ro(types.intp, 2),
            rw(2), rw(2), rw(2), rw(2), rw(1), i64, types.boolean, i64, i64))
        signature = types.Tuple((i64, i64, types.boolean, i64))(
            pass_type, ro(x, 2), vec, rw(1), rw(1), vec, rw(1), rw(1), rw(1), vec,
            rw(1), vec, i64, i64, f64, f64, f64, i64, f64, f64, f64, ro(types.intp, 2),
            vec, rw(2), rw(2), rw(2), rw(2), rw(1), rw(1))
        run = _em_runs[dtype] = njit(signature, **_STRICT)(_em_run)
    return run
