"""The t family (`em.student`) against the textbook t-mixture EM
(`fastgmm.reference.fit_student` and its steps): its constants, its M-step
from the pass's statistics (computed here row by row from the reference's
E-step), the degrees of freedom, the parameter counts, and the M-step of
every structure from scatters and counts."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import special

from fastgmm import reference
from fastgmm._constants import COVARIANCE_TYPES, MCLUST_MODELS
from fastgmm.em import covariance as cov
from fastgmm.em import student
from fastgmm.em.structure import structure

STRUCTURES = list(COVARIANCE_TYPES) + [m for m in MCLUST_MODELS
                                       if m not in ("VVV", "EEE", "VVI", "VII")]
K, D = 3, 3


@pytest.fixture(autouse=True)
def _one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _data(seed=0, n=60):
    rng = np.random.RandomState(seed)
    X = rng.standard_t(4, size=(n, D))
    X[: n // 3] += 4.0
    X[n // 3: 2 * n // 3] -= 3.0
    w = rng.uniform(0.2, 2.0, n)
    return X, w


def _params(name, seed=0):
    """Valid initial parameters of a structure: the reference's M-step from a
    random scatter."""
    rng = np.random.RandomState(seed + 1)
    A = rng.randn(K, D, D)
    counts = rng.uniform(5.0, 20.0, K)
    scatter = (A @ np.swapaxes(A, 1, 2) + 0.5 * np.eye(D)) * counts[:, None, None]
    covariances = reference.covariances_from_scatter(scatter, counts, name, 0.0)
    weights = counts / counts.sum()
    means = rng.randn(K, D) * 3.0
    return weights, means, covariances, np.array([3.0, 12.0, 40.0])


def _pass_statistics(X, w, params, name):
    """What the t pass returns, row by row from the reference's E-step."""
    weights, means, covariances, dof = params
    resp, u, log_likelihood = reference.e_step_student(X, weights, means, covariances,
                                                       dof, name)
    storage = structure(name).storage
    nk, s1, s2 = reference.sufficient_statistics(X, resp * u, means, storage, w)
    r = w[:, None] * resp
    return SimpleNamespace(nk=nk, s1=s1, s2=s2, ll=float(w @ log_likelihood),
                           nr=r.sum(axis=0), tlu=np.sum(r * (np.log(u) - u), axis=0)), \
        (resp, u)


def _family_params(name, weights, means, covariances, dof):
    s = structure(name)
    return student.StudentParams.from_arrays(
        weights, means, covariances, s.precisions_cholesky(np.asarray(covariances)), dof)


@pytest.mark.parametrize("name", STRUCTURES)
@pytest.mark.parametrize("dof", ["component", "shared", 7.5])
def test_the_m_step_is_the_references(name, dof):
    X, w = _data()
    weights, means, covariances, nu = _params(name)
    if dof == "shared":
        nu = np.full(K, 9.0)
    elif not isinstance(dof, str):
        nu = np.full(K, dof)
    stats, (resp, u) = _pass_statistics(X, w, (weights, means, covariances, nu), name)
    family = student.student_family(dof)(structure(name))
    new = family.maximization(stats, _family_params(name, weights, means, covariances, nu),
                              1e-4, np.finfo(np.float64).eps, False)
    mode = dof if isinstance(dof, str) else "fixed"
    expected = reference.m_step_student(X, resp, u, name, nu, dof_mode=mode,
                                        reg_covar=1e-4, sample_weight=w,
                                        previous=covariances)
    # (EVE's and VVE's orientation stops on the objective's change: ~1e-7)
    rtol = 2e-6 if name in ("EVE", "VVE") else 1e-9
    assert_allclose(new.weights, expected[0], rtol=1e-12)
    assert_allclose(new.means, expected[1], rtol=1e-10, atol=1e-12)
    assert_allclose(new.covariances, expected[2], rtol=rtol,
                    atol=rtol * np.max(np.abs(expected[2])))
    assert_allclose(new.dof, expected[3], rtol=1e-10)
    assert new.covariances.shape == structure(name).shape(K, D)
    s = structure(name)
    product = s.expand(new.covariances, K, D) @ s.expand(
        s.precisions(new.precisions_cholesky), K, D)
    assert_allclose(product, np.broadcast_to(np.eye(D), product.shape), atol=1e-10)


