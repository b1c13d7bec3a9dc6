/* k-means++'s draw: NumPy's searchsorted(cumsum(w * closest), target) for
 * sorted targets, in one scan that stops at the last. The products are
 * rounded before they are added (no contraction into a multiply-add), and the
 * sum runs in row order, as numpy.cumsum adds: the same bits as NumPy's. */
#ifndef FASTGMM_KMEANS_H
#define FASTGMM_KMEANS_H
#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__)
#define FASTGMM_NO_CONTRACT __attribute__((optimize("fp-contract=off", "no-associative-math")))
#else
#define FASTGMM_NO_CONTRACT
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* picked[order[t]] = the first i with the running sum >= targets[order[t]]
 * (targets[order[.]] ascending); w NULL: every weight 1. */
static FASTGMM_NO_CONTRACT void fastgmm_cumsum_search(
    const double *closest, const double *w, Py_ssize_t n, const double *targets,
    const Py_ssize_t *order, Py_ssize_t T, Py_ssize_t *picked)
{
    volatile double product;  /* rounded before it is added, as NumPy's */
    double cum = 0.0;
    Py_ssize_t i, t = 0;
    for (i = 0; i < n && t < T; i++) {
        product = w != NULL ? w[i] * closest[i] : closest[i];
        cum = cum + product;
        while (t < T && cum >= targets[order[t]]) {
            picked[order[t]] = i;
            t++;
        }
    }
}

/* The distance loops of k-means. Sixteen rows at a time, centred and
 * transposed into a small block (xt[j * 16 + r]: feature j of row r, in L1),
 * in vectors of the build's register width (AVX-512: two vectors of 8 rows,
 * four centres at a time, 8 chains of multiply-adds in 32 registers;
 * otherwise four vectors of 4 rows, two centres at a time, 8 chains in 16
 * registers: vectors wider than the registers, or more chains than they
 * hold, made gcc go through the stack, a pass 3-30 times slower). x.c is one
 * chain in feature order per row and centre (with FMA where the CPU has it;
 * a BLAS kernel's inner loop adds the same way), whatever the width, so the
 * distances are the ones scikit-learn gets from its matrix products.
 * A row's lane holds nothing but that row: its results do not depend on
 * where it falls. Rows past the last are 0 and their results unused. A NaN
 * entry (a missing value, nan_policy='marginalize') is taken at the offset:
 * the caller centres such data on the values it fills them with. */
#include <string.h>

#if defined(__AVX512F__)
#define FGK_W 8    /* rows per vector */
#define FGK_CPB 4  /* centres per block of dot products */
#elif defined(__AVX__)
#define FGK_W 4
#define FGK_CPB 2
#else
#define FGK_W 2
#define FGK_CPB 2
#endif
#define FGK_NV (16 / FGK_W)  /* vectors per block of 16 rows */

typedef double fgk_vd __attribute__((vector_size(8 * FGK_W)));
typedef long long fgk_vl __attribute__((vector_size(8 * FGK_W)));

#define FGK_INLINE static inline __attribute__((always_inline))

FGK_INLINE fgk_vd fgk_load(const double *p)
{
    fgk_vd v;
    memcpy(&v, p, sizeof v);
    return v;
}

FGK_INLINE void fgk_store(double *p, fgk_vd v)
{
    memcpy(p, &v, sizeof v);
}

FGK_INLINE fgk_vd fgk_splat(double x)
{
    return (fgk_vd) {0} + x;
}

FGK_INLINE fgk_vd fgk_select(fgk_vl mask, fgk_vd yes, fgk_vd no)
{
    return (fgk_vd) (((fgk_vl) yes & mask) | ((fgk_vl) no & ~mask));
}

/* o[i * FGK_NV + v]: the rows of vector v of the block dotted with centre c[i] */
FGK_INLINE void fgk_dots(const double *xt, Py_ssize_t d, const double *const *c,
                         fgk_vd *o)
{
    fgk_vd x[FGK_NV], acc[FGK_NV * FGK_CPB];
    Py_ssize_t i, j, v;
    for (v = 0; v < FGK_NV; v++)
        x[v] = fgk_load(xt + v * FGK_W);
    for (i = 0; i < FGK_CPB; i++) {
        fgk_vd ci = fgk_splat(c[i][0]);
        for (v = 0; v < FGK_NV; v++)
            acc[i * FGK_NV + v] = x[v] * ci;
    }
    for (j = 1; j < d; j++) {
        for (v = 0; v < FGK_NV; v++)
            x[v] = fgk_load(xt + j * 16 + v * FGK_W);
        for (i = 0; i < FGK_CPB; i++) {
            fgk_vd cij = fgk_splat(c[i][j]);
            for (v = 0; v < FGK_NV; v++)
                acc[i * FGK_NV + v] = acc[i * FGK_NV + v] + x[v] * cij;
        }
    }
    for (i = 0; i < FGK_NV * FGK_CPB; i++)
        o[i] = acc[i];
}

