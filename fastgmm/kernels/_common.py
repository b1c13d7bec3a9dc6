"""What every backend shares: covariance kinds, row partitions, partial
statistics, their reduction, and the thread rule.

A backend computes, for each partition of rows, partial statistics into its own
slot of the buffers made here; the partitions depend only on the data shape
(never on the thread count) and are summed in partition order, so a result is
bitwise the same with 1 or 16 threads. A pass may also run window by window
over the rows (`window_segments`): each window adds into the same slots, tile
after tile, so a pass over windows that cut partitions at tile boundaries gives
the bits of one pass over all rows.
"""

import functools
import os
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from .._constants import covariance_shape

#: The kinds of pass the compiled drivers know (their switch). 'spherical'
#: runs as 'diag' with each component's one precision repeated over the
#: features, its S2 summed over them afterwards (`driver_type`). The C of the
#: Cython backend defines the same numbers once (_mstep.h's FGM_FULL, ...,
#: which its modules take as FULL, TIED, DIAG); it refuses to import when
#: they differ from these (_cython/_tiles.pyx). The Numba backend, which has
#: no C, reads these.
FULL, TIED, DIAG = 0, 1, 2
KIND = {"full": FULL, "tied": TIED, "diag": DIAG, "spherical": DIAG}


@dataclass
class SufficientStats:
    """Weighted statistics of a pass over rows, accumulated around ``centers``.

    nk[k] = sum_i w_i r_ik; s1[k] = sum_i w_i r_ik (x_i - m_k);
    s2 = sum_i w_i r_ik (x_i - m_k)(x_i - m_k)^T, shaped by covariance type:
    (k, d, d) full, (d, d) tied (summed over k), (k, d) diag (its diagonal),
    (k,) spherical (its trace); ll = sum_i w_i log p(x_i), the log-likelihood.

    The Student-t pass (a pass given degrees of freedom, docs/design.md "The
    Student-t pass") fills two more, None otherwise: nr[k] = sum_i w_i r_ik
    (the components' counts) and tlu[k] = sum_i w_i r_ik (log u_ik - u_ik);
    its nk, s1 and s2 weigh each row by r_ik u_ik instead of r_ik.

    Statistics of disjoint row blocks taken around the same centers add:
    ``a + b`` is the statistics of both blocks (add blocks in a fixed order
    for reproducible bits).
    """

    nk: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    ll: float = 0.0
    nr: np.ndarray = None
    tlu: np.ndarray = None

    @classmethod
    def zeros(cls, n_components, n_features, covariance_type, student=False):
        """Zero statistics; ``student``: with nr and tlu (the Student-t pass's)."""
        stats = cls(np.zeros(n_components), np.zeros((n_components, n_features)),
                    np.zeros(covariance_shape(n_components, n_features,
                                              covariance_type)))
        if student:
            stats.nr, stats.tlu = np.zeros(n_components), np.zeros(n_components)
        return stats

    def __add__(self, other):
        return SufficientStats(self.nk + other.nk, self.s1 + other.s1,
                               self.s2 + other.s2, self.ll + other.ll,
                               _add_optional(self.nr, other.nr, "nr"),
                               _add_optional(self.tlu, other.tlu, "tlu"))


def _add_optional(a, b, name):
    """a + b of two optional statistics (None + None = None)."""
    if a is None and b is None:
        return None
    if a is None or b is None:
        raise ValueError(f"cannot add the statistics of a Student-t pass ({name}) "
                         "to those of a Gaussian pass")
    return a + b


def driver_type(covariance_type):
    """The covariance type whose statistics the drivers compute for this one."""
    return "diag" if covariance_type == "spherical" else covariance_type

