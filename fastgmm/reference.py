"""The textbook EM for Gaussian mixtures, written to be read, not to be fast.

This module is the oracle of fastgmm's tests and the slow end of its
benchmarks. It loops over points and components, works with plain
covariance matrices (every covariance type is expanded to full d x d
matrices), and keeps only the two numerical safeguards that any correct EM
needs: log-sum-exp by the max-shift, and ``reg_covar`` on the diagonal.

Examples
--------
>>> import numpy as np
>>> from fastgmm import reference
>>> X = np.array([[0.0, 0.1], [0.2, 0.0], [5.0, 5.1], [5.2, 4.9]])
>>> weights, means, covs = reference.m_step(
...     X, np.array([[1, 0], [1, 0], [0, 1], [0, 1]]), "full", reg_covar=1e-6)
>>> means
array([[0.1 , 0.05],
       [5.1 , 5.  ]])
"""

import math

import numpy as np

__all__ = [
    "full_covariances",
    "log_gaussian_density",
    "estimate_log_prob",
    "logsumexp",
    "e_step",
    "m_step",
    "sufficient_statistics",
    "fit",
    "e_step_missing",
    "m_step_missing",
    "fit_missing",
    "impute",
]


def full_covariances(covariances, covariance_type, n_components, n_features):
    """Expand covariances of any type to an array of k full d x d matrices.

    Parameters
    ----------
    covariances : array-like
        The covariances, shaped by ``covariance_type``: (n_components,
        n_features, n_features) 'full', (n_features, n_features) 'tied',
        (n_components, n_features) 'diag', (n_components,) 'spherical'.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        The form of ``covariances``.
    n_components : int
        The number of components k.
    n_features : int
        The number of features d.

    Returns
    -------
    full : ndarray of shape (n_components, n_features, n_features)
        Each component's covariance matrix, in float64 (a copy).

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> reference.full_covariances(np.array([1.0, 4.0]), "spherical", 2, 2)
    array([[[1., 0.],
            [0., 1.]],
    <BLANKLINE>
           [[4., 0.],
            [0., 4.]]])
    """
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return covariances.copy()
    if covariance_type == "tied":
        return np.array([covariances] * n_components)
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covariances])
    return np.array([c * np.eye(n_features) for c in covariances])


def compress_covariances(full, covariance_type):
    """The inverse of `full_covariances` for matrices of the given structure."""
    if covariance_type == "full":
        return full
    if covariance_type == "tied":
        return full[0]
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in full])
    return np.array([np.mean(np.diag(c)) for c in full])


def log_gaussian_density(x, mean, covariance):
    """Log-density of a Gaussian, log N(x | mean, covariance), at one point.

    Parameters
    ----------
    x : ndarray of shape (n_features,)
        The point.
    mean : ndarray of shape (n_features,)
        The Gaussian's mean.
    covariance : ndarray of shape (n_features, n_features)
        Its covariance matrix, positive definite.

    Returns
    -------
    log_density : float
        ``-(d log(2 pi) + log det(covariance) + (x - mean)^T covariance^-1
        (x - mean)) / 2``.

    Raises
    ------
    ValueError
        If ``covariance`` is not positive definite (its determinant is not
        positive).

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> density = reference.log_gaussian_density(np.zeros(2), np.zeros(2), np.eye(2))
    >>> round(float(density), 4)
    -1.8379
    """
    d = x.shape[0]
    diff = x - mean
    sign, log_det = np.linalg.slogdet(covariance)
    if sign <= 0:
        raise ValueError("covariance is not positive definite")
    maha = diff @ np.linalg.solve(covariance, diff)
    return -0.5 * (d * math.log(2.0 * math.pi) + log_det + maha)


