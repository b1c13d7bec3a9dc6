"""``fastgmm.load``: the estimator a model file holds.

The estimators' ``save`` and the mapping between a fitted estimator and the
plain arrays and metadata of its file are `fastgmm.files.estimator`'s (which
imports no estimator); `load` picks the estimator class, GaussianMixture,
BayesianGaussianMixture or StudentTMixture, and builds it from what
`fastgmm.files.model` read.

A file written by ``fastgmm fit --scale`` also holds the column scaling its
mixture was fitted after: `load` returns the mixture as fitted, in
standardized units, and sets ``model.scaling_ = {"mean": ..., "scale": ...}``
(float64 arrays of n_features) so that ``(X - mean) / scale`` gives what the
mixture expects. Only such files set ``scaling_``; `save` writes it back.
"""

import numpy as np

from .files import model as _io
from .files.estimator import _load_bayesian


def load(path):
    """Read a mixture written by the ``save`` method of a mixture.

    :meth:`GaussianMixture.save`, :meth:`BayesianGaussianMixture.save` and
    :meth:`StudentTMixture.save` write the file (``.npz``, no pickle). The
    loaded model predicts exactly (bitwise) as the saved one: the parameter
    arrays are stored as they are, in their dtype. Every value is checked
    first (weights, Cholesky factors, covariances, fitted attributes,
    constructor parameters), so a damaged file raises instead of loading.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file, as named (nothing is appended, as in
        :func:`numpy.load`; ``save("model")`` wrote ``model.npz``).

    Returns
    -------
    model : GaussianMixture, BayesianGaussianMixture or StudentTMixture
        The fitted mixture (of the class that saved it; a StudentTMixture's
        ``dof_`` too), with its
        constructor parameters, fitted attributes and feature names (if it
        was fitted with them). A file written by ``fastgmm fit --scale``
        gives the mixture of the standardized columns and ``model.scaling_
        = {"mean": ..., "scale": ...}``: predict on ``(X - mean) / scale``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a fastgmm model file, is damaged, truncated or
        inconsistent, or was written by a newer fastgmm with a newer file
        format.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> import fastgmm
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.randn(100, 2), rng.randn(100, 2) + 5])
    >>> gm = fastgmm.GaussianMixture(2, random_state=0).fit(X)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "model.npz")
    ...     _ = gm.save(path)
    ...     loaded = fastgmm.load(path)
    >>> type(loaded).__name__
    'GaussianMixture'
    >>> bool(np.array_equal(loaded.predict_proba(X), gm.predict_proba(X)))
    True
    """
    arrays, metadata = _io.read_model_file(path)
    student = metadata["student"]
    if metadata["bayesian"] is not None:
        from ._bayesian import BayesianGaussianMixture as estimator
    elif student is not None:
        from ._student import StudentTMixture as estimator
    else:
        from .mixture import GaussianMixture as estimator
    params = dict(metadata["params"])
    for name in metadata.get("init_arrays") or []:
        params[name] = arrays["init_" + name]
    for name in metadata.get("param_arrays") or []:
        params[name] = arrays["param_" + name]
    constraints = getattr(estimator, "_parameter_constraints", {})
    known = estimator().get_params()
    # parameters of other fastgmm versions that this one does not know are dropped
    params = {name: value for name, value in params.items() if name in known}
    for name, value in params.items():
        allowed = constraints.get(name, ())
        if isinstance(value, bool) and "boolean" not in allowed \
                and "verbose" not in allowed:
            raise _io.damaged(path, f"invalid parameters ({name} is {value!r})")
    params["covariance_type"] = metadata["covariance_type"]
    params["n_components"] = metadata["n_components"]
    if student is not None:  # (the dof its dof_ were fitted with)
        params["dof"] = student["dof"]
    model = estimator(**params)
    try:
        model._validate_params()
    except ValueError as exc:  # sklearn's InvalidParameterError
        raise _io.damaged(path, f"invalid parameters ({exc})") from None
    for name in _io.PARAMETER_ARRAYS:
        setattr(model, name, arrays[name])
    noise = metadata.get("noise")  # (`em.family.NOISE_FIELDS`)
    model._set_fitted(model._spec(noise=noise is not None), noise)  # what the arrays are
    model.converged_ = metadata["converged_"]
    model.n_iter_ = metadata["n_iter_"]
    model.lower_bound_ = metadata["lower_bound_"]
    model.lower_bounds_ = [float(v) for v in arrays["lower_bounds_"]]
    if metadata["bayesian"] is not None:
        _load_bayesian(model, arrays, metadata)
    if student is not None:
        model.dof_ = arrays["dof_"]
    model.n_features_in_ = metadata["n_features"]
    if metadata.get("feature_names") is not None:
        model.feature_names_in_ = np.asarray(metadata["feature_names"], dtype=object)
    if metadata["scaling"] is not None:
        model.scaling_ = {"mean": arrays["scaling_mean"],
                          "scale": arrays["scaling_scale"]}
    stepwise = metadata.get("stepwise")
    if stepwise is not None:
        from .em.driver import StepwiseState

        model.n_steps_ = stepwise["n_steps_"]
        model.n_samples_seen_ = stepwise["n_samples_seen_"]
        model._stepwise_state = StepwiseState(arrays["stepwise_nk"],
                                              arrays["stepwise_s2"])
    return model