@pytest.mark.parametrize("name", ["full", "tied", "diag", "spherical", "VEV"])
def test_the_constants_give_the_t_log_density(name):
    X, _ = _data(1, n=10)
    weights, means, covariances, nu = _params(name, 1)
    # (the reference's log Gamma differences lose ~eps log Gamma(nu/2): small nu)
    nu = np.array([0.3, 5.0, 2000.0])
    s = structure(name)
    params = _family_params(name, weights, means, covariances, nu)
    c = student.StudentT(s).log_prob_constants(params)
    U = params.precisions_cholesky
    for i in range(len(X)):
        for k in range(K):
            delta = float(np.sum(s.whiten(X[i] - means[k], U, k) ** 2))
            ours = c[k] - 0.5 * (nu[k] + D) * math.log1p(delta / nu[k])
            log_density, ref_delta = reference.log_t_density(
                X[i], means[k], s.expand(covariances, K, D)[k], nu[k])
            assert_allclose(delta, ref_delta, rtol=1e-10)
            assert_allclose(ours, math.log(weights[k]) + log_density, rtol=1e-12)


def test_the_constants_of_a_large_dof_are_the_gaussians():
    s = structure("full")
    weights, means, covariances, _ = _params("full")
    gaussian = s.log_prob_constants(weights, s.precisions_cholesky(covariances), D)
    params = _family_params("full", weights, means, covariances, np.full(K, 1e12))
    c = student.StudentT(s).log_prob_constants(params)
    # log Gamma((nu+d)/2) - log Gamma(nu/2) - d/2 log(nu/2) = d(d-2)/(4 nu) + ...
    rounding = 4 * np.finfo(float).eps * np.max(np.abs(c))
    assert_allclose(c - gaussian, D * (D - 2) / 4e12, rtol=0, atol=rounding)


def test_the_dof_equation_root():
    # a root of the equation, and its clipping to [1, 200]
    d = 2
    for mean_term, nu in [(-1.05, 5.0), (-1.3, 2.0), (-1.001, 100.0)]:
        constant = 1.0 + mean_term + special.digamma((nu + d) / 2) - math.log((nu + d) / 2)
        root = student.dof_root(constant)
        assert_allclose(root, reference.dof_root(mean_term, nu, d), rtol=1e-12)
        if 1.0 < root < 200.0:
            assert abs(constant - special.digamma(root / 2) + math.log(root / 2)) < 1e-12
    assert student.dof_root(-5.0) == 1.0
    assert student.dof_root(1e-9) == 200.0


def test_a_component_without_weight_keeps_its_dof():
    stats = SimpleNamespace(nr=np.array([5.0, 0.0]), tlu=np.array([-6.0, 0.0]))
    params = SimpleNamespace(dof=np.array([4.0, 17.0]), means=np.zeros((2, 2)))
    new = student.StudentT(structure("full")).update_dof(stats, params, 1e-16)
    assert new[1] == 17.0 and 1.0 <= new[0] <= 200.0


@pytest.mark.parametrize("name, covariance_parameters", [
    ("full", K * D * (D + 1) // 2), ("tied", D * (D + 1) // 2), ("diag", K * D),
    ("spherical", K), ("EEE", D * (D + 1) // 2), ("EVE", 1 + K * (D - 1) + 3),
    ("VEV", K + D - 1 + K * 3), ("EII", 1)])
def test_the_parameter_counts(name, covariance_parameters):
    gaussian = covariance_parameters + K * D + K - 1
    s = structure(name)
    assert student.StudentT.n_parameters(s, K, D) == gaussian + K
    assert student.StudentTShared.n_parameters(s, K, D) == gaussian + 1
    assert student.StudentTFixed.n_parameters(s, K, D) == gaussian


@pytest.mark.parametrize("name", STRUCTURES)
def test_the_structures_m_step_from_scatter_is_the_references(name):
    weights, means, _, _ = _params(name)
    rng = np.random.RandomState(3)
    A = rng.randn(K, D, D)
    counts = rng.uniform(2.0, 30.0, K)
    full = A @ np.swapaxes(A, 1, 2) + 0.2 * np.eye(D)
    s = structure(name)
    storage_scatter = {"full": full, "tied": full.sum(axis=0),
                       "diag": np.einsum("kii->ki", full),
                       "spherical": np.einsum("kii->k", full)}[s.storage]
    got_weights, got = s.m_step_scatter(storage_scatter, counts, means, 1e-3, 0.0)
    expected = reference.covariances_from_scatter(full, counts, name, 1e-3)
    assert_allclose(got_weights, counts / counts.sum(), rtol=1e-14)
    rtol = 2e-6 if name in ("EVE", "VVE") else 1e-12
    assert_allclose(got, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected)))


def test_shift_scatter_moves_the_u_weighted_scatter():
    X, w = _data(2)
    rng = np.random.RandomState(0)
    a = rng.uniform(0.1, 1.0, (len(X), 2))
    centers = rng.randn(2, D)
    nk, s1, s2 = reference.sufficient_statistics(X, a, centers, "full", w)
    delta = s1 / nk[:, None]
    _, _, around_means = reference.sufficient_statistics(X, a, centers + delta, "full", w)
    assert_allclose(cov.shift_scatter(s2, nk, delta, "full"), around_means, rtol=1e-10)
