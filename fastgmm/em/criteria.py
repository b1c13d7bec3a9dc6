"""Information criteria of a fitted mixture: the one home of their formulas.

``log_likelihood`` is the total (not the mean) log-likelihood of the rows,
``n_parameters`` the model's free parameters (`em.covariance.n_parameters`).
Lower is better for all three.
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