#: Rows per tile: the unit of work inside a partition. Both backends use it;
#: window boundaries inside a partition must fall on multiples of it.
TILE = 256
#: From this many features on, 'full' goes through BLAS tiles.
BLAS_MIN_FEATURES = 24
#: Cython's 'full' runs its register-blocked tiles (`_full_tiles.h`) from this
#: many features (above the copies per d) up to FULL_TILES_MAX_FEATURES;
#: Numba's from BLAS_MIN_FEATURES (2026-12-02, Zen 4: at d=12-20 the tiles
#: ran 1.09-1.35x Cython's direct loops).
FULL_TILES_MIN_FEATURES = 9
#: Up to this many features, Cython's 'full', 'diag' and 'spherical' loops run
#: one compiled copy per number of features (``_small_d.h``: the per-row
#: values in registers).
SMALL_D_MAX_FEATURES = 8
#: From `BLAS_MIN_FEATURES` up to this many features, Cython's 'full' runs
#: register-blocked tiles in X's dtype (``_full_tiles.h``: (x - m_k) U_k with
#: the distance taken in registers, and the scatter matrices, the triangles
#: skipped by whole vectors) instead of BLAS's triangular products; read at
#: each call. Measured no faster at d = 40 and 64 (benchmarks/NOTES.md).
FULL_TILES_MAX_FEATURES = 32
#: Up to this many components, Cython's 'diag' and 'spherical' with more
#: features than `SMALL_D_MAX_FEATURES` run on row-major tiles
#: (``_small_d.h``), whatever the products' rule says.
DIAG_ROWS_MAX_COMPONENTS = 4
#: A partition holds at least this many rows (below it, threads cost more than
#: they save). Read at each call, so tests may lower it.
MIN_ROWS_PER_PARTITION = 2048
#: 'diag' and 'spherical' passes with many components times features pay
#: for a thread sooner: a partition there needs only this many rows times
#: components times features (and `MIN_ROWS_DIAG_PARTITION` rows), if that is
#: fewer rows than `MIN_ROWS_PER_PARTITION` (digits, 1,797 x 16 at k=10: two
#: partitions, a whole 'diag' fit 3.9 -> 2.9 ms on 2 cores; benchmarks/NOTES.md).
DIAG_WORK_PER_PARTITION = 2**18
MIN_ROWS_DIAG_PARTITION = 512
#: Upper bound on the number of partitions.
MAX_PARTITIONS = 64
#: Upper bound on the bytes of all partial-statistics buffers together.
PARTIAL_STATS_BUDGET = 32 * 2**20


#: From this many features on, and this many features times components,
#: 'diag' (and 'spherical') may go through matrix products (`diag_gemm_ok`):
#: below, the products are too thin for BLAS to beat the direct loops
#: (benchmarks/NOTES.md, 2026-11-26: d=16 and d=32 at k=4 ran faster as loops).
DIAG_BLAS_MIN_FEATURES = 16
DIAG_BLAS_MIN_WORK = 256
#: The largest spread max_k sum_j ((m_kj - g_j) p_kj)^2 of the components
#: around their mean g, in Mahalanobis units, at which the 'diag' products
#: run in X's dtype: the expansion of (x - m)^2 p^2 around g cancels about
#: that many units in the last place. float32: the limit under which the
#: float32 fit stayed closer to the float64 fit than scikit-learn's float32
#: fit in every case measured (benchmarks/float32_accuracy.py); beyond it the
#: pass keeps the direct loops, in float64 arithmetic.
DIAG_GEMM_MAX_SPREAD = {np.dtype(np.float64): 1e6, np.dtype(np.float32): 5e3}


def uses_blas(covariance_type, n_features, n_components=DIAG_BLAS_MIN_WORK,
              backend=None):
    """Whether a 'full' pass of this shape runs through BLAS tiles (and a
    'diag' one may: `diag_gemm_ok`); ``backend`` 'cython': its 'full' tiles
    start at FULL_TILES_MIN_FEATURES."""
    if covariance_type in ("diag", "spherical"):
        return (n_features >= DIAG_BLAS_MIN_FEATURES
                and n_features * n_components >= DIAG_BLAS_MIN_WORK)
    if covariance_type != "full":
        return False
    if backend == "cython" and n_features >= FULL_TILES_MIN_FEATURES:
        return True
    return n_features >= BLAS_MIN_FEATURES


def diag_gemm_spread(means, precisions):
    """Centre g and spread max_k sum_j ((m_kj - g_j) p_kj)^2 of 'diag' components
    (precisions: (k, d) or, for 'spherical', (k,))."""
    center = means.mean(axis=0)
    p = precisions if precisions.ndim == 2 else precisions[:, None]
    spread = float(np.max(np.sum(np.square((means - center) * p), axis=1)))
    return center, spread


