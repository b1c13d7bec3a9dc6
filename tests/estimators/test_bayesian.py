"""BayesianGaussianMixture against scikit-learn, and what fastgmm adds to it."""

import io
import os
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastgmm
from fastgmm import BayesianGaussianMixture, kernels
from fastgmm.em import variational as _variational
from fastgmm.kernels import _common

from ..helpers import COVARIANCE_TYPES, DTYPES, ArrayLike, make_blobs

sklearn_mixture = pytest.importorskip("sklearn.mixture")

PRIORS = ["dirichlet_process", "dirichlet_distribution"]
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
          "mean_precision_", "degrees_of_freedom_", "mean_prior_", "covariance_prior_")


def rel_err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def bound(model):
    # scikit-learn's 'tied' lower_bound_ is an array of one value
    return float(np.ravel(model.lower_bound_)[0])


def assert_same_posterior(ours, theirs, rtol, bound_rtol):
    for name in FITTED:
        assert rel_err(getattr(ours, name), getattr(theirs, name)) < rtol, name
    assert rel_err(np.asarray(ours.weight_concentration_),
                   np.asarray(theirs.weight_concentration_)) < rtol
    assert abs(bound(ours) - bound(theirs)) <= bound_rtol * abs(bound(theirs))


@pytest.fixture(scope="module")
def blobs():
    X, labels = make_blobs(200, 3, 3, seed=0, spread=5.0)
    return X, labels


def fit_quietly(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, **kwargs)


# -------------------------------------------------------- against scikit-learn


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_fit_as_sklearn(blobs, covariance_type, prior, dtype):
    # the pass is GaussianMixture's, tested on every backend; 'auto' here
    X = blobs[0].astype(dtype)
    kw = dict(n_components=4, covariance_type=covariance_type, random_state=0,
              weight_concentration_prior_type=prior, max_iter=100, tol=1e-4)
    ours = fit_quietly(BayesianGaussianMixture(**kw), X)
    # float32: scikit-learn's initialization and priors are float32 and its
    # iterations float64; fastgmm reads float32 and accumulates in float64,
    # so its float32 fit is scikit-learn's fit of the same values in float64
    theirs = fit_quietly(sklearn_mixture.BayesianGaussianMixture(**kw),
                         X.astype(np.float64))
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    assert_same_posterior(ours, theirs, rtol=1e-6, bound_rtol=1e-7)
    assert_allclose(ours.lower_bounds_, np.ravel(theirs.lower_bounds_), rtol=1e-7)
    for name in FITTED:
        assert np.asarray(getattr(ours, name)).dtype == np.float64, name
    assert_array_equal(ours.predict(X), theirs.predict(X))
    proba = ours.predict_proba(X)
    assert proba.dtype == dtype
    atol = 1e-7 if dtype == np.float64 else 1e-5
    assert_allclose(proba, theirs.predict_proba(X), atol=atol)
    assert_allclose(ours.score_samples(X), theirs.score_samples(X),
                    rtol=1e-8 if dtype == np.float64 else 1e-6)
    if dtype == np.float32 and covariance_type == "full":
        # against scikit-learn's own float32 fit: the rounding of its float32
        # initialization and priors, carried through the iterations
        theirs32 = fit_quietly(sklearn_mixture.BayesianGaussianMixture(**kw), X)
        assert_same_posterior(ours, theirs32, rtol=1e-3, bound_rtol=1e-5)


@pytest.mark.parametrize("init_params", ["k-means++", "random", "random_from_data"])
def test_other_initializations_as_sklearn(blobs, init_params):
    X = blobs[0]
    kw = dict(n_components=4, random_state=1, init_params=init_params, max_iter=20,
              tol=1e-6)
    ours = fit_quietly(BayesianGaussianMixture(**kw), X)
    theirs = fit_quietly(sklearn_mixture.BayesianGaussianMixture(**kw), X)
    assert ours.n_iter_ == theirs.n_iter_
    assert_same_posterior(ours, theirs, rtol=1e-6, bound_rtol=1e-7)


