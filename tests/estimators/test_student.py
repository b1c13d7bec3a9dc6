"""fastgmm.StudentTMixture against the textbook t-mixture EM
(`fastgmm.reference.fit_student`): every structure of the four and mclust's
EEE, VVV, EVE and VEV, both dtypes, weights and both backends; the lower
bound's monotonicity; the Gaussian limit; robustness to gross outliers; the
sources, outputs, files, errors and scikit-learn's checks."""

import functools
import math
import os
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastgmm
from fastgmm import GaussianMixture, StudentTMixture, reference
from fastgmm.em.structure import structure

from ..helpers import BACKENDS, DTYPES, quiet_fit

STRUCTURES = ["full", "tied", "diag", "spherical", "EEE", "VVV", "EVE", "VEV"]
K, D, N = 2, 3, 240


@pytest.fixture(autouse=True)
def _one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _t_data(n=N, seed=0, nu=4.0):
    """Two t clusters (nu = 4) in 3 features, rows in random order."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(K, size=n)
    centers = np.array([[0.0, 0.0, 0.0], [5.0, -4.0, 3.0]])
    mixing = np.array([[[1.0, 0.3, 0.0], [0.0, 0.8, 0.2], [0.0, 0.0, 0.6]],
                       [[0.7, 0.0, 0.0], [0.4, 1.2, 0.0], [0.1, 0.0, 0.9]]])
    z = rng.standard_normal((n, D))
    g = rng.chisquare(nu, n) / nu
    X = np.empty((n, D))
    for k in range(K):
        rows = labels == k
        X[rows] = centers[k] + (z[rows] @ mixing[k]) / np.sqrt(g[rows])[:, None]
    return X


def _start(name, X):
    """Initial (weights, means, covariances) of a structure: the reference's
    M-step of the rows split at the first feature's median."""
    labels = (X[:, 0] > np.median(X[:, 0])).astype(int)
    resp = np.eye(K)[labels]
    counts = resp.sum(axis=0)
    means = (resp.T @ X) / counts[:, None]
    scatter = np.array([(resp[:, k, None] * (X - means[k])).T @ (X - means[k])
                        for k in range(K)])
    covariances = reference.covariances_from_scatter(scatter, counts, name, 1e-6)
    return counts / counts.sum(), means, covariances


def _init_kwargs(name, weights, means, covariances, dof):
    s = structure(name)
    precisions = s.precisions(s.precisions_cholesky(np.asarray(covariances)))
    return dict(weights_init=weights, means_init=means, precisions_init=precisions,
                dof_init=dof)


@functools.lru_cache(maxsize=None)
def _reference_fit(name, dtype_name, weighted, dof_setting, max_iter):
    X = _t_data().astype(dtype_name).astype(np.float64)
    w = np.random.RandomState(5).uniform(0.2, 3.0, len(X)) if weighted else None
    weights, means, covariances = _start(name, X)
    dof = np.array([10.0, 20.0]) if dof_setting == "component" else np.full(K, 15.0)
    mode = dof_setting if isinstance(dof_setting, str) else "fixed"
    if mode == "fixed":
        dof = np.full(K, float(dof_setting))
    params, bounds, _ = reference.fit_student(
        X, weights, means, covariances, dof, name, dof_mode=mode, reg_covar=1e-6,
        max_iter=max_iter, tol=0.0, sample_weight=w)
    return params, bounds, (weights, means, covariances, dof), w


def _fit(name, dtype, weighted, backend, dof="component", max_iter=12, **kwargs):
    _, _, start, w = _reference_fit(name, np.dtype(dtype).name, weighted, dof, max_iter)
    X = _t_data().astype(dtype)
    model = StudentTMixture(K, covariance_type=name, dof=dof, tol=0.0, max_iter=max_iter,
                            backend=backend, **_init_kwargs(name, *start), **kwargs)
    return quiet_fit(model, X, sample_weight=w)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", STRUCTURES)
