"""Missing values (``nan_policy='marginalize'``): the grouped EM against the
textbook per-row EM of `fastgmm.reference`, monotone lower bounds, the
marginal outputs, imputation, and the imputer as a scikit-learn transformer."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastgmm import (
    BayesianGaussianMixture,
    GaussianMixture,
    GaussianMixtureImputer,
    GaussianMixtureSearch,
    reference,
)

from ..helpers import (
    BACKENDS,
    COVARIANCE_TYPES,
    DTYPES,
    ArrayLike,
    assert_same_model,
    make_blobs,
    quiet_fit,
    with_missing,
)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_the_fit_is_the_textbook_em_of_the_observed_entries(backend, covariance_type,
                                                            dtype, weighted):
    X = with_missing(dtype=dtype)
    w = np.random.RandomState(82).rand(len(X)) + 0.2 if weighted else None
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  nan_policy="marginalize", backend=backend, tol=0.0)
    start = quiet_fit(GaussianMixture(max_iter=0, **params), X, sample_weight=w)
    # the same start for both: the initial parameters in float64
    init = dict(weights_init=start.weights_.astype(float),
                means_init=start.means_.astype(float),
                precisions_init=start.precisions_.astype(float))
    fitted = quiet_fit(GaussianMixture(max_iter=4, **params, **init), X, sample_weight=w)
    covariances = reference.full_covariances(
        1.0 / init["precisions_init"] if covariance_type in ("diag", "spherical")
        else np.linalg.inv(init["precisions_init"]), covariance_type, 3, X.shape[1])
    expected, bounds, _ = reference.fit_missing(
        X, init["weights_init"], init["means_init"],
        reference.compress_covariances(covariances, covariance_type), covariance_type,
        max_iter=4, tol=0.0, sample_weight=w)
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    assert_allclose(fitted.lower_bounds_, bounds, rtol=rtol)
    assert_allclose(fitted.weights_, expected[0], rtol=rtol)
    assert_allclose(fitted.means_, expected[1], rtol=rtol)
    assert_allclose(fitted.covariances_, expected[2], rtol=rtol * 10)
    assert fitted.means_.dtype == dtype


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_observed_data_likelihood_never_decreases(covariance_type):
    X = with_missing(fraction=0.3, seed=83)
    fitted = quiet_fit(GaussianMixture(3, covariance_type=covariance_type, tol=0.0,
                                        max_iter=40, nan_policy="marginalize",
                                        random_state=1), X)
    assert np.all(np.diff(fitted.lower_bounds_) >= -1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_without_nan_the_fit_is_todays_bit_for_bit(covariance_type):
    X, _ = make_blobs(500, 3, 3, seed=84)
    a = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    b = GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                        nan_policy="marginalize").fit(X)
    assert_same_model(a, b)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_outputs_marginalise_the_missing_entries(covariance_type):
    X = with_missing(seed=85)
    model = quiet_fit(GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                                       nan_policy="marginalize"), X)
    resp, log_likelihood = reference.e_step_missing(
        X, model.weights_, model.means_, model.covariances_, covariance_type)
    assert_allclose(model.score_samples(X), log_likelihood, rtol=1e-10, atol=1e-14)
    assert_allclose(model.predict_proba(X), resp, rtol=1e-8, atol=1e-12)
    assert_array_equal(model.predict(X), np.argmax(resp, axis=1))
    assert_allclose(model.score(X), np.mean(log_likelihood), rtol=1e-12)
    n, p = len(X), model._n_parameters()
    assert_allclose(model.bic(X), -2 * np.sum(log_likelihood) + p * np.log(n), rtol=1e-12)
    # the row with nothing observed: the weights, log-likelihood 0
    assert model.score_samples(X)[5] == 0.0
    assert_allclose(model.predict_proba(X)[5], model.weights_, rtol=1e-12)
    imputed = model.impute(X)
    assert_allclose(imputed, reference.impute(X, model.weights_, model.means_,
                                              model.covariances_, covariance_type),
                    rtol=1e-10)
    observed = ~np.isnan(X)
    assert_array_equal(imputed[observed], X[observed])
    assert_allclose(imputed[5], model.weights_ @ model.means_, rtol=1e-12)


def test_nan_is_an_error_unless_marginalised(tmp_path):
    X = with_missing()
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GaussianMixture(3).fit(X)
    model = quiet_fit(GaussianMixture(3, nan_policy="marginalize", random_state=0), X)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GaussianMixture(3, random_state=0).fit(X[~np.isnan(X).any(axis=1)]).predict(X)
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        model.predict(X_inf)
    with pytest.raises(ValueError, match="nan_policy"):
        GaussianMixture(nan_policy="drop").fit(X)
    # read by windows: infinity is still an error, naming its row
    np.save(tmp_path / "X.npy", X_inf)
    with pytest.raises(ValueError, match=r"infinity.*\(row 0\)"):
        GaussianMixture(3, nan_policy="marginalize").fit(
            np.load(tmp_path / "X.npy", mmap_mode="r"))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("source", ["memmap", "array-like"])
def test_data_read_by_windows_fit_as_in_memory(covariance_type, source, tmp_path):
    X = with_missing(n=3000, seed=89)
    w = np.random.RandomState(90).rand(len(X))
    if source == "memmap":
        np.save(tmp_path / "X.npy", X)
        windowed = np.load(tmp_path / "X.npy", mmap_mode="r")
    else:
        windowed = ArrayLike(X)
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  nan_policy="marginalize")
    a = quiet_fit(GaussianMixture(**params), X, sample_weight=w)
    b = quiet_fit(GaussianMixture(window_bytes=3 * 8 * 700, **params), windowed,
                   sample_weight=w)
    assert a.n_iter_ == b.n_iter_
    assert_allclose(b.means_, a.means_, rtol=1e-12, atol=1e-12)
    assert_allclose(b.covariances_, a.covariances_, rtol=1e-11)
    assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-13)
    assert_allclose(b.predict_proba(windowed), a.predict_proba(X), rtol=1e-10, atol=1e-14)
    assert_allclose(b.score(windowed), a.score(X), rtol=1e-13)
    if source == "array-like":  # only windows were read, never all rows at once
        assert max(stop - start for start, stop in windowed.reads) <= 700


def test_a_memmap_without_nan_fits_as_today(tmp_path):
    X, _ = make_blobs(3000, 3, 3, seed=91)
    np.save(tmp_path / "X.npy", X)
    M = np.load(tmp_path / "X.npy", mmap_mode="r")
    assert_same_model(GaussianMixture(3, random_state=0).fit(M),
                      GaussianMixture(3, random_state=0, nan_policy="marginalize").fit(M))


def test_partial_fit_on_batches_with_missing_entries():
    X = with_missing(n=20000, seed=92, fraction=0.1)
    model = GaussianMixture(3, nan_policy="marginalize", random_state=0)
    for batch in np.array_split(X, 10):
        model.partial_fit(batch)
    fitted = quiet_fit(GaussianMixture(3, nan_policy="marginalize", random_state=0), X)
    order = [int(np.argmin(np.sum((model.means_ - m) ** 2, axis=1))) for m in fitted.means_]
    assert_allclose(model.means_[order], fitted.means_, atol=0.2)


def test_marginalising_recovers_the_mixture_better_than_imputing_or_dropping():
    # two correlated Gaussians, 30% of the entries missing completely at random
    rng = np.random.RandomState(86)
    covariance = np.array([[1.0, 0.9, 0.8], [0.9, 1.0, 0.85], [0.8, 0.85, 1.0]])
    means = np.array([[0.0, 0.0, 0.0], [4.0, -3.0, 2.0]])
    labels = rng.rand(6000) < 0.4
    X = np.where(labels[:, None], means[1], means[0]) + rng.multivariate_normal(
        np.zeros(3), covariance, size=6000)
    missing = X.copy()
    missing[rng.rand(*X.shape) < 0.3] = np.nan

    def error(model):
        order = np.argsort(model.means_[:, 0])
        return (np.max(np.abs(model.means_[order] - means)),
                np.max(np.abs(model.covariances_[order] - covariance)))

    params = dict(n_components=2, random_state=0)
    marginal = error(GaussianMixture(nan_policy="marginalize", **params).fit(missing))
    filled = np.where(np.isnan(missing), np.nanmean(missing, axis=0), missing)
    imputed = error(GaussianMixture(**params).fit(filled))
    complete = missing[~np.isnan(missing).any(axis=1)]
    dropped = error(GaussianMixture(**params).fit(complete))
    assert marginal[1] < imputed[1] / 5  # mean imputation shrinks the covariances
    assert marginal[0] < imputed[0]
    assert marginal[1] < dropped[1] and marginal[0] < dropped[0] * 1.5


def test_the_imputer_in_a_pipeline():
    X = with_missing(n=600, seed=87)
    imputer = GaussianMixtureImputer(n_components=3, random_state=0)
    pipeline = make_pipeline(imputer, StandardScaler())
    out = pipeline.fit_transform(X)
    assert not np.isnan(out).any() and out.shape == X.shape
    mixture = GaussianMixture(3, random_state=0, nan_policy="marginalize").fit(X)
    assert_allclose(imputer.transform(X), mixture.impute(X), rtol=1e-12)
    assert imputer.n_iter_ == mixture.n_iter_
    assert imputer.transform(X.astype(np.float32)).dtype == np.float32


def test_a_search_on_data_with_missing_entries():
    X = with_missing(n=600, seed=88)
    search = GaussianMixtureSearch(range(1, 5), covariance_type=["full", "diag"],
                                   nan_policy="marginalize", random_state=0).fit(X)
    assert search.best_params_["n_components"] == 3
    assert search.best_estimator_.nan_policy == "marginalize"
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixtureSearch(range(1, 3), random_state=0).fit(X)


@parametrize_with_checks([GaussianMixtureImputer(random_state=0),
                          GaussianMixtureImputer(2, covariance_type="diag", random_state=0),
                          GaussianMixture(nan_policy="marginalize", random_state=0),
                          BayesianGaussianMixture(nan_policy="marginalize", random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_condition_is_the_joint_over_the_marginal(covariance_type):
    X, _ = make_blobs(900, 4, 3, seed=93)
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                            nan_policy="marginalize").fit(X)
    rng = np.random.RandomState(94)
    for given in ([1], [3, 0], [0, 2, 3]):
        rest = [j for j in range(4) if j not in given]
        point = X[rng.randint(len(X))] + rng.randn(4) * 0.3
        conditional = model.condition(point[given], given)
        assert conditional.covariance_type == covariance_type
        assert conditional.n_features_in_ == len(rest)
        queries = point[rest] + rng.randn(5, len(rest))
        full = np.tile(point, (5, 1))
        full[:, rest] = queries
        marginal = np.full((1, 4), np.nan)
        marginal[0, given] = point[given]
        # log p(x_r | x_g) = log p(x) - log p(x_g), the latter marginalised
        assert_allclose(conditional.score_samples(queries),
                        model.score_samples(full) - model.score_samples(marginal)[0],
                        rtol=1e-10, atol=1e-10)
        mask = np.zeros(4, dtype=bool)
        mask[given] = True
        by_mask = model.condition(point[np.sort(given)], mask)
        assert_allclose(by_mask.means_, conditional.means_, rtol=1e-12)
    for bad in ([], [0, 1, 2, 3], [0, 0], [4]):
        with pytest.raises(ValueError, match="features must name"):
            model.condition(np.zeros(len(bad)), bad)
    with pytest.raises(ValueError, match="values must be"):
        model.condition([1.0, np.nan], [0, 1])


def test_condition_features_are_checked_as_scikit_learn_checks_column_indices():
    from sklearn.utils._indexing import _get_column_indices

    X, _ = make_blobs(600, 4, 2, seed=95)
    model = GaussianMixture(2, random_state=0).fit(X)
    point = X[0] + 0.5
    # integers (negative ones from the end) and masks: the columns scikit-learn
    # picks with the same key
    for features in ([1], [-1], [3, -4], (2, 0), np.array([-2, 1]), np.int64(2), 2,
                     np.array([1], dtype=np.uint8), [True, False, True, False],
                     np.array([False, True, True, False])):
        columns = _get_column_indices(X, features)
        conditional = model.condition(point[columns], features)
        expected = model.condition(point[columns], columns)
        assert_allclose(conditional.means_, expected.means_, rtol=1e-12)
        assert_allclose(conditional.weights_, expected.weights_, rtol=1e-12)
    # anything scikit-learn refuses is a ValueError here too, never cast (0.5
    # was feature 0) and never an OverflowError (2**70)
    for features in ([0.5], [1.0], np.array([1.0]), [2**70], [-2**70], [4], [-5],
                     [True, 1, 0, 0], [True, False], "a", [np.nan]):
        with pytest.raises(ValueError):
            _get_column_indices(X, features)
        with pytest.raises(ValueError, match="features"):
            model.condition(np.zeros(np.size(features)), features)
    for features in ([[0, 1]], [True, 1]):  # 2-D; a mix (scikit-learn: {True, 1})
        with pytest.raises(ValueError, match="features"):
            model.condition([0.0, 0.0], features)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_condition_on_values_far_from_every_component_is_the_limit(covariance_type):
    # 1e160 away every density underflows (log-density -inf): the posterior
    # of the components is its limit, the component nearest in Mahalanobis
    # distance takes all (as predict_proba gives it), never NaN
    X, _ = make_blobs(900, 4, 3, seed=93)
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    covs = {"full": lambda c: c, "tied": lambda c: np.stack([c] * 3),
            "diag": lambda c: np.stack([np.diag(v) for v in c]),
            "spherical": lambda c: np.stack([v * np.eye(4) for v in c]),
            }[covariance_type](model.covariances_)
    for given, direction in (([1], [1.0]), ([3, 0], [-0.6, 0.8])):
        direction = np.asarray(direction)
        # the distance to m_k of t * direction is t^2 u^T S_k,gg^-1 u + O(t)
        quadratic = [direction @ np.linalg.solve(c[np.ix_(given, given)], direction)
                     for c in covs]
        if covariance_type == "tied":  # a tie: the weights share it
            expected = model.weights_
        else:
            expected = np.eye(3)[np.argmin(quadratic)]
        for scale in (1e160, 1e300):
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no overflow, no invalid value
                conditional = model.condition(scale * direction, given)
            assert_allclose(conditional.weights_, expected, rtol=1e-12, atol=1e-300)
            assert np.all(np.isfinite(conditional.means_))


# ------------------------------------------------- BayesianGaussianMixture


def _sklearn_variational(model):
    """scikit-learn's BayesianGaussianMixture holding ``model``'s posterior."""
    from sklearn.mixture import BayesianGaussianMixture as SkBayesian

    peer = SkBayesian(n_components=model.n_components,
                      covariance_type=model.covariance_type,
                      weight_concentration_prior_type=model.weight_concentration_prior_type)
    for name in ("weight_concentration_", "mean_precision_", "means_",
                 "degrees_of_freedom_", "covariances_", "precisions_cholesky_",
                 "precisions_"):
        setattr(peer, name, getattr(model, name))
    return peer


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_variational_outputs_integrate_out_the_missing_entries(covariance_type):
    # the responsibilities of a row with missing entries are the expected
    # joint density, exp E[log p(x, z = k | theta)] (scikit-learn's), with the
    # missing entries integrated out: checked by quadrature on scikit-learn's
    X = with_missing(n=300, d=2, seed=87)
    model = quiet_fit(BayesianGaussianMixture(
        n_components=3, covariance_type=covariance_type, random_state=0,
        nan_policy="marginalize"), X)
    peer = _sklearn_variational(model)
    rows = [i for i in range(len(X)) if np.isnan(X[i]).sum() == 1][:6]
    assert len(rows) == 6
    grid = np.linspace(-60.0, 100.0, 40001)
    for i in rows:
        m = int(np.flatnonzero(np.isnan(X[i]))[0])
        points = np.repeat(X[i][None], grid.size, axis=0)
        points[:, m] = grid
        joint = np.exp(peer._estimate_weighted_log_prob(points))  # (grid, k)
        integral = np.trapezoid(joint, grid, axis=0)
        assert_allclose(model.score_samples(X[i:i + 1])[0], np.log(integral.sum()),
                        rtol=1e-7)
        assert_allclose(model.predict_proba(X[i:i + 1])[0], integral / integral.sum(),
                        rtol=1e-6, atol=1e-10)
    # complete rows: scikit-learn's own outputs
    complete = ~np.isnan(X).any(axis=1)
    assert_allclose(model.predict_proba(X[complete]), peer.predict_proba(X[complete]),
                    rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_variational_lower_bound_never_decreases(covariance_type, dtype):
    X = with_missing(n=600, d=4, seed=88, dtype=dtype)
    w = np.random.RandomState(4).uniform(0.5, 2.0, X.shape[0])
    model = quiet_fit(BayesianGaussianMixture(
        n_components=4, covariance_type=covariance_type, random_state=0, max_iter=60,
        tol=0.0, nan_policy="marginalize"), X, sample_weight=w)
    bounds = np.asarray(model.lower_bounds_)
    assert np.all(np.isfinite(bounds)) and len(bounds) == 60
    slack = (1e-4 if dtype == np.float32 else 1e-9) * np.abs(bounds[1:])
    assert np.all(np.diff(bounds) >= -slack)
    for name in ("weights_", "means_", "covariances_"):
        assert np.all(np.isfinite(getattr(model, name)))
    imputed = model.impute(X)
    observed = ~np.isnan(X)
    assert_array_equal(imputed[observed], X[observed])
    assert np.all(np.isfinite(imputed))


def test_variational_priors_come_from_the_observed_entries():
    X = with_missing(n=500, d=3, seed=91)
    model = quiet_fit(BayesianGaussianMixture(n_components=2, random_state=0, max_iter=2,
                                               nan_policy="marginalize"), X)
    assert_allclose(model.mean_prior_, np.nanmean(X, axis=0), rtol=1e-12)
    deviations = np.nan_to_num(X - np.nanmean(X, axis=0))
    counts = (~np.isnan(X)).sum(axis=0)
    scale = np.sqrt(counts - 1.0)
    want = deviations.T @ deviations / np.outer(scale, scale)
    assert_allclose(model.covariance_prior_, want, rtol=1e-10)
    # so each feature's variance is that of its observed entries
    assert_allclose(np.diag(model.covariance_prior_), np.nanvar(X, axis=0, ddof=1),
                    rtol=1e-10)
    diag = quiet_fit(BayesianGaussianMixture(n_components=2, covariance_type="diag",
                                              random_state=0, max_iter=2,
                                              nan_policy="marginalize"), X)
    assert_allclose(diag.covariance_prior_, np.nanvar(X, axis=0, ddof=1), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_variational_without_nan_is_todays_bit_for_bit(covariance_type):
    X, _ = make_blobs(500, 3, 3, seed=84)
    params = dict(n_components=4, covariance_type=covariance_type, random_state=0)
    a = BayesianGaussianMixture(**params).fit(X)
    b = BayesianGaussianMixture(nan_policy="marginalize", **params).fit(X)
    assert_array_equal(a.lower_bounds_, b.lower_bounds_)
    assert_array_equal(a.means_, b.means_)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        BayesianGaussianMixture(**params).fit(with_missing())


def test_variational_fit_read_by_windows_as_in_memory(tmp_path):
    X = with_missing(n=3000, seed=92)
    np.save(tmp_path / "X.npy", X)
    params = dict(n_components=3, random_state=0, nan_policy="marginalize")
    a = quiet_fit(BayesianGaussianMixture(**params), X)
    b = quiet_fit(BayesianGaussianMixture(window_bytes=3 * 8 * 700, **params),
                   np.load(tmp_path / "X.npy", mmap_mode="r"))
    assert a.n_iter_ == b.n_iter_
    assert_allclose(b.means_, a.means_, rtol=1e-11, atol=1e-12)
    assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-12)
