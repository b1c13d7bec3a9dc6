"""The textbook EM (ECM) for mixtures of multivariate t distributions
(Peel & McLachlan 2000), one row and one component at a time, no grouping,
no compiled code: the oracle of `fastgmm.StudentTMixture`'s tests.

Component k is t_nu_k(m_k, Sigma_k), Sigma_k its scale matrix. One iteration
from the current parameters:

- E-step: delta_ik = (x_i - m_k)^T Sigma_k^-1 (x_i - m_k); r_ik the posterior
  of component k under the t densities; u_ik = (nu_k + d) / (nu_k + delta_ik).
- M-step: n_k = sum_i w_i r_ik, pi_k = n_k / sum w; m_k = sum w r u x / sum
  w r u; W_k = sum w r u (x - m_k)(x - m_k)^T and the structure's covariances
  from (W_k, n_k) (`covariances_from_scatter`: W_k / n_k + reg_covar I for
  'full'); nu_k the root in [1, 200] (clipped) of

      1 - psi(nu/2) + log(nu/2) + (1/n_k) sum_i w_i r_ik (log u_ik - u_ik)
        + psi((nu_k + d)/2) - log((nu_k + d)/2) = 0,

  whose left side decreases in nu; with one nu for all ('shared') the sums
  pool the components; a fixed nu is kept.

The lower bound of an iteration is the (weighted) mean observed-data
log-likelihood of the parameters its E-step used.
"""

import math

import numpy as np
from scipy import optimize, special

from ._common import _em_loop, full_covariances, logsumexp
from ._parsimonious import covariances_from_scatter, storage_of

#: The interval an estimated number of degrees of freedom lies in.
DOF_BOUNDS = (1.0, 200.0)


def log_t_density(x, mean, scale, dof):
    """Log-density of a multivariate t distribution at one point.

    Also the squared Mahalanobis distance of the point, the delta of the
    E-step's tail weights.

    Parameters
    ----------
    x : ndarray of shape (n_features,)
        The point.
    mean : ndarray of shape (n_features,)
        The distribution's location.
    scale : ndarray of shape (n_features, n_features)
        The distribution's scale matrix (positive definite).
    dof : float
        The degrees of freedom nu.

    Returns
    -------
    log_density : float
        ``log t_nu(x | mean, scale)``.
    delta : float
        ``(x - mean)^T scale^-1 (x - mean)``.

    Raises
    ------
    ValueError
        If ``scale`` is not positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> log_density, delta = reference.log_t_density(np.zeros(1), np.zeros(1),
    ...                                              np.eye(1), 1.0)
    >>> round(float(log_density), 6), round(float(-np.log(np.pi)), 6), float(delta)
    (-1.14473, -1.14473, 0.0)
    """
    d = x.shape[0]
    diff = x - mean
    sign, log_det = np.linalg.slogdet(scale)
    if sign <= 0:
        raise ValueError("scale matrix is not positive definite")
    delta = float(diff @ np.linalg.solve(scale, diff))
    log_density = (math.lgamma((dof + d) / 2.0) - math.lgamma(dof / 2.0)
                   - 0.5 * d * math.log(dof * math.pi) - 0.5 * log_det
                   - 0.5 * (dof + d) * math.log1p(delta / dof))
    return log_density, delta


