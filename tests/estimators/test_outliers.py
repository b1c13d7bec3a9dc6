"""GaussianMixtureOutlierDetector: the threshold against a hand computation
(NumPy's quantile of the log-densities), the same threshold from memory
maps and dask arrays, weights, missing values, explanations, and
scikit-learn's estimator checks for outlier detectors."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastgmm import GaussianMixture, GaussianMixtureOutlierDetector

from ..helpers import ArrayLike, make_blobs


def _data(n=2000, seed=7):
    X, _ = make_blobs(n, 3, 3, seed=seed)
    rng = np.random.RandomState(seed)
    # injected anomalies, far from every blob
    X[:20] = rng.choice([-1.0, 1.0], (20, 3)) * rng.uniform(40, 60, (20, 3))
    return X


def _quiet(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, **kwargs)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "VEV", "EII"])
def test_the_threshold_is_the_quantile_of_the_log_densities(covariance_type):
    X = _data()
    detector = _quiet(GaussianMixtureOutlierDetector(
        3, contamination=0.02, covariance_type=covariance_type, random_state=0), X)
    mixture = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    log_density = mixture.score_samples(X)
    assert detector.offset_ == np.quantile(log_density, 0.02)
    assert_array_equal(detector.score_samples(X), log_density)
    assert_array_equal(detector.decision_function(X), log_density - detector.offset_)
    predicted = detector.predict(X)
    assert_array_equal(predicted, np.where(log_density < detector.offset_, -1, 1))
    assert np.sum(predicted == -1) == 40  # 2% of 2000 (no ties)
    assert np.all(predicted[:20] == -1)  # the injected anomalies
    assert_array_equal(detector.fit_predict(X), predicted)


def test_weights_count_rows():
    X = _data()
    w = np.random.RandomState(1).randint(0, 5, len(X)).astype(float)
    detector = GaussianMixtureOutlierDetector(3, contamination=0.05,
                                              random_state=0).fit(X, sample_weight=w)
    log_density = detector.mixture_.score_samples(X)
    # the quantile of the rows repeated as many times as their weight
    assert_allclose(detector.offset_, np.quantile(np.repeat(log_density, w.astype(int)),
                                                  0.05), rtol=1e-15)


def test_the_same_threshold_from_windows_and_dask(tmp_path):
    X = _data(5000)
    w = np.random.RandomState(2).rand(len(X))
    params = dict(n_components=3, contamination=0.03, random_state=0)
    expected = GaussianMixtureOutlierDetector(**params).fit(X)
    weighted = GaussianMixtureOutlierDetector(**params).fit(X, sample_weight=w)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    assert GaussianMixtureOutlierDetector(**params).fit(mapped).offset_ == expected.offset_
    assert (GaussianMixtureOutlierDetector(**params).fit(ArrayLike(X)).offset_
            == expected.offset_)
    assert (GaussianMixtureOutlierDetector(**params).fit(mapped, sample_weight=w).offset_
            == weighted.offset_)
    da = pytest.importorskip("dask.array")
    dX = da.from_array(X, chunks=(1100, 3))
    on_dask = GaussianMixtureOutlierDetector(**params).fit(dX)
    assert_allclose(on_dask.offset_, expected.offset_, rtol=1e-12)
    assert_array_equal(on_dask.predict(dX).compute(), expected.predict(X))


def test_the_selection_never_holds_every_value(monkeypatch):
    # blocks of the threshold pass, and a bin collected only when small
    from fastgmm import _outliers, _quantile

    X = _data(6000)
    expected = GaussianMixtureOutlierDetector(3, contamination=0.1, random_state=0).fit(X)
    monkeypatch.setattr(_outliers, "BLOCK_ROWS", 700)
    monkeypatch.setattr(_quantile, "BINS", 16)
    monkeypatch.setattr(_quantile, "CAP", 100)
    seen = []
    real = _quantile._collect

    def collect(values, weights, low, high):
        out = real(values, weights, low, high)
        seen.append(out[0].size)
        return out

    monkeypatch.setattr(_quantile, "_collect", collect)
    got = GaussianMixtureOutlierDetector(3, contamination=0.1, random_state=0).fit(
        ArrayLike(X))
    assert got.offset_ == expected.offset_
    assert 0 < sum(seen) <= 3 * 100 * 2


def test_auto_contamination_and_missing_values():
    X = _data()
    auto = GaussianMixtureOutlierDetector(3, random_state=0).fit(X)
    q1, q3 = np.quantile(auto.mixture_.score_samples(X), [0.25, 0.75])
    assert_allclose(auto.offset_, q1 - 1.5 * (q3 - q1), rtol=1e-15)
    flagged = np.mean(auto.predict(X) == -1)
    assert 0.01 < flagged < 0.08
    assert np.all(auto.predict(X[:20]) == -1)
    missing = X.copy()
    missing[np.random.RandomState(3).rand(*X.shape) < 0.1] = np.nan
    detector = _quiet(GaussianMixtureOutlierDetector(
        3, contamination=0.02, nan_policy="marginalize", random_state=0), missing)
    assert detector.offset_ == np.quantile(detector.mixture_.score_samples(missing), 0.02)
    assert np.all(np.isfinite(detector.decision_function(missing)))
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixtureOutlierDetector(3).fit(missing)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "EEI"])
def test_explanations(covariance_type):
    X = _data()
    detector = GaussianMixtureOutlierDetector(3, contamination=0.02,
                                              covariance_type=covariance_type,
                                              random_state=0).fit(X)
    explanation = detector.explain(X)
    mixture = detector.mixture_
    assert_array_equal(explanation["component"], mixture.predict(X))
    assert_array_equal(explanation["decision"], detector.decision_function(X))
    k, d = mixture.means_.shape
    structure = mixture._fitted_spec.structure
    full = structure.expand(mixture.covariances_, k, d)
    z = X - mixture.means_[explanation["component"]]
    inverse = np.linalg.inv(full)[explanation["component"]]
    want = np.sqrt(np.einsum("ni,nij,nj->n", z, inverse, z))
    assert_allclose(explanation["mahalanobis"], want, rtol=1e-8)
    if structure.diagonal:
        assert_allclose(explanation["contributions"].sum(axis=1), want**2, rtol=1e-8)
    else:
        assert explanation["contributions"] is None


def test_noise_and_errors():
    X = _data()
    noisy = GaussianMixtureOutlierDetector(3, contamination=0.02, noise=True, n_init=2,
                                           random_state=0).fit(X)
    explanation = noisy.explain(X)
    labels = noisy.mixture_.predict(X)
    assert_array_equal(explanation["component"], labels)
    assert np.any(labels == -1)
    assert np.all(np.isnan(explanation["mahalanobis"][labels == -1]))
    assert np.all(np.isfinite(explanation["mahalanobis"][labels >= 0]))
    with pytest.raises(ValueError, match="contamination"):
        GaussianMixtureOutlierDetector(contamination=0.7).fit(X)


def test_explain_validates_x_as_predict_does():
    from sklearn.utils import check_array

    X = _data(600)
    detector = GaussianMixtureOutlierDetector(3, random_state=0).fit(X)
    expected = detector.explain(X)
    # what predict takes, explain takes: a list, a tuple (and, read by
    # windows, an array-like)
    for given in (X.tolist(), tuple(map(tuple, X)), ArrayLike(X)):
        assert_array_equal(detector.predict(given), detector.predict(X))
        explanation = detector.explain(given)
        for key in ("component", "mahalanobis", "decision"):
            assert_array_equal(explanation[key], expected[key])
    # what it refuses, scikit-learn's ValueError, as predict (and check_array)
    for bad, message in ((3.0, "Expected 2D array, got scalar array"),
                         (X[0], "Expected 2D array, got 1D array")):
        with pytest.raises(ValueError, match=message):
            check_array(bad)
    for bad, message in ((3.0, "Expected 2D array, got scalar array"),
                         (X[0], "Expected 2D array, got 1D array"),
                         (X[:, :2], "X has 2 features, but GaussianMixture is "
                                    "expecting 3 features")):
        for method in (detector.predict, detector.explain):
            with pytest.raises(ValueError, match=message):
                method(bad)
    # a data frame's feature names are checked once, as predict checks them
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    named = GaussianMixtureOutlierDetector(3, random_state=0).fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        explanation = named.explain(frame)
    assert_array_equal(explanation["component"], expected["component"])


def _expected_failures(estimator):
    if estimator.n_components > 1:
        # as scikit-learn's own GaussianMixture: the k-means initialization
        # draws rows at random, and repeated rows change the draws
        return {"check_sample_weight_equivalence_on_dense_data":
                "the k-means initialization's draws depend on repeated rows"}
    return {}


@parametrize_with_checks([GaussianMixtureOutlierDetector(random_state=0),
                          GaussianMixtureOutlierDetector(2, contamination=0.1,
                                                         covariance_type="VEV",
                                                         random_state=0)],
                         expected_failed_checks=_expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_the_block_quantile_is_numpys(monkeypatch):
    from fastgmm import _quantile

    rng = np.random.RandomState(0)
    monkeypatch.setattr(_quantile, "CAP", 50)  # bins refined within bins too
    for trial in range(60):
        n = rng.randint(1, 3000)
        values = rng.randn(n) * rng.choice([1.0, 1e-9, 1e9])
        if trial % 4 == 0:
            values = np.round(values, 1)  # ties
        weights = rng.randint(0, 4, n).astype(float)
        weights[0] = 1.0
        q = rng.uniform(0.001, 0.5)
        cuts = np.unique(np.r_[0, np.sort(rng.randint(0, n + 1, 3)), n])
        parts = list(zip(cuts[:-1], cuts[1:]))

        def unweighted(fn):
            return [fn(values[a:b], None) for a, b in parts if b > a]

        def weighted(fn):
            return [fn(values[a:b], weights[a:b]) for a, b in parts if b > a]

        assert _quantile.quantile(unweighted, q) == np.quantile(values, q)
        assert_allclose(_quantile.quantile(weighted, q),
                        np.quantile(np.repeat(values, weights.astype(int)), q),
                        rtol=1e-14, atol=1e-300)
