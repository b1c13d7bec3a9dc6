"""The Student-t pass computed by the drivers (issue 39): every path of every
covariance type against the contract in plain NumPy (/work's t contract,
docs/design.md "The Student-t pass"), for each backend whose drivers take
dof (``TAKES_DOF``; the others are skipped)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import gammaln, logsumexp

from fastgmm import kernels
from fastgmm.em import covariance as cov
from fastgmm.kernels import _common

from ..helpers import COVARIANCE_TYPES, DTYPES, make_blobs, random_params

# (d, k): the paths each shape takes (Cython; Numba has its own split)
SHAPES = [
    (1, 3), (2, 3), (5, 4), (8, 3),  # the small-d C functions ('full', 'diag')
    (12, 5),  # 'full' register tiles; 'diag' direct loops (k > FEW_K, k d < 256)
    (20, 3),  # 'full' register tiles; 'diag' row-major tiles (few components)
    (40, 8),  # 'full' BLAS tiles; 'diag' gemm (k d >= 256)
]
N = 1000 + 37  # not a multiple of the tile (256)


def _backend(name):
    b = kernels.get_backend(name)
    if not getattr(b.drivers, "TAKES_DOF", False):
        pytest.skip(f"the {name} drivers do not compute the Student-t pass yet")
    return b


def _problem(covariance_type, d, k, dtype, weighted, n=N, seed=0):
    """X with a few far rows, weights (some 0), parameters, dof, and the
    t family's constants c_k."""
    X, _ = make_blobs(n, d, k, seed=seed + d, dtype=np.float64)
    rng = np.random.RandomState(seed + 1)
    far = rng.choice(n, size=6, replace=False)
    X[far] += rng.randn(6, d) * 1e3  # outliers: far in the tails
    X[far[0]] += 3e4
    X = X.astype(dtype)
    w = rng.randint(0, 4, size=n).astype(float) if weighted else None
    if weighted:
        w[far[1]] = 0.0
    weights, means, covs = random_params(k, d, covariance_type, seed=seed + 3,
                                         scale=2.0)
    chol = cov.precisions_cholesky(covs, covariance_type)
    dof = np.round(rng.uniform(0.6, 40.0, size=k), 3)
    dof[0] = 0.75
    if k > 2:
        dof[-1] = 150.0
    c = (cov.log_prob_constants(weights, chol, covariance_type, d)
         + 0.5 * d * np.log(2 * np.pi) + gammaln(0.5 * (dof + d)) - gammaln(0.5 * dof)
         - 0.5 * d * np.log(dof * np.pi))
    return X, w, c, np.ascontiguousarray(means, dtype=np.float64), chol, dof


def _deltas(X, means, U, covariance_type):
    """delta[i, k] = ||(x_i - m_k) U_k||^2 in float64."""
    X = X.astype(np.float64)
    delta = np.empty((X.shape[0], means.shape[0]))
    for j in range(means.shape[0]):
        diff = X - means[j]
        if covariance_type == "full":
            y = diff @ U[j]
        elif covariance_type == "tied":
            y = diff @ U
        else:
            y = diff * U[j]
        delta[:, j] = np.sum(y * y, axis=1)
    return delta


def _t_log_prob(X, c, means, U, covariance_type, dof):
    d = X.shape[1]
    delta = _deltas(X, means, U, covariance_type)
    return c - 0.5 * (dof + d) * np.log1p(delta / dof), delta