def estimate_log_prob(X, weights, means, covariances, covariance_type):
    """Weighted log-densities of each sample under each component.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The samples.
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
    log_prob : ndarray of shape (n_samples, n_components)
        ``log w_k + log N(x_i | m_k, C_k)`` for sample i and component k.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> X = np.array([[0.0, 0.1], [5.0, 5.1]])
    >>> weights = np.array([0.5, 0.5])
    >>> means = np.array([[0.0, 0.0], [5.0, 5.0]])
    >>> reference.estimate_log_prob(X, weights, means, [1.0, 1.0], "spherical").round(2)
    array([[ -2.54, -27.04],
           [-28.04,  -2.54]])
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    n_components = len(weights)
    covs = full_covariances(covariances, covariance_type, n_components, n_features)
    log_prob = np.empty((n_samples, n_components))
    for i in range(n_samples):
        for k in range(n_components):
            log_prob[i, k] = math.log(weights[k]) + log_gaussian_density(
                X[i], means[k], covs[k]
            )
    return log_prob


def logsumexp(values):
    """Logarithm of the sum of the exponentials of a 1-D array's values.

    Computed as ``max + log(sum(exp(values - max)))``, so that large values
    do not overflow.

    Parameters
    ----------
    values : ndarray of shape (n_values,)
        The values, -inf allowed.

    Returns
    -------
    result : float
        ``log(sum(exp(values)))``; -inf when every value is -inf.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> round(float(reference.logsumexp(np.array([1000.0, 1000.0]))), 4)
    1000.6931
    """
    top = np.max(values)
    if top == -np.inf:
        return -np.inf
    return top + math.log(sum(math.exp(v - top) for v in values))


def e_step(X, weights, means, covariances, covariance_type):
    """Responsibilities and per-sample log-likelihoods.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The samples.
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
        The posterior probability of each component for each sample; each
        row sums to 1.
    log_likelihood : ndarray of shape (n_samples,)
        The log-density of each sample, ``log p(x_i) = logsumexp_k (log w_k
        + log N(x_i | k))``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> X = np.array([[0.0, 0.1], [5.0, 5.1]])
    >>> weights = np.array([0.5, 0.5])
    >>> means = np.array([[0.0, 0.0], [5.0, 5.0]])
    >>> resp, log_likelihood = reference.e_step(
    ...     X, weights, means, [1.0, 1.0], "spherical")
    >>> resp.round(3)
    array([[1., 0.],
           [0., 1.]])
    >>> log_likelihood.round(3)
    array([-2.536, -2.536])
    """
    log_prob = estimate_log_prob(X, weights, means, covariances, covariance_type)
    log_likelihood = np.array([logsumexp(row) for row in log_prob])
    resp = np.exp(log_prob - log_likelihood[:, None])
    return resp, log_likelihood


def m_step(X, resp, covariance_type, reg_covar=1e-6, sample_weight=None):
    """Weights, means and covariances (of ``covariance_type``) from resp.

    Each covariance is the weighted scatter around the new mean, divided by
    the weighted count; 'tied' pools the scatter of all components, 'diag'
    keeps the diagonal, 'spherical' its mean. ``reg_covar`` goes on the
    diagonal.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The samples.
    resp : array-like of shape (n_samples, n_components)
        The responsibilities of the E-step.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        The form of the covariances to estimate.
    reg_covar : float, default=1e-6
        Added to the diagonal of each covariance.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples; None weighs every sample 1.

    Returns
    -------
    weights : ndarray of shape (n_components,)
        The weighted counts of the components over their total.
    means : ndarray of shape (n_components, n_features)
        The components' means.
    covariances : ndarray
        The covariances, shaped by ``covariance_type`` (see
        :func:`full_covariances`).

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> X = np.array([[0.0, 0.1], [0.2, 0.0], [5.0, 5.1], [5.2, 4.9]])
    >>> resp = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    >>> weights, means, covariances = reference.m_step(X, resp, "diag")
    >>> weights
    array([0.5, 0.5])
    >>> means
    array([[0.1 , 0.05],
           [5.1 , 5.  ]])
    >>> covariances.round(4)
    array([[0.01  , 0.0025],
           [0.01  , 0.01  ]])
    """
    X = np.asarray(X, dtype=np.float64)
    resp = np.asarray(resp, dtype=np.float64)
    n_samples, n_features = X.shape
    n_components = resp.shape[1]
    w = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight, float)

    counts = np.zeros(n_components)
    means = np.zeros((n_components, n_features))
    for k in range(n_components):
        for i in range(n_samples):
            counts[k] += w[i] * resp[i, k]
            means[k] += w[i] * resp[i, k] * X[i]
        means[k] /= counts[k]

    scatter = np.zeros((n_components, n_features, n_features))
    for k in range(n_components):
        for i in range(n_samples):
            diff = X[i] - means[k]
            scatter[k] += w[i] * resp[i, k] * np.outer(diff, diff)

    if covariance_type == "tied":
        pooled = scatter.sum(axis=0) / counts.sum()
        full = np.array([pooled] * n_components)
    else:
        full = scatter / counts[:, None, None]
    if covariance_type == "diag":
        full = np.array([np.diag(np.diag(c)) for c in full])
    elif covariance_type == "spherical":
        full = np.array([np.mean(np.diag(c)) * np.eye(n_features) for c in full])
    full = full + reg_covar * np.eye(n_features)
    weights = counts / counts.sum()
    return weights, means, compress_covariances(full, covariance_type)


def sufficient_statistics(X, resp, centers, covariance_type, sample_weight=None):
    """The kernels' statistics, from responsibilities, around ``centers``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The samples.
    resp : ndarray of shape (n_samples, n_components)
        The responsibilities.
    centers : ndarray of shape (n_components, n_features)
        The point c_k each component's sums are taken around.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        How ``s2`` is reduced.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples; None weighs every sample 1.

    Returns
    -------
    nk : ndarray of shape (n_components,)
        The weighted counts, ``nk[k] = sum_i w_i r_ik``.
    s1 : ndarray of shape (n_components, n_features)
        The first moments, ``s1[k] = sum_i w_i r_ik (x_i - c_k)``.
    s2 : ndarray
        The scatter ``sum_i w_i r_ik (x_i - c_k)(x_i - c_k)^T``, reduced by
        covariance type: (n_components, n_features, n_features) 'full',
        summed over the components 'tied', its diagonal (n_components,
        n_features) 'diag', its trace (n_components,) 'spherical'.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> X = np.array([[0.0, 0.1], [0.2, 0.0], [5.0, 5.1], [5.2, 4.9]])
    >>> resp = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> centers = np.array([[0.0, 0.0], [5.0, 5.0]])
    >>> nk, s1, s2 = reference.sufficient_statistics(X, resp, centers, "spherical")
    >>> nk
    array([2., 2.])
    >>> s1.round(4)
    array([[0.2, 0.1],
           [0.2, 0. ]])
    >>> s2.round(4)
    array([0.05, 0.06])
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    n_components = resp.shape[1]
    w = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight, float)
    nk = np.zeros(n_components)
    s1 = np.zeros((n_components, n_features))
    s2 = np.zeros((n_components, n_features, n_features))
    for i in range(n_samples):
        for k in range(n_components):
            diff = X[i] - centers[k]
            r = w[i] * resp[i, k]
            nk[k] += r
            s1[k] += r * diff
            s2[k] += r * np.outer(diff, diff)
    if covariance_type == "tied":
        s2 = s2.sum(axis=0)
    elif covariance_type == "diag":
        s2 = np.array([np.diag(s) for s in s2])
    elif covariance_type == "spherical":
        s2 = np.array([np.trace(s) for s in s2])
    return nk, s1, s2


