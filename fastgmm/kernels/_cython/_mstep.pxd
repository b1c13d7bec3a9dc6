# What `_mstep.pyx` lends the one-call EM run (`_em.pyx`, which cimports it
# relatively: the `_mstep` of its own CPU variant).

cdef int _kind_of(str covariance_type) except -1
cdef Py_ssize_t _factor_size(int kind, Py_ssize_t K, Py_ssize_t d) except -1
cdef Py_ssize_t _factor_full(Py_ssize_t K, Py_ssize_t d, const double* cov, double* U,
                             double* a) noexcept nogil