def _expected(X, w, c, means, U, covariance_type, dof):
    """The contract's statistics of the t pass, in plain NumPy."""
    n, d = X.shape
    k = means.shape[0]
    w = np.ones(n) if w is None else w
    logp, delta = _t_log_prob(X, c, means, U, covariance_type, dof)
    lse = logsumexp(logp, axis=1)
    r = np.exp(logp - lse[:, None])
    u = (dof + d) / (dof + delta)
    wr = w[:, None] * r
    wru = wr * u
    x = X.astype(np.float64)
    s1 = np.empty((k, d))
    full = np.empty((k, d, d))
    for j in range(k):
        diff = x - means[j]
        s1[j] = wru[:, j] @ diff
        full[j] = (wru[:, j, None] * diff).T @ diff
    s2 = {"full": full, "tied": full.sum(axis=0),
          "diag": np.einsum("kjj->kj", full),
          "spherical": np.einsum("kjj->k", full)}[covariance_type]
    return dict(nr=wr.sum(axis=0), tlu=np.sum(wr * (np.log(u) - u), axis=0),
                nk=wru.sum(axis=0), s1=s1, s2=s2, ll=np.sum(w * lse))


def _run(b, X, w, c, means, U, covariance_type, dof, n_threads=None):
    k, d = means.shape
    out = _common.SufficientStats.zeros(k, d, covariance_type, student=True)
    total = b.accumulate(X, w, c, means, U, covariance_type, out,
                         n_threads=n_threads, dof=dof)
    assert total == out.ll
    return out


def _rtol(b, covariance_type, d, k, dtype):
    """float64: the contract's; float32 rows through tiles in float32 (X's
    dtype: BLAS, the 'full' register tiles, the 'diag' products) agree to
    float32's rounding, the others (loops in float64) to float64's."""
    if dtype == np.float64:
        return 1e-10
    return 2e-4 if _common.uses_blas(covariance_type, d, k, b.name) else 1e-9


def _check_stats(out, exp, rtol):
    for name in ("nr", "nk", "tlu", "s1", "s2"):
        got, want = getattr(out, name), exp[name]
        assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max(),
                        err_msg=name)
    assert_allclose(out.ll, exp["ll"], rtol=rtol)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("d, k", SHAPES)
def test_accumulate_matches_contract(backend, covariance_type, dtype, weighted, d, k):
    b = _backend(backend)
    X, w, c, means, U, dof = _problem(covariance_type, d, k, dtype, weighted)
    out = _run(b, X, w, c, means, U, covariance_type, dof)
    _check_stats(out, _expected(X, w, c, means, U, covariance_type, dof),
                 _rtol(b, covariance_type, d, k, dtype))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d, k", SHAPES)
def test_posterior_matches_contract(backend, covariance_type, dtype, d, k):
    b = _backend(backend)
    X, _, c, means, U, dof = _problem(covariance_type, d, k, dtype, False, seed=5)
    n = X.shape[0]
    logp, _ = _t_log_prob(X, c, means, U, covariance_type, dof)
    lse = logsumexp(logp, axis=1)
    log_norm, resp = np.empty(n, dtype), np.empty((n, k), dtype)
    labels = np.empty(n, np.intp)
    b.posterior(X, c, means, U, covariance_type, log_norm=log_norm, resp=resp,
                labels=labels, dof=dof)
    raw = np.empty((n, k))
    b.log_prob(X, c, means, U, covariance_type, raw, dof=dof)
    # the posterior runs no BLAS: float32 'full' tiles in float32 from d = 9
    # (Cython) or 24 (Numba)
    tiles32 = (dtype == np.float32 and covariance_type == "full"
               and _common.uses_blas("full", d, k, b.name))
    rtol = 1e-6 if tiles32 else 1e-10
    assert_allclose(raw, logp, rtol=rtol)
    out_rtol = rtol if dtype == np.float64 else max(rtol, 1e-6)
    assert_allclose(log_norm, lse, rtol=out_rtol)
    # responsibilities: relative errors of the size of log p's absolute ones
    assert_allclose(resp, np.exp(logp - lse[:, None]),
                    rtol=1e-4 if tiles32 else out_rtol, atol=10 * np.finfo(dtype).eps)
    # labels: the argmax, wherever the two best are not within rounding
    top2 = np.sort(logp, axis=1)[:, -2:] if k > 1 else None
    clear = (np.ones(n, bool) if k == 1
             else top2[:, 1] - top2[:, 0] > 1e-6 * np.abs(top2[:, 1]) + 1e-9)
    assert_array_equal(labels[clear], np.argmax(logp, axis=1)[clear])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("d, k", [(3, 3), (20, 3), (40, 8)])
