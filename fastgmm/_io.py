"""Saving and loading fitted mixtures as one ``.npz`` file, without pickle.

The file is a NumPy ``.npz`` archive holding the parameter arrays and one
entry, ``fastgmm_metadata``, a JSON document (stored as a 0-d unicode array)
with the format name and version, the fastgmm version that wrote it, the
covariance type, dtype, number of features, feature names, constructor
parameters and the scalar fitted attributes. Nothing in it is pickled, so
loading a file runs no code from it.

Output files are written to a temporary file in the destination directory and
renamed over the destination only once complete (`atomic_output`).
"""

import json
import os
import tempfile
import zipfile
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np

FORMAT_NAME = "fastgmm.GaussianMixture"
#: Bump when a change makes files unreadable by older fastgmm versions.
FORMAT_VERSION = 1

_METADATA_KEY = "fastgmm_metadata"
_PARAMETER_ARRAYS = (
    "weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_",
)
_INIT_ARRAYS = ("weights_init", "means_init", "precisions_init")


# ---------------------------------------------------------------- writing files


def _default_file_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_output(path, mode="wb", **open_kwargs):
    """Open a temporary file beside ``path``; rename it to ``path`` on success.

    A reader never sees a half-written ``path``, and an existing ``path`` is
    replaced only when the block finishes without an exception (the temporary
    file is removed otherwise).

    Parameters
    ----------
    path : str or path-like
        The file to (re)place.
    mode : str, default='wb'
        'wb' for a binary file, 'w' for text.
    **open_kwargs
        Passed to :func:`open` (e.g. ``newline=''`` or ``encoding``).

    Yields
    ------
    file : file object
        The temporary file, opened in ``mode``.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
    )
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            file_mode = os.stat(path).st_mode & 0o777
        except FileNotFoundError:
            file_mode = _default_file_mode()
        os.chmod(tmp, file_mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ----------------------------------------------------------------------- save


def _json_param(value):
    """A constructor parameter as JSON, or None when it cannot be stored."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    # a RandomState/Generator instance: its state is not kept
    return None


def save(model, path):
    """Write a fitted GaussianMixture to ``path`` (see `GaussianMixture.save`)."""
    from sklearn.utils.validation import check_is_fitted

    from . import __version__

    check_is_fitted(model)
    params = model.get_params(deep=False)
    arrays = {name: np.asarray(getattr(model, name)) for name in _PARAMETER_ARRAYS}
    arrays["lower_bounds_"] = np.asarray(model.lower_bounds_, dtype=np.float64)
    saved_params = {}
    for name, value in params.items():
        if name in _INIT_ARRAYS:
            if value is not None:
                arrays["init_" + name] = np.asarray(value)
            saved_params[name] = None
        else:
            saved_params[name] = _json_param(value)
    feature_names = getattr(model, "feature_names_in_", None)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fastgmm_version": __version__,
        "covariance_type": model.covariance_type,
        "dtype": np.dtype(model.means_.dtype).name,
        "n_components": int(model.means_.shape[0]),
        "n_features": int(model.n_features_in_),
        "feature_names": None if feature_names is None else [str(f) for f in feature_names],
        "params": saved_params,
        "init_arrays": [name for name in _INIT_ARRAYS if "init_" + name in arrays],
        "converged_": bool(model.converged_),
        "n_iter_": int(model.n_iter_),
        # repr of a float round-trips exactly; -inf (max_iter=0) as a string
        "lower_bound_": repr(float(model.lower_bound_)),
    }
    arrays[_METADATA_KEY] = np.array(json.dumps(metadata))
    with atomic_output(path) as f:
        np.savez(f, **arrays)


# ----------------------------------------------------------------------- load


def _not_ours(path, why):
    return ValueError(f"{os.fspath(path)} is not a fastgmm model file: {why}")


def _damaged(path, why):
    return ValueError(f"{os.fspath(path)} is a damaged fastgmm model file: {why}")


def _unreadable(path, why):
    return ValueError(
        f"{os.fspath(path)} cannot be read as a fastgmm model "
        f"(damaged, truncated or not an .npz archive: {why})"
    )


def _read_archive(path):
    """All arrays of the archive, read now (a damaged member fails here)."""
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise _not_ours(path, "a single NumPy array, not an .npz archive")
        with archive:
            return {name: archive[name] for name in archive.files}
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except ValueError as exc:
        if str(exc).startswith(os.fspath(path)):
            raise
        if "pickle" in str(exc):
            raise _not_ours(path, "not a NumPy .npz archive") from None
        raise _unreadable(path, exc) from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, RuntimeError,
            TypeError) as exc:
        raise _unreadable(path, exc) from None


