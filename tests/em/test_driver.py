"""The EM driver (`fastgmm.em.driver`) against the textbook EM of
`fastgmm.reference`: the same iterations from the same start, restarts,
convergence and stepwise EM's blend."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastgmm import kernels, reference
from fastgmm.em import covariance as cov
from fastgmm.em import driver
from fastgmm.sources.rows import InMemoryRows

from ..helpers import BACKENDS, COVARIANCE_TYPES, make_blobs, random_params


def _start(X, k, covariance_type, seed):
    weights, means, covs = random_params(k, X.shape[1], covariance_type, seed=seed)
    means = X[np.random.RandomState(seed).choice(len(X), k, replace=False)]
    chol = cov.precisions_cholesky(np.asarray(covs, float), covariance_type)
    return driver.MixtureParams.from_arrays(weights, means, covs, chol), (weights, means, covs)


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_run_em_follows_the_textbook_iterations(backend_name, covariance_type):
    X, _ = make_blobs(300, 3, 3, seed=60)
    w = np.random.RandomState(61).rand(300) + 0.5
    params, textbook_start = _start(X, 3, covariance_type, seed=62)
    run = driver.run_em(kernels.get_backend(backend_name), InMemoryRows(X), w, params,
                        covariance_type=covariance_type, tol=0.0, reg_covar=1e-6,
                        max_iter=6)
    expected, bounds, _ = reference.fit(X, *textbook_start, covariance_type,
                                        max_iter=6, tol=0.0, sample_weight=w)
    assert run.n_iter == 6 and not run.converged
    assert_allclose(run.lower_bounds, bounds, rtol=1e-12)
    for got, want in zip((run.params.weights, run.params.means, run.params.covariances),
                         expected):
        assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_the_lower_bound_never_decreases_and_convergence_stops_the_run():
    X, _ = make_blobs(500, 2, 4, seed=63)
    params, _ = _start(X, 4, "full", seed=64)
    run = driver.run_em(kernels.get_backend("auto"), InMemoryRows(X), None, params,
                        covariance_type="full", tol=1e-4, reg_covar=1e-6, max_iter=500)
    assert run.converged and run.n_iter < 500
    assert np.all(np.diff(run.lower_bounds) >= -1e-12)
    assert abs(run.lower_bounds[-1] - run.lower_bounds[-2]) < 1e-4
    assert run.lower_bound == run.lower_bounds[-1]


def test_fit_keeps_the_best_of_its_restarts():
    X, _ = make_blobs(400, 2, 3, seed=65)
    starts = [_start(X, 3, "diag", seed=s)[0] for s in (66, 67, 68)]
    made = iter(starts)
    backend, rows = kernels.get_backend("auto"), InMemoryRows(X)
    best = driver.fit(backend, rows, None, initialize=lambda: next(made), n_init=3,
                      covariance_type="diag", tol=1e-3, reg_covar=1e-6, max_iter=100)
    alone = [driver.run_em(backend, rows, None, s, covariance_type="diag", tol=1e-3,
                           reg_covar=1e-6, max_iter=100).lower_bound for s in starts]
    assert best.lower_bound == max(alone)
    # max_iter=0: the start itself, no bound
    zero = driver.fit(backend, rows, None, initialize=lambda: starts[0], n_init=1,
                      covariance_type="diag", tol=1e-3, reg_covar=1e-6, max_iter=0)
    assert zero.params is starts[0] and zero.lower_bound == -np.inf


def test_a_stepwise_step_of_size_one_is_an_em_step():
    # s <- (1 - step) s + step s_hat: with step 1 the batch's statistics alone
    X, _ = make_blobs(400, 3, 2, seed=69)
    params, textbook_start = _start(X, 2, "full", seed=70)
    state = driver.StepwiseState.from_params(params, "full", 1e-6)
    new, _, mean_ll = driver.stepwise_step(kernels.get_backend("auto"), InMemoryRows(X),
                                           None, params, state, step=1.0,
                                           covariance_type="full", reg_covar=1e-6)
    expected, bounds, _ = reference.fit(X, *textbook_start, "full", max_iter=1, tol=0.0)
    assert_allclose(mean_ll, bounds[0], rtol=1e-12)
    assert_allclose(new.means, expected[1], rtol=1e-9, atol=1e-12)
    assert_allclose(new.covariances, expected[2], rtol=1e-9, atol=1e-12)
