/* 'full' and 'diag' with few features (d <= FASTGMM_SMALL_D): the tile's
 * log-probabilities and statistics with every per-row quantity in registers,
 * for fastgmm's Cython kernels.
 *
 * The generic loops of _cython.pyx (`_logp_full`, `_stats_full`,
 * `_logp_diag`, `_stats_diag`) keep one array per quantity and sweep it once
 * per term: y_j += (x_l - m_l) U_lj loads and stores y for every l, log p
 * for every feature, and each entry of S2 is a dot product with one
 * accumulator (a chain of dependent additions). Here d is a constant of
 * each copy (a switch calls an always-inlined body with d = 1..8), so the
 * compiler unrolls the loops over features, keeps (x - m), y and the
 * accumulators of a row of S2 in vector registers, and vectorizes over the
 * tile's rows. The arithmetic is the same formulas in the same order per row
 * (sums over rows may be reassociated, as everywhere with
 * -fassociative-math).
 *
 * Tiles are transposed: xt[l * FASTGMM_TILE + b] is feature l of row b;
 * logp and wr are (K x FASTGMM_TILE). 'full': U_k is row-major upper
 * triangular (d x d), S2_k row-major with its upper triangle filled. 'diag'
 * (and 'spherical'): U_k the d precisions (square roots), S2_k d sums.
 */
#ifndef FASTGMM_SMALL_D_H
#define FASTGMM_SMALL_D_H

#include <stddef.h>

#define FASTGMM_TILE 256
/* loops over a tile's rows that compute per-row values run over whole
 * blocks of this many rows (the caller defines the rows up to there): the
 * compiler, which sees a multiple of 16, emits no scalar remainder, so a
 * row's bits never depend on its place in a tile (docs/design.md) */
#define FASTGMM_ROW_BLOCK 16
#define FASTGMM_WHOLE(nb) (((nb) + FASTGMM_ROW_BLOCK - 1) & ~(ptrdiff_t)(FASTGMM_ROW_BLOCK - 1))
#define FASTGMM_SMALL_D 8

#if defined(__GNUC__)
#define FASTGMM_INLINE static inline __attribute__((always_inline))
#else
#define FASTGMM_INLINE static inline
#endif
/* unrolled before vectorization, so that the loop over rows vectorizes */
#if defined(__clang__)
#define FASTGMM_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define FASTGMM_UNROLL _Pragma("GCC unroll 8")
#else
#define FASTGMM_UNROLL
#endif

/* logp[k, b] = c_k - ||(x_b - m_k) U_k||^2 / 2, for b < nb rounded up to
 * FASTGMM_WHOLE (xt must be defined there) */
FASTGMM_INLINE void fastgmm_logp_full_fixed(const int D, const double *restrict xt,
                                            ptrdiff_t nb, ptrdiff_t K,
                                            const double *restrict c,
                                            const double *restrict means,
                                            const double *restrict U,
                                            double *restrict logp)
{
    double m[FASTGMM_SMALL_D], u[FASTGMM_SMALL_D * FASTGMM_SMALL_D];
    /* whole blocks of rows only: the loop has no scalar remainder, which
     * the compiler could round otherwise (a row's bits would depend on its
     * place in the tile); the caller pads xt up to FASTGMM_WHOLE(nb) rows */
    const ptrdiff_t nbp = FASTGMM_WHOLE(nb);
    for (ptrdiff_t k = 0; k < K; k++) {
        double *restrict row = logp + k * FASTGMM_TILE;
        const double ck = c[k];
        for (int l = 0; l < D; l++)
            m[l] = means[k * D + l];
        for (int l = 0; l < D * D; l++)
            u[l] = U[k * D * D + l];
        for (ptrdiff_t b = 0; b < nbp; b++) {
            double z[FASTGMM_SMALL_D];
            double acc = 0.0;
            FASTGMM_UNROLL
            for (int l = 0; l < D; l++)
                z[l] = xt[l * FASTGMM_TILE + b] - m[l];
            FASTGMM_UNROLL
            for (int j = 0; j < D; j++) {
                double y = z[0] * u[j];
                FASTGMM_UNROLL
                for (int l = 1; l <= j; l++)
                    y += z[l] * u[l * D + j];
                acc += y * y;
            }
            row[b] = ck - 0.5 * acc;
        }
    }
}

/* S1_k += sum_b wr_kb (x_b - m_k); upper triangle of
 * S2_k += sum_b wr_kb (x_b - m_k)(x_b - m_k)^T. One sweep over the tile per
 * pair of rows (l, d - 1 - l) of S2_k: the pair has d + 3 sums (S1 included),
 * all in registers, enough independent chains of additions to keep the
 * floating-point units busy (one row alone near the end of S2 has 2). */
