"""The Numba backend's arithmetic between two EM passes: the constants c_k
of a pass, the M-step of 'full', 'diag' and 'spherical', and the precision
factors, with the bits of `em.covariance` (NumPy's operations in NumPy's
order; LAPACK's ``dpotrf``/``dtrtrs`` as `em.covariance.precisions_cholesky`
calls them through SciPy) and of the Cython extension's `_mstep.h`.

Everything here is compiled without fastmath (`_STRICT`): each product is
rounded before it is added, and a sum over an axis is NumPy's pairwise sum
(`_numba_base.pairwise`). The logarithm is the C library's (``math.log``
compiles to a call of libm's ``log``, as the extension's C calls it), so the
constants are the extension's bits too.

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

from ._common import DIAG, FULL, TIED
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


def add_reduce(a):
    """np.add.reduce(a) as the compiled code computes it (for the tests)."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    return float(pairwise(a, 0, a.shape[0])) if a.shape[0] else 0.0
