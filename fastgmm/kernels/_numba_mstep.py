"""The Numba backend's arithmetic between two EM passes: the constants c_k
of a pass, the M-step of 'full', 'diag' and 'spherical', and the precision
factors, with the bits of `em.covariance` (NumPy's operations in NumPy's
order; LAPACK's ``dpotrf``/``dtrtrs`` as `em.covariance.precisions_cholesky`
calls them through SciPy) and of the Cython extension's `_mstep.h`; and
EVE's and VVE's common orientation (`common_orientation`, Jacobi sweeps),
with the bits of the extension's `_orientation.h`.

Everything here is compiled without fastmath (`_STRICT`): each product is
rounded before it is added, and a sum over an axis is NumPy's pairwise sum
(`_numba_base.pairwise`). The logarithm is the C library's (``math.log``
compiles to a call of libm's ``log``, as the extension's C calls it; so do
``math.exp``, ``math.atan2``, ``math.cos`` and ``math.sin``), so the
constants and the orientation are the extension's bits too.

LAPACK: SciPy's ``cython_lapack`` exports the routines SciPy's own wrappers
call; their addresses are registered with LLVM under names of our own
(`_LAPACK`), which the compiled code calls by name, so that Numba's disk
cache keeps no address of this process.
"""

import math

import numba
import numpy as np
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.extending import get_cython_function_address, intrinsic

from ._common import DIAG, FULL, TIED, orientation_arguments
from ._numba_base import _STRICT, njit, pairwise

#: The kinds of the constants and of `em_loop`: the drivers' FULL, TIED and
#: DIAG, and 'spherical' apart (its statistics and factors have their own
#: shapes), as the extension's FGM_* values.
SPHERICAL = 3
KINDS = {"full": FULL, "tied": TIED, "diag": DIAG, "spherical": SPHERICAL}

# the names our compiled code calls, and the cython_lapack routines behind them
_LAPACK = {"fastgmm_numba_dpotrf": "dpotrf", "fastgmm_numba_dtrtrs": "dtrtrs"}
for _symbol, _routine in _LAPACK.items():
    binding.add_symbol(_symbol, get_cython_function_address(
        "scipy.linalg.cython_lapack", _routine))


def _pointer(context, builder, array_type, value):
    """The data pointer of an array argument, as char*."""
    data = context.make_array(array_type)(context, builder, value).data
    return builder.bitcast(data, ir.IntType(8).as_pointer())


def _codegen(name):
    """Code that calls the registered routine ``name`` with the data pointers
    of the call's array arguments (Fortran takes every argument by
    reference)."""
    def codegen(context, builder, signature, args):
        char_p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [char_p] * len(args))
        fn = cgutils.get_or_insert_function(builder.module, fnty, name)
        builder.call(fn, [_pointer(context, builder, t, v)
                          for t, v in zip(signature.args, args)])
        return context.get_dummy_value()

    return codegen


if numba.config.DISABLE_JIT:
    # run as Python (coverage): SciPy's wrappers of the same routines

    def _dpotrf(uplo, n, a, lda, info):
        from scipy.linalg import lapack

        m = int(n[0])
        square = a[:m * m].reshape(m, m).T  # column-major
        factor, info[0] = lapack.dpotrf(square, lower=1)
        a[:m * m] = factor.T.ravel()

    def _dtrtrs(uplo, trans, diag, n, nrhs, a, lda, b, ldb, info):
        from scipy.linalg import lapack

        m = int(n[0])
        solution, info[0] = lapack.dtrtrs(a[:m * m].reshape(m, m).T,
                                          b[:m * m].reshape(m, m).T, lower=1)
        b[:m * m] = solution.T.ravel()

