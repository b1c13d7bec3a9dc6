"""`GaussianMixture.condition`: the mixture of the other features given the
values of some (the conditional Gaussians of each component, weighted by the
kernels' posterior of a row with only those values observed)."""

from numbers import Integral

import numpy as np

from . import kernels
from .em.family import MixtureParams
from .sources.missing import conditional_gaussians


def conditional_mixture(mixture, values, features):
    """The fitted mixture (of ``mixture``'s class) of the other features
    given ``values`` of ``features`` (see `GaussianMixture.condition`)."""
    d = mixture.means_.shape[1]
    given = _given_features(features, d)
    values = np.asarray(values, dtype=np.float64).ravel()
    if given.size == 0 or given.size >= d or np.unique(given).size != given.size:
        raise ValueError(f"features must name between 1 and {d - 1} distinct "
                         f"features of the {d}, got {np.asarray(features).tolist()}")
    if values.shape != given.shape or not np.all(np.isfinite(values)):
        raise ValueError(f"values must be {given.size} finite numbers, one per "
                         f"given feature, got {values.tolist()}")
    rest = np.setdiff1d(np.arange(d), given)
    k = mixture.means_.shape[0]
    means = mixture.means_.astype(np.float64)
    structure = mixture._fitted_spec.structure
    covs = structure.expand(structure.covariances_from_cholesky(
        mixture.precisions_cholesky_.astype(np.float64)), k, d)
    with np.errstate(divide="ignore"):  # (a component of weight 0: -inf)
        log_weights = np.log(mixture.weights_.astype(np.float64))
    # the conditional Gaussians of a row whose other entries are missing,
    # weighted by the kernels' posterior of that row (predict_proba's)
    weights, new_means, new_covs = conditional_gaussians(
        values, given, rest, log_weights, means, covs,
        kernels.get_backend(mixture.backend))
    if not np.all(np.isfinite(new_means)):
        raise ValueError(f"values {values.tolist()} are so far from the "
                         "components that their conditional means overflow")
    # (the conditionals of an mclust model: its storage's form)
    covariances = structure.compress(new_covs)
    out = type(mixture)(n_components=k, covariance_type=structure.storage, **{
        name: value for name, value in mixture.get_params(deep=False).items()
        if name not in ("n_components", "covariance_type", "weights_init",
                        "means_init", "precisions_init", "noise")})
    chol = out._spec().structure.precisions_cholesky(covariances)
    out._set_parameters(MixtureParams.from_arrays(weights, new_means,
                                                  covariances, chol), np.float64)
    out.converged_, out.n_iter_ = True, 0
    out.lower_bound_, out.lower_bounds_ = -np.inf, []
    out.n_features_in_ = rest.size
    names = getattr(mixture, "feature_names_in_", None)
    if names is not None:
        out.feature_names_in_ = np.asarray(names)[rest]
    return out


def _given_features(features, n_features):
    """The indices ``condition``'s ``features`` names, checked as
    scikit-learn checks column indices (`sklearn.utils._safe_indexing`):
    integers, negative ones counting from the end, or a boolean mask of all
    features; anything else is a ValueError (never cast: 0.5 is not feature
    0)."""
    d = n_features
    kind = (f"features must be integer indices or a boolean mask of the {d} "
            f"features, got {features!r}")
    if isinstance(features, (list, tuple)) and len(
            {isinstance(f, (bool, np.bool_)) for f in features}) > 1:
        raise ValueError(kind)  # (a mix of booleans and integers)
    array = np.asarray(features)
    if array.ndim > 1:
        raise ValueError(kind)
    if array.dtype == bool:
        if array.shape != (d,):
            raise ValueError(f"a mask of features needs {d} values, got "
                             f"{array.shape}")
        return np.flatnonzero(array)
    if array.size == 0:
        return np.zeros(0, dtype=np.intp)
    indices = array.ravel().tolist()  # Python ints: no overflow in the checks
    if array.dtype.kind not in "iuO" or not all(
            isinstance(i, Integral) and not isinstance(i, (bool, np.bool_))
            for i in indices):
        raise ValueError(kind)
    if not all(-d <= i < d for i in indices):
        raise ValueError(f"features must name features in [0, {d - 1}] (or "
                         f"[{-d}, -1], counting from the end), got {indices}")
    return np.array([int(i) % d for i in indices], dtype=np.intp)
