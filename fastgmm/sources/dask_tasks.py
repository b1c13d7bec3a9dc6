"""The tasks of `sources.dask`: what runs where a dask array's chunks live
(the compiled pass over one chunk and its partitions, the fixed tree that adds
the chunks' statistics in chunk order, the posterior of a chunk, the rows an
initialization takes), and how many kernel threads each runs (`_threads`).
"""

import sys
from dataclasses import dataclass

import dask
import numpy as np

from .. import kernels
from .._constants import sum_is_finite
from ..kernels import _common
from . import rows as _source

# ------------------------------------------------------------ the scheduler


def current_client():
    """The ``distributed.Client`` dask computes with now, or None."""
    if "distributed" not in sys.modules:
        return None
    from distributed import Client

    owner = getattr(dask.base.get_scheduler(), "__self__", None)
    return owner if isinstance(owner, Client) else None


def _worker():
    """The distributed worker running this task, or None."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:
        return None


def _host(address):
    """The host of a worker's address (None if it cannot be read here)."""
    from distributed.comm import get_address_host

    try:
        return get_address_host(address)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Threads:
    """The kernel threads of one task, decided where the task runs.

    ``host_threads`` gives the task threads of all workers on each host
    (from the scheduler, when the fit starts); on a host it does not know, a
    worker counts its own threads.
    """

    cap: object = None  # the estimator's n_threads (None: no cap)
    local: int = 1  # outside a distributed worker
    host_threads: tuple = ()

    def __call__(self):
        n = self.local
        worker = _worker()
        if worker is not None:
            own = int(getattr(getattr(worker, "state", worker), "nthreads", 1) or 1)
            threads = dict(self.host_threads).get(_host(worker.address), own)
            n = max(1, _common.usable_cores() // max(own, threads, 1))
        return n if self.cap is None else max(1, min(n, int(self.cap)))


def _threads(n_threads, X):
    """`_Threads` for tasks of X on the current scheduler."""
    client = current_client()
    if client is None:
        # dask's threads (one task per core) or its synchronous scheduler
        sync = dask.base.get_scheduler(collections=[X]) is dask.local.get_sync
        return _Threads(n_threads, _common.usable_cores() if sync else 1)
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]
    except TypeError:  # distributed before n_workers=
        workers = client.scheduler_info()["workers"]
    per_host = {}
    for info in workers.values():
        per_host[info["host"]] = per_host.get(info["host"], 0) + int(info["nthreads"])
    return _Threads(n_threads, 1, tuple(sorted(per_host.items())))


# --------------------------------------------------------------- the tasks


def _kernel_rows(block, dtype, start, check, missing=False):
    """A chunk as the kernels read it (C-contiguous float32/float64), checked
    for NaN and infinity (with ``missing``, infinity only: NaN is a missing
    entry) (the row named in all of X) when ``check``."""
    X = np.ascontiguousarray(block, dtype=dtype)
    if X.ndim != 2:
        raise ValueError(f"a chunk of X has shape {X.shape}, expected 2-D rows")
    if check and missing:
        from .missing import _check_no_infinity

        if not sum_is_finite(X):
            _check_no_infinity(X, start)
    elif check:
        _source.check_finite(X, start)
    return X


@dataclass(frozen=True, eq=False)
class _Job:
    """What every chunk's task needs: the kernels, the parameters of log p,
    the dtype they read and their thread count."""

    backend: str
    c: np.ndarray
    means: np.ndarray
    U: np.ndarray
    covariance_type: str
    dtype: np.dtype
    threads: _Threads


@dataclass(frozen=True, eq=False)
class _PassJob(_Job):
    """What a chunk's task needs for one pass (sent with each iteration)."""

    check: bool
    #: the in-memory pass's partition bounds when the chunks align with
    #: them, else None (each chunk a pass of its own)
    bounds: object = None
    #: NaN entries are missing values (``nan_policy='marginalize'``)
    missing: bool = False
    #: the Student-t pass's degrees of freedom, or None
    dof: object = None


