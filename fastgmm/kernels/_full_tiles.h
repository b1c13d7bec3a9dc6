/* 'full' with a few dozen features: the two products of a tile per
 * component, (x - m_k) U_k and the scatter sum_b w_bk (x_b - m_k)(x_b - m_k)^T,
 * in X's dtype, with the triangles of U_k and of the scatter skipped by
 * whole vectors and the squared distance taken while (x - m_k) U_k is still
 * in registers; for fastgmm's Cython kernels (`_range_full_tiles`).
 *
 * On a tile of 256 rows and a few dozen features BLAS's trmm and syrk spend
 * much of their time packing and in edge cases, and one gemm with all the
 * components' factors side by side, though near BLAS's peak, does twice the
 * flops (benchmarks/NOTES.md, 2026-11-26). These loops are register blocks
 * of a matrix product (four rows by two vectors, for the distances and for
 * the scatter) without packing: the tile (nb x dp, row-major) and the
 * factor (dp x dp) stay in the first- and second-level caches, the scatter
 * taken over blocks of 64 rows.
 *
 * Layout: dp is the number of features rounded up to whole vectors, padded
 * with zeros (in the tile and in U_k); the distances take rows in fours
 * (the caller pads the tile with zero rows). Each row's distance is computed the
 * same way wherever the row sits in the tile; the scatter sums rows in order.
 */
#ifndef FASTGMM_FULL_TILES_H
#define FASTGMM_FULL_TILES_H

#include <stddef.h>

#if defined(__GNUC__)
#define FASTGMM_FT_INLINE static inline __attribute__((always_inline))
#define FASTGMM_FT_UNROLL _Pragma("GCC unroll 4")
#else
#define FASTGMM_FT_INLINE static inline
#define FASTGMM_FT_UNROLL
#endif

typedef float fastgmm_vf __attribute__((vector_size(32)));
typedef float fastgmm_vfu __attribute__((vector_size(32), aligned(4)));
typedef double fastgmm_vd __attribute__((vector_size(32)));
typedef double fastgmm_vdu __attribute__((vector_size(32), aligned(8)));

#define FT float
#define FV fastgmm_vf
#define FVU fastgmm_vfu
#define FL 8
#define FNAME(x) x##_f
#include "_full_tiles_impl.h"
#undef FT
#undef FV
#undef FVU
#undef FL
#undef FNAME

#define FT double
#define FV fastgmm_vd
#define FVU fastgmm_vdu
#define FL 4
#define FNAME(x) x##_d
#include "_full_tiles_impl.h"
#undef FT
#undef FV
#undef FVU
#undef FL
#undef FNAME

#endif
