"""The model file format: plain arrays and metadata in one ``.npz``, no pickle.

This module reads and writes *data*; it builds no estimator (that mapping is
`fastgmm.files.estimator`, which imports this module, never the reverse).

A file is a NumPy ``.npz`` archive holding the parameter arrays and one entry,
``fastgmm_metadata``, a JSON document (stored as a 0-d unicode array) with the
format name and version, the fastgmm version that wrote it, the covariance
type, dtype, number of components and features, feature names, constructor
parameters and the scalar fitted attributes. Optional entries: the initial
parameters (``init_weights_init``, ...) and a column scaling (``scaling_mean``,
``scaling_scale`` with a ``"scaling"`` metadata entry; files without them are
read as before, and fastgmm versions that do not know them ignore them).
Nothing in the file is pickled, so reading it runs no code from it.

A BayesianGaussianMixture's file has the format name
``fastgmm.BayesianGaussianMixture`` (so that a fastgmm that does not know it
refuses it rather than read a GaussianMixture with other log-densities), a
``"bayesian"`` metadata entry (the weights' prior type and the scalar
priors), the arrays of its posterior and priors (`BAYESIAN_ARRAYS`), and its
array-valued constructor parameters as ``param_mean_prior`` and
``param_covariance_prior`` (listed in ``"param_arrays"``).

A StudentTMixture's file has the format name ``fastgmm.StudentTMixture`` (a
fastgmm that does not know it refuses it, as it refuses a Bayesian
mixture's), a ``"student"`` metadata entry (``{"dof": ...}``, the ``dof`` it
was fitted with: 'component', 'shared' or the fixed number), the array
``dof_`` (`STUDENT_ARRAYS`, in the parameters' dtype) and, when ``dof_init``
is an array, ``param_dof_init`` (listed in ``"param_arrays"``).

`read_model_file` validates everything it returns (`files.schema`: the names
of a file's entries and their checks): a file that does not hold a
consistent, usable mixture raises ValueError saying what is wrong.
`write_model_file` applies the same checks before writing, so a file that this
version writes, it also reads.

Model files are written to a temporary file in the destination directory and
renamed over the destination only once complete (`files.atomic`).
"""

import json
import os
import zipfile

import numpy as np

from .._version import __version__
from .atomic import atomic_output
from .schema import (  # (the names of a file's entries, for its callers too)
    _INIT_ARRAYS,
    _METADATA_KEY,
    _PARAMETER_ARRAYS,
    BAYESIAN_ARRAYS,
    BAYESIAN_FORMAT_NAME,
    FORMAT_NAME,
    FORMAT_VERSION,
    INIT_ARRAYS,
    METADATA_KEY,
    PARAM_ARRAYS,
    PARAMETER_ARRAYS,
    SCALING_ARRAYS,
    SCALING_METHOD,
    STEPWISE_ARRAYS,
    STUDENT_ARRAYS,
    STUDENT_FORMAT_NAME,
    _is_int,
    problem as _problem,
)

__all__ = ["write_model_file", "read_model_file", "model_path", "not_ours", "damaged",
           "FORMAT_NAME", "BAYESIAN_FORMAT_NAME", "FORMAT_VERSION", "METADATA_KEY",
           "PARAMETER_ARRAYS", "INIT_ARRAYS", "SCALING_ARRAYS", "BAYESIAN_ARRAYS",
           "PARAM_ARRAYS", "SCALING_METHOD", "STEPWISE_ARRAYS", "STUDENT_FORMAT_NAME",
           "STUDENT_ARRAYS", "_METADATA_KEY",
           "_PARAMETER_ARRAYS", "_INIT_ARRAYS"]

