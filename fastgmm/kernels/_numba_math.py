"""The Numba backend's vectorizable exp and logs: `exp_nonpositive`,
`log_at_least_one` and the Student-t pass's `log1p_small`/`log1p_scaled`
(the steps of _exp.h's C functions of the same names), with the bit casts
they build on. No libm call, so the loops of the kernels that inline them
(`_numba`) vectorize; they take the kernels' fastmath flags, and every step
is written to stay exact under reassociation.
"""

import math
import struct

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ._numba_base import _JIT

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
_MIN_EXP_ARG = -708.0  # exp(-708) ~ 3e-308: below it, 0
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
def exp_nonpositive(x_in):
    """exp(x) for x <= 0 within a few ulp; 0 below -708 (no subnormals)."""
    x = max(x_in, _MIN_EXP_ARG)  # keeps 2^n a normal number
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
    # a select, not a branch: loops over it still vectorize
    return p * scale if x_in >= _MIN_EXP_ARG else 0.0


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


#: t from here on takes log1p_scaled's long form, log(delta) + log(1/nu) (t
#: may overflow; log1p_small's steps are exact up to 2^1022)
_BIG_T = 2.0**1000
# fdlibm's minimax coefficients of log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)),
# s = f / (2 + f) (error below 2^-58.45 for m = 1 + f in [sqrt(2)/2, sqrt(2)))
_LG1, _LG2, _LG3, _LG4 = (6.666666666666735130e-01, 3.999999999940941908e-01,
                          2.857142874366239149e-01, 2.222219843214978396e-01)
_LG5, _LG6, _LG7 = (1.818357216161805012e-01, 1.531383769920937332e-01,
                    1.479819860511658591e-01)


@njit(inline="always", **_JIT)
def _log_reduced(e_double, f, s):
    """e ln2 + log(1 + f) for 1 + f in [sqrt(2)/2, sqrt(2)), s = f / (2 + f)."""
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    hfsq = 0.5 * f * f
    return e_double * _LN2_HI - ((hfsq - (s * (hfsq + (t1 + t2))
                                          + e_double * _LN2_LO)) - f)


@njit(inline="always", **_JIT)
def _pow2_neg(e):
    """2^-e, for -1022 <= -e <= 1023."""
    return _bits_f64(((1023 - e) & 0x7FF) << 52)


@njit(inline="always", **_JIT)
def log1p_small(t):
    """(log1p(t), 1 / (1 + t)) for 0 <= t <= 2^1000 (`log1p_scaled`'s steps
    there, the same bits)."""
    y = 1.0 + t
    bits = _f64_bits(y)
    e = (bits >> 52) - 1023
    m = _bits_f64((bits & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000)
    e = e + 1 if m > _SQRT2 else e
    a = _pow2_neg(e)  # 0 <= e <= 1001: normal
    # (t itself when e = 0: reassociation may compute the other form as
    # (t a + a) - 1, which loses t's digits; log1p(t) ~ t needs them)
    f = t if e == 0 else t * a + (a - 1.0)
    two_f = 2.0 + f
    rec = 1.0 / (two_f * y)
    return _log_reduced(float(e), f, f * (y * rec)), two_f * rec


@njit(inline="always", **_JIT)
def log1p_scaled(delta, nu, inv_nu, log_inv_nu):
    """(log1p(t), 1 / (1 + t)) for t = delta * inv_nu, delta >= 0 (inf: (inf,
    0)); ``inv_nu`` = 1/nu, ``log_inv_nu`` = log(inv_nu). No libm call and
    one division: loops over it vectorize. The steps of _exp.h's
    ``fastgmm_log1p_scaled``.

    For t <= 2^1000, on y = 1 + t = 2^e m, m in [sqrt(2)/2, sqrt(2)), f = m - 1
    is taken from t itself, f = t 2^-e + (2^-e - 1) (exact; t when e = 0), so
    the rounding of y does not enter (and reassociation, which could fold
    (1 + t) - 1 to t, finds nothing to fold: 2^-e comes from y's bits). Past
    2^1000 (where t may overflow) it is log(delta) + log(inv_nu), the same
    steps on delta = 2^e m, and 1 / (1 + t) = nu 2^-e / m to within 2^-1000. The
    series' s = f / (2 + f) and 1/y (1/m) come from one reciprocal,
    1 / ((2 + f) y), and fdlibm's minimax polynomial does the rest.
    """
    t = delta * inv_nu
    big = t > _BIG_T
    finite = delta < np.inf
    small, g_small = log1p_small(_BIG_T if big else t)
    # t > 2^60: delta = 2^eb mb
    db = delta if finite else 1.0
    bits_b = _f64_bits(db)
    eb = (bits_b >> 52) - 1023
    mb = _bits_f64((bits_b & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000)
    high = mb > _SQRT2
    mb = mb * 0.5 if high else mb
    eb = eb + 1 if high else eb
    fb = mb - 1.0
    two_fb = 2.0 + fb
    rec_b = 1.0 / (two_fb * mb)
    e1 = eb >> 1  # 2^-eb = 2^-e1 2^-(eb - e1), both normal for eb <= 1025
    g_big = ((nu * (two_fb * rec_b)) * _pow2_neg(e1)) * _pow2_neg(eb - e1)
    big_value = _log_reduced(float(eb), fb, fb * (mb * rec_b)) + log_inv_nu
    log1p = big_value if big else small
    g = g_big if big else g_small
    return (log1p if finite else np.inf), (g if finite else 0.0)
