"""The Numba backend's k-means calls: those of the Cython extension
(`kernels/_cython.pyx`, `_kmeans.h`) with the same signatures and the same
bits, for `em.kmeans` and `em.init`.

- `kmeans_partitions` (one Lloyd step), `kpp_partitions` (k-means++
  candidates' potentials), `labelled_partitions` (the statistics of hard
  labels), `kmeans_norms` (the rows' squared norms and the features' sums of
  squares): partition by partition (chunk by chunk for the norms) on the
  backend's threads, each partition into its own slot, as Cython's
  ``prange``;
- `kpp_pick` (the draws' search in the running potential), `column_mean`,
  `einsum_dots` / `einsum_dot` (NumPy's einsum dot kernel in one variant);
- `kpp_loop` (the whole k-means++ seeding) and `lloyd_loop` (Lloyd's
  iterations while no cluster empties) in one compiled call each. Unlike
  Cython's, these run their passes on the calling thread alone (Numba's
  compiled code cannot hand work to the pool): `em.kmeans` takes them when a
  pass has one partition or one thread (`Backend.loops_on_threads`), and the
  per-round path on the threaded passes otherwise, with the same bits.

The arithmetic is the C's, operation for operation: a row's dot product with
a centre is one chain in feature order, x_0 c_0 then a multiply-add per
feature (fused where the CPU has FMA, `HOST_FMA`, as the extension's
x86-64-v3/v4 builds contract it; each product rounded otherwise); the squared
distance (|c|^2 - 2 x.c) (+ |x|^2 for k-means++); NumPy's einsum, cumsum and
sums over rows in their orders. Everything here is compiled without
fastmath (`_STRICT`), so LLVM keeps that order: rows are independent lanes,
which vectorize without reassociation.
"""

import numpy as np

from ._common import DIAG, FULL, TIED
import functools
import os

from . import _dispatch
from ._numba_base import _STRICT, HOST_FMA, fma, njit, pairwise, run_shares

# --- the extension's build, whose arithmetic these loops follow ----------------------

#: (fused, vector width, tuned for AMD) of each build of the extension
#: (`_dispatch.VARIANTS`): whether gcc contracted the multiply-adds (the
#: baseline build has no FMA), and how it reassociated the 16 lanes' sum of
#: k-means++'s potentials (`_lane_sum`); found by probing each build.
_BUILDS = {"x86-64-v4": (1, 4, 0), "x86-64-v3-amd": (1, 2, 1), "x86-64-v3": (1, 2, 0),
           "baseline": (0, 2, 0)}


def extension_build():
    """The arithmetic of the Cython build this process loads, or would load
    were it installed (`_dispatch.select`, FASTGMM_CPU_VARIANT honoured),
    as the compiled loops take it: (fused, vector width, AMD)."""
    return _build_for(os.environ.get(_dispatch.ENV_VARIANT, "").strip() or None,
                      _dispatch.cpu_vendor())


@functools.lru_cache(maxsize=8)
def _build_for(forced, vendor):
    features = _dispatch.cpu_features()
    try:
        name = _dispatch.select(features, _dispatch.installed(), forced, vendor).name
    except ImportError:  # none installed (or not that one): what this CPU takes
        try:
            name = _dispatch.select(features, _dispatch.VARIANTS, None, vendor).name
        except ImportError:  # pragma: no cover - the baseline fits any CPU
            name = "baseline"
    if name == "baseline" and _dispatch.built_with_native():  # -march=native
        return (int(HOST_FMA), 2, 0)
    return _BUILDS[name]


#: rows per block: a block of the distance loops, and of the partial
#: potentials of k-means++ (16 running sums per candidate, as `_kmeans.h`)
_BLOCK = 16


# --- NumPy's einsum dot kernel (`fgk_einsum_dot`) ------------------------------------


@njit(**_STRICT)
def _mad(a, b, c, fused):
    return fma(a, b, c) if fused else a * b + c


@njit(**_STRICT)
def _einsum_dot(a, ia, b, ib, n, W, fused):
    """np.einsum("i,i->", a[ia:ia+n], b[ib:ib+n]) in variant (W lanes, fused):
    NumPy's sum_of_products_contig_contig_outstride0_two (`_kmeans.h`)."""
    accum = 0.0
    if W <= 1:
        while n >= 4:
            accum += ((a[ia] * b[ib] + a[ia + 1] * b[ib + 1]) + a[ia + 2] * b[ib + 2]
                      ) + a[ia + 3] * b[ib + 3]
            n -= 4
            ia += 4
            ib += 4
        while n > 0:
            accum += a[ia] * b[ib]
            n -= 1
            ia += 1
            ib += 1
        return 0.0 + accum
    acc = np.zeros(8)
    while n >= 4 * W:
        for lane in range(W):
            ab3 = _mad(a[ia + 3 * W + lane], b[ib + 3 * W + lane], acc[lane], fused)
            ab2 = _mad(a[ia + 2 * W + lane], b[ib + 2 * W + lane], ab3, fused)
            ab1 = _mad(a[ia + W + lane], b[ib + W + lane], ab2, fused)
            acc[lane] = _mad(a[ia + lane], b[ib + lane], ab1, fused)
        n -= 4 * W
        ia += 4 * W
        ib += 4 * W
    while n > 0:
        for lane in range(W):
            av = a[ia + lane] if lane < n else 0.0
            bv = b[ib + lane] if lane < n else 0.0
            acc[lane] = _mad(av, bv, acc[lane], fused)
        n -= W
        ia += W
        ib += W
    if W == 2:
        accum = acc[0] + acc[1]
    elif W == 4:  # AVX2: hadd, then the halves
        accum = (acc[0] + acc[1]) + (acc[2] + acc[3])
    else:  # AVX-512: _mm512_reduce_add_pd, halves down to one
        accum = (((acc[0] + acc[4]) + (acc[2] + acc[6]))
                 + ((acc[1] + acc[5]) + (acc[3] + acc[7])))
    return 0.0 + accum


