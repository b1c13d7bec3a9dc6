"""asv benchmarks of fastgmm against scikit-learn and the naive reference.

Every fitter runs the same fixed number of EM iterations (``tol=0``,
``MAX_ITER``) from the same initial parameters, so times compare work for
work. JIT compilation (or loading Numba's cache) happens in ``setup``, never
in a timed call. The reference EM is run at small n only.
"""

import importlib.util
import os
import pathlib
import sys
import warnings

import numpy as np

from fastgmm._demo import make_data


def _harness():
    """``benchmarks/harness.py``, loaded by its path beside this suite."""
    name = "fastgmm_bench_harness"
    if name not in sys.modules:
        path = pathlib.Path(__file__).resolve().parents[1] / "harness.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # (its dataclasses look their module up)
        spec.loader.exec_module(module)
    return sys.modules[name]


_bench = _harness()

MAX_ITER = 10
WORKLOADS = [
    "100000-2-4-full",
    "100000-8-16-full",
    "100000-8-16-diag",
    "100000-32-4-full",
    "100000-8-16-tied",
    "100000-8-16-spherical",
    "2000-2-4-full",
]
FITTERS = ["fastgmm-numba", "fastgmm-cython", "scikit-learn", "reference"]
DTYPES = ["float64", "float32"]
#: The out-of-core case (MemmapFit): rows x features float32, 'diag', k=6.
MEMMAP_SHAPE = (4_000_000, 8)
SMOKE = os.environ.get("FASTGMM_ASV_SMOKE") == "1"
if SMOKE:
    # CI: that the suite runs, not what it measures
    WORKLOADS = ["2000-2-4-full"]
    # no Numba fitter: the tests cover it; its load costs seconds per process
    FITTERS = [f for f in FITTERS if f != "fastgmm-numba"]
    DTYPES = ["float64"]
    MEMMAP_SHAPE = (20_000, 8)

_DATA = {}


def _workload(name):
    n, d, k, covariance_type = name.split("-")
    return int(n), int(d), int(k), covariance_type


def _data(workload, dtype):
    key = (workload, dtype)
    if key not in _DATA:
        n, d, k, covariance_type = _workload(workload)
        X = make_data(n, d, k, seed=0, dtype=np.dtype(dtype))
        init = _bench.initial_parameters(X, k, covariance_type)
        _DATA[key] = X, init
    return _DATA[key]


def _fitter(name):
    if name == "scikit-learn":
        return _bench._sklearn_fitter()
    if name == "reference":
        return _bench._reference_fitter()
    from fastgmm import kernels

    backend = name.split("-")[1]
    if backend == "cython" and not kernels.cython_available():
        raise NotImplementedError("the Cython extension is not built")
    return _bench._fastgmm_fitter(backend)


class _Workload:
    params = (FITTERS, WORKLOADS, DTYPES)
    param_names = ["fitter", "workload", "dtype"]
    timeout = 600

    def setup(self, fitter, workload, dtype):
        n, d, k, covariance_type = _workload(workload)
        self.fitter = _fitter(fitter)
        if self.fitter.max_n is not None and n > self.fitter.max_n:
            raise NotImplementedError("the reference runs at small n only")
        self.X, self.init = _data(workload, dtype)
        self.covariance_type = covariance_type
        warnings.simplefilter("ignore")
        # compile or load compiled kernels here, not in the timed calls
        _, self.model = self.fitter.fit(self.X, self.init, covariance_type, 1)


class Fit(_Workload):
    """MAX_ITER EM iterations from the shared initial parameters."""

    def _fit(self):
        return self.fitter.fit(self.X, self.init, self.covariance_type, MAX_ITER)

    def time_fit(self, fitter, workload, dtype):
        self._fit()

    def peakmem_fit(self, fitter, workload, dtype):
        self._fit()

    def track_lower_bound(self, fitter, workload, dtype):
        lower_bounds, _ = self._fit()
        return float(lower_bounds[-1])

    track_lower_bound.unit = "mean log-likelihood"


class WholeFit:
    """What a user waits for: GaussianMixture(k, covariance_type=...,
    random_state=0).fit(X), every other argument at its default (k-means
    initialization, EM to convergence, final E-step), fastgmm ('auto')
    against scikit-learn. Kernels are loaded in setup."""

    params = (["fastgmm", "scikit-learn"], WORKLOADS, DTYPES)
    param_names = ["fitter", "workload", "dtype"]
    timeout = 600

    def setup(self, fitter, workload, dtype):
        n, d, k, covariance_type = _workload(workload)
        if fitter == "fastgmm":
            from fastgmm import GaussianMixture
        else:
            from sklearn.mixture import GaussianMixture
        self.X, _ = _data(workload, dtype)
        warnings.simplefilter("ignore")
        self.make = lambda: GaussianMixture(k, covariance_type=covariance_type,
                                            random_state=0)
        self.make().set_params(max_iter=1).fit(self.X[:2000])

    def time_whole_fit(self, fitter, workload, dtype):
        self.make().fit(self.X)

    def track_n_iter(self, fitter, workload, dtype):
        return self.make().fit(self.X).n_iter_

    track_n_iter.unit = "iterations"