def test_given_priors_and_n_init_as_sklearn(blobs):
    X = blobs[0]
    kw = dict(n_components=4, covariance_type="diag", random_state=2, n_init=3,
              weight_concentration_prior=0.5, mean_precision_prior=0.3,
              mean_prior=[1.0, 0.0, -1.0], degrees_of_freedom_prior=4.5,
              covariance_prior=[1.0, 2.0, 3.0], max_iter=40)
    ours = fit_quietly(BayesianGaussianMixture(**kw), X)
    theirs = fit_quietly(sklearn_mixture.BayesianGaussianMixture(**kw), X)
    assert_same_posterior(ours, theirs, rtol=1e-6, bound_rtol=1e-7)
    assert ours.weight_concentration_prior_ == 0.5
    assert_array_equal(ours.covariance_prior_, [1.0, 2.0, 3.0])


def test_sample_and_verbose_as_sklearn(blobs):
    X = blobs[0]
    kw = dict(n_components=4, random_state=5, covariance_type="tied")
    ours = BayesianGaussianMixture(**kw).fit(X)
    theirs = sklearn_mixture.BayesianGaussianMixture(**kw).fit(X)
    Xa, ya = ours.sample(300)
    Xb, yb = theirs.sample(300)
    assert_array_equal(ya, yb)
    assert_allclose(Xa, Xb, rtol=1e-6, atol=1e-6)
    outputs = []
    for cls in (BayesianGaussianMixture, sklearn_mixture.BayesianGaussianMixture):
        buf = io.StringIO()
        with redirect_stdout(buf):
            cls(n_components=3, verbose=1, verbose_interval=2, random_state=0).fit(X)
        outputs.append(buf.getvalue())
    assert outputs[0] == outputs[1]


def test_initial_covariances_of_the_types_agree(blobs):
    # scikit-learn's test_compare_covar_type, through max_iter=0 fits (it calls
    # private methods): one M-step on the same k-means responsibilities
    X = blobs[0]
    fits = {t: BayesianGaussianMixture(n_components=6, covariance_type=t,
                                       max_iter=0, random_state=0).fit(X)
            for t in COVARIANCE_TYPES}
    full = fits["full"].covariances_ * fits["full"].degrees_of_freedom_[:, None, None]
    tied = fits["tied"].covariances_ * fits["tied"].degrees_of_freedom_
    diag = fits["diag"].covariances_ * fits["diag"].degrees_of_freedom_[:, None]
    spherical = fits["spherical"].covariances_ * fits["spherical"].degrees_of_freedom_
    assert_allclose(tied, full.mean(axis=0), rtol=1e-10)
    assert_allclose(diag, np.array([np.diag(c) for c in full]), rtol=1e-10)
    assert_allclose(spherical, diag.mean(axis=1), rtol=1e-10)


# ----------------------------------------------------- the lower bound's entropy


def _direct_entropy(X, w, c, means, U, covariance_type):
    """-sum_i w_i sum_k r_ik log r_ik from the n x k log-probabilities."""
    k = means.shape[0]
    log_p = np.empty((X.shape[0], k))
    for j in range(k):
        diff = X - means[j]
        if covariance_type == "full":
            y = diff @ U[j]
        elif covariance_type == "tied":
            y = diff @ U
        else:
            y = diff * U[j]
        log_p[:, j] = c[j] - 0.5 * np.sum(y * y, axis=1)
    log_norm = np.logaddexp.reduce(log_p, axis=1)
    log_r = log_p - log_norm[:, None]
    r = np.exp(log_r)
    return -np.sum(w[:, None] * np.where(r > 0, r * log_r, 0.0))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_entropy_from_the_statistics_is_the_direct_one(backend, covariance_type):
    # overlapping components, so that the entropy is far from 0
    X, _ = make_blobs(500, 3, 4, seed=11, spread=1.5)
    w = np.random.RandomState(12).rand(500) * 3
    model = fit_quietly(BayesianGaussianMixture(
        n_components=4, covariance_type=covariance_type, max_iter=3,
        random_state=0), X)
    params = model._fitted_params()
    c = model._family(model._fitted_spec, None).log_prob_constants(params)
    means, U = params.means, params.precisions_cholesky
    kernel = kernels.get_backend(backend, 500, 3, 4, covariance_type)
    stats = fastgmm.em.covariance.SufficientStats.zeros(4, 3, covariance_type)
    stats.ll = kernel.accumulate(X, w, c, means, U, covariance_type, stats)
    ours = _variational.weighted_entropy(stats, c, U, covariance_type)
    direct = _direct_entropy(X, w, c, means, U, covariance_type)
    assert direct > 50.0
    # the identity subtracts sums of size ~ sum_i w_i |log p_i|
    assert abs(ours - direct) < 1e-11 * np.sum(w) * 20


