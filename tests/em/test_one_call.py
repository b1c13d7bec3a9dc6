"""A small fit's whole EM run in one compiled call (`em.driver._run_in_one_call`,
the backend's ``em_loop``), on each backend, gives the bits of the
pass-by-pass driver, raises its errors, checks what it is handed, and its
constants are NumPy's to rounding and the same bits on both backends."""

import threading
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastgmm
from fastgmm import kernels
from fastgmm.em import covariance as cov
from fastgmm.em import driver

from ..helpers import BACKENDS, COVARIANCE_TYPES, make_blobs

ONE_CALL_TYPES = ("full", "diag", "spherical")


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The name of the backend whose fits the test makes."""
    return request.param


def _takes(backend, covariance_type, d, dtype):
    """Whether the backend's loop takes these fits of the tests (up to 10
    components): Cython's not 'full' float32 on its tiles (from 9 features);
    Numba's not 'full' through BLAS (from 24)."""
    if covariance_type != "full":
        return True
    if backend == "cython":
        return d < 9 or dtype == np.float64
    return d < 24


@pytest.fixture
def calls(monkeypatch):
    """The number of runs made in one call."""
    made = []
    one_call = driver._run_in_one_call

    def counted(*args, **kwargs):
        made.append(1)
        return one_call(*args, **kwargs)

    monkeypatch.setattr(driver, "_run_in_one_call", counted)
    return made


def _fit(X, one_call, monkeypatch, sample_weight=None, backend="cython", **params):
    monkeypatch.setattr(driver, "ONE_CALL", one_call)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        return fastgmm.GaussianMixture(backend=backend, **params).fit(
            X, sample_weight=sample_weight)


def _assert_same_bits(a, b):
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_",
                 "precisions_", "lower_bound_", "n_iter_", "converged_"):
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.lower_bounds_ == b.lower_bounds_