def test_the_fit_is_the_references(name, dtype, weighted, backend):
    model = _fit(name, dtype, weighted, backend)
    (weights, means, covariances, dof), bounds, _, _ = _reference_fit(
        name, np.dtype(dtype).name, weighted, "component", 12)
    if dtype == np.float32:
        rtol = 2e-3
    else:  # (EVE's orientation stops on its objective's change: ~1e-7)
        rtol = 1e-5 if name == "EVE" else 1e-8
    scale = np.max(np.abs(covariances))
    for attribute in ("weights_", "means_", "covariances_", "dof_", "precisions_"):
        assert getattr(model, attribute).dtype == dtype, attribute
    assert_allclose(model.weights_, weights, rtol=rtol)
    assert_allclose(model.means_, means, rtol=rtol, atol=rtol * 5)
    assert_allclose(model.covariances_, covariances, rtol=rtol, atol=rtol * scale)
    assert_allclose(model.dof_, dof, rtol=rtol)
    assert_allclose(model.lower_bounds_, bounds, rtol=rtol / 10)
    assert model.n_iter_ == 12


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dof", ["shared", 6.5])
def test_shared_and_fixed_dof_are_the_references(dof, backend):
    model = _fit("full", np.float64, True, backend, dof=dof)
    (weights, means, covariances, nu), bounds, _, _ = _reference_fit(
        "full", "float64", True, dof, 12)
    assert_allclose(model.means_, means, rtol=1e-8)
    assert_allclose(model.covariances_, covariances, rtol=1e-8)
    assert_allclose(model.dof_, nu, rtol=1e-8)
    assert_allclose(model.lower_bounds_, bounds, rtol=1e-10)
    assert np.all(model.dof_ == model.dof_[0])
    if dof == 6.5:
        assert_array_equal(model.dof_, [6.5, 6.5])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dof", ["component", "shared", 3.0])
@pytest.mark.parametrize("name", ["full", "tied", "diag", "spherical", "EVE", "VEV"])
def test_the_lower_bound_never_decreases(name, dof, backend):
    X = _t_data(400, seed=3)
    X[:8] += 40.0  # some outliers
    model = quiet_fit(StudentTMixture(3, covariance_type=name, dof=dof, reg_covar=0.0,
                                      tol=0.0, max_iter=40, random_state=0,
                                      backend=backend), X)
    bounds = np.asarray(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:])), np.diff(bounds).min()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["full", "diag", "EVE"])
def test_a_large_fixed_dof_is_the_gaussian_mixture(name, backend):
    X = _t_data(seed=1)
    weights, means, covariances = _start(name, X)
    kwargs = _init_kwargs(name, weights, means, covariances, None)
    del kwargs["dof_init"]
    t = quiet_fit(StudentTMixture(K, covariance_type=name, dof=1e8, tol=0.0, max_iter=15,
                                  backend=backend, **kwargs), X)
    g = quiet_fit(GaussianMixture(K, covariance_type=name, tol=0.0, max_iter=15,
                                  backend=backend, **kwargs), X)
    assert_allclose(t.weights_, g.weights_, rtol=1e-6)
    assert_allclose(t.means_, g.means_, rtol=1e-6, atol=1e-6)
    assert_allclose(t.covariances_, g.covariances_, rtol=1e-6, atol=1e-7)
    assert_allclose(t.lower_bounds_, g.lower_bounds_, rtol=1e-6)
    assert_allclose(t.score_samples(X), g.score_samples(X), rtol=1e-6)


def outlier_data(seed=0, n=1000, fraction=0.05):
    """Two Gaussian clusters in 2 features and ``fraction`` of gross
    outliers, uniform on [-60, 60]^2; (X, is_outlier, true means, true
    covariances)."""
    rng = np.random.RandomState(seed)
    means = np.array([[0.0, 0.0], [6.0, 3.0]])
    covs = np.array([[[1.0, 0.5], [0.5, 1.5]], [[2.0, -0.6], [-0.6, 0.8]]])
    labels = rng.randint(2, size=n)
    X = np.empty((n, 2))
    for k in range(2):
        rows = labels == k
        X[rows] = rng.multivariate_normal(means[k], covs[k], rows.sum())
    outliers = rng.rand(n) < fraction
    X[outliers] = rng.uniform(-60.0, 60.0, (outliers.sum(), 2))
    return X, outliers, means, covs


def robustness(seed=0):
    """Errors of the means and scale matrices (covariances) of the t and
    Gaussian fits from k-means on the inlier rows, and a default t fit."""
    X, outliers, means, covs = outlier_data(seed)
    labels = KMeans(2, n_init=10, random_state=0).fit_predict(X[~outliers])
    weights, start_means, start_covs = reference.m_step(X[~outliers], np.eye(2)[labels],
                                                        "full")
    order = np.argsort(start_means[:, 0])  # (component k near true cluster k)
    init = dict(weights_init=weights[order], means_init=start_means[order],
                precisions_init=np.linalg.inv(start_covs[order]))
    t = quiet_fit(StudentTMixture(2, **init), X)
    g = quiet_fit(GaussianMixture(2, **init), X)

    def errors(model):
        return (float(np.max(np.linalg.norm(model.means_ - means, axis=1))),
                float(np.max(np.linalg.norm(model.covariances_ - covs, axis=(1, 2))
                             / np.linalg.norm(covs, axis=(1, 2)))))

    default = quiet_fit(StudentTMixture(2, random_state=0), X)
    return errors(t), errors(g), t, default