# --------------------------------------------------------- weights and sources


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type):
    X, _ = make_blobs(200, 2, 3, seed=3)
    w = np.random.RandomState(4).randint(0, 4, size=len(X))
    repeated_X = np.repeat(X, w, axis=0)
    kw = dict(n_components=4, covariance_type=covariance_type, random_state=0,
              tol=1e-4, max_iter=100)
    # the same start for both: the repeated rows' initialization
    start = BayesianGaussianMixture(**{**kw, "max_iter": 0}).fit(repeated_X)
    fits = []
    for data, weights in ((X, w), (repeated_X, None)):
        model = BayesianGaussianMixture(**kw, warm_start=True)
        model.__dict__.update({k: v for k, v in vars(start).items() if k.endswith("_")})
        fits.append(fit_quietly(model, data, sample_weight=weights))
    weighted, repeated = fits
    assert weighted.n_iter_ == repeated.n_iter_
    assert_same_posterior(weighted, repeated, rtol=1e-9, bound_rtol=1e-10)
    # the priors' defaults: the mean and covariance of the repeated rows
    expected = np.cov(X.T, fweights=w)
    if covariance_type == "diag":
        expected = np.diag(expected)
    elif covariance_type == "spherical":
        expected = np.diag(expected).mean()
    assert_allclose(weighted.covariance_prior_, expected, rtol=1e-12)
    assert_allclose(weighted.mean_prior_, np.average(X, axis=0, weights=w), rtol=1e-12)