class PredictProba(_Workload):
    """Responsibilities of every sample under a fitted model."""

    def setup(self, fitter, workload, dtype):
        super().setup(fitter, workload, dtype)
        if self.fitter.predict_proba is None or self.model is None:
            raise NotImplementedError("this fitter has no predict_proba")
        self.fitter.predict_proba(self.model, self.X[:1000])  # compile

    def time_predict_proba(self, fitter, workload, dtype):
        self.fitter.predict_proba(self.model, self.X)


class MemmapFit:
    """A fit read from a memory-mapped .npy file, and the same fit in memory.

    The file is written once (``setup_cache``) and read through the page
    cache; ``peakmem_fit`` shows that the memmap fit holds a window of rows,
    not X (the in-memory case holds X itself).
    """

    params = (["memmap", "in memory"],)
    param_names = ["source"]
    timeout = 900

    def setup_cache(self):
        path = os.path.abspath("memmap_fit.npy")
        n, d = MEMMAP_SHAPE
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                        shape=(n, d))
        for start in range(0, n, 500_000):
            stop = min(start + 500_000, n)
            out[start:stop] = make_data(stop - start, d, 6, seed=start,
                                        dtype=np.dtype(np.float32))
        out.flush()
        return path

    def setup(self, path, source):
        from fastgmm import GaussianMixture

        self.X = np.load(path, mmap_mode="r" if source == "memmap" else None)
        init = _bench.initial_parameters(np.asarray(self.X[:100_000]), 6, "diag")
        self.model = GaussianMixture(
            6, covariance_type="diag", max_iter=MAX_ITER, tol=0,
            weights_init=init["weights"], means_init=init["means"],
            precisions_init=init["precisions"])
        warnings.simplefilter("ignore")
        self.model.set_params(max_iter=1).fit(self.X)  # load the kernels
        self.model.set_params(max_iter=MAX_ITER)

    def time_fit(self, path, source):
        self.model.fit(self.X)

    def peakmem_fit(self, path, source):
        self.model.fit(self.X)


class MissingFit:
    """MAX_ITER EM iterations with 10% of the entries missing completely at
    random (``nan_policy='marginalize'``) against the same rows complete,
    from the same initial parameters: the cost of marginalising (the
    ratio of the two times; issue 23's targets 3x 'full', 2x 'diag')."""

    params = (["complete", "10% missing"], ["full", "diag"])
    param_names = ["data", "covariance_type"]
    timeout = 600
    SHAPE = (2000, 8, 4) if SMOKE else (100_000, 8, 16)

    def setup(self, data, covariance_type):
        from fastgmm import GaussianMixture

        n, d, k = self.SHAPE
        X = make_data(n, d, k, seed=0)
        init = _bench.initial_parameters(X, k, covariance_type)
        if data != "complete":
            X[np.random.RandomState(1).rand(n, d) < 0.1] = np.nan
        self.X = X
        self.model = GaussianMixture(
            k, covariance_type=covariance_type, max_iter=MAX_ITER, tol=0,
            nan_policy="marginalize", weights_init=init["weights"],
            means_init=init["means"], precisions_init=init["precisions"])
        warnings.simplefilter("ignore")
        self.model.set_params(max_iter=1).fit(self.X)  # load the kernels
        self.model.set_params(max_iter=MAX_ITER)

    def time_fit(self, data, covariance_type):
        self.model.fit(self.X)

    def peakmem_fit(self, data, covariance_type):
        self.model.fit(self.X)


class ModelFit:
    """MAX_ITER EM iterations of mclust's models (`em.parsimonious`), from the
    same initial parameters: the cost of each model's M-step beside 'full'
    (VVV). R mclust itself is compared in benchmarks/mclust.py."""

    params = (["VEI", "EVE", "VVV"] if SMOKE else  # (alternating, Jacobi, full)
              ["EII", "VEI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV"],)
    param_names = ["model"]
    timeout = 600
    SHAPE = (2000, 4, 3) if SMOKE else (100_000, 8, 8)

    def setup(self, model):
        from fastgmm import GaussianMixture

        n, d, k = self.SHAPE
        X = make_data(n, d, k, seed=0)
        warnings.simplefilter("ignore")
        start = GaussianMixture(k, covariance_type=model, random_state=0,
                                max_iter=0).fit(X)
        self.X = X
        self.model = GaussianMixture(
            k, covariance_type=model, max_iter=MAX_ITER, tol=0,
            weights_init=start.weights_, means_init=start.means_,
            precisions_init=start.precisions_)
        self.model.set_params(max_iter=1).fit(self.X)  # load the kernels
        self.model.set_params(max_iter=MAX_ITER)

    def time_fit(self, model):
        self.model.fit(self.X)


