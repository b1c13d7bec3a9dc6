"""The bench harness: every fitter on the same data, in one process.

    python benchmarks/harness.py [--quick] [--d 8 32] [--covariance full] ...

It runs from a source checkout against the fastgmm installed there (the
package ships none of the benchmarks); ``--help`` lists the options. The asv
suite (``benchmarks/suite``) loads this file by its path.

For each workload (n, d, k, covariance type, dtype) the fitters run
alternately, several times, from the same initial parameters with ``tol=0``:
fastgmm with each backend, scikit-learn, Intel's daal4py (oneDAL) when it is
installed, and ``fastgmm.reference`` for small n. A fitter's time per EM
iteration is the difference of a fit of ``m`` iterations and a fit of one,
over ``m - 1`` (so that validation, set-up and scikit-learn's final E-step do
not count), the median over repeats. The table also gives GFLOP/s and the
share of this machine's peak (measured here with a large matrix product),
the peak memory of a fit beyond X (resident set size sampled during the fit),
the lower-bound difference to scikit-learn after the same iterations, and the
speed of ``predict_proba``.

The out-of-core cell (``--memmap N``, `run_memmap`) times one fastgmm fit of
N rows from a ``.npy`` file memory-mapped (``np.load(path, mmap_mode='r')``,
read once beforehand so that it is in the page cache) and from the same rows
in memory, alternately, and gives the throughput ratio and each fit's peak
anonymous memory beyond X (``RssAnon``: a memory map's pages are not
anonymous, so this is what the fit allocates).

Flop counts per EM iteration of the fused pass (multiply and add count one
each): 'full' 2·n·k·d², 'tied' n·(2d² + 6kd + k²), 'diag' 9·n·k·d,
'spherical' 7·n·k·d.
"""

import argparse
import contextlib
import gc
import importlib.util
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from fastgmm._demo import make_data

FULL_GRID = (
    [(1_000_000, d, k, ct) for d in (2, 8, 32, 128) for k in (4, 16)
     for ct in ("full", "diag")]
    + [(1_000_000, 8, 16, "tied"), (1_000_000, 8, 16, "spherical")]
)
#: The out-of-core cell's workload by default: (n, d, k, covariance type), n
#: given by --memmap (asv's MemmapFit: 8 float32 columns, 'diag', k=6).
MEMMAP_GRID = [(None, 8, 6, "diag")]
QUICK_GRID = [
    (200_000, 2, 4, "full"), (200_000, 8, 16, "full"), (200_000, 8, 16, "diag"),
    (200_000, 32, 4, "full"), (200_000, 8, 16, "tied"), (200_000, 8, 16, "spherical"),
]


def flops_per_iteration(n, d, k, covariance_type):
    """The flop count of one fused pass (see the module docstring)."""
    return {
        "full": 2.0 * n * k * d * d,
        "tied": n * (2.0 * d * d + 6.0 * k * d + k * k),
        "diag": 9.0 * n * k * d,
        "spherical": 7.0 * n * k * d,
    }[covariance_type]


def measure_peak_gflops(dtype, size=3000, repeats=3):
    """GFLOP/s of a large matrix product with all cores: this machine's peak."""
    rng = np.random.RandomState(0)
    a = rng.rand(size, size).astype(dtype)
    b = rng.rand(size, size).astype(dtype)
    a @ b
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best / 1e9


# --- memory: the peak resident set size during a call -------------------------------

