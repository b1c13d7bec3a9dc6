"""What a model file holds, and the checks of it (`fastgmm.files.model`
reads and writes the file): the format names and version, the names of its
arrays, and `problem`, what is wrong with a model's arrays and metadata (or
None), which `files.model` applies when reading and before writing.
"""

import math

import numpy as np

from .._constants import (
    COVARIANCE_TYPES,
    MCLUST_MODELS,
    WEIGHT_PRIOR_TYPES,
    count,
    covariance_shape,
)
from ..em.structure import structure

FORMAT_NAME = "fastgmm.GaussianMixture"


BAYESIAN_FORMAT_NAME = "fastgmm.BayesianGaussianMixture"


#: A StudentTMixture's file: another name, so that a fastgmm that does not know
#: it refuses it rather than read a Gaussian mixture of its arrays.
STUDENT_FORMAT_NAME = "fastgmm.StudentTMixture"


#: Bump when a change makes files unreadable by older fastgmm versions.
FORMAT_VERSION = 1


METADATA_KEY = "fastgmm_metadata"


_METADATA_KEY = METADATA_KEY  # older name, kept for callers


PARAMETER_ARRAYS = (
    "weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_",
)


_PARAMETER_ARRAYS = PARAMETER_ARRAYS


INIT_ARRAYS = ("weights_init", "means_init", "precisions_init")


_INIT_ARRAYS = INIT_ARRAYS


SCALING_ARRAYS = ("scaling_mean", "scaling_scale")


#: A BayesianGaussianMixture's posterior and priors (float64 arrays).
BAYESIAN_ARRAYS = ("weight_concentration_", "mean_precision_", "degrees_of_freedom_",
                   "mean_prior_", "covariance_prior_")


#: A StudentTMixture's degrees of freedom (in the file's dtype, as its
#: parameter arrays).
STUDENT_ARRAYS = ("dof_",)


#: The constructor parameters that may be arrays (``param_`` + name in a file):
#: a BayesianGaussianMixture's priors, a StudentTMixture's ``dof_init``.
PARAM_ARRAYS = ("mean_prior", "covariance_prior", "dof_init")


#: The one scaling method a file can describe: x -> (x - mean) / scale.
SCALING_METHOD = "standardize"


#: Relative tolerances of the consistency checks, by dtype: weights summing to
#: one (those of scikit-learn's check of ``weights_init``), and element-wise /
#: norm-wise agreement of products that are well conditioned.
_SUM_ATOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-8}


_RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-8}


#: Rounding-error allowance, in units of eps(dtype) x condition number, for
#: checks whose accuracy depends on the conditioning of the covariance (the
#: fitted parameters of this version stay below 0.3 of it; see `_check_factor`).
_ROUNDING_FACTOR = 16.0


#: partial_fit's running statistics (`em.driver.StepwiseState`).
STEPWISE_ARRAYS = ("stepwise_nk", "stepwise_s2")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def problem(arrays, metadata):
    """What is wrong with a model's data, or None. Checks, in order: the
    metadata, the arrays' shapes, dtypes and finiteness, then their values."""
    try:
        covariance_type = metadata["covariance_type"]
        k = metadata["n_components"]
        d = metadata["n_features"]
        dtype_name = metadata["dtype"]
    except KeyError as exc:
        return f"incomplete metadata (no {exc})"
    if covariance_type not in COVARIANCE_TYPES and covariance_type not in MCLUST_MODELS:
        return f"unknown covariance type {covariance_type!r}"
    if metadata.get("bayesian") is not None and covariance_type not in COVARIANCE_TYPES:
        return f"a Bayesian mixture of covariance type {covariance_type!r}"
    noise = metadata.get("noise")
    if noise is not None:
        problem = _check_noise(noise, metadata)
        if problem:
            return problem
    # (the arrays are those of the structure's storage: an mclust model's,
    # 'tied' with a noise component as 'full')
    covariance_type = structure(covariance_type, noise is not None).storage
    if dtype_name not in ("float32", "float64") or not _is_int(k) or not _is_int(d) \
            or k < 1 or d < 1:
        return "invalid dtype or sizes in the metadata"
    dtype = np.dtype(dtype_name)
    problem = (_check_scalars(metadata) or _check_params(metadata, k)
               or _check_feature_names(metadata, d))
    if problem:
        return problem
    cov_shape = covariance_shape(k, d, covariance_type)
    expected = {
        "weights_": (k,),
        "means_": (k, d),
        "covariances_": cov_shape,
        "precisions_cholesky_": cov_shape,
        "precisions_": cov_shape,
    }
    for name, shape in expected.items():
        if name not in arrays:
            return f"the array {name} is missing"
        a = arrays[name]
        if a.shape != shape or a.dtype != dtype:
            return (f"{name} has shape {a.shape} and dtype {a.dtype}, "
                    f"expected {shape} and {dtype}")
        if not np.all(np.isfinite(a)):
            return f"{name} holds non-finite values"
    return (_check_weights(arrays["weights_"],
                           0.0 if noise is None else noise["noise_weight_"])
            or _check_factor(arrays, covariance_type)
            or _check_lower_bounds(arrays)
            or _check_init_arrays(arrays, metadata)
            or _check_scaling(arrays, metadata, d)
            or _check_param_arrays(arrays, metadata)
            or _check_bayesian(arrays, metadata, k, d)
            or _check_student(arrays, metadata, k, dtype)
            or _check_stepwise(arrays, metadata, k, d, covariance_type))