FASTGMM_INLINE void fastgmm_stats_full_fixed(const int D, const double *restrict xt,
                                             ptrdiff_t nb, ptrdiff_t K,
                                             const double *restrict means,
                                             const double *restrict wr,
                                             double *restrict s1, double *restrict s2)
{
    double m[FASTGMM_SMALL_D];
    for (ptrdiff_t k = 0; k < K; k++) {
        const double *restrict r = wr + k * FASTGMM_TILE;
        for (int l = 0; l < D; l++)
            m[l] = means[k * D + l];
        FASTGMM_UNROLL
        for (int l = 0; l < (D + 1) / 2; l++) {
            const int h = D - 1 - l; /* the pair's second row (h == l: alone) */
            double a1 = 0.0, h1 = 0.0;
            double a2[FASTGMM_SMALL_D], h2[FASTGMM_SMALL_D];
            const double ml = m[l], mh = m[h];
            FASTGMM_UNROLL
            for (int j = 0; j < D; j++)
                a2[j] = h2[j] = 0.0;
            for (ptrdiff_t b = 0; b < nb; b++) {
                const double t = r[b] * (xt[l * FASTGMM_TILE + b] - ml);
                const double u = r[b] * (xt[h * FASTGMM_TILE + b] - mh);
                a1 += t;
                FASTGMM_UNROLL
                for (int j = l; j < D; j++)
                    a2[j] += t * (xt[j * FASTGMM_TILE + b] - m[j]);
                if (h != l) {
                    h1 += u;
                    FASTGMM_UNROLL
                    for (int j = h; j < D; j++)
                        h2[j] += u * (xt[j * FASTGMM_TILE + b] - m[j]);
                }
            }
            s1[k * D + l] += a1;
            for (int j = l; j < D; j++)
                s2[(k * D + l) * D + j] += a2[j];
            if (h != l) {
                s1[k * D + h] += h1;
                for (int j = h; j < D; j++)
                    s2[(k * D + h) * D + j] += h2[j];
            }
        }
    }
}

/* 'diag': logp[k, b] = c_k - sum_j ((x_bj - m_kj) p_kj)^2 / 2, for b < nb
 * rounded up to FASTGMM_WHOLE (xt must be defined there) */
FASTGMM_INLINE void fastgmm_logp_diag_fixed(const int D, const double *restrict xt,
                                            ptrdiff_t nb, ptrdiff_t K,
                                            const double *restrict c,
                                            const double *restrict means,
                                            const double *restrict U,
                                            double *restrict logp)
{
    double m[FASTGMM_SMALL_D], p[FASTGMM_SMALL_D];
    const ptrdiff_t nbp = FASTGMM_WHOLE(nb);
    for (ptrdiff_t k = 0; k < K; k++) {
        double *restrict row = logp + k * FASTGMM_TILE;
        const double ck = c[k];
        for (int j = 0; j < D; j++) {
            m[j] = means[k * D + j];
            p[j] = U[k * D + j];
        }
        for (ptrdiff_t b = 0; b < nbp; b++) {
            double acc = 0.0;
            FASTGMM_UNROLL
            for (int j = 0; j < D; j++) {
                const double t = (xt[j * FASTGMM_TILE + b] - m[j]) * p[j];
                acc += t * t;
            }
            row[b] = ck - 0.5 * acc;
        }
    }
}

/* 'diag': S1_kj += sum_b wr_kb (x_bj - m_kj), S2_kj += sum_b wr_kb
 * (x_bj - m_kj)^2; one sweep per group of up to 4 features: up to 8
 * independent sums in registers. */
FASTGMM_INLINE void fastgmm_stats_diag_fixed(const int D, const double *restrict xt,
                                             ptrdiff_t nb, ptrdiff_t K,
                                             const double *restrict means,
                                             const double *restrict wr,
                                             double *restrict s1, double *restrict s2)
{
    for (ptrdiff_t k = 0; k < K; k++) {
        const double *restrict r = wr + k * FASTGMM_TILE;
        FASTGMM_UNROLL
        for (int j0 = 0; j0 < D; j0 += 4) {
            const int n = D - j0 < 4 ? D - j0 : 4;
            double m[4], a1[4], a2[4];
            FASTGMM_UNROLL
            for (int j = 0; j < n; j++) {
                m[j] = means[k * D + j0 + j];
                a1[j] = a2[j] = 0.0;
            }
            for (ptrdiff_t b = 0; b < nb; b++) {
                FASTGMM_UNROLL
                for (int j = 0; j < n; j++) {
                    const double dv = xt[(j0 + j) * FASTGMM_TILE + b] - m[j];
                    const double v = r[b] * dv;
                    a1[j] += v;
                    a2[j] += v * dv;
                }
            }
            FASTGMM_UNROLL
            for (int j = 0; j < n; j++) {
                s1[k * D + j0 + j] += a1[j];
                s2[k * D + j0 + j] += a2[j];
            }
        }
    }
}

