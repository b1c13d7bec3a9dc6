"""Issue 39's integration of the t family: GaussianMixtureSearch over
``family`` (Gaussian and t candidates ranked together, each with its own
parameter count), GaussianMixtureOutlierDetector(family='t'), and a t
mixture's model file.

The t pass runs on the backends whose drivers take ``dof``: the Cython
backend's is being built, so its cases skip until its drivers say
``TAKES_DOF``.
"""

import math
import os

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

import fastgmm
from fastgmm import (
    GaussianMixture,
    GaussianMixtureOutlierDetector,
    GaussianMixtureSearch,
    StudentTMixture,
    kernels,
)
from fastgmm.files import model as _io

from ..helpers import BACKENDS, quiet_fit


@pytest.fixture(params=BACKENDS)
def t_backend(request):
    """A backend whose drivers compute the t pass (skipped otherwise)."""
    if not getattr(kernels.get_backend(request.param).drivers, "TAKES_DOF", False):
        pytest.skip(f"the {request.param} backend's drivers do not compute the t "
                    "pass yet")
    return request.param


def heavy_tailed(seed=0):
    """Two clusters of t(3) draws (whose tails hold gross outliers of their
    own) and 20 planted outliers on a circle of radius 40 around them: (X,
    the planted rows, X's last 20)."""
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.standard_t(3, size=(500, 2)),
                   rng.standard_t(3, size=(500, 2)) + [10.0, 0.0]])
    angle = rng.uniform(0.0, 2.0 * np.pi, 20)
    planted = np.column_stack([5.0 + 40.0 * np.cos(angle), 40.0 * np.sin(angle)])
    return np.vstack([X, planted]), planted


def gaussian_blobs(seed=0):
    """Three well-separated Gaussian clusters, no outliers."""
    rng = np.random.RandomState(seed)
    means = np.array([[0.0, 0.0], [7.0, 1.0], [2.0, 8.0]])
    return np.vstack([rng.randn(300, 2) @ np.array([[1.0, 0.4], [0.0, 0.8]]) + m
                      for m in means])


def gaussian_count(k, d, covariance_type):
    """A Gaussian mixture's free parameters, counted here."""
    covariance = {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2,
                  "diag": k * d, "spherical": k}[covariance_type]
    return covariance + k * d + (k - 1)


# ------------------------------------------------------------------ search


def test_a_search_over_both_families_picks_t_on_heavy_tails(t_backend):
    X, _ = heavy_tailed()
    search = GaussianMixtureSearch([1, 2, 3], covariance_type=["full", "diag"],
                                   family=["gaussian", "t"], backend=t_backend,
                                   random_state=0, n_jobs=1).fit(X)
    # grid order: families, covariance types, then n_components
    assert [(r["family"], r["covariance_type"], r["n_components"])
            for r in search.results_] == [
        (f, t, k) for f in ("gaussian", "t") for t in ("full", "diag") for k in (1, 2, 3)]
    best = search.results_[search.best_index_]
    assert best["family"] == "t"
    assert search.best_params_ == {"n_components": best["n_components"],
                                   "covariance_type": best["covariance_type"],
                                   "family": "t"}
    by_family = {f: min(r["bic"] for r in search.results_ if r["family"] == f)
                 for f in ("gaussian", "t")}
    assert by_family["t"] < by_family["gaussian"]
    # each candidate counts its own parameters: a t candidate's k degrees of
    # freedom besides
    for r in search.results_:
        k = r["n_components"]
        assert r["n_parameters"] == gaussian_count(k, 2, r["covariance_type"]) + (
            k if r["family"] == "t" else 0)
    # the best candidate is the StudentTMixture fitted alone
    model = search.best_estimator_
    assert type(model) is StudentTMixture and model.dof == "component"
    alone = quiet_fit(StudentTMixture(best["n_components"],
                                      covariance_type=best["covariance_type"],
                                      backend=t_backend, random_state=0), X)
    assert_allclose(model.lower_bound_, alone.lower_bound_, rtol=0, atol=1e-12)
    assert_allclose(model.means_, alone.means_, rtol=0, atol=1e-12)
    assert_allclose(model.dof_, alone.dof_, rtol=1e-12)
    assert_allclose(best["bic"], alone.bic(X), rtol=1e-12)
    assert_allclose(best["aic"], alone.aic(X), rtol=1e-12)
    assert best["n_parameters"] == alone._n_parameters()
    # the search's methods are the best model's
    assert_array_equal(search.predict(X), model.predict(X))
    assert_array_equal(search.score_samples(X), model.score_samples(X))
    assert search.score(X) == model.score(X)
    assert search.sample(5)[0].shape == (5, 2)