def _check_scalars(metadata):
    """The fitted scalars: converged_ a bool, n_iter_ >= 0, lower_bound_."""
    for name in ("converged_", "n_iter_", "lower_bound_"):
        if name not in metadata:
            return f"incomplete metadata (no {name!r})"
    if not isinstance(metadata["converged_"], bool):
        return f"converged_ is {metadata['converged_']!r}, not true or false"
    n_iter = metadata["n_iter_"]
    if not _is_int(n_iter) or n_iter < 0:
        return f"n_iter_ is {n_iter!r}, not an integer >= 0"
    bound = metadata["lower_bound_"]
    try:
        value = float(bound) if isinstance(bound, str) or _is_number(bound) else None
    except ValueError:
        value = None
    if value is None or math.isnan(value) or value == math.inf:
        return f"lower_bound_ is {bound!r}, not a number (or -inf)"
    return None


def _check_params(metadata, n_components):
    """The constructor parameters as JSON scalars; the estimator checks their
    values (`fastgmm._persist`). n_threads: None or an integer >= 1 (a large
    one is capped at the usable cores when the model runs)."""
    params = metadata.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return "the constructor parameters are not a JSON object"
    for name, value in params.items():
        if not (value is None or isinstance(value, (bool, int, float, str))):
            return f"the parameter {name} is {value!r}, not a single value"
    n_threads = params.get("n_threads")
    if n_threads is not None and (not _is_int(n_threads) or n_threads < 1):
        return f"invalid parameters (n_threads is {n_threads!r}, not an integer >= 1)"
    stated = params.get("n_components", n_components)
    if stated != n_components:
        return (f"the parameter n_components is {stated!r} but the file holds "
                f"{count(n_components, 'component')}")
    if params.get("covariance_type", metadata["covariance_type"]) \
            != metadata["covariance_type"]:
        return "the parameter covariance_type differs from the covariance type"
    return None


def _check_feature_names(metadata, n_features):
    names = metadata.get("feature_names")
    if names is not None and (
        not isinstance(names, list) or len(names) != n_features
        or not all(isinstance(n, str) for n in names)
    ):
        return "the feature names do not match n_features"
    return None


def _check_weights(weights, noise_weight=0.0):
    """As scikit-learn checks ``weights_init``: in [0, 1], summing to one
    (with the noise component's weight)."""
    if np.any(weights < 0) or np.any(weights > 1):
        return (f"weights_ must lie in [0, 1]; they range from {weights.min():.6g} "
                f"to {weights.max():.6g}")
    total = float(np.sum(weights, dtype=np.float64)) + noise_weight
    if not abs(1.0 - total) <= _SUM_ATOL[weights.dtype]:
        what = "with noise_weight_ " if noise_weight else ""
        return f"weights_ {what}must sum to 1; they sum to {total!r}"
    return None


