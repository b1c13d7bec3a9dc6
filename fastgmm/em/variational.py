"""The variational Bayesian mixture on small arrays: its priors, M-step, the
constants of the fused pass and the evidence lower bound (ELBO).

The model is scikit-learn's ``BayesianGaussianMixture`` (Bishop 2006, 10.2;
Blei & Jordan 2006 for the Dirichlet process): a Dirichlet distribution or a
stick-breaking (Dirichlet process) prior on the weights, and a
Gaussian-Wishart prior on each component's mean and precision. Nothing here
sees X: the E-step is the fused pass of the maximum-likelihood mixture with
other per-component constants,

    c_k = E[log pi_k] + log det U_k - d/2 log(2 pi) - d/2 log nu_k
          + 1/2 (E[log det Lambda_k] - d / beta_k),

U_k the Cholesky factor of E[Lambda_k] = nu_k W_k (the precision of
``covariances_``), and the M-step and the ELBO need only the pass's
statistics (N_k, S1_k, S2_k around the means it used) and L. In particular
the entropy of the responsibilities, which the ELBO holds, is

    -sum_i w_i sum_k r_ik log r_ik = L - sum_k (N_k c_k - 1/2 q_k),
    q_k = sum_i w_i r_ik ||(x_i - m_k) U_k||^2 = <S2_k, U_k U_k^T>,

because log r_ik = log p_ik - log sum_j p_ij, sum_k r_ik = 1 and
log p_ik = c_k - 1/2 ||(x_i - m_k) U_k||^2 (`weighted_entropy`).

The formulas and the conventions (covariances normalized by nu_k, the
constant terms left out of the ELBO) are scikit-learn's, so that a fit
from the same initialization gives the same numbers.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln

from .._constants import LOG_2PI, WEIGHT_PRIOR_TYPES
from . import covariance as cov
from .family import Family

_LOG_2 = math.log(2.0)
#: scikit-learn's M-step adds 10 eps to each count, eps of its responsibilities'
#: dtype: float64 in its EM loop (X's dtype only in its initialization).
_EPS = float(np.finfo(np.float64).eps)

PRIOR_TYPES = WEIGHT_PRIOR_TYPES
DIRICHLET_PROCESS, DIRICHLET_DISTRIBUTION = WEIGHT_PRIOR_TYPES


@dataclass
class Priors:
    """The prior's parameters, as scikit-learn's ``*_prior_`` attributes.

    ``covariance`` is shaped (d, d) for 'full' and 'tied', (d,) for 'diag'
    and is a float for 'spherical'.
    """

    weight_concentration_prior_type: str
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: object


@dataclass
class VariationalParams:
    """The variational posterior, as scikit-learn's fitted attributes.

    ``weight_concentration`` is (k,) for the Dirichlet distribution and
    (2, k) for the Dirichlet process (the Beta parameters of each stick);
    ``degrees_of_freedom`` is (k,), or a 0-d array for 'tied'. The
    covariances are normalized: ``covariances_[k]`` is the inverse of
    E[Lambda_k] = nu_k W_k, and ``precisions_cholesky`` its Cholesky factor.
    """

    weight_concentration: np.ndarray
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    @classmethod
    def from_arrays(cls, weight_concentration, mean_precision, means,
                    degrees_of_freedom, covariances, precisions_cholesky):
        def f64(a):  # C order, and 0-d stays 0-d ('tied' degrees of freedom)
            return np.asarray(a, dtype=np.float64, order="C")

        return cls(f64(weight_concentration), f64(mean_precision), f64(means),
                   f64(degrees_of_freedom), f64(covariances), f64(precisions_cholesky))


# ------------------------------------------------------------------ weights


def mixture_weights(weight_concentration, prior_type):
    """The expected weights E[pi_k] (normalized), scikit-learn's ``weights_``."""
    if prior_type == DIRICHLET_PROCESS:
        a, b = weight_concentration
        total = a + b
        remaining = np.concatenate(([1.0], np.cumprod(b[:-1] / total[:-1])))
        weights = a / total * remaining
        return weights / np.sum(weights)
    return weight_concentration / np.sum(weight_concentration)