@pytest.mark.parametrize("dof, extra", [("shared", 1), (4.0, 0)])
def test_t_candidates_take_dof_and_count_it(t_backend, dof, extra):
    X, _ = heavy_tailed(1)
    events = []
    search = GaussianMixtureSearch([2, 3], covariance_type="diag", family="t", dof=dof,
                                   backend=t_backend, random_state=0,
                                   n_jobs=1).fit(X, callback=events.append)
    assert sorted(e["family"] for e in events) == ["t", "t"]
    for r in search.results_:
        assert r["family"] == "t"
        assert r["n_parameters"] == gaussian_count(r["n_components"], 2, "diag") + extra
    model = search.best_estimator_
    assert model.dof == dof and search.best_params_["family"] == "t"
    if dof == "shared":
        assert np.all(model.dof_ == model.dof_[0])
    else:
        assert_array_equal(model.dof_, dof)


def test_adding_t_leaves_the_gaussian_candidates_unchanged(t_backend):
    X = gaussian_blobs()
    kwargs = dict(covariance_type=["full", "spherical"], backend=t_backend,
                  random_state=0, n_jobs=1)
    gaussian = GaussianMixtureSearch([1, 2, 3, 4], **kwargs).fit(X)
    both = GaussianMixtureSearch([1, 2, 3, 4], family=["gaussian", "t"], **kwargs).fit(X)
    # the default search's best_params_ are GaussianMixture's parameters
    assert set(gaussian.best_params_) == {"n_components", "covariance_type"}
    assert all(r["family"] == "gaussian" for r in gaussian.results_)
    assert len(both.results_) == 2 * len(gaussian.results_)
    same = ("n_components", "covariance_type", "family", "bic", "aic", "icl",
            "log_likelihood", "lower_bound", "n_iter", "converged", "n_parameters")
    assert [{key: r[key] for key in same} for r in both.results_[:8]] == \
        [{key: r[key] for key in same} for r in gaussian.results_]
    # on Gaussian data the Gaussian mixture wins: the t's dof cost parameters
    assert both.best_params_ == {**gaussian.best_params_, "family": "gaussian"}
    assert type(both.best_estimator_) is GaussianMixture
    assert_array_equal(both.best_estimator_.means_, gaussian.best_estimator_.means_)


def test_heldout_refits_the_best_candidate_of_its_family(t_backend):
    X, _ = heavy_tailed(2)
    search = GaussianMixtureSearch([2], covariance_type="diag", family=["gaussian", "t"],
                                   criterion="heldout", cv=3, backend=t_backend,
                                   random_state=0, n_jobs=1).fit(X)
    assert [r["family"] for r in search.results_] == ["gaussian", "t"]
    assert all(r["n_fits"] == 3 and np.isfinite(r["heldout"]) for r in search.results_)
    best = search.results_[search.best_index_]
    assert best["family"] == "t"  # held-out likelihood: the t's heavy tails
    alone = quiet_fit(StudentTMixture(2, covariance_type="diag", backend=t_backend,
                                      random_state=0), X)
    assert type(search.best_estimator_) is StudentTMixture
    assert_allclose(search.best_estimator_.lower_bound_, alone.lower_bound_, rtol=0,
                    atol=1e-12)


def test_the_plot_draws_a_line_per_family(t_backend):
    pytest.importorskip("matplotlib")
    import fastgmm.plot

    X, _ = heavy_tailed()
    search = GaussianMixtureSearch([1, 2], covariance_type="diag",
                                   family=["gaussian", "t"], backend=t_backend,
                                   random_state=0, n_jobs=1).fit(X)
    ax = fastgmm.plot.search(search)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["diag, gaussian", "diag, t"]
    assert ax.get_lines()[1].get_linestyle() == "--"
    assert ax.get_title() == "BIC: best 2 components, 'diag', t"


@pytest.mark.parametrize("family", ["t", ["gaussian", "t"], ("t",)])
def test_a_search_with_t_refuses_noise_and_missing_values(family):
    X, _ = heavy_tailed()
    with pytest.raises(ValueError, match=r"noise component \(noise=True\) with family 't'"):
        GaussianMixtureSearch(2, family=family, noise=True).fit(X)
    with pytest.raises(ValueError, match="nan_policy='marginalize' with family 't'"):
        GaussianMixtureSearch(2, family=family, nan_policy="marginalize").fit(X)


@pytest.mark.parametrize("family", ["student", [], ["gaussian", "x"], None, 3])
def test_an_unknown_family_is_refused(family):
    with pytest.raises(InvalidParameterError, match="'family' parameter"):
        GaussianMixtureSearch(2, family=family).fit(heavy_tailed()[0])


def test_a_bad_dof_is_refused():
    for dof in (0.0, -1.0, math.inf, "estimated"):
        with pytest.raises(InvalidParameterError, match="'dof' parameter"):
            GaussianMixtureSearch(2, family="t", dof=dof).fit(heavy_tailed()[0])


# ------------------------------------------------------------ the detector


