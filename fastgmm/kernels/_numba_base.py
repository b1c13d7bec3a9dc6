"""What the Numba backend's modules share: the compile options, an exact
fused multiply-add, and the threads a driver runs its partitions on.

`_numba` (the passes, the posteriors, the EM run in one call), `_numba_kmeans`
(the k-means calls), `_numba_mstep` (the arithmetic between two EM passes)
and `_numba_math` (the vectorizable exp and logs) import this module;
`_numba`, the backend's drivers module, imports the others and supplies
their drivers (no circle).

Numba's disk cache checks a function against its own file only: a function
that compiled in a callee from another of these files (`_numba_mstep`'s M-step
in `_numba._em_run`, `pairwise` everywhere, `_numba_math`'s exp and logs in
every pass) keeps that callee's old code
after the callee's file changes. After changing a compiled function called
across files, clear the cache (the ``*.nbi``/``*.nbc`` files in
``fastgmm/kernels/__pycache__``). The passes that `_em_run`, `_kpp_loop` and
`_lloyd_loop` call through function pointers are not compiled into them.
"""

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import numpy as np

import numba
from numba import njit, types  # noqa: F401  (njit: the modules' decorator)
from numba.extending import intrinsic

from ._common import usable_cores


def _lock_cache_files():
    """Make Numba's disk cache safe for processes that compile at once.

    Numba's index (``numba.core.caching.IndexDataCacheFile``) names a new
    entry's data file by the first number free in the index it loaded: two
    processes that compile the same function at once (pytest-xdist workers,
    dask workers on one host, a search in processes) both load an index
    without it, write different signatures to the same file, and a later
    process loads one signature's code for another (``TypeError: can't
    unbox array``). Here each save and load holds an exclusive lock on a
    file beside the index (POSIX ``flock``; elsewhere nothing changes), so
    the index and its data files change one process at a time.
    """
    try:
        import fcntl
        from numba.core import caching
    except ImportError:  # pragma: no cover - not POSIX, or another Numba
        return
    cache_file = getattr(caching, "IndexDataCacheFile", None)
    if cache_file is None or getattr(cache_file, "_fastgmm_locked", False):
        return

    def locked(method):
        def run(self, *args):
            try:
                fd = os.open(self._index_path + ".lock", os.O_CREAT | os.O_RDWR, 0o644)
            except OSError:  # (a read-only cache directory: as Numba would)
                return method(self, *args)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                return method(self, *args)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

        run.__wrapped__ = method
        return run

    cache_file.save = locked(cache_file.save)
    cache_file.load = locked(cache_file.load)
    cache_file._fastgmm_locked = True


_lock_cache_files()

# fastmath is set here and nowhere else. Reassociation lets sums over rows
# vectorize; results stay deterministic for a given machine and partitioning.
# No 'nnan'/'ninf': -inf log-probabilities must compare correctly.
_FASTMATH = {"reassoc", "contract", "nsz"}
# error_model='numpy': IEEE division (x / 0 is inf or NaN, as in C), no
# Python ZeroDivisionError check in the loops.
_JIT = dict(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
# The arithmetic that must give NumPy's (or the C extension's) bits: no
# fastmath at all, so LLVM neither reassociates nor contracts a product and a
# sum into a multiply-add; where a multiply-add is meant, `fma` says so.
_STRICT = dict(cache=True, nogil=True, error_model="numpy")


def _host_has_fma():
    try:
        from llvmlite import binding

        return bool(binding.get_host_cpu_features().get("fma", False))
    except Exception:  # pragma: no cover - no LLVM to ask
        return False


#: Whether this CPU has fused multiply-adds: the Cython extension's builds for
#: it (x86-64-v3, v4) then contract k-means' chains x.c into them, and so do
#: the Numba k-means loops (`_numba_kmeans`), to give the same bits; its
#: baseline build (no FMA) rounds each product, as they then do.
HOST_FMA = _host_has_fma()


if numba.config.DISABLE_JIT:
    # kernels run as Python (coverage): the exact result, rounded once

    def fma(a, b, c):
        if math.isfinite(a) and math.isfinite(b) and math.isfinite(c):
            return float(Fraction(a) * Fraction(b) + Fraction(c))
        return a * b + c  # pragma: no cover - inf and NaN as the hardware's

else:

    @intrinsic
    def fma(typingctx, a, b, c):
        """a * b + c rounded once (LLVM's llvm.fma: one instruction where the
        CPU has it, else the C library's fma)."""
        def codegen(context, builder, signature, args):
            return builder.fma(*args)

        return types.float64(types.float64, types.float64, types.float64), codegen


@njit(**_STRICT)
def _pairwise_leaf(a, first, n):
    """NumPy's sum of at most 128 values: 8 accumulators (fewer than 8
    values: one, from -0)."""
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[first + i]
        return res
    r0, r1, r2, r3 = a[first], a[first + 1], a[first + 2], a[first + 3]
    r4, r5, r6, r7 = a[first + 4], a[first + 5], a[first + 6], a[first + 7]
    i = 8
    while i < n - (n % 8):
        at = first + i
        r0 += a[at]
        r1 += a[at + 1]
        r2 += a[at + 2]
        r3 += a[at + 3]
        r4 += a[at + 4]
        r5 += a[at + 5]
        r6 += a[at + 6]
        r7 += a[at + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[first + i]
        i += 1
    return res


@njit(**_STRICT)
def pairwise(a, first, n):
    """np.add.reduce(a[first:first + n]) of a contiguous float64 array:
    NumPy's pairwise sum (its halves cut at multiples of 8 down to blocks
    of 128; `fgm_pairwise` in the extension), on an explicit stack (Numba's
    cache does not keep recursive functions)."""
    if n <= 128:
        return _pairwise_leaf(a, first, n)
    starts = np.empty(64, dtype=np.int64)
    sizes = np.empty(64, dtype=np.int64)
    joins = np.empty(64, dtype=np.bool_)
    values = np.empty(64)
    top = 1
    starts[0], sizes[0], joins[0] = first, n, False
    count = 0
    while top > 0:
        top -= 1
        at, size, join = starts[top], sizes[top], joins[top]
        if join:  # both halves are done: left + right
            values[count - 2] = values[count - 2] + values[count - 1]
            count -= 1
        elif size <= 128:
            values[count] = _pairwise_leaf(a, at, size)
            count += 1
        else:
            half = size // 2
            half -= half % 8
            starts[top], sizes[top], joins[top] = at, size, True
            starts[top + 1], sizes[top + 1], joins[top + 1] = at + half, size - half, False
            starts[top + 2], sizes[top + 2], joins[top + 2] = at, half, False
            top += 3
    return values[0]


# --- threads ----------------------------------------------------------------------

_pool = None
_pool_pid = None
_pool_lock = threading.Lock()


def _thread_pool():
    """The process's pool of kernel threads (made anew in a forked child)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=max(1, usable_cores() - 1),
                                       thread_name_prefix="fastgmm-numba")
            _pool_pid = os.getpid()
        return _pool


def run_shares(n_threads, n_items, run_share):
    """``run_share(t, T)`` for t < T = min(n_threads, n_items): share 0 in
    this thread, the others in the pool; the first exception is raised."""
    n_shares = max(1, min(int(n_threads), int(n_items)))
    if n_shares == 1:
        run_share(0, 1)
        return
    futures = [_thread_pool().submit(run_share, t, n_shares)
               for t in range(1, n_shares)]
    try:
        run_share(0, n_shares)
    finally:
        for future in futures:
            future.result()
