"""Numba backend: the fused EM pass and the log-probability matrix.

The public functions (`accumulate`, `log_prob`) prepare arguments and call
``@njit`` kernels; the kernels compute. Work is split into the partitions of
`_common.partition_bounds` (run in parallel, each into its own slot of
partial statistics, summed in partition order by `_common.reduce_partials`)
and, inside a partition, into tiles of `TILE` rows.

A tile is worked column by column so that every inner loop runs over rows,
contiguous in memory, and vectorizes:

1. the tile is copied transposed, xt[j, b] = X[start + b, j], in float64;
2. for each component, log p[k, b] = c_k - 0.5 * ||(x_b - m_k) U_k||^2;
3. per row, the max-shifted log-sum-exp and the responsibilities r[k, b];
4. for each component, N, S1 and S2 of the tile are sums over b.

For many features (``n_features >= BLAS_MIN_FEATURES``, 'full' and 'tied'),
steps 2 and 4 are matrix products through BLAS (``np.dot``) on row-major
tiles in X's own dtype, so float32 data run at float32 speed; tile sums are
then added to float64 statistics.
"""

import math
import struct

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from . import _common

# fastmath is set here and nowhere else. Reassociation lets sums over rows
# vectorize; results stay deterministic for a given machine and partitioning.
# No 'nnan'/'ninf': -inf log-probabilities must compare correctly.
_FASTMATH = {"reassoc", "contract", "nsz"}
_JIT = dict(cache=True, nogil=True, fastmath=_FASTMATH)

#: Rows per tile: the tile's buffers (k x TILE log-probabilities, d x TILE
#: data) stay in L1/L2.
TILE = 256
#: From this many features on, 'full' and 'tied' go through BLAS.
BLAS_MIN_FEATURES = 24

# --- exp(x) for x <= 0 and log(x) for x >= 1, vectorizable -------------------------
# exp(x) = 2^n * exp(r), n = round(x / ln 2) by floor, r = x - n ln 2 (Cody-Waite),
# exp(r) by its Taylor polynomial of degree 13 (Estrin's scheme), and 2^n built
# in the exponent bits. No libm call, so loops over them vectorize. They are
# inlined into the kernels (Numba does not inline across cached functions) and
# so take the kernels' fastmath flags: every step is written to stay exact
# under reassociation (floor() rounding; integer <-> double through bit casts,
# which reassociation cannot see through).

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_SHIFTER = 6755399441055744.0  # 1.5 * 2**52
_MIN_EXP_ARG = -708.0  # exp(-708) ~ 3e-308, the smallest normal result
_INV_FACT = [1.0 / math.factorial(i) for i in range(14)]
(_C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13) = _INV_FACT[2:]


if numba.config.DISABLE_JIT:
    # kernels run as Python (coverage): the same bit casts, by struct

    def _f64_bits(x):
        return struct.unpack("<q", struct.pack("<d", x))[0]

    def _bits_f64(i):
        return struct.unpack("<d", struct.pack("<q", i))[0]

else:

    @intrinsic
    def _f64_bits(typingctx, x):
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.IntType(64))

        return types.int64(types.float64), codegen

    @intrinsic
    def _bits_f64(typingctx, x):
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.DoubleType())

        return types.float64(types.int64), codegen