def _check_noise(noise, metadata):
    """A noise component's weight in [0, 1] and volume > 0, for a model
    whose parameters say noise=True. A weight of 1 is a fit's boundary (a
    small volume, or an initial noise weight of 1: the noise takes every
    row, the Gaussians' weights are ~1e-17), a mixture all the same."""
    if not isinstance(noise, dict):
        return "no 'noise' entry of the noise component"
    weight, volume = noise.get("noise_weight_"), noise.get("noise_volume_")
    if not (_is_number(weight) and 0.0 <= weight <= 1.0):
        return f"noise_weight_ is {weight!r}, not a number in [0, 1]"
    if not (_is_number(volume) and math.isfinite(volume) and volume > 0):
        return f"noise_volume_ is {volume!r}, not a positive number"
    if not (metadata.get("params") or {}).get("noise", False):
        return "a noise component in a model whose parameters have noise=False"
    if metadata.get("bayesian") is not None:
        return "a noise component in a Bayesian mixture"
    if metadata.get("student") is not None:
        return "a noise component in a t mixture"
    return None


def _check_factor(arrays, covariance_type):
    """precisions_cholesky_ U, covariances_ C and precisions_ P of one mixture.

    U is upper triangular (strictly lower part exactly zero) with a positive
    diagonal ('diag', 'spherical': all positive); P = U U^T; C is symmetric,
    positive definite and the inverse of P.

    Storing C in the file's dtype rounds it by eps |C|, which moves
    U^T C U away from the identity by up to eps ||C|| ||P|| (= eps times the
    condition number): for an ill-conditioned float32 covariance the file
    cannot tell C's smallest eigenvalue apart from zero. So ``C = inv(P)``
    is checked as ``||U^T C U - I|| <= rtol + 16 eps cond(C)``, and C's
    positive definiteness as "no eigenvalue below -16 d eps ||C||"; when
    ``U^T C U`` is within 1 of the identity, C is positive definite exactly.
    """
    U64 = arrays["precisions_cholesky_"].astype(np.float64)
    C64 = arrays["covariances_"].astype(np.float64)
    P64 = arrays["precisions_"].astype(np.float64)
    dtype = arrays["precisions_cholesky_"].dtype
    rtol, eps = _RTOL[dtype], float(np.finfo(dtype).eps)
    if covariance_type in ("diag", "spherical"):
        if np.any(U64 <= 0):
            return "precisions_cholesky_ must be positive"
        if np.any(C64 <= 0):
            return "covariances_ must be positive"
        if not np.allclose(P64, U64 * U64, rtol=rtol, atol=0):
            return "precisions_ is not the square of precisions_cholesky_"
        if not np.allclose(C64 * U64 * U64, 1.0, rtol=0, atol=rtol):
            return "covariances_ is not the inverse of the precisions"
        return None
    if covariance_type == "tied":
        U64, C64, P64 = U64[None], C64[None], P64[None]
    d = U64.shape[-1]
    eye = np.eye(d)
    for c, (u, cov, prec) in enumerate(zip(U64, C64, P64)):
        which = "the tied covariance" if covariance_type == "tied" else f"component {c}"
        if np.any(np.tril(u, -1) != 0):
            return (f"precisions_cholesky_ of {which} is not upper triangular "
                    "(its part below the diagonal is not zero)")
        if np.any(np.diag(u) <= 0):
            return (f"precisions_cholesky_ of {which} has a diagonal entry <= 0 "
                    "(a Cholesky factor's diagonal is positive)")
        product = u @ u.T
        if np.linalg.norm(prec - product) > rtol * np.linalg.norm(product):
            return f"precisions_ of {which} is not U U^T of precisions_cholesky_"
        cov_norm = np.linalg.norm(cov, 2)
        if np.linalg.norm(cov - cov.T) > rtol * cov_norm:
            return f"covariances_ of {which} is not symmetric"
        smallest = np.linalg.eigvalsh(0.5 * (cov + cov.T))[0]
        if not smallest > -_ROUNDING_FACTOR * d * eps * cov_norm:
            return (f"covariances_ of {which} is not positive definite "
                    f"(an eigenvalue is {smallest:.6g})")
        condition = cov_norm * np.linalg.norm(product, 2)
        residual = np.linalg.norm(u.T @ cov @ u - eye, 2)
        if not residual <= rtol + _ROUNDING_FACTOR * eps * condition:
            return (f"covariances_ of {which} is not the inverse of its precision "
                    f"(U^T C U differs from the identity by {residual:.3g})")
    return None


def _check_lower_bounds(arrays):
    bounds = arrays.get("lower_bounds_")
    if bounds is None:
        return None
    if bounds.dtype.kind not in "fiu" or bounds.ndim > 1 \
            or np.any(np.isnan(bounds)) or np.any(bounds == np.inf):
        return "lower_bounds_ is not a list of numbers"
    return None


