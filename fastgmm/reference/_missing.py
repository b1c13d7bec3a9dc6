"""The textbook EM of rows with missing entries (NaN), one row at a time
(`fastgmm.reference`'s ``*_missing`` functions and ``impute``)."""

import math

import numpy as np

from ._common import (
    _em_loop,
    compress_covariances,
    full_covariances,
    log_gaussian_density,
    logsumexp,
)


# ------------------------------------------------- missing entries (NaN)
#
# EM with missing entries (Ghahramani & Jordan 1994), one row at a time: a
# row's responsibilities come from the marginal density of its observed
# entries o, N(x_o; m_o, C_oo); the M-step takes, per component, the
# conditional mean of the missing entries m, m_m + C_mo C_oo^-1 (x_o - m_o),
# and adds their conditional covariance C_mm - C_mo C_oo^-1 C_om to the
# scatter. A row with no observed entry has log-likelihood 0 and the weights
# as responsibilities.


def _row_log_prob_missing(x, weights, means, covs):
    """log w_k + log N(x_o | m_k,o, C_k,oo) of one row (NaN = missing)."""
    o = ~np.isnan(x)
    out = np.empty(len(weights))
    for k in range(len(weights)):
        out[k] = math.log(weights[k])
        if o.any():
            out[k] += log_gaussian_density(x[o], means[k][o], covs[k][np.ix_(o, o)])
    return out


def e_step_missing(X, weights, means, covariances, covariance_type):
    """Responsibilities and per-row log-likelihoods of the observed entries.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The samples, NaN where an entry is missing.
    weights : ndarray of shape (n_components,)
        The mixture's weights.
    means : ndarray of shape (n_components, n_features)
        The components' means.
    covariances : array-like
        The covariances, shaped by ``covariance_type``: (n_components,
        n_features, n_features) 'full', (n_features, n_features) 'tied',
        (n_components, n_features) 'diag', (n_components,) 'spherical'.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        The form of ``covariances``.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
        The responsibilities, from the marginal density of each row's
        observed entries (the weights, for a row with none observed).
    log_likelihood : ndarray of shape (n_samples,)
        The log-density of each row's observed entries (0 for a row with
        none observed).

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> X = np.array([[0.0, np.nan], [np.nan, np.nan]])
    >>> weights = np.array([0.5, 0.5])
    >>> means = np.array([[0.0, 0.0], [5.0, 5.0]])
    >>> resp, log_likelihood = reference.e_step_missing(
    ...     X, weights, means, [1.0, 1.0], "spherical")
    >>> resp.round(3)
    array([[1. , 0. ],
           [0.5, 0.5]])
    >>> log_likelihood.round(3)
    array([-1.612,  0.   ])
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    covs = full_covariances(covariances, covariance_type, len(weights), n_features)
    resp = np.empty((n_samples, len(weights)))
    log_likelihood = np.empty(n_samples)
    for i in range(n_samples):
        log_prob = _row_log_prob_missing(X[i], weights, means, covs)
        log_likelihood[i] = logsumexp(log_prob)
        resp[i] = np.exp(log_prob - log_likelihood[i])
    return resp, log_likelihood


def _conditional(x, mean, cov):
    """(completed row, conditional covariance of the missing entries placed
    in a d x d matrix) of one row under one Gaussian."""
    o = ~np.isnan(x)
    m = ~o
    completed = x.copy()
    extra = np.zeros((len(x), len(x)))
    if m.any():
        if o.any():
            gain = cov[np.ix_(m, o)] @ np.linalg.inv(cov[np.ix_(o, o)])
            completed[m] = mean[m] + gain @ (x[o] - mean[o])
            extra[np.ix_(m, m)] = cov[np.ix_(m, m)] - gain @ cov[np.ix_(o, m)]
        else:
            completed[m] = mean[m]
            extra[np.ix_(m, m)] = cov[np.ix_(m, m)]
    return completed, extra


def m_step_missing(X, resp, weights, means, covariances, covariance_type,
                   reg_covar=1e-6, sample_weight=None):
    """The M-step with missing entries, under the parameters of the E-step.

    Each row, for each component, is completed by its conditional mean; the
    scatter adds the conditional covariance of the missing entries.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The samples, NaN where an entry is missing.
    resp : ndarray of shape (n_samples, n_components)
        The responsibilities of :func:`e_step_missing`.
    weights : ndarray of shape (n_components,)
        The E-step's weights (unused: the
        new weights come from ``resp``).
    means : ndarray of shape (n_components, n_features)
        The E-step's means.
    covariances : array-like
        The E-step's covariances, shaped by ``covariance_type``: (n_components,
        n_features, n_features) 'full', (n_features, n_features) 'tied',
        (n_components, n_features) 'diag', (n_components,) 'spherical'.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        The form of ``covariances``.
    reg_covar : float, default=1e-6
        Added to the diagonal of each covariance.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples; None weighs every sample 1.

    Returns
    -------
    weights : ndarray of shape (n_components,)
        The new weights.
    means : ndarray of shape (n_components, n_features)
        The new means.
    covariances : ndarray
        The new covariances, shaped by ``covariance_type``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> X = np.array([[0.0, np.nan], [0.2, 0.0], [5.0, 5.1], [5.2, 4.9]])
    >>> resp = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> weights = np.array([0.5, 0.5])
    >>> means = np.array([[0.0, 0.0], [5.0, 5.0]])
    >>> new_weights, new_means, new_covariances = reference.m_step_missing(
    ...     X, resp, weights, means, [1.0, 1.0], "spherical")
    >>> new_means.round(3)
    array([[0.1, 0. ],
           [5.1, 5. ]])
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    n_components = resp.shape[1]
    w = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight, float)
    covs = full_covariances(covariances, covariance_type, n_components, n_features)
    counts = np.zeros(n_components)
    sums = np.zeros((n_components, n_features))
    completed = np.empty((n_samples, n_components, n_features))
    extras = np.empty((n_samples, n_components, n_features, n_features))
    for i in range(n_samples):
        for k in range(n_components):
            completed[i, k], extras[i, k] = _conditional(X[i], means[k], covs[k])
            counts[k] += w[i] * resp[i, k]
            sums[k] += w[i] * resp[i, k] * completed[i, k]
    new_means = sums / counts[:, None]
    scatter = np.zeros((n_components, n_features, n_features))
    for i in range(n_samples):
        for k in range(n_components):
            diff = completed[i, k] - new_means[k]
            scatter[k] += w[i] * resp[i, k] * (np.outer(diff, diff) + extras[i, k])
    if covariance_type == "tied":
        full = np.array([scatter.sum(axis=0) / counts.sum()] * n_components)
    else:
        full = scatter / counts[:, None, None]
    if covariance_type == "diag":
        full = np.array([np.diag(np.diag(c)) for c in full])
    elif covariance_type == "spherical":
        full = np.array([np.mean(np.diag(c)) * np.eye(n_features) for c in full])
    full = full + reg_covar * np.eye(n_features)
    return (counts / counts.sum(), new_means, compress_covariances(full, covariance_type))


