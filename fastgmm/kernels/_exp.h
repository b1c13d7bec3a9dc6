/* exp(x) for x <= 0, vectorizable, for fastgmm's Cython kernels.
 *
 * The same method as fastgmm.kernels._numba.exp_nonpositive: n = round(x/ln2),
 * r = x - n ln2 (Cody-Waite), exp(r) by its Taylor polynomial of degree 13
 * (|r| <= ln2/2: below 1 ulp; Estrin's scheme), 2^n built in the exponent bits. No libm call,
 * so loops over it vectorize. Rounding uses floor(), which stays exact when
 * the compiler may reassociate (-fassociative-math); n + 1.5*2^52 is exact
 * for integral n, and its bits give n.
 * Below -708 it returns 0 (np.exp gives subnormals down to -745): a
 * responsibility that underflows is exactly 0, as it should be, not 3e-308.
 */
#ifndef FASTGMM_EXP_H
#define FASTGMM_EXP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline double fastgmm_exp_nonpositive(double x_in)
{
    const double log2e = 1.4426950408889634;
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    const double shifter = 6755399441055744.0; /* 1.5 * 2^52 */
    double n, r, r2, r4, s0, s1, s2, s3, p, t, scale;
    int64_t bits, shifter_bits;

    double x = x_in > -708.0 ? x_in : -708.0; /* keeps 2^n a normal number */
    n = floor(x * log2e + 0.5);
    r = (x - n * ln2_hi) - n * ln2_lo;
    /* Estrin's scheme: a dependency chain of 4 instead of 13 (Horner) */
    r2 = r * r;
    r4 = r2 * r2;
    s0 = (1.0 + r) + (0.5 + r * (1.0 / 6.0)) * r2;
    s1 = (1.0 / 24.0 + r * (1.0 / 120.0)) + (1.0 / 720.0 + r * (1.0 / 5040.0)) * r2;
    s2 = (1.0 / 40320.0 + r * (1.0 / 362880.0))
         + (1.0 / 3628800.0 + r * (1.0 / 39916800.0)) * r2;
    s3 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
    p = (s0 + s1 * r4) + (s2 + s3 * r4) * (r4 * r4);
    t = n + shifter;
    memcpy(&bits, &t, sizeof bits);
    memcpy(&shifter_bits, &shifter, sizeof shifter_bits);
    bits = (bits - shifter_bits + 1023) << 52;
    memcpy(&scale, &bits, sizeof scale);
    return x_in >= -708.0 ? p * scale : 0.0; /* a select: still vectorizes */
}

/* log(x) for finite x >= 1 (a sum of exps whose largest term is 1), the same
 * method as _numba.log_at_least_one: x = 2^e m, m in [sqrt(2)/2, sqrt(2)),
 * log m = 2 atanh((m-1)/(m+1)) by its series (12 terms, Estrin). Within 2 ulp;
 * no libm call, so loops over it vectorize. e becomes a double through the
 * 1.5*2^52 trick: AVX2 has no int64 -> double conversion. */
static inline double fastgmm_log_at_least_one(double x)
{
    const double shifter = 6755399441055744.0;
    const double sqrt2 = 1.4142135623730951;
    const double ln2 = 0.6931471805599453;
    int64_t bits, e, shifter_bits;
    double m, e_double, f, s, z, z2, z4, q0, q1, q2, t;

    memcpy(&bits, &x, sizeof bits);
    e = (bits >> 52) - 1023;
    bits = (bits & 0xFFFFFFFFFFFFFLL) | 0x3FF0000000000000LL;
    memcpy(&m, &bits, sizeof m);
    if (m > sqrt2) {
        m = m * 0.5;
        e = e + 1;
    }
    memcpy(&shifter_bits, &shifter, sizeof shifter_bits);
    e = e + shifter_bits;
    memcpy(&t, &e, sizeof t);
    e_double = t - shifter;
    f = m - 1.0;
    s = f / (2.0 + f);
    z = s * s;
    z2 = z * z;
    z4 = z2 * z2;
    q0 = (2.0 + (2.0 / 3.0) * z) + (2.0 / 5.0 + (2.0 / 7.0) * z) * z2;
    q1 = (2.0 / 9.0 + (2.0 / 11.0) * z) + (2.0 / 13.0 + (2.0 / 15.0) * z) * z2;
    q2 = (2.0 / 17.0 + (2.0 / 19.0) * z) + (2.0 / 21.0 + (2.0 / 23.0) * z) * z2;
    return e_double * ln2 + s * (q0 + (q1 + q2 * z4) * z4);
}

/* The Student-t pass's log1p (_numba.log1p_scaled has the same steps).
 *
 * log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f), with fdlibm's
 * minimax R (Lg1..Lg7; error below 2^-58.45 for |s| <= 0.1716, that is m =
 * 1 + f in [sqrt(2)/2, sqrt(2))). No libm call and one division: loops over
 * it vectorize. */
#define FASTGMM_LG1 6.666666666666735130e-01
#define FASTGMM_LG2 3.999999999940941908e-01
#define FASTGMM_LG3 2.857142874366239149e-01
#define FASTGMM_LG4 2.222219843214978396e-01
#define FASTGMM_LG5 1.818357216161805012e-01
#define FASTGMM_LG6 1.531383769920937332e-01
#define FASTGMM_LG7 1.479819860511658591e-01
#define FASTGMM_LN2_HI 6.93147180369123816490e-01
#define FASTGMM_LN2_LO 1.90821492927058770002e-10
/* t from here on takes the log(delta) + log(1/nu) branch (t may overflow;
 * fastgmm_log1p_small's steps are exact up to 2^1022) */
#define FASTGMM_BIG_T 1.0715086071862673e+301 /* 2^1000 */