def _check_init_arrays(arrays, metadata):
    names = metadata.get("init_arrays") or []
    if not isinstance(names, list) or not all(n in INIT_ARRAYS for n in names):
        return f"unknown initial parameters {names!r}"
    for name in names:
        a = arrays.get("init_" + name)
        if a is None:
            return f"the array init_{name} is missing"
        if a.dtype.kind not in "biuf" or not np.all(np.isfinite(a)):
            return f"init_{name} does not hold finite numbers"
    return None


def _check_scaling(arrays, metadata, n_features):
    scaling = metadata.get("scaling")
    present = [name for name in SCALING_ARRAYS if name in arrays]
    if scaling is None:
        return "scaling arrays without a 'scaling' entry" if present else None
    if not isinstance(scaling, dict) or scaling.get("method") != SCALING_METHOD:
        return f"unknown scaling {scaling!r}"
    for name in SCALING_ARRAYS:
        a = arrays.get(name)
        if a is None:
            return f"the array {name} is missing"
        if a.shape != (n_features,) or a.dtype != np.float64 \
                or not np.all(np.isfinite(a)):
            return f"{name} is not {count(n_features, 'finite float64 value')}"
    if np.any(arrays["scaling_scale"] <= 0):
        return "scaling_scale must be positive"
    return None


#: The running statistics of `partial_fit` (``stepwise_`` + name in a file).
def _check_stepwise(arrays, metadata, k, d, covariance_type):
    """The state of `partial_fit`: absent, or its step count, rows seen and
    running statistics (finite float64 of their shapes, counts >= 0)."""
    stepwise = metadata.get("stepwise")
    present = [name for name in STEPWISE_ARRAYS if name in arrays]
    if stepwise is None:
        return "stepwise arrays without a 'stepwise' entry" if present else None
    if not isinstance(stepwise, dict) or not all(
            _is_int(stepwise.get(name)) and stepwise[name] >= 0
            for name in ("n_steps_", "n_samples_seen_")):
        return f"invalid partial_fit state {stepwise!r}"
    # the running scatter is shaped as SufficientStats.s2: as the covariances
    shapes = {"stepwise_nk": (k,),
              "stepwise_s2": covariance_shape(k, d, covariance_type)}
    for name, shape in shapes.items():
        a = arrays.get(name)
        if a is None:
            return f"the array {name} is missing"
        if a.shape != shape or a.dtype != np.float64 or not np.all(np.isfinite(a)):
            return f"{name} is not finite float64 values of shape {shape}"
    if np.any(arrays["stepwise_nk"] < 0):
        return "stepwise_nk must not be negative"
    return None


