"""A fitted mixture <-> the plain arrays and metadata of its model file.

`save` writes a GaussianMixture, a BayesianGaussianMixture (its posterior
and priors besides) or a StudentTMixture (its degrees of freedom besides;
`files.model` gives each of the last two its own format name)
through `files.model`'s functions; `fastgmm._persist.load` builds the
estimator back with `_load_bayesian` and the names here. Neither this module
nor `files.model` imports an estimator: `files.model` knows nothing of the
estimators, this module nothing of the file format beyond `files.model`'s
functions.
"""

from numbers import Integral, Real

import numpy as np

from ..em.family import NOISE_FIELDS
from . import model as _io


def _json_param(value):
    """A constructor parameter as JSON, or None when it cannot be stored."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    # a RandomState/Generator instance: its state is not kept
    return None


def scaling_of(model):
    """``model.scaling_`` as two float64 arrays ``(mean, scale)``, or None."""
    scaling = getattr(model, "scaling_", None)
    if scaling is None:
        return None
    try:
        mean = np.asarray(scaling["mean"], dtype=np.float64)
        scale = np.asarray(scaling["scale"], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            "scaling_ must be a dict with 'mean' and 'scale' arrays of "
            "n_features values"
        ) from None
    return mean, scale


def _is_number(value):
    return isinstance(value, Real) and not isinstance(value, bool) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf")


def save(model, path):
    """Write a fitted mixture to ``path`` (see `GaussianMixture.save`).

    The constructor parameters, fitted attributes, feature names and, when the
    model has one, its ``scaling_``. Raises NotFittedError for a model that
    is not fitted, and ValueError (writing nothing) when its attributes would
    not make a file that `load` reads back.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    arrays = {name: np.asarray(getattr(model, name)) for name in _io.PARAMETER_ARRAYS}
    arrays["lower_bounds_"] = np.asarray(model.lower_bounds_, dtype=np.float64)
    saved_params = {}
    for name, value in model.get_params(deep=False).items():
        if name in _io.INIT_ARRAYS:
            if value is not None:
                arrays["init_" + name] = np.asarray(value)
            saved_params[name] = None
        elif name in _io.PARAM_ARRAYS and value is not None and not _is_number(value):
            arrays["param_" + name] = np.asarray(value)
            saved_params[name] = None
        else:
            saved_params[name] = _json_param(value)
    feature_names = getattr(model, "feature_names_in_", None)
    metadata = {
        "covariance_type": model.covariance_type,
        "dtype": np.dtype(model.means_.dtype).name,
        "n_components": int(model.means_.shape[0]),
        "n_features": int(model.n_features_in_),
        "feature_names": (None if feature_names is None
                          else [str(f) for f in feature_names]),
        "params": saved_params,
        "init_arrays": [name for name in _io.INIT_ARRAYS if "init_" + name in arrays],
        "converged_": bool(model.converged_),
        "n_iter_": int(model.n_iter_),
        "lower_bound_": float(model.lower_bound_),
    }
    scaling = scaling_of(model)
    if scaling is not None:
        arrays["scaling_mean"], arrays["scaling_scale"] = scaling
        metadata["scaling"] = {"method": _io.SCALING_METHOD}
    param_arrays = [name for name in _io.PARAM_ARRAYS if "param_" + name in arrays]
    if param_arrays:
        metadata["param_arrays"] = param_arrays
    if _is_bayesian(model):
        _save_bayesian(model, arrays, metadata)
    if _is_student(model):  # its dof_ and the dof they were fitted with
        arrays["dof_"] = np.asarray(model.dof_)
        metadata["student"] = {"dof": _json_param(model.dof)}
    if model._fitted_spec.noise:  # a noise component (noise=True)
        metadata["noise"] = {name: float(getattr(model, name)) for name in NOISE_FIELDS}
    state = getattr(model, "_stepwise_state", None)
    if state is not None:  # partial_fit's: the next call continues it
        metadata["stepwise"] = {"n_steps_": int(model.n_steps_),
                                "n_samples_seen_": int(model.n_samples_seen_)}
        arrays["stepwise_nk"] = np.asarray(state.nk, dtype=np.float64)
        arrays["stepwise_s2"] = np.asarray(state.s2, dtype=np.float64)
    _io.write_model_file(path, arrays, metadata)


def _is_bayesian(model):
    """Whether ``model`` is a BayesianGaussianMixture (by its parameters: this
    module imports no estimator)."""
    return "weight_concentration_prior_type" in model.get_params(deep=False)


def _is_student(model):
    """Whether ``model`` is a StudentTMixture (by its parameters)."""
    return "dof_init" in model.get_params(deep=False)


def _save_bayesian(model, arrays, metadata):
    """A Bayesian mixture's posterior, priors and array parameters."""
    def f64(value):
        return np.asarray(value, dtype=np.float64)

    arrays["weight_concentration_"] = f64(model.weight_concentration_)
    for name in ("mean_precision_", "degrees_of_freedom_", "mean_prior_",
                 "covariance_prior_"):
        arrays[name] = f64(getattr(model, name))
    metadata["bayesian"] = {
        "weight_concentration_prior_type": model.weight_concentration_prior_type,
        **{name: _json_param(getattr(model, name)) for name in (
            "weight_concentration_prior_", "mean_precision_prior_",
            "degrees_of_freedom_prior_")},
    }
    metadata["param_arrays"] = [name for name in _io.PARAM_ARRAYS
                                if "param_" + name in arrays]


def _load_bayesian(model, arrays, metadata):
    """The attributes `_save_bayesian` stored, shaped as after a fit."""
    bayesian = metadata["bayesian"]
    concentration = arrays["weight_concentration_"]
    model.weight_concentration_ = (
        (concentration[0], concentration[1]) if concentration.ndim == 2
        else concentration)
    model.mean_precision_ = arrays["mean_precision_"]
    dof = arrays["degrees_of_freedom_"]
    model.degrees_of_freedom_ = float(dof) if dof.ndim == 0 else dof
    model.mean_prior_ = arrays["mean_prior_"]
    prior = arrays["covariance_prior_"]
    model.covariance_prior_ = float(prior) if prior.ndim == 0 else prior
    for name in ("weight_concentration_prior_", "mean_precision_prior_",
                 "degrees_of_freedom_prior_"):
        setattr(model, name, bayesian[name])