def test_threads_windows_and_fit_pass_give_the_bits(backend, covariance_type, d, k):
    """n_threads = 1 or 2, windows cut at tiles, `FitPass.run`: one result."""
    b = _backend(backend)
    n = 5000 + 37
    X, w, c, means, U, dof = _problem(covariance_type, d, k, np.float64, True, n=n)
    assert len(_common.partition_bounds(n, k, d, covariance_type)) > 2
    one = _run(b, X, w, c, means, U, covariance_type, dof, n_threads=1)
    two = _run(b, X, w, c, means, U, covariance_type, dof, n_threads=2)
    stats_pass = b.begin_pass(n, c, means, U, covariance_type, n_threads=2, dof=dof)
    windows = _common.window_plan(stats_pass.bounds, 2000)
    assert len(windows) > 1
    for pieces in windows:  # each partition cut at tiles
        rows = np.concatenate([np.arange(start, stop) for start, stop in pieces])
        stats_pass.add(X[rows], w[rows], pieces)
    windowed = stats_pass.finish()
    with b.fit_pass(X, w, k, covariance_type, n_threads=2) as fit:
        fitted = fit.run(c, means, U, dof=dof)
    for other in (two, windowed, fitted):
        for name in ("nr", "tlu", "nk", "s1", "s2"):
            assert_array_equal(getattr(other, name), getattr(one, name), err_msg=name)
        assert other.ll == one.ll
    # the per-row outputs too
    resp1, resp2 = np.empty((n, k)), np.empty((n, k))
    b.posterior(X, c, means, U, covariance_type, resp=resp1, n_threads=1, dof=dof)
    b.posterior(X, c, means, U, covariance_type, resp=resp2, n_threads=2, dof=dof)
    assert_array_equal(resp1, resp2)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_large_dof_approaches_the_gaussian_pass(backend, covariance_type):
    """nu -> infinity: the t pass's statistics tend to the Gaussian pass's
    (with the Gaussian constants: the t's c_k tend to them too)."""
    b = _backend(backend)
    d, k = 4, 3
    X, w, _, means, U, _ = _problem(covariance_type, d, k, np.float64, True)
    near = np.abs(X).max(axis=1) < 100  # no outliers: u_ik -> 1 uniformly
    X, w = np.ascontiguousarray(X[near]), w[near]
    weights = np.array([0.2, 0.3, 0.5])
    c = cov.log_prob_constants(weights, U, covariance_type, d)
    gauss = _common.SufficientStats.zeros(k, d, covariance_type)
    b.accumulate(X, w, c, means, U, covariance_type, gauss)
    student = _run(b, X, w, c, means, U, covariance_type, np.full(k, 1e9))
    for name in ("nk", "s1", "s2"):
        assert_allclose(getattr(student, name), getattr(gauss, name), rtol=1e-5,
                        atol=1e-5 * np.abs(getattr(gauss, name)).max())
    assert_allclose(student.nr, gauss.nk, rtol=1e-5)


def test_gaussian_pass_has_no_student_fields(backend):
    b = kernels.get_backend(backend)
    X, w, _, means, U, _ = _problem("diag", 3, 2, np.float64, True)
    c = np.zeros(2)
    out = _common.SufficientStats.zeros(2, 3, "diag")
    b.accumulate(X, w, c, means, U, "diag", out)
    assert out.nr is None and out.tlu is None


# --- the Cython backend's own paths and its log1p ---------------------------------