/* e ln2 + log(1 + f) for m = 1 + f in [sqrt(2)/2, sqrt(2)), with
 * s = f / (2 + f) given. */
static inline double fastgmm_log_reduced(double e_double, double f, double s)
{
    double z = s * s, w = z * z;
    double t1 = w * (FASTGMM_LG2 + w * (FASTGMM_LG4 + w * FASTGMM_LG6));
    double t2 = z * (FASTGMM_LG1 + w * (FASTGMM_LG3 + w * (FASTGMM_LG5 + w * FASTGMM_LG7)));
    double hfsq = 0.5 * f * f;
    return e_double * FASTGMM_LN2_HI
           - ((hfsq - (s * (hfsq + (t1 + t2)) + e_double * FASTGMM_LN2_LO)) - f);
}

/* 2^-e as a double, for -1022 <= -e <= 1023 */
static inline double fastgmm_pow2_neg(int64_t e)
{
    int64_t bits = ((1023 - e) & 0x7FF) << 52;
    double a;
    memcpy(&a, &bits, sizeof a);
    return a;
}

/* e (as a double: the 1.5*2^52 trick, AVX2 has no int64 -> double) */
static inline double fastgmm_exponent_double(int64_t e)
{
    const double shifter = 6755399441055744.0;
    int64_t shifter_bits;
    double t;
    memcpy(&shifter_bits, &shifter, sizeof shifter_bits);
    e = e + shifter_bits;
    memcpy(&t, &e, sizeof t);
    return t - shifter;
}

/* log1p(t), and 1 / (1 + t) into *g, for 0 <= t <= 2^1000: on y = 1 + t =
 * 2^e m, m in [sqrt(2)/2, sqrt(2)), f = m - 1 is taken from t itself,
 * f = t 2^-e + (2^-e - 1) (exact; t when e = 0), so the rounding of y does
 * not enter (reassociation finds nothing to fold: 2^-e comes from y's
 * bits). s = f / (2 + f) and 1/y come from one reciprocal,
 * 1 / ((2 + f) y). */
static inline double fastgmm_log1p_small(double t, double* g)
{
    const double sqrt2 = 1.4142135623730951;
    int64_t bits, e;
    double y, m, a, f, two_f, rec;

    y = 1.0 + t;
    memcpy(&bits, &y, sizeof bits);
    e = (bits >> 52) - 1023;
    bits = (bits & 0xFFFFFFFFFFFFFLL) | 0x3FF0000000000000LL;
    memcpy(&m, &bits, sizeof m);
    e = m > sqrt2 ? e + 1 : e;
    a = fastgmm_pow2_neg(e); /* 0 <= e <= 1001: normal */
    /* (t itself when e = 0: -fassociative-math may compute the other form as
     * (t a + a) - 1, which loses t's digits; log1p(t) ~ t needs them) */
    f = e == 0 ? t : t * a + (a - 1.0);
    two_f = 2.0 + f;
    rec = 1.0 / (two_f * y); /* (2 + f) y <= 2.5 (2^1000 + 1): finite */
    *g = two_f * rec;
    return fastgmm_log_reduced(fastgmm_exponent_double(e), f, f * (y * rec));
}

/* log(delta) + log_inv_nu, and nu / delta into *g (= 1 / (1 + t) to within
 * 2^-1000 for t = delta / nu > 2^1000), for finite delta > 0: delta = 2^e m. */
static inline double fastgmm_log1p_big(double delta, double nu, double log_inv_nu,
                                       double* g)
{
    const double sqrt2 = 1.4142135623730951;
    int64_t bits, e, e1;
    double m, f, two_f, rec;
    int high;

    memcpy(&bits, &delta, sizeof bits);
    e = (bits >> 52) - 1023;
    bits = (bits & 0xFFFFFFFFFFFFFLL) | 0x3FF0000000000000LL;
    memcpy(&m, &bits, sizeof m);
    high = m > sqrt2;
    m = high ? m * 0.5 : m;
    e = high ? e + 1 : e;
    f = m - 1.0;
    two_f = 2.0 + f;
    rec = 1.0 / (two_f * m);
    e1 = e >> 1; /* 2^-e = 2^-e1 2^-(e - e1), both normal for e <= 1025 */
    *g = ((nu * (two_f * rec)) * fastgmm_pow2_neg(e1)) * fastgmm_pow2_neg(e - e1);
    return fastgmm_log_reduced(fastgmm_exponent_double(e), f, f * (m * rec))
           + log_inv_nu;
}

/* (log1p(t), and 1 / (1 + t) into *g) for t = delta * inv_nu, delta >= 0
 * (inf: inf and 0), inv_nu = 1/nu, log_inv_nu = log(inv_nu): for t <= 2^1000
 * `fastgmm_log1p_small` (the same bits as called alone), past it
 * `fastgmm_log1p_big`. */
static inline double fastgmm_log1p_scaled(double delta, double nu, double inv_nu,
                                          double log_inv_nu, double* g)
{
    double t = delta * inv_nu, g_small, g_big, small, big_value;
    int big = t > FASTGMM_BIG_T, finite = delta < INFINITY;

    small = fastgmm_log1p_small(big ? FASTGMM_BIG_T : t, &g_small);
    big_value = fastgmm_log1p_big(finite ? delta : 1.0, nu, log_inv_nu, &g_big);
    *g = finite ? (big ? g_big : g_small) : 0.0;
    return finite ? (big ? big_value : small) : INFINITY;
}

#ifdef _OPENMP
#include <omp.h>
#define FASTGMM_OPENMP 1
static inline int fastgmm_max_threads(void) { return omp_get_max_threads(); }
#else
#define FASTGMM_OPENMP 0
static inline int fastgmm_max_threads(void) { return 1; }
#endif

#endif
