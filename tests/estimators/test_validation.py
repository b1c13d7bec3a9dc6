"""Bad input: the exception scikit-learn raises, with a clear message."""

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from fastgmm import GaussianMixture

from ..helpers import COVARIANCE_TYPES, make_blobs

sklearn_mixture = pytest.importorskip("sklearn.mixture")

X_GOOD, _ = make_blobs(60, 2, 2, seed=0)
NAN_X = X_GOOD.copy()
NAN_X[3, 1] = np.nan
INF_X = X_GOOD.copy()
INF_X[5, 0] = np.inf

# (case id, constructor kwargs, fit argument, message pattern)
FIT_CASES = [
    ("nan", {}, NAN_X, "Input X contains NaN"),
    ("inf", {}, INF_X, "Input X contains infinity"),
    ("1d", {}, np.arange(10.0), "Expected 2D array, got 1D array"),
    ("empty", {}, np.empty((0, 2)), "Found array with 0 sample"),
    ("one sample", {}, np.ones((1, 2)), "minimum of 2 is required"),
    ("strings", {}, np.array([["a", "b"], ["c", "d"]]), "could not convert|dtype"),
    ("complex", {}, X_GOOD + 1j, "Complex data not supported"),
    ("fewer samples than components", {"n_components": 61}, X_GOOD,
     "Expected n_samples >= n_components"),
    ("weights shape", {"n_components": 2, "weights_init": [0.2, 0.3, 0.5]}, X_GOOD,
     "The parameter 'weights' should have the shape of"),
    ("weights range", {"n_components": 2, "weights_init": [1.5, -0.5]}, X_GOOD,
     r"should be in the range \[0, 1\]"),
    ("weights sum", {"n_components": 2, "weights_init": [0.3, 0.3]}, X_GOOD,
     "should be normalized"),
    ("means shape", {"n_components": 2, "means_init": np.zeros((3, 2))}, X_GOOD,
     "The parameter 'means' should have the shape of"),
    ("full precision shape", {"n_components": 2, "precisions_init": np.ones((2, 3, 3))},
     X_GOOD, "The parameter 'full precision' should have the shape of"),
    ("full precision not pd",
     {"n_components": 2, "precisions_init": np.array([np.eye(2), -np.eye(2)])},
     X_GOOD, "'full precision' should be symmetric, positive-definite"),
    ("full precision not symmetric",
     {"n_components": 2, "precisions_init": np.array([np.eye(2), [[1, 0.5], [0, 1]]])},
     X_GOOD, "'full precision' should be symmetric, positive-definite"),
    ("tied precision not pd",
     {"n_components": 2, "covariance_type": "tied", "precisions_init": -np.eye(2)},
     X_GOOD, "'tied precision' should be symmetric, positive-definite"),
    ("diag precision negative",
     {"n_components": 2, "covariance_type": "diag", "precisions_init": -np.ones((2, 2))},
     X_GOOD, "'diag precision' should be positive"),
    ("spherical precision zero",
     {"n_components": 2, "covariance_type": "spherical", "precisions_init": [1.0, 0.0]},
     X_GOOD, "'spherical precision' should be positive"),
    ("n_components 0", {"n_components": 0}, X_GOOD, "'n_components' parameter"),
    ("covariance type", {"covariance_type": "banana"}, X_GOOD, "'covariance_type'"),
    ("tol negative", {"tol": -1.0}, X_GOOD, "'tol' parameter"),
    ("reg_covar negative", {"reg_covar": -1e-3}, X_GOOD, "'reg_covar' parameter"),
    ("max_iter negative", {"max_iter": -1}, X_GOOD, "'max_iter' parameter"),
    ("n_init 0", {"n_init": 0}, X_GOOD, "'n_init' parameter"),
    ("init_params", {"init_params": "magic"}, X_GOOD, "'init_params' parameter"),
    ("verbose_interval", {"verbose_interval": 0}, X_GOOD, "'verbose_interval'"),
    ("random_state", {"random_state": "seed"}, X_GOOD, "'random_state' parameter"),
]