def test_priors_of_data_far_from_the_origin():
    # one pass around the mean of the first rows: no E[xx^T] - mu mu^T
    X, _ = make_blobs(400, 3, 2, seed=5, offset=1e7)
    model = BayesianGaussianMixture(n_components=2, max_iter=0, random_state=0).fit(X)
    centered = X - X.mean(axis=0)
    assert_allclose(model.covariance_prior_, np.cov(centered.T), rtol=1e-9)
    assert_allclose(model.mean_prior_, X.mean(axis=0), rtol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_memmap_fit_is_bitwise_the_in_memory_fit(tmp_path, monkeypatch,
                                                 covariance_type, dtype):
    monkeypatch.setattr(_common, "MIN_ROWS_PER_PARTITION", 1000)
    X, _ = make_blobs(4321, 3, 3, seed=1, dtype=dtype)
    path = tmp_path / "X.npy"
    np.save(path, X)
    M = np.load(path, mmap_mode="r")
    kw = dict(n_components=4, covariance_type=covariance_type, random_state=0,
              max_iter=3, tol=0)
    expected = fit_quietly(BayesianGaussianMixture(**kw), X)
    fitted = fit_quietly(BayesianGaussianMixture(**kw, window_bytes=300 * 3 * X.itemsize),
                         M)
    for name in FITTED:
        assert_array_equal(getattr(fitted, name), getattr(expected, name), err_msg=name)
    assert fitted.lower_bounds_ == expected.lower_bounds_
    assert_array_equal(fitted.predict_proba(M), expected.predict_proba(X))
    assert_array_equal(fitted.score_samples(M), expected.score_samples(X))


def test_an_array_like_is_read_by_windows(monkeypatch):
    monkeypatch.setattr(_common, "MIN_ROWS_PER_PARTITION", 700)
    X, _ = make_blobs(3000, 2, 3, seed=2)
    w = np.random.RandomState(3).rand(3000)
    A = ArrayLike(X)
    kw = dict(n_components=3, random_state=0, max_iter=4, tol=0)
    expected = fit_quietly(BayesianGaussianMixture(**kw), X, sample_weight=w)
    fitted = fit_quietly(BayesianGaussianMixture(**kw, window_bytes=20000), A,
                         sample_weight=w)
    for name in FITTED:
        assert_array_equal(getattr(fitted, name), getattr(expected, name), err_msg=name)
    assert max(stop - start for start, stop in A.reads) < 3000


# ------------------------------------------------------------------ pruning


@pytest.mark.parametrize("covariance_type, prior", [
    ("full", "dirichlet_process"), ("diag", "dirichlet_distribution")])
def test_superfluous_components_are_pruned(covariance_type, prior):
    X, labels = make_blobs(600, 2, 3, seed=0, spread=6.0)
    model = BayesianGaussianMixture(
        n_components=10, covariance_type=covariance_type, random_state=0,
        weight_concentration_prior_type=prior, max_iter=500).fit(X)
    effective = model.weights_ > 0.01
    assert effective.sum() == 3
    assert model.weights_[effective].sum() > 0.98
    # each true cluster is one effective component
    predicted = model.predict(X)
    assert set(np.unique(predicted)) <= set(np.flatnonzero(effective))
    for k in range(3):
        assert np.unique(predicted[labels == k]).size == 1


# --------------------------------------------------------------- save / load


@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_save_load_round_trip(tmp_path, blobs, covariance_type, prior):
    X = blobs[0]
    params = dict(mean_prior=[0.0, 1.0, 2.0]) if covariance_type == "full" else {}
    if covariance_type == "spherical":
        params["covariance_prior"] = 2.0
    model = BayesianGaussianMixture(
        n_components=4, covariance_type=covariance_type,
        weight_concentration_prior_type=prior, random_state=0, max_iter=5,
        **params)
    fit_quietly(model, X)
    path = tmp_path / "bgm.npz"
    assert model.save(path) is model
    loaded = fastgmm.load(path)
    assert type(loaded) is BayesianGaussianMixture
    for name in FITTED + ("weight_concentration_prior_", "mean_precision_prior_",
                          "degrees_of_freedom_prior_", "lower_bound_", "n_iter_",
                          "converged_", "lower_bounds_"):
        a, b = getattr(loaded, name), getattr(model, name)
        assert_array_equal(a, b, err_msg=name)
        assert type(a) is type(b), name
    assert isinstance(loaded.weight_concentration_, type(model.weight_concentration_))
    assert_array_equal(np.asarray(loaded.weight_concentration_),
                       np.asarray(model.weight_concentration_))
    ours, theirs = loaded.get_params(), model.get_params()
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert_array_equal(np.asarray(ours[name]), np.asarray(theirs[name]), name)
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    # a warm start continues the loaded model as the saved one
    for m in (loaded, model):
        m.set_params(warm_start=True, max_iter=3)
        fit_quietly(m, X)
    assert_array_equal(loaded.means_, model.means_)


def test_a_damaged_bayesian_file_is_refused(tmp_path, blobs):
    import json

    model = BayesianGaussianMixture(n_components=3, random_state=0).fit(blobs[0])
    path = tmp_path / "bgm.npz"
    model.save(path)
    with np.load(path) as archive:
        arrays = dict(archive)
    arrays["mean_precision_"] = -arrays["mean_precision_"]
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="mean_precision_ must be positive"):
        fastgmm.load(path)
    # a GaussianMixture's format name on a Bayesian file
    arrays["mean_precision_"] = -arrays["mean_precision_"]
    metadata = json.loads(str(arrays["fastgmm_metadata"]))
    metadata["format"] = "fastgmm.GaussianMixture"
    arrays["fastgmm_metadata"] = np.array(json.dumps(metadata))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="damaged"):
        fastgmm.load(path)
    assert os.path.exists(path)


# ------------------------------------------------------------------- errors


@pytest.mark.parametrize("params, match", [
    (dict(degrees_of_freedom_prior=1.5), "should be greater than 2"),
    (dict(mean_prior=[0.0, 1.0]), r"'means' should have the shape of \(3,\)"),
    (dict(covariance_prior=np.ones((3, 3))), "'full precision' should be symmetric"),
    (dict(covariance_type="tied", covariance_prior=np.eye(2)),
     "'tied covariance_prior' should have the shape"),
    (dict(covariance_type="diag", covariance_prior=[1.0, -1.0, 1.0]),
     "'diag precision' should be positive"),
    (dict(covariance_type="spherical", covariance_prior=[1.0, 2.0]),
     "should be a positive number"),
])
def test_bad_priors_raise_sklearn_errors(blobs, params, match):
    with pytest.raises(ValueError, match=match):
        BayesianGaussianMixture(n_components=2, **params).fit(blobs[0])