@njit(**_STRICT)
def _einsum_dots(a, out, W, fused):
    n, d = a.shape
    flat = a.reshape(n * d)
    for i in range(n):
        out[i] = _einsum_dot(flat, i * d, flat, i * d, d, W, fused)


@njit(**_STRICT)
def _einsum_dot_of(a, b, W, fused):
    return _einsum_dot(a, 0, b, 0, a.shape[0], W, fused)


# --- blocks of 16 rows, centred and transposed (`fgk_block_d`) ----------------------


@njit(**_STRICT)
def _load_block(X, offset, i, nr, xt):
    """xt[j, r] = X[i + r, j] - offset[j] in float64 (a NaN entry, missing:
    0, at the offset); rows past nr: 0."""
    d = X.shape[1]
    for r in range(nr):
        for j in range(d):
            v = np.float64(X[i + r, j]) - offset[j]
            xt[j, r] = v if v == v else 0.0
    for r in range(nr, _BLOCK):
        for j in range(d):
            xt[j, r] = 0.0


@njit(**_STRICT)
def _block_dots(xt, centres, k, acc, fused):
    """acc[r] = x_r . c_k, one chain in feature order (`fgk_dots`)."""
    d = xt.shape[0]
    c0 = centres[k, 0]
    for r in range(_BLOCK):
        acc[r] = xt[0, r] * c0
    for j in range(1, d):
        c = centres[k, j]
        for r in range(_BLOCK):
            acc[r] = _mad(xt[j, r], c, acc[r], fused)


@njit(**_STRICT)
def _km_range(X, offset, centres, cn, w, start, stop, labels, update, sums, counts,
              build):
    """Label rows start..stop by |c|^2 - 2 x.c (the first of equals); with
    ``update`` add their weights and weighted centred rows to their label's
    counts and sums (`fastgmm_km_block`). Returns how many labels changed."""
    d = X.shape[1]
    K = cn.shape[0]
    weighted = w.shape[0] > 0
    xt = np.empty((d, _BLOCK))
    acc = np.empty(_BLOCK)
    best = np.empty(_BLOCK)
    lab = np.zeros(_BLOCK, dtype=np.intp)
    changed = 0
    i = start
    while i < stop:
        nr = min(_BLOCK, stop - i)
        _load_block(X, offset, i, nr, xt)
        for k in range(K):
            _block_dots(xt, centres, k, acc, build[0])
            cnk = cn[k]
            for r in range(_BLOCK):
                dist = cnk + -2.0 * acc[r]
                if k == 0:
                    best[r] = dist
                    lab[r] = 0
                elif dist < best[r]:  # strict: the first wins
                    best[r] = dist
                    lab[r] = k
        for r in range(nr):
            lr = lab[r]
            if labels[i + r] != lr:
                changed += 1
                labels[i + r] = lr
            if update:
                wr = w[i + r] if weighted else 1.0
                counts[lr] += wr
                for j in range(d):
                    sums[lr, j] = _mad(xt[j, r], wr, sums[lr, j], build[0])
        i += nr
    return changed


@njit(**_STRICT)
def _km_share(X, offset, centres, cn, w, bounds, labels, sums, counts, changed, update,
              build, share, n_shares):
    K, d = centres.shape
    for p in range(share, bounds.shape[0] - 1, n_shares):
        changed[p] = _km_range(X, offset, centres, cn, w, bounds[p], bounds[p + 1],
                               labels, update, sums[p].reshape((K, d)),
                               counts[p], build)


