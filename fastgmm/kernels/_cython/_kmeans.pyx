# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The Cython backend's k-means: the passes of the 'kmeans' and 'k-means++'
initializations (`fastgmm.em.kmeans`) and the statistics of hard labels
(`labelled_partitions`, `fastgmm.em.init`), partitions in parallel with
OpenMP (``prange``); the norms, the mean, Lloyd's loop and the k-means++
seeding in whole calls. The distance loops are C (``_kmeans.h``).
"""

from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

from ._kernels cimport *
from ._tiles cimport _u_size

__all__ = ["kmeans_partitions", "kpp_partitions", "kpp_pick", "einsum_dots",
           "einsum_dot", "kmeans_norms", "column_mean", "kpp_loop", "lloyd_loop",
           "labelled_partitions"]


# --- k-means (the 'kmeans' and 'k-means++' initializations) ------------------------
#
# scikit-learn's formulas, evaluated in its order where that decides a
# comparison: a squared distance is |c|^2 - 2 x.c (Lloyd) or
# (|c|^2 - 2 x.c) + |x|^2 clipped at 0 (k-means++), x.c one chain of
# multiply-adds in feature order (`_kmeans.h`), as a BLAS product's inner loop
# adds it; the norms come from the caller (NumPy's einsum, as scikit-learn's
# row_norms). Rows are X - offset (the data centred on their mean for
# 'kmeans'), made in float64 sixteen rows at a time: nothing the size of X
# is allocated. Centres are (k, d) rows in the offset's coordinates.


cdef inline void _km_block(const floating* X, Py_ssize_t d, const double* offset,
                           Py_ssize_t i, Py_ssize_t nr, double* xt) noexcept nogil:
    if floating is double:
        fgk_block_d(X, d, offset, i, nr, xt)
    else:
        fgk_block_f(X, d, offset, i, nr, xt)


cdef Py_ssize_t _km_range(const floating* X, Py_ssize_t d, Py_ssize_t K,
                          const double* offset, const double* centers, const double* cn,
                          const double* w, bint weighted, Py_ssize_t start,
                          Py_ssize_t stop, Py_ssize_t* labels, bint update,
                          double* sums, double* counts, int* failed) noexcept nogil:
    """Label rows start..stop; with ``update`` add their weights and weighted
    (centred) rows to their centre's counts and sums. Returns how many
    labels changed."""
    cdef double* xt = <double*> malloc(16 * d * sizeof(double))
    cdef Py_ssize_t i, nr, changed = 0
    if xt == NULL:
        failed[0] = 1
        return 0
    i = start
    while i < stop:
        nr = min(16, stop - i)
        _km_block(X, d, offset, i, nr, xt)
        changed += fastgmm_km_block(xt, nr, d, K, centers, cn,
                                    w + i if weighted else NULL, labels + i, update,
                                    sums, counts)
        i += nr
    free(xt)
    return changed


def _check_bounds(const Py_ssize_t[::1] bounds, Py_ssize_t n):
    cdef Py_ssize_t p, n_parts = bounds.shape[0] - 1
    if n_parts < 1 or bounds[0] != 0 or bounds[n_parts] != n:
        raise ValueError("kernel: bounds must run from 0 to n_samples")
    for p in range(n_parts):
        if bounds[p + 1] < bounds[p]:
            raise ValueError("kernel: bounds must not decrease")
    return n_parts


def _check_centres(Py_ssize_t d, Py_ssize_t K, const double[::1] offset,
                   const double[::1] centers, const double[::1] cn):
    if d < 1 or K < 1:
        raise ValueError("kernel: need at least one centre and one feature")
    if cn.shape[0] != K or centers.shape[0] != K * d or offset.shape[0] != d:
        raise ValueError("kernel: offset and centres must have n_features columns")


def kmeans_partitions(
    const floating[:, ::1] X,       # IN (n, d)
    const double[::1] offset,       # IN (d,) subtracted from every row
    const double[::1] centers,      # IN (k*d,) in the offset's coordinates
    const double[::1] cn,           # IN (k,) |c_k|^2
    const double[::1] w,            # IN (n,) sample weights, or (0,): all 1
    const Py_ssize_t[::1] bounds,   # IN (P + 1,) row bounds, 0 to n
    Py_ssize_t[::1] labels,         # IN/OUT (n,) the previous labels -> the new
    double[:, ::1] sums,            # OUT (P, k*d) weighted centred rows per label
    double[:, ::1] counts,          # OUT (P, k) weight per label
    Py_ssize_t[::1] changed,        # OUT (P,) labels changed per partition
    bint update,                    # sums and counts too (else labels only)
    int n_threads,
):
    """One Lloyd step, partition by partition: labels, and (``update``) each
    partition's sums and counts per label (zeroed here first)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = cn.shape[0], p
    cdef Py_ssize_t n_parts = _check_bounds(bounds, n)
    cdef bint weighted = w.shape[0] > 0
    cdef int failed = 0
    _check_centres(d, K, offset, centers, cn)
    if (weighted and w.shape[0] != n) or labels.shape[0] != n:
        raise ValueError("kernel: weights and labels must have one value per row")
    if (sums.shape[0] != n_parts or sums.shape[1] != K * d or counts.shape[0] != n_parts
            or counts.shape[1] != K or changed.shape[0] != n_parts):
        raise ValueError("kernel: partial sums have the wrong shape")
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")
    sums[:, :] = 0.0
    counts[:, :] = 0.0
    changed[:] = 0
    if n == 0:
        return
    cdef const double* w_ptr = &w[0] if weighted else NULL
    with nogil, parallel(num_threads=n_threads):
        for p in prange(n_parts, schedule="static"):
            changed[p] = _km_range(&X[0, 0], d, K, &offset[0], &centers[0], &cn[0],
                                   w_ptr, weighted, bounds[p], bounds[p + 1],
                                   &labels[0], update, &sums[p, 0], &counts[p, 0],
                                   &failed)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's buffers")