def _cython():
    if not kernels.cython_available():
        pytest.skip("the Cython extension is not built")
    return _backend("cython")


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
@pytest.mark.parametrize("d, k", [(5, 4), (20, 3)])
def test_cython_generic_loops(covariance_type, d, k):
    """With the copies per d off (`set_small_d`): the generic direct loops of
    'full' and 'diag' at d <= 8 and 'diag' with few components."""
    b = _cython()
    X, w, c, means, U, dof = _problem(covariance_type, d, k, np.float64, True)
    b.drivers.set_small_d(False)
    try:
        out = _run(b, X, w, c, means, U, covariance_type, dof)
        raw = np.empty((X.shape[0], k))
        b.log_prob(X, c, means, U, covariance_type, raw, dof=dof)
    finally:
        b.drivers.set_small_d(True)
    _check_stats(out, _expected(X, w, c, means, U, covariance_type, dof), 1e-10)
    assert_allclose(raw, _t_log_prob(X, c, means, U, covariance_type, dof)[0],
                    rtol=1e-10)


def test_cython_drivers_check_the_student_arguments():
    b = _cython()
    X, w, c, means, U, dof = _problem("diag", 3, 2, np.float64, False, n=300)
    p = kernels._backend._Params(c, means, U, "diag", "cython")
    bounds = _common.partition_bounds(300, 2, 3, "diag")
    q = _common.Partials(len(bounds) - 1, 2, 3, "diag")
    segments = _common.all_rows_segments(bounds)
    args = (X, np.zeros(0), p.c, p.flat_means, p.U, p.center, p.shifted, p.shifted_u,
            segments, q.nk, q.s1, q.s2, q.cc, q.ll, p.kind, False, 1)
    with pytest.raises(ValueError, match="together"):
        b.drivers.accumulate_partitions(*args, dof)
    with pytest.raises(ValueError, match="dof"):
        b.drivers.accumulate_partitions(*args, np.ones(3), q.nr, q.tlu)
    with pytest.raises(ValueError, match="nr and tlu"):
        b.drivers.accumulate_partitions(*args, dof, np.zeros((5, 2)), q.tlu)
    post = (X, p.c, p.flat_means, p.U, p.center, p.shifted_u,
            np.array([0, 300], dtype=np.intp), np.empty(300), np.zeros((0, 2)),
            np.zeros(0, np.intp), p.kind, False, False, 1)
    with pytest.raises(ValueError, match="dof"):
        b.drivers.posterior_partitions(*post, np.ones(3))


def test_cython_zero_density_rows():
    """A row whose distances overflow (delta = inf): log p = -inf under every
    component, which the drivers mark and the backend resolves (the least
    nu takes it)."""
    b = _cython()
    X, _, c, means, U, dof = _problem("diag", 3, 3, np.float64, False, n=300)
    X[7] = 1e200
    resp, labels = np.empty((300, 3)), np.empty(300, np.intp)
    b.posterior(X, c, means, U, "diag", resp=resp, labels=labels, dof=dof)
    assert labels[7] == np.argmin(dof)
    assert_allclose(resp[7], np.eye(3)[np.argmin(dof)])
    raw = np.empty((300, 3))
    b.log_prob(X, c, means, U, "diag", raw, dof=dof)
    assert np.all(raw[7] == -np.inf)


def _ulps(got, want):
    want64 = want.astype(np.float64)
    return np.abs(got - want) / np.spacing(np.abs(want64))


@pytest.mark.parametrize("nu", [2.3e-308, 1e-300, 1e-5, 0.5, 1.0, 3.7, 30.0, 1e10,
                                1e300])
