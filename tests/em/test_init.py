"""Initial parameters (`fastgmm.em.init`): from hard labels as the textbook
M-step computes them, zero-weight rows left out, weights over the rows, and
rows with missing entries read as completed by their features' fill values."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm import kernels, reference
from fastgmm.em import init

from ..helpers import BACKENDS, COVARIANCE_TYPES, DTYPES, make_blobs, with_missing

#: The initialization on each backend's compiled k-means and labelled passes,
#: and (None) on scikit-learn's KMeans and NumPy.
INIT_BACKENDS = [None, *BACKENDS]


def _backend(name):
    return None if name is None else kernels.get_backend(name)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_parameters_from_labels_are_the_textbook_m_step(covariance_type, weighted):
    X, _ = make_blobs(700, 3, 4, seed=72, offset=50.0)
    labels = np.random.RandomState(73).randint(4, size=700)
    w = np.random.RandomState(74).rand(700) + 0.1 if weighted else None
    weights, means, covs = init._from_labels(X, w, labels, 4, covariance_type, 1e-6)
    resp = np.eye(4)[labels]
    ref_weights, ref_means, ref_covs = reference.m_step(X, resp, covariance_type, 1e-6,
                                                        sample_weight=w)
    assert_allclose(weights, ref_weights, rtol=1e-12)
    assert_allclose(means, ref_means, rtol=1e-12)
    assert_allclose(covs, ref_covs, rtol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_compiled_labels_step_agrees_with_numpy(backend):
    X, _ = make_blobs(3000, 5, 3, seed=75)
    labels = np.random.RandomState(76).randint(3, size=3000)
    w = np.random.RandomState(77).rand(3000)
    for covariance_type in COVARIANCE_TYPES:
        a = init._from_labels(X, w, labels, 3, covariance_type, 1e-6)
        b = init._from_labels_compiled(X, w, labels, 3, covariance_type, 1e-6,
                                       backend=kernels.get_backend(backend))
        for x, y in zip(a, b):
            assert_allclose(x, y, rtol=1e-12)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random",
                                         "random_from_data"])
@pytest.mark.parametrize("backend", INIT_BACKENDS)
def test_rows_of_zero_weight_take_no_part(init_params, backend):
    X, _ = make_blobs(400, 2, 3, seed=78)
    w = np.ones(400)
    w[::3] = 0.0
    kept = np.flatnonzero(w > 0)
    a = init.initial_parameters(X, w, 3, "full", init_params, np.random.RandomState(0),
                                1e-6, backend=_backend(backend))
    b = init.initial_parameters(X[kept], w[kept], 3, "full", init_params,
                                np.random.RandomState(0), 1e-6, backend=_backend(backend))
    for x, y in zip(a, b):
        assert_allclose(x, y, rtol=1e-12)


@pytest.mark.parametrize("init_params",
                         ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("backend", INIT_BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_initialization_reads_missing_entries_as_their_fill(init_params, backend, dtype,
                                                            weighted):
    # the initialization clusters the rows completed with the features'
    # observed means, reading X in place: the same start as the completed copy
    backend = _backend(backend)
    X = with_missing(n=300, d=4, dtype=dtype)
    w = np.random.RandomState(3).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    observed = ~np.isnan(X)
    weights = np.ones(X.shape[0]) if w is None else w
    fill = weights @ np.where(observed, X, 0.0).astype(np.float64) / (weights @ observed)
    completed = np.where(observed, X, fill.astype(dtype))
    assert_array_equal(init.filled(X, fill), completed)
    kept = X.copy()
    for covariance_type in COVARIANCE_TYPES:
        got = init.initial_parameters(X, w, 3, covariance_type, init_params,
                                      np.random.RandomState(0), 1e-6, fill, backend)
        want = init.initial_parameters(completed, w, 3, covariance_type, init_params,
                                       np.random.RandomState(0), 1e-6, backend=backend)
        for a, b in zip(got, want):
            assert np.all(np.isfinite(a))
            # (float32: the copy holds the fill values rounded to float32)
            assert_allclose(a, b, rtol=1e-5 if dtype == np.float32 else 1e-9, atol=1e-9)
    assert_array_equal(X, kept)  # X is read, not changed
