"""Rows with missing entries (`fastgmm.sources.missing`): one pass's
statistics against the conditional Gaussians computed row by row with
SciPy, the rows grouped by pattern, and blocks kept or grouped again."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from fastgmm import GaussianMixture
from fastgmm.sources import missing

from ..helpers import COVARIANCE_TYPES, quiet_fit, with_missing


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_blocks_kept_or_grouped_again_fit_as_one_block(covariance_type, monkeypatch):
    # X cut into blocks of 512 rows, only the first kept: the fit is the one
    # of a single block (sums in another order: the last bits only)
    X = with_missing(n=3000, seed=95)
    w = np.random.RandomState(96).rand(len(X))
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  nan_policy="marginalize")
    a = quiet_fit(GaussianMixture(**params), X, sample_weight=w)
    monkeypatch.setattr(missing, "WINDOW_BYTES", 512 * 3 * 8)
    monkeypatch.setattr(missing, "CACHE_BYTES", 512 * 3 * 8 * 2)
    rows = missing.IncompleteRows(X)
    kinds = [key is not None for key, *_ in rows.blocks()]
    assert len(kinds) == 6 and kinds[0] and not all(kinds)
    b = quiet_fit(GaussianMixture(**params), X, sample_weight=w)
    assert a.n_iter_ == b.n_iter_
    assert_allclose(b.means_, a.means_, rtol=1e-12, atol=1e-12)
    assert_allclose(b.covariances_, a.covariances_, rtol=1e-11)
    assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-13)
    assert_allclose(b.predict_proba(X), a.predict_proba(X), rtol=1e-10, atol=1e-14)
    assert_allclose(b.impute(X), a.impute(X), rtol=1e-10)


@pytest.mark.parametrize("n_features", [5, 70])
def test_rows_are_grouped_by_their_pattern(n_features):
    # bitmask codes up to 62 features, whole rows compared beyond
    rng = np.random.RandomState(97)
    mask = rng.rand(500, n_features) < 0.5
    mask[:, 2:] = mask[:, :1] if n_features > 62 else mask[:, 2:]
    patterns, rows = missing._group_by_pattern(mask)
    assert sum(r.size for r in rows) == 500
    assert np.unique(np.concatenate(rows)).size == 500
    assert np.unique(patterns, axis=0).shape[0] == patterns.shape[0]
    for pattern, r in zip(patterns, rows):
        assert r.size and np.all(np.diff(r) > 0)
        assert_array_equal(mask[r], np.broadcast_to(pattern, (r.size, n_features)))


def _pass_by_hand(X, w, weights, means, covariances):
    """A pass's statistics around ``means`` computed row by row: each row's
    responsibilities from the marginal density of its observed entries
    (SciPy), the row completed per component by its conditional mean, and
    the conditional covariance added to the scatter's missing block."""
    k, d = means.shape
    nk, s1, s2, total = np.zeros(k), np.zeros((k, d)), np.zeros((k, d, d)), 0.0
    for x, weight in zip(X, w):
        o = ~np.isnan(x)
        m = ~o
        log_p = np.log(weights).copy()
        if o.any():
            log_p += [multivariate_normal(means[j, o], covariances[j][np.ix_(o, o)])
                      .logpdf(x[o]) for j in range(k)]
        total += weight * logsumexp(log_p)
        resp = np.exp(log_p - logsumexp(log_p))
        for j in range(k):
            S = covariances[j]
            completed, extra = x.copy(), np.zeros((d, d))
            if o.any():
                gain = np.linalg.solve(S[np.ix_(o, o)], S[np.ix_(o, m)])
                completed[m] = means[j, m] + gain.T @ (x[o] - means[j, o])
                extra[np.ix_(m, m)] = S[np.ix_(m, m)] - S[np.ix_(m, o)] @ gain
            else:
                completed, extra = means[j].copy(), S.copy()
            z = completed - means[j]
            nk[j] += weight * resp[j]
            s1[j] += weight * resp[j] * z
            s2[j] += weight * resp[j] * (np.outer(z, z) + extra)
    return nk, s1, s2, total


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_pass_is_the_conditional_gaussians_row_by_row(covariance_type):
    # the parameters in the kernels' form (c_k, U_k) are made here too:
    # U_k the inverse of the lower Cholesky factor of S_k, transposed
    X = with_missing(n=60, d=3, seed=81, fraction=0.3)
    w = np.random.RandomState(82).uniform(0.5, 2.0, X.shape[0])
    k, d = 2, 3
    weights = np.array([0.4, 0.6])
    means = np.array([[19.0, 21.0, 20.0], [22.0, 18.0, 20.5]])
    A = np.random.RandomState(83).randn(k, d, d)
    covariances = A @ A.transpose(0, 2, 1) + 2.0 * np.eye(d)
    if covariance_type == "tied":
        covariances[:] = covariances[0]
    elif covariance_type == "diag":
        covariances *= np.eye(d)
    elif covariance_type == "spherical":
        covariances = np.eye(d) * np.array([1.5, 3.0])[:, None, None]
    lower = np.linalg.cholesky(covariances)
    U_full = np.linalg.inv(lower).transpose(0, 2, 1)
    U = {"full": U_full, "tied": U_full[0],
         "diag": np.diagonal(U_full, axis1=1, axis2=2).copy(),
         "spherical": U_full[:, 0, 0].copy()}[covariance_type]
    c = (np.log(weights) - np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(axis=1)
         - 0.5 * d * np.log(2 * np.pi))

    from fastgmm import kernels

    stats = missing.IncompleteRows(X).statistics(
        kernels.get_backend("auto"), w, c, means, U, covariance_type, 1)
    nk, s1, s2, total = _pass_by_hand(X, w, weights, means, covariances)
    s2 = {"full": s2, "tied": s2.sum(axis=0),
          "diag": np.diagonal(s2, axis1=1, axis2=2),
          "spherical": np.trace(s2, axis1=1, axis2=2)}[covariance_type]
    assert_allclose(stats.nk, nk, rtol=1e-12)
    assert_allclose(stats.s1, s1, rtol=1e-10, atol=1e-10)
    assert_allclose(stats.s2, s2, rtol=1e-10)
    assert_allclose(stats.ll, total, rtol=1e-12)


def test_observed_means_are_the_weighted_means_of_the_observed_entries():
    X = with_missing(n=300, d=4, seed=84, fraction=0.3)
    X[:, 3] = np.nan  # a feature never observed: its mean is 0
    w = np.random.RandomState(85).uniform(0.5, 2.0, X.shape[0])
    means = missing.observed_means(*missing.observed_sums(X, w))
    expected = [np.average(X[~np.isnan(X[:, j]), j], weights=w[~np.isnan(X[:, j])])
                for j in range(3)]
    assert_allclose(means, expected + [0.0], rtol=1e-13)
