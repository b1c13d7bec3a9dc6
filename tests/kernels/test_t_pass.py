"""The Student-t pass (issue 39): the kernels' pass and posterior given
degrees of freedom (`kernels._backend`, docs/design.md "The Student-t pass")."""

import numpy as np
import pytest

from fastgmm import kernels
from fastgmm.kernels import _common
from fastgmm.sources import missing
from fastgmm.sources.rows import InMemoryRows

from ..helpers import BACKENDS


def _params(k=2, d=3, seed=0):
    rng = np.random.RandomState(seed)
    return (np.zeros(k), rng.randn(k, d), np.stack([np.eye(d)] * k))


@pytest.mark.parametrize("dof", [np.array([1.0]), np.array([1.0, np.inf]),
                                 np.array([1.0, np.nan]), np.array([1.0, 0.0]),
                                 np.array([1.0, -2.0]), np.array([1.0, 1e-320]),
                                 [1.0, 2.0], np.array([1, 2])])
def test_dof_is_checked(backend, dof):
    b = kernels.get_backend(backend)
    c, means, U = _params()
    X = np.zeros((10, 3))
    with pytest.raises(ValueError, match="dof"):
        b.accumulate(X, None, c, means, U, "full", dof=dof)
    with pytest.raises(ValueError, match="dof"):
        b.posterior(X, c, means, U, "full", log_norm=np.empty(10), dof=dof)
    with pytest.raises(ValueError, match="dof"):
        b.fit_pass(X, None, 2, "full").run(c, means, U, dof=dof)
    with pytest.raises(ValueError, match="dof"):
        b.begin_pass(10, c, means, U, "full", dof=dof)


def test_statistics_add_their_student_fields():
    a = _common.SufficientStats.zeros(2, 3, "diag", student=True)
    a.nr += 1.0
    a.tlu -= 2.0
    total = a + a
    np.testing.assert_array_equal(total.nr, [2.0, 2.0])
    np.testing.assert_array_equal(total.tlu, [-4.0, -4.0])
    gauss = _common.SufficientStats.zeros(2, 3, "diag")
    assert gauss.nr is None and gauss.tlu is None
    assert (gauss + gauss).nr is None
    with pytest.raises(ValueError, match="Gaussian"):
        a + gauss


def test_missing_values_refuse_dof():
    X = np.random.RandomState(0).randn(50, 3)
    X[3, 1] = np.nan
    rows = missing.IncompleteRows(X)
    b = kernels.get_backend(BACKENDS[0])
    c, means, U = _params()
    dof = np.array([3.0, 4.0])
    with pytest.raises(ValueError, match="Student-t family does not take missing"):
        rows.statistics(b, None, c, means, U, "full", None, dof=dof)
    with pytest.raises(ValueError, match="Student-t family does not take missing"):
        rows.posterior(b, c, means, U, "full", None, dof=dof,
                       log_norm=np.empty(50))
    with rows.passes(b, None, 2, "full", None) as passes:
        with pytest.raises(ValueError, match="Student-t family does not take missing"):
            passes.run(c, means, U, dof=dof)
    # complete rows: the Gaussian pass has no Student-t fields
    stats = InMemoryRows(X[4:]).statistics(b, None, c, means, U, "full", None)
    assert stats.nr is None and stats.tlu is None
