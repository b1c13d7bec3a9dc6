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

/* log1p(t) for t = delta * inv_nu, delta >= 0 (inf -> inf); log_inv_nu =
 * log(inv_nu): the Student-t pass's log1p(delta / nu). The same method as
 * _numba.log1p_scaled (its first result): log_at_least_one's on y = 1 + t =
 * 2^e m, m in [sqrt(2)/2, sqrt(2)), with f = m - 1 taken from t itself,
 * f = t 2^-e + (2^-e - 1) (t when e = 0), so that the rounding of y does not
 * enter (2^-e comes from y's bits: reassociation finds nothing to fold).
 * For t > 2^60 (where t may overflow) it is log(delta) + log(inv_nu), the
 * same steps on delta. No libm call: loops over it vectorize. */
static inline double fastgmm_log1p_scaled(double delta, double inv_nu,
                                          double log_inv_nu)
{
    const double shifter = 6755399441055744.0;
    const double sqrt2 = 1.4142135623730951;
    const double ln2 = 0.6931471805599453;
    const double big_t = 1152921504606846976.0; /* 2^60 */
    int64_t bits, e, a_bits, shifter_bits;
    double t, y, v, m, a, f, f_t, e_double, s, z, z2, z4, q0, q1, q2, tt, r;
    int big, high;

    t = delta * inv_nu;
    y = 1.0 + t;
    big = t > big_t;
    v = big ? delta : y;
    memcpy(&bits, &v, sizeof bits);
    e = (bits >> 52) - 1023;
    bits = (bits & 0xFFFFFFFFFFFFFLL) | 0x3FF0000000000000LL;
    memcpy(&m, &bits, sizeof m);
    high = m > sqrt2;
    m = high ? m * 0.5 : m;
    e = high ? e + 1 : e;
    a_bits = ((1023 - e) & 0x7FF) << 52; /* 2^-e (0 <= e <= 61 when not big) */
    memcpy(&a, &a_bits, sizeof a);
    f_t = e == 0 ? t : t * a + (a - 1.0);
    f = big ? m - 1.0 : f_t;
    memcpy(&shifter_bits, &shifter, sizeof shifter_bits);
    e = e + shifter_bits;
    memcpy(&tt, &e, sizeof tt);
    e_double = tt - shifter;
    s = f / (2.0 + f);
    z = s * s;
    z2 = z * z;
    z4 = z2 * z2;
    q0 = (2.0 + (2.0 / 3.0) * z) + (2.0 / 5.0 + (2.0 / 7.0) * z) * z2;
    q1 = (2.0 / 9.0 + (2.0 / 11.0) * z) + (2.0 / 13.0 + (2.0 / 15.0) * z) * z2;
    q2 = (2.0 / 17.0 + (2.0 / 19.0) * z) + (2.0 / 21.0 + (2.0 / 23.0) * z) * z2;
    r = (e_double * ln2 + s * (q0 + (q1 + q2 * z4) * z4)) + (big ? log_inv_nu : 0.0);
    return v < INFINITY ? r : INFINITY;
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
