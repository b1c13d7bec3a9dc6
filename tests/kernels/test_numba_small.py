"""The Numba backend's k-means calls, its one-call EM loop and its M-step
drivers on tiny inputs, against the Cython extension's bits and NumPy's
paths. Small enough to run with the JIT off, where ci/coverage.sh runs it
(NUMBA_DISABLE_JIT=1: the kernels' lines as Python)."""

import warnings

import numpy as np
import pytest

from fastgmm import GaussianMixture, kernels
from fastgmm.em import driver
from fastgmm.em import kmeans as _kmeans

from ..helpers import BACKENDS, make_blobs

needs_both = pytest.mark.skipif(len(BACKENDS) < 2, reason="the Cython extension is not built")


@pytest.fixture
def numba():
    return kernels.get_backend("numba")


def _fit(X, backend, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GaussianMixture(random_state=0, backend=backend, **kw).fit(X)


def _same_fit(a, b):
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    assert a.lower_bound_ == b.lower_bound_ and a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_one_call_run_is_the_pass_by_pass_run(numba, covariance_type, dtype,
                                                   monkeypatch):
    # em_loop (the Numba M-step in it) against the driver's loop of passes
    # and NumPy M-steps; k-means++ and Lloyd in whole calls for the start
    X, _ = make_blobs(60, 2, 3, seed=3)
    X = X.astype(dtype)
    w = np.random.RandomState(4).uniform(0.5, 2.0, len(X))
    kw = dict(n_components=3, covariance_type=covariance_type, max_iter=4, tol=0.0)
    one_call = _fit(X, "numba", **kw)
    with_weights = GaussianMixture(random_state=0, backend="numba", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with_weights.fit(X, sample_weight=w)
    monkeypatch.setattr(driver, "ONE_CALL", False)
    _same_fit(one_call, _fit(X, "numba", **kw))
    passes = GaussianMixture(random_state=0, backend="numba", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        passes.fit(X, sample_weight=w)
    _same_fit(with_weights, passes)


def test_the_kmeans_calls_are_the_numpy_paths(numba, monkeypatch):
    X, _ = make_blobs(80, 3, 4, seed=5)
    w = np.random.RandomState(6).uniform(0.5, 2.0, len(X))
    got = [_kmeans.kmeans(X, w, 4, np.random.RandomState(0), backend=numba)]
    monkeypatch.setattr(_kmeans, "numpy_variant", lambda backend=None: None)
    got.append(_kmeans.kmeans(X, w, 4, np.random.RandomState(0), backend=numba))
    for name in ("labels", "centers", "n_iter"):
        a, b = (np.asarray(getattr(result, name)) for result in got)
        assert a.tobytes() == b.tobytes(), name


@needs_both
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "EVE",
                                             "VVE"])
def test_the_same_fit_on_both_backends(covariance_type):
    # the k-means start, the constants and (EVE, VVE) the orientation are the
    # same bits on both backends; the passes agree to rounding (EVE's and
    # VVE's M-steps iterate to a tolerance, which moves them further)
    X, _ = make_blobs(70, 3, 3, seed=7)
    kw = dict(n_components=3, covariance_type=covariance_type, max_iter=3, tol=0.0)
    ours, theirs = _fit(X, "numba", **kw), _fit(X, "cython", **kw)
    rtol = 1e-5 if covariance_type in ("EVE", "VVE") else 1e-9
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name),
                                   rtol=rtol, atol=1e-12)
    start = dict(n_components=3, covariance_type=covariance_type, max_iter=0)
    a, b = _fit(X, "numba", **start), _fit(X, "cython", **start)
    assert a.means_.tobytes() == b.means_.tobytes()


@needs_both
def test_the_orientation_is_the_extensions(numba):
    rng = np.random.default_rng(9)
    k, d = 3, 3
    A = rng.standard_normal((k, d, d))
    S = A @ np.swapaxes(A, 1, 2) + np.eye(d)
    w = rng.dirichlet(np.ones(k))
    out = []
    for backend in (numba, kernels.get_backend("cython")):
        D = np.eye(d)
        backend.common_orientation(w, S, D, True, 20, 1e-14)
        out.append(D)
    assert out[0].tobytes() == out[1].tobytes()
