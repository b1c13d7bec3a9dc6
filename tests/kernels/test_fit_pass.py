"""The pass object of a fit (`kernels.FitPass`): made once, run per iteration,
with the bits of a fresh pass; and the reductions it relies on."""

import math

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastgmm import GaussianMixture, kernels
from fastgmm.em import covariance as cov
from fastgmm.em import driver
from fastgmm.kernels import _backend, _common

from ..helpers import COVARIANCE_TYPES, DTYPES, make_blobs, random_params


def kernel_args(weights, means, covs, covariance_type):
    chol = cov.precisions_cholesky(covs, covariance_type)
    c = cov.log_prob_constants(weights, chol, covariance_type, means.shape[1])
    return c, np.ascontiguousarray(means, dtype=np.float64), chol


def assert_bits(got, expected):
    """Equal to the bit (-0.0 is not 0.0), of one dtype and shape."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes(), np.max(np.abs(got - expected))


def assert_same_stats(got, expected):
    assert type(got.ll) is type(expected.ll)
    assert_bits(got.ll, expected.ll)
    for name in ("nk", "s1", "s2"):
        assert_bits(getattr(got, name), getattr(expected, name))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n, d, k", [(700, 3, 4), (3 * 2048 + 123, 3, 4), (700, 32, 8)],
                         ids=["one-partition", "partitions", "blas"])
def test_a_fit_pass_has_the_bits_of_a_fresh_pass(backend, covariance_type, dtype,
                                                  weighted, n, d, k):
    # 'blas': 'full' by BLAS tiles, 'diag'/'spherical' by matrix products
    X, _ = make_blobs(n, d, k, seed=40, dtype=dtype)
    w = None
    if weighted:
        w = np.random.RandomState(41).rand(n) * 2
        w[::5] = 0.0
    b = kernels.get_backend(backend)
    fit_pass = b.fit_pass(X, w, k, covariance_type)
    assert fit_pass.shape == X.shape
    assert len(fit_pass.segments) == len(
        _common.partition_bounds(n, k, d, covariance_type)) - 1
    # parameters that change from one run to the next, as in EM
    for seed in (42, 43, 42):
        weights, means, covs = random_params(k, d, covariance_type, seed=seed, scale=2.0)
        c, means64, chol = kernel_args(weights, means, covs, covariance_type)
        if d == 32:
            assert _backend._Params(c, means64, chol, covariance_type).blas_for(
                X.dtype) == (covariance_type != "tied")
        fresh = cov.SufficientStats.zeros(k, d, covariance_type)
        fresh.ll = b.accumulate(X, w, c, means64, chol, covariance_type, fresh)
        with fit_pass:
            reused = fit_pass.run(c, means64, chol)
        assert_same_stats(reused, fresh)
        given = cov.SufficientStats.zeros(k, d, covariance_type)
        assert fit_pass.run(c, means64, chol, out=given) is given  # outside `with`
        assert_same_stats(given, fresh)


def test_a_fit_pass_returns_its_own_statistics_unless_given_out(backend):
    X, _ = make_blobs(300, 2, 2, seed=44)
    weights, means, covs = random_params(2, 2, "full", seed=45)
    c, means64, chol = kernel_args(weights, means, covs, "full")
    fit_pass = kernels.get_backend(backend).fit_pass(X, None, 2, "full")
    first = fit_pass.run(c, means64, chol)
    kept = cov.SufficientStats(first.nk.copy(), first.s1.copy(), first.s2.copy(),
                               first.ll)
    second = fit_pass.run(c, means64 + 1.0, chol)
    assert second is first  # overwritten by the next run
    assert not np.array_equal(second.s1, kept.s1)
    assert_same_stats(fit_pass.run(c, means64, chol), kept)


def test_a_fit_pass_refuses_other_shapes_and_bad_rows(backend):
    X, _ = make_blobs(300, 3, 2, seed=46)
    b = kernels.get_backend(backend)
    fit_pass = b.fit_pass(X, None, 2, "diag")
    weights, means, covs = random_params(2, 3, "diag", seed=47)
    c, means64, chol = kernel_args(weights, means, covs, "diag")
    fit_pass.run(c, means64, chol)
    # parameters of another mixture: other features, other components
    weights4, means4, covs4 = random_params(2, 4, "diag", seed=47)
    with pytest.raises(ValueError, match=r"pass is over X of shape \(300, 3\) with 2 "
                                         r"components; means of shape \(2, 4\)"):
        fit_pass.run(*kernel_args(weights4, means4, covs4, "diag"))
    weights3, means3, covs3 = random_params(3, 3, "diag", seed=47)
    with pytest.raises(ValueError, match=r"means of shape \(3, 3\) need another pass"):
        fit_pass.run(*kernel_args(weights3, means3, covs3, "diag"))
    with pytest.raises(ValueError, match="precisions_cholesky has shape"):
        fit_pass.run(c, means64, chol[:1])
    with pytest.raises(ValueError, match="out.s2 has shape"):
        fit_pass.run(c, means64, chol, out=cov.SufficientStats.zeros(2, 3, "full"))
    # rows and weights are checked once, when the pass is made
    with pytest.raises(ValueError, match="C-contiguous"):
        b.fit_pass(np.asfortranarray(X), None, 2, "diag")
    with pytest.raises(ValueError, match="float32 or float64"):
        b.fit_pass(X.astype(np.int64), None, 2, "diag")
    with pytest.raises(ValueError, match="2-D ndarray"):
        b.fit_pass(X[0], None, 2, "diag")
    with pytest.raises(ValueError, match=r"sample weights has shape \(299,\)"):
        b.fit_pass(X, np.ones(299), 2, "diag")
    with pytest.raises(ValueError, match="need at least one component"):
        b.fit_pass(X, None, 0, "diag")
    with pytest.raises(ValueError, match="n_components must be an int"):
        b.fit_pass(X, None, 2.0, "diag")
    with pytest.raises(ValueError, match="unknown covariance type"):
        b.fit_pass(X, None, 2, "banded")


def test_a_fit_pass_holds_blas_while_open(backend, monkeypatch):
    # 'full' at 32 features runs BLAS tiles: held to one thread by the open
    # pass, not by each run
    X, _ = make_blobs(300, 32, 2, seed=48)
    weights, means, covs = random_params(2, 32, "full", seed=49)
    c, means64, chol = kernel_args(weights, means, covs, "full")
    fit_pass = kernels.get_backend(backend).fit_pass(X, None, 2, "full")
    expected = fit_pass.run(c, means64, chol, out=cov.SufficientStats.zeros(2, 32, "full"))
    entered = []
    limit = _common.single_threaded_blas

    def counting(active=True):
        entered.append(active)
        return limit(active)

    monkeypatch.setattr(_common, "single_threaded_blas", counting)
    with fit_pass:
        assert entered == [True]
        for _ in range(3):
            assert_same_stats(fit_pass.run(c, means64, chol), expected)
        assert entered == [True]
    fit_pass.run(c, means64, chol)  # closed: the run holds BLAS itself
    assert entered == [True, True]


def test_a_fit_makes_one_pass_object_per_run(monkeypatch):
    X, _ = make_blobs(500, 3, 3, seed=50)
    made = []
    fit_pass = _backend.Backend.fit_pass

    def counting(self, *args, **kwargs):
        made.append(args[2:4])
        return fit_pass(self, *args, **kwargs)

    monkeypatch.setattr(_backend.Backend, "fit_pass", counting)
    # (a small fit's run is one compiled call, which makes none: the
    # pass-by-pass loop is the one counted here)
    monkeypatch.setattr(driver, "ONE_CALL", False)
    gm = GaussianMixture(3, n_init=2, max_iter=20, tol=0, random_state=0).fit(X)
    assert gm.n_iter_ == 20
    assert made == [(3, "full"), (3, "full")]


# ------------------------------------------------------------ reductions


def _exact_reduction(partials, means, covariance_type):
    """What the reduction means, from its definition, each value an exactly
    rounded sum (`math.fsum`) of its terms, with the sum of the terms'
    magnitudes (the scale of the rounding a float sum of them may make).

    nk, s1, ll: the partitions' sums. S2 of 'full' and 'tied': the partitions
    hold the upper triangle (i <= j); S2[i, j] = S2[j, i] is its sum. 'tied'
    adds, for each pair k < l of components, C_kl (m_k - m_l)(m_k - m_l)^T
    with C the summed co-responsibilities. 'diag': per feature; 'spherical':
    also summed over the features.
    """
    k, d = means.shape
    P = partials.nk.shape[0]

    def exact(terms):
        terms = [float(t) for t in terms]
        return math.fsum(terms), math.fsum(abs(t) for t in terms)

    out = {"nk": [exact(partials.nk[:, a]) for a in range(k)],
           "s1": [exact(partials.s1[:, a]) for a in range(k * d)],
           "ll": exact(partials.ll)}
    if covariance_type in ("full", "tied"):
        blocks = k if covariance_type == "full" else 1
        s2 = partials.s2.reshape(P, blocks, d, d)
        cc = partials.cc.sum(axis=0) if covariance_type == "tied" else None
        values = []
        for b in range(blocks):
            for i in range(d):
                for j in range(d):
                    lo, hi = min(i, j), max(i, j)
                    terms = list(s2[:, b, lo, hi])
                    if covariance_type == "tied":
                        c = np.array([[math.fsum(partials.cc[:, a * k + e])
                                       for e in range(k)] for a in range(k)])
                        assert np.allclose(c.ravel(), cc, rtol=1e-12, atol=0)
                        for a in range(k):
                            for e in range(a + 1, k):
                                terms.append(c[a, e] * (means[a, i] - means[e, i])
                                             * (means[a, j] - means[e, j]))
                    values.append(exact(terms))
        out["s2"] = values
    elif covariance_type == "diag":
        out["s2"] = [exact(partials.s2[:, a]) for a in range(k * d)]
    else:
        s2 = partials.s2.reshape(P, k, d)
        out["s2"] = [exact(s2[:, a, :].ravel()) for a in range(k)]
    return out


def _assert_near_exact(got, exact, n_terms, what):
    got = np.asarray(got, dtype=np.float64).ravel()
    value = np.array([v for v, _ in exact])
    scale = np.array([m for _, m in exact])
    bound = 4 * n_terms * np.finfo(np.float64).eps * scale + 1e-300
    assert np.all(np.abs(got - value) <= bound), (what, np.max(np.abs(got - value) - bound))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_parts", [1, 3])
@pytest.mark.parametrize("k, d", [(1, 1), (2, 3), (7, 5), (12, 16)])
def test_reduce_partials_is_the_sum_the_statistics_define(covariance_type, n_parts, k, d):
    # an independent oracle: each value from its definition, summed exactly;
    # the reduction may round each float addition (terms of magnitudes from
    # 1e-6 to 1e6, signed, zeros of both signs)
    rng = np.random.RandomState(51 + k + d)
    for trial in range(3):
        partials = _common.Partials(n_parts, k, d, covariance_type)
        for name in ("nk", "s1", "s2", "cc", "ll"):
            a = getattr(partials, name)
            a[...] = rng.randn(*a.shape) * 10.0 ** rng.randint(-6, 6, size=a.shape)
            if name in ("nk", "cc"):
                np.abs(a, out=a)
            a[rng.rand(*a.shape) < 0.2] = 0.0
            a[rng.rand(*a.shape) < 0.2] = -0.0
        if covariance_type == "tied":  # co-responsibilities are symmetric
            cc = partials.cc.reshape(n_parts, k, k)
            cc[...] = cc + np.swapaxes(cc, 1, 2)
        means = rng.randn(k, d) * 10.0 ** rng.randint(-3, 4)
        means[rng.rand(k, d) < 0.2] = 0.0
        got = cov.SufficientStats.zeros(k, d, covariance_type)
        total = _common.reduce_partials(partials, means, covariance_type, got)
        assert got.ll == total
        exact = _exact_reduction(partials, means, covariance_type)
        n_terms = n_parts + k * k * 3  # partitions, tied pairs (each 3 roundings)
        _assert_near_exact(total, [exact["ll"]], n_terms, "ll")
        for name in ("nk", "s1", "s2"):
            _assert_near_exact(getattr(got, name), exact[name], n_terms, name)
        if covariance_type == "full":  # mirrored exactly ('tied' then adds the
            # pairs' terms, whose products may round apart across the diagonal)
            assert_array_equal(got.s2, np.swapaxes(got.s2, -1, -2))
        # a sum that starts from 0: no -0.0 left
        for name in ("nk", "s1", "s2"):
            assert not np.signbit(getattr(got, name)[getattr(got, name) == 0]).any()


def test_partials_are_aligned_parts_of_one_buffer_zeroed_at_once():
    partials = _common.Partials(3, 5, 4, "tied")
    sizes = _common.stats_sizes(5, 4, "tied")
    for name, size in zip(("nk", "s1", "s2", "cc"), sizes):
        a = getattr(partials, name)
        assert a.shape == (3, size) and a.flags.c_contiguous and a.flags.writeable
        assert a.ctypes.data % 64 == 0
        a[...] = 1.0
    assert partials.ll.shape == (3,) and partials.ll.ctypes.data % 64 == 0
    partials.ll[...] = 2.0
    # no part overlaps another
    assert sum(a.size for a in (partials.nk, partials.s1, partials.s2, partials.cc,
                                partials.ll)) == 3 * (sum(sizes) + 1)
    assert partials.nk.sum() == 15 and partials.ll.sum() == 6
    partials.zero()
    for name in ("nk", "s1", "s2", "cc", "ll"):
        assert not getattr(partials, name).any()


@pytest.mark.parametrize("windowed", [False, True])
def test_a_fit_holds_blas_to_one_thread_while_it_runs(windowed, tmp_path):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X, _ = make_blobs(600, 3, 2, seed=52)
    if windowed:  # read by windows: its passes are `statistics` calls
        np.save(tmp_path / "X.npy", X)
        X = np.load(tmp_path / "X.npy", mmap_mode="r")
    blas_threads = []

    def callback(event):
        if event["event"] == "iteration":
            blas_threads.append({info["num_threads"] for info
                                 in threadpoolctl.threadpool_info()
                                 if info["user_api"] == "blas"})

    GaussianMixture(2, max_iter=3, tol=0, window_bytes=4096).fit(X, callback=callback)
    assert len(blas_threads) == 3
    assert all(threads <= {1} for threads in blas_threads)