def fit(X, weights, means, covariances, covariance_type, *, reg_covar=1e-6,
        max_iter=100, tol=1e-3, sample_weight=None):
    """EM from the given initial parameters.

    Stops when the (weighted) mean log-likelihood gains less than ``tol`` or
    after ``max_iter`` iterations. The log-likelihood reported for an
    iteration is that of the parameters the iteration started from, as in
    scikit-learn.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The training data.
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
        The parameters after the last iteration's M-step, as :func:`m_step`
        returns them.
    lower_bounds : list of float
        The (weighted) mean log-likelihood at each iteration.
    converged : bool
        Whether the last gain was below ``tol`` (before ``max_iter``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> X = np.array([[0.0, 0.1], [0.2, 0.0], [5.0, 5.1], [5.2, 4.9]])
    >>> params, lower_bounds, converged = reference.fit(
    ...     X, np.array([0.5, 0.5]), np.array([[0.0, 0.0], [5.0, 5.0]]),
    ...     np.array([1.0, 1.0]), "spherical")
    >>> params[1]
    array([[0.1 , 0.05],
           [5.1 , 5.  ]])
    >>> converged, len(lower_bounds)
    (True, 3)
    """
    def step(X, params, w):
        resp, log_likelihood = e_step(X, *params, covariance_type)
        return m_step(X, resp, covariance_type, reg_covar, sample_weight=w), log_likelihood

    return _em_loop(step, X, weights, means, covariances, max_iter, tol, sample_weight)


def _em_loop(step, X, weights, means, covariances, max_iter, tol, sample_weight):
    """The loop of `fit` and `fit_missing`: ``step(X, params, w)`` returns
    (new params, per-row log-likelihoods under the old ones)."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    params = (np.asarray(weights, float), np.asarray(means, float),
              np.asarray(covariances, float))
    lower_bounds = []
    previous = -np.inf
    converged = False
    for _ in range(max_iter):
        params, log_likelihood = step(X, params, w)
        lower_bound = float(np.sum(w * log_likelihood) / np.sum(w))
        lower_bounds.append(lower_bound)
        if abs(lower_bound - previous) < tol:
            converged = True
            break
        previous = lower_bound
    return params, lower_bounds, converged


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