@njit(inline="always", **_JIT)
def exp_nonpositive(x):
    """exp(x) for x <= 0 within a few ulp; about 3e-308 (not 0) below -708."""
    x = max(x, _MIN_EXP_ARG)
    n = np.floor(x * _LOG2E + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    # Estrin's scheme: a dependency chain of 4 instead of 13 (Horner)
    r2 = r * r
    r4 = r2 * r2
    q01 = 1.0 + r
    q23 = 0.5 + _C3 * r
    q45 = _C4 + _C5 * r
    q67 = _C6 + _C7 * r
    q89 = _C8 + _C9 * r
    q1011 = _C10 + _C11 * r
    q1213 = _C12 + _C13 * r
    s0 = q01 + q23 * r2
    s1 = q45 + q67 * r2
    s2 = q89 + q1011 * r2
    t0 = s0 + s1 * r4
    t1 = s2 + q1213 * r4
    p = t0 + t1 * (r4 * r4)
    # n is integral: n + 1.5*2^52 is exact, and its low bits are n
    scale = _bits_f64((_f64_bits(n + _SHIFTER) - _f64_bits(_SHIFTER) + 1023) << 52)
    return p * scale


_SQRT2 = 1.4142135623730951
_LN2 = 0.6931471805599453
# 2 atanh(s) = 2 s (1 + z/3 + z^2/5 + ...), z = s^2 <= 0.0295: 12 terms
_ATANH = [2.0 / (2 * i + 1) for i in range(12)]
(_A0, _A1, _A2, _A3, _A4, _A5, _A6, _A7, _A8, _A9, _A10, _A11) = _ATANH


@njit(inline="always", **_JIT)
def log_at_least_one(x):
    """log(x) for finite x >= 1 (a sum of exps whose largest term is 1).

    x = 2^e m with m in [sqrt(2)/2, sqrt(2)); log m = 2 atanh((m-1)/(m+1)) by
    its series. No libm call, so loops over it vectorize; within 2 ulp.
    """
    bits = _f64_bits(x)
    e = (bits >> 52) - 1023
    m = _bits_f64((bits & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1 if big else e
    e_double = float(e)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    z2 = z * z
    z4 = z2 * z2
    q0 = (_A0 + _A1 * z) + (_A2 + _A3 * z) * z2
    q1 = (_A4 + _A5 * z) + (_A6 + _A7 * z) * z2
    q2 = (_A8 + _A9 * z) + (_A10 + _A11 * z) * z2
    return e_double * _LN2 + s * (q0 + (q1 + q2 * z4) * z4)


# --- tile steps shared by every covariance type -----------------------------------


@njit(**_JIT)
def _load_tile(X, start, nb, xt):
    """xt[j, b] = X[start + b, j] as float64."""
    n_features = X.shape[1]
    for b in range(nb):
        for j in range(n_features):
            xt[j, b] = X[start + b, j]


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
def _responsibilities(logp, nb, wt, top, total):
    """Turn log p[k, b] into w_b r_kb in place; return sum_b w_b lse_b.

    Rows of zero weight get zero responsibilities (and add nothing, even where
    their log-likelihood is -inf).
    """
    n_components = logp.shape[0]
    for b in range(nb):
        top[b] = logp[0, b]
    for k in range(1, n_components):
        for b in range(nb):
            top[b] = max(top[b], logp[k, b])
    for b in range(nb):
        total[b] = 0.0
    for k in range(n_components):
        for b in range(nb):
            e = exp_nonpositive(logp[k, b] - top[b])
            logp[k, b] = e
            total[b] += e
    ll = 0.0
    for b in range(nb):
        wb = wt[b]
        lse = top[b] + log_at_least_one(total[b])
        # branch-free so that it vectorizes; a zero weight adds nothing, even
        # to a row whose log-likelihood is -inf
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
def _logp_spherical(xt, nb, c, means, U, logp):
    n_components, n_features = means.shape
    for k in range(n_components):
        for b in range(nb):
            logp[k, b] = 0.0
        for j in range(n_features):
            m = means[k, j]
            for b in range(nb):
                t = xt[j, b] - m
                logp[k, b] += t * t
        ck = c[k]
        half_prec = 0.5 * U[k] * U[k]
        for b in range(nb):
            logp[k, b] = ck - half_prec * logp[k, b]


@njit(**_JIT)
def _logp_tied(xt, nb, c, U, center, shifted_u, logp, y0):
    # (x - m_k) U = (x - g) U - (m_k - g) U: one triangular product per row
    n_components = shifted_u.shape[0]
    n_features = U.shape[0]
    for j in range(n_features):
        for b in range(nb):
            y0[j, b] = 0.0
        for l in range(j + 1):
            u = U[l, j]
            g = center[l]
            for b in range(nb):
                y0[j, b] += (xt[l, b] - g) * u
    _logp_tied_from_y0(y0, nb, c, shifted_u, logp)


@njit(**_JIT)
def _logp_tied_from_y0(y0, nb, c, shifted_u, logp):
    n_components, n_features = shifted_u.shape
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
def _stats_full(xt, nb, means, wr, nk, s1, s2, diff, t):
    n_components, n_features = means.shape
    for k in range(n_components):
        acc = 0.0
        for b in range(nb):
            acc += wr[k, b]
        nk[k] += acc
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
    for k in range(n_components):
        acc = 0.0
        for b in range(nb):
            acc += wr[k, b]
        nk[k] += acc
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
def _stats_spherical(xt, nb, means, wr, nk, s1, s2):
    n_components, n_features = means.shape
    for k in range(n_components):
        acc = 0.0
        for b in range(nb):
            acc += wr[k, b]
        nk[k] += acc
        acc2 = 0.0
        for j in range(n_features):
            m = means[k, j]
            acc1 = 0.0
            for b in range(nb):
                dv = xt[j, b] - m
                v = wr[k, b] * dv
                acc1 += v
                acc2 += v * dv
            s1[k, j] += acc1
        s2[k] += acc2


@njit(**_JIT)
def _stats_tied(xt, nb, wt, means, center, shifted, wr, nk, s1, s2, cc, xm, t):
    """N, S1; A = sum_b w_b (x_b - mbar_b)(x_b - mbar_b)^T; C_kl = sum w r_k r_l."""
    n_components, n_features = means.shape
    for k in range(n_components):
        acc = 0.0
        for b in range(nb):
            acc += wr[k, b]
        nk[k] += acc
        for j in range(n_features):
            m = means[k, j]
            acc = 0.0
            for b in range(nb):
                acc += wr[k, b] * (xt[j, b] - m)
            s1[k, j] += acc
    # r_kb = wr_kb / w_b; rows of zero weight have wr = 0 and add nothing
    for b in range(nb):
        wb = wt[b]
        t[b] = 1.0 / wb if wb != 0.0 else 0.0
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
            xm[j, b] = (xt[j, b] - g) - xm[j, b] * t[b]
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
                acc += wr[k, b] * wr[l, b] * t[b]
            cc[k, l] += acc


# --- one partition --------------------------------------------------------------------


@njit(**_JIT)
def _partition_full(X, w, c, means, U, start, stop, nk, s1, s2):
    n_components, n_features = means.shape
    xt = np.empty((n_features, TILE))
    logp = np.empty((n_components, TILE))
    diff = np.empty((n_features, TILE))
    y = np.empty(TILE)
    top = np.empty(TILE)
    total = np.empty(TILE)
    wt = np.empty(TILE)
    ll = 0.0
    for s in range(start, stop, TILE):
        nb = min(TILE, stop - s)
        _load_tile(X, s, nb, xt)
        _load_weights(w, s, nb, wt)
        _logp_full(xt, nb, c, means, U, logp, diff, y)
        ll += _responsibilities(logp, nb, wt, top, total)
        _stats_full(xt, nb, means, logp, nk, s1, s2, diff, y)
    return ll


@njit(**_JIT)
def _partition_diag(X, w, c, means, U, start, stop, nk, s1, s2):
    n_components, n_features = means.shape
    xt = np.empty((n_features, TILE))
    logp = np.empty((n_components, TILE))
    top = np.empty(TILE)
    total = np.empty(TILE)
    wt = np.empty(TILE)
    ll = 0.0
    for s in range(start, stop, TILE):
        nb = min(TILE, stop - s)
        _load_tile(X, s, nb, xt)
        _load_weights(w, s, nb, wt)
        _logp_diag(xt, nb, c, means, U, logp)
        ll += _responsibilities(logp, nb, wt, top, total)
        _stats_diag(xt, nb, means, logp, nk, s1, s2)
    return ll


@njit(**_JIT)
def _partition_spherical(X, w, c, means, U, start, stop, nk, s1, s2):
    n_components, n_features = means.shape
    xt = np.empty((n_features, TILE))
    logp = np.empty((n_components, TILE))
    top = np.empty(TILE)
    total = np.empty(TILE)
    wt = np.empty(TILE)
    ll = 0.0
    for s in range(start, stop, TILE):
        nb = min(TILE, stop - s)
        _load_tile(X, s, nb, xt)
        _load_weights(w, s, nb, wt)
        _logp_spherical(xt, nb, c, means, U, logp)
        ll += _responsibilities(logp, nb, wt, top, total)
        _stats_spherical(xt, nb, means, logp, nk, s1, s2)
    return ll


@njit(**_JIT)
def _partition_tied(X, w, c, means, U, center, shifted, shifted_u, start, stop,
                    nk, s1, s2, cc):
    n_components, n_features = means.shape
    xt = np.empty((n_features, TILE))
    logp = np.empty((n_components, TILE))
    y0 = np.empty((n_features, TILE))
    top = np.empty(TILE)
    total = np.empty(TILE)
    wt = np.empty(TILE)
    ll = 0.0
    for s in range(start, stop, TILE):
        nb = min(TILE, stop - s)
        _load_tile(X, s, nb, xt)
        _load_weights(w, s, nb, wt)
        _logp_tied(xt, nb, c, U, center, shifted_u, logp, y0)
        ll += _responsibilities(logp, nb, wt, top, total)
        _stats_tied(xt, nb, wt, means, center, shifted, logp, nk, s1, s2, cc, y0,
                    top)
    return ll


# --- the BLAS path for many features ('full' and 'tied') --------------------------


@njit(**_JIT)
def _rows_minus(X, start, nb, vec, out):
    """out[b, :] = X[start + b, :] - vec, in out's dtype (X's)."""
    n_features = X.shape[1]
    for b in range(nb):
        for j in range(n_features):
            out[b, j] = X[start + b, j] - vec[j]


@njit(**_JIT)
def _partition_full_blas(X, w, c, means, U, start, stop, nk, s1, s2):
    n_components, n_features = means.shape
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
    ll = 0.0
    for s in range(start, stop, TILE):
        nb = min(TILE, stop - s)
        _load_weights(w, s, nb, wt)
        _logp_full_blas(X, s, nb, c, means_x, U_x, logp, diff, y)
        ll += _responsibilities(logp, nb, wt, top, total)
        for k in range(n_components):
            _rows_minus(X, s, nb, means_x[k], diff)
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


# --- parallel drivers over partitions ------------------------------------------------


@njit(parallel=True, **_JIT)
def _accumulate_full(X, w, c, means, U, bounds, nk, s1, s2, ll, use_blas):
    for p in prange(bounds.shape[0] - 1):
        if use_blas:
            ll[p] = _partition_full_blas(X, w, c, means, U, bounds[p], bounds[p + 1],
                                         nk[p], s1[p], s2[p])
        else:
            ll[p] = _partition_full(X, w, c, means, U, bounds[p], bounds[p + 1],
                                    nk[p], s1[p], s2[p])


@njit(parallel=True, **_JIT)
def _accumulate_diag(X, w, c, means, U, bounds, nk, s1, s2, ll):
    for p in prange(bounds.shape[0] - 1):
        ll[p] = _partition_diag(X, w, c, means, U, bounds[p], bounds[p + 1],
                                nk[p], s1[p], s2[p])


@njit(parallel=True, **_JIT)
def _accumulate_spherical(X, w, c, means, U, bounds, nk, s1, s2, ll):
    for p in prange(bounds.shape[0] - 1):
        ll[p] = _partition_spherical(X, w, c, means, U, bounds[p], bounds[p + 1],
                                     nk[p], s1[p], s2[p])


@njit(parallel=True, **_JIT)
def _accumulate_tied(X, w, c, means, U, center, shifted, shifted_u, bounds,
                     nk, s1, s2, cc, ll):
    for p in prange(bounds.shape[0] - 1):
        ll[p] = _partition_tied(X, w, c, means, U, center, shifted, shifted_u,
                                bounds[p], bounds[p + 1], nk[p], s1[p], s2[p], cc[p])


# --- posteriors for predict, predict_proba, score_samples -----------------------


@njit(**_JIT)
def _posterior_tile(logp, nb, s, raw, log_norm, resp, labels, top, total):
    """From log p[k, b] of a tile: log-sum-exp, responsibilities, argmax.

    Each output is written only when it has rows (an empty array: not wanted).
    With ``raw``, resp receives log p itself.
    """
    n_components = logp.shape[0]
    if raw:
        for b in range(nb):
            for k in range(n_components):
                resp[s + b, k] = logp[k, b]
        return
    for b in range(nb):
        top[b] = logp[0, b]
    for k in range(1, n_components):
        for b in range(nb):
            top[b] = max(top[b], logp[k, b])
    if labels.shape[0] > 0:
        for b in range(nb):
            best = 0
            for k in range(1, n_components):
                if logp[k, b] > logp[best, b]:
                    best = k
            labels[s + b] = best
    if log_norm.shape[0] == 0 and resp.shape[0] == 0:
        return
    for b in range(nb):
        total[b] = 0.0
    for k in range(n_components):
        for b in range(nb):
            e = exp_nonpositive(logp[k, b] - top[b])
            logp[k, b] = e
            total[b] += e
    if log_norm.shape[0] > 0:
        for b in range(nb):
            log_norm[s + b] = top[b] + log_at_least_one(total[b])
    if resp.shape[0] > 0:
        for b in range(nb):
            total[b] = 1.0 / total[b]
        for b in range(nb):
            for k in range(n_components):
                resp[s + b, k] = logp[k, b] * total[b]


@njit(**_JIT)
def _logp_full_blas(X, s, nb, c, means_x, U_x, logp, diff, y):
    """log p of a tile for 'full' through BLAS, in X's dtype (row-major tiles)."""
    n_components, n_features = means_x.shape
    for k in range(n_components):
        _rows_minus(X, s, nb, means_x[k], diff)
        np.dot(diff[:nb], U_x[k], y[:nb])
        ck = c[k]
        for b in range(nb):
            acc = 0.0
            for j in range(n_features):
                acc += y[b, j] * y[b, j]
            logp[k, b] = ck - 0.5 * acc


@njit(parallel=True, **_JIT)
def _posterior_full(X, c, means, U, bounds, raw, log_norm, resp, labels, use_blas):
    n_components, n_features = means.shape
    dt = X.dtype
    means_x = means.astype(dt)
    U_x = U.astype(dt)
    for p in prange(bounds.shape[0] - 1):
        xt = np.empty((n_features, TILE))
        logp = np.empty((n_components, TILE))
        diff = np.empty((n_features, TILE))
        y = np.empty(TILE)
        rows = np.empty((TILE, n_features), dtype=dt)
        rows_u = np.empty((TILE, n_features), dtype=dt)
        top = np.empty(TILE)
        total = np.empty(TILE)
        for s in range(bounds[p], bounds[p + 1], TILE):
            nb = min(TILE, bounds[p + 1] - s)
            if use_blas:
                _logp_full_blas(X, s, nb, c, means_x, U_x, logp, rows, rows_u)
            else:
                _load_tile(X, s, nb, xt)
                _logp_full(xt, nb, c, means, U, logp, diff, y)
            _posterior_tile(logp, nb, s, raw, log_norm, resp, labels, top, total)


@njit(parallel=True, **_JIT)
def _posterior_tied(X, c, U, center, shifted_u, bounds, raw, log_norm, resp, labels):
    n_components, n_features = shifted_u.shape
    for p in prange(bounds.shape[0] - 1):
        xt = np.empty((n_features, TILE))
        logp = np.empty((n_components, TILE))
        y0 = np.empty((n_features, TILE))
        top = np.empty(TILE)
        total = np.empty(TILE)
        for s in range(bounds[p], bounds[p + 1], TILE):
            nb = min(TILE, bounds[p + 1] - s)
            _load_tile(X, s, nb, xt)
            _logp_tied(xt, nb, c, U, center, shifted_u, logp, y0)
            _posterior_tile(logp, nb, s, raw, log_norm, resp, labels, top, total)


@njit(parallel=True, **_JIT)
def _posterior_diag(X, c, means, U, bounds, raw, log_norm, resp, labels):
    n_components, n_features = means.shape
    for p in prange(bounds.shape[0] - 1):
        xt = np.empty((n_features, TILE))
        logp = np.empty((n_components, TILE))
        top = np.empty(TILE)
        total = np.empty(TILE)
        for s in range(bounds[p], bounds[p + 1], TILE):
            nb = min(TILE, bounds[p + 1] - s)
            _load_tile(X, s, nb, xt)
            _logp_diag(xt, nb, c, means, U, logp)
            _posterior_tile(logp, nb, s, raw, log_norm, resp, labels, top, total)


@njit(parallel=True, **_JIT)
def _posterior_spherical(X, c, means, U, bounds, raw, log_norm, resp, labels):
    n_components, n_features = means.shape
    for p in prange(bounds.shape[0] - 1):
        xt = np.empty((n_features, TILE))
        logp = np.empty((n_components, TILE))
        top = np.empty(TILE)
        total = np.empty(TILE)
        for s in range(bounds[p], bounds[p + 1], TILE):
            nb = min(TILE, bounds[p + 1] - s)
            _load_tile(X, s, nb, xt)
            _logp_spherical(xt, nb, c, means, U, logp)
            _posterior_tile(logp, nb, s, raw, log_norm, resp, labels, top, total)


def _set_threads(n_threads):
    """Set Numba's thread count for this calling thread; return the old one."""
    previous = numba.get_num_threads()
    if n_threads is None:
        n_threads = numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS)))
    return previous


