/* EVE's and VVE's common orientation (`em.parsimonious._common_orientation`):
 * Jacobi rotations of D, pair after pair, for the Cython backend's
 * `common_orientation` (_cython/_mstep.pyx). The Numba backend's
 * (`_numba_mstep.common_orientation`) runs the same loops; both give the
 * same bits: every function here is FGM_STRICT (_mstep.h: each product
 * rounded, no contraction into a multiply-add, no reassociation, signed
 * zeros honoured), as Numba compiles without fastmath, and the
 * transcendental functions are the C library's log, exp, atan2, cos and
 * sin, which Numba's math.log, ... call too (GCC and LLVM both
 * merge cos(t) and sin(t) into one call of its sincos).
 *
 * With the diagonals a_k fixed, rotating columns p and q of D by t changes
 * sum_k w_k tr(D^T S_k D diag(1 / a_k)) by A cos 2t + B sin 2t, least at
 * 2t = atan2(-B, -A); each rotation is preceded by the closed-form
 * diagonals of the current D, so the objective never increases. Sweeps over
 * the pairs run until it changes by at most ``tol`` relative, or
 * ``max_sweeps``. */
#ifndef FASTGMM_ORIENTATION_H
#define FASTGMM_ORIENTATION_H
#include <math.h>
#include "_mstep.h"

/* a (k, d) from the diagonals of M (k, d, d): VVE's own; EVE's shapes times
 * the weighted mean of their volumes (geometric means) */
static FGM_STRICT void fgm_orientation_diagonals(Py_ssize_t k, Py_ssize_t d,
                                                 const double *w, const double *M,
                                                 int equal_volume, double *a)
{
    Py_ssize_t c, j;
    double mean_volume, log_volume, volume;
    if (!equal_volume) {
        for (c = 0; c < k; c++)
            for (j = 0; j < d; j++)
                a[c * d + j] = M[(c * d + j) * d + j];
        return;
    }
    mean_volume = 0.0;
    for (c = 0; c < k; c++) {
        log_volume = 0.0;
        for (j = 0; j < d; j++)
            log_volume += log(M[(c * d + j) * d + j]);
        mean_volume += w[c] * exp(log_volume / (double) d);
    }
    for (c = 0; c < k; c++) {
        log_volume = 0.0;
        for (j = 0; j < d; j++)
            log_volume += log(M[(c * d + j) * d + j]);
        volume = exp(log_volume / (double) d);
        for (j = 0; j < d; j++)
            /* (the ratio first: the product of two covariance-sized numbers
             * overflows beyond ~1e154, or underflows, where the ratio does not) */
            a[c * d + j] = mean_volume * (M[(c * d + j) * d + j] / volume);
    }
}

/* sum_k w_k sum_j (log a_kj + M_k,jj / a_kj) */
static FGM_STRICT double fgm_orientation_objective(Py_ssize_t k, Py_ssize_t d,
                                                   const double *w, const double *M,
                                                   const double *a)
{
    Py_ssize_t c, j;
    double total = 0.0, part;
    for (c = 0; c < k; c++) {
        part = 0.0;
        for (j = 0; j < d; j++)
            part += log(a[c * d + j]) + M[(c * d + j) * d + j] / a[c * d + j];
        total += w[c] * part;
    }
    return total;
}

/* D (d, d, row-major, overwritten) after the sweeps; returns their number.
 * w (k,), S (k, d, d) row-major; work space M (k * d * d) and a (k * d). */
static FGM_STRICT Py_ssize_t fgm_common_orientation(
    Py_ssize_t k, Py_ssize_t d, const double *w, const double *S, double *D,
    int equal_volume, Py_ssize_t max_sweeps, double tol, double *M, double *a)
{
    Py_ssize_t c, i, j, u, v, p, q, sweeps = 0, sweep;
    double total, row, objective, new_objective, A, B, db, t, cs, sn;
    double dp, dq, mp, mq, scale;
    /* M_k = D^T S_k D */
    for (c = 0; c < k; c++)
        for (i = 0; i < d; i++)
            for (j = 0; j < d; j++) {
                total = 0.0;
                for (u = 0; u < d; u++) {
                    row = 0.0;
                    for (v = 0; v < d; v++)
                        row += S[(c * d + u) * d + v] * D[v * d + j];
                    total += D[u * d + i] * row;
                }
                M[(c * d + i) * d + j] = total;
            }
    objective = INFINITY;
    for (sweep = 1; sweep <= max_sweeps; sweep++) {
        sweeps = sweep;
        for (p = 0; p < d - 1; p++)
            for (q = p + 1; q < d; q++) {
                fgm_orientation_diagonals(k, d, w, M, equal_volume, a);
                A = 0.0;
                B = 0.0;
                for (c = 0; c < k; c++) {
                    db = 1.0 / a[c * d + p] - 1.0 / a[c * d + q];
                    A += 0.5 * w[c] * db * (M[(c * d + p) * d + p] - M[(c * d + q) * d + q]);
                    B += w[c] * db * M[(c * d + p) * d + q];
                }
                if (A * A + B * B == 0.0)
                    continue;
                t = 0.5 * atan2(-B, -A);
                cs = cos(t);
                sn = sin(t);
                for (u = 0; u < d; u++) {
                    dp = D[u * d + p];
                    dq = D[u * d + q];
                    D[u * d + p] = cs * dp + sn * dq;
                    D[u * d + q] = cs * dq - sn * dp;
                }
                for (c = 0; c < k; c++) {
                    for (u = 0; u < d; u++) {
                        mp = M[(c * d + u) * d + p];
                        mq = M[(c * d + u) * d + q];
                        M[(c * d + u) * d + p] = cs * mp + sn * mq;
                        M[(c * d + u) * d + q] = cs * mq - sn * mp;
                    }
                    for (u = 0; u < d; u++) {
                        mp = M[(c * d + p) * d + u];
                        mq = M[(c * d + q) * d + u];
                        M[(c * d + p) * d + u] = cs * mp + sn * mq;
                        M[(c * d + q) * d + u] = cs * mq - sn * mp;
                    }
                }
            }
        fgm_orientation_diagonals(k, d, w, M, equal_volume, a);
        new_objective = fgm_orientation_objective(k, d, w, M, a);
        /* max(|new|, 1) as Python's max(abs(new), 1.0) takes it */
        scale = fabs(new_objective);
        if (1.0 > scale)
            scale = 1.0;
        if (fabs(objective - new_objective) <= tol * scale)
            break;
        objective = new_objective;
    }
    return sweeps;
}

#endif
