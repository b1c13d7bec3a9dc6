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
 * in two vectors of 8 rows; four centres at a time: 8 independent chains of
 * multiply-adds. x.c is one chain in feature order per row and centre (with
 * FMA where the CPU has it; a BLAS kernel's inner loop adds the same way),
 * so the distances are the ones scikit-learn gets from its matrix products.
 * A row's lane holds nothing but that row: its results do not depend on
 * where it falls. Rows past the last are 0 and their results unused. A NaN
 * entry (a missing value, nan_policy='marginalize') is taken at the offset:
 * the caller centres such data on the values it fills them with. */
#include <string.h>

typedef double fgk_vd __attribute__((vector_size(64)));
typedef long long fgk_vl __attribute__((vector_size(64)));

static inline fgk_vd fgk_load(const double *p)
{
    fgk_vd v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void fgk_store(double *p, fgk_vd v)
{
    memcpy(p, &v, sizeof v);
}

static inline fgk_vd fgk_select(fgk_vl mask, fgk_vd yes, fgk_vd no)
{
    return (fgk_vd) (((fgk_vl) yes & mask) | ((fgk_vl) no & ~mask));
}

/* o[2i], o[2i+1]: rows 0-7, 8-15 of the block dotted with centre ci */
static inline __attribute__((always_inline)) void fgk_dots(
    const double *xt, Py_ssize_t d, const double *c0, const double *c1,
    const double *c2, const double *c3, fgk_vd *o)
{
    fgk_vd xa = fgk_load(xt), xb = fgk_load(xt + 8);
    fgk_vd a0 = xa * c0[0], b0 = xb * c0[0], a1 = xa * c1[0], b1 = xb * c1[0];
    fgk_vd a2 = xa * c2[0], b2 = xb * c2[0], a3 = xa * c3[0], b3 = xb * c3[0];
    Py_ssize_t j;
    for (j = 1; j < d; j++) {
        xa = fgk_load(xt + j * 16);
        xb = fgk_load(xt + j * 16 + 8);
        a0 = a0 + xa * c0[j];
        b0 = b0 + xb * c0[j];
        a1 = a1 + xa * c1[j];
        b1 = b1 + xb * c1[j];
        a2 = a2 + xa * c2[j];
        b2 = b2 + xb * c2[j];
        a3 = a3 + xa * c3[j];
        b3 = b3 + xb * c3[j];
    }
    o[0] = a0; o[1] = b0; o[2] = a1; o[3] = b1;
    o[4] = a2; o[5] = b2; o[6] = a3; o[7] = b3;
}

static inline const double *fgk_centre(const double *c, Py_ssize_t k, Py_ssize_t K,
                                       Py_ssize_t d)
{
    return c + (k < K ? k : K - 1) * d;
}

#define FGK_BLOCK_LOADER(NAME, T)                                                  \
static inline void NAME(const T *X, Py_ssize_t d, const double *offset,            \
                        Py_ssize_t i, Py_ssize_t nr, double *xt)                   \
{                                                                                  \
    Py_ssize_t r, j;                                                               \
    for (r = 0; r < nr; r++) {                                                     \
        const T *row = X + (i + r) * d;                                            \
        for (j = 0; j < d; j++) {                                                  \
            double v = (double) row[j] - offset[j];                                \
            xt[j * 16 + r] = v == v ? v : 0.0;  /* NaN: missing, at the offset */  \
        }                                                                          \
    }                                                                              \
    for (r = nr; r < 16; r++)                                                      \
        for (j = 0; j < d; j++)                                                    \
            xt[j * 16 + r] = 0.0;                                                  \
}
FGK_BLOCK_LOADER(fgk_block_d, double)
FGK_BLOCK_LOADER(fgk_block_f, float)

/* Lloyd on rows [start, stop): labels by |c|^2 - 2 x.c (the first of equals);
 * with update, counts[k] += w and sums[k] += w (x - offset) for the label k.
 * xt: 16 * d doubles of scratch. Returns how many labels changed. */
static Py_ssize_t fastgmm_km_block(const double *xt, Py_ssize_t nr, Py_ssize_t d,
                                   Py_ssize_t K, const double *centers,
                                   const double *cn, const double *w,
                                   Py_ssize_t *labels, int update, double *sums,
                                   double *counts)
{
    fgk_vd o[8], besta = {0}, bestb = {0};
    fgk_vl laba = {0}, labb = {0};
    Py_ssize_t k, i, r, j, changed = 0;
    for (k = 0; k < K; k += 4) {
        fgk_dots(xt, d, fgk_centre(centers, k, K, d), fgk_centre(centers, k + 1, K, d),
                 fgk_centre(centers, k + 2, K, d), fgk_centre(centers, k + 3, K, d), o);
        for (i = 0; i < 4 && k + i < K; i++) {
            fgk_vd da = cn[k + i] + -2.0 * o[2 * i];
            fgk_vd db = cn[k + i] + -2.0 * o[2 * i + 1];
            if (k + i == 0) {
                besta = da;
                bestb = db;
            } else {
                fgk_vl kk = laba - laba + (long long) (k + i);
                fgk_vl ma = da < besta, mb = db < bestb;  /* strict: first wins */
                besta = fgk_select(ma, da, besta);
                bestb = fgk_select(mb, db, bestb);
                laba = (kk & ma) | (laba & ~ma);
                labb = (kk & mb) | (labb & ~mb);
            }
        }
    }
    for (r = 0; r < nr; r++) {
        Py_ssize_t lab = (Py_ssize_t) (r < 8 ? laba[r] : labb[r - 8]);
        if (labels[r] != lab) {
            changed++;
            labels[r] = lab;
        }
        if (update) {
            double wr = w != NULL ? w[r] : 1.0;
            double *sk = sums + lab * d;
            counts[lab] += wr;
            for (j = 0; j < d; j++)
                sk[j] += xt[j * 16 + r] * wr;
        }
    }
    return changed;
}

/* k-means++ on one block: for each candidate t, m = min(max((|c_t|^2 -
 * 2 x.c_t) + xs, 0), cl); part[t] (two vectors of 8 rows' running sums,
 * added in block order) += w m; update (T = 1): cl = m. */
static void fastgmm_kpp_block(const double *xt, Py_ssize_t nr, Py_ssize_t d,
                              Py_ssize_t T, const double *cands, const double *cn,
                              const double *xs, double *cl, const double *w,
                              int update, double *part)
{
    double xsb[16], clb[16], wb[16];
    const fgk_vd zero = {0};
    fgk_vd o[8];
    Py_ssize_t t, i, r;
    for (r = 0; r < 16; r++) {
        xsb[r] = r < nr ? xs[r] : 0.0;
        clb[r] = r < nr ? cl[r] : 0.0;
        wb[r] = r < nr ? (w != NULL ? w[r] : 1.0) : 0.0;
    }
    for (t = 0; t < T; t += 4) {
        fgk_dots(xt, d, fgk_centre(cands, t, T, d), fgk_centre(cands, t + 1, T, d),
                 fgk_centre(cands, t + 2, T, d), fgk_centre(cands, t + 3, T, d), o);
        for (i = 0; i < 4 && t + i < T; i++) {
            fgk_vd da = (cn[t + i] + -2.0 * o[2 * i]) + fgk_load(xsb);
            fgk_vd db = (cn[t + i] + -2.0 * o[2 * i + 1]) + fgk_load(xsb + 8);
            fgk_vd ca = fgk_load(clb), cb = fgk_load(clb + 8);
            da = fgk_select(da > zero, da, zero);
            db = fgk_select(db > zero, db, zero);
            da = fgk_select(da < ca, da, ca);
            db = fgk_select(db < cb, db, cb);
            fgk_store(part + (t + i) * 16, fgk_load(part + (t + i) * 16)
                      + fgk_load(wb) * da);
            fgk_store(part + (t + i) * 16 + 8, fgk_load(part + (t + i) * 16 + 8)
                      + fgk_load(wb + 8) * db);
            if (update) {
                fgk_store(clb, da);
                fgk_store(clb + 8, db);
            }
        }
    }
    if (update)
        for (r = 0; r < nr; r++)
            cl[r] = clb[r];
}
#endif
