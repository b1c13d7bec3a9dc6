"""'full' with a few dozen features: Cython's register-blocked tiles.

From `_common.BLAS_MIN_FEATURES` up to `_common.FULL_TILES_MAX_FEATURES`
features, Cython's 'full' pass takes (x - m_k) U_k and the scatter matrices in
X's dtype from register-blocked loops (``_full_tiles.h``) instead of BLAS's
triangular products. These tests check the tiles against `fastgmm.reference`
(float64), against the triangular products, and the float32 fit against
scikit-learn's (issue 13: at least as close to the float64 fit).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm import GaussianMixture, kernels, reference
from fastgmm.em import covariance as cov
from fastgmm.kernels import _common

from ..helpers import BACKENDS, make_blobs, random_params

pytestmark = pytest.mark.skipif("cython" not in BACKENDS, reason="Cython only")


def args(weights, means, covs):
    chol = cov.precisions_cholesky(covs, "full")
    c = cov.log_prob_constants(weights, chol, "full", means.shape[1])
    return c, np.ascontiguousarray(means, dtype=np.float64), chol


def accumulate(X, w, c, means, chol, **kwargs):
    out = cov.SufficientStats.zeros(means.shape[0], means.shape[1], "full")
    total = kernels.get_backend("cython").accumulate(X, w, c, means, chol, "full",
                                                     out, **kwargs)
    return out, total


@pytest.fixture
def no_tiles(monkeypatch):
    """Within the fixture's test: switch the tiles off (triangular products)."""
    def switch():
        monkeypatch.setattr(_common, "FULL_TILES_MAX_FEATURES", 0)
    return switch


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d, k", [(24, 3), (27, 7), (32, 4)])
def test_tiles_match_reference(dtype, d, k):
    n = 2 * 256 + 77  # an odd last tile
    X, _ = make_blobs(n, d, k, seed=1, spread=1.0, offset=50.0, dtype=dtype)
    rng = np.random.RandomState(2)
    w = rng.randint(0, 4, size=n).astype(float)
    weights, means, covs = random_params(k, d, "full", seed=3, scale=0.5)
    means = means + 50.0
    c, means64, chol = args(weights, means, covs)
    assert _common.BLAS_MIN_FEATURES <= d <= _common.FULL_TILES_MAX_FEATURES

    out, total = accumulate(X, w, c, means64, chol)
    resp, log_lik = reference.e_step(X, weights, means, covs, "full")
    nk, s1, s2 = reference.sufficient_statistics(X, resp, means, "full",
                                                 sample_weight=w)
    # float32: the tile arithmetic in float32, sums over a tile, then float64
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    assert_allclose(out.nk, nk, rtol=rtol, atol=rtol * n)
    assert_allclose(out.s1, s1, rtol=rtol, atol=rtol * np.abs(s1).max())
    s2_scale = np.abs(s2).max()
    assert_allclose(out.s2, s2, rtol=rtol, atol=rtol * s2_scale)
    assert_allclose(total, np.sum(w * log_lik), rtol=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tiles_equal_the_triangular_products_to_rounding(dtype, no_tiles):
    d, k, n = 32, 5, 3001
    X, _ = make_blobs(n, d, k, seed=4, spread=1.5, offset=1e3, dtype=dtype)
    w = np.random.RandomState(5).rand(n)
    w[::11] = 0.0  # rows of weight 0 add nothing (and are read as g)
    X[::11] = 1e30 if dtype == np.float32 else 1e200
    weights, means, covs = random_params(k, d, "full", seed=6)
    means = means + 1e3
    c, means64, chol = args(weights, means, covs)
    tiles, total_t = accumulate(X, w, c, means64, chol)
    no_tiles()
    tri, total_p = accumulate(X, w, c, means64, chol)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    assert np.isfinite(total_t)
    assert_allclose(total_t, total_p, rtol=rtol)
    assert_allclose(tiles.nk, tri.nk, rtol=rtol)
    for a, b in ((tiles.s1, tri.s1), (tiles.s2, tri.s2)):
        assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


def test_thread_count_does_not_change_the_tiles(monkeypatch):
    monkeypatch.setattr(_common, "MIN_ROWS_PER_PARTITION", 512)
    d, k, n = 30, 6, 512 * 5 + 77
    X, _ = make_blobs(n, d, k, seed=9, dtype=np.float32)
    w = np.random.RandomState(10).rand(n)
    c, means64, chol = args(*random_params(k, d, "full", seed=11))
    one, total_one = accumulate(X, w, c, means64, chol, n_threads=1)
    two, total_two = accumulate(X, w, c, means64, chol, n_threads=2)
    assert total_one == total_two
    for a, b in ((one.nk, two.nk), (one.s1, two.s1), (one.s2, two.s2)):
        assert_array_equal(a, b)


@pytest.mark.parametrize("offset", [0.0, 1e3])
def test_float32_fit_as_close_as_scikit_learns(offset):
    # issue 13: the float32 fit at least as close to the float64 fit as
    # scikit-learn's float32 fit (given float32 initial parameters)
    sklearn_mixture = pytest.importorskip("sklearn.mixture")
    from sklearn.datasets import make_blobs as sk_blobs

    X, _ = sk_blobs(6000, 32, centers=4, cluster_std=1.0, random_state=0)
    X = X + offset
    k = 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = sklearn_mixture.GaussianMixture(k, random_state=0, max_iter=3).fit(X)
    init = dict(weights_init=start.weights_, means_init=start.means_,
                precisions_init=start.precisions_)
    kw = dict(covariance_type="full", tol=0, max_iter=10, backend="cython")
    ref = GaussianMixture(k, **kw, **init).fit(X)
    ours = GaussianMixture(k, **kw, **init).fit(X.astype(np.float32))
    init32 = {name: np.asarray(v, np.float32) for name, v in init.items()}
    kw.pop("backend")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = sklearn_mixture.GaussianMixture(k, **kw, **init32).fit(
                X.astype(np.float32))
    except ValueError:  # scikit-learn's float32 fit can fail outright
        theirs = None

    def errors(model):
        # (in float64: scikit-learn's float32 fit keeps a float32 bound,
        # whose difference from a Python float NumPy would take in float32)
        return (abs(float(model.lower_bound_) - float(ref.lower_bound_)),
                np.max(np.abs(model.means_ - ref.means_)),
                np.max(np.abs(model.covariances_ - ref.covariances_))
                / np.max(np.abs(ref.covariances_)))

    ours_err = errors(ours)
    assert ours_err[2] < 1e-4
    if theirs is not None:
        # far from 0 both covariances sit at the floor of X rounded to
        # float32 (2.2e-6 here, equal to 3%), as the triangular products do
        for mine, sk in zip(ours_err, errors(theirs)):
            assert mine <= 1.05 * sk
