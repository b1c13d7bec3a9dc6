"""Mixtures of multivariate t distributions (Peel & McLachlan 2000): the
family `StudentT` that `em.driver` runs for `fastgmm.StudentTMixture`.

Component k is t_nu_k(m_k, Sigma_k), its scale matrix Sigma_k stored as a
Gaussian's covariance (``covariances``; the component's covariance is
nu_k / (nu_k - 2) Sigma_k for nu_k > 2) with the precision factor U_k of
Sigma_k^-1. The fused pass takes ``dof`` (`pass_arguments`) and computes,
per row and component, delta_ik = ||(x_i - m_k) U_k||^2, the t log-density
c_k - (nu_k + d)/2 log1p(delta_ik / nu_k) and the weight u_ik = (nu_k + d) /
(nu_k + delta_ik) (``row_weight``); its statistics are the Gaussian's with
the row weight w r u (``nk``, ``s1``, ``s2``) plus ``nr`` = sum w r and
``tlu`` = sum w r (log u - u) per component.

The M-step (ECM): the means m_k + s1/nk; the u-weighted scatter around them,
W_k = s2 - nk delta delta^T (`em.covariance.shift_scatter`); the structure's
M-step from (W_k, n_k = nr) (`Structure.m_step_scatter`: 'full' W_k / n_k +
reg_covar I, every other structure its own, mclust's 14 included); then nu.
An estimated nu is the root in [1, 200] (`DOF_BOUNDS`, clipped: the left
side decreases in nu) of

    1 - psi(nu/2) + log(nu/2) + tlu_k / nr_k + psi((nu_k + d)/2) - log((nu_k + d)/2) = 0

with nu_k the pass's; `StudentTShared` pools the components (one nu), and
`StudentTFixed` keeps the given one. The lower bound is the pass's mean
log-likelihood.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from . import covariance as cov
from .family import Family, MixtureParams

__all__ = ["StudentParams", "StudentT", "StudentTShared", "StudentTFixed",
           "DOF_BOUNDS", "student_family", "log_t_constants"]

#: The interval an estimated number of degrees of freedom lies in.
DOF_BOUNDS = (1.0, 200.0)


@dataclass
class StudentParams(MixtureParams):
    """`MixtureParams` (``covariances``: the scale matrices Sigma_k) and the
    degrees of freedom ``dof`` (k,)."""

    dof: np.ndarray = None

    @classmethod
    def from_arrays(cls, weights, means, covariances, precisions_cholesky, dof):
        base = MixtureParams.from_arrays(weights, means, covariances, precisions_cholesky)
        return cls(base.weights, base.means, base.covariances, base.precisions_cholesky,
                   np.ascontiguousarray(dof, dtype=np.float64))


def _log_gamma_ratio(x, h):
    """log Gamma(x + h) - log Gamma(x) - h log x, elementwise for x > 0, to a
    few ulps of the result also where it is small against log Gamma(x)
    (large x: by Stirling's series, without its cancellation)."""
    x = np.asarray(x, dtype=np.float64)
    small = x < 100.0
    out = np.empty_like(x)
    xs = x[small]
    out[small] = special.gammaln(xs + h) - special.gammaln(xs) - h * np.log(xs)
    xl = x[~small]

    def series(z):  # log Gamma(z) - ((z - 1/2) log z - z + log(2 pi)/2)
        z2 = z * z
        return (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / (1260.0 * z2)) / z2) / z

    out[~small] = ((xl + h - 0.5) * np.log1p(h / xl) - h
                   + (series(xl + h) - series(xl)))
    return out


def log_t_constants(gaussian_constants, dof, n_features):
    """The t's c_k from the Gaussian's c_k = log w_k + log det U_k - d/2
    log(2 pi): c_k + d/2 log(2 pi) + log Gamma((nu+d)/2) - log Gamma(nu/2)
    - d/2 log(nu pi), the last three terms as `_log_gamma_ratio` (exact as
    nu grows: the t's constant tends to the Gaussian's)."""
    h = 0.5 * n_features
    dof = np.asarray(dof, dtype=np.float64)
    return np.ascontiguousarray(
        gaussian_constants + _log_gamma_ratio(0.5 * dof, h), dtype=np.float64)


def dof_root(constant, bounds=DOF_BOUNDS):
    """nu in ``bounds`` with log(nu/2) - psi(nu/2) + constant = 0, clipped to
    ``bounds`` (the left side decreases in nu)."""
    def f(nu):
        return constant + math.log(0.5 * nu) - special.digamma(0.5 * nu)

    low, high = bounds
    if not f(low) > 0.0:
        return low
    if not f(high) < 0.0:
        return high
    return optimize.brentq(f, low, high, xtol=1e-14, rtol=4 * np.finfo(float).eps)


