"""Rows of a dask array: a fit's passes run as tasks where the array lives.

`DaskRows` offers the estimator what `sources.rows.WindowedRows` offers
(``sample_weight``, ``total_weight``, ``take``, ``rows``, ``statistics``,
``mean_log_likelihood``) and, for per-row results, lazy dask arrays
(``lazy_posterior``). One EM iteration is one task per chunk of rows, each
running the compiled pass on its chunk (the backend is named, the small
parameter arrays travel with the graph), and a fixed pairwise tree that adds
the chunks' statistics in chunk order: a fit is the same whatever the number
of workers or threads and whatever order the tasks finish in.

Two layouts of the pass, which decide how the fit compares with the
in-memory fit of the same rows when both initialize from the same rows (a
dask array initializes as a memory map does: from all rows while they fit
its budget, else from a sample, with a `fastgmm.InitSampleWarning`, where an
in-memory X always uses all rows; the same int ``init_sample_size`` draws the
same rows from both):

- every chunk boundary falls on a bound of the in-memory pass's partitions
  (`kernels._common.partition_bounds`): each task returns its partitions'
  partial statistics, unreduced, and the reduction is the in-memory one, so
  the fit equals the in-memory fit bit for bit;
- otherwise each chunk is a pass of its own (over the chunk's partitions),
  and the fit equals the in-memory fit to rounding.

The tasks run on whatever scheduler dask uses (a ``distributed.Client``, or
dask's local threads). Each runs ``max(1, cores // task threads on its
host)`` kernel threads, so that tasks x kernel threads never exceed the
cores. The tasks themselves are `sources.dask_tasks`'. This module is
imported only when fastgmm is handed a dask array (or by ``fastgmm fit
--dask``, `fastgmm.cli.dask`).
"""

import math
import warnings
from dataclasses import dataclass
from numbers import Real

import dask
import dask.array as da
import numpy as np

from .._constants import fit_dtype
from ..kernels import _common
from . import rows as _source
from .dask_tasks import (
    _chunk_log_likelihood,
    _chunk_statistics,
    _PassJob,
    _posterior_block,
    _PosteriorJob,
    _take_block,
    _Threads,
    _threads,
    _tree,
    current_client,
)

# ---------------------------------------------------------------- weights


@dataclass
class _Weights:
    """A fit's sample weights, scaled to mean 1 over the positive ones.

    ``array``: a (persisted) dask array chunked as X's rows; ``total``: their
    sum; ``values``: the same weights in memory when the user gave them so.
    """

    array: object
    total: float
    values: object = None


