"""mclust's 14 models against R's mclust itself: its ``me()`` (EM from given
responsibilities) on iris, faithful and a simulated set, run to convergence
(``tests/fixtures/mclust/make_fixtures.R`` made the fixture), and fastgmm's
EM from the same first M-step."""

import json
import pathlib
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

from fastgmm import GaussianMixture
from fastgmm.em import covariance as cov
from fastgmm.em import init as _init
from fastgmm.em import parsimonious as pm

FIXTURE = pathlib.Path(__file__).parent.parent / "fixtures" / "mclust" / "mclust_me.json"
DATA = json.loads(FIXTURE.read_text())["data"]


def _first_m_step(X, labels, k, model, noise=False):
    """The M-step on hard labels (mclust's me() starts with it; label 0: the
    noise), as the initial parameters of a GaussianMixture."""
    structure = pm.structure_of(model)
    if noise and structure == "tied":  # (stored as 'full' with a noise component)
        structure = "full"
    weights, means, covariances = _init._from_labels(
        X, None, np.asarray(labels) - 1, k, structure, 0.0)
    covariances = pm.constrain(weights, covariances, model)
    chol = cov.precisions_cholesky(covariances, structure)
    return dict(weights_init=weights, means_init=means,
                precisions_init=cov.precisions_from_cholesky(chol, structure))


def _fit(name, model):
    """fastgmm from the first M-step, as many iterations as mclust's (its
    count includes the first M-step)."""
    data = DATA[name]
    X = np.asarray(data["X"], dtype=np.float64)
    k = len(set(data["labels"]))
    expected = data["fits"][model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = GaussianMixture(k, covariance_type=model, reg_covar=0.0, tol=0.0,
                                 max_iter=expected["n_iter"] - 1,
                                 **_first_m_step(X, data["labels"], k, model)).fit(X)
    return X, fitted, expected


def _vve_as_mclust(w, S, previous, backend=None):
    """mclust's VVE M-step (its Fortran ``mevve``): the common orientation's
    MM steps weigh each component's scatter by its unit-determinant shape
    alone, without its volume, so it is not the M-step's optimum unless the
    volumes are equal. fastgmm's VVE is the exact M-step
    (tests/em/test_parsimonious.py); this is only to show that the rule is
    the whole difference."""
    d = S.shape[-1]
    D = pm._start_orientation(w, S, previous)
    alpha = np.linalg.eigvalsh(S)[:, -1]
    objective = np.inf
    for _ in range(pm.INNER_MAX_ITER):
        diag = np.einsum("ji,kjl,li->ki", D, S, D)
        shape = diag / np.exp(np.mean(np.log(diag), axis=1))[:, None]
        new = float(w @ np.sum(diag / shape, axis=1))
        if pm._converged(objective, new):
            break
        objective = new
        G = np.einsum("k,kij,jl,kl->il", w, alpha[:, None, None] * np.eye(d) - S, D,
                      1.0 / shape)
        u, _, vt = np.linalg.svd(G)
        D = u @ vt
    diag = np.einsum("ji,kjl,li->ki", D, S, D)
    return np.einsum("ij,kj,lj->kil", D, diag, D)


@pytest.mark.parametrize("name", sorted(DATA))
def test_vve_differs_from_mclust_by_its_orientation_rule(name, monkeypatch):
    X, fitted, expected = _fit(name, "VVE")
    # the exact M-step: at least mclust's likelihood after as many iterations
    assert fitted.score(X) * len(X) >= expected["loglik"] - 1e-9 * abs(expected["loglik"])
    monkeypatch.setitem(pm._M_STEPS, "VVE", _vve_as_mclust)
    X, as_mclust, expected = _fit(name, "VVE")
    assert_allclose(as_mclust.score(X) * len(X), expected["loglik"], rtol=1e-7)
    assert_allclose(as_mclust.means_, expected["means"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("model", [m for m in pm.MODELS if m != "VVE"])
@pytest.mark.parametrize("name", sorted(DATA))
def test_em_matches_mclust(name, model):
    X, fitted, expected = _fit(name, model)
    n, d = X.shape
    k = fitted.n_components
    assert fitted._n_parameters() == expected["n_parameters"]
    log_likelihood = fitted.score(X) * n
    assert_allclose(log_likelihood, expected["loglik"], rtol=1e-8)
    assert_allclose(-fitted.bic(X), expected["bic"], rtol=1e-8)
    assert_allclose(fitted.weights_, expected["weights"], rtol=1e-6, atol=1e-9)
    assert_allclose(fitted.means_, expected["means"], rtol=1e-6, atol=1e-8)
    full = cov.expand(fitted.covariances_, pm.structure_of(model), k, d)
    scale = np.max(np.abs(full))
    assert_allclose(full, np.asarray(expected["covariances"]).reshape(k, d, d),
                    rtol=1e-6, atol=1e-7 * scale)


@pytest.mark.parametrize("name", sorted(DATA))
def test_bic_ranks_the_models_as_mclust(name):
    ours, theirs = {}, {}
    for model in [m for m in pm.MODELS if m != "VVE"]:
        X, fitted, expected = _fit(name, model)
        ours[model] = fitted.bic(X)
        theirs[model] = -expected["bic"]
    assert sorted(ours, key=ours.get) == sorted(theirs, key=theirs.get)


NOISE = json.loads(FIXTURE.read_text())["noise"]


def test_noise_volume_is_mclusts_hypvol():
    from fastgmm.em.noise import hypervolume

    X = np.asarray(NOISE["X"])
    assert_allclose(hypervolume(lambda: iter([(X[:100], None), (X[100:], None)])),
                    NOISE["volume"], rtol=1e-12)
    fitted = GaussianMixture(2, noise=True, random_state=0).fit(X)
    assert_allclose(fitted.noise_volume_, NOISE["volume"], rtol=1e-12)


@pytest.mark.parametrize("model", [m for m in pm.MODELS if m != "VVE"])
def test_noise_component_matches_mclust(model):
    X = np.asarray(NOISE["X"], dtype=np.float64)
    labels = np.asarray(NOISE["labels"])
    expected = NOISE["fits"][model]
    start = _first_m_step(X, np.where(labels == 3, 0, labels), 2, model, noise=True)
    # the first M-step's weights: over all rows, the noise's last
    start["weights_init"] = np.append(start["weights_init"], np.mean(labels == 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = GaussianMixture(2, covariance_type=model, noise=True, reg_covar=0.0,
                                 tol=0.0, max_iter=expected["n_iter"] - 1,
                                 **start).fit(X)
    assert fitted._n_parameters() == expected["n_parameters"]
    assert_allclose(fitted.score(X) * len(X), expected["loglik"], rtol=1e-8)
    assert_allclose(np.append(fitted.weights_, fitted.noise_weight_),
                    expected["weights"], rtol=1e-6, atol=1e-9)
    assert_allclose(fitted.means_, expected["means"], rtol=1e-6, atol=1e-8)
    full = fitted._fitted_spec.structure.expand(fitted.covariances_, 2, 2)
    assert_allclose(full, np.asarray(expected["covariances"]).reshape(2, 2, 2),
                    rtol=1e-6, atol=1e-8)