@njit(**_STRICT)
def _kpp_range(X, offset, xsq, cands, cn, closest, w, start, stop, update, pots,
               keep, build):
    """k-means++ on rows start..stop: the squared distance to candidate t is
    max((|c_t|^2 + |x|^2) - 2 x.c_t, 0); pots[t] += the sum of w min(closest,
    it), 16 running sums per candidate (a lane per row of a block) added in
    lane order. ``update`` (T = 1): closest = min(closest, distance) too.
    ``keep`` (T rows of n, or none): keep[t, i] = min(closest, distance)."""
    T = cn.shape[0]
    weighted = w.shape[0] > 0
    keeping = keep.shape[0] > 0
    xt = np.empty((X.shape[1], _BLOCK))
    acc = np.empty(_BLOCK)
    part = np.zeros((T, _BLOCK))
    xs = np.empty(_BLOCK)
    cl = np.empty(_BLOCK)
    wb = np.empty(_BLOCK)
    i = start
    while i < stop:
        nr = min(_BLOCK, stop - i)
        _load_block(X, offset, i, nr, xt)
        for r in range(_BLOCK):
            inside = r < nr
            xs[r] = xsq[i + r] if inside else 0.0
            cl[r] = closest[i + r] if inside else 0.0
            wb[r] = (w[i + r] if weighted else 1.0) if inside else 0.0
        for t in range(T):
            _block_dots(xt, cands, t, acc, build[0])
            cnt = cn[t]
            for r in range(_BLOCK):
                # (the build's reassociation adds |x|^2 first)
                m = (cnt + xs[r]) + -2.0 * acc[r]
                m = m if m > 0.0 else 0.0
                m = m if m < cl[r] else cl[r]
                part[t, r] = _mad(wb[r], m, part[t, r], build[0])
                if update:
                    cl[r] = m
                if keeping and r < nr:
                    keep[t, i + r] = m
        if update:
            for r in range(nr):
                closest[i + r] = cl[r]
        i += nr
    vectored = T - T % build[1]  # the candidates of the build's vector loop
    for t in range(T):
        pots[t] += _lane_sum(part[t], t < vectored, build[2])


@njit(**_STRICT)
def _lane_sum(p, vector, amd):
    """The 16 lanes' sum as the extension adds them: its loop ``total = total
    + part[r]`` is reassociated by gcc, one way for the candidates its
    vectorized loop over them takes (``vector``; ``amd``: as the build tuned
    for AMD does it) and another for the rest (found by probing each build:
    tests/em/test_kmeans_calls.py)."""
    if not vector:
        return (((((p[0] + (p[1] + p[2])) + ((p[3] + p[4]) + p[5]))
                  + ((p[6] + p[7]) + p[8])) + ((p[9] + p[10]) + p[11]))
                + ((p[12] + p[13]) + p[14])) + p[15]
    if amd:
        return (((((p[0] + p[8]) + (p[1] + p[9])) + ((p[2] + p[10]) + (p[3] + p[11])))
                 + ((p[4] + p[12]) + (p[5] + p[13])))
                + (((p[6] + p[14]) + p[7]) + p[15]))
    return ((((((p[0] + p[8]) + (p[1] + p[9])) + (p[2] + p[10]))
              + ((p[3] + p[11]) + p[4])) + ((p[5] + p[12]) + p[13]))
            + ((p[6] + p[14]) + p[7])) + p[15]


@njit(**_STRICT)
def _kpp_share(X, offset, xsq, cands, cn, closest, w, bounds, pots, update, keep,
               build, share, n_shares):
    for p in range(share, bounds.shape[0] - 1, n_shares):
        _kpp_range(X, offset, xsq, cands, cn, closest, w, bounds[p], bounds[p + 1],
                   update, pots[p], keep, build)


@njit(**_STRICT)
def _cumsum_search(closest, w, targets, order, picked):
    """picked[order[t]] = the first i with the running sum of w * closest (each
    product rounded, added in row order: numpy.cumsum) >= targets[order[t]]
    (`fastgmm_cumsum_search`); n where none."""
    n = closest.shape[0]
    T = targets.shape[0]
    weighted = w.shape[0] > 0
    cum = 0.0
    t = 0
    for i in range(n):
        if t >= T:
            break
        product = w[i] * closest[i] if weighted else closest[i]
        cum = cum + product
        while t < T and cum >= targets[order[t]]:
            picked[order[t]] = i
            t += 1


# --- the norms, the mean --------------------------------------------------------------


@njit(**_STRICT)
def _centred_row(X, offset, i, out, at):
    """out[at:at+d] = X[i] - offset in float64, a NaN (missing) entry 0."""
    for j in range(X.shape[1]):
        v = np.float64(X[i, j]) - offset[j]
        out[at + j] = v if v == v else 0.0


@njit(**_STRICT)
def _norms_chunk(X, offset, start, stop, W, fused, norms, part):
    """Rows start..stop: norms[i] = |x_i - offset|^2 (np.einsum's kernel per
    row); part[j] = np.einsum("ij,ij->j") of the chunk (for one feature, the
    chunk's column as one dot product)."""
    d = X.shape[1]
    if d > 1:
        buf = np.empty(d)
        for i in range(start, stop):
            _centred_row(X, offset, i, buf, 0)
            norms[i] = _einsum_dot(buf, 0, buf, 0, d, W, fused)
            for j in range(d):
                part[j] = _mad(buf[j], buf[j], part[j], fused)
    else:
        buf = np.empty(max(stop - start, 1))
        for i in range(start, stop):
            _centred_row(X, offset, i, buf, i - start)
            norms[i] = _einsum_dot(buf, i - start, buf, i - start, 1, W, fused)
        if stop > start:
            part[0] = _einsum_dot(buf, 0, buf, 0, stop - start, W, fused)


