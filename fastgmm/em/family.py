"""Families of components, and `MixtureSpec`: what a mixture is.

A mixture is a *family* of components times a covariance *structure*
(`em.structure`), plus options (a uniform noise component, missing values).

A family is what `em.driver` runs (`Family`): the constants of the fused
pass, what the pass accumulates per row, the M-step from those statistics,
the lower bound, and its number of free parameters. `MaximumLikelihood` is
GaussianMixture's; `em.variational.VariationalEM` the variational mixture's;
`em.noise.NoiseEM` the maximum-likelihood mixture with a noise component.

`MixtureSpec` (family, structure, options) is what a fitted estimator holds
(``_fitted_spec``) and what the estimators, the search, the files, the plots
and the command line ask: the parameter count, whether there is a noise
component, the columns of the posterior.
"""

from dataclasses import dataclass

import numpy as np

from .structure import structure as _structure

__all__ = ["MixtureParams", "Family", "MaximumLikelihood", "MixtureSpec",
           "NOISE_PARAMETERS", "NOISE_LABEL", "NOISE_FIELDS"]


@dataclass
class MixtureParams:
    """weights (k,), means (k, d), covariances and their precision Cholesky."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    @classmethod
    def from_arrays(cls, weights, means, covariances, precisions_cholesky):
        f64, dtype = np.ascontiguousarray, np.float64  # no copy of float64 C arrays
        return cls(f64(weights, dtype=dtype), f64(means, dtype=dtype),
                   f64(covariances, dtype=dtype), f64(precisions_cholesky, dtype=dtype))


class Family:
    """The contract between a family of components and `em.driver`.

    A family is made with its `em.structure.Structure` (``self.structure``)
    and whatever it needs besides (priors, a noise volume). Its parameters
    are any object with ``means`` (k, d) and ``precisions_cholesky`` (in
    the structure's storage), the pass's centres and factors. Per iteration
    the driver runs one fused pass with ``c = log_prob_constants(params)``,
    which returns, per component, N_k, S1_k and S2_k around the means (the
    rows weighted by their responsibilities times ``row_weight``) and L,
    the sum of the rows' log-sum-exp; then ``maximization`` and
    ``lower_bound``.
    """

    #: What multiplies a row's responsibility r_ik in the pass's statistics:
    #: None is 1, the Gaussian's (the kernels' pass). A Student-t family
    #: names here the weight u_ik = (nu_k + d) / (nu_k + delta_ik) that its
    #: kernels' pass computes from each row's Mahalanobis distance delta_ik
    #: (the E-step of the scale mixture); the driver runs only families
    #: whose pass the kernels have.
    row_weight = None

    def __init__(self, structure, backend=None):
        self.structure = structure
        #: the fit's `kernels.Backend`, which computes the pass's constants
        #: where they are compiled (None: NumPy) and EVE's and VVE's common
        #: orientation in the M-step (None: ``kernels.get_backend('auto')``)
        self.backend = backend

    @classmethod
    def n_parameters(cls, structure, n_components, n_features):
        """Free parameters of a mixture of this family: the weights (k - 1),
        the means (k d) and the structure's covariances; scikit-learn's
        count for its Gaussian mixtures."""
        k, d = n_components, n_features
        return int(structure.n_parameters(k, d) + k * d + k - 1)

    def log_prob_constants(self, params):
        """c_k of the pass: log p_ik = c_k - 1/2 ||(x_i - m_k) U_k||^2."""
        raise NotImplementedError

    def pass_arguments(self, params):
        """More keyword arguments of the pass and the posterior under
        ``params`` (the rows sources' ``statistics``, ``passes(...).run``
        and ``posterior``): none for the Gaussian pass; the t family's
        ``dof`` (`em.student`)."""
        return {}

    def maximization(self, stats, params, reg_covar, eps, is_float32):
        """New parameters from the pass's statistics (around ``params.means``)."""
        raise NotImplementedError

    def lower_bound(self, stats, c, params, new_params, total_weight):
        """The bound after an iteration: the pass ran under ``params`` with
        constants ``c``, the M-step made ``new_params``."""
        raise NotImplementedError


class MaximumLikelihood(Family):
    """EM for the maximum-likelihood mixture (`GaussianMixture`): parameters
    are `MixtureParams`, the bound the mean log-likelihood of the pass."""

    @property
    def model(self):
        """The mclust model whose M-step constrains the storage's, or None."""
        return self.structure.model if self.structure.constrained else None

    def log_prob_constants(self, params):
        """c_k = log w_k + log det U_k - d/2 log(2 pi)."""
        return self.structure.log_prob_constants(params.weights, params.precisions_cholesky,
                                                 params.means.shape[1], self.backend)

    def maximization(self, stats, params, reg_covar, eps, is_float32, total_weight=None):
        """New `MixtureParams`; the weights are counts over their sum, or
        over ``total_weight`` (`em.covariance.m_step`)."""
        weights, means, covariances = self.structure.m_step(
            stats, params.means, reg_covar, eps, total_weight, params.covariances,
            self.backend)
        precisions_chol = self.structure.precisions_cholesky(covariances, is_float32)
        return MixtureParams.from_arrays(weights, means, covariances, precisions_chol)

    def lower_bound(self, stats, c, params, new_params, total_weight):
        """The mean log-likelihood of the pass (under ``params``)."""
        return stats.ll / total_weight


#: A noise component's free parameters, as mclust's ``nMclustParams`` counts
#: them: its weight and its volume.
NOISE_PARAMETERS = 2
#: The noise component's label (`predict`); its posterior column is the last.
NOISE_LABEL = -1
#: A fitted noise component's attributes, which the model file keeps.
NOISE_FIELDS = ("noise_weight_", "noise_volume_")


@dataclass(frozen=True)
class MixtureSpec:
    """What a mixture is: a family (a `Family` subclass), a structure, and
    its options, a uniform noise component (``noise``, `em.noise`) and
    missing values (``missing``: ``nan_policy='marginalize'``)."""

    family: type
    structure: object
    noise: bool = False
    missing: bool = False

    @classmethod
    def of(cls, family, covariance_type, noise=False, missing=False):
        noise = bool(noise)
        return cls(family, _structure(covariance_type, noise), noise, bool(missing))

    def n_parameters(self, n_components, n_features):
        """Free parameters: the family's, and the noise component's."""
        return (self.family.n_parameters(self.structure, n_components, n_features)
                + NOISE_PARAMETERS * self.noise)

    def n_columns(self, n_components):
        """Columns of the posterior probabilities (the noise's last)."""
        return n_components + self.noise

    def check_rows(self, rows):
        """A noise component needs complete rows (not yet missing values)."""
        if self.noise and rows.missing:
            raise ValueError("noise=True needs complete rows (not yet with missing "
                             "values)")