def test_the_t_detector_flags_the_planted_outliers(t_backend):
    X, planted = heavy_tailed()
    detector = GaussianMixtureOutlierDetector(2, family="t", contamination=0.02,
                                              backend=t_backend, random_state=0).fit(X)
    mixture = detector.mixture_
    assert type(mixture) is StudentTMixture and mixture.dof == "component"
    alone = quiet_fit(StudentTMixture(2, backend=t_backend, random_state=0), X)
    assert_allclose(mixture.means_, alone.means_, rtol=0, atol=1e-12)
    # its scores are the t mixture's log-density, the threshold their quantile
    assert_array_equal(detector.score_samples(X), alone.score_samples(X))
    assert_allclose(detector.offset_, np.quantile(alone.score_samples(X), 0.02),
                    rtol=1e-12)
    assert np.all(detector.predict(planted) == -1)
    assert np.mean(detector.predict(X[:-20]) == -1) <= 0.01
    explained = detector.explain(X)
    assert_array_equal(explained["component"], alone.predict(X))
    assert np.all(np.isfinite(explained["mahalanobis"]))
    # dof is passed on
    shared = GaussianMixtureOutlierDetector(2, family="t", dof="shared",
                                            backend=t_backend, random_state=0).fit(X)
    assert shared.mixture_.dof == "shared"
    assert np.all(shared.mixture_.dof_ == shared.mixture_.dof_[0])
    assert np.all(shared.predict(planted) == -1)


def test_a_warm_start_detector_changes_family(t_backend):
    X, _ = heavy_tailed()
    detector = GaussianMixtureOutlierDetector(2, warm_start=True, backend=t_backend,
                                              random_state=0).fit(X)
    assert type(detector.mixture_) is GaussianMixture
    detector.set_params(family="t").fit(X)
    assert type(detector.mixture_) is StudentTMixture


def test_the_t_detector_refuses_noise_and_missing_values():
    X, _ = heavy_tailed()
    with pytest.raises(ValueError, match=r"noise component \(noise=True\) with "
                                         "family='t'"):
        GaussianMixtureOutlierDetector(2, family="t", noise=True).fit(X)
    with pytest.raises(ValueError, match="nan_policy='marginalize' with family='t'"):
        GaussianMixtureOutlierDetector(2, family="t", nan_policy="marginalize").fit(X)
    with pytest.raises(InvalidParameterError, match="'family' parameter"):
        GaussianMixtureOutlierDetector(2, family="student").fit(X)


# ------------------------------------------------------------- model files


def test_a_t_mixture_file_loads_back_as_a_t_mixture(t_backend, tmp_path):
    X, _ = heavy_tailed()
    path = os.path.join(tmp_path, "t.npz")
    model = quiet_fit(StudentTMixture(2, covariance_type="VEV", dof="shared",
                                      dof_init=[8.0, 8.0], backend=t_backend,
                                      random_state=0), X)
    model.save(path)
    arrays, metadata = _io.read_model_file(path)
    assert metadata["format"] == "fastgmm.StudentTMixture"
    assert metadata["student"] == {"dof": "shared"}
    assert metadata["param_arrays"] == ["dof_init"]
    loaded = fastgmm.load(path)
    assert type(loaded) is StudentTMixture
    assert loaded.dof == "shared" and loaded.covariance_type == "VEV"
    assert_array_equal(loaded.dof_init, [8.0, 8.0])
    assert_array_equal(loaded.dof_, model.dof_)
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.bic(X) == model.bic(X)
    fixed = quiet_fit(StudentTMixture(2, dof=2.5, backend=t_backend, random_state=0),
                      X.astype(np.float32))
    fixed.save(path)
    again = fastgmm.load(path)
    assert again.dof == 2.5 and again.dof_.dtype == np.float32
    assert_array_equal(again.score_samples(X), fixed.score_samples(X))
    # what the file must hold
    model.save(path)
    arrays, metadata = _io.read_model_file(path)
    for change, message in [
        (lambda a, m: a.update(dof_=-a["dof_"]), "dof_ must be positive"),
        (lambda a, m: a.pop("dof_"), "the array dof_ is missing"),
        (lambda a, m: a.update(dof_=a["dof_"] * [1.0, 2.0]), "one value"),
        (lambda a, m: m["params"].update(dof=4.0), "dof_ were fitted with"),
        (lambda a, m: m.update(student={"dof": "many"}), "not 'component'"),
        (lambda a, m: m.update(student=None), "Gaussian mixture's file with a t"),
    ]:
        a, m = dict(arrays), {**metadata, "params": dict(metadata["params"])}
        change(a, m)
        with pytest.raises(ValueError, match=message):
            _io.write_model_file(path, a, m)


def test_a_gaussian_file_is_unchanged_and_refuses_dof(tmp_path):
    X = gaussian_blobs()
    path = os.path.join(tmp_path, "g.npz")
    quiet_fit(GaussianMixture(2, backend="numba", random_state=0), X).save(path)
    arrays, metadata = _io.read_model_file(path)
    assert metadata["format"] == "fastgmm.GaussianMixture"
    assert metadata["student"] is None and "param_arrays" not in metadata
    assert type(fastgmm.load(path)) is GaussianMixture
    # written back as it was read (None entries: absent)
    _io.write_model_file(path, arrays, metadata)
    with pytest.raises(ValueError, match="Gaussian mixture's file with a t"):
        _io.write_model_file(path, {**arrays, "dof_": np.ones(2)}, metadata)
