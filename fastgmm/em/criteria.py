"""Information criteria of a fitted mixture: the one home of their formulas
and of the sums behind them.

``log_likelihood`` is the total (not the mean) log-likelihood of the rows,
``n_parameters`` the model's free parameters (`em.covariance.n_parameters`).
Lower is better for all three. The search, ``fastgmm fit`` and ``fit --dask``
add the rows' log-likelihoods and `entropy` block by block, in row order,
then call `report`.
"""

import math


def bic(log_likelihood, n_parameters, n_samples):
    """Bayesian information criterion, ``-2 log L + p log n``."""
    return -2.0 * log_likelihood + n_parameters * math.log(n_samples)


def aic(log_likelihood, n_parameters):
    """Akaike information criterion, ``-2 log L + 2 p``."""
    return -2.0 * log_likelihood + 2.0 * n_parameters


def icl(log_likelihood, n_parameters, n_samples, entropy):
    """Integrated completed likelihood: BIC plus twice the entropy of the
    responsibilities, ``-sum_i sum_k r_ik log r_ik``."""
    return bic(log_likelihood, n_parameters, n_samples) + 2.0 * entropy


def entropy(resp):
    """``-sum_i sum_k r_ik log r_ik`` of a block of responsibilities, in
    float64 (0 log 0 = 0)."""
    import numpy as np

    resp = np.asarray(resp, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -float(np.sum(np.where(resp > 0, resp * np.log(resp), 0.0)))


def report(log_likelihood, n_parameters, n_samples, entropy=None):
    """{log_likelihood, n_parameters, bic, aic[, icl]} of a fitted mixture
    (icl when the responsibilities' ``entropy`` is given)."""
    out = {"log_likelihood": log_likelihood, "n_parameters": n_parameters,
           "bic": bic(log_likelihood, n_parameters, n_samples),
           "aic": aic(log_likelihood, n_parameters)}
    if entropy is not None:
        out["icl"] = icl(log_likelihood, n_parameters, n_samples, entropy)
    return out