else:

    @intrinsic
    def _dpotrf(typingctx, uplo, n, a, lda, info):
        """LAPACK's dpotrf(uplo, n, a, lda, info): arrays for its arguments."""
        signature = types.none(uplo, n, a, lda, info)
        return signature, _codegen("fastgmm_numba_dpotrf")

    @intrinsic
    def _dtrtrs(typingctx, uplo, trans, diag, n, nrhs, a, lda, b, ldb, info):
        """LAPACK's dtrtrs(uplo, trans, diag, n, nrhs, a, lda, b, ldb, info)."""
        signature = types.none(uplo, trans, diag, n, nrhs, a, lda, b, ldb, info)
        return signature, _codegen("fastgmm_numba_dtrtrs")

_L, _N = ord("L"), ord("N")


# --- the constants of a pass -----------------------------------------------------------


@njit(**_STRICT)
def constants(kind, K, d, weights, U, half_d_log_2pi, c, tmp):
    """c_k = log w_k + log det U_k - half_d_log_2pi (`fgm_constants`); U flat
    of the kind's shape ('tied': one (d, d) factor); ``tmp``: d values."""
    log_det = 0.0
    if kind == TIED:
        for j in range(d):
            tmp[j] = math.log(U[j * d + j])
        log_det = pairwise(tmp, 0, d)
    for k in range(K):
        if kind == FULL:
            for j in range(d):
                tmp[j] = math.log(U[(k * d + j) * d + j])
            log_det = pairwise(tmp, 0, d)
        elif kind == DIAG:
            for j in range(d):
                tmp[j] = math.log(U[k * d + j])
            log_det = pairwise(tmp, 0, d)
        elif kind == SPHERICAL:
            log_det = np.float64(d) * math.log(U[k])
        c[k] = (math.log(weights[k]) + log_det) - half_d_log_2pi


# --- the M-step and the factors ----------------------------------------------------------


@njit(**_STRICT)
def m_step(kind, K, d, nk_in, s1, s2, centers, reg, eps10, total_weight, nk, delta,
           weights, means, cov):
    """`em.covariance.m_step` for FULL, DIAG and SPHERICAL (`fgm_m_step`):
    statistics (nk_in (K,), s1 (K*d,), s2 of the kind's shape) around
    ``centers`` -> weights, means, covariances. ``total_weight`` > 0: the
    weights are counts over it; else over their sum. ``nk`` (K,) and
    ``delta`` (K*d,) are work space."""
    for k in range(K):
        nk[k] = nk_in[k] + eps10
    for k in range(K):
        for j in range(d):
            delta[k * d + j] = s1[k * d + j] / nk[k]
            means[k * d + j] = centers[k * d + j] + delta[k * d + j]
    if kind == FULL:
        for k in range(K):
            for i in range(d):
                for j in range(d):
                    q = delta[k * d + i] * delta[k * d + j]
                    cov[(k * d + i) * d + j] = s2[(k * d + i) * d + j] / nk[k] - q
        for k in range(K):
            for i in range(d):
                cov[(k * d + i) * d + i] += reg
    elif kind == DIAG:
        for k in range(K):
            for j in range(d):
                q = delta[k * d + j] * delta[k * d + j]
                cov[k * d + j] = (s2[k * d + j] / nk[k] - q) + reg
    else:
        for k in range(K):
            for j in range(d):  # np.square(delta), in place: done with delta
                delta[k * d + j] = delta[k * d + j] * delta[k * d + j]
            q = pairwise(delta, k * d, d)
            cov[k] = ((s2[k] / nk[k] - q) / np.float64(d)) + reg
    total = total_weight if total_weight > 0.0 else pairwise(nk, 0, K)
    for k in range(K):
        weights[k] = nk[k] / total