def test_add_reduce_is_numpys(backend):
    rng = np.random.default_rng(0)
    compiled = kernels.get_backend(backend).drivers
    for n in list(range(1, 300)) + [511, 1024, 1500, 4099, 100_003]:
        for scale in (1.0, 1e8):
            a = rng.standard_normal(n) * scale + rng.random() * scale
            assert compiled._add_reduce(a) == np.add.reduce(a), n
            assert compiled._add_reduce(a) == np.add.reduce(a.reshape(1, n), axis=1)[0]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_constants_are_numpys_to_rounding(covariance_type, backend):
    # (`em.covariance` takes them from the backend it is given)
    rng = np.random.default_rng(1)
    k, d = 7, 13
    weights = rng.dirichlet(np.ones(k))
    weights[3] = 0.0  # an empty component: log 0 = -inf
    A = rng.normal(size=(k, d, d))
    raw = {"full": A @ np.swapaxes(A, 1, 2) + np.eye(d),
           "tied": A[0] @ A[0].T + np.eye(d),
           "diag": rng.random((k, d)) + 0.1,
           "spherical": rng.random(k) + 0.1}[covariance_type]
    U = cov.precisions_cholesky(raw, covariance_type)
    got = cov.log_prob_constants(weights, U, covariance_type, d,
                                 kernels.get_backend(backend))
    with np.errstate(divide="ignore"):
        log_det = cov.log_det_cholesky(U, covariance_type, d)
        expected = np.log(weights) + log_det - 0.5 * d * np.log(2 * np.pi)
    assert got[3] == -np.inf
    keep = np.arange(k) != 3
    assert_allclose(got[keep], np.broadcast_to(expected, (k,))[keep], rtol=1e-14,
                    atol=0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_constants_are_the_same_bits_on_both_backends(covariance_type):
    if len(BACKENDS) < 2:
        pytest.skip("one backend")
    rng = np.random.default_rng(2)
    for k, d in [(1, 1), (3, 2), (7, 13), (5, 150)]:
        weights = rng.dirichlet(np.ones(k)) * 10.0 ** rng.uniform(-300, 0)
        U = {"full": np.triu(rng.random((k, d, d))) + np.eye(d),
             "tied": np.triu(rng.random((d, d))) + np.eye(d),
             "diag": rng.random((k, d)) * 10.0 ** rng.uniform(-100, 100, (k, d)),
             "spherical": rng.random(k) + 0.1}[covariance_type]
        got = []
        for name in BACKENDS:
            c = np.empty(k)
            kernels.get_backend(name).log_prob_constants(
                weights, U.ravel(), covariance_type, d, 0.5 * d * 1.8378770664093453, c)
            got.append(c)
        assert got[0].tobytes() == got[1].tobytes()


@pytest.mark.parametrize("covariance_type", ONE_CALL_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d, k", [(1, 3), (3, 4), (8, 10), (12, 3), (16, 10), (27, 5)])
def test_one_call_gives_the_bits_of_the_pass_by_pass_driver(
        covariance_type, dtype, d, k, backend, calls, monkeypatch):
    X, _ = make_blobs(1500, d, k, seed=d + k, offset=50.0)
    X = X.astype(dtype)
    params = dict(n_components=k, covariance_type=covariance_type, random_state=0,
                  max_iter=30, tol=1e-6, backend=backend)
    stepwise = _fit(X, False, monkeypatch, **params)
    assert not calls
    one_call = _fit(X, True, monkeypatch, **params)
    assert bool(calls) == _takes(backend, covariance_type, d, dtype)
    _assert_same_bits(one_call, stepwise)
    assert stepwise.n_iter_ > 1


@pytest.mark.parametrize("covariance_type", ONE_CALL_TYPES)
@pytest.mark.parametrize("n, d", [(5000, 6), (20_000, 6), (7000, 20)])
def test_one_call_on_several_partitions_and_threads(covariance_type, n, d, backend,
                                                    calls, monkeypatch):
    X, _ = make_blobs(n, d, 5, seed=n, offset=-30.0)
    params = dict(n_components=5, covariance_type=covariance_type, random_state=1,
                  max_iter=15, tol=0.0, backend=backend)
    stepwise = _fit(X, False, monkeypatch, **params)
    for n_threads in (1, 2):
        _assert_same_bits(_fit(X, True, monkeypatch, n_threads=n_threads, **params),
                          stepwise)
    # Numba's loop runs its passes on the calling thread: it takes one
    # thread's run, and leaves two threads' to the threaded passes
    assert len(calls) == (2 if backend == "cython" else 1)


def test_a_large_x_runs_pass_by_pass(backend, calls, monkeypatch):
    X, _ = make_blobs(3000, 4, 3, seed=9)
    params = dict(n_components=3, random_state=0, backend=backend, n_threads=1)
    monkeypatch.setattr(driver, "ONE_CALL_MAX_BYTES", X.nbytes - 1)
    _fit(X, True, monkeypatch, **params)
    assert not calls
    monkeypatch.setattr(driver, "ONE_CALL_MAX_BYTES", X.nbytes)
    _fit(X, True, monkeypatch, **params)
    assert calls


def test_rows_not_in_one_array_run_pass_by_pass(backend, calls, monkeypatch, tmp_path):
    # missing values, a memory map read by windows: the rows source says it
    # is no array in memory (`in_memory_array`)
    X, _ = make_blobs(2000, 3, 3, seed=10)
    holes = X.copy()
    holes[::7, 1] = np.nan
    _fit(holes, True, monkeypatch, n_components=3, random_state=0, backend=backend,
         nan_policy="marginalize")
    np.save(tmp_path / "X.npy", X)
    _fit(np.load(tmp_path / "X.npy", mmap_mode="r"), True, monkeypatch,
         n_components=3, random_state=0, backend=backend)
    assert not calls
    _fit(X, True, monkeypatch, n_components=3, random_state=0, backend=backend)
    assert calls


@pytest.mark.parametrize("covariance_type", ONE_CALL_TYPES)
def test_one_call_with_weights_restarts_and_warm_start(covariance_type, backend, calls,
                                                       monkeypatch):
    X, _ = make_blobs(1200, 5, 4, seed=3)
    w = np.random.default_rng(3).integers(0, 4, size=X.shape[0]).astype(float)
    params = dict(n_components=4, covariance_type=covariance_type, random_state=2,
                  n_init=3, max_iter=5, tol=0.0, backend=backend)
    for extra in ({}, {"warm_start": True}):
        models = []
        for one_call in (False, True):
            model = _fit(X, one_call, monkeypatch, sample_weight=w, **params, **extra)
            if extra:  # a second fit continues the first
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(X, sample_weight=w)
            models.append(model)
        _assert_same_bits(*models)
    assert calls


def test_the_same_fit_as_scikit_learn(backend):
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    X, _ = make_blobs(2000, 6, 5, seed=7)
    for covariance_type in ONE_CALL_TYPES:
        ours = fastgmm.GaussianMixture(5, covariance_type=covariance_type,
                                       random_state=0, backend=backend).fit(X)
        theirs = SkGaussianMixture(5, covariance_type=covariance_type,
                                   random_state=0).fit(X)
        assert ours.n_iter_ == theirs.n_iter_
        assert_array_equal(ours.predict(X), theirs.predict(X))
        assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-10)
        assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-8, atol=1e-12)
        # the bound of the one call is a NumPy float as scikit-learn's (a
        # Python float before)
        assert type(ours.lower_bound_) is type(theirs.lower_bound_)
        assert type(ours.lower_bounds_[-1]) is type(theirs.lower_bounds_[-1])


