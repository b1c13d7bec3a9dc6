"""The variational math on small arrays (`fastgmm.em.variational`): the
Wishart normalization against SciPy's multivariate gamma function, and the
responsibilities' entropy from a pass's statistics against the entropy
computed row by row."""

import numpy as np
import pytest
from scipy.special import logsumexp, multigammaln

from fastgmm import kernels
from fastgmm.em import variational
from fastgmm.kernels._common import SufficientStats

from ..helpers import BACKENDS, COVARIANCE_TYPES, make_blobs


@pytest.mark.parametrize("d", [1, 3, 6])
def test_the_wishart_normalization(d):
    # log B(W, nu) = -nu/2 log|W| - nu d/2 log 2 - log Gamma_d(nu/2), with
    # log|W| = 2 log det U and, as scikit-learn's, without Gamma_d's
    # d(d-1)/4 log pi
    nu = np.array([d + 0.5, d + 3.0, 40.0])
    log_det_u = np.array([-1.3, 0.2, 2.5])
    expected = [-n * l - n * d / 2 * np.log(2) - multigammaln(n / 2, d)
                + d * (d - 1) / 4 * np.log(np.pi) for n, l in zip(nu, log_det_u)]
    got = variational._log_wishart_norm(nu, log_det_u, d)
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def _factors(covariance_type, k, d, seed):
    """Random precision factors U in the type's shape, and as k full ones."""
    rng = np.random.RandomState(seed)
    full = np.triu(rng.uniform(-0.3, 0.3, (k, d, d)), 1) + np.eye(d) * rng.uniform(
        0.4, 1.2, (k, 1, d))
    if covariance_type == "tied":
        return full[0], np.broadcast_to(full[0], (k, d, d))
    if covariance_type == "diag":
        diagonal = np.diagonal(full, axis1=1, axis2=2).copy()
        return diagonal, diagonal[:, :, None] * np.eye(d)
    if covariance_type == "spherical":
        return full[:, 0, 0].copy(), full[:, 0, 0][:, None, None] * np.eye(d)
    return full, full


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_entropy_from_the_statistics_is_the_entropy_row_by_row(backend,
                                                                   covariance_type):
    # -sum_i w_i sum_k r_ik log r_ik = L - sum_k (N_k c_k - 1/2 <S2_k, U_k U_k^T>),
    # any constants c and factors U (not those of a fit): overlapping
    # components, so that the entropy is far from 0
    k, d = 4, 3
    X, _ = make_blobs(500, d, k, seed=11, spread=1.5)
    w = np.random.RandomState(12).rand(500) * 3
    c = np.random.RandomState(13).uniform(-3.0, -1.0, k)
    means = X[[0, 100, 200, 300]].copy()
    U, U_full = _factors(covariance_type, k, d, seed=14)
    pass_ = kernels.get_backend(backend, 500, d, k, covariance_type)
    stats = SufficientStats.zeros(k, d, covariance_type)
    stats.ll = pass_.accumulate(X, w, c, means, np.ascontiguousarray(U), covariance_type,
                                stats)
    ours = variational.weighted_entropy(stats, c, U, covariance_type)
    y = np.einsum("nkj,kji->nki", X[:, None, :] - means[None], U_full)
    log_p = c - 0.5 * np.sum(y**2, axis=2)
    log_r = log_p - logsumexp(log_p, axis=1)[:, None]
    direct = -np.sum(w[:, None] * np.exp(log_r) * log_r)
    assert direct > 50.0
    # the identity subtracts sums of size ~ sum_i w_i |log p_i|
    assert abs(ours - direct) < 1e-11 * np.sum(w) * 20
