"""What the tests share: data and parameter generators (data with missing
entries too), an array-like that is not an ndarray, a fit without its
convergence warning, and the comparison of two fitted models bit for bit."""

import warnings

import numpy as np
from numpy.testing import assert_array_equal

from fastgmm import kernels

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
DTYPES = [np.float64, np.float32]


def available_backends():
    names = ["numba"]
    if kernels.cython_available():
        names.append("cython")
    return names


BACKENDS = available_backends()


def make_blobs(n_samples, n_features, n_components, seed=0, spread=4.0, offset=0.0,
               dtype=np.float64):
    """Well-separated Gaussian blobs with random full covariances."""
    rng = np.random.RandomState(seed)
    centers = rng.randn(n_components, n_features) * spread + offset
    mixing = [rng.randn(n_features, n_features) * 0.5 + np.eye(n_features)
              for _ in range(n_components)]
    labels = rng.randint(n_components, size=n_samples)
    noise = rng.randn(n_samples, n_features)
    X = np.empty((n_samples, n_features))
    for k in range(n_components):
        rows = labels == k
        X[rows] = centers[k] + noise[rows] @ mixing[k]
    return X.astype(dtype), labels


def random_params(n_components, n_features, covariance_type, seed=0, scale=1.0):
    """Random valid (weights, means, covariances) of a covariance type."""
    rng = np.random.RandomState(seed)
    weights = rng.rand(n_components) + 0.2
    weights /= weights.sum()
    means = rng.randn(n_components, n_features) * 2 * scale
    if covariance_type == "full":
        a = rng.randn(n_components, n_features, n_features)
        covs = np.einsum("kij,klj->kil", a, a) + np.eye(n_features)
    elif covariance_type == "tied":
        a = rng.randn(n_features, n_features)
        covs = a @ a.T + np.eye(n_features)
    elif covariance_type == "diag":
        covs = rng.rand(n_components, n_features) + 0.5
    else:
        covs = rng.rand(n_components) + 0.5
    return weights, means, covs * scale**2


def blobs(n, d, seed=0, dtype=np.float64):
    """Two well-separated blobs, rows in random order."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    X[rng.rand(n) < 0.4] += 6
    return X.astype(dtype)


class ArrayLike:
    """A 2-D array-like read by row slices only, that is not an ndarray (as a
    zarr array or an h5py dataset); ``reads`` lists the slices read."""

    def __init__(self, X):
        self._X = X
        self.shape, self.dtype, self.ndim = X.shape, X.dtype, X.ndim
        self.reads = []

    def __getitem__(self, key):
        assert isinstance(key, slice) and key.step is None, key  # row windows only
        self.reads.append((key.start, key.stop))
        return self._X[key].copy()

    def __len__(self):
        return self.shape[0]


def assert_same_model(a, b):
    """Two fitted mixtures with the same parameters, bit for bit."""
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.n_iter_ == b.n_iter_ and a.lower_bound_ == b.lower_bound_


def with_missing(n=400, d=3, k=3, seed=80, fraction=0.15, dtype=np.float64):
    """Blobs far from the origin with about ``fraction`` of the entries NaN
    (missing completely at random) and row 5 all NaN."""
    X, _ = make_blobs(n, d, k, seed=seed, offset=20.0)
    rng = np.random.RandomState(seed + 1)
    X[rng.rand(n, d) < fraction] = np.nan
    X[5] = np.nan  # a row with nothing observed
    return X.astype(dtype)


def quiet_fit(model, X, **kwargs):
    """``model.fit(X)`` without its ConvergenceWarning."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, **kwargs)


def benchmark_script(name):
    """``benchmarks/NAME.py`` of the source checkout, loaded by its path (the
    package ships none of the benchmarks)."""
    import importlib.util
    import pathlib
    import sys

    module_name = f"fastgmm_bench_{name}"
    if module_name not in sys.modules:
        path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # (its dataclasses look their module up)
        spec.loader.exec_module(module)
    return sys.modules[module_name]