class StudentT(Family):
    """The t mixture with one nu per component, estimated (``dof='component'``).

    Parameters are `StudentParams`; the pass is the kernels' t pass
    (`pass_arguments`: ``dof``).
    """

    #: The pass weighs each row's responsibility by u_ik = (nu_k + d) /
    #: (nu_k + delta_ik) (the kernels' t pass, given ``dof``).
    row_weight = "u"
    #: Where nu may lie (an accelerated run's jumps stay inside:
    #: `em.accelerate`)
    dof_bounds = DOF_BOUNDS
    #: Free parameters of the degrees of freedom: per component.
    dof_setting = "component"

    @classmethod
    def n_parameters(cls, structure, n_components, n_features):
        """`Family`'s count plus the degrees of freedom: k estimated per
        component, 1 shared, 0 fixed."""
        extra = {"component": n_components, "shared": 1, "fixed": 0}[cls.dof_setting]
        return super().n_parameters(structure, n_components, n_features) + extra

    def pass_arguments(self, params):
        """The pass's ``dof``."""
        return {"dof": np.ascontiguousarray(params.dof, dtype=np.float64)}

    def log_prob_constants(self, params):
        """c_k = log w_k + log det U_k + log Gamma((nu_k+d)/2) -
        log Gamma(nu_k/2) - d/2 log(nu_k pi): the Gaussian part computed by
        the fit's backend (`Structure.log_prob_constants`), then
        `log_t_constants`."""
        d = params.means.shape[1]
        c = self.structure.log_prob_constants(params.weights, params.precisions_cholesky,
                                              d, self.backend)
        return log_t_constants(c, params.dof, d)

    def maximization(self, stats, params, reg_covar, eps, is_float32):
        """New `StudentParams` from the t pass's statistics (around
        ``params.means``): the means, the structure's M-step from the
        u-weighted scatter and the counts ``nr``, then the degrees of freedom
        (`update_dof`)."""
        storage = self.structure.storage
        u_counts = stats.nk + 10.0 * eps
        delta = stats.s1 / u_counts[:, None]
        means = params.means + delta
        scatter = cov.shift_scatter(stats.s2, u_counts, delta, storage)
        weights, covariances = self.structure.m_step_scatter(
            scatter, stats.nr, means, reg_covar, eps, previous=params.covariances,
            backend=self.backend)
        precisions_chol = self.structure.precisions_cholesky(covariances, is_float32)
        dof = self.update_dof(stats, params, eps)
        return StudentParams.from_arrays(weights, means, covariances, precisions_chol,
                                         dof)

    def update_dof(self, stats, params, eps):
        """nu_k from the pass's ``tlu`` and ``nr`` (the module docstring's
        equation, at the pass's nu_k); a component without weight keeps its
        nu."""
        d = params.means.shape[1]
        dof = np.asarray(params.dof, dtype=np.float64)
        out = dof.copy()
        for k, nu in enumerate(dof):
            if stats.nr[k] > 10.0 * eps:
                out[k] = dof_root(1.0 + stats.tlu[k] / stats.nr[k] + _digamma_term(nu, d))
        return out

    def lower_bound(self, stats, c, params, new_params, total_weight):
        """The mean log-likelihood of the pass (under ``params``)."""
        return stats.ll / total_weight


def _digamma_term(nu, d):
    return special.digamma(0.5 * (nu + d)) - math.log(0.5 * (nu + d))


class StudentTShared(StudentT):
    """One nu for all components (``dof='shared'``): the equation pooled over
    the components, (sum_k tlu_k + sum_k nr_k (1 + psi((nu_k+d)/2) -
    log((nu_k+d)/2))) / sum_k nr_k."""

    dof_setting = "shared"

    def update_dof(self, stats, params, eps):
        d = params.means.shape[1]
        dof = np.asarray(params.dof, dtype=np.float64)
        total = float(np.sum(stats.nr))
        if not total > 0.0:
            return dof.copy()
        terms = np.array([_digamma_term(nu, d) for nu in dof])
        constant = 1.0 + (float(np.sum(stats.tlu)) + float(stats.nr @ terms)) / total
        return np.full(dof.shape, dof_root(constant))


class StudentTFixed(StudentT):
    """A given nu (``dof`` a number), never updated."""

    dof_setting = "fixed"
    dof_bounds = (0.0, np.inf)

    def update_dof(self, stats, params, eps):
        return np.array(params.dof, dtype=np.float64)


_FAMILIES = {"component": StudentT, "shared": StudentTShared, "fixed": StudentTFixed}


def student_family(dof):
    """The family class of a ``dof`` setting: 'component', 'shared' or a
    number (fixed)."""
    return _FAMILIES[dof if isinstance(dof, str) else "fixed"]