def accumulate(X, w, c, means, U, covariance_type, out, n_threads=None):
    """The fused E-step/statistics pass; see `fastgmm.kernels`."""
    w = _common.NO_WEIGHTS if w is None else w
    X, w, c, means, U = map(_common.readonly, (X, w, c, means, U))
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    bounds = _common.partition_bounds(
        n_samples, n_components, n_features, covariance_type
    )
    partials = _common.empty_partials(
        bounds.shape[0] - 1, n_components, n_features, covariance_type
    )
    nk, s1, s2, cc, ll = partials
    use_blas = n_features >= BLAS_MIN_FEATURES
    previous = _set_threads(n_threads)
    try:
        if covariance_type == "full":
            with _common.single_threaded_blas(use_blas):
                _accumulate_full(X, w, c, means, U, bounds, nk, s1, s2, ll, use_blas)
        elif covariance_type == "tied":
            center, shifted, shifted_u = _common.tied_centering(means, U)
            _accumulate_tied(X, w, c, means, U, center, shifted, shifted_u, bounds,
                             nk, s1, s2, cc, ll)
        elif covariance_type == "diag":
            _accumulate_diag(X, w, c, means, U, bounds, nk, s1, s2, ll)
        else:
            _accumulate_spherical(X, w, c, means, U, bounds, nk, s1, s2, ll)
    finally:
        numba.set_num_threads(previous)
    total = _common.reduce_partials(partials, means, covariance_type, out)
    if covariance_type == "full" and use_blas and X.dtype != np.float64:
        # the float32 tiles were taken around the means rounded to float32
        _common.recenter_full(out, means.astype(X.dtype) - means)
    return total


