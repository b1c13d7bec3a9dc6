"""The M-steps of mclust's 14 models (`em.parsimonious`) against a direct
numerical maximisation of the expected complete-data log-likelihood over
each model's own parameters (scipy.optimize from several starts)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.linalg import expm
from scipy.optimize import minimize

from fastgmm.em import parsimonious as pm

K, D = 3, 3


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # many tiny LAPACK calls: BLAS threads only contend (with pytest-xdist's
    # workers, 5-10x slower)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _scatters(seed, structure):
    rng = np.random.RandomState(seed)
    w = rng.uniform(0.5, 2.0, K)
    w /= w.sum()
    A = rng.randn(K, D, D) * rng.uniform(0.5, 2.0, (K, 1, 1))
    S = A @ np.swapaxes(A, 1, 2) + 0.3 * np.eye(D)
    if structure == "diag":
        S = np.einsum("kii->ki", S).copy()
    elif structure == "spherical":
        S = np.einsum("kii->k", S) / D
    return w, S


def _full(S, structure):
    if structure == "diag":
        return np.stack([np.diag(s) for s in S])
    if structure == "spherical":
        return S[:, None, None] * np.eye(D)
    return S


def _objective(w, S_full, covariances):
    sign, log_det = np.linalg.slogdet(covariances)
    assert np.all(sign > 0)
    return float(w @ (log_det + np.einsum("kij,kji->k", S_full,
                                          np.linalg.inv(covariances))))


def _build(model, theta):
    """Covariances (K, D, D) from the model's free parameters (as many as
    mclust counts): log volumes, log shapes (summing to 0), rotations."""
    volume, shape, orientation = model
    at = 0

    def take(n):
        nonlocal at
        out = theta[at:at + n]
        at += n
        return out

    log_volume = np.repeat(take(1), K) if volume == "E" else take(K)
    if shape == "I":
        log_shape = np.zeros((K, D))
    else:
        rows = take(D - 1)[None] if shape == "E" else take(K * (D - 1)).reshape(K, D - 1)
        log_shape = np.concatenate([rows, -rows.sum(axis=1, keepdims=True)], axis=1)
        log_shape = np.broadcast_to(log_shape, (K, D))
    n_rot = D * (D - 1) // 2
    iu = np.triu_indices(D, 1)

    def rotation(values):
        skew = np.zeros((D, D))
        skew[iu] = values
        return expm(skew - skew.T)

    if orientation == "I":
        rotations = np.broadcast_to(np.eye(D), (K, D, D))
    elif orientation == "E":
        rotations = np.broadcast_to(rotation(take(n_rot)), (K, D, D))
    else:
        rotations = np.stack([rotation(take(n_rot)) for _ in range(K)])
    assert at == len(theta)
    values = np.exp(log_volume[:, None] + log_shape)
    return np.einsum("kij,kj,klj->kil", rotations, values, rotations)


@pytest.mark.parametrize("model", pm.MODELS)
@pytest.mark.parametrize("seed", [0, 1])
def test_each_m_step_maximises_the_expected_likelihood(model, seed):
    structure = pm.structure_of(model)
    w, S = _scatters(seed, structure)
    if structure == "tied":  # EEE ('tied'): the pooled scatter
        S_full = S
        got = np.broadcast_to(np.einsum("k,kij->ij", w, S), (K, D, D))
    else:
        S_full = _full(S, structure)
        got = _full(pm.constrain(w, S, model), structure)
    ours = _objective(w, S_full, got)
    n = pm.n_covariance_parameters(model, K, D)
    rng = np.random.RandomState(seed + 10)
    best = np.inf
    for _ in range(6):
        result = minimize(lambda t: _objective(w, S_full, _build(model, t)),
                          rng.randn(n) * 0.5, method="BFGS",
                          options={"gtol": 1e-10, "maxiter": 20000})
        best = min(best, result.fun)
    # no start finds a better solution than the M-step's, and it is a
    # stationary point (the optimum of its own neighbourhood)
    assert ours <= best + 1e-8 * abs(best)
    assert_allclose(ours, best, rtol=1e-7)


@pytest.mark.parametrize("model", pm.MODELS)
def test_the_constraints_hold(model):
    structure = pm.structure_of(model)
    if structure == "tied":
        return
    w, S = _scatters(5, structure)
    C = _full(pm.constrain(w, S, model), structure)
    values, vectors = np.linalg.eigh(C)
    volumes = np.exp(np.mean(np.log(values), axis=1))
    shapes = np.sort(values / volumes[:, None], axis=1)
    if model[0] == "E":
        assert_allclose(volumes, volumes[0], rtol=1e-10)
    if model[1] == "E":
        assert_allclose(shapes, np.broadcast_to(shapes[0], shapes.shape), rtol=1e-8)
    if model[1] == "I":
        assert_allclose(shapes, 1.0, rtol=1e-10)
    if model[2] == "E" and model[1] != "I":
        # one orientation: the covariances commute
        for a in C:
            for b in C:
                assert_allclose(a @ b, b @ a, atol=1e-9 * np.abs(a @ b).max())


#: R mclust 6.0.0, ``nVarParams(model, d, G)`` for the 14 models in mclust's
#: order, printed once by ``sapply(models, function(m) nVarParams(m, d, G))``.
MCLUST_N_VAR_PARAMS = {
    (1, 1): [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    (1, 3): [1, 1, 3, 3, 3, 3, 6, 6, 6, 6, 6, 6, 6, 6],
    (2, 2): [1, 2, 2, 3, 3, 4, 3, 4, 4, 5, 4, 5, 5, 6],
    (3, 3): [1, 3, 3, 5, 7, 9, 6, 8, 10, 12, 12, 14, 16, 18],
    (3, 4): [1, 3, 4, 6, 10, 12, 10, 12, 16, 18, 22, 24, 28, 30],
    (5, 3): [1, 5, 3, 7, 11, 15, 6, 10, 14, 18, 18, 22, 26, 30],
    (4, 7): [1, 4, 7, 10, 25, 28, 28, 31, 46, 49, 91, 94, 109, 112],
}


@pytest.mark.parametrize("G, d", sorted(MCLUST_N_VAR_PARAMS))
def test_parameter_counts_are_mclusts(G, d):
    assert pm.MODELS == ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE",
                         "VVE", "EEV", "VEV", "EVV", "VVV")
    got = [pm.n_covariance_parameters(m, G, d) for m in pm.MODELS]
    assert dict(zip(pm.MODELS, got)) == dict(zip(pm.MODELS, MCLUST_N_VAR_PARAMS[(G, d)]))


def test_scatters_sharing_a_null_space_are_ill_defined():
    # every component's scatter singular along one direction (rows on a plane
    # along no axis, reg_covar=0): the rotated models' M-steps are not
    # defined; VEE said so with numpy's LinAlgError("Singular matrix")
    w, S = _scatters(0, "full")
    rng = np.random.RandomState(1)
    P = np.linalg.qr(rng.randn(D, D))[0][:, :2]  # a plane, orthonormal basis
    S = np.einsum("ia,kab,jb->kij", P, P.T @ S @ P, P)
    for model in ("VEE", "EVE", "VVE"):
        with pytest.raises(ValueError, match="ill-defined empirical covariance"):
            pm.constrain(w, S, model)