@dataclass
class _Partitions:
    """Unreduced partial statistics of consecutive partitions of the pass
    (`kernels._common.Partials`' slots: nr and tlu those of the Student-t
    pass, zeros after a Gaussian pass)."""

    nk: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    cc: np.ndarray
    ll: np.ndarray
    nr: np.ndarray
    tlu: np.ndarray


def _chunk_statistics(block, w, start, job):
    """The statistics of one chunk: `SufficientStats`, or its `_Partitions`."""
    X = _kernel_rows(block, job.dtype, start, job.check, job.missing)
    backend = kernels.get_backend(job.backend)
    if job.missing:  # the chunk's own patterns (`sources.missing`)
        from .missing import IncompleteRows

        return IncompleteRows(X).statistics(backend, w, job.c, job.means, job.U,
                                            job.covariance_type, job.threads(),
                                            dof=job.dof)
    # the in-memory pass's partitions inside this chunk, counted from its row 0
    bounds = (None if job.bounds is None else
              _common.window_bounds(job.bounds, start, start + X.shape[0]))
    stats_pass = backend.begin_pass(X.shape[0], job.c, job.means, job.U,
                                    job.covariance_type, job.threads(), bounds=bounds,
                                    dof=job.dof)
    stats_pass.add(X, w)
    if bounds is None:
        return stats_pass.finish()
    q = stats_pass.partial_sums()
    return _Partitions(*(getattr(q, name) for name in _common.Partials.NAMES))


def _combine(a, b):
    """The statistics of two consecutive runs of chunks (a before b)."""
    if isinstance(a, _Partitions):
        return _Partitions(*(np.concatenate([getattr(a, name), getattr(b, name)])
                             for name in _common.Partials.NAMES))
    return a + b


def _tree(parts):
    """``parts`` (delayed, in chunk order) added pairwise by a fixed tree."""
    combine = dask.delayed(_combine, pure=True)
    while len(parts) > 1:
        paired = [combine(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            paired.append(parts[-1])
        parts = paired
    return parts[0]


@dataclass(frozen=True, eq=False)
class _PosteriorJob(_Job):
    """What a chunk's task needs for per-row outputs of a fitted mixture."""

    #: partitions of all rows ('diag' layout), where the in-memory tiles fall
    bounds: np.ndarray
    missing: bool = False
    #: the Student-t log p's degrees of freedom, or None
    dof: object = None

    def run(self, block, start, **outputs):
        X = _kernel_rows(block, self.dtype, start, True, self.missing)
        if X.shape[0] and self.missing:
            from .missing import IncompleteRows

            IncompleteRows(X).posterior(
                kernels.get_backend(self.backend), self.c, self.means, self.U,
                self.covariance_type, self.threads(), dof=self.dof, **outputs)
        elif X.shape[0]:
            kernels.get_backend(self.backend).posterior(
                X, self.c, self.means, self.U, self.covariance_type,
                n_threads=self.threads(),
                bounds=_common.window_bounds(self.bounds, start, start + X.shape[0]),
                dof=self.dof, **outputs)


def _chunk_log_likelihood(block, start, job):
    """sum_i log p(x_i) over one chunk, in float64."""
    log_norm = np.empty(block.shape[0], dtype=job.dtype)
    job.run(block, start, log_norm=log_norm)
    return float(np.sum(log_norm, dtype=np.float64))


def _posterior_block(block, job, output, block_info=None):
    """One chunk of a lazy predict / predict_proba / score_samples."""
    start = block_info[0]["array-location"][0][0]
    n = block.shape[0]
    if output == "labels":
        out = np.empty(n, dtype=np.intp)
    elif output == "resp":
        out = np.empty((n, job.means.shape[0]), dtype=job.dtype)
    else:
        out = np.empty(n, dtype=job.dtype)
    job.run(block, start, **{output: out})
    return out


def _take_block(block, w, local, start, dtype, missing=False):
    """Rows ``local`` (None: all) of a chunk, and their weights."""
    X = _kernel_rows(block, dtype, start, True, missing)
    if local is None:
        return X, w
    return X[local], None if w is None else np.asarray(w)[local]
