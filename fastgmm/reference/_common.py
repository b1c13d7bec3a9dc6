"""What `fastgmm.reference`'s two EMs share: covariances of every type as
full d x d matrices and back, the Gaussian log-density, log-sum-exp and the
EM loop."""

import math

import numpy as np


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


def _em_loop(step, X, weights, means, covariances, max_iter, tol, sample_weight,
             *more):
    """The loop of `fit`, `fit_missing` and `fit_student`: ``step(X, params,
    w)`` returns (new params, per-row log-likelihoods under the old ones);
    ``more``: parameters after the covariances (the t's degrees of freedom)."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    params = (np.asarray(weights, float), np.asarray(means, float),
              np.asarray(covariances, float)) + tuple(np.asarray(m, float) for m in more)
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