def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _anon_bytes():
    """Resident anonymous memory (``RssAnon``): the heap and anonymous maps,
    not the pages of a file's memory map."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise OSError("no RssAnon in /proc/self/status")


class PeakRSS:
    """Sample the process's resident set size every millisecond in a thread.

    ``extra`` is the peak during the block minus the size before it. The
    kernels release the GIL, so the sampler keeps running. Returns None where
    /proc is missing.
    """

    _read = staticmethod(_rss_bytes)

    def __enter__(self):
        try:
            self.before = self._read()
        except OSError:
            self.before = None
            return self
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, self._read())

    def __exit__(self, *exc):
        if self.before is not None:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self._read())
            self.extra = self.peak - self.before
        else:
            self.extra = None
        return False


class PeakAnon(PeakRSS):
    """`PeakRSS` of the anonymous memory only (``RssAnon``)."""

    _read = staticmethod(_anon_bytes)


# --- fitters -------------------------------------------------------------------------

@dataclass
class Fitter:
    """A named way to run ``m`` EM iterations from given initial parameters."""

    name: str
    fit: object  # fit(X, init, covariance_type, max_iter) -> (lower_bounds, model)
    predict_proba: object = None  # predict_proba(model, X)
    max_n: int = None  # skip workloads with more samples


def _fastgmm_fitter(backend, n_threads=None):
    from fastgmm.mixture import GaussianMixture

    def fit(X, init, covariance_type, max_iter):
        model = GaussianMixture(
            init["weights"].shape[0], covariance_type=covariance_type, tol=0,
            max_iter=max_iter, backend=backend, n_threads=n_threads,
            weights_init=init["weights"], means_init=init["means"],
            precisions_init=init["precisions"],
        )
        model.fit(X)
        return model.lower_bounds_, model

    suffix = "" if n_threads is None else f" ({n_threads} thread)"
    return Fitter(f"fastgmm-{backend}{suffix}", fit, lambda m, X: m.predict_proba(X))


def _sklearn_fitter():
    from sklearn.mixture import GaussianMixture

    def fit(X, init, covariance_type, max_iter):
        model = GaussianMixture(
            init["weights"].shape[0], covariance_type=covariance_type, tol=0,
            max_iter=max_iter, weights_init=init["weights"], means_init=init["means"],
            precisions_init=init["precisions"],
        )
        model.fit(X)
        return model.lower_bounds_, model

    return Fitter("scikit-learn", fit, lambda m, X: m.predict_proba(X))


#: What a Bayesian fit continues from: its variational posterior.
BAYES_POSTERIOR = ("weight_concentration_", "mean_precision_", "means_",
                   "degrees_of_freedom_", "covariances_", "precisions_cholesky_")


def _bayes_fitter(name, make):
    """A BayesianGaussianMixture (``make(n_components, covariance_type,
    max_iter)``) continuing, by warm start, from the shared posterior."""

    def fit(X, init, covariance_type, max_iter):
        model = make(init["n_components"], covariance_type, max_iter)
        for attribute, value in init["posterior"].items():
            setattr(model, attribute, value)
        model.converged_, model.lower_bound_ = False, -np.inf
        model.fit(X)
        return [float(np.ravel(b)[0]) for b in model.lower_bounds_], model

    return Fitter(name, fit, lambda m, X: m.predict_proba(X))


def _fastgmm_bayes_fitter(backend):
    def make(k, covariance_type, max_iter):
        from fastgmm._bayesian import BayesianGaussianMixture

        return BayesianGaussianMixture(
            n_components=k, covariance_type=covariance_type, tol=0, max_iter=max_iter,
            warm_start=True, backend=backend)

    return _bayes_fitter(f"fastgmm-bayesian-{backend}", make)


def _sklearn_bayes_fitter():
    def make(k, covariance_type, max_iter):
        from sklearn.mixture import BayesianGaussianMixture

        return BayesianGaussianMixture(
            n_components=k, covariance_type=covariance_type, tol=0, max_iter=max_iter,
            warm_start=True)

    return _bayes_fitter("scikit-learn-bayesian", make)


def bayes_fitters(backends):
    from fastgmm import kernels

    return [_fastgmm_bayes_fitter(b) for b in backends
            if b != "cython" or kernels.cython_available()] + [_sklearn_bayes_fitter()]


def initial_posterior(X, n_components, covariance_type, seed=0):
    """The shared start of the Bayesian fitters: the posterior after
    fastgmm's initialization (k-means on a sample of X)."""
    from fastgmm._bayesian import BayesianGaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BayesianGaussianMixture(
            n_components=n_components, covariance_type=covariance_type, max_iter=0,
            random_state=seed, init_sample_size=min(len(X), 50_000)).fit(X)
    return {"n_components": n_components,
            "posterior": {name: getattr(model, name) for name in BAYES_POSTERIOR}}


