"""GaussianMixture against scikit-learn and fastgmm.reference."""

import copy
import io
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from fastgmm import GaussianMixture, reference

from ..helpers import COVARIANCE_TYPES, DTYPES, make_blobs

sklearn_mixture = pytest.importorskip("sklearn.mixture")

INITS = ["kmeans", "k-means++", "random", "random_from_data"]


def rel_err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def assert_same_fit(ours, theirs, rtol):
    assert rel_err(ours.weights_, theirs.weights_) < rtol
    assert rel_err(ours.means_, theirs.means_) < rtol
    assert rel_err(ours.covariances_, theirs.covariances_) < rtol
    assert rel_err(ours.precisions_cholesky_, theirs.precisions_cholesky_) < rtol
    assert abs(ours.lower_bound_ - theirs.lower_bound_) < rtol * abs(theirs.lower_bound_)


@pytest.fixture(scope="module")
def blobs():
    X, labels = make_blobs(900, 3, 4, seed=0, spread=5.0)
    return X, labels


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", INITS)
def test_same_fit_as_sklearn_float64(blobs, backend, covariance_type, init_params):
    if covariance_type == "tied" and init_params in ("k-means++", "random_from_data"):
        pytest.skip("sklearn's initial tied covariance differs here; see "
                    "test_tied_hard_init_is_translation_invariant")
    X, _ = blobs
    kw = dict(n_components=4, covariance_type=covariance_type, random_state=0,
              init_params=init_params, max_iter=200, tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = sklearn_mixture.GaussianMixture(**kw).fit(X)
        ours = GaussianMixture(**kw, backend=backend).fit(X)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    assert_same_fit(ours, theirs, rtol=1e-6)
    # the first bound of a start from single points (covariance reg_covar)
    # sums Mahalanobis distances ~1e7, where sklearn's raw-moment covariance
    # x^2 - mean^2 leaves rounding noise of ~1e-13 next to reg_covar = 1e-6
    assert_allclose(ours.lower_bounds_[0], theirs.lower_bounds_[0], rtol=1e-6)
    assert_allclose(ours.lower_bounds_[1:], theirs.lower_bounds_[1:], rtol=1e-9)
    for name in ("weights_", "means_", "covariances_", "precisions_",
                 "precisions_cholesky_"):
        assert getattr(ours, name).dtype == np.float64
    assert_array_equal(ours.predict(X), theirs.predict(X))
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-7)
    assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-8)
    assert_allclose(ours.bic(X), theirs.bic(X), rtol=1e-9)
    assert_allclose(ours.aic(X), theirs.aic(X), rtol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_fit_as_sklearn_float32(blobs, backend, covariance_type):
    # scikit-learn computes float32 in float32; fastgmm reads float32 and
    # accumulates in float64. From the same initial parameters and a fixed
    # number of iterations both agree to float32 accuracy.
    X = blobs[0].astype(np.float32)
    init = sklearn_mixture.GaussianMixture(
        4, covariance_type=covariance_type, random_state=0, max_iter=0
    ).fit(X)
    kw = dict(n_components=4, covariance_type=covariance_type, max_iter=15, tol=0,
              weights_init=init.weights_, means_init=init.means_,
              precisions_init=init.precisions_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = sklearn_mixture.GaussianMixture(**kw).fit(X)
        ours = GaussianMixture(**kw, backend=backend).fit(X)
        exact = sklearn_mixture.GaussianMixture(**kw).fit(X.astype(np.float64))
    assert_same_fit(ours, theirs, rtol=1e-3)
    for name in ("weights_", "means_", "covariances_", "precisions_",
                 "precisions_cholesky_"):
        assert getattr(ours, name).dtype == np.float32
    # and fastgmm's float32 fit is the float64 fit, rounded
    assert_same_fit(ours, exact, rtol=1e-5)
    assert ours.score_samples(X).dtype == np.float32


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_parameters_beyond_float32_are_a_clear_error(covariance_type):
    # float32 values ~1e20 have covariances ~1e40, beyond float32's 3.4e38:
    # scikit-learn's float32 fit raises ValueError ('full', 'tied'; NaN for
    # the others), ours raises it for all four (it left covariances_ = inf)
    X = (make_blobs(200, 2, 2, seed=0)[0] * 1e20).astype(np.float32)
    kw = dict(n_components=2, covariance_type=covariance_type, random_state=0)
    if covariance_type in ("full", "tied"):
        with pytest.raises(ValueError):
            sklearn_mixture.GaussianMixture(**kw).fit(X)
    with pytest.raises(ValueError, match="covariances_ reach [0-9.]+e\\+40, beyond "
                                         "float32's largest value"), \
            warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # (the error alone says it)
        GaussianMixture(**kw).fit(X)
    # the same values in float64 fit, as scikit-learn's
    ours = GaussianMixture(**kw).fit(X.astype(np.float64))
    theirs = sklearn_mixture.GaussianMixture(**kw).fit(X.astype(np.float64))
    assert_same_fit(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_same_fit_as_reference(backend, covariance_type, dtype):
    X, _ = make_blobs(150, 2, 3, seed=1, dtype=dtype)
    init = GaussianMixture(3, covariance_type=covariance_type, random_state=1,
                           max_iter=0).fit(X)
    w = np.random.RandomState(2).randint(1, 4, size=len(X)).astype(float)
    # the reference starts from the covariances of the precisions we pass
    precisions = init.precisions_.astype(np.float64)
    if covariance_type in ("full", "tied"):
        covariances = np.linalg.inv(precisions)
    else:
        covariances = 1.0 / precisions
    params, lower_bounds, converged = reference.fit(
        X, init.weights_, init.means_, covariances, covariance_type,
        max_iter=8, tol=0, sample_weight=w,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GaussianMixture(
            3, covariance_type=covariance_type, max_iter=8, tol=0, backend=backend,
            weights_init=init.weights_, means_init=init.means_,
            precisions_init=init.precisions_,
        ).fit(X, sample_weight=w)
    rtol = 1e-9 if dtype == np.float64 else 1e-5  # float32 attributes, rounded
    assert rel_err(ours.weights_, params[0]) < rtol
    assert rel_err(ours.means_, params[1]) < rtol
    assert rel_err(ours.covariances_, params[2]) < rtol
    assert_allclose(ours.lower_bounds_, lower_bounds, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows(backend, covariance_type):
    X, _ = make_blobs(400, 3, 3, seed=3)
    w = np.random.RandomState(4).randint(0, 4, size=len(X))
    kw = dict(n_components=3, covariance_type=covariance_type, random_state=0,
              tol=1e-10, max_iter=300, backend=backend, init_params="random")
    init = GaussianMixture(**{**kw, "max_iter": 0}).fit(np.repeat(X, w, axis=0))
    kw.update(weights_init=init.weights_, means_init=init.means_,
              precisions_init=init.precisions_)
    weighted = GaussianMixture(**kw).fit(X, sample_weight=w)
    repeated = GaussianMixture(**kw).fit(np.repeat(X, w, axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    assert_same_fit(weighted, repeated, rtol=1e-9)
    # and from their own k-means initializations, to the same solution
    kw = dict(n_components=3, covariance_type=covariance_type, random_state=0,
              backend=backend)
    weighted = GaussianMixture(**kw).fit(X, sample_weight=w)
    repeated = GaussianMixture(**kw).fit(np.repeat(X, w, axis=0))
    order_w = np.argsort(weighted.means_[:, 0])
    order_r = np.argsort(repeated.means_[:, 0])
    assert_allclose(weighted.means_[order_w], repeated.means_[order_r], rtol=1e-3)


def test_sample_weight_changes_the_fit(backend):
    X, labels = make_blobs(600, 2, 2, seed=5)
    w = np.where(labels == 0, 10.0, 1.0)
    fit = GaussianMixture(2, random_state=0, backend=backend).fit(X, sample_weight=w)
    unweighted = GaussianMixture(2, random_state=0, backend=backend).fit(X)
    share = (labels == 0).mean()
    heavy = np.argmax(fit.weights_)
    expected = 10 * share / (10 * share + (1 - share))
    assert abs(fit.weights_[heavy] - expected) < 1e-2
    assert abs(fit.weights_.max() - unweighted.weights_.max()) > 0.2


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_threads_give_identical_results(backend, covariance_type):
    X, _ = make_blobs(20_000, 4, 5, seed=6)
    fits = [
        GaussianMixture(5, covariance_type=covariance_type, random_state=0,
                        n_threads=n, backend=backend, max_iter=30).fit(X)
        for n in (1, 2)
    ]
    for name in ("weights_", "means_", "covariances_", "lower_bounds_"):
        assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))
    assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))


def test_fit_predict_equals_fit_then_predict(blobs, backend):
    X, _ = blobs
    for max_iter in (1, 2, 100):
        gm = GaussianMixture(4, max_iter=max_iter, random_state=3, backend=backend)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            a = copy.deepcopy(gm).fit(X).predict(X)
            b = gm.fit_predict(X)
        assert_array_equal(a, b)


def test_input_is_not_modified(backend):
    X, _ = make_blobs(300, 3, 3, seed=7)
    w = np.random.RandomState(8).rand(300)
    X_copy, w_copy = X.copy(), w.copy()
    means_init = X[:3].copy()
    gm = GaussianMixture(3, means_init=means_init, backend=backend).fit(X, sample_weight=w)
    gm.predict_proba(X)
    gm.score_samples(X)
    assert_array_equal(X, X_copy)
    assert_array_equal(w, w_copy)
    assert_array_equal(means_init, X_copy[:3])
    assert gm.means_init is means_init


def test_readonly_and_noncontiguous_input(backend):
    X, _ = make_blobs(500, 3, 2, seed=9)
    expected = GaussianMixture(2, random_state=0, backend=backend).fit(X)
    readonly = X.copy()
    readonly.setflags(write=False)
    fortran = np.asfortranarray(X)
    strided = np.repeat(X, 2, axis=1)[:, ::2]
    for variant in (readonly, fortran, strided):
        got = GaussianMixture(2, random_state=0, backend=backend).fit(variant)
        assert_array_equal(got.means_, expected.means_)
        assert_array_equal(got.predict(variant), expected.predict(X))


def test_n_init_keeps_best_lower_bound(blobs, backend):
    X, _ = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        best = GaussianMixture(4, init_params="random", random_state=0, max_iter=3,
                               n_init=6, backend=backend).fit(X)
        theirs = sklearn_mixture.GaussianMixture(4, init_params="random", random_state=0,
                                                 max_iter=3, n_init=6).fit(X)
        # the six restarts, drawn one after another from one generator
        rng = np.random.RandomState(0)
        singles = [GaussianMixture(4, init_params="random", random_state=rng,
                                   max_iter=3, backend=backend).fit(X)
                   for _ in range(6)]
    bounds = [s.lower_bound_ for s in singles]
    assert len(set(bounds)) > 1  # the restarts differ: the choice matters
    assert best.lower_bound_ == max(bounds)
    assert_array_equal(best.means_, singles[int(np.argmax(bounds))].means_)
    assert_allclose(best.lower_bound_, theirs.lower_bound_, rtol=1e-9)
    assert_allclose(best.means_, theirs.means_, rtol=1e-7)


def test_warm_start_continues(blobs, backend):
    X, _ = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        straight = GaussianMixture(4, max_iter=6, tol=0, random_state=0,
                                   backend=backend).fit(X)
        warm = GaussianMixture(4, max_iter=3, tol=0, random_state=0, warm_start=True,
                               backend=backend)
        warm.fit(X)
        warm.fit(X)
    assert_allclose(warm.means_, straight.means_, rtol=1e-12)
    assert_allclose(warm.lower_bound_, straight.lower_bound_, rtol=1e-12)


def test_convergence_warning_and_attributes(blobs, backend):
    X, _ = blobs
    gm = GaussianMixture(4, max_iter=2, tol=1e-12, random_state=0, backend=backend)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        gm.fit(X)
    assert gm.n_iter_ == 2 and not gm.converged_ and len(gm.lower_bounds_) == 2
    assert gm.n_features_in_ == 3
    # max_iter=0: the initialization, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        gm = GaussianMixture(4, max_iter=0, random_state=0, backend=backend).fit(X)
    assert gm.n_iter_ == 0 and gm.lower_bounds_ == []


def test_verbose_output_matches_sklearn(blobs):
    X, _ = blobs
    outputs = []
    for cls in (GaussianMixture, sklearn_mixture.GaussianMixture):
        buf = io.StringIO()
        with redirect_stdout(buf):
            cls(4, verbose=1, verbose_interval=2, random_state=0).fit(X)
        outputs.append(buf.getvalue())
    assert outputs[0] == outputs[1]
    buf = io.StringIO()
    with redirect_stdout(buf):
        GaussianMixture(4, verbose=2, verbose_interval=1, random_state=0).fit(X)
    assert "time lapse" in buf.getvalue() and "ll change" in buf.getvalue()


def test_feature_names_are_kept(backend):
    pd = pytest.importorskip("pandas")
    X, _ = make_blobs(200, 2, 2, seed=10)
    frame = pd.DataFrame(X, columns=["a", "b"])
    gm = GaussianMixture(2, random_state=0, backend=backend).fit(frame)
    assert list(gm.feature_names_in_) == ["a", "b"]
    assert_array_equal(gm.predict(frame), gm.predict(X))


def test_sample_matches_sklearn(blobs):
    X, _ = blobs
    for covariance_type in COVARIANCE_TYPES:
        ours = GaussianMixture(4, covariance_type=covariance_type, random_state=5).fit(X)
        theirs = sklearn_mixture.GaussianMixture(
            4, covariance_type=covariance_type, random_state=5
        ).fit(X)
        Xa, ya = ours.sample(500)
        Xb, yb = theirs.sample(500)
        assert_array_equal(ya, yb)
        assert_allclose(Xa, Xb, rtol=1e-6, atol=1e-6)


def test_tied_hard_init_is_translation_invariant(backend):
    # scikit-learn's initial tied covariance counts the second moment of the
    # unassigned rows around the origin for 'k-means++' and
    # 'random_from_data'; fastgmm pools the scatter of the assigned rows around
    # their means, so moving the data does not move the fit.
    X, _ = make_blobs(600, 2, 3, seed=11)
    for init_params in ("k-means++", "random_from_data"):
        fits = [
            GaussianMixture(3, covariance_type="tied", init_params=init_params,
                            random_state=0, backend=backend).fit(X + shift)
            for shift in (0.0, 1000.0)
        ]
        assert_allclose(fits[1].means_ - 1000.0, fits[0].means_, atol=1e-6)
        assert_allclose(fits[1].covariances_, fits[0].covariances_, rtol=1e-6)


def test_empty_component_keeps_its_mean(backend):
    X = np.vstack([np.zeros((5, 2)), np.ones((5, 2))])
    means_init = np.array([[0.0, 0.0], [1.0, 1.0], [50.0, 50.0]])
    gm = GaussianMixture(3, means_init=means_init, max_iter=1, backend=backend,
                         weights_init=[0.4, 0.4, 0.2], precisions_init=np.ones(3),
                         covariance_type="spherical")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    assert np.all(np.isfinite(gm.means_))
    assert_allclose(gm.means_[2], [50.0, 50.0])
    assert gm.weights_[2] < 1e-12


def test_fit_callback_reports_every_iteration():
    X, _ = make_blobs(300, 2, 3)
    events = []
    gm = GaussianMixture(3, n_init=2, random_state=0).fit(X, callback=events.append)
    kinds = [e["event"] for e in events]
    assert kinds.count("init_begin") == kinds.count("init_end") == 2
    ends = [e for e in events if e["event"] == "init_end"]
    assert max(e["lower_bound"] for e in ends) == gm.lower_bound_
    iterations = [e for e in events if e["event"] == "iteration"]
    assert [e["lower_bound"] for e in iterations if e["init"] == ends[-1]["init"]][
        -1] == ends[-1]["lower_bound"]
    assert all(e["n_iter"] >= 1 for e in iterations)


@pytest.mark.parametrize("before, after", [("diag", "tied"), ("tied", "diag"),
                                           ("spherical", "diag"), ("full", "tied")])
def test_a_changed_covariance_type_is_seen_when_shapes_agree(before, after, tmp_path):
    # n_components == n_features: 'diag' (k, d) and 'tied' (d, d) have one shape
    X, _ = make_blobs(400, 3, 3, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = GaussianMixture(3, covariance_type=before, random_state=0,
                             warm_start=True, max_iter=5).fit(X)
    path = tmp_path / "model.npz"
    gm.save(path)
    import fastgmm

    for model in (gm, fastgmm.load(path)):
        model.set_params(covariance_type=after, warm_start=True)
        with pytest.raises(ValueError, match=f"covariance_type='{before}'"):
            model.fit(X)
        with pytest.raises(ValueError, match=f"covariance_type='{before}'"):
            model.partial_fit(X)
