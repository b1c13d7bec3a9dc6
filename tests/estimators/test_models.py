"""mclust's models and the noise component through the whole estimator:
outputs against a direct NumPy density, weights as repeated rows, float32,
memory maps, both backends, monotone bounds, save/load, search, errors."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from fastgmm import BayesianGaussianMixture, GaussianMixture, GaussianMixtureSearch, load
from fastgmm.em import covariance as cov
from fastgmm.em import parsimonious as pm

from ..helpers import BACKENDS, make_blobs


def _data(n=600, d=3, seed=3):
    X, _ = make_blobs(n, d, 3, seed=seed)
    return X


def _quiet(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, **kwargs)


def _log_density(model, X):
    """log p(x) from the fitted attributes, with SciPy's densities."""
    k, d = model.means_.shape
    full = model._fitted_spec.structure.expand(
        np.asarray(model.covariances_, dtype=np.float64), k, d)
    parts = [np.log(model.weights_[j]) + multivariate_normal(model.means_[j], full[j])
             .logpdf(X) for j in range(k)]
    if model._fitted_spec.noise:
        parts.append(np.full(len(X), np.log(model.noise_weight_)
                             - np.log(model.noise_volume_)))
    return logsumexp(np.stack(parts, axis=1), axis=1)


@pytest.mark.parametrize("model", pm.MODELS)
def test_each_model_fits_and_scores_as_its_density(model):
    X = _data()
    fitted = _quiet(GaussianMixture(3, covariance_type=model, random_state=0, tol=1e-6,
                                    max_iter=300), X)
    bounds = np.asarray(fitted.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))
    assert_allclose(fitted.score_samples(X), _log_density(fitted, X), rtol=1e-9)
    assert fitted.covariances_.shape == cov.covariance_shape(3, 3, pm.structure_of(model))
    n_params = 3 * 3 + 2 + pm.n_covariance_parameters(model, 3, 3)
    assert_allclose(fitted.bic(X), -2 * fitted.score(X) * len(X) + n_params * np.log(len(X)))


@pytest.mark.parametrize("model", ["EEI", "VEI", "EVE", "VEV", "EEV", "EII"])
def test_weights_count_as_repeated_rows_and_both_backends_agree(model):
    X = _data(300)
    counts = np.random.RandomState(4).randint(1, 4, len(X))
    start = _quiet(GaussianMixture(3, covariance_type=model, random_state=0, max_iter=0), X)
    structure = pm.structure_of(model)
    init = dict(weights_init=start.weights_, means_init=start.means_,
                precisions_init=start.precisions_)
    params = dict(covariance_type=model, tol=0.0, max_iter=15, **init)
    results = {}
    for backend in BACKENDS:
        weighted = _quiet(GaussianMixture(3, backend=backend, **params), X,
                          sample_weight=counts)
        repeated = _quiet(GaussianMixture(3, backend=backend, **params),
                          np.repeat(X, counts, axis=0))
        assert_allclose(weighted.means_, repeated.means_, rtol=1e-9, atol=1e-10)
        assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-8)
        results[backend] = weighted
    a, b = results.values()
    assert_allclose(a.covariances_, b.covariances_, rtol=1e-9)
    assert structure in ("diag", "full", "spherical")


@pytest.mark.parametrize("model", ["VEI", "EVE", "VEV", "EVV"])
def test_float32_and_memory_maps(model, tmp_path):
    X = _data(2000)
    params = dict(covariance_type=model, random_state=0, tol=1e-8, max_iter=200)
    f64 = _quiet(GaussianMixture(3, **params), X)
    f32 = _quiet(GaussianMixture(3, **params), X.astype(np.float32))
    assert f32.means_.dtype == np.float32
    assert_allclose(f32.means_, f64.means_, rtol=1e-3, atol=1e-3)
    np.save(tmp_path / "X.npy", X)
    mapped = _quiet(GaussianMixture(3, window_bytes=3 * 8 * 500, **params),
                    np.load(tmp_path / "X.npy", mmap_mode="r"))
    assert_allclose(mapped.means_, f64.means_, rtol=1e-10, atol=1e-10)
    assert mapped.n_iter_ == f64.n_iter_