def _reference_fitter():
    from fastgmm import reference

    def fit(X, init, covariance_type, max_iter):
        _, lower_bounds, _ = reference.fit(
            X, init["weights"], init["means"], init["covariances"], covariance_type,
            max_iter=max_iter, tol=-1,
        )
        return lower_bounds, None

    return Fitter("reference (naive)", fit, max_n=5_000)


def _import_daal4py_core():
    """daal4py's compiled core (``em_gmm``).

    ``import daal4py`` also imports its scikit-learn patching layer, which
    fails against scikit-learn versions it does not know; the core does not
    need it, so on that failure it is loaded on its own.
    """
    try:
        import daal4py

        return daal4py
    except ImportError:
        import sys
        import types

        spec = importlib.util.find_spec("daal4py")
        package = types.ModuleType("daal4py")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["daal4py"] = package
        return importlib.import_module("daal4py._daal4py")


def _daal4py_fitter():
    daal = _import_daal4py_core()

    def fit(X, init, covariance_type, max_iter):
        k, d = init["means"].shape
        storage = {"full": "full", "diag": "diagonal"}.get(covariance_type)
        if storage is None:
            raise NotImplementedError(f"oneDAL has no {covariance_type!r} covariance")
        dtype = X.dtype
        if covariance_type == "full":
            covs = [np.ascontiguousarray(c, dtype=dtype) for c in init["covariances"]]
        else:
            covs = [np.asarray(c, dtype=dtype)[None, :] for c in init["covariances"]]
        algo = daal.em_gmm(
            nComponents=k, maxIterations=max_iter, accuracyThreshold=0.0,
            covarianceStorage=storage,
            fptype="float" if dtype == np.float32 else "double",
        )
        result = algo.compute(
            X, np.asarray(init["weights"], dtype=dtype)[None, :],
            np.ascontiguousarray(init["means"], dtype=dtype), covs,
        )
        # goalFunction: the log-likelihood of the data, summed over samples.
        # oneDAL may stop before max_iter (accuracyThreshold=0 still stops
        # once the gain is not positive); one entry per iteration it did.
        n_iter = int(np.ravel(result.nIterations)[0])
        goal = float(np.ravel(result.goalFunction)[0]) / len(X)
        return [math.nan] * (n_iter - 1) + [goal], None

    return Fitter("daal4py (oneDAL)", fit)


def default_fitters(backends, scaling=False):
    from fastgmm import kernels

    fitters = []
    for backend in backends:
        if backend == "cython" and not kernels.cython_available():
            continue
        fitters.append(_fastgmm_fitter(backend))
        if scaling:
            fitters.append(_fastgmm_fitter(backend, n_threads=1))
    fitters.append(_sklearn_fitter())
    if importlib.util.find_spec("daal4py") is not None:
        fitters.append(_daal4py_fitter())
    fitters.append(_reference_fitter())
    return fitters


# --- one workload ------------------------------------------------------------------