@njit(**_STRICT)
def factor_full(K, d, cov, U, a, ints, chars):
    """U_k = inv(L_k)^T, L_k L_k^T = cov_k, as `precisions_cholesky` (LAPACK's
    dpotrf and dtrtrs on column-major copies: cov_k itself, as it is
    symmetric; the solution in U_k, column-major, is U_k row-major). The
    first ill-defined component, or -1. ``a``: d*d work space; ``ints``: 2
    int32, ``chars``: 2 uint8 of work space."""
    chars[0] = _L
    chars[1] = _N
    ints[0] = d
    for k in range(K):
        base = k * d * d
        for i in range(d * d):
            a[i] = cov[base + i]
        ints[1] = 0
        _dpotrf(chars[0:1], ints[0:1], a, ints[0:1], ints[1:2])
        if ints[1] != 0:
            return k
        b = U[base:base + d * d]
        for i in range(d * d):
            b[i] = 0.0
        for i in range(d):
            b[i * d + i] = 1.0
        _dtrtrs(chars[0:1], chars[1:2], chars[1:2], ints[0:1], ints[0:1], a, ints[0:1],
                b, ints[0:1], ints[1:2])
        if ints[1] != 0:
            return k
    for k in range(K):
        for i in range(d):
            for j in range(d):
                if not math.isfinite(U[(k * d + i) * d + j]):
                    return k
            if not U[(k * d + i) * d + i] > 0.0:
                return k
    return -1


@njit(**_STRICT)
def factor_variances(n, cov, U):
    """U = 1 / sqrt(cov) for n positive variances; the index of the first
    that is not (> 0, so NaN too), or -1."""
    for i in range(n):
        if not cov[i] > 0.0:
            return i
    for i in range(n):
        U[i] = 1.0 / math.sqrt(cov[i])
    return -1


# --- EVE's and VVE's common orientation --------------------------------------------------
#
# The Jacobi rotations of `em.parsimonious._common_orientation`, pair after
# pair (the extension's `_orientation.h`, the same loops and bits). With the
# diagonals a_k fixed, rotating columns p and q of D by t changes
# sum_k w_k tr(D^T S_k D diag(1 / a_k)) by A cos 2t + B sin 2t, least at
# 2t = atan2(-B, -A); each rotation is preceded by the closed-form diagonals
# of the current D, so the objective never increases. Sweeps over the pairs
# run until it changes by at most ``tol`` relative, or ``max_sweeps``.


@njit(**_STRICT)
def _orientation_diagonals(w, M, equal_volume, a):
    """a_k from diag(M_k): VVE's own; EVE's shapes times the weighted mean of
    their volumes (geometric means) (`fgm_orientation_diagonals`)."""
    k, d = a.shape
    if not equal_volume:
        for c in range(k):
            for j in range(d):
                a[c, j] = M[c, j, j]
        return
    mean_volume = 0.0
    for c in range(k):
        log_volume = 0.0
        for j in range(d):
            log_volume += math.log(M[c, j, j])
        mean_volume += w[c] * math.exp(log_volume / d)
    for c in range(k):
        log_volume = 0.0
        for j in range(d):
            log_volume += math.log(M[c, j, j])
        volume = math.exp(log_volume / d)
        for j in range(d):
            # (the ratio first: the product of two covariance-sized numbers
            # overflows beyond ~1e154, or underflows, where the ratio does not)
            a[c, j] = mean_volume * (M[c, j, j] / volume)


@njit(**_STRICT)
def _orientation_objective(w, M, a):
    total = 0.0
    k, d = a.shape
    for c in range(k):
        part = 0.0
        for j in range(d):
            part += math.log(a[c, j]) + M[c, j, j] / a[c, j]
        total += w[c] * part
    return total


