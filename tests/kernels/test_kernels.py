"""Both kernels' fused pass and log-probabilities against fastgmm.reference."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm import kernels, reference
from fastgmm.em import covariance as cov
from fastgmm.kernels import _common

from ..helpers import BACKENDS, COVARIANCE_TYPES, DTYPES, make_blobs, random_params


def kernel_args(weights, means, covs, covariance_type):
    chol = cov.precisions_cholesky(covs, covariance_type)
    c = cov.log_prob_constants(weights, chol, covariance_type, means.shape[1])
    return c, np.ascontiguousarray(means, dtype=np.float64), chol


def run_accumulate(backend, X, w, weights, means, covs, covariance_type, n_threads=None):
    c, means, chol = kernel_args(weights, means, covs, covariance_type)
    out = cov.SufficientStats.zeros(means.shape[0], means.shape[1], covariance_type)
    total = kernels.get_backend(backend).accumulate(
        X, w, c, means, chol, covariance_type, out, n_threads=n_threads
    )
    return out, total


def expected_stats(X, w, weights, means, covs, covariance_type):
    resp, log_lik = reference.e_step(X, weights, means, covs, covariance_type)
    nk, s1, s2 = reference.sufficient_statistics(
        X, resp, means, covariance_type, sample_weight=w
    )
    return nk, s1, s2, np.sum(w * log_lik)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("d", [3, 32])  # direct loops; BLAS tiles
def test_accumulate_matches_reference(backend, covariance_type, dtype, weighted, d):
    n, k = 300, 4
    X, _ = make_blobs(n, d, k, seed=1, dtype=dtype)
    rng = np.random.RandomState(2)
    w = rng.randint(0, 4, size=n).astype(float) if weighted else np.ones(n)
    weights, means, covs = random_params(k, d, covariance_type, seed=3, scale=2.0)

    out, total = run_accumulate(backend, X, w, weights, means, covs, covariance_type)
    nk, s1, s2, expected_total = expected_stats(X, w, weights, means, covs,
                                                covariance_type)
    # Direct loops compute float32 data in float64, like the reference fed
    # with the same values: agreement to float64 rounding. BLAS tiles compute
    # float32 data in float32 (sums over a tile, then float64).
    rtol = 1e-9 if dtype == np.float64 or d < 24 else 1e-4
    assert_allclose(out.nk, nk, rtol=rtol, atol=1e-12)
    assert_allclose(out.s1, s1, rtol=rtol, atol=rtol * np.abs(s1).max())
    assert_allclose(out.s2, s2, rtol=rtol, atol=rtol * np.abs(s2).max())
    assert_allclose(total, expected_total, rtol=min(rtol, 1e-6))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", [4, 40])
def test_log_prob_matches_reference(backend, covariance_type, dtype, d):
    n, k = 200, 3
    X, _ = make_blobs(n, d, k, seed=4, dtype=dtype)
    weights, means, covs = random_params(k, d, covariance_type, seed=5)
    c, means64, chol = kernel_args(weights, means, covs, covariance_type)
    out = np.empty((n, k))
    kernels.get_backend(backend).log_prob(X, c, means64, chol, covariance_type, out)
    expected = reference.estimate_log_prob(X, weights, means, covs, covariance_type)
    # float32 'full' at many features goes through float32 BLAS tiles
    blas32 = dtype == np.float32 and covariance_type == "full" and d >= 24
    assert_allclose(out, expected, rtol=1e-6 if blas32 else 1e-10)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
@pytest.mark.parametrize("d", range(1, 10))
def test_few_features_match_reference(backend, covariance_type, d):
    # Cython's 'full', 'diag' and 'spherical' at d <= 8 run one copy per d
    # (_small_d.h); d = 9 the generic loops. 300 rows: a whole tile and a
    # part of one.
    n, k = 300, 3
    X, _ = make_blobs(n, d, k, seed=30 + d)
    w = np.random.RandomState(d).rand(n)
    weights, means, covs = random_params(k, d, covariance_type, seed=40 + d, scale=2.0)
    out, total = run_accumulate(backend, X, w, weights, means, covs, covariance_type)
    nk, s1, s2, expected_total = expected_stats(X, w, weights, means, covs,
                                                covariance_type)
    assert_allclose(total, expected_total, rtol=1e-12)
    assert_allclose(out.nk, nk, rtol=1e-12)
    assert_allclose(out.s1, s1, rtol=1e-10, atol=1e-12 * np.abs(s1).max())
    assert_allclose(out.s2, s2, rtol=1e-10, atol=1e-12 * np.abs(s2).max())
    c, means64, chol = kernel_args(weights, means, covs, covariance_type)
    log_prob = np.empty((n, k))
    kernels.get_backend(backend).log_prob(X, c, means64, chol, covariance_type, log_prob)
    expected = reference.estimate_log_prob(X, weights, means, covs, covariance_type)
    assert_allclose(log_prob, expected, rtol=1e-12)
    # a row's values do not depend on its place in a tile (rows 1.. shifted
    # by one place)
    shifted = np.empty((n - 1, k))
    kernels.get_backend(backend).log_prob(X[1:], c, means64, chol, covariance_type,
                                          shifted)
    assert_array_equal(shifted, log_prob[1:])


@pytest.mark.skipif("cython" not in BACKENDS, reason="needs the built extension")
@pytest.mark.parametrize("covariance_type, d, k", [("full", 5, 4), ("diag", 5, 4),
                                                   ("diag", 40, 3), ("diag", 200, 4)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_copies_per_d_agree_with_the_generic_loops(covariance_type, d, k, dtype):
    # the switch benchmarks/small_d_ab.py uses: both paths, one process ('diag'
    # at d=40 k=3 and d=200 k=4: row-major tiles against the direct loops and
    # the products)
    n = 700
    X, _ = make_blobs(n, d, k, seed=50, dtype=dtype)
    w = np.random.RandomState(51).rand(n)
    weights, means, covs = random_params(k, d, covariance_type, seed=52, scale=2.0)
    drivers = kernels.get_backend("cython").drivers
    results = {}
    try:
        for on in (False, True):
            drivers.set_small_d(on)
            results[on] = run_accumulate("cython", X, w, weights, means, covs,
                                         covariance_type)
    finally:
        drivers.set_small_d(True)
    (generic, generic_total), (copies, copies_total) = results[False], results[True]
    # the products compute float32 data in float32
    rtol = 1e-5 if dtype == np.float32 and d == 200 else 1e-12
    assert_allclose(copies_total, generic_total, rtol=rtol)
    for name in ("nk", "s1", "s2"):
        a, b = getattr(copies, name), getattr(generic, name)
        assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("d", [3, 30])
def test_posterior_outputs_match_reference(backend, covariance_type, d):
    n, k = 700, 4
    X, _ = make_blobs(n, d, k, seed=20)
    weights, means, covs = random_params(k, d, covariance_type, seed=21, scale=2.0)
    c, means64, chol = kernel_args(weights, means, covs, covariance_type)
    log_norm = np.empty(n)
    resp = np.empty((n, k))
    labels = np.empty(n, dtype=np.intp)
    kernels.get_backend(backend).posterior(X, c, means64, chol, covariance_type,
                                           log_norm=log_norm, resp=resp, labels=labels)
    expected_resp, expected_norm = reference.e_step(X, weights, means, covs,
                                                    covariance_type)
    assert_allclose(log_norm, expected_norm, rtol=1e-10)
    assert_allclose(resp, expected_resp, rtol=1e-9, atol=1e-13)
    log_prob = reference.estimate_log_prob(X, weights, means, covs, covariance_type)
    assert_array_equal(labels, log_prob.argmax(axis=1))
    # each output alone gives the same values
    alone = np.empty(n)
    kernels.get_backend(backend).posterior(X, c, means64, chol, covariance_type,
                                           log_norm=alone)
    assert_array_equal(alone, log_norm)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_thread_count_does_not_change_results(backend, covariance_type, monkeypatch):
    # several partitions, so that threads really split the work
    monkeypatch.setattr(_common, "MIN_ROWS_PER_PARTITION", 300)
    n = _common.MIN_ROWS_PER_PARTITION * 5 + 17
    X, _ = make_blobs(n, 5, 6, seed=6)
    w = np.random.RandomState(7).rand(n)
    weights, means, covs = random_params(6, 5, covariance_type, seed=8, scale=3.0)
    one, total_one = run_accumulate(backend, X, w, weights, means, covs,
                                    covariance_type, n_threads=1)
    two, total_two = run_accumulate(backend, X, w, weights, means, covs,
                                    covariance_type, n_threads=2)
    assert total_one == total_two
    for a, b in [(one.nk, two.nk), (one.s1, two.s1), (one.s2, two.s2)]:
        assert_array_equal(a, b)


@pytest.mark.skipif(len(BACKENDS) < 2, reason="needs both backends")
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_backends_agree(covariance_type, dtype):
    n = 10_000
    X, _ = make_blobs(n, 6, 5, seed=9, dtype=dtype)
    w = np.random.RandomState(10).rand(n)
    weights, means, covs = random_params(5, 6, covariance_type, seed=11, scale=3.0)
    results = [
        run_accumulate(name, X, w, weights, means, covs, covariance_type)
        for name in ("numba", "cython")
    ]
    (a, total_a), (b, total_b) = results
    assert_allclose(total_a, total_b, rtol=1e-10)
    for x, y in [(a.nk, b.nk), (a.s1, b.s1), (a.s2, b.s2)]:
        assert_allclose(x, y, rtol=1e-10, atol=1e-10 * np.abs(x).max())


@pytest.mark.parametrize("covariance_type, d", [("full", 3), ("diag", 20)])
def test_zero_weight_rows_count_for_nothing(backend, covariance_type, d):
    # 'diag' at d=20 with 3 components: Cython's row-major tiles; rows of
    # weight 0 hold 1e200, whose squares would overflow
    X, _ = make_blobs(500, d, 3, seed=12)
    w = np.ones(500)
    w[::3] = 0.0
    X[::3] = 1e200
    weights, means, covs = random_params(3, d, covariance_type, seed=13, scale=2.0)
    dropped, total_dropped = run_accumulate(backend, X[w > 0], np.ones(int(w.sum())),
                                            weights, means, covs, covariance_type)
    zeroed, total_zeroed = run_accumulate(backend, X, w, weights, means, covs,
                                          covariance_type)
    assert_allclose(total_zeroed, total_dropped, rtol=1e-12)
    assert_allclose(zeroed.s2, dropped.s2, rtol=1e-12)


def test_far_from_origin_keeps_precision(backend):
    # the same cloud at 0 and at 1e6: statistics around the means are equal,
    # where E[xx^T] - mu mu^T would lose every digit
    X, _ = make_blobs(2000, 3, 2, seed=14, spread=3.0)
    weights, means, covs = random_params(2, 3, "full", seed=15, scale=2.0)
    shift = 1e6
    near, total_near = run_accumulate(backend, X, np.ones(2000), weights, means, covs,
                                      "full")
    far, total_far = run_accumulate(backend, X + shift, np.ones(2000), weights,
                                    means + shift, covs, "full")
    assert_allclose(total_far, total_near, rtol=1e-9)
    assert_allclose(far.s2, near.s2, rtol=1e-8)
    for covariance_type in ("tied", "diag", "spherical"):
        w2, m2, c2 = random_params(2, 3, covariance_type, seed=15, scale=2.0)
        near, _ = run_accumulate(backend, X, np.ones(2000), w2, m2, c2, covariance_type)
        far, _ = run_accumulate(backend, X + shift, np.ones(2000), w2, m2 + shift, c2,
                                covariance_type)
        assert_allclose(far.s2, near.s2, rtol=1e-8)


def test_far_away_components_do_not_overflow(backend):
    # log-probabilities near -1e6: exp without the max-shift would be 0/0
    X, _ = make_blobs(100, 2, 2, seed=16)
    weights = np.array([0.5, 0.5])
    means = np.array([[1e3, 1e3], [-1e3, 1e3]])
    covs = np.array([1.0, 1.0])
    out, total = run_accumulate(backend, X, np.ones(100), weights, means, covs,
                                "spherical")
    assert np.isfinite(total)
    assert_allclose(out.nk.sum(), 100.0)
    nk, s1, s2, expected_total = expected_stats(X, np.ones(100), weights, means, covs,
                                                "spherical")
    assert_allclose(total, expected_total, rtol=1e-12)
    assert_allclose(out.nk, nk, rtol=1e-9)


@given(
    n=st.integers(1, 60),
    d=st.integers(1, 5),
    k=st.integers(1, 5),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    seed=st.integers(0, 2**16),
)
def test_accumulate_any_shape(n, d, k, covariance_type, seed):
    X = np.random.RandomState(seed).randn(n, d) * 3
    w = np.random.RandomState(seed + 1).rand(n)
    weights, means, covs = random_params(k, d, covariance_type, seed=seed)
    nk, s1, s2, expected_total = expected_stats(X, w, weights, means, covs,
                                                covariance_type)
    for name in BACKENDS:
        out, total = run_accumulate(name, X, w, weights, means, covs, covariance_type)
        assert_allclose(total, expected_total, rtol=1e-10)
        assert_allclose(out.nk, nk, rtol=1e-9, atol=1e-12)
        assert_allclose(out.s2, s2, rtol=1e-9, atol=1e-9 * max(np.abs(s2).max(), 1))


def test_partition_bounds_cover_the_rows_within_the_budget():
    # (they take the data shape only: no thread count can change them)
    bounds = _common.partition_bounds(1_000_000, 16, 8, "full")
    assert bounds[0] == 0 and bounds[-1] == 1_000_000
    assert np.all(np.diff(bounds) > 0)
    assert len(bounds) - 1 == _common.MAX_PARTITIONS
    # large statistics: fewer partitions, within the memory budget
    bounds = _common.partition_bounds(1_000_000, 64, 256, "full")
    per = 64 * 256 * 256 * 8
    assert (len(bounds) - 1) * per <= max(_common.PARTIAL_STATS_BUDGET, per)
    assert_array_equal(_common.partition_bounds(5, 2, 2, "diag"), [0, 5])


@pytest.mark.parametrize("dtype", DTYPES)
def test_read_only_input_gives_identical_results(backend, dtype):
    X, _ = make_blobs(3000, 30, 3, seed=17, dtype=dtype)
    w = np.random.RandomState(18).rand(3000)
    for covariance_type in COVARIANCE_TYPES:
        weights, means, covs = random_params(3, 30, covariance_type, seed=19, scale=3.0)
        writable, total_w = run_accumulate(backend, X, w, weights, means, covs,
                                           covariance_type)
        X_ro, w_ro = X.copy(), w.copy()
        X_ro.setflags(write=False)
        w_ro.setflags(write=False)
        readonly, total_r = run_accumulate(backend, X_ro, w_ro, weights, means, covs,
                                           covariance_type)
        assert total_w == total_r
        assert_array_equal(writable.s2, readonly.s2)


def test_numba_exp_and_log_helpers_within_a_few_ulp():
    # the kernels' own exp (x <= 0) and log (x >= 1), inlined as the kernels
    # use them: under the kernels' fastmath flags, in a vectorized loop
    from numba import njit

    from fastgmm.kernels import _numba

    @njit(fastmath=_numba._FASTMATH)
    def apply(x, out, which):
        for i in range(x.shape[0]):
            out[i] = (_numba.exp_nonpositive(x[i]) if which == 0
                      else _numba.log_at_least_one(x[i]))

    rng = np.random.RandomState(0)
    x = np.concatenate([-rng.rand(5000) * 700, -rng.rand(5000) * 37,
                        [0.0, -1e-300, -0.5, -707.9]])
    out = np.empty_like(x)
    apply(x, out, 0)
    # where a term can change a sum of exps whose largest is 1 (x > -37): a
    # few ulp; deeper, reassociation of the Cody-Waite step costs digits of
    # terms that are below double precision next to 1 anyway
    near = x > -37
    assert_allclose(out[near], np.exp(x[near]), rtol=4e-15)
    assert_allclose(out[~near], np.exp(x[~near]), rtol=1e-12)
    assert out[-4] == 1.0
    # below -708 exactly 0: an underflowed responsibility is 0, not 3e-308
    tiny = np.array([-708.5, -709.0, -1000.0, -np.inf])
    out = np.empty_like(tiny)
    apply(tiny, out, 0)
    assert_array_equal(out, 0.0)
    y = np.concatenate([1 + rng.rand(5000) * 30, [1.0, 2.0, np.sqrt(2), 1 + 1e-15]])
    out = np.empty_like(y)
    apply(y, out, 1)
    assert_allclose(out, np.log(y), rtol=1e-15, atol=1e-16)
    assert out[-4] == 0.0


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", [3, 30])
def test_a_pass_over_windows_gives_the_bits_of_one_pass(backend, covariance_type,
                                                        dtype, d, monkeypatch):
    monkeypatch.setattr(_common, "MIN_ROWS_PER_PARTITION", 700)
    n, k = 700 * 3 + 123, 3
    X, _ = make_blobs(n, d, k, seed=30, dtype=dtype)
    w = np.random.RandomState(31).rand(n)
    w[::7] = 0.0
    weights, means, covs = random_params(k, d, covariance_type, seed=32, scale=3.0)
    c, means64, chol = kernel_args(weights, means, covs, covariance_type)
    b = kernels.get_backend(backend)
    whole = cov.SufficientStats.zeros(k, d, covariance_type)
    total = b.accumulate(X, w, c, means64, chol, covariance_type, whole)
    # windows cut at tile boundaries inside the partitions, and at their ends
    bounds = _common.partition_bounds(n, k, d, covariance_type)
    assert len(bounds) > 3
    cuts = sorted({0, n, bounds[1], bounds[1] + _common.TILE, bounds[2] + 2 * _common.TILE,
                   bounds[3]})
    stats_pass = b.begin_pass(n, c, means64, chol, covariance_type)
    for start, stop in zip(cuts[:-1], cuts[1:]):
        stats_pass.add(X[start:stop], w[start:stop])
    windows = stats_pass.finish()
    assert windows.ll == total
    for name in ("nk", "s1", "s2"):
        assert_array_equal(getattr(windows, name), getattr(whole, name))
    # the same windows read in place from an X of all rows
    stats_pass = b.begin_pass(n, c, means64, chol, covariance_type)
    for start, stop in zip(cuts[:-1], cuts[1:]):
        stats_pass.add(X, w, [(start, stop)], in_place=True)
    in_place = stats_pass.finish()
    assert in_place.ll == total
    for name in ("nk", "s1", "s2"):
        assert_array_equal(getattr(in_place, name), getattr(whole, name))
    # statistics of disjoint blocks add up to those of all rows
    half = n // 2
    parts = []
    for rows in (slice(0, half), slice(half, n)):
        part = cov.SufficientStats.zeros(k, d, covariance_type)
        b.accumulate(X[rows], w[rows], c, means64, chol, covariance_type, part)
        parts.append(part)
    summed = parts[0] + parts[1]
    rtol = 1e-9 if dtype == np.float64 or d < 24 else 1e-4
    assert_allclose(summed.ll, total, rtol=1e-12)
    for name in ("nk", "s1", "s2"):
        expected = getattr(whole, name)
        assert_allclose(getattr(summed, name), expected, rtol=rtol,
                        atol=rtol * np.abs(expected).max())


def test_a_pass_refuses_rows_beyond_its_length(backend):
    X, _ = make_blobs(100, 2, 2, seed=33)
    weights, means, covs = random_params(2, 2, "diag", seed=34)
    c, means64, chol = kernel_args(weights, means, covs, "diag")
    stats_pass = kernels.get_backend(backend).begin_pass(150, c, means64, chol, "diag")
    stats_pass.add(X)
    with pytest.raises(ValueError, match="pass saw 100 of 150 rows"):
        stats_pass.finish()
    with pytest.raises(ValueError, match="200 rows passed to a pass over 150"):
        stats_pass.add(X)


def test_a_pass_in_place_needs_all_rows_and_pieces(backend):
    X, _ = make_blobs(100, 2, 2, seed=33)
    weights, means, covs = random_params(2, 2, "diag", seed=34)
    c, means64, chol = kernel_args(weights, means, covs, "diag")
    stats_pass = kernels.get_backend(backend).begin_pass(150, c, means64, chol, "diag")
    with pytest.raises(ValueError, match="X of 100 rows for a pass over 150"):
        stats_pass.add(X, None, [(0, 50)], in_place=True)
    with pytest.raises(ValueError, match="in_place needs the pieces"):
        stats_pass.add(X, in_place=True)
    with pytest.raises(ValueError, match="outside the pass"):
        stats_pass.add(X, None, [(100, 160)], in_place=True)


def test_a_part_of_a_pass_takes_its_partitions_and_hands_them_on(backend):
    # two parts of one pass, each on the partitions inside it, give the bits
    # of the whole pass once their slots are loaded in order
    n, d, k = 5000, 3, 2
    X, _ = make_blobs(n, d, k, seed=35)
    weights, means, covs = random_params(k, d, "full", seed=36)
    c, means64, chol = kernel_args(weights, means, covs, "full")
    b = kernels.get_backend(backend)
    whole = cov.SufficientStats.zeros(k, d, "full")
    total = b.accumulate(X, None, c, means64, chol, "full", whole, n_threads=1)
    bounds = np.array([0, 1000, 2512, 5000])
    parts = []
    for start, stop in ((0, 2512), (2512, 5000)):
        part = b.begin_pass(stop - start, c, means64, chol, "full",
                            bounds=_common.window_bounds(bounds, start, stop))
        part.add(X[start:stop])
        parts.append(part.partial_sums())
    full_pass = b.begin_pass(n, c, means64, chol, "full", bounds=bounds)
    merged = _common.Partials(3, k, d, "full")
    for name in ("nk", "s1", "s2", "cc", "ll"):
        getattr(merged, name)[...] = np.concatenate([getattr(p, name) for p in parts])
    reference = b.begin_pass(n, c, means64, chol, "full", bounds=bounds)
    reference.add(X)
    full_pass.load_partials(merged, X.dtype)
    got, expected = full_pass.finish(), reference.finish()
    assert got.ll == expected.ll
    for name in ("nk", "s1", "s2"):
        assert_array_equal(getattr(got, name), getattr(expected, name))
    assert_allclose(got.ll, total, rtol=1e-12)
    with pytest.raises(ValueError, match="bounds must rise from 0 to 5000"):
        b.begin_pass(n, c, means64, chol, "full", bounds=[0, 10])
    with pytest.raises(ValueError, match="partial nk has shape"):
        reference.load_partials(_common.Partials(2, k, d, "full"), X.dtype)
    with pytest.raises(ValueError, match="pass saw 0 of 5000"):
        b.begin_pass(n, c, means64, chol, "full").partial_sums()