def initial_parameters(X, n_components, covariance_type, seed=0):
    """Initial parameters from k-means on (a sample of) X, in X's dtype."""
    from fastgmm.mixture import GaussianMixture

    sample = X[: min(len(X), 50_000)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        init = GaussianMixture(n_components, covariance_type=covariance_type,
                               max_iter=0, random_state=seed).fit(sample)
    # float32 data get float32 initial parameters: with float64 ones,
    # scikit-learn silently computes in float64
    return {
        "weights": init.weights_, "means": init.means_,
        "precisions": init.precisions_, "covariances": init.covariances_,
    }


@dataclass
class CellResult:
    fitter: str
    per_iteration: list = field(default_factory=list)
    extra_memory: float = None
    lower_bounds: list = None
    predict_proba: float = None
    error: str = None


def _timed(fn, *args):
    gc.collect()
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def run_workload(n, d, k, covariance_type, dtype, fitters, max_iter, repeats,
                 slow_seconds=60.0, log=print, initialize=None):
    X = make_data(n, d, k, seed=0, dtype=np.dtype(dtype))
    init = (initialize or initial_parameters)(X, k, covariance_type)
    results = {f.name: CellResult(f.name) for f in fitters}
    active = [f for f in fitters if f.max_n is None or n <= f.max_n]
    for f in fitters:
        if f not in active:
            results[f.name].error = f"skipped (n > {f.max_n})"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # warm up (JIT compile / cache load) outside any timing
        # enough rows that every component's covariance is well defined
        warm = X[:max(2000, 20 * k * d)]
        for f in active:
            try:
                _, model = f.fit(warm, init, covariance_type, 1)
                if f.predict_proba is not None and model is not None:
                    f.predict_proba(model, warm)
            except Exception as exc:  # noqa: BLE001  (a fitter may not support a cell)
                results[f.name].error = _error_cell(exc)
        active = [f for f in active if results[f.name].error is None]
        iterations = {f.name: max_iter for f in active}
        for rep in range(repeats):
            for f in active:
                if results[f.name].error is not None:
                    continue
                try:
                    _time_fitter(f, X, init, covariance_type, rep, iterations,
                                 results[f.name], slow_seconds)
                except Exception as exc:  # noqa: BLE001  (e.g. oneDAL's float32 refusal)
                    results[f.name].error = "failed: " + _error_cell(exc)
    return X.nbytes, results


def _error_cell(exc):
    """A fitter's exception as one short line for the table."""
    lines = str(exc).strip().splitlines() or [""]
    return f"{type(exc).__name__}: {lines[0]}"[:72]


def _time_fitter(f, X, init, covariance_type, rep, iterations, res, slow_seconds):
    """One repeat of one fitter on one workload, appended to ``res``."""
    if rep > 0 and res.per_iteration and (
        res.per_iteration[0] * iterations[f.name] > slow_seconds
    ):
        return  # a slow fitter is timed once
    with PeakRSS():  # the same sampling overhead as the long fit
        t1, (lb1, _) = _timed(f.fit, X, init, covariance_type, 1)
    m = iterations[f.name]
    if rep == 0 and t1 * m > slow_seconds:
        # per-iteration cost is the same every iteration: fewer do
        m = iterations[f.name] = max(2, int(slow_seconds / t1))
    with PeakRSS() as mem:
        tm, (lower_bounds, model) = _timed(f.fit, X, init, covariance_type, m)
    # iterations actually done (a fitter may stop early)
    done, done1 = max(len(lower_bounds), 1), len(lb1)
    # tiny fits: overheads can outweigh the difference
    res.per_iteration.append(
        (tm - t1) / (done - done1) if tm > t1 and done > done1 else tm / done
    )
    res.lower_bounds = list(lower_bounds)
    if mem.extra is not None:
        res.extra_memory = max(res.extra_memory or 0, mem.extra)
    if f.predict_proba is not None and model is not None:
        tp, _ = _timed(f.predict_proba, model, X)
        res.predict_proba = min(res.predict_proba or math.inf, tp)


# --- the table ----------------------------------------------------------------------

def _lb_diff(ours, theirs):
    """Lower-bound difference after the same number of iterations."""
    if not ours or not theirs:
        return None
    i = min(len(ours), len(theirs)) - 1
    if math.isnan(ours[i]) or math.isnan(theirs[i]):
        return None
    return abs(ours[i] - theirs[i])


def _ms_cell(seconds):
    """Milliseconds, with enough digits that a tiny fit does not read 0.0."""
    ms = seconds * 1e3
    return f"{ms:.1f}" if ms >= 1 else f"{ms:.3g}"


def format_rows(workload, results, peak, reference="scikit-learn"):
    n, d, k, covariance_type, dtype = workload
    flops = flops_per_iteration(n, d, k, covariance_type)
    base = results.get(reference)
    base_t = statistics.median(base.per_iteration) if base and base.per_iteration else None
    rows = []
    for res in results.values():
        label = f"{n:,} x {d}, k={k}, {covariance_type}, {dtype}"
        if res.error:
            rows.append(f"| {label} | {res.fitter} | {res.error} | | | | | | |")
            continue
        t = statistics.median(res.per_iteration)
        speedup = f"{base_t / t:.1f}x" if base_t else ""
        gflops = flops / t / 1e9
        mem = (f"{res.extra_memory / 2**20:.0f}" if res.extra_memory is not None
               else "")
        lb = _lb_diff(res.lower_bounds, base.lower_bounds if base else None)
        lb = "" if lb is None or res.fitter == reference else f"{lb:.1e}"
        pp = ""
        if res.predict_proba and base and base.predict_proba and res.fitter != reference:
            pp = f"{base.predict_proba / res.predict_proba:.1f}x"
        rows.append(
            f"| {label} | {res.fitter} | {_ms_cell(t)} | {speedup} | {gflops:.1f} | "
            f"{100 * gflops / peak:.0f}% | {mem} | {lb} | {pp} |"
        )
    return rows


HEADER = (
    "| workload | fitter | ms / iteration | vs scikit-learn | GFLOP/s | of peak | "
    "MiB beyond X | lower bound diff | predict_proba vs sklearn |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|"
)


def run(grid=None, dtypes=("float64", "float32"), backends=("numba", "cython"),
        max_iter=20, repeats=3, quick=False, scaling=False, memmap=None,
        directory=None, bayesian=False, log=print):
    """Run the comparison and print a Markdown table; return its lines.

    With ``bayesian``, the fitters are fastgmm's and scikit-learn's
    BayesianGaussianMixture (Dirichlet process prior), continuing from one
    shared posterior (`initial_posterior`); "vs scikit-learn" is then against
    scikit-learn's BayesianGaussianMixture and the lower bound is the ELBO.

    With ``memmap`` (a number of rows), run the out-of-core cell instead
    (`run_memmap`) for each (d, k, covariance type) of ``grid`` (default
    `MEMMAP_GRID`), each dtype and backend, its file in ``directory``
    (default: the temporary directory).
    """
    if quick:
        max_iter, repeats = min(max_iter, 4), 1
    if memmap is not None:
        return _run_memmap_cells(memmap, grid or MEMMAP_GRID, dtypes, backends,
                                 max_iter, repeats, directory, log)
    if quick:
        grid = grid or QUICK_GRID
    grid = grid or FULL_GRID
    peaks = {dt: measure_peak_gflops(np.dtype(dt)) for dt in dtypes}
    from fastgmm._config import config

    info = config()
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{cpu_name()}; Python {info['python']}, numpy {info['numpy']}, "
        f"scikit-learn {info['scikit-learn']}, numba {info['numba']}. "
        f"Measured peak: " + ", ".join(f"{dt} {p:.1f} GFLOP/s" for dt, p in peaks.items())
        + f". {max_iter} iterations (fewer for fitters slower than a minute), "
        f"median of {repeats}; {time.strftime('%Y-%m-%d')}.",
        "",
        HEADER,
    ]
    for line in lines:
        log(line)
    if bayesian:
        fitters, initialize, reference = (bayes_fitters(backends), initial_posterior,
                                          "scikit-learn-bayesian")
    else:
        fitters, initialize, reference = (default_fitters(backends, scaling=scaling),
                                          None, "scikit-learn")
    for n, d, k, covariance_type in grid:
        for dt in dtypes:
            _, results = run_workload(n, d, k, covariance_type, dt, fitters, max_iter,
                                      repeats, initialize=initialize)
            for row in format_rows((n, d, k, covariance_type, dt), results, peaks[dt],
                                   reference=reference):
                log(row)
                lines.append(row)
    return lines