@njit(**_STRICT)
def _norms_share(X, offset, chunk, W, fused, norms, parts, share, n_shares):
    n = X.shape[0]
    for c in range(share, parts.shape[0], n_shares):
        _norms_chunk(X, offset, c * chunk, min(n, (c + 1) * chunk), W, fused, norms,
                     parts[c])


@njit(**_STRICT)
def _sum_rows(a, out):
    """out[t] = a[0, t] + a[1, t] + ... in row order (`fgk_sum_rows`: NumPy's
    sum over axis 0 of a C-contiguous array)."""
    P, T = a.shape
    for t in range(T):
        out[t] = a[0, t]
    for p in range(1, P):
        for t in range(T):
            out[t] = out[t] + a[p, t]


@njit(**_STRICT)
def _column_mean(X, out):
    n, d = X.shape
    for j in range(d):
        out[j] = np.float64(X[0, j])
    for i in range(1, n):
        for j in range(d):
            out[j] = out[j] + np.float64(X[i, j])
    for j in range(d):
        out[j] = out[j] / n


# --- the seeding and Lloyd's loop, one call each ---------------------------------------


@njit(**_STRICT)
def _before(a, b):
    """a sorts before b in np.argsort (NaN last)."""
    return a < b or (b != b and a == a)


def _kpp_loop(kpp_share, X, offset, xsq, w, bounds, draws, indices, closest, keep,
              build):
    """`kpp_loop` on the calling thread; ``kpp_share``: `_kpp_share`, called
    through its address (`_loop_for`)."""
    n, d = X.shape
    K = indices.shape[0]
    T = draws.shape[1]
    P = bounds.shape[0] - 1
    cands = np.empty((T, d))
    chosen = np.empty((1, d))
    cn = np.empty(T)
    cn1 = np.empty(1)
    targets = np.empty(T)
    cpots = np.empty(T)
    pots = np.zeros((P, T))
    pot1 = np.zeros((P, 1))
    order = np.empty(T, dtype=np.intp)
    picked = np.empty(T, dtype=np.intp)
    cidx = np.empty(T, dtype=np.intp)
    first = indices[0]
    keeping = keep.shape[0] == T
    none = np.empty((0, n))
    _centred_row(X, offset, first, chosen[0], 0)
    cn1[0] = xsq[first]
    for i in range(n):
        closest[i] = np.inf
    kpp_share(X, offset, xsq, chosen, cn1, closest, w, bounds, pot1, True, none, build,
              0, 1)
    # pot1[0, 0], or pot1.sum() (NumPy's add.reduce)
    current = pot1[0, 0] if P == 1 else pairwise(pot1.reshape(P), 0, P)
    for c in range(1, K):
        for t in range(T):
            targets[t] = draws[c - 1, t] * current
        # np.argsort(targets, kind="stable"): an insertion sort
        for t in range(T):
            j = t
            while j > 0 and _before(targets[t], targets[order[j - 1]]):
                order[j] = order[j - 1]
                j -= 1
            order[j] = t
            picked[t] = n
        _cumsum_search(closest, w, targets, order, picked)
        for t in range(T):
            cidx[t] = min(picked[t], n - 1)
            _centred_row(X, offset, cidx[t], cands[t], 0)
            cn[t] = xsq[cidx[t]]
        pots[:, :] = 0.0
        kpp_share(X, offset, xsq, cands, cn, closest, w, bounds, pots, False,
                  keep if keeping and c < K - 1 else none, build, 0, 1)
        _sum_rows(pots, cpots)
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
            closest[:] = keep[best]
        elif c < K - 1:  # (the last round's distances are not used)
            chosen[0, :] = cands[best]
            cn1[0] = cn[best]
            pot1[:, :] = 0.0
            kpp_share(X, offset, xsq, chosen, cn1, closest, w, bounds, pot1, True, none,
                      build, 0, 1)