def raised(estimator, X, method="fit"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            getattr(estimator, method)(X)
        except Exception as exc:  # noqa: BLE001  (we compare what was raised)
            return exc
    return None


@pytest.mark.parametrize("case, kwargs, X, pattern", FIT_CASES,
                         ids=[c[0] for c in FIT_CASES])
def test_bad_fit_input_raises_like_sklearn(case, kwargs, X, pattern):
    X_before = np.array(X, copy=True)
    ours = raised(GaussianMixture(**kwargs), X)
    theirs = raised(sklearn_mixture.GaussianMixture(**kwargs), X)
    assert theirs is not None, "scikit-learn accepts this input"
    assert ours is not None, f"fastgmm accepts {case}"
    assert type(ours) is type(theirs), (ours, theirs)
    assert re.search(pattern, str(ours)), str(ours)
    np.testing.assert_array_equal(X, X_before)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"backend": "fortran"}, "'backend' parameter"),
    ({"n_threads": 0}, "'n_threads' parameter"),
    ({"n_threads": 1.5}, "'n_threads' parameter"),
])
def test_bad_own_parameters(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        GaussianMixture(**kwargs).fit(X_GOOD)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score",
                                    "score_samples", "bic", "aic"])
def test_use_before_fit(method):
    ours = raised(GaussianMixture(), X_GOOD, method)
    theirs = raised(sklearn_mixture.GaussianMixture(), X_GOOD, method)
    assert isinstance(ours, NotFittedError) and type(ours) is type(theirs)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        GaussianMixture().sample(3)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score_samples"])
def test_wrong_feature_count_and_nan_at_predict(method):
    ours = GaussianMixture(2, random_state=0).fit(X_GOOD)
    theirs = sklearn_mixture.GaussianMixture(2, random_state=0).fit(X_GOOD)
    for bad, pattern in [(np.ones((4, 3)), "X has 3 features, but GaussianMixture is "
                                           "expecting 2 features as input"),
                         (NAN_X, "Input X contains NaN")]:
        a, b = raised(ours, bad, method), raised(theirs, bad, method)
        assert type(a) is type(b) is ValueError
        assert re.search(pattern, str(a))


def test_the_feature_count_messages():
    # scikit-learn's own wording, "X has 1 features" (its estimator checks
    # match it), and ours in the right number
    ours = GaussianMixture(2, random_state=0).fit(X_GOOD)
    theirs = sklearn_mixture.GaussianMixture(2, random_state=0).fit(X_GOOD)
    a, b = raised(ours, X_GOOD[:, :1], "predict"), raised(theirs, X_GOOD[:, :1], "predict")
    assert str(a) == str(b) and "X has 1 features" in str(a)
    ours.set_params(warm_start=True)
    with pytest.raises(ValueError, match=r"X with 1 feature\)"):
        ours.fit(X_GOOD[:, :1])


@pytest.mark.parametrize("sample_weight, pattern", [
    (np.ones(59), r"sample_weight.shape == \(59,\), expected \(60,\)"),
    (np.ones((60, 2)), "1D array"),
    (-np.ones(60), "Negative values in data passed to sample_weight"),
    (np.r_[np.nan, np.ones(59)], "NaN"),
    (np.zeros(60), "at least one non-zero"),
    (np.r_[1.0, np.zeros(59)], "at least n_components samples with a positive weight"),
])
def test_bad_sample_weight(sample_weight, pattern):
    before = np.array(sample_weight, copy=True)
    with pytest.raises(ValueError, match=pattern):
        GaussianMixture(2).fit(X_GOOD, sample_weight=sample_weight)
    np.testing.assert_array_equal(sample_weight, before)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_ill_defined_covariance_names_component_and_remedy(covariance_type):
    # two collapsed clouds and no regularization
    X = np.vstack([np.zeros((5, 3)), np.ones((5, 3))])
    gm = GaussianMixture(n_components=4, reg_covar=0, covariance_type=covariance_type,
                         random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError) as info:
            gm.fit(X)
        msg = str(info.value)
        assert "increase reg_covar" in msg and "decrease the number of components" in msg
        where = ("the tied covariance" if covariance_type == "tied"
                 else rf"component \d+ \({covariance_type} covariance\)")
        assert re.search(where + " is not positive definite", msg), msg
        gm.set_params(reg_covar=1e-6).fit(X)  # the remedy works
    assert np.all(np.isfinite(gm.means_))
    X32 = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match="float64 data instead of float32"):
            gm.set_params(reg_covar=0).fit(X32)


def test_non_finite_likelihood_is_an_error_not_nan():
    # distances this large overflow the squared Mahalanobis norm to inf
    X = np.array([[0.0], [1.0], [2.0], [1e200]])
    gm = GaussianMixture(1, means_init=[[0.0]], precisions_init=[[[1.0]]])
    with pytest.raises(ValueError, match="not finite"):
        gm.fit(X)