cdef void _kpp_range(const floating* X, Py_ssize_t d, Py_ssize_t T,
                     const double* offset, const double* xsq, const double* cands,
                     const double* cn, double* closest, const double* w,
                     bint weighted, Py_ssize_t start, Py_ssize_t stop, bint update,
                     double* pots, double* const* keep, int* failed) noexcept nogil:
    """k-means++ on rows start..stop. The squared distance to candidate t is
    max((|c_t|^2 - 2 x.c_t) + |x|^2, 0); pots[t] += w min(closest, it).
    ``update`` (T = 1): closest = min(closest, distance) as well. ``keep``
    (T rows of n, or NULL): keep[t][i] = min(closest, distance to t)."""
    cdef double* xt = <double*> malloc(16 * d * sizeof(double))
    cdef double* part = <double*> calloc(16 * T, sizeof(double))
    cdef Py_ssize_t i, nr, t, r
    cdef double total
    if xt == NULL or part == NULL:
        failed[0] = 1
        free(xt)
        free(part)
        return
    i = start
    while i < stop:
        nr = min(16, stop - i)
        _km_block(X, d, offset, i, nr, xt)
        fastgmm_kpp_block(xt, nr, d, T, cands, cn, xsq + i, closest + i,
                          w + i if weighted else NULL, update, part, keep, i)
        i += nr
    for t in range(T):
        total = 0.0
        for r in range(16):
            total = total + part[t * 16 + r]
        pots[t] += total
    free(xt)
    free(part)