def test_weights_too_small_for_the_default_covariance_prior(blobs):
    X = blobs[0]
    w = np.full(len(X), 0.5 / len(X))
    with pytest.raises(ValueError, match="total sample weight above 1"):
        BayesianGaussianMixture(n_components=2).fit(X, sample_weight=w)
    # with a covariance prior the fit is defined
    model = fit_quietly(BayesianGaussianMixture(n_components=2, covariance_prior=np.eye(3)),
                        X, sample_weight=w)
    assert np.all(np.isfinite(model.means_))
    with pytest.raises(ValueError, match="Negative values"):
        BayesianGaussianMixture(n_components=2).fit(X, sample_weight=-np.ones(len(X)))


def test_warm_start_with_other_shapes_raises(blobs):
    X = blobs[0]
    model = BayesianGaussianMixture(n_components=3, warm_start=True, random_state=0,
                                    max_iter=5)
    fit_quietly(model, X)
    model.set_params(n_components=4)
    with pytest.raises(ValueError, match="warm_start=True continues"):
        model.fit(X)
    model.set_params(n_components=3,
                     weight_concentration_prior_type="dirichlet_distribution")
    with pytest.raises(ValueError, match="warm_start=True continues"):
        model.fit(X)


def test_fit_predict_and_callback(blobs):
    X = blobs[0]
    events = []
    model = BayesianGaussianMixture(n_components=4, random_state=0, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = model.fit_predict(X, callback=events.append)
    assert_array_equal(labels, model.predict(X))
    assert [e["event"] for e in events] == ["init_begin", "iteration", "iteration",
                                            "init_end"]
    assert events[-2]["lower_bound"] == model.lower_bound_


# --------------------------------------------------- scikit-learn's checks


@parametrize_with_checks([BayesianGaussianMixture()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -------------------------------------------------------------------- plots


def test_plots_draw_only_the_effective_components(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse

    from fastgmm import plot

    X, _ = make_blobs(400, 2, 3, seed=0, spread=6.0)
    model = BayesianGaussianMixture(n_components=8, random_state=0,
                                    max_iter=300).fit(X)
    effective = np.flatnonzero(model.weights_ > plot.MIN_WEIGHT)
    assert effective.size == 3
    try:
        ax = plot.mixture(model, X)
        centers = [p.center for p in ax.patches if isinstance(p, Ellipse)]
        assert_allclose(centers, model.means_[effective])
        assert ax.get_title().startswith("3 of 8 components (weight > 0.01)")
        ax = plot.mixture(model, X, min_weight=0.0)  # all of them
        assert sum(isinstance(p, Ellipse) for p in ax.patches) == 8
        ax = plot.weights(model)
        heights = [bar.get_height() for bar in ax.patches]
        assert_allclose(heights, model.weights_)
        grey = [bar.get_facecolor()[:3] == (0.6, 0.6, 0.6) for bar in ax.patches]
        assert_array_equal(np.flatnonzero(~np.array(grey)), effective)
        assert ax.get_title() == "3 effective components of 8 (weight > 0.01)"
        ax.figure.savefig(tmp_path / "weights.png", dpi=40)
        one_d = fit_quietly(BayesianGaussianMixture(n_components=4, random_state=0),
                            X[:, :1])
        plot.mixture(one_d, X[:, :1])
        with pytest.raises(ValueError, match="min_weight"):
            plot.weights(model, min_weight=1.5)
    finally:
        plt.close("all")


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied", "spherical"])
@pytest.mark.parametrize("far", [1e12, 1e200])
def test_default_priors_ignore_rows_of_weight_zero(backend, covariance_type, far):
    # the centre of the priors' pass was the mean of the first rows, weight 0
    # or not: one far row made the fit raise or (diag, Cython) fit wrong
    X, _ = make_blobs(600, 2, 3, seed=0)
    Xw = np.vstack([[far, -far], X])
    w = np.r_[0.0, np.ones(600)]
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = BayesianGaussianMixture(**params).fit(Xw, sample_weight=w)
        plain = BayesianGaussianMixture(**params).fit(X)
    for name in ("mean_prior_", "covariance_prior_", "means_", "covariances_"):
        assert_allclose(getattr(weighted, name), getattr(plain, name), rtol=1e-9,
                        atol=1e-12, err_msg=name)
    assert weighted.lower_bound_ == pytest.approx(plain.lower_bound_, rel=1e-12)
