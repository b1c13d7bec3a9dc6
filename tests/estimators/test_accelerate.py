"""accelerate='squarem' (issue 40, item 2): SQUAREM's extrapolated EM steps
with a monotonicity safeguard."""

import warnings

import numpy as np
import pytest

from fastgmm import GaussianMixture, StudentTMixture
from fastgmm.em import accelerate as _accelerate

from ..helpers import COVARIANCE_TYPES, make_blobs


def _fit(cls, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(**params).fit(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_bounds_never_drop_and_the_optimum_is_plain_ems(covariance_type, backend):
    X, _ = make_blobs(1500, 3, 4, seed=11)
    common = dict(n_components=4, covariance_type=covariance_type, random_state=0,
                  tol=1e-9, max_iter=3000, reg_covar=0.0, backend=backend)
    plain = _fit(GaussianMixture, X, **common)
    fast = _fit(GaussianMixture, X, accelerate="squarem", **common)
    assert fast.converged_
    # every recorded bound is the log-likelihood of a pass's parameters, and
    # the safeguard keeps them from dropping
    assert np.all(np.diff(fast.lower_bounds_) >= -1e-12)
    # the same optimum (from the same start), in no more passes
    assert fast.lower_bound_ >= plain.lower_bound_ - 1e-7
    np.testing.assert_allclose(fast.means_, plain.means_, atol=1e-3)
    assert fast.n_iter_ <= plain.n_iter_
    # the fitted model is a model: its score is its bound's parameters' one
    assert np.isfinite(fast.score(X))


def test_student_t_with_estimated_dof():
    rng = np.random.RandomState(3)
    X = np.vstack([rng.standard_t(4, size=(800, 2)),
                   rng.standard_t(4, size=(800, 2)) + [7, 2]])
    common = dict(n_components=2, random_state=0, tol=1e-9, max_iter=3000,
                  backend="numba")
    plain = _fit(StudentTMixture, X, **common)
    fast = _fit(StudentTMixture, X, accelerate="squarem", **common)
    assert np.all(np.diff(fast.lower_bounds_) >= -1e-12)
    assert fast.lower_bound_ >= plain.lower_bound_ - 1e-7
    np.testing.assert_allclose(np.sort(fast.dof_), np.sort(plain.dof_), rtol=1e-2)
    assert np.all((fast.dof_ >= 1.0) & (fast.dof_ <= 200.0))
    assert fast.n_iter_ < plain.n_iter_


def test_max_iter_counts_passes():
    X, _ = make_blobs(500, 2, 3, seed=12)
    model = _fit(GaussianMixture, X, n_components=3, random_state=0, tol=0.0,
                 max_iter=7, accelerate="squarem")
    assert model.n_iter_ == 7 and not model.converged_
    assert len(model.lower_bounds_) <= 7


@pytest.mark.parametrize("params", [
    dict(covariance_type="VEV"),
    dict(noise=True),
])
def test_refused_where_it_does_not_apply(params):
    X, _ = make_blobs(300, 2, 2, seed=13)
    with pytest.raises(ValueError, match="accelerate"):
        GaussianMixture(2, accelerate="squarem", **params).fit(X)


def test_a_bad_value_is_refused():
    X, _ = make_blobs(100, 2, 2, seed=14)
    with pytest.raises(ValueError, match="accelerate"):
        GaussianMixture(2, accelerate="anderson").fit(X)


def test_a_jump_out_of_the_domain_is_dropped():
    """Weights or variances extrapolated below 0: no parameters (the cycle
    then keeps the plain EM iterate)."""
    from fastgmm.em.family import MixtureParams
    from fastgmm.em.structure import structure

    diag = structure("diag")

    def params(weights, variances):
        weights, variances = np.array(weights), np.array(variances)
        return MixtureParams.from_arrays(weights, np.zeros((2, 1)), variances,
                                         1 / np.sqrt(variances))

    theta0 = params([0.5, 0.5], [[1.0], [1.0]])  # a straight path: v = 0
    theta1 = params([0.4, 0.6], [[0.8], [1.0]])
    theta2 = params([0.3, 0.7], [[0.6], [1.0]])
    assert _accelerate.extrapolate(theta0, theta1, theta2, -4.0, diag, False) is None
    ok = _accelerate.extrapolate(theta0, theta1, theta2, -1.0, diag, False)
    np.testing.assert_allclose(ok.weights, theta2.weights)
    np.testing.assert_allclose(ok.covariances, theta2.covariances)
    assert _accelerate.step_length(theta0, theta1, theta2) <= -1.0