@njit(**_STRICT)
def _common_orientation(w, S, D, equal_volume, max_sweeps, tol):
    """D (d, d, overwritten) after the sweeps; returns the number of sweeps
    (`fgm_common_orientation`). ``w`` (k,), ``S`` (k, d, d): checked again
    here (a wrong shape is a ValueError, never a read out of bounds)."""
    k, d, d2 = S.shape
    if d2 != d or w.shape[0] != k or D.shape[0] != d or D.shape[1] != d or d < 1:
        raise ValueError("common_orientation: w (k,), S (k, d, d), D (d, d)")
    M = np.empty((k, d, d))
    for c in range(k):
        for i in range(d):
            for j in range(d):
                total = 0.0
                for u in range(d):
                    row = 0.0
                    for v in range(d):
                        row += S[c, u, v] * D[v, j]
                    total += D[u, i] * row
                M[c, i, j] = total
    a = np.empty((k, d))
    objective = np.inf
    sweeps = 0
    for sweeps in range(1, max_sweeps + 1):
        for p in range(d - 1):
            for q in range(p + 1, d):
                _orientation_diagonals(w, M, equal_volume, a)
                A = 0.0
                B = 0.0
                for c in range(k):
                    db = 1.0 / a[c, p] - 1.0 / a[c, q]
                    A += 0.5 * w[c] * db * (M[c, p, p] - M[c, q, q])
                    B += w[c] * db * M[c, p, q]
                if A * A + B * B == 0.0:
                    continue
                t = 0.5 * math.atan2(-B, -A)
                cs, sn = math.cos(t), math.sin(t)
                for u in range(d):
                    dp, dq = D[u, p], D[u, q]
                    D[u, p] = cs * dp + sn * dq
                    D[u, q] = cs * dq - sn * dp
                for c in range(k):
                    for u in range(d):
                        mp, mq = M[c, u, p], M[c, u, q]
                        M[c, u, p] = cs * mp + sn * mq
                        M[c, u, q] = cs * mq - sn * mp
                    for u in range(d):
                        mp, mq = M[c, p, u], M[c, q, u]
                        M[c, p, u] = cs * mp + sn * mq
                        M[c, q, u] = cs * mq - sn * mp
        _orientation_diagonals(w, M, equal_volume, a)
        new = _orientation_objective(w, M, a)
        if abs(objective - new) <= tol * max(abs(new), 1.0):
            break
        objective = new
    return sweeps


# --- entry points ------------------------------------------------------------------------


def kind_of(covariance_type):
    try:
        return KINDS[covariance_type]
    except (KeyError, TypeError):
        raise ValueError(
            f"kernel: unknown covariance type {covariance_type!r}") from None


def factor_size(kind, K, d):
    """The flat size of a kind's factors ('spherical': one per component)."""
    return {FULL: K * d * d, TIED: d * d, DIAG: K * d, SPHERICAL: K}[kind]


def log_prob_constants(weights, U, covariance_type, n_features, half_d_log_2pi, c):
    """c_k = log w_k + log det U_k - half_d_log_2pi into ``c`` (k,); U flat
    (the extension's `log_prob_constants`, the same bits)."""
    kind = kind_of(covariance_type)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    U = np.ascontiguousarray(U, dtype=np.float64)
    K, d = weights.shape[0], int(n_features)
    if (weights.ndim != 1 or U.ndim != 1 or K < 1 or d < 1
            or not isinstance(c, np.ndarray) or c.dtype != np.float64
            or c.shape != (K,) or not c.flags.c_contiguous or not c.flags.writeable
            or U.shape[0] != factor_size(kind, K, d)):
        raise ValueError("kernel: constants of the wrong shape")
    constants(kind, K, d, weights, U, float(half_d_log_2pi), c, np.empty(d))


def common_orientation(w, S, D, equal_volume, max_sweeps, tol):
    """EVE's and VVE's common orientation: D (d, d) overwritten by the Jacobi
    sweeps from D (at most ``max_sweeps``, until the objective changes by at
    most ``tol`` relative) for the weights ``w`` (k,) and the matrices ``S``
    (k, d, d); returns the number of sweeps. The arguments are checked
    (`_common.orientation_arguments`: ValueError). The extension's
    `common_orientation`, the same bits."""
    w, S, D = orientation_arguments(w, S, D)
    return int(_common_orientation(w, S, D, bool(equal_volume), int(max_sweeps),
                                   float(tol)))


def add_reduce(a):
    """np.add.reduce(a) as the compiled code computes it (for the tests)."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    return float(pairwise(a, 0, a.shape[0])) if a.shape[0] else 0.0