def _lloyd_loop(km_share, X, offset, centres, w, bounds, labels, sums, counts, changed,
                max_iter, tol, W, fused, build):
    """`lloyd_loop` on the calling thread: (stopped, n_iter); ``km_share``:
    `_km_share`, called through its address (`_loop_for`)."""
    K, d = centres.shape
    new = np.empty(K * d)
    weight = np.empty(K)
    diff = np.empty(K * d)
    cn = np.empty(K)
    flat = centres.reshape(K * d)
    stopped = True
    strict = False
    n_iter = 0
    for it in range(1, max_iter + 1):
        n_iter = it
        for k in range(K):
            cn[k] = _einsum_dot(flat, k * d, flat, k * d, d, W, fused)
        sums[:, :] = 0.0
        counts[:, :] = 0.0
        km_share(X, offset, centres, cn, w, bounds, labels, sums, counts, changed,
                 True, build, 0, 1)
        _sum_rows(sums, new)
        _sum_rows(counts, weight)
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
            diff[j] = new[j] - flat[j]
        shift = _einsum_dot(diff, 0, diff, 0, K * d, W, fused)
        flat[:] = new
        total = 0
        for p in range(changed.shape[0]):
            total += changed[p]
        if it > 1 and total == 0:
            strict = True
            break
        if shift <= tol:
            break
    if stopped and not strict:
        for k in range(K):
            cn[k] = _einsum_dot(flat, k * d, flat, k * d, d, W, fused)
        sums[:, :] = 0.0
        counts[:, :] = 0.0
        km_share(X, offset, centres, cn, w, bounds, labels, sums, counts, changed,
                 False, build, 0, 1)
    return stopped, n_iter


_loops = {}


def _loop_for(name, dtype):
    """`_kpp_loop` ('kpp') or `_lloyd_loop` ('lloyd') compiled for X of
    ``dtype``, on first use. Their signatures are explicit: the passes are
    first-class functions of `_kpp_share`'s or `_km_share`'s type, called
    through their addresses, so that the compiled code of the passes is
    the threaded path's, not optimized again inside each loop (which cost
    seconds of a cold start)."""
    dtype = np.dtype(dtype)
    loop = _loops.get((name, dtype))
    if loop is not None:
        return loop
    import numba
    from numba import types

    def ro(dt, ndim=1):
        return types.Array(dt, ndim, "C", readonly=True)

    def rw(ndim=1, dt=types.float64):
        return types.Array(dt, ndim, "C")

    f64, i64, intp, x = types.float64, types.int64, types.intp, numba.from_dtype(dtype)
    build = types.UniTuple(i64, 3)
    if name == "kpp":
        share = types.FunctionType(types.none(
            ro(x, 2), ro(f64), ro(f64), rw(2), rw(), rw(), ro(f64), ro(intp), rw(2),
            types.boolean, rw(2), build, i64, i64))
        signature = types.none(share, ro(x, 2), ro(f64), ro(f64), ro(f64), ro(intp),
                               ro(f64, 2), rw(1, intp), rw(), rw(2), build)
        loop = njit(signature, **_STRICT)(_kpp_loop)
    else:
        share = types.FunctionType(types.none(
            ro(x, 2), ro(f64), rw(2), rw(), ro(f64), ro(intp), rw(1, intp), rw(2), rw(2),
            rw(1, intp), types.boolean, build, i64, i64))
        signature = types.Tuple((types.boolean, i64))(
            share, ro(x, 2), ro(f64), rw(2), ro(f64), ro(intp), rw(1, intp), rw(2), rw(2),
            rw(1, intp), i64, f64, i64, types.boolean, build)
        loop = njit(signature, **_STRICT)(_lloyd_loop)
    _loops[(name, dtype)] = loop
    return loop


# --- the statistics of hard labels ------------------------------------------------------


@njit(**_STRICT)
def _labelled_range(X, w, labels, centres, fill, kind, start, stop, nk, s1, s2,
                    build):
    """`_labelled_range` of the extension: each row counts for its label
    alone (-1: none); a NaN entry, with ``fill``, as its feature's fill."""
    d = X.shape[1]
    weighted = w.shape[0] > 0
    filled = fill.shape[0] > 0
    diff = np.empty(d)
    for i in range(start, stop):
        lab = labels[i]
        if lab < 0:
            continue
        wi = w[i] if weighted else 1.0
        nk[lab] += wi
        for j in range(d):
            x = np.float64(X[i, j])
            if filled and x != x:
                x = fill[j]
            diff[j] = x - centres[lab * d + j]
            s1[lab * d + j] = _mad(wi, diff[j], s1[lab * d + j], build[0])
        if kind == FULL or kind == TIED:
            base = lab * d * d if kind == FULL else 0
            for j in range(d):
                wj = wi * diff[j]
                for m in range(d):
                    s2[base + j * d + m] = _mad(wj, diff[m], s2[base + j * d + m],
                                                build[0])
        elif kind == DIAG:
            for j in range(d):
                # (the build's reassociation squares first)
                s2[lab * d + j] = _mad(wi, diff[j] * diff[j], s2[lab * d + j],
                                       build[0])


@njit(**_STRICT)
def _labelled_share(X, w, labels, centres, fill, kind, bounds, nk, s1, s2, build,
                    share, n_shares):
    for p in range(share, bounds.shape[0] - 1, n_shares):
        _labelled_range(X, w, labels, centres, fill, kind, bounds[p], bounds[p + 1],
                        nk[p], s1[p], s2[p], build)


# --- entry points: the same signatures and checks as the extension's ----------------