#define FASTGMM_SMALL_D_CASES(F, ...) \
    case 1: F(1, __VA_ARGS__); return 1;  \
    case 2: F(2, __VA_ARGS__); return 1;  \
    case 3: F(3, __VA_ARGS__); return 1;  \
    case 4: F(4, __VA_ARGS__); return 1;  \
    case 5: F(5, __VA_ARGS__); return 1;  \
    case 6: F(6, __VA_ARGS__); return 1;  \
    case 7: F(7, __VA_ARGS__); return 1;  \
    case 8: F(8, __VA_ARGS__); return 1;

/* 'diag' with few components (K <= FASTGMM_FEW_K) and many features: the
 * tile row-major (xr[b * d + j], rows of weight 0 filled with a mean), the
 * loops over features innermost, so that they vectorize over features and
 * the K sums of a row (log p) or the K pairs of accumulators of a feature
 * (statistics) are independent chains. The transposed tile and its
 * per-feature sweeps would sweep the whole tile once per feature and
 * component; the matrix products are thin (k columns) there. */
#define FASTGMM_FEW_K 4

/* The functions below, for rows of type T (double; float: float32 X read
 * as it is, each value widened to double as it is loaded), suffix S. */
#define FASTGMM_DIAG_ROWS(T, S)                                                      \
FASTGMM_INLINE void fastgmm_logp_diag_rows_fixed##S(                                 \
    const int K, const T *restrict xr, ptrdiff_t nb, ptrdiff_t d,                    \
    const double *restrict c, const double *restrict means,                          \
    const double *restrict U, double *restrict logp)                                 \
{                                                                                    \
    for (ptrdiff_t b = 0; b < nb; b++) {                                             \
        const T *restrict x = xr + b * d;                                            \
        double acc[FASTGMM_FEW_K];                                                   \
        FASTGMM_UNROLL                                                               \
        for (int k = 0; k < K; k++)                                                  \
            acc[k] = 0.0;                                                            \
        for (ptrdiff_t j = 0; j < d; j++) {                                          \
            const double xj = x[j];                                                  \
            FASTGMM_UNROLL                                                           \
            for (int k = 0; k < K; k++) {                                            \
                const double t = (xj - means[k * d + j]) * U[k * d + j];             \
                acc[k] += t * t;                                                     \
            }                                                                        \
        }                                                                            \
        FASTGMM_UNROLL                                                               \
        for (int k = 0; k < K; k++)                                                  \
            logp[k * FASTGMM_TILE + b] = c[k] - 0.5 * acc[k];                        \
    }                                                                                \
}                                                                                    \
                                                                                     \
static inline void fastgmm_stats_diag_two##S(                                        \
    const T *restrict x0, const T *restrict x1, double r0, double r1, ptrdiff_t d,   \
    const double *restrict m, double *restrict s1, double *restrict s2)              \
{                                                                                    \
    for (ptrdiff_t j = 0; j < d; j++) {                                              \
        const double d0 = x0[j] - m[j], d1 = x1[j] - m[j];                           \
        const double v0 = r0 * d0, v1 = r1 * d1;                                     \
        s1[j] += v0 + v1;                                                            \
        s2[j] += v0 * d0 + v1 * d1;                                                  \
    }                                                                                \
}                                                                                    \
                                                                                     \
static inline void fastgmm_stats_diag_one##S(                                        \
    const T *restrict x0, double r0, ptrdiff_t d, const double *restrict m,          \
    double *restrict s1, double *restrict s2)                                        \
{                                                                                    \
    for (ptrdiff_t j = 0; j < d; j++) {                                              \
        const double d0 = x0[j] - m[j];                                              \
        const double v0 = r0 * d0;                                                   \
        s1[j] += v0;                                                                 \
        s2[j] += v0 * d0;                                                            \
    }                                                                                \
}                                                                                    \
                                                                                     \
FASTGMM_INLINE void fastgmm_stats_diag_rows_fixed##S(                                \
    const int K, const T *restrict xr, ptrdiff_t nb, ptrdiff_t d,                    \
    const double *restrict means, const double *restrict wr, double *restrict s1,    \
    double *restrict s2)                                                             \
{                                                                                    \
    ptrdiff_t b = 0;                                                                 \
    for (; b + 1 < nb; b += 2) {                                                     \
        FASTGMM_UNROLL                                                               \
        for (int k = 0; k < K; k++)                                                  \
            fastgmm_stats_diag_two##S(xr + b * d, xr + (b + 1) * d,                  \
                                      wr[k * FASTGMM_TILE + b],                      \
                                      wr[k * FASTGMM_TILE + b + 1], d,               \
                                      means + k * d, s1 + k * d, s2 + k * d);        \
    }                                                                                \
    if (b < nb) {                                                                    \
        FASTGMM_UNROLL                                                               \
        for (int k = 0; k < K; k++)                                                  \
            fastgmm_stats_diag_one##S(xr + b * d, wr[k * FASTGMM_TILE + b], d,       \
                                      means + k * d, s1 + k * d, s2 + k * d);        \
    }                                                                                \
}