static inline const double *fgk_centre(const double *c, Py_ssize_t k, Py_ssize_t K,
                                       Py_ssize_t d)
{
    return c + (k < K ? k : K - 1) * d;
}

/* `fgk_dots` with centres k, k + 1, ... of the K in ``centres`` (past the
 * last: the last again, its results unused) */
FGK_INLINE void fgk_block_dots(const double *xt, Py_ssize_t d, const double *centres,
                               Py_ssize_t k, Py_ssize_t K, fgk_vd *o)
{
    const double *c[FGK_CPB];
    Py_ssize_t i;
    for (i = 0; i < FGK_CPB; i++)
        c[i] = fgk_centre(centres, k + i, K, d);
    fgk_dots(xt, d, c, o);
}

/* The block loader: xt[j * 16 + r] = X[i + r, j] - offset[j] (a NaN entry
 * 0: missing, at the offset), rows past nr 0. Full blocks go four rows by
 * four features at a time, transposed in registers (two rounds of
 * shuffles), the rest one value at a time; the values are the same. */
typedef double fgk_v4 __attribute__((vector_size(32)));
typedef float fgk_f4 __attribute__((vector_size(16)));
typedef long long fgk_l4 __attribute__((vector_size(32)));

FGK_INLINE fgk_v4 fgk_row4_d(const double *p)
{
    fgk_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

FGK_INLINE fgk_v4 fgk_row4_f(const float *p)
{
    fgk_f4 v;
    memcpy(&v, p, sizeof v);
    return __builtin_convertvector(v, fgk_v4);
}

FGK_INLINE fgk_v4 fgk_present(fgk_v4 v)
{
    fgk_l4 keep = v == v;  /* NaN: 0 */
    return (fgk_v4) ((fgk_l4) v & keep);
}

#define FGK_BLOCK_LOADER(NAME, T, ROW4)                                            \
static inline void NAME(const T *X, Py_ssize_t d, const double *offset,            \
                        Py_ssize_t i, Py_ssize_t nr, double *xt)                   \
{                                                                                  \
    Py_ssize_t r, j, d4 = nr == 16 ? d - d % 4 : 0;                                \
    for (j = 0; j < d4; j += 4) {                                                  \
        fgk_v4 o = fgk_row4_d(offset + j);                                         \
        for (r = 0; r < 16; r += 4) {                                              \
            const T *row = X + (i + r) * d + j;                                    \
            fgk_v4 a = fgk_present(ROW4(row) - o);                                 \
            fgk_v4 b = fgk_present(ROW4(row + d) - o);                             \
            fgk_v4 c = fgk_present(ROW4(row + 2 * d) - o);                         \
            fgk_v4 e = fgk_present(ROW4(row + 3 * d) - o);                         \
            fgk_v4 t0 = __builtin_shufflevector(a, b, 0, 4, 2, 6);                 \
            fgk_v4 t1 = __builtin_shufflevector(a, b, 1, 5, 3, 7);                 \
            fgk_v4 t2 = __builtin_shufflevector(c, e, 0, 4, 2, 6);                 \
            fgk_v4 t3 = __builtin_shufflevector(c, e, 1, 5, 3, 7);                 \
            fgk_v4 c0 = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);               \
            fgk_v4 c1 = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);               \
            fgk_v4 c2 = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);               \
            fgk_v4 c3 = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);               \
            memcpy(xt + j * 16 + r, &c0, sizeof c0);                               \
            memcpy(xt + (j + 1) * 16 + r, &c1, sizeof c1);                         \
            memcpy(xt + (j + 2) * 16 + r, &c2, sizeof c2);                         \
            memcpy(xt + (j + 3) * 16 + r, &c3, sizeof c3);                         \
        }                                                                          \
    }                                                                              \
    for (r = 0; r < nr; r++) {                                                     \
        const T *row = X + (i + r) * d;                                            \
        for (j = d4; j < d; j++) {                                                 \
            double v = (double) row[j] - offset[j];                                \
            xt[j * 16 + r] = v == v ? v : 0.0;  /* NaN: missing, at the offset */  \
        }                                                                          \
    }                                                                              \
    for (r = nr; r < 16; r++)                                                      \
        for (j = 0; j < d; j++)                                                    \
            xt[j * 16 + r] = 0.0;                                                  \
}
FGK_BLOCK_LOADER(fgk_block_d, double, fgk_row4_d)
FGK_BLOCK_LOADER(fgk_block_f, float, fgk_row4_f)