def posterior(X, c, means, U, covariance_type, log_norm=None, resp=None,
              labels=None, raw=False, n_threads=None):
    """Per-row results from log p; see `fastgmm.kernels`."""
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    X, c, means, U = map(_common.readonly, (X, c, means, U))
    log_norm = np.zeros(0, X.dtype) if log_norm is None else log_norm
    resp = np.zeros((0, n_components), X.dtype) if resp is None else resp
    labels = np.zeros(0, np.intp) if labels is None else labels
    bounds = _common.partition_bounds(n_samples, n_components, n_features, "diag")
    use_blas = covariance_type == "full" and n_features >= BLAS_MIN_FEATURES
    previous = _set_threads(n_threads)
    try:
        if covariance_type == "full":
            with _common.single_threaded_blas(use_blas):
                _posterior_full(X, c, means, U, bounds, raw, log_norm, resp, labels,
                                use_blas)
        elif covariance_type == "tied":
            center, _, shifted_u = _common.tied_centering(means, U)
            _posterior_tied(X, c, U, center, shifted_u, bounds, raw, log_norm, resp,
                            labels)
        elif covariance_type == "diag":
            _posterior_diag(X, c, means, U, bounds, raw, log_norm, resp, labels)
        else:
            _posterior_spherical(X, c, means, U, bounds, raw, log_norm, resp, labels)
    finally:
        numba.set_num_threads(previous)


def log_prob(X, c, means, U, covariance_type, out, n_threads=None):
    """Fill out[i, k] = log w_k + log N(x_i | m_k, U_k); see `fastgmm.kernels`."""
    posterior(X, c, means, U, covariance_type, resp=out, raw=True, n_threads=n_threads)
    return out