/* Statistics: two rows per sweep over the features (half the loads and
 * stores of the accumulators per row), one component per sweep (one
 * pointer each to m_k, S1_k, S2_k, which the compiler can tell apart; with
 * all K in one sweep it could not rule out their overlap and did not
 * vectorize); an odd last row alone. */
FASTGMM_DIAG_ROWS(double, )
FASTGMM_DIAG_ROWS(float, _f)

#define FASTGMM_FEW_K_CASES(F, ...) \
    case 1: F(1, __VA_ARGS__); return 1;  \
    case 2: F(2, __VA_ARGS__); return 1;  \
    case 3: F(3, __VA_ARGS__); return 1;  \
    case 4: F(4, __VA_ARGS__); return 1;

/* Nonzero: the dispatchers below decline, and the generic loops run (set
 * only by _cython.set_small_d, for measuring one path against the other in
 * one process; a pass reads it once per tile, so set it between passes). */
static int fastgmm_small_d_off = 0;

/* The dispatchers: NAME(PARAMS) calls FIXED(size, ARGS...) for SIZE among
 * CASES; each returns 1 when it did the work, 0 when SIZE is not one of its
 * sizes or the copies are switched off. */
#define FASTGMM_DISPATCHER(NAME, CASES, FIXED, SIZE, PARAMS, ...) \
    static int NAME PARAMS                                         \
    {                                                              \
        if (fastgmm_small_d_off)                                   \
            return 0;                                              \
        switch (SIZE) {                                            \
            CASES(FIXED, __VA_ARGS__)                              \
        default:                                                   \
            return 0;                                              \
        }                                                          \
    }

#define FASTGMM_LOGP_PARAMS(T) \
    (ptrdiff_t size, const T *x, ptrdiff_t nb, ptrdiff_t K, ptrdiff_t d, \
     const double *c, const double *means, const double *U, double *logp)
#define FASTGMM_STATS_PARAMS(T) \
    (ptrdiff_t size, const T *x, ptrdiff_t nb, ptrdiff_t K, ptrdiff_t d, \
     const double *means, const double *wr, double *s1, double *s2)

/* 'full' and 'diag' at d <= 8 (size: d, transposed tiles) */
FASTGMM_DISPATCHER(fastgmm_logp_full_small, FASTGMM_SMALL_D_CASES, fastgmm_logp_full_fixed,
                   size, FASTGMM_LOGP_PARAMS(double), x, nb, K, c, means, U, logp)
FASTGMM_DISPATCHER(fastgmm_stats_full_small, FASTGMM_SMALL_D_CASES, fastgmm_stats_full_fixed,
                   size, FASTGMM_STATS_PARAMS(double), x, nb, K, means, wr, s1, s2)
FASTGMM_DISPATCHER(fastgmm_logp_diag_small, FASTGMM_SMALL_D_CASES, fastgmm_logp_diag_fixed,
                   size, FASTGMM_LOGP_PARAMS(double), x, nb, K, c, means, U, logp)
FASTGMM_DISPATCHER(fastgmm_stats_diag_small, FASTGMM_SMALL_D_CASES, fastgmm_stats_diag_fixed,
                   size, FASTGMM_STATS_PARAMS(double), x, nb, K, means, wr, s1, s2)
/* 'diag' with few components (size: K, row-major tiles of double or float) */
FASTGMM_DISPATCHER(fastgmm_logp_diag_rows, FASTGMM_FEW_K_CASES, fastgmm_logp_diag_rows_fixed,
                   size, FASTGMM_LOGP_PARAMS(double), x, nb, d, c, means, U, logp)
FASTGMM_DISPATCHER(fastgmm_stats_diag_rows, FASTGMM_FEW_K_CASES, fastgmm_stats_diag_rows_fixed,
                   size, FASTGMM_STATS_PARAMS(double), x, nb, d, means, wr, s1, s2)
FASTGMM_DISPATCHER(fastgmm_logp_diag_rows_f, FASTGMM_FEW_K_CASES,
                   fastgmm_logp_diag_rows_fixed_f, size, FASTGMM_LOGP_PARAMS(float), x, nb,
                   d, c, means, U, logp)
FASTGMM_DISPATCHER(fastgmm_stats_diag_rows_f, FASTGMM_FEW_K_CASES,
                   fastgmm_stats_diag_rows_fixed_f, size, FASTGMM_STATS_PARAMS(float), x,
                   nb, d, means, wr, s1, s2)

#endif
