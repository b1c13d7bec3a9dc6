"""The textbook EM for Gaussian mixtures, written to be read, not to be fast.

Also the EM for mixtures of t distributions (`fit_student`, in
``_student.py``; ``DOF_BOUNDS``, the interval (1, 200) an estimated number
of degrees of freedom is clipped to) and every structure's M-step from
scatters and counts, mclust's models too (`covariances_from_scatter`, in
``_parsimonious.py``).

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

from ._common import (  # noqa: F401 (compress_covariances: the tests' too)
    _em_loop,
    compress_covariances,
    full_covariances,
    log_gaussian_density,
    logsumexp,
)
from ._missing import e_step_missing, fit_missing, impute, m_step_missing
from ._parsimonious import covariances_from_scatter
from ._student import (
    DOF_BOUNDS,
    dof_root,
    e_step_student,
    fit_student,
    log_t_density,
    m_step_student,
)

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
    "covariances_from_scatter",
    "log_t_density",
    "e_step_student",
    "m_step_student",
    "dof_root",
    "fit_student",
    "DOF_BOUNDS",
]


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