def expected_log_weights(weight_concentration, prior_type):
    """E[log pi_k] under the variational posterior of the weights."""
    if prior_type == DIRICHLET_PROCESS:
        a, b = weight_concentration
        digamma_total = digamma(a + b)
        log_stick = digamma(a) - digamma_total
        log_rest = digamma(b) - digamma_total
        return log_stick + np.concatenate(([0.0], np.cumsum(log_rest)[:-1]))
    return digamma(weight_concentration) - digamma(np.sum(weight_concentration))


def _log_weight_norm(weight_concentration, prior_type):
    """log of the normalization of the weights' posterior."""
    if prior_type == DIRICHLET_PROCESS:
        return -np.sum(betaln(weight_concentration[0], weight_concentration[1]))
    return gammaln(np.sum(weight_concentration)) - np.sum(gammaln(weight_concentration))


# ---------------------------------------------------------- Wishart terms


def _digamma_sum(degrees_of_freedom, n_features):
    """sum_{j<d} digamma((nu - j) / 2), per component (a scalar for 'tied')."""
    nu = np.asarray(degrees_of_freedom, dtype=np.float64)
    return np.sum(digamma(0.5 * (nu[..., None] - np.arange(n_features))), axis=-1)


def _log_wishart_norm(degrees_of_freedom, log_det_precisions_chol, n_features):
    """log of the Wishart normalization, less its log(pi) term (as scikit-learn)."""
    nu = np.asarray(degrees_of_freedom, dtype=np.float64)
    return -(nu * log_det_precisions_chol + nu * n_features * 0.5 * _LOG_2
             + np.sum(gammaln(0.5 * (nu[..., None] - np.arange(n_features))), axis=-1))


# ------------------------------------------------------------------ E-step


def log_prob_constants(params, prior_type, covariance_type, n_features):
    """The c_k of the pass (see the module docstring), float64 (k,)."""
    d = n_features
    log_det = cov.log_det_cholesky(params.precisions_cholesky, covariance_type, d)
    nu = params.degrees_of_freedom
    log_lambda = d * _LOG_2 + _digamma_sum(nu, d)
    c = (expected_log_weights(params.weight_concentration, prior_type)
         + log_det - 0.5 * d * LOG_2PI - 0.5 * d * np.log(nu)
         + 0.5 * (log_lambda - d / params.mean_precision))
    return np.ascontiguousarray(c, dtype=np.float64)


# ------------------------------------------------------------------ M-step


def m_step(nk, xk, sk, priors, covariance_type, is_float32=False):
    """The variational posterior from the responsibilities' statistics.

    ``nk`` (k,) the counts (with scikit-learn's 10 eps), ``xk`` (k, d) the
    means and ``sk`` the covariances (``reg_covar`` included, shaped by
    covariance type): what `em.covariance.m_step` returns, and scikit-learn's
    ``_estimate_gaussian_parameters``. Raises `em.covariance`'s ValueError for a
    covariance that is not positive definite.
    """
    n_components = nk.shape[0]
    if priors.weight_concentration_prior_type == DIRICHLET_PROCESS:
        suffix = np.cumsum(nk[::-1])[::-1]  # sum_{j >= k} N_j
        weight_concentration = np.stack([
            1.0 + nk,
            priors.weight_concentration + np.append(suffix[1:], 0.0),
        ])
    else:
        weight_concentration = priors.weight_concentration + nk
    beta0, m0 = priors.mean_precision, priors.mean
    beta = beta0 + nk
    means = (beta0 * m0 + nk[:, None] * xk) / beta[:, None]
    diff = xk - m0
    nu0, psi0 = priors.degrees_of_freedom, priors.covariance
    if covariance_type == "full":
        nu = nu0 + nk
        covariances = (psi0 + nk[:, None, None] * sk
                       + (nk * beta0 / beta)[:, None, None]
                       * diff[:, :, None] * diff[:, None, :])
        covariances /= nu[:, None, None]
    elif covariance_type == "tied":
        share = nk.sum() / n_components
        nu = np.asarray(nu0 + share)
        covariances = (psi0 + sk * share
                       + beta0 / n_components * ((nk / beta) * diff.T) @ diff)
        covariances /= nu
    elif covariance_type == "diag":
        nu = nu0 + nk
        covariances = psi0 + nk[:, None] * (sk + (beta0 / beta)[:, None] * diff**2)
        covariances /= nu[:, None]
    else:
        nu = nu0 + nk
        covariances = psi0 + nk * (sk + beta0 / beta * np.mean(diff**2, axis=1))
        covariances /= nu
    precisions_chol = cov.precisions_cholesky(covariances, covariance_type, is_float32)
    return VariationalParams.from_arrays(weight_concentration, beta, means, nu,
                                         covariances, precisions_chol)