def _read_metadata(path, arrays):
    if _METADATA_KEY not in arrays:
        raise _not_ours(path, f"no {_METADATA_KEY!r} entry")
    entry = arrays[_METADATA_KEY]
    if entry.dtype.kind != "U" or entry.ndim != 0:
        raise _damaged(path, "the metadata entry is not text")
    try:
        metadata = json.loads(str(entry))
    except json.JSONDecodeError as exc:
        raise _damaged(path, f"the metadata is not valid JSON ({exc})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise _not_ours(path, "unknown format")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise _damaged(path, f"invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{os.fspath(path)} was written by a newer fastgmm "
            f"({metadata.get('fastgmm_version', 'unknown version')}, file format "
            f"version {version}); this fastgmm reads format versions up to "
            f"{FORMAT_VERSION}. Upgrade fastgmm to load it."
        )
    return metadata


def _check_arrays(path, arrays, metadata):
    """Shapes, dtypes and values consistent with the metadata, or ValueError."""
    from . import _covariance as cov

    try:
        covariance_type = metadata["covariance_type"]
        k = int(metadata["n_components"])
        d = int(metadata["n_features"])
        dtype = np.dtype(metadata["dtype"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(path, f"incomplete metadata ({exc})") from None
    if covariance_type not in cov.COVARIANCE_TYPES:
        raise _damaged(path, f"unknown covariance type {covariance_type!r}")
    if dtype not in (np.float32, np.float64) or k < 1 or d < 1:
        raise _damaged(path, "invalid dtype or sizes in the metadata")
    cov_shape = cov.covariance_shape(k, d, covariance_type)
    expected = {
        "weights_": (k,),
        "means_": (k, d),
        "covariances_": cov_shape,
        "precisions_cholesky_": cov_shape,
        "precisions_": cov_shape,
    }
    for name, shape in expected.items():
        if name not in arrays:
            raise _damaged(path, f"the array {name} is missing")
        a = arrays[name]
        if a.shape != shape or a.dtype != dtype:
            raise _damaged(
                path, f"{name} has shape {a.shape} and dtype {a.dtype}, "
                f"expected {shape} and {dtype}"
            )
        if not np.all(np.isfinite(a)):
            raise _damaged(path, f"{name} holds non-finite values")
    names = metadata.get("feature_names")
    if names is not None and (
        not isinstance(names, list) or len(names) != d
        or not all(isinstance(n, str) for n in names)
    ):
        raise _damaged(path, "the feature names do not match n_features")


def load(path):
    """Read a GaussianMixture written by :meth:`GaussianMixture.save`.

    The loaded model predicts exactly (bitwise) as the saved one: the
    parameter arrays are stored as they are, in their dtype.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file.

    Returns
    -------
    model : GaussianMixture
        The fitted mixture, with its constructor parameters, fitted
        attributes and feature names (if it was fitted with them).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a fastgmm model file, is damaged or truncated, or
        was written by a newer fastgmm with a newer file format.

    Examples
    --------
    >>> import fastgmm
    >>> gm.save("model.npz")                             # doctest: +SKIP
    >>> gm2 = fastgmm.load("model.npz")                  # doctest: +SKIP
    """
    from .mixture import GaussianMixture

    arrays = _read_archive(path)
    metadata = _read_metadata(path, arrays)
    _check_arrays(path, arrays, metadata)
    params = dict(metadata.get("params") or {})
    for name in metadata.get("init_arrays") or []:
        if name in _INIT_ARRAYS and "init_" + name in arrays:
            params[name] = arrays["init_" + name]
    known = GaussianMixture().get_params()
    # parameters of other fastgmm versions that this one does not know are dropped
    params = {name: value for name, value in params.items() if name in known}
    params["covariance_type"] = metadata["covariance_type"]
    params["n_components"] = int(metadata["n_components"])
    model = GaussianMixture(**params)
    try:
        model._validate_params()
    except ValueError as exc:
        raise _damaged(path, f"invalid parameters ({exc})") from None
    for name in _PARAMETER_ARRAYS:
        setattr(model, name, arrays[name])
    try:
        model.converged_ = bool(metadata["converged_"])
        model.n_iter_ = int(metadata["n_iter_"])
        model.lower_bound_ = float(metadata["lower_bound_"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(path, f"incomplete metadata ({exc})") from None
    lower_bounds = arrays.get("lower_bounds_", np.empty(0))
    model.lower_bounds_ = [float(v) for v in lower_bounds.ravel()]
    model.n_features_in_ = int(metadata["n_features"])
    if metadata.get("feature_names") is not None:
        model.feature_names_in_ = np.asarray(metadata["feature_names"], dtype=object)
    return model
