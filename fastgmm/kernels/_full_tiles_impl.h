/* One dtype's loops of _full_tiles.h (included once per dtype: FT the
 * scalar, FV its 32-byte vector, FVU the same unaligned, FL its lanes). */

/* dist[b] += |(z_b U)[v0 FL : (v0 + C) FL]|^2 for b < nb, four rows at a
 * time, with (z U)_l = sum_{j <= l} z_j U_jl: column vector v takes the rows
 * j < (v + 1) FL (in the diagonal block of the second vector only that one
 * runs: four chains of additions) */
FASTGMM_FT_INLINE void FNAME(fastgmm_dist_chunk)(const int C, const FT *restrict z,
                                               ptrdiff_t dp, ptrdiff_t nb,
                                               const FT *restrict U,
                                               ptrdiff_t v0, FT *restrict dist)
{
    for (ptrdiff_t b = 0; b < nb; b += 4) {
        const FT *zr[4] = {z + b * dp, z + (b + 1) * dp, z + (b + 2) * dp,
                           z + (b + 3) * dp};
        FV acc[4][2];
        FASTGMM_FT_UNROLL
        for (int r = 0; r < 4; r++) {
            FASTGMM_FT_UNROLL
            for (int c = 0; c < C; c++)
                acc[r][c] = (FV){0};
        }
        for (ptrdiff_t j = 0; j < (v0 + 1) * FL; j++) {
            const FT *u = U + j * dp + v0 * FL;
            FV uv[2];
            FASTGMM_FT_UNROLL
            for (int c = 0; c < C; c++)
                uv[c] = *(const FVU *)(u + c * FL);
            FASTGMM_FT_UNROLL
            for (int r = 0; r < 4; r++) {
                const FT s = zr[r][j];
                FASTGMM_FT_UNROLL
                for (int c = 0; c < C; c++)
                    acc[r][c] += s * uv[c];
            }
        }
        if (C == 2) {
            for (ptrdiff_t j = (v0 + 1) * FL; j < (v0 + 2) * FL; j++) {
                const FV uv = *(const FVU *)(U + j * dp + (v0 + 1) * FL);
                FASTGMM_FT_UNROLL
                for (int r = 0; r < 4; r++)
                    acc[r][1] += zr[r][j] * uv;
            }
        }
        FASTGMM_FT_UNROLL
        for (int r = 0; r < 4; r++) {
            FV e = acc[r][0] * acc[r][0];
            if (C == 2)
                e += acc[r][1] * acc[r][1];
            FT t = 0;
            for (int l = 0; l < FL; l++)
                t += e[l];
            dist[b + r] += t;
        }
    }
}

/* dist[b] = |z_b U|^2 for b < nb rounded up to 4 (U upper triangular,
 * dp x dp; the tile's rows up to there defined) */
static void FNAME(fastgmm_full_dist)(const FT *restrict z, ptrdiff_t dp, ptrdiff_t nb,
                                     const FT *restrict U, FT *restrict dist)
{
    const ptrdiff_t V = dp / FL;
    for (ptrdiff_t b = 0; b < (nb + 3) / 4 * 4; b++)
        dist[b] = 0;
    for (ptrdiff_t v0 = 0; v0 < V; v0 += 2) {
        if (V - v0 >= 2)
            FNAME(fastgmm_dist_chunk)(2, z, dp, nb, U, v0, dist);
        else
            FNAME(fastgmm_dist_chunk)(1, z, dp, nb, U, v0, dist);
    }
}

/* wz[b, j] = r_b z[b, j] in FT and t1[j] = sum_b r_b z[b, j] in double, for
 * W columns from j0 (accumulators in registers) */
FASTGMM_FT_INLINE void FNAME(fastgmm_weigh_chunk)(const int W, const FT *restrict z,
                                                ptrdiff_t dp, ptrdiff_t nb,
                                                const double *restrict r,
                                                ptrdiff_t j0, FT *restrict wz,
                                                double *restrict t1)
{
    double acc[16];
    FASTGMM_FT_UNROLL
    for (int j = 0; j < W; j++)
        acc[j] = 0.0;
    for (ptrdiff_t b = 0; b < nb; b++) {
        const double rb = r[b];
        const FT rx = (FT)rb;
        const FT *zb = z + b * dp + j0;
        FT *wb = wz + b * dp + j0;
        _Pragma("GCC unroll 16")
        for (int j = 0; j < W; j++) {
            wb[j] = rx * zb[j];
            acc[j] += rb * (double)zb[j];
        }
    }
    FASTGMM_FT_UNROLL
    for (int j = 0; j < W; j++)
        t1[j0 + j] = acc[j];
}

