"""What this installation of fastgmm can do: backends, threads, versions."""

import sys


def config():
    """A dict describing the backends and threading of this installation."""
    import numba
    import numpy
    import scipy
    import sklearn

    from .kernels._common import usable_cores

    info = {
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "numba": numba.__version__,
        # both backends run a pass on at most this many threads by default
        "kernel_threads": usable_cores(),
    }
    info.update(_cython_config())
    return info


def _cython_config():
    """The Cython backend: which instruction-set variants are installed, which
    one this CPU runs (see kernels/_dispatch.py), or why it is unavailable."""
    from . import kernels
    from .kernels import _dispatch

    info = {"cython_variants_built": [v.name for v in _dispatch.installed()]}
    if _dispatch.built_with_native():
        info["cython_variants_built"] = ["native"]
    failed = _dispatch.build_info().get("failed")
    if failed:
        info["cython_variants_failed"] = failed
    try:
        module = kernels._load_cython()
    except ImportError as exc:
        info["cython_backend"] = False
        info["cython_unavailable"] = str(exc)
        return info
    info["cython_backend"] = True
    info["cython_variant"] = getattr(module, "CPU_VARIANT", "baseline")
    info["cython_openmp"] = bool(module.OPENMP)
    info["cython_max_threads"] = int(module.max_threads())
    return info


def show_config(file=None):
    """Print the backends, their threading, and library versions.

    Tells in particular whether the Cython extension is built (and if not,
    why), which of its instruction-set variants are installed and which one
    this CPU runs, and whether it was compiled with OpenMP (without it, the
    Cython backend runs on one thread).

    Parameters
    ----------
    file : file-like, default=None
        Where to print: a text stream (any object with a ``write`` method).
        None: ``sys.stdout``.

    Examples
    --------
    >>> import io
    >>> import fastgmm
    >>> fastgmm.show_config()  # doctest: +ELLIPSIS
    python: 3...
    numpy: ...
    scikit-learn: ...
    kernel_threads: ...
    cython_variants_built: [...]
    ...
    >>> buffer = io.StringIO()
    >>> fastgmm.show_config(file=buffer)
    >>> buffer.getvalue().splitlines()[0].split(":")[0]
    'python'
    """
    for key, value in config().items():
        print(f"{key}: {value}", file=file or sys.stdout)