def _check_scalar_weight(value, n_samples, n_components):
    """A scalar weight is every row's: valid, it weighs as no weights at all."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if value < 0:
        raise ValueError("Negative values in data passed to sample_weight")
    if value == 0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if n_samples < n_components:
        raise ValueError(
            "Expected at least n_components samples with a positive weight, "
            f"got {n_samples} for n_components = {n_components}")


# ------------------------------------------------------------------ rows


def _persisted_where(X):
    """Where X's chunks are held: 'cluster' (futures), 'process' (arrays in
    its graph, in this process), or None (computed from a graph of tasks)."""
    graph = X.__dask_graph__()
    layers = getattr(graph, "layers", None)
    if layers is not None:
        if graph.dependencies.get(X.name):
            return None
        graph = layers.get(X.name)
        from dask.highlevelgraph import MaterializedLayer

        if not isinstance(graph, MaterializedLayer):
            return None
    where = set()
    for key in dask.core.flatten(X.__dask_keys__()):
        value = graph.get(key)
        if type(value).__name__ == "Future":
            where.add("cluster")
        elif isinstance(value, np.ndarray):
            where.add("process")
        else:
            return None
    return "process" if "process" in where else "cluster"


class DaskRows(_source._Rows):
    """A 2-D dask array whose passes run as one task per chunk of rows.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Numbers; float32 is read as float32, other dtypes are converted to
        float64 chunk by chunk. Unknown chunk sizes are computed (once, in
        place, as ``X.compute_chunk_sizes()`` does); chunks that split the
        columns are merged (``X.rechunk({1: -1})``).
    ensure_min_samples : int
        As in scikit-learn's ``check_array``.
    """

    def __init__(self, X, ensure_min_samples=1, missing=False):
        self.missing = missing  # NaN entries: missing values, marginalised
        if X.ndim != 2:
            raise ValueError(
                f"Expected 2D array, got {X.ndim}D array instead (a dask array of "
                f"shape {X.shape}). Reshape your data either using "
                "X.reshape(-1, 1) if your data has a single feature or "
                "X.reshape(1, -1) if it contains a single sample.")
        dtype = np.dtype(X.dtype)
        if dtype.kind not in "biuf":
            raise ValueError(
                f"X holds {dtype} values; a mixture needs numbers (float32 or "
                "float64, or integers, converted chunk by chunk)")
        if any(math.isnan(c) for chunks in X.chunks for c in chunks):
            X.compute_chunk_sizes()
        n_samples, n_features = (int(s) for s in X.shape)
        shape = (n_samples, n_features)
        _source.check_shape(shape, ensure_min_samples)
        self.rechunked = len(X.chunks[1]) > 1
        if self.rechunked:
            X = X.rechunk({1: -1})
        self.X = X
        self.n_samples, self.n_features = shape
        self.source_dtype = dtype
        self.dtype = fit_dtype(dtype)
        self.chunk_rows = np.asarray(X.chunks[0], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.chunk_rows)])
        self._blocks = None
        self._checked = False  # every chunk checked for NaN/inf by a pass
        self._warned = False
        self._threads = None  # the kernel-thread rule of the fit's tasks

    # ----------------------------------------------------------- chunks

    def blocks(self):
        """(index, first row, delayed chunk) of the chunks that have rows."""
        if self._blocks is None:
            delayed = self.X.to_delayed(optimize_graph=False).ravel()
            self._blocks = [(i, int(self.starts[i]), delayed[i])
                            for i in range(len(delayed)) if self.chunk_rows[i]]
        return self._blocks

    def threads(self, n_threads):
        """`_Threads` of this object's tasks (the cluster's layout, asked once)."""
        if self._threads is None:
            self._threads = _threads(None, self.X)
        return _Threads(n_threads, self._threads.local, self._threads.host_threads)

    def _weight_blocks(self, w):
        if w is None:
            return None
        return w.array.to_delayed(optimize_graph=False).ravel()

    def _warn_unless_persisted(self):
        if self._warned:
            return
        self._warned = True
        client = current_client()
        where = _persisted_where(self.X)
        if where == "cluster" or (where == "process" and client is None):
            return
        if where == "process":
            what = ("is held by this process, not by the cluster: each EM "
                    "iteration sends it to the workers again")
            fix = "X = X.persist() while the client is active"
        else:
            what = ("is not persisted: each EM iteration computes it again from "
                    "its graph")
            fix = "X = X.persist()"
        if self.rechunked:
            what += (" (its chunks split the columns; fastgmm reads rechunked rows, "
                     "X.rechunk({1: -1}))")
            fix = "X = X.rechunk({1: -1}).persist()"
        warnings.warn(
            f"The dask array X {what}. If it fits in the memory of the "
            f"{'cluster' if client is not None else 'machine'}, persist it first: "
            f"{fix}.", da.PerformanceWarning, stacklevel=2)

    # ---------------------------------------------------------- weights

    def sample_weight(self, sample_weight, n_components, scaled=True):
        """The fit's weights, scaled as `sources.rows.check_sample_weight` scales
        them (mean 1 over the positive ones; ``scaled=False``: as given), as
        a `_Weights`, or None."""
        if sample_weight is None:
            return None
        if isinstance(sample_weight, Real) and not isinstance(sample_weight, bool):
            _check_scalar_weight(sample_weight, self.n_samples, n_components)
            if scaled:
                return None  # the same weight for all: as no weights
            array = da.full(self.n_samples, float(sample_weight), dtype=np.float64,
                            chunks=(self.X.chunks[0],)).persist()
            return _Weights(array, float(sample_weight) * self.n_samples)
        if _source.is_dask_array(sample_weight):
            return self._dask_weights(sample_weight, n_components, scaled)
        w = _source.check_sample_weight(sample_weight, self.n_samples, n_components,
                                        scaled)
        array = da.from_array(w, chunks=(self.X.chunks[0],)).persist()
        return _Weights(array, float(np.sum(w)), w)

    def first_weighted(self, w, count):
        """The indices of the first ``count`` rows of positive weight (sorted),
        reading the weights chunk by chunk only as far as needed."""
        if w is None:
            return np.arange(min(self.n_samples, count))
        if w.values is not None:
            return np.flatnonzero(w.values > 0)[:count]
        found, n_found = [], 0
        for i, block in enumerate(self._weight_blocks(w)):
            found.append(np.flatnonzero(np.asarray(block.compute()) > 0)
                         + self.starts[i])
            n_found += len(found[-1])
            if n_found >= count:
                break
        return np.concatenate(found)[:count].astype(np.int64)

    def _dask_weights(self, w, n_components, scaled=True):
        if w.ndim != 1:
            raise ValueError("Sample weights must be 1D array or scalar")
        if np.dtype(w.dtype).kind not in "biuf":
            raise ValueError(f"sample_weight holds {w.dtype} values, not numbers")
        if any(math.isnan(c) for c in w.chunks[0]):
            w.compute_chunk_sizes()
        if w.shape != (self.n_samples,):
            raise ValueError(
                f"sample_weight.shape == {w.shape}, expected {(self.n_samples,)}!")
        w = w.astype(np.float64)
        if w.chunks[0] != self.X.chunks[0]:
            w = w.rechunk((self.X.chunks[0],))
        nan, inf, negative, top, n_weighted = dask.compute(
            da.isnan(w).any(), da.isinf(w).any(), (w < 0).any(), w.max(),
            da.count_nonzero(w))
        # scikit-learn's messages (check_array, then _check_sample_weight)
        if nan:
            raise ValueError("Input sample_weight contains NaN.")
        if inf:
            raise ValueError("Input sample_weight contains infinity or a value too "
                             "large for dtype('float64').")
        if negative:
            raise ValueError("Negative values in data passed to sample_weight")
        if not top > 0:
            raise ValueError("Sample weights must contain at least one non-zero number.")
        n_weighted = int(n_weighted)
        if n_weighted < n_components:
            raise ValueError(
                "Expected at least n_components samples with a positive weight, "
                f"got {n_weighted} for n_components = {n_components}")
        if not scaled:
            array = w.persist()
            return _Weights(array, float(array.sum().compute()))
        unit = w / top
        factor = n_weighted / float(unit.sum().compute())
        array = (unit * factor).persist()
        return _Weights(array, float(array.sum().compute()))

    def total_weight(self, w):
        return float(self.n_samples if w is None else w.total)

    # ------------------------------------------------------------ rows

    def take(self, indices, w, progress=None):
        """The rows at sorted ``indices`` (None: all) and their weights, in
        memory (for the initialization)."""
        weight_blocks = self._weight_blocks(w) if w is not None and w.values is None \
            else None
        take = dask.delayed(_take_block, pure=True)
        tasks = []
        for i, start, block in self.blocks():
            if indices is None:
                local = None
            else:
                lo, hi = np.searchsorted(indices, [start, start + self.chunk_rows[i]])
                if hi == lo:
                    continue
                local = np.asarray(indices[lo:hi]) - start
            tasks.append(take(block, None if weight_blocks is None else
                              weight_blocks[i], local, start, self.dtype, self.missing))
        parts = dask.compute(*tasks)
        X = np.concatenate([p[0] for p in parts]) if parts else np.empty(
            (0, self.n_features), dtype=self.dtype)
        if w is None:
            return X, None
        if w.values is not None:
            return X, w.values if indices is None else w.values[indices]
        return X, np.concatenate([p[1] for p in parts])

    def rows(self, indices=None):
        """The rows at sorted ``indices`` (None: all), in memory."""
        return self.take(indices, None)[0]

    def observed_sums(self, w):
        """(weighted count, weighted sum) of each feature's observed entries
        (one more pass on the cluster)."""
        observed = ~da.isnan(self.X)
        weights = (da.ones(self.n_samples, chunks=(self.X.chunks[0],)) if w is None
                   else w.array)
        values = da.where(observed, self.X, 0).astype(np.float64)
        return dask.compute(weights @ observed.astype(np.float64), weights @ values)

    def initial_fill(self, w):
        """With missing entries, each feature's weighted mean over its observed
        entries of all of X (what the initialization takes for the NaN of the
        rows `take` returns); else None."""
        if not self.missing:
            return None
        from .missing import observed_means

        return observed_means(*self.observed_sums(w))

    # ----------------------------------------------------------- passes

    def aligned(self, n_components, covariance_type):
        """The in-memory pass's partition bounds if every chunk boundary is one
        of them (then the statistics have its bits), else None."""
        bounds = _common.partition_bounds(self.n_samples, n_components,
                                          self.n_features, covariance_type)
        return bounds if np.isin(self.starts, bounds).all() else None

    def statistics(self, backend, w, c, means, U, covariance_type, n_threads,
                   dof=None):
        """One EM pass: a task per chunk, their statistics added by a fixed
        tree in chunk order; `SufficientStats` (L in ``ll``). ``dof``: the
        Student-t pass (`kernels._backend`)."""
        self._warn_unless_persisted()
        if self.missing and dof is not None:
            from .missing import _refuse_dof

            _refuse_dof(dof)
        n_components = means.shape[0]
        bounds = None if self.missing else self.aligned(n_components, covariance_type)
        job = dask.delayed(_PassJob(
            backend.name, c, means, U, covariance_type, self.dtype,
            self.threads(n_threads), not self._checked, bounds, self.missing, dof),
            pure=True)
        weight_blocks = self._weight_blocks(w)
        chunk = dask.delayed(_chunk_statistics, pure=True)
        parts = [chunk(block, None if weight_blocks is None else weight_blocks[i],
                       start, job)
                 for i, start, block in self.blocks()]
        (total,) = dask.compute(_tree(parts))
        self._checked = True
        if bounds is None:
            return total
        # the in-memory reduction of the partitions (and float32 re-centring)
        stats_pass = backend.begin_pass(self.n_samples, c, means, U, covariance_type, 1,
                                        dof=dof)
        stats_pass.load_partials(total, self.dtype)
        return stats_pass.finish()

    def _posterior_job(self, backend, c, means, U, covariance_type, n_threads,
                       dof=None):
        if self.missing and dof is not None:
            from .missing import _refuse_dof

            _refuse_dof(dof)
        return _PosteriorJob(
            backend.name, c, means, U, covariance_type, self.dtype,
            self.threads(n_threads),
            _common.partition_bounds(self.n_samples, means.shape[0], self.n_features,
                                     "diag"), self.missing, dof)

    def mean_log_likelihood(self, backend, c, means, U, covariance_type, n_threads,
                            dof=None):
        """The mean of log p(x_i): chunk sums in float64, added in chunk order."""
        job = dask.delayed(self._posterior_job(backend, c, means, U, covariance_type,
                                               n_threads, dof), pure=True)
        task = dask.delayed(_chunk_log_likelihood, pure=True)
        sums = dask.compute(*[task(block, start, job)
                              for _, start, block in self.blocks()])
        total = 0.0
        for s in sums:
            total += s
        return total / self.n_samples

    def lazy_posterior(self, model, output, dof=None):
        """``predict`` ('labels'), ``predict_proba`` ('resp') or
        ``score_samples`` ('log_norm') of ``model`` on X, as a lazy dask array
        chunked as X's rows (the model's parameters as they are now; ``dof``:
        its Student-t log p's degrees of freedom)."""
        backend, c, means, U = model._kernel_args(self)
        job = self._posterior_job(backend, c, means, U,
                                  model._fitted_spec.structure.storage, model.n_threads,
                                  dof)
        name = f"fastgmm-{output.replace('_', '-')}"
        if output == "resp":
            k = means.shape[0]
            return self.X.map_blocks(
                _posterior_block, job, output, token=name, dtype=self.dtype,
                chunks=(self.X.chunks[0], (k,)),
                meta=np.empty((0, 0), dtype=self.dtype))
        dtype = np.dtype(np.intp) if output == "labels" else self.dtype
        return self.X.map_blocks(
            _posterior_block, job, output, token=name, dtype=dtype, drop_axis=1,
            meta=np.empty((0,), dtype=dtype))