def e_step_student(X, weights, means, covariances, dof, covariance_type):
    """Responsibilities, tail weights u and per-row log-likelihoods.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The samples.
    weights : ndarray of shape (n_components,)
        The mixture's weights.
    means : ndarray of shape (n_components, n_features)
        The components' locations.
    covariances : array-like
        The scale matrices, in the storage shape of ``covariance_type``.
    dof : ndarray of shape (n_components,)
        The degrees of freedom nu_k.
    covariance_type : str
        One of scikit-learn's four types or mclust's 14 models.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
        The posterior probability of each component (under the t densities)
        for each sample; each row sums to 1.
    u : ndarray of shape (n_samples, n_components)
        The tail weights ``(nu_k + d) / (nu_k + delta_ik)``, delta_ik the
        squared Mahalanobis distance of sample i under component k.
    log_likelihood : ndarray of shape (n_samples,)
        The log-density of each sample under the mixture.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> resp, u, ll = reference.e_step_student(
    ...     np.array([[0.0], [3.0]]), np.array([1.0]), np.zeros((1, 1)),
    ...     np.array([1.0]), np.array([2.0]), "spherical")
    >>> u.ravel()
    array([1.5       , 0.27272727])
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    k = len(weights)
    scales = full_covariances(covariances, storage_of(covariance_type), k, n_features)
    log_prob = np.empty((n_samples, k))
    u = np.empty((n_samples, k))
    for i in range(n_samples):
        for j in range(k):
            log_density, delta = log_t_density(X[i], means[j], scales[j], dof[j])
            with np.errstate(divide="ignore"):
                log_prob[i, j] = np.log(weights[j]) + log_density
            u[i, j] = (dof[j] + n_features) / (dof[j] + delta)
    log_likelihood = np.array([logsumexp(row) for row in log_prob])
    resp = np.exp(log_prob - log_likelihood[:, None])
    return resp, u, log_likelihood


def dof_root(mean_log_u_minus_u, dof, n_features, bounds=DOF_BOUNDS):
    """Degrees of freedom from the M-step's equation, in ``bounds``.

    The root nu of ``1 - psi(nu/2) + log(nu/2) + mean_log_u_minus_u +
    psi((dof + d)/2) - log((dof + d)/2) = 0``, clipped to ``bounds`` (the
    left side decreases in nu).

    Parameters
    ----------
    mean_log_u_minus_u : float
        The mean of ``log u_ik - u_ik`` weighted by ``w_i r_ik``: over one
        component's rows, or pooled over the components for a shared nu.
    dof : float
        The degrees of freedom of the E-step that gave the u_ik.
    n_features : int
        The number of features d.
    bounds : tuple of (float, float), default=DOF_BOUNDS
        The interval (low, high) the root is looked for in.

    Returns
    -------
    nu : float
        The root; ``low`` when the left side is <= 0 at ``low``, ``high``
        when it is >= 0 at ``high``.

    Examples
    --------
    >>> from fastgmm import reference
    >>> round(reference.dof_root(-1.05, 5.0, 2), 4)
    5.3196
    """
    constant = (1.0 + mean_log_u_minus_u + special.digamma((dof + n_features) / 2.0)
                - math.log((dof + n_features) / 2.0))

    def f(nu):
        return constant - special.digamma(nu / 2.0) + math.log(nu / 2.0)

    low, high = bounds
    if f(low) <= 0.0:
        return low
    if f(high) >= 0.0:
        return high
    return optimize.brentq(f, low, high, xtol=1e-14, rtol=4 * np.finfo(float).eps)


def m_step_student(X, resp, u, covariance_type, dof, *, dof_mode="component",
                   reg_covar=1e-6, sample_weight=None, previous=None):
    """Weights, means, scale matrices and degrees of freedom from an E-step.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The samples.
    resp, u : ndarray of shape (n_samples, n_components)
        The E-step's responsibilities and tail weights (`e_step_student`).
    covariance_type : str
        One of scikit-learn's four types or mclust's 14 models.
    dof : ndarray of shape (n_components,)
        The degrees of freedom of the E-step.
    dof_mode : {'component', 'shared', 'fixed'}, default='component'
        One nu per component, one for all, or ``dof`` kept.
    reg_covar : float, default=1e-6
        Added to the diagonal of each W_k / n_k (see
        `covariances_from_scatter`).
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples; None weighs every sample 1.
    previous : array-like, default=None
        The E-step's scale matrices (storage shape): where the iterative
        models' inner iterations start.

    Returns
    -------
    weights : ndarray of shape (n_components,)
        The weighted counts n_k over the total weight.
    means : ndarray of shape (n_components, n_features)
        The locations ``m_k = sum_i w_i r_ik u_ik x_i / sum_i w_i r_ik u_ik``.
    covariances : ndarray
        The scale matrices, in the storage shape of ``covariance_type``
        (`covariances_from_scatter`).
    dof : ndarray of shape (n_components,)
        The new degrees of freedom: each component's root ('component'),
        one root from the pooled sums ('shared'), or a copy of ``dof``
        ('fixed').

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0]])
    >>> resp = np.ones((4, 1))
    >>> u = np.array([[1.0], [1.0], [1.0], [0.1]])
    >>> weights, means, covariances, dof = reference.m_step_student(
    ...     X, resp, u, "full", np.array([4.0]), dof_mode="fixed", reg_covar=0.0)
    >>> means
    array([[1.29032258]])
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, d = X.shape
    k = resp.shape[1]
    w = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight, float)
    counts = np.zeros(k)
    u_counts = np.zeros(k)
    log_u_terms = np.zeros(k)
    means = np.zeros((k, d))
    for j in range(k):
        for i in range(n_samples):
            r = w[i] * resp[i, j]
            counts[j] += r
            u_counts[j] += r * u[i, j]
            log_u_terms[j] += r * (math.log(u[i, j]) - u[i, j])
            means[j] += r * u[i, j] * X[i]
        means[j] /= u_counts[j]
    scatter = np.zeros((k, d, d))
    for j in range(k):
        for i in range(n_samples):
            diff = X[i] - means[j]
            scatter[j] += w[i] * resp[i, j] * u[i, j] * np.outer(diff, diff)
    if previous is not None:
        previous = full_covariances(previous, storage_of(covariance_type), k, d)
    covariances = covariances_from_scatter(scatter, counts, covariance_type, reg_covar,
                                           previous)
    dof = np.asarray(dof, dtype=np.float64)
    if dof_mode == "component":
        dof = np.array([dof_root(log_u_terms[j] / counts[j], dof[j], d)
                        for j in range(k)])
    elif dof_mode == "shared":
        dof = np.full(k, dof_root(log_u_terms.sum() / counts.sum(), dof[0], d))
    else:
        dof = dof.copy()
    return counts / w.sum(), means, covariances, dof