def kpp_partitions(
    const floating[:, ::1] X,       # IN (n, d)
    const double[::1] offset,       # IN (d,)
    const double[::1] xsq,          # IN (n,) |x - offset|^2
    const double[::1] cands,        # IN (T*d,) candidate centres, offset coordinates
    const double[::1] cn,           # IN (T,) their |c|^2
    double[::1] closest,            # IN (n,) squared distance to the nearest centre
                                    # (OUT too with update)
    const double[::1] w,            # IN (n,) or (0,)
    const Py_ssize_t[::1] bounds,   # IN (P + 1,)
    double[:, ::1] pots,            # OUT (P, T) sum of w min(closest, dist_t)
    bint update,                    # T == 1: closest = min(closest, dist)
    int n_threads,
):
    """The potential of each k-means++ candidate, partition by partition."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], T = cn.shape[0], p
    cdef Py_ssize_t n_parts = _check_bounds(bounds, n)
    cdef bint weighted = w.shape[0] > 0
    cdef int failed = 0
    _check_centres(d, T, offset, cands, cn)
    if ((weighted and w.shape[0] != n) or xsq.shape[0] != n
            or closest.shape[0] != n):
        raise ValueError("kernel: weights, norms and distances need one value per row")
    if pots.shape[0] != n_parts or pots.shape[1] != T:
        raise ValueError("kernel: partial potentials have the wrong shape")
    if update and T != 1:
        raise ValueError("kernel: update takes one candidate")
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")
    pots[:, :] = 0.0
    if n == 0:
        return
    cdef const double* w_ptr = &w[0] if weighted else NULL
    with nogil, parallel(num_threads=n_threads):
        for p in prange(n_parts, schedule="static"):
            _kpp_range(&X[0, 0], d, T, &offset[0], &xsq[0], &cands[0], &cn[0],
                       &closest[0], w_ptr, weighted, bounds[p], bounds[p + 1], update,
                       &pots[p, 0], NULL, &failed)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's buffers")


def kpp_pick(const double[::1] closest, const double[::1] w,
             const double[::1] targets, const Py_ssize_t[::1] order,
             Py_ssize_t[::1] picked):
    """picked[t] = the first i with cumsum(w * closest)[i] >= targets[t]
    (NumPy's searchsorted on NumPy's cumsum: the products rounded, then added
    in row order), or n when none; ``order`` sorts the targets."""
    cdef Py_ssize_t n = closest.shape[0], T = targets.shape[0], t
    cdef bint weighted = w.shape[0] > 0
    if (weighted and w.shape[0] != n) or order.shape[0] != T or picked.shape[0] != T:
        raise ValueError("kernel: kpp_pick's arrays have the wrong shapes")
    for t in range(T):
        if order[t] < 0 or order[t] >= T:
            raise ValueError("kernel: order must index the targets")
        picked[t] = n
    if n == 0 or T == 0:
        return
    with nogil:
        fastgmm_cumsum_search(&closest[0], &w[0] if weighted else NULL, n, &targets[0],
                              &order[0], T, &picked[0])


# --- k-means in whole calls: the norms, the mean, the k-means++ seeding --------------
#
# What `em.kmeans` computes with NumPy between the passes, in C with the GIL
# released: the rows' norms as np.einsum("ij,ij->i") adds them (its kernel in
# `fgk_einsum_dot`, in the variant this NumPy takes, found at run time), the
# features' sums of squares as np.einsum("ij,ij->j") per chunk of rows, the
# mean as X.mean(axis=0), and the whole k-means++ seeding loop (draws given):
# the bits of the NumPy path (tests/em/test_kmeans_calls.py).


def einsum_dots(const double[:, ::1] a, double[::1] out, int W, int fused):
    """out[i] = np.einsum("ij,ij->i", a, a)[i] in variant (W lanes, fused)."""
    cdef Py_ssize_t n = a.shape[0], d = a.shape[1], i
    if out.shape[0] != n or d < 1:
        raise ValueError("kernel: einsum_dots needs one output per row, d >= 1")
    for i in range(n):
        out[i] = fgk_einsum_dot(&a[i, 0], &a[i, 0], d, W, fused)


def einsum_dot(const double[::1] a, const double[::1] b, int W, int fused):
    """np.einsum("i,i->", a, b) in variant (W lanes, fused)."""
    if a.shape[0] != b.shape[0] or a.shape[0] < 1:
        raise ValueError("kernel: einsum_dot needs two vectors of one length >= 1")
    return fgk_einsum_dot(&a[0], &b[0], a.shape[0], W, fused)


cdef inline void _centred_row(const floating* X, Py_ssize_t d, const double* offset,
                              Py_ssize_t i, double* out) noexcept nogil:
    """X[i] - offset in float64, a NaN (missing) entry 0: `_Rows.centred`."""
    cdef Py_ssize_t j
    cdef double v
    cdef const floating* row = X + i * d
    for j in range(d):
        v = <double> row[j] - offset[j]
        out[j] = v if v == v else 0.0


cdef void _norms_chunk(const floating* X, Py_ssize_t d, const double* offset,
                       Py_ssize_t start, Py_ssize_t stop, int W, int fused,
                       double* norms, double* part, int* failed) noexcept nogil:
    # one feature: the chunk is one contiguous column, which np.einsum
    # ("ij,ij->j") adds as a dot product
    cdef Py_ssize_t size = d if d > 1 else stop - start
    cdef double* buf = <double*> malloc(max(size, 1) * sizeof(double))
    cdef Py_ssize_t i
    if buf == NULL:
        failed[0] = 1
        return
    for i in range(start, stop):
        if d > 1:
            _centred_row(X, d, offset, i, buf)
            norms[i] = fgk_einsum_dot(buf, buf, d, W, fused)
            fgk_einsum_squares(buf, d, fused, part)
        else:
            _centred_row(X, 1, offset, i, buf + i - start)
            norms[i] = fgk_einsum_dot(buf + i - start, buf + i - start, 1, W, fused)
    if d == 1 and stop > start:
        part[0] = fgk_einsum_dot(buf, buf, stop - start, W, fused)
    free(buf)


def kmeans_norms(
    const floating[:, ::1] X,       # IN (n, d)
    const double[::1] offset,       # IN (d,)
    double[::1] norms,              # OUT (n,) |x - offset|^2
    double[::1] squares,            # OUT (d,) sums of (x - offset)^2 over rows
    Py_ssize_t chunk,               # the NumPy path's chunk of rows
    int W, int fused,               # the einsum variant
    int n_threads,
):
    """`_Rows.squared_norms` in one call: the norms row by row, the squares
    chunk by chunk (each from zero, added in row order), the chunks' sums
    added in chunk order from zero."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], c, j
    cdef Py_ssize_t n_chunks
    cdef int failed = 0
    if d < 1 or offset.shape[0] != d or squares.shape[0] != d or norms.shape[0] != n:
        raise ValueError("kernel: kmeans_norms' arrays have the wrong shapes")
    if chunk < 1 or n_threads < 1:
        raise ValueError("kernel: chunk and n_threads must be >= 1")
    squares[:] = 0.0
    if n == 0:
        return
    n_chunks = (n + chunk - 1) // chunk
    cdef double* parts = <double*> calloc(n_chunks * d, sizeof(double))
    if parts == NULL:
        raise MemoryError("fastgmm: cannot allocate the norms' partial sums")
    with nogil:
        for c in prange(n_chunks, schedule="static", num_threads=n_threads):
            _norms_chunk(&X[0, 0], d, &offset[0], c * chunk, min(n, (c + 1) * chunk),
                         W, fused, &norms[0], parts + c * d, &failed)
        # `squares += part` chunk by chunk from 0: parts[0] + parts[1] + ...
        # (a sum of squares is not -0, so 0 + parts[0] is parts[0])
        fgk_sum_rows(parts, n_chunks, d, &squares[0])
    free(parts)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the norms' buffers")


