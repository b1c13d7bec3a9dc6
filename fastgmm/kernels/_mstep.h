/* The small arithmetic between two passes of EM, for `_cython.em_loop` (the
 * whole EM run of a small fit in one call) and for `em.covariance`'s
 * constants: the M-step from the statistics, the 'diag'/'spherical' factors
 * and the constants c_k of the pass.
 *
 * The M-step takes NumPy's operations in NumPy's order (`em.covariance.m_step`,
 * `precisions_cholesky`), so that a run in one call gives the bits of the
 * pass-by-pass driver: each product is rounded before it is subtracted (no
 * contraction into a multiply-add), and a sum over an axis is NumPy's
 * add.reduce (its pairwise sum: eight accumulators, blocks of 128), whatever
 * -fassociative-math allows elsewhere. The constants use the C library's log in both paths. */
#ifndef FASTGMM_MSTEP_H
#define FASTGMM_MSTEP_H
#include <math.h>
#include <stddef.h>

/* FGM_STRICT: the arithmetic of NumPy (and of Numba without fastmath) in
 * spite of the build's MATH_FLAGS (setup.py) and of -march=x86-64-v3/v4,
 * under which GNU C contracts a product and a sum into a multiply-add by
 * default: no contraction, no reassociation, and signed zeros honoured
 * (0.0 + x is not folded to x: an atan2 of a -0 differs from that of a +0) */
#if defined(__GNUC__) && !defined(__clang__)
#define FGM_STRICT __attribute__((optimize("fp-contract=off", "no-associative-math", \
                                           "signed-zeros")))
#else
#define FGM_STRICT
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* the kinds of `em_loop` and of the constants (_common.KIND, with 'spherical'
 * apart: its statistics and factors have their own shapes) */
enum { FGM_FULL = 0, FGM_TIED = 1, FGM_DIAG = 2, FGM_SPHERICAL = 3 };

/* NumPy's pairwise sum of n values (numpy/_core/src/umath/loops_utils.h.src) */
static FGM_STRICT double fgm_pairwise(const double *a, Py_ssize_t n, Py_ssize_t stride)
{
    Py_ssize_t i, n2;
    double r0, r1, r2, r3, r4, r5, r6, r7, res;
    if (n < 8) {
        res = -0.0;  /* as NumPy: an empty or all -0 sum is -0 */
        for (i = 0; i < n; i++)
            res += a[i * stride];
        return res;
    }
    if (n <= 128) {
        r0 = a[0 * stride]; r1 = a[1 * stride]; r2 = a[2 * stride]; r3 = a[3 * stride];
        r4 = a[4 * stride]; r5 = a[5 * stride]; r6 = a[6 * stride]; r7 = a[7 * stride];
        for (i = 8; i < n - (n % 8); i += 8) {
            r0 += a[(i + 0) * stride]; r1 += a[(i + 1) * stride];
            r2 += a[(i + 2) * stride]; r3 += a[(i + 3) * stride];
            r4 += a[(i + 4) * stride]; r5 += a[(i + 5) * stride];
            r6 += a[(i + 6) * stride]; r7 += a[(i + 7) * stride];
        }
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
        for (; i < n; i++)
            res += a[i * stride];
        return res;
    }
    n2 = n / 2;
    n2 -= n2 % 8;
    return fgm_pairwise(a, n2, stride) + fgm_pairwise(a + n2 * stride, n - n2, stride);
}

/* np.add.reduce of n values (NumPy 2: the pairwise sum of them all) */
static FGM_STRICT double fgm_sum(const double *a, Py_ssize_t n, Py_ssize_t stride)
{
    return fgm_pairwise(a, n, stride);
}

/* s2[k][i][j] = s2[k][j][i] for i > j: the upper triangle onto the lower */
static void fgm_mirror_upper(Py_ssize_t K, Py_ssize_t d, double *s2)
{
    Py_ssize_t k, i, j;
    for (k = 0; k < K; k++)
        for (i = 1; i < d; i++)
            for (j = 0; j < i; j++)
                s2[(k * d + i) * d + j] = s2[(k * d + j) * d + i];
}