# --- the out-of-core cell -----------------------------------------------------------

MEMMAP_HEADER = (
    "| workload | fitter | memmap ms / iteration | in memory ms / iteration | "
    "throughput memmap / in memory | memmap MiB anon beyond X | "
    "in memory MiB anon beyond X | lower bound diff |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|"
)


def _run_memmap_cells(n, grid, dtypes, backends, max_iter, repeats, directory, log):
    from fastgmm import kernels
    from fastgmm._config import config

    info = config()
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {cpu_name()}; "
        f"Python {info['python']}, numpy {info['numpy']}, numba {info['numba']}. "
        f"Out of core: a fit from a memory-mapped .npy (in the page cache) and "
        f"the same fit in memory, alternately; {max_iter} iterations, median of "
        f"{repeats}; {time.strftime('%Y-%m-%d')}.",
        "",
        MEMMAP_HEADER,
    ]
    for line in lines:
        log(line)
    for _, d, k, covariance_type in grid:
        for dt in dtypes:
            for backend in backends:
                if backend == "cython" and not kernels.cython_available():
                    continue
                results = run_memmap(n, d, k, covariance_type, dt, backend, max_iter,
                                     repeats, directory)
                row = format_memmap_row((n, d, k, covariance_type, dt), backend,
                                        results)
                log(row)
                lines.append(row)
    return lines


