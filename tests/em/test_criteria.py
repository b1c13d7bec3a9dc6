"""BIC, AIC, ICL and the sums behind them (`fastgmm.em.criteria`), against
numbers worked out by hand and parameter counts from outside fastgmm: R
mclust's ``nMclustParams`` for its 14 models and scikit-learn's
``GaussianMixture._n_parameters`` for the four covariance types."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from fastgmm import GaussianMixture
from fastgmm._constants import MCLUST_MODELS
from fastgmm.em import criteria

from ..helpers import make_blobs, quiet_fit

#: R mclust 6.0.0, ``nMclustParams(model, d, G)`` for the 14 models in
#: mclust's order (`MCLUST_MODELS`), printed once by
#: ``sapply(models, function(m) nMclustParams(m, d, G))``.
MCLUST_N_PARAMETERS = {
    (1, 1): [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2],
    (1, 3): [4, 4, 6, 6, 6, 6, 9, 9, 9, 9, 9, 9, 9, 9],
    (2, 2): [6, 7, 7, 8, 8, 9, 8, 9, 9, 10, 9, 10, 10, 11],
    (3, 2): [9, 11, 10, 12, 12, 14, 11, 13, 13, 15, 13, 15, 15, 17],
    (3, 4): [15, 17, 18, 20, 24, 26, 24, 26, 30, 32, 36, 38, 42, 44],
    (5, 3): [20, 24, 22, 26, 30, 34, 25, 29, 33, 37, 37, 41, 45, 49],
    (4, 7): [32, 35, 38, 41, 56, 59, 59, 62, 77, 80, 122, 125, 140, 143],
}
#: The same with ``noise = TRUE`` (one uniform noise component).
MCLUST_N_PARAMETERS_NOISE = {
    (2, 2): [8, 9, 9, 10, 10, 11, 10, 11, 11, 12, 11, 12, 12, 13],
    (3, 4): [17, 19, 20, 22, 26, 28, 26, 28, 32, 34, 38, 40, 44, 46],
}
#: scikit-learn 1.9.1, ``GaussianMixture(G, covariance_type=t)._n_parameters()``
#: with ``means_`` of shape (G, d), for full, tied, diag, spherical.
SKLEARN_N_PARAMETERS = {
    (1, 1): [2, 2, 2, 2],
    (1, 3): [9, 9, 6, 4],
    (2, 2): [11, 8, 9, 7],
    (3, 2): [17, 11, 14, 11],
    (3, 4): [44, 24, 26, 17],
    (5, 3): [49, 25, 34, 24],
    (4, 7): [143, 59, 59, 35],
}
SKLEARN_TYPES = ("full", "tied", "diag", "spherical")


def test_the_formulas_on_numbers_worked_by_hand():
    # log L = -100, p = 7, n = 50: ln 50 = ln 2 + 2 ln 5 = 3.912023005428146,
    # 7 ln 50 = 27.38416103799702; entropy 3.5
    assert criteria.bic(-100.0, 7, 50) == pytest.approx(227.38416103799702, rel=1e-15)
    assert criteria.aic(-100.0, 7) == 214.0
    assert criteria.icl(-100.0, 7, 50, 3.5) == pytest.approx(234.38416103799702,
                                                             rel=1e-15)
    report = criteria.report(-100.0, 7, 50, 3.5)
    assert report == pytest.approx({"log_likelihood": -100.0, "n_parameters": 7,
                                    "bic": 227.38416103799702, "aic": 214.0,
                                    "icl": 234.38416103799702}, rel=1e-15)
    assert "icl" not in criteria.report(-100.0, 7, 50)


def test_entropy_of_responsibilities_with_zeros():
    # rows (1, 0), (1/2, 1/2), (1/4, 3/4): 0 + ln 2 + (1/4 ln 4 + 3/4 ln 4/3)
    # = 0.6931471805599453 + 0.3465735902799727 + 0.2157615543388357
    resp = np.array([[1.0, 0.0], [0.5, 0.5], [0.25, 0.75]], dtype=np.float32)
    assert criteria.entropy(resp) == pytest.approx(1.2554823251787535, rel=1e-15)
    assert criteria.entropy(np.eye(3)) == 0.0


@pytest.mark.parametrize("G, d", sorted(MCLUST_N_PARAMETERS))
def test_parameter_counts_are_mclusts_and_scikit_learns(G, d):
    X, _ = make_blobs(max(40, 8 * G), d, G, seed=G + d)
    models = list(MCLUST_MODELS) + list(SKLEARN_TYPES)
    expected = MCLUST_N_PARAMETERS[(G, d)] + SKLEARN_N_PARAMETERS[(G, d)]
    got = [quiet_fit(GaussianMixture(G, covariance_type=m, max_iter=2, random_state=0),
                     X)._n_parameters() for m in models]
    assert dict(zip(models, got)) == dict(zip(models, expected))


@pytest.mark.parametrize("G, d", sorted(MCLUST_N_PARAMETERS_NOISE))
def test_parameter_counts_with_noise_are_mclusts(G, d):
    X, _ = make_blobs(60, d, G, seed=7)
    got = [quiet_fit(GaussianMixture(G, covariance_type=m, noise=True, max_iter=2,
                                     random_state=0), X)._n_parameters()
           for m in MCLUST_MODELS]
    assert dict(zip(MCLUST_MODELS, got)) == dict(zip(MCLUST_MODELS,
                                                     MCLUST_N_PARAMETERS_NOISE[(G, d)]))


def _full_covariances(covariances, model, G, d):
    """Any stored shape as G full d x d matrices (by hand, not fastgmm's)."""
    c = np.asarray(covariances, dtype=np.float64)
    if c.ndim == 1:  # spherical
        return c[:, None, None] * np.eye(d)
    if c.ndim == 2 and c.shape == (G, d) and not (G == d and model in ("tied", "EEE")):
        return np.stack([np.diag(row) for row in c])
    if c.ndim == 2:  # tied
        return np.broadcast_to(c, (G, d, d))
    return c


@pytest.mark.parametrize("model", ["full", "spherical", "VEI", "EEE", "EVV"])
def test_the_estimators_criteria_are_the_formulas_on_a_likelihood_computed_apart(model):
    # log L from the fitted parameters with SciPy's densities, p from the
    # tables above: nothing taken from the estimator but its parameters
    X, _ = make_blobs(300, 2, 3, seed=71)
    gm = quiet_fit(GaussianMixture(3, covariance_type=model, random_state=0), X)
    full = _full_covariances(gm.covariances_, model, 3, 2)
    log_p = np.column_stack([np.log(gm.weights_[k])
                             + multivariate_normal(gm.means_[k], full[k]).logpdf(X)
                             for k in range(3)])
    log_likelihood = float(np.sum(logsumexp(log_p, axis=1)))
    table = (SKLEARN_N_PARAMETERS[(3, 2)], SKLEARN_TYPES) if model in SKLEARN_TYPES \
        else (MCLUST_N_PARAMETERS[(3, 2)], MCLUST_MODELS)
    p = dict(zip(table[1], table[0]))[model]
    assert gm.bic(X) == pytest.approx(-2 * log_likelihood + p * np.log(300), rel=1e-10)
    assert gm.aic(X) == pytest.approx(-2 * log_likelihood + 2 * p, rel=1e-10)