/* `em.covariance.m_step` for FGM_FULL, FGM_DIAG, FGM_SPHERICAL: statistics
 * (nk_in (K,), s1 (K*d), s2 of the kind's shape) around ``centers`` -> weights,
 * means, covariances. ``total_weight`` > 0: the weights are counts over it;
 * else over their sum. ``nk`` (K) and ``delta`` (K*d) are work space. */
static FGM_STRICT void fgm_m_step(
    int kind, Py_ssize_t K, Py_ssize_t d, const double *nk_in, const double *s1,
    const double *s2, const double *centers, double reg, double eps10,
    double total_weight, double *nk, double *delta, double *weights, double *means,
    double *cov)
{
    Py_ssize_t k, i, j;
    double total, q;
    for (k = 0; k < K; k++)
        nk[k] = nk_in[k] + eps10;
    for (k = 0; k < K; k++)
        for (j = 0; j < d; j++) {
            delta[k * d + j] = s1[k * d + j] / nk[k];
            means[k * d + j] = centers[k * d + j] + delta[k * d + j];
        }
    if (kind == FGM_FULL) {
        for (k = 0; k < K; k++)
            for (i = 0; i < d; i++)
                for (j = 0; j < d; j++) {
                    q = delta[k * d + i] * delta[k * d + j];
                    cov[(k * d + i) * d + j] = s2[(k * d + i) * d + j] / nk[k] - q;
                }
        for (k = 0; k < K; k++)
            for (i = 0; i < d; i++)
                cov[(k * d + i) * d + i] += reg;
    } else if (kind == FGM_DIAG) {
        for (k = 0; k < K; k++)
            for (j = 0; j < d; j++) {
                q = delta[k * d + j] * delta[k * d + j];
                cov[k * d + j] = (s2[k * d + j] / nk[k] - q) + reg;
            }
    } else {
        for (k = 0; k < K; k++) {
            for (j = 0; j < d; j++)  /* np.square(delta), in place: done with delta */
                delta[k * d + j] = delta[k * d + j] * delta[k * d + j];
            q = fgm_sum(delta + k * d, d, 1);
            cov[k] = ((s2[k] / nk[k] - q) / (double)d) + reg;
        }
    }
    total = total_weight > 0.0 ? total_weight : fgm_sum(nk, K, 1);
    for (k = 0; k < K; k++)
        weights[k] = nk[k] / total;
}

/* U = 1 / sqrt(cov) for n positive variances; returns the index of the first
 * that is not (> 0, so NaN too), or -1. */
static Py_ssize_t fgm_factor_variances(Py_ssize_t n, const double *cov, double *U)
{
    Py_ssize_t i;
    for (i = 0; i < n; i++)
        if (!(cov[i] > 0.0))
            return i;
    for (i = 0; i < n; i++)
        U[i] = 1.0 / sqrt(cov[i]);
    return -1;
}

/* c_k = log w_k + log det U_k - half_d_log_2pi (`em.covariance.log_prob_constants`);
 * U of the kind's shape ('tied': one (d, d) factor); ``tmp``: d values. */
static FGM_STRICT void fgm_constants(int kind, Py_ssize_t K, Py_ssize_t d,
                                     const double *weights, const double *U,
                                     double half_d_log_2pi, double *c, double *tmp)
{
    Py_ssize_t k, j;
    double log_det = 0.0;
    if (kind == FGM_TIED) {
        for (j = 0; j < d; j++)
            tmp[j] = log(U[j * d + j]);
        log_det = fgm_sum(tmp, d, 1);
    }
    for (k = 0; k < K; k++) {
        if (kind == FGM_FULL) {
            for (j = 0; j < d; j++)
                tmp[j] = log(U[(k * d + j) * d + j]);
            log_det = fgm_sum(tmp, d, 1);
        } else if (kind == FGM_DIAG) {
            for (j = 0; j < d; j++)
                tmp[j] = log(U[k * d + j]);
            log_det = fgm_sum(tmp, d, 1);
        } else if (kind == FGM_SPHERICAL) {
            log_det = (double)d * log(U[k]);
        }
        c[k] = (log(weights[k]) + log_det) - half_d_log_2pi;
    }
}

#endif