def diag_gemm_ok(spread, dtype):
    """Whether the 'diag' products may run in ``dtype`` at this spread."""
    return spread <= DIAG_GEMM_MAX_SPREAD[np.dtype(dtype)]


# ------------------------------------------------------------------ threads


def usable_cores():
    """CPUs this process may run on (its affinity mask, where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_threads(n_threads, default):
    """The thread count a pass runs with: the rule of both backends.

    None takes the backend's ``default`` (its configured thread count); any
    int >= 1 is capped at the usable cores, so that no value, however large
    (from a model file, say), starts more threads than the machine runs.
    """
    cores = usable_cores()
    if n_threads is None:
        return max(1, min(int(default), cores))
    n_threads = int(n_threads)
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1 or None, got {n_threads}")
    return min(n_threads, cores)


# --------------------------------------------------------------- partitions


def stats_sizes(n_components, n_features, covariance_type):
    """Flat sizes of (nk, s1, s2, cc) for one partition slot.

    ``cc`` is the co-responsibility matrix sum_i w_i r_ik r_il that only the
    tied pass needs (see `reduce_partials`); other types get one unused slot.
    """
    k, d = n_components, n_features
    s2 = int(np.prod(covariance_shape(k, d, driver_type(covariance_type))))
    cc = k * k if covariance_type == "tied" else 1
    return k, k * d, s2, cc


def partition_bounds(n_samples, n_components, n_features, covariance_type):
    """Row bounds of the partitions: int64 array of length n_partitions + 1
    (read-only: one array per shape, made once)."""
    min_rows = MIN_ROWS_PER_PARTITION
    if covariance_type in ("diag", "spherical"):
        work = -(-DIAG_WORK_PER_PARTITION // max(1, int(n_components) * int(n_features)))
        min_rows = min(min_rows, max(MIN_ROWS_DIAG_PARTITION, work))
    return _layout(int(n_samples), int(n_components), int(n_features), covariance_type,
                   min_rows, MAX_PARTITIONS, PARTIAL_STATS_BUDGET)[0]


def all_rows_segments(bounds):
    """`window_segments` of one window of all rows (read-only, made once)."""
    n_samples = int(bounds[-1])
    cached = _segments_of_all_rows.get(id(bounds))
    if cached is None or cached[0] is not bounds:
        cached = (bounds, _frozen(window_segments(bounds, 0, n_samples)))
        if len(_segments_of_all_rows) > 64:
            _segments_of_all_rows.clear()
        _segments_of_all_rows[id(bounds)] = cached
    return cached[1]


_segments_of_all_rows = {}


def _frozen(a):
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=64)
def _layout(n_samples, n_components, n_features, covariance_type, min_rows,
            max_parts, budget):
    per_partition = sum(stats_sizes(n_components, n_features, covariance_type)) * 8 + 8
    n_parts = -(-n_samples // min_rows)
    n_parts = min(n_parts, max_parts, max(1, budget // per_partition))
    n_parts = max(n_parts, 1)
    return (_frozen((np.arange(n_parts + 1, dtype=np.int64) * n_samples) // n_parts),)


def window_segments(bounds, start, stop):
    """(slot, first row, end row) of each partition's part of rows [start, stop).

    Rows are counted from ``start`` (the window's own row 0). Each partition
    meets a window in one contiguous range; partitions it misses are left out.
    """
    first = np.maximum(bounds[:-1], start)
    last = np.minimum(bounds[1:], stop)
    slots = np.flatnonzero(last > first)
    segments = np.empty((slots.size, 3), dtype=np.intp)
    segments[:, 0] = slots
    segments[:, 1] = first[slots] - start
    segments[:, 2] = last[slots] - start
    return segments


def window_plan(bounds, max_rows):
    """The windows of a pass over rows split into partitions ``bounds``.

    Each window is a list of row ranges ``(start, stop)``: the next ``m``
    rows of every partition that has rows left (``m`` a multiple of `TILE`,
    about ``max_rows`` in all), ranges that touch merged. So a window keeps
    every thread busy (one range per partition) and cuts partitions only at
    tile boundaries, which keeps the bits of a pass over all rows at once.
    With ``max_rows`` >= the rows, one window of all rows.
    """
    n_samples = int(bounds[-1])
    if max_rows >= n_samples:
        return [[(0, n_samples)]]
    starts, stops = bounds[:-1], bounds[1:]
    step = max(TILE, (max_rows // len(starts)) // TILE * TILE)
    windows = []
    for offset in range(0, int(np.max(stops - starts)), step):
        pieces = []
        for start, stop in zip(starts, stops):
            first, last = int(start) + offset, min(int(start) + offset + step, int(stop))
            if first >= last:
                continue
            if pieces and pieces[-1][1] == first:
                pieces[-1] = (pieces[-1][0], last)
            else:
                pieces.append((first, last))
        windows.append(pieces)
    return windows


def aligned_windows(bounds, max_rows):
    """Consecutive row windows ``(start, stop)`` of about ``max_rows`` rows,
    cut only at partition bounds and at tile boundaries inside partitions.

    For per-row results (`Backend.posterior`), whose tiles then fall where
    they fall in one call over all rows.
    """
    n_samples = int(bounds[-1])
    cuts = np.unique(np.concatenate(
        [np.arange(start, stop, TILE) for start, stop in zip(bounds[:-1], bounds[1:])]
        + [[n_samples]]))
    windows = []
    start = 0
    while start < n_samples:
        # the last cut within max_rows of start, or the next one
        at = np.searchsorted(cuts, start + max(int(max_rows), 1), side="right") - 1
        stop = int(cuts[at]) if cuts[at] > start else int(
            cuts[np.searchsorted(cuts, start, side="right")])
        windows.append((start, stop))
        start = stop
    return windows


def window_bounds(bounds, start, stop):
    """The partition bounds inside rows [start, stop), counted from ``start``."""
    inside = bounds[(bounds > start) & (bounds < stop)]
    return np.concatenate([[0], inside - start, [stop - start]]).astype(np.int64)


class Partials:
    """Zeroed float64 partial statistics, one slot per partition.

    ``nk`` (P, k), ``s1`` (P, k*d), ``s2`` (P, size of S2), ``cc`` (P, k*k for
    'tied', else 1) and ``ll`` (P,): the flat buffers the drivers add into,
    C-contiguous parts of one allocation (each on a 64-byte boundary), which
    `zero` clears at once for the next pass; and ``nr``, ``tlu`` (P, k), the
    Student-t pass's (untouched by a Gaussian pass; not counted in the
    partitions' budget, `partition_bounds`, which they do not change).
    """

    _ALIGN = 8  # float64s: 64 bytes
    #: the slots' names, in the order of the allocation
    NAMES = ("nk", "s1", "s2", "cc", "ll", "nr", "tlu")

    def __init__(self, n_parts, n_components, n_features, covariance_type):
        shapes = [(n_parts, s) for s in stats_sizes(n_components, n_features,
                                                     covariance_type)]
        shapes.append((n_parts,))
        shapes += [(n_parts, n_components)] * 2
        offsets, end = [], 0
        for shape in shapes:
            offsets.append(end)
            end += -(-int(np.prod(shape)) // self._ALIGN) * self._ALIGN
        raw = np.zeros(end + self._ALIGN)
        skip = (-raw.ctypes.data % 64) // 8
        self._buffer = raw[skip:skip + end]
        (self.nk, self.s1, self.s2, self.cc, self.ll, self.nr,
         self.tlu) = (self._buffer[at:at + int(np.prod(shape))].reshape(shape)
                      for at, shape in zip(offsets, shapes))

    def zero(self):
        """Clear every slot (the parts reassigned since are not touched)."""
        self._buffer.fill(0.0)


def tied_centering(means, precisions_chol):
    """Center g, shifted means m_k - g and (m_k - g) U for the tied pass.

    The tied pass computes (x - m_k) U as (x - g) U - (m_k - g) U, one
    triangular product per row instead of one per row and component. Shifting
    by the mean of the means keeps both terms at the scale of the spread of
    the components, not at the distance of the data from the origin.
    """
    center = means.mean(axis=0)
    shifted = means - center
    return center, shifted, shifted @ precisions_chol


def orientation_arguments(w, S, D):
    """The arguments of a backend's `common_orientation` (EVE's and VVE's
    Jacobi sweeps), checked once for both backends: ``w`` (k,) and ``S``
    (k, d, d) float64 ndarrays, returned C-contiguous (no copy when they
    are), and ``D`` (d, d) float64, C-contiguous and writable (overwritten
    in place); k, d >= 1. ValueError otherwise."""
    arrays = (w, S, D)
    if not (all(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in arrays)
            and (w.ndim, S.ndim, D.ndim) == (1, 3, 2)
            and S.shape == (w.shape[0],) + D.shape and D.shape[0] == D.shape[1]
            and min(S.shape) >= 1 and D.flags.c_contiguous and D.flags.writeable):
        shapes = ", ".join(str(getattr(a, "shape", type(a).__name__)) for a in arrays)
        raise ValueError("common_orientation: w (k,), S (k, d, d) and D (d, d) float64 "
                         "arrays, D C-contiguous and writable, k and d at least 1; "
                         f"got {shapes}")
    return np.ascontiguousarray(w), np.ascontiguousarray(S), D


def reduce_partials(partials, means, covariance_type, out):
    """Sum partition statistics in partition order into ``out``; return L.

    For 'full', the kernels fill the upper triangle of each S2_k; the lower
    one is mirrored here. For 'tied', the kernels accumulate
    A = sum_i w_i (x_i - mbar_i)(x_i - mbar_i)^T with mbar_i = sum_k r_ik m_k,
    and the co-responsibilities C_kl = sum_i w_i r_ik r_il; since
    sum_k r_k (x - m_k)(x - m_k)^T = (x - mbar)(x - mbar)^T
                                     + sum_{k<l} r_k r_l (m_k - m_l)(m_k - m_l)^T,
    S2 = A + sum_{k<l} C_kl (m_k - m_l)(m_k - m_l)^T: a sum of positive terms,
    free of cancellation, at O(d^2 + k^2) per row instead of O(k d^2).

    The sums start from zero and add the slots in order (0 + slot 0 + slot
    1 ...); one slot is added to zero straight into ``out``, the same bits.
    The Student-t pass's ``nr`` and ``tlu`` are reduced the same way when
    ``out`` has them (not None).
    """
    n_components, n_features = means.shape
    n_parts = partials.nk.shape[0]
    for name in ("nr", "tlu"):
        target = getattr(out, name)
        if target is not None:
            _sum_slots(getattr(partials, name), target)
    if n_parts == 1:
        # 0 + slot, as the loop below computes it (-0.0 becomes +0.0)
        np.add(partials.nk[0], 0.0, out=out.nk)
        np.add(partials.s1[0].reshape(out.s1.shape), 0.0, out=out.s1)
        total = 0.0 + partials.ll[0]
        if covariance_type in ("full", "diag"):  # S2 in place in out
            np.add(partials.s2[0].reshape(out.s2.shape), 0.0, out=out.s2)
            if covariance_type == "full":
                _mirror_upper(out.s2)
            out.ll = total
            return total
        s2 = partials.s2[0] + 0.0
        cc = partials.cc[0]
    else:
        nk = np.zeros(partials.nk.shape[1])
        s1 = np.zeros(partials.s1.shape[1])
        s2 = np.zeros(partials.s2.shape[1])
        cc = np.zeros(partials.cc.shape[1])
        total = 0.0
        for p in range(n_parts):
            nk += partials.nk[p]
            s1 += partials.s1[p]
            s2 += partials.s2[p]
            cc += partials.cc[p]
            total += partials.ll[p]
        out.nk[...] = nk
        out.s1[...] = s1.reshape(out.s1.shape)
    if covariance_type != "spherical":
        s2 = s2.reshape(out.s2.shape)
    if covariance_type in ("full", "tied"):
        _mirror_upper(s2)
    if covariance_type == "tied":
        out.s2[...] = s2
        if n_components > 1:
            _add_between_scatter(out.s2, cc.reshape(n_components, n_components),
                                 means)
    elif covariance_type == "spherical":
        np.add.reduce(s2.reshape(n_components, n_features), axis=1, out=out.s2)
    else:
        out.s2[...] = s2
    out.ll = total
    return total


def _sum_slots(slots, out):
    """out = 0 + slots[0] + slots[1] + ..., added in partition order."""
    if slots.shape[0] == 1:
        np.add(slots[0], 0.0, out=out)
        return
    total = np.zeros(slots.shape[1])
    for p in range(slots.shape[0]):
        total += slots[p]
    out[...] = total


def _add_between_scatter(s2, cc, means):
    """s2 += E_0, then E_1, ..., E_{k-2}: E_k = sum_{l>k} C_kl d_kl d_kl^T,
    d_kl = m_k - m_l, each summed over l in order from zero.

    The arithmetic of ``einsum("l,li,lj->ij", C[k, k+1:], d_k, d_k)`` per k
    (each term (C_kl d_kli) d_klj, added in l's order), worked for all k at
    once: the pairs (k, l) are laid out by l - k, so the j-th terms of
    every k are one block, added to the sums of the k that have them.
    """
    k_index, l_index, blocks = _pair_layout(cc.shape[0])
    dm = means[k_index] - means[l_index]
    # the products (C_kl d_kli) d_klj (einsum adds each to 0: a zero may
    # lose its sign, which a sum from +0 does not see)
    terms = np.einsum("pi,pj->pij", cc[k_index, l_index][:, None] * dm, dm)
    between = np.zeros((cc.shape[0] - 1,) + s2.shape)
    for first, count in blocks:
        between[:count] += terms[first:first + count]
    for k in range(between.shape[0]):
        s2 += between[k]


@functools.lru_cache(maxsize=16)
def _pair_layout(n_components):
    """The pairs (k, l > k) ordered by l - k, then k: their k and l index
    arrays and the (first pair, count) of each l - k = 1, 2, ..."""
    k_parts, l_parts, blocks = [], [], []
    for offset in range(1, n_components):
        k = np.arange(n_components - offset)
        blocks.append((sum(part.size for part in k_parts), k.size))
        k_parts.append(k)
        l_parts.append(k + offset)
    k_index, l_index = np.concatenate(k_parts), np.concatenate(l_parts)
    k_index.setflags(write=False)
    l_index.setflags(write=False)
    return k_index, l_index, tuple(blocks)


def _mirror_upper(s2):
    """Copy the strict upper triangle of each (d, d) matrix of ``s2`` onto
    the lower one, in place (the kernels leave the lower one unset)."""
    np.copyto(s2, np.swapaxes(s2, -1, -2), where=_strictly_lower(s2.shape[-1]))


@functools.lru_cache(maxsize=16)
def _strictly_lower(n):
    """The mask of the strict lower triangle of an n x n matrix (read-only)."""
    mask = np.tri(n, n, -1, dtype=bool)
    mask.setflags(write=False)
    return mask


def recenter_full(out, shift):
    """Move 'full' statistics taken around m + shift to be around m, in place.

    The float32 BLAS tiles compute x - m with the means rounded to float32,
    m' = m + shift; with S1' and S2' around m':
    S1 = S1' + N shift, S2 = S2' + S1' shift^T + shift S1'^T + N shift shift^T.
    The terms are small (shift is a float32 rounding error); no cancellation.
    """
    s1_prime = out.s1.copy()
    out.s1 += out.nk[:, None] * shift
    cross = s1_prime[:, :, None] * shift[:, None, :]
    out.s2 += cross + np.swapaxes(cross, 1, 2)
    out.s2 += out.nk[:, None, None] * shift[:, :, None] * shift[:, None, :]


# ---------------------------------------------------------------------- BLAS

_controller = None


def single_threaded_blas(active=True):
    """Hold BLAS to one thread (inside our own threads, and around the EM loop).

    Besides oversubscription, this stops OpenBLAS's idle threads from spinning
    after each small LAPACK call of the M-step while our threads run the pass:
    on two cores that cost the pass a third of its speed. The controller scans
    the loaded libraries once; limiting with it costs microseconds.
    """
    global _controller
    if not active:
        return nullcontext()
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