/* Lloyd on rows [start, stop): labels by |c|^2 - 2 x.c (the first of equals);
 * with update, counts[k] += w and sums[k] += w (x - offset) for the label k.
 * xt: 16 * d doubles of scratch. Returns how many labels changed. */
static Py_ssize_t fastgmm_km_block(const double *xt, Py_ssize_t nr, Py_ssize_t d,
                                   Py_ssize_t K, const double *centers,
                                   const double *cn, const double *w,
                                   Py_ssize_t *labels, int update, double *sums,
                                   double *counts)
{
    fgk_vd o[FGK_NV * FGK_CPB], best[FGK_NV];
    fgk_vl lab[FGK_NV];
    Py_ssize_t k, i, r, j, v, changed = 0;
    for (v = 0; v < FGK_NV; v++) {
        best[v] = (fgk_vd) {0};
        lab[v] = (fgk_vl) {0};
    }
    for (k = 0; k < K; k += FGK_CPB) {
        fgk_block_dots(xt, d, centers, k, K, o);
        for (i = 0; i < FGK_CPB && k + i < K; i++) {
            fgk_vd cnk = fgk_splat(cn[k + i]);
            fgk_vl kk = (fgk_vl) {0} + (long long) (k + i);
            for (v = 0; v < FGK_NV; v++) {
                fgk_vd dist = cnk + -2.0 * o[i * FGK_NV + v];
                if (k + i == 0) {
                    best[v] = dist;
                } else {
                    fgk_vl m = dist < best[v];  /* strict: the first wins */
                    best[v] = fgk_select(m, dist, best[v]);
                    lab[v] = (kk & m) | (lab[v] & ~m);
                }
            }
        }
    }
    for (r = 0; r < nr; r++) {
        Py_ssize_t lr = (Py_ssize_t) lab[r / FGK_W][r % FGK_W];
        if (labels[r] != lr) {
            changed++;
            labels[r] = lr;
        }
        if (update) {
            double wr = w != NULL ? w[r] : 1.0;
            double *sk = sums + lr * d;
            counts[lr] += wr;
            for (j = 0; j < d; j++)
                sk[j] += xt[j * 16 + r] * wr;
        }
    }
    return changed;
}

/* k-means++ on one block: for each candidate t, m = min(max((|c_t|^2 -
 * 2 x.c_t) + xs, 0), cl); part[t] (16 rows' running sums, a lane per row,
 * added in block order) += w m; update (T = 1): cl = m; keep (or NULL):
 * keep[t][r] = m, the rows' closest distances should candidate t be chosen
 * (the seeding's next round takes them instead of a pass over X). */
static void fastgmm_kpp_block(const double *xt, Py_ssize_t nr, Py_ssize_t d,
                              Py_ssize_t T, const double *cands, const double *cn,
                              const double *xs, double *cl, const double *w,
                              int update, double *part, double *const *keep,
                              Py_ssize_t at)
{
    double mb[16];
    double xsb[16], clb[16], wb[16];
    const fgk_vd zero = {0};
    fgk_vd o[FGK_NV * FGK_CPB];
    Py_ssize_t t, i, r, v;
    for (r = 0; r < 16; r++) {
        xsb[r] = r < nr ? xs[r] : 0.0;
        clb[r] = r < nr ? cl[r] : 0.0;
        wb[r] = r < nr ? (w != NULL ? w[r] : 1.0) : 0.0;
    }
    for (t = 0; t < T; t += FGK_CPB) {
        fgk_block_dots(xt, d, cands, t, T, o);
        for (i = 0; i < FGK_CPB && t + i < T; i++) {
            fgk_vd cnt = fgk_splat(cn[t + i]);
            for (v = 0; v < FGK_NV; v++) {
                double *pt = part + (t + i) * 16 + v * FGK_W;
                fgk_vd m = (cnt + -2.0 * o[i * FGK_NV + v]) + fgk_load(xsb + v * FGK_W);
                fgk_vd cv = fgk_load(clb + v * FGK_W);
                m = fgk_select(m > zero, m, zero);
                m = fgk_select(m < cv, m, cv);
                fgk_store(pt, fgk_load(pt) + fgk_load(wb + v * FGK_W) * m);
                if (update)
                    fgk_store(clb + v * FGK_W, m);
                if (keep != NULL)
                    fgk_store(mb + v * FGK_W, m);
            }
            if (keep != NULL)
                memcpy(keep[t + i] + at, mb, nr * sizeof(double));
        }
    }
    if (update)
        for (r = 0; r < nr; r++)
            cl[r] = clb[r];
}
/* NumPy's einsum of two contiguous double vectors: its
 * sum_of_products_contig_contig_outstride0_two (einsum_sumprod.c.src), the
 * kernel of np.einsum("ij,ij->i") per row and of np.einsum("i,i->"). W lanes
 * (1: its scalar loop without SIMD), four vectors a step multiply-added into
 * one vector accumulator (fused or not, as NumPy's build does it), the tail
 * loaded with zeros, the lanes added as its npyv_sum_f64, then added to the
 * output's 0. Which W and fusion this NumPy takes is found at run time by
 * comparison with np.einsum itself (`em.kmeans`); a NumPy that matches no
 * variant keeps the NumPy path. */