def _read_through(X, rows=1_000_000):
    """Read every row of X once (a memory map: into the page cache)."""
    total = 0.0
    for start in range(0, X.shape[0], rows):
        total += float(np.sum(X[start:start + rows], dtype=np.float64))
    return total


def run_memmap(n, d, k, covariance_type, dtype, backend, max_iter, repeats,
               directory=None, slow_seconds=60.0):
    """The same fit (explicit initial parameters, ``tol=0``) from a memory map
    of a .npy and from memory, alternately: {'memmap': CellResult, 'in
    memory': CellResult}, per-iteration times and anonymous memory beyond X."""
    X = make_data(n, d, k, seed=0, dtype=np.dtype(dtype))
    init = initial_parameters(X, k, covariance_type)
    fitter = _fastgmm_fitter(backend)
    results = {"memmap": CellResult("memmap"), "in memory": CellResult("in memory")}
    with tempfile.TemporaryDirectory(prefix="fastgmm-bench-", dir=directory) as tmp:
        path = os.path.join(tmp, "X.npy")
        np.save(path, X)
        M = np.load(path, mmap_mode="r")
        _read_through(M)  # into the page cache, before any timing
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warm = X[:max(2000, 20 * k * d)]
            fitter.fit(warm, init, covariance_type, 1)  # compile / load kernels
            m = max_iter
            for rep in range(repeats):
                for name, source in (("memmap", M), ("in memory", X)):
                    res = results[name]
                    t1, (lb1, _) = _timed(fitter.fit, source, init, covariance_type, 1)
                    if rep == 0 and name == "memmap" and t1 * m > slow_seconds:
                        m = max(2, int(slow_seconds / t1))
                    with PeakAnon() as mem:
                        tm, (lower_bounds, _) = _timed(fitter.fit, source, init,
                                                       covariance_type, m)
                    done, done1 = max(len(lower_bounds), 1), len(lb1)
                    res.per_iteration.append(
                        (tm - t1) / (done - done1) if tm > t1 and done > done1
                        else tm / done)
                    res.lower_bounds = list(lower_bounds)
                    if mem.extra is not None:
                        res.extra_memory = max(res.extra_memory or 0, mem.extra)
        del M
    return results