def _readonly(a, dtype=None):
    """A read-only C-contiguous ndarray view (one compiled version per dtype,
    whatever the caller passed)."""
    a = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
    if not a.flags.c_contiguous:
        raise ValueError("kernel: arrays must be C-contiguous")
    view = a.view(np.ndarray)
    view.setflags(write=False)
    return view


def _writable(a, dtype, ndim, name):
    """``a`` itself, checked: a writable C-contiguous array of ``dtype``."""
    if (not isinstance(a, np.ndarray) or a.dtype != dtype or a.ndim != ndim
            or not a.flags.c_contiguous or not a.flags.writeable):
        raise ValueError(f"kernel: {name} must be a writable C-contiguous "
                         f"{ndim}-D {np.dtype(dtype).name} array")
    return a


_NO_FILL = np.zeros(0)
_NO_FILL.setflags(write=False)


def _x(X):
    X = _readonly(X)
    if X.ndim != 2 or X.dtype not in (np.float32, np.float64):
        raise ValueError("kernel: X must be a 2-D float32 or float64 array")
    return X


def _f64(a, name, ndim=1):
    a = _readonly(a)
    if a.dtype != np.float64 or a.ndim != ndim:
        raise ValueError(f"kernel: {name} must be a {ndim}-D float64 array")
    return a


def _intp(a, name):
    a = _readonly(a)
    if a.dtype != np.intp or a.ndim != 1:
        raise ValueError(f"kernel: {name} must be an intp array")
    return a


def _check_bounds(bounds, n):
    n_parts = bounds.shape[0] - 1
    if n_parts < 1 or bounds[0] != 0 or bounds[n_parts] != n:
        raise ValueError("kernel: bounds must run from 0 to n_samples")
    if np.any(np.diff(bounds) < 0):
        raise ValueError("kernel: bounds must not decrease")
    return n_parts


def _check_centres(d, K, offset, centres, cn):
    if d < 1 or K < 1:
        raise ValueError("kernel: need at least one centre and one feature")
    if cn.shape[0] != K or centres.shape[0] != K * d or offset.shape[0] != d:
        raise ValueError("kernel: offset and centres must have n_features columns")


def _check_threads(n_threads):
    if n_threads < 1:
        raise ValueError("kernel: n_threads must be >= 1")


def kmeans_partitions(X, offset, centers, cn, w, bounds, labels, sums, counts,
                      changed, update, n_threads):
    """One Lloyd step, partition by partition: labels, and (``update``) each
    partition's sums and counts per label (zeroed here first); see the
    extension's for the arguments."""
    X, offset, centers = _x(X), _f64(offset, "offset"), _f64(centers, "centres")
    cn, w, bounds = _f64(cn, "cn"), _f64(w, "w"), _intp(bounds, "bounds")
    n, d = X.shape
    K = cn.shape[0]
    n_parts = _check_bounds(bounds, n)
    _check_centres(d, K, offset, centers, cn)
    labels = _writable(labels, np.intp, 1, "labels")
    sums = _writable(sums, np.float64, 2, "sums")
    counts = _writable(counts, np.float64, 2, "counts")
    changed = _writable(changed, np.intp, 1, "changed")
    if (w.shape[0] not in (0, n)) or labels.shape[0] != n:
        raise ValueError("kernel: weights and labels must have one value per row")
    if (sums.shape[0] != n_parts or sums.shape[1] != K * d or counts.shape[0] != n_parts
            or counts.shape[1] != K or changed.shape[0] != n_parts):
        raise ValueError("kernel: partial sums have the wrong shape")
    _check_threads(n_threads)
    sums[:, :] = 0.0
    counts[:, :] = 0.0
    changed[:] = 0
    if n == 0:
        return
    # (copies: the argument types `_lloyd_loop` hands the same compiled code)
    centres, cn = np.array(centers.reshape(K, d)), np.array(cn)
    build = extension_build()
    run_shares(n_threads, n_parts, lambda share, n_shares: _km_share(
        X, offset, centres, cn, w, bounds, labels, sums, counts, changed, bool(update),
        build, share, n_shares))


def kpp_partitions(X, offset, xsq, cands, cn, closest, w, bounds, pots, update,
                   n_threads):
    """The potential of each k-means++ candidate, partition by partition."""
    X, offset, xsq = _x(X), _f64(offset, "offset"), _f64(xsq, "xsq")
    cands, cn, w = _f64(cands, "cands"), _f64(cn, "cn"), _f64(w, "w")
    bounds = _intp(bounds, "bounds")
    closest = _writable(closest, np.float64, 1, "closest")
    pots = _writable(pots, np.float64, 2, "pots")
    n, d = X.shape
    T = cn.shape[0]
    n_parts = _check_bounds(bounds, n)
    _check_centres(d, T, offset, cands, cn)
    if w.shape[0] not in (0, n) or xsq.shape[0] != n or closest.shape[0] != n:
        raise ValueError("kernel: weights, norms and distances need one value per row")
    if pots.shape[0] != n_parts or pots.shape[1] != T:
        raise ValueError("kernel: partial potentials have the wrong shape")
    if update and T != 1:
        raise ValueError("kernel: update takes one candidate")
    _check_threads(n_threads)
    pots[:, :] = 0.0
    if n == 0:
        return
    # (copies: the argument types `_kpp_loop` hands the same compiled code)
    centres, cn = np.array(cands.reshape(T, d)), np.array(cn)
    build = extension_build()
    none = np.empty((0, n))
    run_shares(n_threads, n_parts, lambda share, n_shares: _kpp_share(
        X, offset, xsq, centres, cn, closest, w, bounds, pots, bool(update), none, build,
        share, n_shares))