def test_cython_log1p_scaled_matches_log1p(nu):
    """_exp.h's log1p(delta / nu), as the t pass calls it, against log1p in
    long double over t = delta / nu from 1e-300 to 1e300 (and the edges: 0,
    2^1000 where it switches to log(delta) + log(1/nu), inf): within 4 ulps;
    past 2^1000 within 4 ulps of the larger of log(delta) and log(nu), whose
    difference it is (for nu far below 1 the result has cancelled there:
    nu = 1e-300 loses up to 18 ulps of a result of 40)."""
    tiles = _cython().drivers._tiles
    t = np.concatenate([
        np.logspace(-300, 300, 20001),
        np.linspace(0.0, 4.0, 4001),
        np.array([np.sqrt(2) - 1, np.sqrt(2), 2 * np.sqrt(2) - 1]),
        (np.ldexp(1.0, np.concatenate([np.arange(-60, 70), np.arange(990, 1023)]))[:, None]
         * np.array([1 - 1e-16, 1.0, 1 + 2e-16])).ravel(),
    ])
    inv_nu = 1.0 / nu
    with np.errstate(over="ignore"):
        delta = t * nu
    delta = delta[np.isfinite(delta)]
    got = np.empty_like(delta)
    ratio = np.empty_like(delta)
    tiles._log1p_scaled(delta, nu, got, ratio)
    want = np.log1p(delta.astype(np.longdouble) * np.longdouble(inv_nu))
    # 1 / (1 + t), from the same reciprocal: within a few ulps (a subnormal
    # one within a few of the smallest normal's)
    want_ratio = (1 / (1 + delta.astype(np.longdouble) * np.longdouble(inv_nu)))
    ratio_ulps = (np.abs(ratio - want_ratio)
                  / np.spacing(np.maximum(np.abs(want_ratio.astype(np.float64)),
                                          np.finfo(np.float64).tiny)))
    assert ratio_ulps.max() <= 4, (delta[np.argmax(ratio_ulps)], ratio_ulps.max())
    scale = np.abs(want.astype(np.float64))
    big = delta * inv_nu > 2.0**1000
    with np.errstate(divide="ignore"):
        scale[big] = np.maximum(scale[big], np.maximum(np.abs(np.log(delta[big])),
                                                       abs(np.log(nu))))
    ulps = np.abs(got - want) / np.spacing(scale)
    assert ulps.max() <= 4, (delta[np.argmax(ulps)], ulps.max())
    edge = np.array([0.0, np.inf])
    out = np.empty(2)
    ratio = np.empty(2)
    tiles._log1p_scaled(edge, nu, out, ratio)
    assert_array_equal(out, [0.0, np.inf])
    assert_array_equal(ratio, [1.0, 0.0])


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("d, k", [(3, 3), (8, 4), (20, 3)])
def test_a_far_row_does_not_change_its_tiles_other_rows(backend, covariance_type, d, k):
    """A tile with a row past t = 2^1000 computes that row again by the long
    form of log1p (log(delta) + log(1/nu)): the other rows' log p and the
    statistics are the same bits either way (a row's bits do not depend on
    the other rows of its tile)."""
    b = _backend(backend)
    X, _, c, means, U, dof = _problem(covariance_type, d, k, np.float64, False,
                                      n=512, seed=7)
    far = X.copy()
    far[5] = 1e152  # delta finite, delta / nu past 2^1000 for every component
    raws = []
    for data in (X, far):
        raw = np.empty((512, k))
        b.log_prob(data, c, means, U, covariance_type, raw, dof=dof)
        raws.append(raw)
    assert np.all(np.isfinite(raws[1][5])) and np.all(raws[1][5] < raws[0][5])
    keep = np.arange(512) != 5
    assert_array_equal(raws[1][keep], raws[0][keep])
    # the pass: the far row weighed 0, so only the tile's path differs
    w = np.ones(512)
    w[5] = 0.0
    stats = [_run(b, data, w, c, means, U, covariance_type, dof) for data in (X, far)]
    for name in ("nk", "s1", "s2", "nr", "tlu", "ll"):
        assert_array_equal(np.asarray(getattr(stats[1], name)),
                           np.asarray(getattr(stats[0], name)), err_msg=name)