def test_aliases_are_scikit_learns_four():
    X = _data()
    for name, alias in pm.ALIASES.items():
        a = GaussianMixture(3, covariance_type=name, random_state=0).fit(X)
        b = GaussianMixture(3, covariance_type=alias, random_state=0).fit(X)
        assert_array_equal(a.means_, b.means_)
        assert_array_equal(a.covariances_, b.covariances_)
        assert a.bic(X) == b.bic(X)


def test_save_load_search_and_errors(tmp_path):
    X = _data()
    for model in ("EVI", "VVE"):
        fitted = GaussianMixture(3, covariance_type=model, random_state=0).fit(X)
        fitted.save(tmp_path / f"{model}.npz")
        loaded = load(tmp_path / f"{model}.npz")
        assert loaded.covariance_type == model
        assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
        assert loaded.bic(X) == fitted.bic(X)
    search = GaussianMixtureSearch(range(2, 4), covariance_type="mclust",
                                   random_state=0).fit(X)
    assert len(search.results_) == 28
    assert {r["covariance_type"] for r in search.results_} == set(pm.MODELS)
    best = min(search.results_, key=lambda r: r["bic"])
    assert search.best_params_ == {"n_components": best["n_components"],
                                   "covariance_type": best["covariance_type"]}
    with pytest.raises(InvalidParameterError, match="covariance_type"):
        GaussianMixture(covariance_type="XYZ").fit(X)
    with pytest.raises(InvalidParameterError, match="covariance_type"):
        BayesianGaussianMixture(covariance_type="EEV").fit(X)
    with pytest.raises(InvalidParameterError, match="mclust"):
        GaussianMixtureSearch(covariance_type=["VEV", "nope"]).fit(X)
    # a warm start to another model of the same structure starts anew: refused
    warm = GaussianMixture(3, covariance_type="VEV", warm_start=True, random_state=0).fit(X)
    warm.set_params(covariance_type="EVV")
    with pytest.raises(ValueError, match="warm_start"):
        warm.fit(X)


# ----------------------------------------------------------------- noise


def _noisy(seed=0):
    rng = np.random.RandomState(seed)
    return np.vstack([rng.randn(300, 2), rng.randn(300, 2) + [6, 0],
                      rng.uniform(-10, 16, (60, 2))])


@pytest.mark.parametrize("model", ["full", "tied", "diag", "spherical", "VEV", "EEI"])
def test_noise_component(model, tmp_path):
    X = _noisy()
    fitted = _quiet(GaussianMixture(2, covariance_type=model, noise=True, n_init=3,
                                    random_state=0, tol=1e-8, max_iter=500), X)
    assert 0.03 < fitted.noise_weight_ < 0.2
    assert_allclose(fitted.weights_.sum() + fitted.noise_weight_, 1.0, rtol=1e-12)
    assert_allclose(fitted.score_samples(X), _log_density(fitted, X), rtol=1e-9)
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    labels = fitted.predict(X)
    assert_array_equal(labels, np.where(proba.argmax(axis=1) == 2, -1, proba.argmax(1)))
    # far points are noise, the clusters' centres are not
    assert np.all(fitted.predict(np.array([[-9.0, 15.0], [15.0, -9.0]])) == -1)
    assert np.all(fitted.predict(np.array([[0.0, 0.0], [6.0, 0.0]])) >= 0)
    # the Gaussians' (weights, means, covariances), and the noise's 2 (mclust's count)
    assert fitted._n_parameters() == (pm.n_covariance_parameters(model, 2, 2) + 2 * 2
                                      + 1 + 2)
    bounds = np.asarray(fitted.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))
    fitted.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert loaded.noise_weight_ == fitted.noise_weight_
    assert_array_equal(loaded.predict(X), labels)