def fit_missing(X, weights, means, covariances, covariance_type, *, reg_covar=1e-6,
                max_iter=100, tol=1e-3, sample_weight=None):
    """EM with missing entries (NaN) from the given initial parameters.

    As :func:`fit`, with :func:`e_step_missing` and :func:`m_step_missing`:
    the lower bound is the mean log-likelihood of the observed entries.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The training data, NaN where an entry is missing.
    weights : ndarray of shape (n_components,)
        The initial weights.
    means : ndarray of shape (n_components, n_features)
        The initial means.
    covariances : array-like
        The initial covariances, shaped by ``covariance_type``: (n_components,
        n_features, n_features) 'full', (n_features, n_features) 'tied',
        (n_components, n_features) 'diag', (n_components,) 'spherical'.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        The form of ``covariances``.
    reg_covar : float, default=1e-6
        Added to the diagonal of each covariance in the M-step.
    max_iter : int, default=100
        The largest number of iterations.
    tol : float, default=1e-3
        The convergence threshold on the gain of the mean log-likelihood.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples; None weighs every sample 1.

    Returns
    -------
    params : tuple of (weights, means, covariances)
        The parameters after the last iteration's M-step.
    lower_bounds : list of float
        The (weighted) mean log-likelihood of the observed entries at each
        iteration.
    converged : bool
        Whether the last gain was below ``tol`` (before ``max_iter``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> X = np.array([[0.0, np.nan], [0.2, 0.0], [5.0, 5.1], [np.nan, 4.9]])
    >>> params, lower_bounds, converged = reference.fit_missing(
    ...     X, np.array([0.5, 0.5]), np.array([[0.0, 0.0], [5.0, 5.0]]),
    ...     np.array([1.0, 1.0]), "spherical")
    >>> params[1].round(2)
    array([[0.1, 0. ],
           [5. , 5. ]])
    >>> converged
    True
    """
    def step(X, params, w):
        resp, log_likelihood = e_step_missing(X, *params, covariance_type)
        return (m_step_missing(X, resp, *params, covariance_type, reg_covar,
                               sample_weight=w), log_likelihood)

    return _em_loop(step, X, weights, means, covariances, max_iter, tol, sample_weight)


def impute(X, weights, means, covariances, covariance_type):
    """Replace each NaN of X by its conditional expectation under a mixture.

    The missing entries m of a row with observed entries o become
    ``E[x_m | x_o] = sum_k r_k(x_o) (m_k,m + C_k,mo C_k,oo^-1 (x_o - m_k,o))``,
    with ``r_k(x_o)`` the responsibilities of the observed entries.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The samples, NaN where an entry is missing.
    weights : ndarray of shape (n_components,)
        The mixture's weights.
    means : ndarray of shape (n_components, n_features)
        The components' means.
    covariances : array-like
        The covariances, shaped by ``covariance_type``: (n_components,
        n_features, n_features) 'full', (n_features, n_features) 'tied',
        (n_components, n_features) 'diag', (n_components,) 'spherical'.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        The form of ``covariances``.

    Returns
    -------
    X_imputed : ndarray of shape (n_samples, n_features)
        A float64 copy of X with its missing entries filled.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> X = np.array([[1.0, np.nan], [np.nan, 2.0]])
    >>> covariances = np.array([[[1.0, 0.5], [0.5, 1.0]]])
    >>> reference.impute(X, np.array([1.0]), np.array([[0.0, 0.0]]), covariances, "full")
    array([[1. , 0.5],
           [1. , 2. ]])
    """
    X = np.asarray(X, dtype=np.float64)
    n_features = X.shape[1]
    covs = full_covariances(covariances, covariance_type, len(weights), n_features)
    resp, _ = e_step_missing(X, weights, means, covariances, covariance_type)
    out = X.copy()
    for i in range(len(X)):
        if np.isnan(X[i]).any():
            out[i] = sum(resp[i, k] * _conditional(X[i], means[k], covs[k])[0]
                         for k in range(len(weights)))
    return out