def format_memmap_row(workload, backend, results):
    """One Markdown row of the out-of-core cell."""
    n, d, k, covariance_type, dtype = workload
    mapped, memory = results["memmap"], results["in memory"]
    t_map = statistics.median(mapped.per_iteration)
    t_mem = statistics.median(memory.per_iteration)

    def mib(res):
        return "" if res.extra_memory is None else f"{res.extra_memory / 2**20:.0f}"

    lb = _lb_diff(mapped.lower_bounds, memory.lower_bounds)
    return (f"| {n:,} x {d}, k={k}, {covariance_type}, {dtype}, .npy memmap | "
            f"fastgmm-{backend} | {_ms_cell(t_map)} | {_ms_cell(t_mem)} | "
            f"{t_mem / t_map:.2f}x | {mib(mapped)} | {mib(memory)} | "
            f"{'' if lb is None else f'{lb:.1e}'} |")


def cpu_name():
    """The CPU's model name (Linux's /proc/cpuinfo; else the platform's),
    for the header of a benchmark's results (the other scripts import it)."""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def build_parser():
    from fastgmm._constants import COVARIANCE_TYPES

    parser = argparse.ArgumentParser(
        prog="python benchmarks/harness.py",
        description="Compare fitters on the same data in one process.")
    parser.add_argument("--quick", action="store_true",
                        help="a short run: smaller n, 4 iterations, one repeat")
    parser.add_argument("--d", type=int, nargs="+",
                        help="only these n_features (default: all of the grid)")
    parser.add_argument("--k", type=int, nargs="+",
                        help="only these n_components (default: all of the grid)")
    parser.add_argument("--covariance", nargs="+", choices=COVARIANCE_TYPES,
                        help="only these covariance types (default: all of the grid)")
    parser.add_argument("--n-samples", type=int,
                        help="override n_samples (default: the grid's)")
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"],
                        choices=["float64", "float32"],
                        help="dtypes to run (default: float64 float32)")
    parser.add_argument("--backend", nargs="+", default=["numba", "cython"],
                        choices=["numba", "cython"],
                        help="backends to run (default: numba cython)")
    parser.add_argument("--max-iter", type=int, default=20,
                        help="EM iterations per fit (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed repeats of each fit (default: %(default)s)")
    parser.add_argument("--scaling", action="store_true",
                        help="also run each backend on one thread")
    parser.add_argument("--memmap", type=int, metavar="N",
                        help="instead of the grid, the out-of-core cell: a fit of N "
                             "rows from a memory-mapped .npy against the same fit in "
                             "memory (throughput, anonymous memory); workloads: "
                             "d=8, k=6, diag unless --d/--k/--covariance choose "
                             "from the grid (default: not run)")
    parser.add_argument("--bayesian", action="store_true",
                        help="time BayesianGaussianMixture (fastgmm's against "
                             "scikit-learn's, from one shared posterior) instead "
                             "of GaussianMixture (default: off)")
    parser.add_argument("--memmap-dir", metavar="DIR",
                        help="where --memmap writes its .npy (default: the "
                             "temporary directory, TMPDIR)")
    return parser


def main(argv=None):
    """The command line (whole default fits: ``benchmarks/whole_fits.py``)."""
    args = build_parser().parse_args(argv)
    grid = None
    if args.d or args.k or args.covariance or args.n_samples:
        base = QUICK_GRID if args.quick else FULL_GRID
        if args.memmap and not (args.d or args.k or args.covariance):
            base = MEMMAP_GRID
        grid = [
            (args.n_samples or n, d, k, ct) for n, d, k, ct in base
            if (not args.d or d in args.d) and (not args.k or k in args.k)
            and (not args.covariance or ct in args.covariance)
        ]
        if not grid:
            sys.exit("benchmarks/harness.py: no workload matches these filters")
    run(grid=grid, dtypes=args.dtype, backends=args.backend,
        max_iter=args.max_iter, repeats=args.repeats, quick=args.quick,
        scaling=args.scaling, memmap=args.memmap,
        directory=args.memmap_dir, bayesian=args.bayesian)
    return 0


if __name__ == "__main__":
    sys.exit(main())