/* wz = r z (rows scaled) and t1 = sum_b r_b z_b (double), for b < nb */
static void FNAME(fastgmm_full_weigh)(const FT *restrict z, ptrdiff_t dp, ptrdiff_t nb,
                                      const double *restrict r, FT *restrict wz,
                                      double *restrict t1)
{
    ptrdiff_t j0 = 0;
    for (; dp - j0 >= 16; j0 += 16)
        FNAME(fastgmm_weigh_chunk)(16, z, dp, nb, r, j0, wz, t1);
    if (dp - j0 >= 8) {
        FNAME(fastgmm_weigh_chunk)(8, z, dp, nb, r, j0, wz, t1);
        j0 += 8;
    }
    if (dp - j0 >= 4)
        FNAME(fastgmm_weigh_chunk)(4, z, dp, nb, r, j0, wz, t1);
}

/* G[j, l] += sum_{b0 <= b < b1} wz[b, j] z[b, l] for the C column vectors
 * from v0 and the rows j < (v0 + C) FL (so every j <= l of those columns) */
FASTGMM_FT_INLINE void FNAME(fastgmm_scatter_chunk)(const int C, const FT *restrict wz,
                                                  const FT *restrict z, ptrdiff_t dp,
                                                  ptrdiff_t b0, ptrdiff_t b1,
                                                  ptrdiff_t v0, FT *restrict G)
{
    for (ptrdiff_t j = 0; j < (v0 + C) * FL; j += 4) {
        FV acc[4][2];
        FASTGMM_FT_UNROLL
        for (int r = 0; r < 4; r++) {
            FASTGMM_FT_UNROLL
            for (int c = 0; c < C; c++)
                acc[r][c] = *(const FVU *)(G + (j + r) * dp + (v0 + c) * FL);
        }
        for (ptrdiff_t b = b0; b < b1; b++) {
            const FT *zb = z + b * dp + v0 * FL, *wb = wz + b * dp + j;
            FV zv[2];
            FASTGMM_FT_UNROLL
            for (int c = 0; c < C; c++)
                zv[c] = *(const FVU *)(zb + c * FL);
            FASTGMM_FT_UNROLL
            for (int r = 0; r < 4; r++) {
                const FT s = wb[r];
                FASTGMM_FT_UNROLL
                for (int c = 0; c < C; c++)
                    acc[r][c] += s * zv[c];
            }
        }
        FASTGMM_FT_UNROLL
        for (int r = 0; r < 4; r++) {
            FASTGMM_FT_UNROLL
            for (int c = 0; c < C; c++)
                *(FVU *)(G + (j + r) * dp + (v0 + c) * FL) = acc[r][c];
        }
    }
}

/* G's upper triangle (by whole vectors; dp x dp row-major) = wz^T z, over
 * blocks of 64 rows (the blocks of z and wz stay in the first-level cache) */
static void FNAME(fastgmm_full_scatter)(const FT *restrict wz, const FT *restrict z,
                                        ptrdiff_t dp, ptrdiff_t nb, FT *restrict G)
{
    const ptrdiff_t V = dp / FL;
    for (ptrdiff_t i = 0; i < dp * dp; i++)
        G[i] = 0;
    for (ptrdiff_t b0 = 0; b0 < nb; b0 += 64) {
        const ptrdiff_t b1 = nb - b0 < 64 ? nb : b0 + 64;
        for (ptrdiff_t v0 = 0; v0 < V; v0 += 2) {
            if (V - v0 >= 2)
                FNAME(fastgmm_scatter_chunk)(2, wz, z, dp, b0, b1, v0, G);
            else
                FNAME(fastgmm_scatter_chunk)(1, wz, z, dp, b0, b1, v0, G);
        }
    }
}
