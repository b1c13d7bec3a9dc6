"""Per covariance type on small arrays (`fastgmm.em.covariance`): the M-step
from statistics against the textbook M-step on the rows, the precision
factors against their definition, and the pass's constants against SciPy's
density at the means."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import multivariate_normal

from fastgmm import reference
from fastgmm.em import covariance as cov
from fastgmm.kernels._common import SufficientStats

from ..helpers import COVARIANCE_TYPES, make_blobs

K, D = 3, 4


def _covariances(covariance_type, seed=0):
    """Random covariances in the type's shape, and the same as K full matrices."""
    rng = np.random.RandomState(seed)
    A = rng.randn(K, D, D)
    full = A @ A.transpose(0, 2, 1) + 0.5 * np.eye(D)
    if covariance_type == "tied":
        return full[0], np.broadcast_to(full[0], (K, D, D))
    if covariance_type == "diag":
        diagonal = np.diagonal(full, axis1=1, axis2=2).copy()
        return diagonal, diagonal[:, :, None] * np.eye(D)
    if covariance_type == "spherical":
        variances = rng.uniform(0.5, 3.0, K)
        return variances, variances[:, None, None] * np.eye(D)
    return full, full


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_the_m_step_from_statistics_is_the_textbook_m_step(covariance_type, weighted):
    # statistics around centers far from the means, as a pass gives them
    X, _ = make_blobs(400, D, K, seed=5, offset=30.0)
    resp = np.random.RandomState(6).dirichlet(np.ones(K), size=400)
    w = np.random.RandomState(7).uniform(0.2, 3.0, 400) if weighted else np.ones(400)
    centers = X[:K] + 1.0
    wr = w[:, None] * resp
    z = X[None, :, :] - centers[:, None, :]  # (K, n, D)
    s2 = np.einsum("kn,kni,knj->kij", wr.T, z, z)
    s2 = {"full": s2, "tied": s2.sum(axis=0),
          "diag": np.diagonal(s2, axis1=1, axis2=2).copy(),
          "spherical": np.trace(s2, axis1=1, axis2=2)}[covariance_type]
    stats = SufficientStats(wr.sum(axis=0), np.einsum("kn,kni->ki", wr.T, z), s2)
    weights, means, covariances = cov.m_step(stats, centers, 1e-6, covariance_type,
                                             eps=0.0)
    expected = reference.m_step(X, resp, covariance_type, 1e-6,
                                sample_weight=w if weighted else None)
    assert_allclose(weights, expected[0], rtol=1e-12)
    assert_allclose(means, expected[1], rtol=1e-12)
    assert_allclose(covariances, expected[2], rtol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_precision_factors_are_upper_triangular_square_roots_of_the_precisions(
        covariance_type):
    stored, full = _covariances(covariance_type)
    U = cov.precisions_cholesky(stored, covariance_type)
    if covariance_type == "tied":
        U_full = np.broadcast_to(U, (K, D, D))
    elif covariance_type == "diag":
        U_full = U[:, :, None] * np.eye(D)
    elif covariance_type == "spherical":
        U_full = U[:, None, None] * np.eye(D)
    else:
        U_full = U
    for k in range(K):
        assert_allclose(U_full[k] @ U_full[k].T, np.linalg.inv(full[k]),
                        rtol=1e-10, atol=1e-12)
        assert_allclose(np.tril(U_full[k], -1), 0.0)
        assert np.all(np.diag(U_full[k]) > 0)
    assert_allclose(cov.covariances_from_cholesky(U, covariance_type), stored,
                    rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_pass_constants_are_the_log_weight_plus_the_log_density_at_the_mean(
        covariance_type):
    # c_k = log w_k + log det U_k - d/2 log 2 pi = log w_k + log N(m_k; m_k, S_k)
    stored, full = _covariances(covariance_type, seed=1)
    weights = np.array([0.2, 0.3, 0.5])
    U = cov.precisions_cholesky(stored, covariance_type)
    c = cov.log_prob_constants(weights, U, covariance_type, D)
    means = np.random.RandomState(2).randn(K, D)
    expected = [np.log(weights[k]) + multivariate_normal(means[k], full[k]).logpdf(means[k])
                for k in range(K)]
    assert_allclose(c, expected, rtol=1e-13)