def kpp_pick(closest, w, targets, order, picked):
    """picked[t] = the first i with cumsum(w * closest)[i] >= targets[t]
    (NumPy's searchsorted on NumPy's cumsum), or n when none; ``order``
    sorts the targets."""
    closest, w, targets = _f64(closest, "closest"), _f64(w, "w"), _f64(targets, "targets")
    order = _intp(order, "order")
    picked = _writable(picked, np.intp, 1, "picked")
    n, T = closest.shape[0], targets.shape[0]
    if w.shape[0] not in (0, n) or order.shape[0] != T or picked.shape[0] != T:
        raise ValueError("kernel: kpp_pick's arrays have the wrong shapes")
    if np.any((order < 0) | (order >= T)):
        raise ValueError("kernel: order must index the targets")
    picked[:] = n
    if n == 0 or T == 0:
        return
    _cumsum_search(closest, w, targets, order, picked)


def einsum_dots(a, out, W, fused):
    """out[i] = np.einsum("ij,ij->i", a, a)[i] in variant (W lanes, fused)."""
    a = np.array(_f64(a, "a", 2))  # (writable, as the loops' arrays)
    out = _writable(out, np.float64, 1, "out")
    if out.shape[0] != a.shape[0] or a.shape[1] < 1:
        raise ValueError("kernel: einsum_dots needs one output per row, d >= 1")
    _einsum_dots(a, out, int(W), bool(fused))


def einsum_dot(a, b, W, fused):
    """np.einsum("i,i->", a, b) in variant (W lanes, fused)."""
    a, b = np.array(_f64(a, "a")), np.array(_f64(b, "b"))  # (writable)
    if a.shape[0] != b.shape[0] or a.shape[0] < 1:
        raise ValueError("kernel: einsum_dot needs two vectors of one length >= 1")
    return float(_einsum_dot_of(a, b, int(W), bool(fused)))


def kmeans_norms(X, offset, norms, squares, chunk, W, fused, n_threads):
    """The rows' squared norms |x - offset|^2 and the features' sums of
    squares, chunk by chunk (each from zero, in row order), the chunks'
    sums added in chunk order."""
    X, offset = _x(X), _f64(offset, "offset")
    norms = _writable(norms, np.float64, 1, "norms")
    squares = _writable(squares, np.float64, 1, "squares")
    n, d = X.shape
    if d < 1 or offset.shape[0] != d or squares.shape[0] != d or norms.shape[0] != n:
        raise ValueError("kernel: kmeans_norms' arrays have the wrong shapes")
    if chunk < 1 or n_threads < 1:
        raise ValueError("kernel: chunk and n_threads must be >= 1")
    squares[:] = 0.0
    if n == 0:
        return
    n_chunks = (n + chunk - 1) // chunk
    parts = np.zeros((n_chunks, d))
    W, fused = int(W), bool(fused)
    run_shares(n_threads, n_chunks, lambda share, n_shares: _norms_share(
        X, offset, int(chunk), W, fused, norms, parts, share, n_shares))
    # `squares += part` chunk by chunk from 0: parts[0] + parts[1] + ...
    _sum_rows(parts, squares)


def column_mean(X, out):
    """X.mean(axis=0, dtype=np.float64) for n >= 1 rows and d >= 2 features."""
    X = _x(X)
    out = _writable(out, np.float64, 1, "out")
    n, d = X.shape
    if n < 1 or d < 2 or out.shape[0] != d:
        raise ValueError("kernel: column_mean needs n >= 1 rows, d >= 2 features")
    _column_mean(X, out)


def kpp_loop(X, offset, xsq, w, bounds, draws, indices, closest, keep, n_threads):
    """The k-means++ seeding from its first centre on, in one call (the
    extension's `kpp_loop`: ``keep``, (trials, n) or (0, n), as there), its
    passes on the calling thread."""
    X, offset, xsq = _x(X), _f64(offset, "offset"), _f64(xsq, "xsq")
    w, bounds, draws = _f64(w, "w"), _intp(bounds, "bounds"), _f64(draws, "draws", 2)
    indices = _writable(indices, np.intp, 1, "indices")
    closest = _writable(closest, np.float64, 1, "closest")
    n, d = X.shape
    K, T = indices.shape[0], draws.shape[1]
    _check_bounds(bounds, n)
    if K < 1 or draws.shape[0] != K - 1 or (K > 1 and T < 1):
        raise ValueError("kernel: draws must be (n_clusters - 1, trials)")
    if w.shape[0] not in (0, n) or xsq.shape[0] != n or closest.shape[0] != n:
        raise ValueError("kernel: weights, norms and distances need one value per row")
    keep = _writable(keep, np.float64, 2, "keep")
    if keep.shape[0] not in (0, T) or keep.shape[1] != n:
        raise ValueError("kernel: keep must be (trials, n) or (0, n)")
    if d < 1 or offset.shape[0] != d:
        raise ValueError("kernel: offset must have n_features values")
    _check_threads(n_threads)
    if not 0 <= indices[0] < n:
        raise ValueError("kernel: the first centre must index a row")
    if K == 1:
        return
    _loop_for("kpp", X.dtype)(_kpp_share, X, offset, xsq, w, bounds, draws, indices,
                              closest, keep, extension_build())