def test_t_is_closer_to_the_truth_than_the_gaussian_with_outliers():
    (t_mean, t_scale), (g_mean, g_scale), t, default = robustness()
    print(f"\nmax mean error: t {t_mean:.4f}, Gaussian {g_mean:.4f}; max relative "
          f"scale error: t {t_scale:.4f}, Gaussian {g_scale:.4f}; t dof_ {t.dof_}")
    print(f"default t fit: means {default.means_.round(3).tolist()}, "
          f"dof_ {default.dof_.round(2).tolist()}")
    assert t_mean < g_mean / 3 and t_scale < g_scale / 3
    # (the t scale error is not noise: one nu is small, its heavy tails take
    # the outliers, and a t scale matrix is then smaller than the cluster's
    # covariance; benchmarks/student_robustness.py over ten data sets)
    assert t_mean < 0.15 and t_scale < 0.5


@pytest.mark.parametrize("backend", BACKENDS)
def test_tail_weights_are_the_references(backend):
    model = _fit("VEV", np.float64, False, backend)
    X = _t_data(50, seed=9)
    _, u, _ = reference.e_step_student(X, model.weights_, model.means_, model.covariances_,
                                       model.dof_, "VEV")
    assert_allclose(model.tail_weights(X), u, rtol=1e-10)
    X32 = X.astype(np.float32)
    assert model.tail_weights(X32).dtype == np.float32  # (float32 X, float64 model)
    # an outlier gets a small weight in every component
    assert np.all(model.tail_weights(np.full((1, D), 100.0)) < 0.01)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["full", "spherical"])
