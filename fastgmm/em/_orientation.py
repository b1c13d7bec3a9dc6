"""EVE's and VVE's common orientation, compiled (Numba): the Jacobi
rotations of `em.parsimonious._common_orientation`, pair after pair.

With the diagonals a_k fixed, rotating columns p and q of D by t changes
sum_k w_k tr(D^T S_k D diag(1 / a_k)) by A cos 2t + B sin 2t, least at
2t = atan2(-B, -A); each rotation is followed by the closed-form diagonals
for the new D, so the objective never increases. Sweeps over the pairs run
until it changes by at most ``tol`` relative, or ``max_sweeps``.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def _diagonals(w, M, equal_volume, a):
    """a_k from diag(M_k): VVE's own; EVE's shapes times the weighted mean of
    their volumes (geometric means)."""
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


@njit(cache=True, nogil=True, error_model="numpy")
def _objective(w, M, a):
    total = 0.0
    k, d = a.shape
    for c in range(k):
        part = 0.0
        for j in range(d):
            part += math.log(a[c, j]) + M[c, j, j] / a[c, j]
        total += w[c] * part
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def common_orientation(w, S, D, equal_volume, max_sweeps, tol):
    """D (d, d, overwritten) after the sweeps; returns the number of sweeps.
    ``w`` (k,), ``S`` (k, d, d): checked here (a wrong shape is a
    ValueError, never a read out of bounds)."""
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
                _diagonals(w, M, equal_volume, a)
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
        _diagonals(w, M, equal_volume, a)
        new = _objective(w, M, a)
        if abs(objective - new) <= tol * max(abs(new), 1.0):
            break
        objective = new
    return sweeps