def fit_student(X, weights, means, covariances, dof, covariance_type, *,
                dof_mode="component", reg_covar=1e-6, max_iter=100, tol=1e-3,
                sample_weight=None):
    """ECM for a t mixture from the given initial parameters.

    Stops when the (weighted) mean log-likelihood, that of the parameters of
    each iteration's E-step, changes by less than ``tol`` or after
    ``max_iter`` iterations.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The training data.
    weights, means : ndarray
        The initial weights (k,) and means (k, d).
    covariances : array-like
        The initial scale matrices, in the storage shape of ``covariance_type``.
    dof : array-like of shape (n_components,)
        The initial degrees of freedom.
    covariance_type : str
        One of scikit-learn's four types or mclust's 14 models.
    dof_mode : {'component', 'shared', 'fixed'}, default='component'
        One nu per component, one for all, or ``dof`` kept.
    reg_covar : float, default=1e-6
        Added to the diagonal of each W_k / n_k in the M-step.
    max_iter : int, default=100
        The largest number of iterations.
    tol : float, default=1e-3
        The convergence threshold on the change of the mean log-likelihood.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples; None weighs every sample 1.

    Returns
    -------
    params : tuple of (weights, means, covariances, dof)
        The parameters after the last iteration's M-step, as
        `m_step_student` returns them.
    lower_bounds : list of float
        The (weighted) mean log-likelihood at each iteration.
    converged : bool
        Whether the last change was below ``tol`` (before ``max_iter``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import reference
    >>> X = np.array([[0.0, 0.1], [0.2, 0.0], [0.1, 0.3], [5.0, 5.1], [5.2, 4.9],
    ...               [4.8, 5.0]])
    >>> params, bounds, converged = reference.fit_student(
    ...     X, np.array([0.5, 0.5]), np.array([[0.0, 0.0], [5.0, 5.0]]),
    ...     np.array([1.0, 1.0]), np.array([30.0, 30.0]), "spherical", max_iter=3)
    >>> params[1].round(2)
    array([[0.1 , 0.13],
           [5.  , 5.  ]])
    """
    def step(X, params, w):
        weights, means, covariances, dof = params
        resp, u, log_likelihood = e_step_student(X, weights, means, covariances, dof,
                                                 covariance_type)
        new = m_step_student(X, resp, u, covariance_type, dof, dof_mode=dof_mode,
                             reg_covar=reg_covar, sample_weight=w, previous=covariances)
        return new, log_likelihood

    return _em_loop(step, X, weights, means, covariances, max_iter, tol, sample_weight,
                    np.asarray(dof, dtype=np.float64))