#include <math.h>
#define FGK_MAD(a, b, c) (fused ? fma((a), (b), (c)) : (a) * (b) + (c))

static FASTGMM_NO_CONTRACT double fgk_einsum_dot(const double *a, const double *b,
                                                 Py_ssize_t n, int W, int fused)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, ab3, ab2, ab1, av, bv, accum = 0.0;
    Py_ssize_t l;
    if (W <= 1) {
        for (; n >= 4; n -= 4, a += 4, b += 4)
            accum += ((a[0] * b[0] + a[1] * b[1]) + a[2] * b[2]) + a[3] * b[3];
        for (; n > 0; n--, a++, b++)
            accum += *a * *b;
        return 0.0 + accum;
    }
    for (; n >= 4 * W; n -= 4 * W, a += 4 * W, b += 4 * W)
        for (l = 0; l < W; l++) {
            ab3 = FGK_MAD(a[3 * W + l], b[3 * W + l], acc[l]);
            ab2 = FGK_MAD(a[2 * W + l], b[2 * W + l], ab3);
            ab1 = FGK_MAD(a[W + l], b[W + l], ab2);
            acc[l] = FGK_MAD(a[l], b[l], ab1);
        }
    for (; n > 0; n -= W, a += W, b += W)
        for (l = 0; l < W; l++) {
            av = l < n ? a[l] : 0.0;
            bv = l < n ? b[l] : 0.0;
            acc[l] = FGK_MAD(av, bv, acc[l]);
        }
    if (W == 2)
        accum = acc[0] + acc[1];
    else if (W == 4)  /* AVX2: hadd, then the halves */
        accum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    else  /* AVX-512: _mm512_reduce_add_pd, halves down to one */
        accum = ((acc[0] + acc[4]) + (acc[2] + acc[6]))
                + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    return 0.0 + accum;
}

/* part[j] = x[j] * x[j] + part[j]: np.einsum("ij,ij->j") on one row (its
 * sum_of_products_contig_two, lane by lane) */
static FASTGMM_NO_CONTRACT void fgk_einsum_squares(const double *x, Py_ssize_t d,
                                                   int fused, double *part)
{
    Py_ssize_t j;
    for (j = 0; j < d; j++)
        part[j] = FGK_MAD(x[j], x[j], part[j]);
}
#undef FGK_MAD
/* out[t] = a[0][t] + a[1][t] + ... in row order: NumPy's a.sum(axis=0) of a
 * C-contiguous (P, T) array (a reduction along a non-contiguous axis) */
static FASTGMM_NO_CONTRACT void fgk_sum_rows(const double *a, Py_ssize_t P, Py_ssize_t T,
                                             double *out)
{
    Py_ssize_t p, t;
    for (t = 0; t < T; t++)
        out[t] = a[t];
    for (p = 1; p < P; p++)
        for (t = 0; t < T; t++)
            out[t] = out[t] + a[p * T + t];
}

/* out[j] = the sum of column j in row order, from its first value: NumPy's
 * X.sum(axis=0, dtype=float64) for n >= 1 rows of d >= 2 features (d = 1 is a
 * contiguous, pairwise sum) */
#define FGK_COLUMN_SUMS(NAME, T)                                                   \
static FASTGMM_NO_CONTRACT void NAME(const T *X, Py_ssize_t n, Py_ssize_t d,       \
                                     double *out)                                  \
{                                                                                  \
    Py_ssize_t i, j;                                                               \
    for (j = 0; j < d; j++)                                                        \
        out[j] = (double) X[j];                                                    \
    for (i = 1; i < n; i++) {                                                      \
        const T *row = X + i * d;                                                  \
        for (j = 0; j < d; j++)                                                    \
            out[j] = out[j] + (double) row[j];                                     \
    }                                                                              \
}
FGK_COLUMN_SUMS(fgk_column_sums_d, double)
FGK_COLUMN_SUMS(fgk_column_sums_f, float)
#endif