class StudentFit:
    """MAX_ITER EM iterations of a Student-t mixture (dof='component') beside
    the Gaussian mixture's, from the same initial parameters: the t pass's
    cost over the Gaussian's, per covariance type and backend
    (benchmarks/student_speed.py also times studenttmixture)."""

    params = ((["fastgmm-cython"], ["gaussian", "t"], ["full"]) if SMOKE else
              (["fastgmm-numba", "fastgmm-cython"], ["gaussian", "t"],
               ["full", "diag", "tied", "spherical"]))
    param_names = ["fitter", "family", "covariance_type"]
    timeout = 600
    SHAPE = (2000, 4, 3) if SMOKE else (100_000, 8, 16)

    def setup(self, fitter, family, covariance_type):
        from fastgmm import GaussianMixture, StudentTMixture, kernels

        backend = fitter.split("-")[1]
        if backend == "cython" and not kernels.cython_available():
            raise NotImplementedError("the Cython extension is not built")
        n, d, k = self.SHAPE
        X = make_data(n, d, k, seed=0)
        warnings.simplefilter("ignore")
        start = GaussianMixture(k, covariance_type=covariance_type, random_state=0,
                                max_iter=0).fit(X)
        cls = StudentTMixture if family == "t" else GaussianMixture
        self.X = X
        self.model = cls(k, covariance_type=covariance_type, max_iter=1, tol=0,
                         backend=backend, weights_init=start.weights_,
                         means_init=start.means_, precisions_init=start.precisions_)
        self.model.fit(self.X)  # load the kernels
        self.model.set_params(max_iter=MAX_ITER)

    def time_fit(self, fitter, family, covariance_type):
        self.model.fit(self.X)


class Search:
    """GaussianMixtureSearch over k=1..10 x the four types on digits (PCA-16),
    BIC: the candidates share each k's k-means (benchmarks/search_speed.py
    times it against a loop of scikit-learn fits)."""

    params = (["digits"],)
    param_names = ["data"]
    timeout = 600

    def setup(self, data):
        from sklearn.datasets import load_digits
        from sklearn.decomposition import PCA

        from fastgmm import GaussianMixtureSearch

        warnings.simplefilter("ignore")
        X = PCA(16, random_state=0).fit_transform(load_digits().data)
        self.X = X[:300] if SMOKE else X
        self.search = GaussianMixtureSearch(range(1, 4 if SMOKE else 11), random_state=0)
        self.search.fit(self.X)  # load the kernels

    def time_search(self, data):
        self.search.fit(self.X)


class Accelerated:
    """A default fit with and without accelerate='squarem' to the same tol
    (benchmarks/squarem.py counts the passes to the plain fit's bound)."""

    params = (([None, "squarem"], ["full"]) if SMOKE else
              ([None, "squarem"], ["full", "tied", "diag", "spherical"]))
    param_names = ["accelerate", "covariance_type"]
    timeout = 600

    def setup(self, accelerate, covariance_type):
        from sklearn.datasets import load_sample_image

        from fastgmm import GaussianMixture

        warnings.simplefilter("ignore")
        X = load_sample_image("china.jpg").reshape(-1, 3).astype(np.float64) / 255
        self.X = X[:5000] if SMOKE else X
        self.model = GaussianMixture(16, covariance_type=covariance_type, random_state=0,
                                     tol=1e-4, accelerate=accelerate)
        self.model.set_params(max_iter=1).fit(self.X[:2000])  # load the kernels
        self.model.set_params(max_iter=1000)

    def time_fit(self, accelerate, covariance_type):
        self.model.fit(self.X)

    def track_passes(self, accelerate, covariance_type):
        return self.model.fit(self.X).n_iter_

    track_passes.unit = "passes"


class KMeansInit:
    """The 'kmeans' initialization alone: fastgmm's compiled k-means (the
    seeding with its kept distances, Lloyd in one call) and scikit-learn's
    KMeans(n_init=1), the same labels (benchmarks/kmeans_speed.py times the
    two in one run, with the seeding and Lloyd apart)."""

    params = (["fastgmm", "scikit-learn"], ["1e6-8-16", "digits-10"])
    param_names = ["fitter", "data"]
    timeout = 600

    def setup(self, fitter, data):
        self.fitter = fitter
        if data == "digits-10":
            from sklearn.datasets import load_digits
            from sklearn.decomposition import PCA

            self.X, self.k = PCA(16, random_state=0).fit_transform(load_digits().data), 10
        else:
            self.X, self.k = make_data(20_000 if SMOKE else 1_000_000, 8, 16, seed=0), 16
        self.run()  # load the kernels

    def run(self):
        if self.fitter == "fastgmm":
            from fastgmm.em.kmeans import kmeans

            return kmeans(self.X, None, self.k, np.random.RandomState(0)).n_iter
        from sklearn.cluster import KMeans

        return KMeans(self.k, n_init=1, random_state=0).fit(self.X).n_iter_

    def time_kmeans(self, fitter, data):
        self.run()
