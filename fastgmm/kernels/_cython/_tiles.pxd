# What `_tiles.pyx` lends the other role modules (the fused pass's BLAS
# tiles and its driver, the posterior, the EM run, k-means, the M-step): the
# steps of a tile, its log-probabilities, and the row-range workers of the
# direct loops. Each module cimports them relatively (``from ._tiles
# cimport``), so it calls the `_tiles` of its own CPU variant.

from ._kernels cimport floating

cdef void _load_tile(const floating* X, Py_ssize_t d, const double* w, bint weighted,
                     Py_ssize_t start, Py_ssize_t nb, const double* fill,
                     double* xt) noexcept nogil
cdef void _load_weights(const double* w, bint weighted, Py_ssize_t start,
                        Py_ssize_t nb, double* wt) noexcept nogil
cdef void _pad_rows(double* logp, Py_ssize_t K, Py_ssize_t nb) noexcept nogil
cdef void _row_max(const double* logp, Py_ssize_t K, Py_ssize_t nb,
                   double* top) noexcept nogil
cdef void _exp_shifted(double* logp, Py_ssize_t K, Py_ssize_t nb,
                       const double* top, double* total) noexcept nogil
cdef void _log_norm(const double* top, const double* total, Py_ssize_t nb,
                    double* lse) noexcept nogil
cdef double _responsibilities(double* logp, Py_ssize_t n_components, Py_ssize_t nb,
                              const double* w, double* top,
                              double* total) noexcept nogil

cdef void _logp_full(const double* xt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                     const double* c, const double* means, const double* U,
                     double* logp, double* diff, double* y) noexcept nogil
cdef void _logp_diag(const double* xt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                     const double* c, const double* means, const double* U,
                     double* logp) noexcept nogil
cdef void _logp_tied(const double* xt, Py_ssize_t nb, Py_ssize_t d, Py_ssize_t K,
                     const double* c, const double* U, const double* center,
                     const double* shifted_u, double* logp,
                     double* y0) noexcept nogil
cdef void _add_counts(const double* wr, Py_ssize_t nb, Py_ssize_t K,
                      double* nk, double* tile) noexcept nogil

# the Student-t pass's steps of a tile (``dof`` NULL: the Gaussian pass)
cdef double* _student_zeros(const double* dof, Py_ssize_t K) noexcept nogil
cdef double* _student_buffer(const double* dof, Py_ssize_t K) noexcept nogil
cdef void _student_logp(double* logp, Py_ssize_t K, Py_ssize_t nb, Py_ssize_t d,
                        const double* c, const double* dof, double* u,
                        double* logu, bint keep) noexcept nogil
cdef void _student_weights(double* wr, Py_ssize_t K, Py_ssize_t nb, const double* u,
                           const double* logu, double* nr,
                           double* tlu) noexcept nogil
cdef void _row_totals(const double* wr, Py_ssize_t K, Py_ssize_t nb,
                      double* wt) noexcept nogil

cdef double _range(const floating* X, Py_ssize_t d, Py_ssize_t K, int kind,
                   const double* w, bint weighted, const double* c,
                   const double* means, const double* U, const double* center,
                   const double* shifted, const double* shifted_u, Py_ssize_t start,
                   Py_ssize_t stop, double* nk, double* s1, double* s2, double* cc,
                   double ll, int* failed, const double* dof, double* nr,
                   double* tlu) noexcept nogil

cdef void _rows_minus(const floating* X, Py_ssize_t d, const double* w,
                      bint weighted, Py_ssize_t start, Py_ssize_t nb,
                      const floating* vec, floating* out,
                      Py_ssize_t ld) noexcept nogil
cdef void _load_full_tile(const floating* X, Py_ssize_t d, Py_ssize_t dp,
                          const double* w, bint weighted, Py_ssize_t start,
                          Py_ssize_t nb, const floating* mean,
                          floating* z) noexcept nogil
cdef void _full_tiles_factors(Py_ssize_t d, Py_ssize_t K, Py_ssize_t dp,
                              const double* means, const double* U,
                              floating* means_x, floating* up) noexcept nogil
cdef double _range_full_tiles(const floating* X, Py_ssize_t d, Py_ssize_t K,
                              const double* w, bint weighted, const double* c,
                              const double* means, const double* U,
                              Py_ssize_t start, Py_ssize_t stop, double* nk,
                              double* s1, double* s2, double ll, int* failed,
                              const double* dof, double* nr,
                              double* tlu) noexcept nogil

cdef bint _diag_rows(int kind, Py_ssize_t d, Py_ssize_t K) noexcept nogil
cdef double _range_diag_rows(const floating* X, Py_ssize_t d, Py_ssize_t K,
                             const double* w, bint weighted, const double* c,
                             const double* means, const double* U, Py_ssize_t start,
                             Py_ssize_t stop, double* nk, double* s1, double* s2,
                             double ll, int* failed, const double* dof, double* nr,
                             double* tlu) noexcept nogil

cdef Py_ssize_t _u_size(int kind, Py_ssize_t K, Py_ssize_t d) except -1
cdef int _check_params(Py_ssize_t d, Py_ssize_t K, int kind, bint use_blas, means, U,
                       center, shifted_u) except -1
