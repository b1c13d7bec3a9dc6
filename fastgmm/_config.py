"""What this installation of fastgmm can do: backends, threads, versions."""

import sys


def config():
    """A dict describing the backends and threading of this installation."""
    import numba
    import numpy
    import scipy
    import sklearn

    from . import kernels

    info = {
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "numba_threading_layer": numba.config.THREADING_LAYER,
        "cython_backend": kernels.cython_available(),
    }
    if info["cython_backend"]:
        from .kernels import _cython

        info["cython_openmp"] = bool(_cython.OPENMP)
        info["cython_max_threads"] = int(_cython.max_threads())
    return info


def show_config(file=None):
    """Print the backends, their threading, and library versions.

    Tells in particular whether the Cython extension is built and whether it
    was compiled with OpenMP (without it, the Cython backend runs on one
    thread).
    """
    for key, value in config().items():
        print(f"{key}: {value}", file=file or sys.stdout)