def test_outputs_are_the_references(name, backend):
    model = _fit(name, np.float64, False, backend)
    X = _t_data(60, seed=4)
    resp, _, log_likelihood = reference.e_step_student(
        X, model.weights_, model.means_, model.covariances_, model.dof_, name)
    assert_allclose(model.score_samples(X), log_likelihood, rtol=1e-10)
    assert_allclose(model.predict_proba(X), resp, rtol=1e-8, atol=1e-12)
    assert_array_equal(model.predict(X), resp.argmax(axis=1))
    assert_allclose(model.score(X), log_likelihood.mean(), rtol=1e-10)
    p = {"full": K * D * (D + 1) // 2, "spherical": K}[name] + K * D + K - 1 + K
    assert_allclose(model.bic(X), -2 * log_likelihood.sum() + p * math.log(len(X)))
    assert_allclose(model.aic(X), -2 * log_likelihood.sum() + 2 * p)


@pytest.mark.parametrize("dof, extra", [("component", K), ("shared", 1), (4.0, 0)])
@pytest.mark.parametrize("name, covariance_parameters", [
    ("full", K * D * (D + 1) // 2), ("EVE", 1 + K * (D - 1) + D * (D - 1) // 2),
    ("VEV", K + D - 1 + K * D * (D - 1) // 2), ("EII", 1)])
def test_the_parameter_count_by_hand(name, covariance_parameters, dof, extra):
    model = quiet_fit(StudentTMixture(K, covariance_type=name, dof=dof, max_iter=2,
                                      random_state=0), _t_data())
    assert model._n_parameters() == covariance_parameters + K * D + (K - 1) + extra


def test_sample_draws_t_components():
    model = StudentTMixture(1, dof=5.0, random_state=0, max_iter=1)
    quiet_fit(model, _t_data())
    X, y = model.sample(200_000)
    assert X.shape == (200_000, D) and np.all(y == 0)
    # the covariance of a t component: nu / (nu - 2) Sigma
    assert_allclose(np.cov(X.T), 5.0 / 3.0 * model.covariances_[0], rtol=0.05)
    assert_allclose(np.mean(X, axis=0), model.means_[0], atol=0.02)
    again, _ = StudentTMixture(1, dof=5.0, random_state=0, max_iter=1).set_params(
    ).fit(_t_data()).sample(5) if False else (model.sample(5)[0], None)
    assert_array_equal(again, model.sample(5)[0])  # (random_state: the same draws)


@pytest.mark.parametrize("backend", BACKENDS)
def test_memory_maps_and_warm_starts(tmp_path, backend):
    X = _t_data()
    path = os.path.join(tmp_path, "X.npy")
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    kwargs = dict(random_state=0, tol=0.0, max_iter=10, backend=backend)
    a = quiet_fit(StudentTMixture(K, **kwargs), X)
    b = quiet_fit(StudentTMixture(K, window_bytes=1000, **kwargs), mapped)
    for name in ("weights_", "means_", "covariances_", "dof_"):
        assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-12)
    assert_allclose(b.predict_proba(mapped), a.predict_proba(X), rtol=1e-10, atol=1e-14)
    assert_allclose(b.tail_weights(mapped), a.tail_weights(X), rtol=1e-12)
    # ten iterations, or five and five more from a warm start
    half = quiet_fit(StudentTMixture(K, warm_start=True, **{**kwargs, "max_iter": 5}), X)
    quiet_fit(half, X)
    for name in ("means_", "covariances_", "dof_"):
        assert_allclose(getattr(half, name), getattr(a, name), rtol=1e-12)


def test_dask_arrays():
    da = pytest.importorskip("dask.array")
    import dask

    X = _t_data()
    with dask.config.set(scheduler="sync"):
        lazy = da.from_array(X, chunks=(60, D))
        kwargs = dict(random_state=0, tol=0.0, max_iter=10)
        a = quiet_fit(StudentTMixture(K, **kwargs), X)
        b = quiet_fit(StudentTMixture(K, **kwargs), lazy)
        assert_allclose(b.means_, a.means_, rtol=1e-10)
        assert_allclose(b.dof_, a.dof_, rtol=1e-10)
        assert_allclose(np.asarray(b.predict_proba(lazy)), a.predict_proba(X), rtol=1e-8,
                        atol=1e-14)
        assert_allclose(np.asarray(b.tail_weights(lazy)), a.tail_weights(X), rtol=1e-10)
        assert_allclose(b.score(lazy), a.score(X), rtol=1e-10)


def test_n_init_keeps_the_best_run():
    X = _t_data()
    best = quiet_fit(StudentTMixture(K, n_init=3, init_params="random", random_state=0), X)
    assert np.isfinite(best.lower_bound_) and best.dof_.shape == (K,)


def test_save_and_load(tmp_path):
    X = _t_data()
    model = quiet_fit(StudentTMixture(K, covariance_type="VEV", dof="shared",
                                      dof_init=[8.0, 8.0], random_state=0), X)
    path = os.path.join(tmp_path, "t.npz")
    model.save(path)
    loaded = fastgmm.load(path)
    assert type(loaded) is StudentTMixture
    assert loaded.dof == "shared" and loaded.covariance_type == "VEV"
    assert_array_equal(loaded.dof_init, [8.0, 8.0])
    assert_array_equal(loaded.dof_, model.dof_)
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.bic(X) == model.bic(X)
    fixed = quiet_fit(StudentTMixture(K, dof=2.5, random_state=0), X.astype(np.float32))
    fixed.save(path)
    again = fastgmm.load(path)
    assert again.dof == 2.5 and again.dof_.dtype == np.float32
    assert_array_equal(again.score_samples(X), fixed.score_samples(X))


def test_a_damaged_t_file_is_refused(tmp_path):
    from fastgmm.files import model as _io

    model = quiet_fit(StudentTMixture(K, random_state=0), _t_data())
    path = os.path.join(tmp_path, "t.npz")
    model.save(path)
    arrays, metadata = _io.read_model_file(path)
    for change, message in [(lambda a, m: a.update(dof_=-a["dof_"]), "dof_"),
                            (lambda a, m: a.pop("dof_"), "dof_"),
                            (lambda a, m: m["params"].update(dof=4.0), "dof_")]:
        a, m = dict(arrays), {**metadata, "params": dict(metadata["params"])}
        change(a, m)
        with pytest.raises(ValueError, match=message):
            _io.write_model_file(path, a, m)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(dof=0.0), ValueError, "dof"),
    (dict(dof=-2.0), ValueError, "dof"),
    (dict(dof="estimated"), ValueError, "dof"),
    (dict(dof=math.inf), ValueError, "dof"),
    (dict(dof_init=0.0), ValueError, "dof_init"),
    (dict(dof_init=[3.0, 4.0, 5.0]), ValueError, "dof_init"),
    (dict(dof_init=[3.0, -4.0]), ValueError, "dof_init"),
    (dict(dof_init=[3.0, np.nan]), ValueError, "dof_init"),
    (dict(dof="shared", dof_init=[3.0, 4.0]), ValueError, "shared"),
    (dict(nan_policy="marginalize"), ValueError, "marginalize"),
    (dict(noise=True), ValueError, "noise"),
    (dict(covariance_type="VVX"), ValueError, "covariance_type"),
])
def test_bad_parameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        StudentTMixture(K, **kwargs).fit(_t_data())


def test_bad_input():
    X = _t_data()
    with pytest.raises(NotFittedError):
        StudentTMixture(K).tail_weights(X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        StudentTMixture(K).fit(bad)
    model = quiet_fit(StudentTMixture(K, random_state=0, max_iter=3), X)
    with pytest.raises(ValueError, match="NaN"):
        model.tail_weights(bad)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="impute"):
        model.impute(bad)
    with pytest.raises(ValueError, match="sample_weight"):
        StudentTMixture(K).fit(X, sample_weight=np.ones(3))


@parametrize_with_checks([StudentTMixture(), StudentTMixture(
    covariance_type="diag", dof="shared", init_params="random")])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
