# The declarations every role module of the Cython backend shares: the C of
# the kernels' headers (fastgmm/kernels/*.h) as Cython sees it, the dtypes,
# the kinds of covariance and the tile size. Declarations only: no module is
# imported at run time for them. `_tiles.pyx` checks at import that the
# constants agree with fastgmm.kernels._common, the Python side (the Numba
# backend, which has no C, reads its own).

cdef extern from "_exp.h" nogil:
    double exp_nonpositive "fastgmm_exp_nonpositive"(double x)
    double log_at_least_one "fastgmm_log_at_least_one"(double x)
    double log1p_scaled "fastgmm_log1p_scaled"(double delta, double nu, double inv_nu,
                                               double log_inv_nu, double* g)
    double log1p_small "fastgmm_log1p_small"(double t, double* g)
    double BIG_T "FASTGMM_BIG_T"
    int FASTGMM_OPENMP
    int fastgmm_max_threads()

cdef extern from "_small_d.h" nogil:
    enum:
        TILE "FASTGMM_TILE"  # rows per tile: _common.TILE
    # the dispatchers: (size, x, nb, K, d, ...): size is d for the copies per
    # d, K for the row-major 'diag' tiles; 1 when done, 0 when not taken
    int FASTGMM_ROW_BLOCK
    int FASTGMM_SMALL_D
    int FASTGMM_FEW_K
    int fastgmm_small_d_off
    int fastgmm_logp_full_small(Py_ssize_t size, const double* x, Py_ssize_t nb,
                                Py_ssize_t K, Py_ssize_t d, const double* c,
                                const double* means, const double* U, double* logp)
    int fastgmm_stats_full_small(Py_ssize_t size, const double* x, Py_ssize_t nb,
                                 Py_ssize_t K, Py_ssize_t d, const double* means,
                                 const double* wr, double* s1, double* s2)
    int fastgmm_logp_diag_small(Py_ssize_t size, const double* x, Py_ssize_t nb,
                                Py_ssize_t K, Py_ssize_t d, const double* c,
                                const double* means, const double* U, double* logp)
    int fastgmm_stats_diag_small(Py_ssize_t size, const double* x, Py_ssize_t nb,
                                 Py_ssize_t K, Py_ssize_t d, const double* means,
                                 const double* wr, double* s1, double* s2)
    int fastgmm_logp_diag_rows(Py_ssize_t size, const double* x, Py_ssize_t nb,
                               Py_ssize_t K, Py_ssize_t d, const double* c,
                               const double* means, const double* U, double* logp)
    int fastgmm_stats_diag_rows(Py_ssize_t size, const double* x, Py_ssize_t nb,
                                Py_ssize_t K, Py_ssize_t d, const double* means,
                                const double* wr, double* s1, double* s2)
    int fastgmm_logp_diag_rows_f(Py_ssize_t size, const float* x, Py_ssize_t nb,
                                 Py_ssize_t K, Py_ssize_t d, const double* c,
                                 const double* means, const double* U, double* logp)
    int fastgmm_stats_diag_rows_f(Py_ssize_t size, const float* x, Py_ssize_t nb,
                                  Py_ssize_t K, Py_ssize_t d, const double* means,
                                  const double* wr, double* s1, double* s2)