def test_warm_start_refuses_a_change_of_noise():
    # off -> on turned a Gaussian into the noise component (without
    # noise_weight_: predict gave one label); on -> off kept k + 1 components
    X = _noisy()
    for before, after in ((False, True), (True, False)):
        warm = _quiet(GaussianMixture(2, noise=before, warm_start=True,
                                      random_state=0), X)
        proba = warm.predict_proba(X)
        warm.set_params(noise=after)
        with pytest.raises(ValueError, match=f"which has {'a' if before else 'no'} "
                                             f"noise component; this fit has "
                                             f"noise={after}"):
            warm.fit(X)
        assert_array_equal(warm.predict_proba(X), proba)  # left as it was
        # starting anew fits the mixture asked for: 2 components (+ the noise)
        fresh = _quiet(warm.set_params(warm_start=False), X)
        assert fresh.predict_proba(X).shape == (len(X), 2 + after)
        assert_allclose(fresh.weights_.sum() + getattr(fresh, "noise_weight_", 0.0),
                        1.0, rtol=1e-12)
    # partial_fit does not continue a mixture with a noise component either
    noisy = GaussianMixture(2, noise=True, random_state=0).fit(X)
    with pytest.raises(ValueError, match="noise component"):
        noisy.set_params(noise=False).partial_fit(X)


def test_a_fit_whose_noise_takes_every_row_is_saved(tmp_path):
    # a noise volume so small that its density 1/V beats every Gaussian's, or
    # an initial noise weight of 1: the fit ends at noise_weight_ = 1.0, which
    # save() refused (the file took weights in [0, 1))
    X = _noisy()
    for kwargs in (dict(noise_volume=1e-30), dict(weights_init=[0.0, 0.0, 1.0])):
        fitted = _quiet(GaussianMixture(2, noise=True, random_state=0, **kwargs), X)
        assert fitted.noise_weight_ == 1.0
        fitted.save(tmp_path / "m.npz")
        loaded = load(tmp_path / "m.npz")
        assert loaded.noise_weight_ == 1.0
        assert np.all(loaded.predict(X) == -1)
        # every row's density is the noise's, 1 / V
        assert_allclose(loaded.score_samples(X), -np.log(fitted.noise_volume_),
                        rtol=1e-9)


def test_noise_volume_and_refusals(tmp_path):
    X = _noisy()
    given = GaussianMixture(2, noise=True, noise_volume=1000.0, random_state=0).fit(X)
    assert given.noise_volume_ == 1000.0
    for call in (lambda m: m.sample(3), lambda m: m.impute(X),
                 lambda m: m.condition([0.0], [0])):
        with pytest.raises(ValueError, match="noise"):
            call(given)
    with pytest.raises(ValueError, match="noise"):
        GaussianMixture(2, noise=True).partial_fit(X)
    missing = X.copy()
    missing[0, 0] = np.nan
    with pytest.raises(ValueError, match="noise"):
        GaussianMixture(2, noise=True, nan_policy="marginalize").fit(missing)
    # the same volume read by windows as in memory
    np.save(tmp_path / "X.npy", X)
    mapped = GaussianMixture(2, noise=True, random_state=0, window_bytes=2 * 8 * 100).fit(
        np.load(tmp_path / "X.npy", mmap_mode="r"))
    in_memory = GaussianMixture(2, noise=True, random_state=0).fit(X)
    assert mapped.noise_volume_ == in_memory.noise_volume_
    assert_allclose(mapped.means_, in_memory.means_, rtol=1e-12)
    with pytest.raises(ValueError, match="hypervolume"):
        GaussianMixture(1, noise=True).fit(np.column_stack([X[:, 0], np.ones(len(X))]))
    with pytest.raises(InvalidParameterError, match="noise_volume"):
        GaussianMixture(2, noise=True, noise_volume=-1.0).fit(X)


def test_noise_volume_of_rows_on_a_subspace_is_zero():
    # collinear features: the hypervolume is 0, which rounding made ~1e-12
    # (the noise then took every row, weight 1, and the model could not be
    # saved); rows on a plane in 3-D, along no axis, alike
    rng = np.random.RandomState(0)
    t = np.concatenate([rng.randn(100), rng.randn(100) + 6])
    line = np.column_stack([t, 0.3 * t + 0.1])
    plane = np.column_stack([t, rng.randn(200)]) @ rng.randn(2, 3) + 1e3
    for X, rank in ((line, 1), (plane, 2)):
        with pytest.raises(ValueError, match=f"hypervolume is 0: the rows lie in a "
                                             f"subspace of {rank} dimension"):
            GaussianMixture(2, noise=True, random_state=0).fit(X)
        # a given volume fits them
        fitted = _quiet(GaussianMixture(2, noise=True, noise_volume=1.0,
                                        reg_covar=1e-3, random_state=0), X)
        assert fitted.noise_weight_ < 1.0
    # a thin spread along an axis is not a subspace, nor are features in
    # units far apart (the rank is the correlation's, free of units):
    # mclust's volume, the smaller of the bounding box's and the principal
    # box's
    noise = rng.randn(200)
    for X in (np.column_stack([t, 1e-4 * noise]),
              np.column_stack([1e6 * t, 1e-6 * noise]),
              np.column_stack([t, noise + 1e-3 * t])):
        fitted = _quiet(GaussianMixture(2, noise=True, random_state=0), X)
        axes = np.linalg.eigh(np.cov(X.T))[1]
        assert_allclose(fitted.noise_volume_, min(np.prod(np.ptp(X, axis=0)),
                                                  np.prod(np.ptp(X @ axes, axis=0))),
                        rtol=1e-9)