def write_model_file(path, arrays, metadata):
    """Write a model file from plain data, after the checks of reading it.

    Parameters
    ----------
    path : str or path-like
        The file to write (atomically, see `atomic_output`), with ``.npz``
        appended unless it ends so (`model_path`).
    arrays : dict of str -> ndarray
        The parameter arrays (`PARAMETER_ARRAYS`), ``lower_bounds_``, and the
        optional ``init_*`` and ``scaling_*`` arrays; for a Bayesian mixture
        also `BAYESIAN_ARRAYS`; for a t mixture `STUDENT_ARRAYS`; the
        ``param_*`` arrays.
    metadata : dict
        JSON-serializable: ``covariance_type``, ``dtype``, ``n_components``,
        ``n_features``, ``feature_names``, ``params``, ``init_arrays``,
        ``converged_``, ``n_iter_``, ``lower_bound_`` (a float) and optionally
        ``scaling``; for a Bayesian mixture ``bayesian`` (a dict:
        ``weight_concentration_prior_type``, ``weight_concentration_prior_``,
        ``mean_precision_prior_``, ``degrees_of_freedom_prior_``); for a t
        mixture ``student`` (``{"dof": ...}``); ``param_arrays`` when there
        are ``param_*`` arrays. The format name and version and the fastgmm
        version are added here.

    Raises
    ------
    ValueError
        If the data would make a file that `read_model_file` refuses; nothing
        is written then.
    """
    path = model_path(path)
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    metadata = dict(metadata)
    lower_bound = float(metadata["lower_bound_"])
    metadata.update(
        # (an entry None, as `read_model_file` returns it: not there)
        format=(BAYESIAN_FORMAT_NAME if metadata.get("bayesian") is not None
                else STUDENT_FORMAT_NAME if metadata.get("student") is not None
                else FORMAT_NAME),
        format_version=FORMAT_VERSION, fastgmm_version=__version__,
        # repr of a float round-trips exactly; -inf (max_iter=0) as a string
        lower_bound_=repr(lower_bound),
    )
    text = json.dumps(metadata, allow_nan=False)
    problem = _problem(arrays, json.loads(text))
    if problem is not None:
        raise ValueError(
            f"not saving {os.fspath(path)}: the model would make a damaged file: "
            f"{problem}"
        )
    arrays[METADATA_KEY] = np.array(text)
    with atomic_output(path) as f:
        np.savez(f, **arrays)


def model_path(path):
    """The file a model is written to: ``path`` when it ends in ``.npz`` (in
    any case, as the command line's ``--out`` takes it), else ``path +
    '.npz'``, as ``numpy.savez`` names its files."""
    path = os.fspath(path)
    suffix = ".npz" if isinstance(path, str) else b".npz"
    return path if path.lower().endswith(suffix) else path + suffix


def not_ours(path, why):
    return ValueError(f"{os.fspath(path)} is not a fastgmm model file: {why}")


def damaged(path, why):
    """The ValueError for a model file whose contents are inconsistent."""
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
            raise not_ours(path, "a single NumPy array, not an .npz archive")
        with archive:
            return {name: archive[name] for name in archive.files}
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except ValueError as exc:
        if str(exc).startswith(os.fspath(path)):
            raise
        if "pickle" in str(exc):
            raise not_ours(path, "not a NumPy .npz archive") from None
        raise _unreadable(path, exc) from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, RuntimeError,
            TypeError) as exc:
        raise _unreadable(path, exc) from None


def _read_metadata(path, arrays):
    if METADATA_KEY not in arrays:
        raise not_ours(path, f"no {METADATA_KEY!r} entry")
    entry = arrays[METADATA_KEY]
    if entry.dtype.kind != "U" or entry.ndim != 0:
        raise damaged(path, "the metadata entry is not text")
    try:
        metadata = json.loads(str(entry))
    except json.JSONDecodeError as exc:
        raise damaged(path, f"the metadata is not valid JSON ({exc})") from None
    if not isinstance(metadata, dict) or metadata.get("format") not in (
        FORMAT_NAME, BAYESIAN_FORMAT_NAME, STUDENT_FORMAT_NAME
    ):
        raise not_ours(path, "unknown format")
    version = metadata.get("format_version")
    if not _is_int(version) or version < 1:
        raise damaged(path, f"invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{os.fspath(path)} was written by a newer fastgmm "
            f"({metadata.get('fastgmm_version', 'unknown version')}, file format "
            f"version {version}); this fastgmm reads format versions up to "
            f"{FORMAT_VERSION}. Upgrade fastgmm to load it."
        )
    return metadata


def read_model_file(path):
    """Read and validate a model file: ``(arrays, metadata)``.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file.

    Returns
    -------
    arrays : dict of str -> ndarray
        The parameter arrays (`PARAMETER_ARRAYS`, in the file's dtype),
        ``lower_bounds_`` (float64, possibly empty), and the ``init_*`` and
        ``scaling_*`` arrays the file has.
    metadata : dict
        As written by `write_model_file`, with ``lower_bound_`` a float,
        ``params`` a dict, ``scaling`` None for a file without scaling and
        ``bayesian`` None unless it is a Bayesian mixture's file, ``student``
        None unless it is a t mixture's.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a fastgmm model file, is damaged, truncated or
        inconsistent (see the module docstring), or was written by a newer
        fastgmm with a newer file format.
    """
    arrays = _read_archive(path)
    metadata = _read_metadata(path, arrays)
    del arrays[METADATA_KEY]
    problem = _problem(arrays, metadata)
    if problem is not None:
        raise damaged(path, problem)
    metadata["lower_bound_"] = float(metadata["lower_bound_"])
    metadata["params"] = dict(metadata.get("params") or {})
    metadata.setdefault("scaling", None)
    metadata.setdefault("bayesian", None)
    metadata.setdefault("student", None)
    arrays["lower_bounds_"] = np.asarray(
        arrays.get("lower_bounds_", np.empty(0)), dtype=np.float64).ravel()
    return arrays, metadata