cdef extern from "_kmeans.h" nogil:
    void fastgmm_cumsum_search(const double* closest, const double* w, Py_ssize_t n,
                               const double* targets, const Py_ssize_t* order,
                               Py_ssize_t T, Py_ssize_t* picked)
    void fgk_block_d(const double* X, Py_ssize_t d, const double* offset,
                     Py_ssize_t i, Py_ssize_t nr, double* xt)
    void fgk_block_f(const float* X, Py_ssize_t d, const double* offset,
                     Py_ssize_t i, Py_ssize_t nr, double* xt)
    Py_ssize_t fastgmm_km_block(const double* xt, Py_ssize_t nr, Py_ssize_t d,
                                Py_ssize_t K, const double* centers, const double* cn,
                                const double* w, Py_ssize_t* labels, int update,
                                double* sums, double* counts)
    void fastgmm_kpp_block(const double* xt, Py_ssize_t nr, Py_ssize_t d,
                           Py_ssize_t T, const double* cands, const double* cn,
                           const double* xs, double* cl, const double* w, int update,
                           double* part, double* const* keep, Py_ssize_t at)
    double fgk_einsum_dot(const double* a, const double* b, Py_ssize_t n, int W,
                          int fused)
    void fgk_einsum_squares(const double* x, Py_ssize_t d, int fused, double* part)
    void fgk_sum_rows(const double* a, Py_ssize_t P, Py_ssize_t T, double* out)
    void fgk_column_sums_d(const double* X, Py_ssize_t n, Py_ssize_t d, double* out)
    void fgk_column_sums_f(const float* X, Py_ssize_t n, Py_ssize_t d, double* out)

cdef extern from "_mstep.h" nogil:
    # the kinds, defined here once: FULL, TIED, DIAG are the kinds of pass of
    # the drivers' switch (the values of _common.KIND: 'spherical' runs as
    # DIAG); the M-step and the constants take 'spherical' apart
    enum:
        FULL "FGM_FULL"
        TIED "FGM_TIED"
        DIAG "FGM_DIAG"
        FGM_FULL
        FGM_TIED
        FGM_DIAG
        FGM_SPHERICAL
    double fgm_sum(const double* a, Py_ssize_t n, Py_ssize_t stride)
    void fgm_mirror_upper(Py_ssize_t K, Py_ssize_t d, double* s2)
    void fgm_m_step(int kind, Py_ssize_t K, Py_ssize_t d, const double* nk_in,
                    const double* s1, const double* s2, const double* centers,
                    double reg, double eps10, double total_weight, double* nk,
                    double* delta, double* weights, double* means, double* cov)
    Py_ssize_t fgm_factor_variances(Py_ssize_t n, const double* cov, double* U)
    void fgm_constants(int kind, Py_ssize_t K, Py_ssize_t d, const double* weights,
                       const double* U, double half_d_log_2pi, double* c, double* tmp)

cdef extern from "_orientation.h" nogil:
    Py_ssize_t fgm_common_orientation(Py_ssize_t k, Py_ssize_t d, const double* w,
                                      const double* S, double* D, int equal_volume,
                                      Py_ssize_t max_sweeps, double tol, double* M,
                                      double* a)

cdef extern from "_full_tiles.h" nogil:
    void fastgmm_full_dist_f(const float* z, Py_ssize_t dp, Py_ssize_t nb,
                             const float* U, float* dist)
    void fastgmm_full_dist_d(const double* z, Py_ssize_t dp, Py_ssize_t nb,
                             const double* U, double* dist)
    void fastgmm_full_scatter_f(const float* wz, const float* z, Py_ssize_t dp,
                                Py_ssize_t nb, float* G)
    void fastgmm_full_scatter_d(const double* wz, const double* z, Py_ssize_t dp,
                                Py_ssize_t nb, double* G)
    void fastgmm_full_weigh_f(const float* z, Py_ssize_t dp, Py_ssize_t nb,
                              const double* r, float* wz, double* t1)
    void fastgmm_full_weigh_d(const double* z, Py_ssize_t dp, Py_ssize_t nb,
                              const double* r, double* wz, double* t1)

ctypedef fused floating:
    float
    double

ctypedef fused floating_out:
    float
    double


cdef inline Py_ssize_t _whole(Py_ssize_t nb) noexcept nogil:
    """nb rounded up to whole vectors of rows (FASTGMM_ROW_BLOCK, 16): a loop
    over a tile's rows runs to here, and the compiler, which can see that the
    count is a multiple of 16, emits no scalar remainder: every row goes
    through the same vector code, whatever its place in the tile (the rule of
    docs/design.md, "A row's bits"). TILE is a multiple of 16, so the buffers
    hold these rows; their values are never used."""
    return (nb + (FASTGMM_ROW_BLOCK - 1)) & ~(<Py_ssize_t> (FASTGMM_ROW_BLOCK - 1))