def test_noise_volume_is_that_of_the_rows_of_positive_weight():
    # rows of weight 0 take no part (they entered the volume), and a weight
    # counts as that many copies of the row (the principal axes too)
    X = _noisy()
    rng = np.random.RandomState(1)
    counts = rng.randint(1, 4, len(X))
    far = np.array([[1e6, -1e6], [1e200, 0.0], [50.0, 50.0]])
    params = dict(noise=True, random_state=0, tol=1e-8, max_iter=300)
    expected = _quiet(GaussianMixture(2, **params), np.repeat(X, counts, axis=0))
    fitted = _quiet(GaussianMixture(2, **params), np.vstack([far[:2], X, far[2:]]),
                    sample_weight=np.concatenate([[0, 0], counts, [0]]))
    assert_allclose(fitted.noise_volume_, expected.noise_volume_, rtol=1e-12)
    assert_allclose(fitted.noise_weight_, expected.noise_weight_, rtol=1e-8)
    assert_allclose(fitted.means_, expected.means_, rtol=1e-8)


@pytest.mark.parametrize("subspace", ["constant feature", "tilted plane"])
@pytest.mark.parametrize("model", pm.MODELS)
def test_degenerate_data_fit_or_say_why(model, subspace):
    # rows on a plane (a constant feature, or a plane along no axis: VEE's
    # common matrix was singular, numpy's LinAlgError) and reg_covar=0: a
    # finite fit or scikit-learn's ill-defined covariance error, never
    # another exception or NaN
    rng = np.random.RandomState(0)
    if subspace == "constant feature":
        X = np.column_stack([rng.randn(200, 2), np.ones(200)])
    else:
        plane = rng.randn(2, 3)
        X = np.vstack([rng.randn(100, 2), rng.randn(100, 2) + 5]) @ plane
    try:
        fitted = _quiet(GaussianMixture(3, covariance_type=model, reg_covar=0.0,
                                        random_state=0), X)
    except ValueError as exc:
        assert "ill-defined empirical covariance" in str(exc)
    else:
        assert np.all(np.isfinite(fitted.covariances_))
        assert np.isfinite(fitted.lower_bound_)
    # the default regularization fits every model
    fitted = _quiet(GaussianMixture(3, covariance_type=model, random_state=0), X)
    assert np.all(np.isfinite(fitted.covariances_))


@pytest.mark.parametrize("model", pm.MODELS)
def test_a_fit_of_scaled_data_is_the_fit_scaled(model):
    # scale-equivariance over float64's range: the fit of c X is the fit of X
    # with means c m and covariances c^2 S (reg_covar=0: it has no scale)
    X = _data(300)
    params = dict(covariance_type=model, reg_covar=0.0, random_state=0, tol=0.0,
                  max_iter=30)
    fitted = _quiet(GaussianMixture(3, **params), X)
    for c in (1e-150, 1e150):
        scaled = _quiet(GaussianMixture(3, **params), c * X)
        assert_allclose(scaled.weights_, fitted.weights_, rtol=1e-7)
        assert_allclose(scaled.means_ / c, fitted.means_, rtol=1e-7, atol=1e-9)
        assert_allclose(scaled.covariances_ / c**2, fitted.covariances_, rtol=1e-7,
                        atol=1e-9 * np.max(np.abs(fitted.covariances_)))