# --------------------------------------------------------------------- ELBO


def weighted_entropy(stats, c, precisions_cholesky, covariance_type):
    """-sum_i w_i sum_k r_ik log r_ik of a pass, from its statistics.

    ``stats`` the pass's (around the means it used, its L in ``ll``), ``c``
    and ``precisions_cholesky`` the constants and factors it ran with. See
    the module docstring.
    """
    U = precisions_cholesky
    if covariance_type == "full":
        quad = np.einsum("kij,kij->", stats.s2, np.matmul(U, np.swapaxes(U, 1, 2)))
    elif covariance_type == "tied":
        quad = np.sum(stats.s2 * (U @ U.T))
    else:  # the diagonal of S2 ('diag') or its trace ('spherical')
        quad = np.sum(stats.s2 * U**2)
    return stats.ll - (float(stats.nk @ c) - 0.5 * float(quad))


def lower_bound_terms(params, prior_type, covariance_type, n_features):
    """The ELBO's terms that depend on the posterior alone (scikit-learn's,
    without the constants it leaves out)."""
    d = n_features
    nu = params.degrees_of_freedom
    log_det = (cov.log_det_cholesky(params.precisions_cholesky, covariance_type, d)
               - 0.5 * d * np.log(nu))
    log_wishart = _log_wishart_norm(nu, log_det, d)
    if covariance_type == "tied":
        log_wishart = params.means.shape[0] * float(log_wishart)
    else:
        log_wishart = float(np.sum(log_wishart))
    return (-log_wishart
            - float(_log_weight_norm(params.weight_concentration, prior_type))
            - 0.5 * d * float(np.sum(np.log(params.mean_precision))))


class VariationalEM(Family):
    """The family of the variational mixture (`em.family.Family`): its
    parameters are `VariationalParams`, on the Gaussian pass.

    The lower bound is scikit-learn's: the entropy of the responsibilities of
    the pass plus the terms of the posterior the M-step made from it, a sum
    over the rows (not a mean). Its parameter count is `Family`'s (the
    Gaussian mixture's, as the command line reports it).
    """

    def __init__(self, priors, structure, backend=None):
        super().__init__(structure, backend)
        self.priors = priors
        self.prior_type = priors.weight_concentration_prior_type

    def log_prob_constants(self, params):
        return log_prob_constants(params, self.prior_type, self.structure.storage,
                                  params.means.shape[1])

    def maximization(self, stats, params, reg_covar, eps, is_float32):
        _, xk, sk = self.structure.m_step(stats, params.means, reg_covar, _EPS,
                                          backend=self.backend)
        return m_step(stats.nk + 10.0 * _EPS, xk, sk, self.priors, self.structure.storage,
                      is_float32)

    def lower_bound(self, stats, c, params, new_params, total_weight):
        t = self.structure.storage
        return float(weighted_entropy(stats, c, params.precisions_cholesky, t)
                + lower_bound_terms(new_params, self.prior_type, t,
                                    params.means.shape[1]))


def data_moments(stats, center, covariance_type):
    """(total weight, mean, covariance) of rows from one pass of one component.

    ``stats``: a one-component pass around ``center`` ('full' or 'diag'),
    with unit responsibilities. The covariance divides the scatter around
    the mean by (total weight - 1), as ``np.cov`` with frequency weights,
    and is shaped as scikit-learn's default ``covariance_prior_``: (d, d)
    'full'/'tied', (d,) 'diag', a float 'spherical'. The total weight must
    exceed 1 for the covariance (ValueError otherwise).
    """
    total = float(stats.nk[0])
    delta = stats.s1[0] / total
    mean = center + delta
    pass_type = "full" if stats.s2.ndim == 3 else "diag"
    scatter = cov.shift_scatter(stats.s2, stats.nk, delta[None], pass_type)[0]
    if not total > 1.0:
        return total, mean, None
    covariance = scatter / (total - 1.0)
    if covariance_type == "spherical":
        covariance = float(np.mean(covariance))
    return total, mean, covariance