def lloyd_loop(X, offset, centers, w, bounds, labels, sums, counts, changed, max_iter,
               tol, W, fused, n_threads):
    """Lloyd's iterations in one call while no cluster is empty (the
    extension's `lloyd_loop`), its passes on the calling thread: (stopped,
    n_iter)."""
    X, offset, w = _x(X), _f64(offset, "offset"), _f64(w, "w")
    bounds = _intp(bounds, "bounds")
    centers = _writable(centers, np.float64, 1, "centres")
    labels = _writable(labels, np.intp, 1, "labels")
    sums = _writable(sums, np.float64, 2, "sums")
    counts = _writable(counts, np.float64, 2, "counts")
    changed = _writable(changed, np.intp, 1, "changed")
    n, d = X.shape
    n_parts = _check_bounds(bounds, n)
    if d < 1 or offset.shape[0] != d or centers.shape[0] % d or centers.shape[0] < d:
        raise ValueError("kernel: centres must be (k, n_features)")
    K = centers.shape[0] // d
    if w.shape[0] not in (0, n) or labels.shape[0] != n:
        raise ValueError("kernel: weights and labels must have one value per row")
    if (sums.shape[0] != n_parts or sums.shape[1] != K * d or counts.shape[0] != n_parts
            or counts.shape[1] != K or changed.shape[0] != n_parts):
        raise ValueError("kernel: partial sums have the wrong shape")
    if max_iter < 1 or n_threads < 1:
        raise ValueError("kernel: max_iter and n_threads must be >= 1")
    if n == 0:
        raise ValueError("kernel: no rows")
    stopped, n_iter = _loop_for("lloyd", X.dtype)(
        _km_share, X, offset, centers.reshape(K, d), w, bounds, labels, sums, counts,
        changed, int(max_iter), float(tol), int(W), bool(fused), extension_build())
    return bool(stopped), int(n_iter)


def labelled_partitions(X, w, labels, centers, bounds, nk, s1, s2, kind, n_threads,
                        fill=None):
    """The statistics of hard assignments (one M-step on labels), partition
    by partition: each row counts for its label alone. With ``fill``, a NaN
    entry of X (a missing value) counts as its feature's fill value."""
    X, w, labels = _x(X), _f64(w, "w"), _intp(labels, "labels")
    centers, bounds = _f64(centers, "centres"), _intp(bounds, "bounds")
    nk = _writable(nk, np.float64, 2, "nk")
    s1 = _writable(s1, np.float64, 2, "s1")
    s2 = _writable(s2, np.float64, 2, "s2")
    n, d = X.shape
    K = nk.shape[1]
    n_parts = _check_bounds(bounds, n)
    if d < 1 or K < 1 or centers.shape[0] != K * d:
        raise ValueError("kernel: centres must be (n_components, n_features)")
    if w.shape[0] not in (0, n) or labels.shape[0] != n:
        raise ValueError("kernel: weights and labels must have one value per row")
    if kind not in (-1, FULL, TIED, DIAG):
        raise ValueError(f"kernel: unknown covariance kind {kind}")
    if fill is not None:
        fill = _f64(fill, "fill")
        if fill.shape[0] != d:
            raise ValueError("kernel: fill must have n_features values")
    size = {FULL: K * d * d, TIED: d * d, DIAG: K * d}.get(kind)
    if (nk.shape[0] != n_parts or s1.shape[0] != n_parts or s2.shape[0] != n_parts
            or s1.shape[1] != K * d or (kind >= 0 and s2.shape[1] != size)):
        raise ValueError("kernel: partial statistics have the wrong shape")
    if np.any((labels < -1) | (labels >= K)):
        raise ValueError("kernel: labels must be -1 or a component")
    _check_threads(n_threads)
    nk[:, :] = 0.0
    s1[:, :] = 0.0
    s2[:, :] = 0.0
    if n == 0:
        return
    fill = _NO_FILL if fill is None else fill
    build = extension_build()
    run_shares(n_threads, n_parts, lambda share, n_shares: _labelled_share(
        X, w, labels, centers, fill, int(kind), bounds, nk, s1, s2, build, share,
        n_shares))