def column_mean(const floating[:, ::1] X, double[::1] out):
    """X.mean(axis=0, dtype=np.float64) for n >= 1 rows and d >= 2 features."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], j
    if n < 1 or d < 2 or out.shape[0] != d:
        raise ValueError("kernel: column_mean needs n >= 1 rows, d >= 2 features")
    with nogil:
        if floating is double:
            fgk_column_sums_d(&X[0, 0], n, d, &out[0])
        else:
            fgk_column_sums_f(&X[0, 0], n, d, &out[0])
        for j in range(d):
            out[j] = out[j] / <double> n


cdef int _kpp_pass(const floating* X, Py_ssize_t d, Py_ssize_t T, const double* offset,
                   const double* xsq, const double* cands, const double* cn,
                   double* closest, const double* w_ptr, bint weighted,
                   const Py_ssize_t* bounds, Py_ssize_t n_parts, bint update,
                   double* pots, double* const* keep, int n_threads) noexcept nogil:
    """`kpp_partitions` without the GIL (``keep``: `_kpp_range`'s): returns
    1 when a buffer failed."""
    cdef int failed = 0
    cdef Py_ssize_t p
    memset(pots, 0, n_parts * T * sizeof(double))
    for p in prange(n_parts, schedule="static", num_threads=n_threads):
        _kpp_range(X, d, T, offset, xsq, cands, cn, closest, w_ptr, weighted,
                   bounds[p], bounds[p + 1], update, pots + p * T, keep, &failed)
    return failed


cdef inline bint _before(double a, double b) noexcept nogil:
    """a sorts before b in np.argsort (NaN last)."""
    return a < b or (b != b and a == a)


def kpp_loop(
    const floating[:, ::1] X,       # IN (n, d)
    const double[::1] offset,       # IN (d,)
    const double[::1] xsq,          # IN (n,) |x - offset|^2 (`kmeans_norms`)
    const double[::1] w,            # IN (n,) or (0,)
    const Py_ssize_t[::1] bounds,   # IN (P + 1,)
    const double[:, ::1] draws,     # IN (k - 1, T) the uniform draws of the trials
    Py_ssize_t[::1] indices,        # IN [0] the first centre; OUT (k,) the seeds
    double[::1] closest,            # work (n,)
    double[:, ::1] keep,            # work (T, n), or (0, n): see below
    int n_threads,
):
    """`em.kmeans.kmeans_plusplus` from its first centre on, in one call:
    each round the targets (draws times the potential), their rows by the
    cumulative sum, the candidates' potentials (partitions summed in order),
    the best (the first of equals), the distances to it. A candidate's norm is
    its row's in ``xsq`` (np.einsum gives a row the same bits alone or in an
    array). With ``keep`` (T rows), the candidates' pass keeps each one's
    min(closest, distance) and the best one's become the closest distances:
    one read of X per round instead of two, the same bits."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = indices.shape[0]
    cdef Py_ssize_t T = draws.shape[1], n_parts = _check_bounds(bounds, n)
    cdef Py_ssize_t c, t, i, j, best, key, first
    cdef bint weighted = w.shape[0] > 0
    cdef double current
    cdef int failed = 0
    if K < 1 or draws.shape[0] != K - 1 or (K > 1 and T < 1):
        raise ValueError("kernel: draws must be (n_clusters - 1, trials)")
    if (weighted and w.shape[0] != n) or xsq.shape[0] != n or closest.shape[0] != n:
        raise ValueError("kernel: weights, norms and distances need one value per row")
    if keep.shape[0] not in (0, T) or keep.shape[1] != n:
        raise ValueError("kernel: keep must be (trials, n) or (0, n)")
    if d < 1 or offset.shape[0] != d:
        raise ValueError("kernel: offset must have n_features values")
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")
    first = indices[0]
    if first < 0 or first >= n:
        raise ValueError("kernel: the first centre must index a row")
    if K == 1:
        return
    cdef double* buf = <double*> malloc(((T + 1) * d + 4 * T + (n_parts + 1) * T)
                                        * sizeof(double))
    cdef Py_ssize_t* ibuf = <Py_ssize_t*> malloc(3 * T * sizeof(Py_ssize_t))
    # the kept rows, T + 1 slots: the T candidates' and the closest distances
    cdef double** slots = <double**> malloc((T + 1) * sizeof(double*))
    cdef double* swap
    cdef bint keeping = keep.shape[0] == T and n > 0
    if buf == NULL or ibuf == NULL or slots == NULL:
        free(buf)
        free(ibuf)
        free(slots)
        raise MemoryError("fastgmm: cannot allocate the seeding's buffers")
    for t in range(T):
        slots[t] = &keep[t, 0] if keeping else NULL
    slots[T] = &closest[0]
    cdef double* cands = buf                 # (T, d)
    cdef double* chosen = cands + T * d      # (d,) the centre added last
    cdef double* cn = chosen + d             # (T,)
    cdef double* targets = cn + T            # (T,)
    cdef double* cpots = targets + T         # (T,)
    cdef double* cn1 = cpots + T             # (T,): [0] the chosen centre's norm
    cdef double* pots = cn1 + T              # (P, T)
    cdef Py_ssize_t* order = ibuf
    cdef Py_ssize_t* picked = ibuf + T
    cdef Py_ssize_t* cidx = ibuf + 2 * T
    cdef const double* w_ptr = &w[0] if weighted else NULL
    with nogil:
        _centred_row(&X[0, 0], d, &offset[0], first, chosen)
        cn1[0] = xsq[first]
        for i in range(n):
            closest[i] = INFINITY
        failed |= _kpp_pass(&X[0, 0], d, 1, &offset[0], &xsq[0], chosen, cn1,
                            slots[T], w_ptr, weighted, &bounds[0], n_parts, True,
                            pots, NULL, n_threads)
        # pot1[0, 0], or pot1.sum() (NumPy's add.reduce)
        current = pots[0] if n_parts == 1 else fgm_sum(pots, n_parts, 1)
        for c in range(1, K):
            for t in range(T):
                targets[t] = draws[c - 1, t] * current
            # np.argsort(targets, kind="stable"): an insertion sort
            for t in range(T):
                key = t
                j = t
                while j > 0 and _before(targets[key], targets[order[j - 1]]):
                    order[j] = order[j - 1]
                    j -= 1
                order[j] = key
                picked[t] = n
            fastgmm_cumsum_search(slots[T], w_ptr, n, targets, order, T, picked)
            for t in range(T):
                cidx[t] = min(picked[t], n - 1)
                _centred_row(&X[0, 0], d, &offset[0], cidx[t], cands + t * d)
                cn[t] = xsq[cidx[t]]
            failed |= _kpp_pass(&X[0, 0], d, T, &offset[0], &xsq[0], cands, cn,
                                slots[T], w_ptr, weighted, &bounds[0], n_parts,
                                False, pots,
                                slots if keeping and c < K - 1 else NULL, n_threads)
            fgk_sum_rows(pots, n_parts, T, cpots)
            # argmin: the first of the least (the first NaN, as NumPy)
            best = 0
            for t in range(T):
                if cpots[t] != cpots[t]:
                    best = t
                    break
                if cpots[t] < cpots[best]:
                    best = t
            indices[c] = cidx[best]
            current = cpots[best]
            if c < K - 1 and keeping:  # the best one's distances, kept
                swap = slots[T]
                slots[T] = slots[best]
                slots[best] = swap
            elif c < K - 1:  # (the last round's distances are not used)
                memcpy(chosen, cands + best * d, d * sizeof(double))
                cn1[0] = cn[best]
                failed |= _kpp_pass(&X[0, 0], d, 1, &offset[0], &xsq[0], chosen, cn1,
                                    slots[T], w_ptr, weighted, &bounds[0], n_parts,
                                    True, pots, NULL, n_threads)
    free(buf)
    free(ibuf)
    free(slots)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's buffers")