def _check_bayesian(arrays, metadata, n_components, n_features):
    """A Bayesian mixture's posterior and priors: present exactly in a file of
    its format, float64, finite, in their domains, and ``weights_`` their
    expected weights."""
    bayesian = metadata.get("bayesian")
    if metadata.get("format") != BAYESIAN_FORMAT_NAME:
        present = [n for n in BAYESIAN_ARRAYS if n in arrays]
        if bayesian is not None or present:
            return "a GaussianMixture's file with a Bayesian mixture's entries"
        return None
    if not isinstance(bayesian, dict):
        return "no 'bayesian' entry in a Bayesian mixture's metadata"
    prior_type = bayesian.get("weight_concentration_prior_type")
    if prior_type not in WEIGHT_PRIOR_TYPES:
        return f"unknown weight_concentration_prior_type {prior_type!r}"
    k, d, t = n_components, n_features, metadata["covariance_type"]
    for name in ("weight_concentration_prior_", "mean_precision_prior_",
                 "degrees_of_freedom_prior_"):
        value = bayesian.get(name)
        if not _is_number(value) or not math.isfinite(value) or value <= 0:
            return f"{name} is {value!r}, not a positive number"
    if not bayesian["degrees_of_freedom_prior_"] > d - 1:
        return f"degrees_of_freedom_prior_ must exceed n_features - 1 = {d - 1}"
    expected = {
        "weight_concentration_": (2, k) if prior_type == "dirichlet_process" else (k,),
        "mean_precision_": (k,),
        "degrees_of_freedom_": () if t == "tied" else (k,),
        "mean_prior_": (d,),
        "covariance_prior_": {"full": (d, d), "tied": (d, d), "diag": (d,),
                              "spherical": ()}[t],
    }
    for name, shape in expected.items():
        a = arrays.get(name)
        if a is None:
            return f"the array {name} is missing"
        if a.shape != shape or a.dtype != np.float64:
            return (f"{name} has shape {a.shape} and dtype {a.dtype}, "
                    f"expected {shape} and float64")
        if not np.all(np.isfinite(a)):
            return f"{name} holds non-finite values"
    for name in ("weight_concentration_", "mean_precision_"):
        if np.any(arrays[name] <= 0):
            return f"{name} must be positive"
    if np.any(arrays["degrees_of_freedom_"] <= d - 1):
        return f"degrees_of_freedom_ must exceed n_features - 1 = {d - 1}"
    prior = arrays["covariance_prior_"]
    if prior.ndim == 2:
        if np.linalg.norm(prior - prior.T) > _RTOL[prior.dtype] * np.linalg.norm(prior) \
                or not np.linalg.eigvalsh(0.5 * (prior + prior.T))[0] > 0:
            return "covariance_prior_ is not symmetric positive definite"
    elif np.any(prior <= 0):
        return "covariance_prior_ must be positive"
    concentration = arrays["weight_concentration_"]
    if prior_type == "dirichlet_process":
        a, b = concentration
        weights = a / (a + b) * np.concatenate(([1.0], np.cumprod(b / (a + b))[:-1]))
    else:
        weights = concentration
    weights = weights / weights.sum()
    stored = arrays["weights_"].astype(np.float64)
    if not np.allclose(stored, weights, rtol=_RTOL[arrays["weights_"].dtype],
                       atol=_SUM_ATOL[arrays["weights_"].dtype]):
        return "weights_ are not the expected weights of weight_concentration_"
    return None


def _check_param_arrays(arrays, metadata):
    """The array-valued constructor parameters (`PARAM_ARRAYS`) a file lists:
    present and finite numbers (the estimator checks their shapes)."""
    names = metadata.get("param_arrays") or []
    if not isinstance(names, list) or not all(n in PARAM_ARRAYS for n in names):
        return f"unknown array parameters {names!r}"
    for name in names:
        a = arrays.get("param_" + name)
        if a is None:
            return f"the array param_{name} is missing"
        if a.dtype.kind not in "biuf" or not np.all(np.isfinite(a)):
            return f"param_{name} does not hold finite numbers"
    return None


def _check_student(arrays, metadata, n_components, dtype):
    """A t mixture's degrees of freedom: present exactly in a file of its
    format, with its ``"student"`` entry (``{"dof": the dof it was fitted
    with}``: 'component', 'shared' or a number > 0, fixed), as the ``dof``
    parameter says; ``dof_`` of shape (k,) in the file's dtype, finite and
    > 0, all equal for 'shared', the fixed number for a number."""
    student = metadata.get("student")
    if metadata.get("format") != STUDENT_FORMAT_NAME:
        present = [n for n in STUDENT_ARRAYS if n in arrays]
        if student is not None or present:
            return "a Gaussian mixture's file with a t mixture's entries"
        return None
    if not isinstance(student, dict):
        return "no 'student' entry in a t mixture's metadata"
    dof = student.get("dof")
    fixed = _is_number(dof)
    if not (dof in ("component", "shared")
            or fixed and math.isfinite(dof) and dof > 0):
        return f"the t mixture's dof is {dof!r}, not 'component', 'shared' or a number > 0"
    params = metadata.get("params") or {}
    if "dof" in params and params["dof"] != dof:
        return (f"the parameter dof is {params['dof']!r} but dof_ were fitted with "
                f"dof={dof!r}")
    a = arrays.get("dof_")
    if a is None:
        return "the array dof_ is missing"
    if a.shape != (n_components,) or a.dtype != dtype:
        return (f"dof_ has shape {a.shape} and dtype {a.dtype}, expected "
                f"({n_components},) and {dtype}")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        return "dof_ must be positive and finite"
    if dof == "shared" and np.any(a != a[0]):
        return "dof_ are not one value, as dof='shared' fits"
    if fixed and not np.allclose(a.astype(np.float64), dof, rtol=_RTOL[dtype], atol=0):
        return f"dof_ are not the fixed dof={dof!r}"
    return None
