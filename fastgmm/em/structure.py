"""Covariance structures: the one home of what depends on ``covariance_type``.

Each of scikit-learn's four types and R mclust's 14 models is one
`Structure`, made once and shared (``structure("VEV")``). A structure is
*stored* as one of the four types the kernels know, its ``storage`` ('full',
'tied', 'diag', 'spherical'): the pass, the shapes of the covariances and of
the precision factors, the model file's arrays. Its M-step is the storage's
(`em.covariance.m_step`, scikit-learn's for the four) followed, for a model
that constrains it, by the model's (`em.parsimonious.constrain`); its free
parameters are mclust's ``nVarParams``.

With a noise component (`em.noise`) a 'tied' structure is stored as 'full'
(the tied factor cannot hold the noise's zero precision) and constrained to
EEE: ``structure("tied", noise=True)``.

The math is `em.covariance`'s and `em.parsimonious`'s; estimators, the
search, the files, the plots and the command line ask a structure and never
branch on the name themselves.
"""

import numpy as np

from .._constants import COVARIANCE_TYPES, MCLUST_MODELS, covariance_shape
from . import covariance as cov
from . import parsimonious

__all__ = ["Structure", "structure"]


class Structure:
    """One covariance structure (see the module docstring).

    Attributes: ``name`` (the ``covariance_type`` it was made from),
    ``storage`` (the kernels' type it is stored and computed as), ``model``
    (its mclust name: 'VVV' for 'full'), ``constrained`` (whether its M-step
    constrains the storage's), ``noise`` (made for a mixture with a noise
    component) and ``diagonal`` (stored as 'diag' or 'spherical').
    """

    def __init__(self, name, storage, model, constrained, noise):
        self.name, self.storage, self.model = name, storage, model
        self.constrained, self.noise = constrained, noise
        self.diagonal = storage in ("diag", "spherical")

    def __repr__(self):
        noise = ", noise=True" if self.noise else ""
        return f"structure({self.name!r}{noise})"

    def __reduce__(self):  # (a pickle or a copy is the one made here)
        return structure, (self.name, self.noise)

    # ------------------------------------------------------------- counts

    def shape(self, n_components, n_features):
        """The shape of the covariances, the precisions and their factors."""
        return covariance_shape(n_components, n_features, self.storage)

    def n_parameters(self, n_components, n_features):
        """Free parameters of the covariances (mclust's ``nVarParams``)."""
        return parsimonious.n_covariance_parameters(self.model, n_components, n_features)

    # ------------------------------------------------------------- M-step

    def m_step(self, stats, centers, reg_covar, eps, total_weight=None, previous=None,
               backend=None):
        """(weights, means, covariances) from statistics around ``centers``:
        the storage's M-step (`em.covariance.m_step`), then the model's.
        ``previous``: the covariances an iterative model's M-step starts from;
        ``backend``: the fit's `kernels.Backend` (`constrain`)."""
        weights, means, covariances = cov.m_step(stats, centers, reg_covar, self.storage,
                                                 eps, total_weight)
        return weights, means, self.constrain(weights, covariances, previous, backend)

    def m_step_scatter(self, scatter, counts, means, reg_covar, eps, total_weight=None,
                       previous=None, backend=None):
        """(weights, covariances) from each component's scatter around its
        mean ``means`` (W_k, shaped as the statistics' s2) and counts n_k:
        `m_step` of statistics whose first moment around ``means`` is 0 (so
        'full' is W_k / n_k + reg_covar I, and every model its own M-step
        from them). The t family's M-step (`em.student`), whose scatter is
        weighted otherwise than its counts."""
        stats = cov.SufficientStats(counts, np.zeros_like(means), scatter)
        weights, _, covariances = self.m_step(stats, means, reg_covar, eps, total_weight,
                                              previous, backend)
        return weights, covariances

    def constrain(self, weights, covariances, previous=None, backend=None):
        """The model's covariances from the storage's (`em.parsimonious`);
        EVE's and VVE's compiled orientation runs on ``backend`` (None:
        ``kernels.get_backend('auto')``)."""
        if not self.constrained:
            return covariances
        return parsimonious.constrain(weights, covariances, self.model, previous, backend)

    # ------------------------------------------ factors and their constants

    def precisions_cholesky(self, covariances, is_float32=False):
        """Cholesky factors of the precisions; ValueError naming a bad component."""
        return cov.precisions_cholesky(covariances, self.storage, is_float32)

    def precisions_cholesky_from_precisions(self, precisions):
        """The factors of user-given precisions."""
        return cov.precisions_cholesky_from_precisions(precisions, self.storage)

    def covariances_from_cholesky(self, precisions_cholesky):
        """The covariances of precision factors."""
        return cov.covariances_from_cholesky(precisions_cholesky, self.storage)

    def precisions(self, precisions_cholesky):
        """The precisions U U^T (U**2 for the diagonal storages)."""
        return cov.precisions_from_cholesky(precisions_cholesky, self.storage)

    def log_det_cholesky(self, precisions_cholesky, n_features):
        """log det U per component."""
        return cov.log_det_cholesky(precisions_cholesky, self.storage, n_features)

    def log_prob_constants(self, weights, precisions_cholesky, n_features, backend=None):
        """c_k = log w_k + log det U_k - d/2 log(2 pi), as the kernels take it
        (computed by ``backend``'s compiled code when given)."""
        return cov.log_prob_constants(weights, precisions_cholesky, self.storage,
                                      n_features, backend)

    def whiten(self, z, precisions_cholesky, component):
        """(x - m_k) U_k for rows ``z`` = x - m_k of one component: their
        squared norms are the Mahalanobis distances squared."""
        U = precisions_cholesky
        if self.storage == "full":
            return z @ U[component]
        if self.storage == "tied":
            return z @ U
        return z * U[component]  # (d,) 'diag', one value 'spherical'

    # ------------------------------------------------- full (k, d, d) matrices

    def expand(self, covariances, n_components, n_features):
        """The covariances as k full d x d matrices, float64."""
        return cov.expand(covariances, self.storage, n_components, n_features)

    def compress(self, full):
        """Full (k, d, d) matrices of this structure's form in its storage's
        shape (`expand` undone)."""
        if self.storage == "full":
            return full
        if self.storage == "tied":
            return full[0]
        if self.storage == "diag":
            return np.stack([np.diag(c) for c in full])
        return full[:, 0, 0].copy()

    def draw(self, rng, means, covariances, counts):
        """``counts[k]`` rows from each component, as scikit-learn's ``sample``
        draws them (one array per component)."""
        if self.storage == "full":
            return [rng.multivariate_normal(m, c, int(n))
                    for m, c, n in zip(means, covariances, counts)]
        if self.storage == "tied":
            return [rng.multivariate_normal(m, covariances, int(n))
                    for m, n in zip(means, counts)]
        d = means.shape[1]
        return [m + rng.standard_normal(size=(n, d)) * np.sqrt(c)
                for m, c, n in zip(means, covariances, counts)]

    def check_precisions(self, precisions):
        """User-given precisions: positive ('diag', 'spherical'), or symmetric
        positive definite; ValueError otherwise (scikit-learn's messages)."""
        t = self.storage
        if self.diagonal:
            if np.any(np.less_equal(precisions, 0.0)):
                raise ValueError("'%s precision' should be positive" % t)
            return
        for p in precisions if t == "full" else [precisions]:
            if not (np.allclose(p, p.T) and np.all(np.linalg.eigvalsh(p) > 0.0)):
                raise ValueError(
                    "'%s precision' should be symmetric, positive-definite" % t)


_MADE = {}


def structure(name, noise=False):
    """The `Structure` of a covariance type or mclust model (made once).

    ``noise``: for a mixture with a noise component ('tied' is then stored
    as 'full' and constrained to equal matrices, EEE). ValueError for a
    name that is neither.
    """
    key = (name, bool(noise))
    made = _MADE.get(key)
    if made is not None:
        return made
    if name not in COVARIANCE_TYPES and name not in MCLUST_MODELS:
        raise ValueError(f"unknown covariance type {name!r}")
    storage = parsimonious.structure_of(name)
    model = parsimonious.model_of(name)
    constrained = model not in parsimonious.NATIVE
    if noise and storage == "tied":
        storage, constrained = "full", True
    made = _MADE.setdefault(key, Structure(name, storage, model, constrained, bool(noise)))
    return made