@pytest.mark.parametrize("covariance_type", ONE_CALL_TYPES)
def test_an_ill_defined_covariance_is_the_same_error(covariance_type, backend, calls,
                                                     monkeypatch):
    # two distinct points repeated: with reg_covar=0 a component collapses
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 2.0]]), 50, axis=0)
    messages = []
    for one_call in (False, True):
        with pytest.raises(ValueError) as info:
            _fit(X, one_call, monkeypatch, n_components=2,
                 covariance_type=covariance_type, reg_covar=0.0, random_state=0,
                 init_params="random", backend=backend)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "ill-defined" in messages[0] or "positive definite" in messages[0]


def test_a_non_finite_likelihood_is_the_same_error(backend, monkeypatch):
    X = np.array([[0.0], [1e200], [-1e200], [1.0]] * 10)
    messages = []
    for one_call in (False, True):
        with pytest.raises(ValueError) as info:
            _fit(X, one_call, monkeypatch, n_components=2, covariance_type="diag",
                 reg_covar=1e-300, random_state=0, init_params="random_from_data",
                 backend=backend)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_fits_in_threads_are_those_of_one_thread(backend, calls):
    X, _ = make_blobs(1500, 4, 3, seed=5)
    expected = [fastgmm.GaussianMixture(3, covariance_type=t, random_state=s,
                                        backend=backend).fit(X)
                for t in ONE_CALL_TYPES for s in range(3)]
    got = [None] * len(expected)

    def fit(i):
        t, s = ONE_CALL_TYPES[i // 3], i % 3
        got[i] = fastgmm.GaussianMixture(3, covariance_type=t, random_state=s,
                                         backend=backend).fit(X)

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(len(expected))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(got, expected):
        _assert_same_bits(a, b)
    assert calls


def test_the_loop_checks_what_it_is_handed(backend):
    drivers = kernels.get_backend(backend).drivers
    X = np.zeros((10, 2))
    good = dict(weights=np.full(2, 0.5), means=np.zeros(4), cov=np.ones(4),
                U=np.ones(4))

    def call(covariance_type="diag", full_tiles=False, max_iter=3, bounds=3, w=0,
             segments=((0, 0, 10),), n_threads=1, **arrays):
        a = {**good, **arrays}
        return drivers.em_loop(X, np.ones(w), a["weights"], a["means"], a["cov"],
                               a["U"], covariance_type, full_tiles, 1e-3, 1e-6,
                               1e-16, max_iter, -np.inf, 10.0, 1.0,
                               np.array(segments, dtype=np.intp).reshape(-1, 3),
                               n_threads, np.zeros(bounds))

    assert call()[0] == drivers.EM_DONE
    assert call(segments=((0, 0, 4), (1, 4, 10)), n_threads=2)[0] == drivers.EM_DONE
    for bad in (dict(means=np.zeros(3)), dict(U=np.ones(3)), dict(cov=np.ones(5)),
                dict(covariance_type="tied"), dict(covariance_type="nope"),
                dict(full_tiles=True), dict(max_iter=0), dict(bounds=2), dict(w=3),
                dict(segments=((0, 0, 9),)), dict(segments=((0, 0, 11),)),
                dict(segments=((1, 0, 10),)), dict(segments=((0, 0, 4), (1, 5, 10))),
                dict(segments=()), dict(n_threads=0)):
        with pytest.raises(ValueError):
            call(**bad)
