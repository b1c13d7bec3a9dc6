"""BIC, AIC, ICL and the sums behind them (`fastgmm.em.criteria`)."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastgmm import GaussianMixture
from fastgmm.em import criteria

from ..helpers import make_blobs


def test_the_formulas():
    assert criteria.bic(-100.0, 7, 50) == 200.0 + 7 * math.log(50)
    assert criteria.aic(-100.0, 7) == 214.0
    assert criteria.icl(-100.0, 7, 50, 3.5) == 200.0 + 7 * math.log(50) + 7.0
    report = criteria.report(-100.0, 7, 50, 3.5)
    assert report == {"log_likelihood": -100.0, "n_parameters": 7,
                      "bic": criteria.bic(-100.0, 7, 50), "aic": 214.0,
                      "icl": criteria.icl(-100.0, 7, 50, 3.5)}
    assert "icl" not in criteria.report(-100.0, 7, 50)


def test_entropy_of_responsibilities_with_zeros():
    resp = np.array([[1.0, 0.0], [0.5, 0.5], [0.25, 0.75]], dtype=np.float32)
    expected = -(0.5 * math.log(0.5) * 2 + 0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert_allclose(criteria.entropy(resp), expected, rtol=1e-15)
    assert criteria.entropy(np.eye(3)) == 0.0


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_the_estimators_criteria_are_the_formulas_on_its_likelihood(covariance_type):
    X, _ = make_blobs(300, 2, 3, seed=71)
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    log_likelihood = float(np.sum(gm.score_samples(X)))
    p = gm._n_parameters()
    assert_allclose(gm.bic(X), -2 * log_likelihood + p * math.log(300), rtol=1e-12)
    assert_allclose(gm.aic(X), -2 * log_likelihood + 2 * p, rtol=1e-12)
