"""Every fit path on one backend, in a process where the other cannot load.

``python -m tests.backend_alone BACKEND MODE`` (from the repository's root)
fits, on backend BACKEND ('numba' or 'cython'), a GaussianMixture of each
covariance type (the k-means initialization, k-means++, random and
random_from_data; the whole run in one call and pass by pass; sample
weights; several partitions and threads), mclust's EVE and VVE (their
M-step's common orientation compiled), a BayesianGaussianMixture,
partial_fit, missing values, a noise component, a memory map read by
windows and a GaussianMixtureSearch, with their posteriors, and prints one
JSON object of the results' hashes. MODE 'alone': the other backend is made
unavailable first (importing the Cython extension, or Numba and llvmlite,
raises ImportError), and scikit-learn's k-means, the initialization's
fallback without a compiled backend, raises; the script then checks that no
module of the other backend was loaded. MODE 'both': nothing is blocked (the
reference). `tests/estimators/test_backend_alone.py` compares the two.
"""

import hashlib
import importlib.abc
import json
import os
import re
import sys
import tempfile
import warnings

_CYTHON = re.compile(r"^fastgmm\.kernels\._(?:\w+_)?cython$")


class _Blocker(importlib.abc.MetaPathFinder):
    """Makes the modules matching ``blocked`` unimportable."""

    def __init__(self, blocked):
        self.blocked = blocked

    def find_spec(self, name, path=None, target=None):
        if self.blocked(name):
            raise ImportError(f"{name} is made unavailable (tests.backend_alone)")
        return None


def _numba_module(name):
    return name.split(".")[0] in ("numba", "llvmlite")


def _block(backend):
    """Make the other backend unavailable, and scikit-learn's k-means raise."""
    other = _numba_module if backend == "cython" else _CYTHON.match
    sys.meta_path.insert(0, _Blocker(other))
    import sklearn.cluster

    def refused(*args, **kwargs):
        raise AssertionError("the initialization fell back to scikit-learn's k-means")

    sklearn.cluster.KMeans.fit = refused
    sklearn.cluster.kmeans_plusplus = refused
    return other


def _h(a):
    import numpy as np

    a = np.ascontiguousarray(a)
    return hashlib.sha1(a.tobytes()).hexdigest()[:16] + str(a.dtype)


def _model(model, X):
    out = {name: _h(getattr(model, name)) for name in (
        "weights_", "means_", "covariances_", "precisions_cholesky_")
        if hasattr(model, name)}
    out["lower_bound_"] = float(model.lower_bound_).hex()
    out["n_iter_"] = int(model.n_iter_)
    out["proba"] = _h(model.predict_proba(X))
    out["score_samples"] = _h(model.score_samples(X))
    return out


def fits(backend):
    """The hashes of every fit path's results on ``backend``."""
    import numpy as np

    import fastgmm
    from fastgmm.em import driver

    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(250, 3) @ rng.randn(3, 3) + 6 * rng.randn(3)
                   for _ in range(4)])
    big = np.vstack([rng.randn(2500, 3) + 8 * rng.randn(3) for _ in range(3)])
    w = rng.randint(0, 4, len(X)).astype(float)
    holes = X.copy()
    holes[rng.rand(*X.shape) < 0.1] = np.nan
    noisy = np.vstack([X, rng.uniform(-20, 20, size=(60, 3))])
    out = {}

    def gm(**params):
        return fastgmm.GaussianMixture(backend=backend, random_state=0, **params)

    for t in ("full", "tied", "diag", "spherical"):
        for dtype in (np.float64, np.float32):
            Xd = X.astype(dtype)
            name = f"{t}/{dtype.__name__}"
            out[f"one call/{name}"] = _model(gm(n_components=4, covariance_type=t,
                                                n_threads=1).fit(Xd), Xd)
            driver.ONE_CALL = False
            try:
                out[f"pass by pass/{name}"] = _model(
                    gm(n_components=4, covariance_type=t).fit(Xd), Xd)
            finally:
                driver.ONE_CALL = True
        out[f"weights/{t}"] = _model(
            gm(n_components=4, covariance_type=t).fit(X, sample_weight=w), X)
        out[f"partitions and threads/{t}"] = _model(
            gm(n_components=3, covariance_type=t, n_threads=2).fit(big), big)
        out[f"missing/{t}"] = _model(gm(n_components=3, covariance_type=t,
                                         nan_policy="marginalize").fit(holes), holes)
        out[f"noise/{t}"] = _model(gm(n_components=4, covariance_type=t,
                                       noise=True).fit(noisy), noisy)
        out[f"bayesian/{t}"] = _model(fastgmm.BayesianGaussianMixture(
            n_components=5, covariance_type=t, random_state=0,
            backend=backend).fit(X), X)
    for model in ("EVE", "VVE"):  # (the orientation: the backend's common_orientation)
        out[f"mclust/{model}"] = _model(gm(n_components=4, covariance_type=model).fit(X), X)
        out[f"mclust weights/{model}"] = _model(
            gm(n_components=4, covariance_type=model).fit(X, sample_weight=w), X)
        out[f"mclust noise/{model}"] = _model(
            gm(n_components=4, covariance_type=model, noise=True).fit(noisy), noisy)
    for init in ("k-means++", "random", "random_from_data"):
        out[f"init {init}"] = _model(gm(n_components=4, init_params=init).fit(X), X)
    model = gm(n_components=4)
    for start in range(0, len(X), 250):
        model.partial_fit(X[start:start + 250])
    out["partial_fit"] = _model(model, X)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "X.npy")
        np.save(path, X)
        mapped = np.load(path, mmap_mode="r")
        out["memory map"] = _model(gm(n_components=4).fit(mapped), X)
        del mapped
    search = fastgmm.GaussianMixtureSearch(
        n_components=range(1, 4), covariance_type=["full", "diag", "VVI", "EEE"],
        random_state=0, backend=backend).fit(X)
    out["search"] = _model(search.best_estimator_, X)
    out["search/params"] = repr(sorted(search.best_params_.items()))
    return out


def main(backend, mode):
    other = _block(backend) if mode == "alone" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastgmm import kernels

        if mode == "alone":
            missing = "cython" if backend == "numba" else "numba"
            if missing == "cython":
                assert not kernels.cython_available()
            else:
                try:
                    kernels.get_backend("numba")
                except ImportError:
                    pass
                else:
                    raise AssertionError("Numba was not made unavailable")
        out = fits(backend)
    if other is not None:
        loaded = sorted(name for name in sys.modules if other(name))
        assert not loaded, f"the other backend was loaded: {loaded}"
    json.dump(out, sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