cdef int _km_pass(const floating* X, Py_ssize_t d, Py_ssize_t K, const double* offset,
                  const double* centers, const double* cn, const double* w_ptr,
                  bint weighted, const Py_ssize_t* bounds, Py_ssize_t n_parts,
                  Py_ssize_t* labels, bint update, double* sums, double* counts,
                  Py_ssize_t* changed, int n_threads) noexcept nogil:
    """`kmeans_partitions` without the GIL: returns 1 when a buffer failed."""
    cdef int failed = 0
    cdef Py_ssize_t p
    memset(sums, 0, n_parts * K * d * sizeof(double))
    memset(counts, 0, n_parts * K * sizeof(double))
    for p in prange(n_parts, schedule="static", num_threads=n_threads):
        changed[p] = _km_range(X, d, K, offset, centers, cn, w_ptr, weighted,
                               bounds[p], bounds[p + 1], labels, update,
                               sums + p * K * d, counts + p * K, &failed)
    return failed


def lloyd_loop(
    const floating[:, ::1] X,       # IN (n, d)
    const double[::1] offset,       # IN (d,)
    double[::1] centers,            # IN/OUT (k*d,) in the offset's coordinates
    const double[::1] w,            # IN (n,) or (0,)
    const Py_ssize_t[::1] bounds,   # IN (P + 1,)
    Py_ssize_t[::1] labels,         # IN/OUT (n,)
    double[:, ::1] sums,            # OUT (P, k*d) the last pass's partial sums
    double[:, ::1] counts,          # OUT (P, k)
    Py_ssize_t[::1] changed,        # OUT (P,)
    Py_ssize_t max_iter,
    double tol,                     # the squared shift at which Lloyd stops
    int W, int fused,               # the einsum variant (`em.kmeans.numpy_variant`)
    int n_threads,
):
    """`em.kmeans._lloyd` in one call, while no cluster is empty. Returns
    (stopped, n_iter): stopped, the labels are final and ``centers`` the
    last; else pass n_iter left a cluster empty, its partials are in
    sums/counts/changed and ``centers`` are the ones it used (the NumPy
    path relocates and goes on)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K, n_parts = _check_bounds(bounds, n)
    cdef Py_ssize_t it, k, j, total, n_iter = 0
    cdef bint weighted = w.shape[0] > 0, strict = False, stopped = True
    cdef double r, shift
    cdef int failed = 0
    if d < 1 or offset.shape[0] != d or centers.shape[0] % d or centers.shape[0] < d:
        raise ValueError("kernel: centres must be (k, n_features)")
    K = centers.shape[0] // d
    if (weighted and w.shape[0] != n) or labels.shape[0] != n:
        raise ValueError("kernel: weights and labels must have one value per row")
    if (sums.shape[0] != n_parts or sums.shape[1] != K * d or counts.shape[0] != n_parts
            or counts.shape[1] != K or changed.shape[0] != n_parts):
        raise ValueError("kernel: partial sums have the wrong shape")
    if max_iter < 1 or n_threads < 1:
        raise ValueError("kernel: max_iter and n_threads must be >= 1")
    if n == 0:
        raise ValueError("kernel: no rows")
    cdef double* buf = <double*> malloc((3 * K * d + 2 * K) * sizeof(double))
    if buf == NULL:
        raise MemoryError("fastgmm: cannot allocate Lloyd's buffers")
    cdef double* new = buf
    cdef double* diff = new + K * d
    cdef double* cn = diff + K * d
    cdef double* weight = cn + K
    cdef const double* w_ptr = &w[0] if weighted else NULL
    with nogil:
        for it in range(1, max_iter + 1):
            n_iter = it
            for k in range(K):
                cn[k] = fgk_einsum_dot(&centers[k * d], &centers[k * d], d, W, fused)
            failed |= _km_pass(&X[0, 0], d, K, &offset[0], &centers[0], cn, w_ptr,
                               weighted, &bounds[0], n_parts, &labels[0], True,
                               &sums[0, 0], &counts[0, 0], &changed[0], n_threads)
            fgk_sum_rows(&sums[0, 0], n_parts, K * d, new)
            fgk_sum_rows(&counts[0, 0], n_parts, K, weight)
            for k in range(K):
                if not weight[k] > 0:
                    stopped = False
            if not stopped:
                break
            for k in range(K):  # scikit-learn's *= 1 / weight
                r = 1.0 / weight[k]
                for j in range(d):
                    new[k * d + j] = new[k * d + j] * r
            for j in range(K * d):
                diff[j] = new[j] - centers[j]
            shift = fgk_einsum_dot(diff, diff, K * d, W, fused)
            memcpy(&centers[0], new, K * d * sizeof(double))
            total = 0
            for j in range(n_parts):
                total += changed[j]
            if it > 1 and total == 0:
                strict = True
                break
            if shift <= tol:
                break
        if stopped and not strict:
            for k in range(K):
                cn[k] = fgk_einsum_dot(&centers[k * d], &centers[k * d], d, W, fused)
            failed |= _km_pass(&X[0, 0], d, K, &offset[0], &centers[0], cn, w_ptr,
                               weighted, &bounds[0], n_parts, &labels[0], False,
                               &sums[0, 0], &counts[0, 0], &changed[0], n_threads)
    free(buf)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's buffers")
    return bool(stopped), n_iter


cdef void _labelled_range(const floating* X, Py_ssize_t d, const double* w, bint weighted,
                          const Py_ssize_t* labels, const double* centers,
                          const double* fill, int kind, Py_ssize_t start,
                          Py_ssize_t stop, double* nk, double* s1, double* s2,
                          int* failed) noexcept nogil:
    cdef Py_ssize_t i, j, l, lab
    cdef double wi, wj, x
    cdef const floating* row
    cdef double* base
    cdef double* diff = <double*> malloc(d * sizeof(double))
    if diff == NULL:
        failed[0] = 1
        return
    for i in range(start, stop):
        lab = labels[i]
        if lab < 0:
            continue
        wi = w[i] if weighted else 1.0
        nk[lab] += wi
        row = X + i * d
        for j in range(d):
            x = <double> row[j]
            if fill != NULL and x != x:  # a missing entry: its fill value
                x = fill[j]
            diff[j] = x - centers[lab * d + j]
            s1[lab * d + j] += wi * diff[j]
        if kind == FULL or kind == TIED:
            base = s2 + (lab * d * d if kind == FULL else 0)
            for j in range(d):
                wj = wi * diff[j]
                for l in range(d):
                    base[j * d + l] += wj * diff[l]
        elif kind == DIAG:
            for j in range(d):
                s2[lab * d + j] += wi * diff[j] * diff[j]
    free(diff)


def labelled_partitions(
    const floating[:, ::1] X,       # IN (n, d)
    const double[::1] w,            # IN (n,) or (0,): all 1
    const Py_ssize_t[::1] labels,   # IN (n,) the component of each row, -1: none
    const double[::1] centers,      # IN (k*d,) the statistics' centres
    const Py_ssize_t[::1] bounds,   # IN (P + 1,)
    double[:, ::1] nk,              # OUT (P, k) weights per label
    double[:, ::1] s1,              # OUT (P, k*d) sum w (x - c)
    double[:, ::1] s2,              # OUT (P, |S2|) sum w (x - c)(x - c)^T by kind
    int kind,                       # FULL, TIED, DIAG, or -1: nk and s1 only
    int n_threads,
    const double[::1] fill=None,    # IN (d,) the value of a NaN entry, or None
):
    """The statistics of hard assignments (one M-step on labels), partition
    by partition: each row counts for its label alone. With ``fill``, a NaN
    entry of X (a missing value) counts as its feature's fill value."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = nk.shape[1], p, i
    cdef Py_ssize_t n_parts = _check_bounds(bounds, n)
    cdef bint weighted = w.shape[0] > 0
    cdef int failed = 0
    if d < 1 or K < 1 or centers.shape[0] != K * d:
        raise ValueError("kernel: centres must be (n_components, n_features)")
    if (weighted and w.shape[0] != n) or labels.shape[0] != n:
        raise ValueError("kernel: weights and labels must have one value per row")
    if kind not in (-1, FULL, TIED, DIAG):
        raise ValueError(f"kernel: unknown covariance kind {kind}")
    if fill is not None and fill.shape[0] != d:
        raise ValueError("kernel: fill must have n_features values")
    if (nk.shape[0] != n_parts or s1.shape[0] != n_parts or s2.shape[0] != n_parts
            or s1.shape[1] != K * d
            or (kind >= 0 and s2.shape[1] != _u_size(kind, K, d))):
        raise ValueError("kernel: partial statistics have the wrong shape")
    for i in range(n):
        if labels[i] < -1 or labels[i] >= K:
            raise ValueError("kernel: labels must be -1 or a component")
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")
    nk[:, :] = 0.0
    s1[:, :] = 0.0
    s2[:, :] = 0.0
    if n == 0:
        return
    cdef const double* w_ptr = &w[0] if weighted else NULL
    cdef const double* fill_ptr = &fill[0] if fill is not None else NULL
    with nogil, parallel(num_threads=n_threads):
        for p in prange(n_parts, schedule="static"):
            _labelled_range(&X[0, 0], d, w_ptr, weighted, &labels[0], &centers[0],
                            fill_ptr, kind,
                            bounds[p], bounds[p + 1], &nk[p, 0], &s1[p, 0], &s2[p, 0],
                            &failed)
    if failed:
        raise MemoryError("fastgmm: cannot allocate the kernel's buffers")
