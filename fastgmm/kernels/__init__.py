"""Compiled kernels and the choice of backend.

`get_backend` returns a `_backend.Backend`: the kernel contract on the
compiled drivers of one backend module, ``_numba`` or ``_cython``, and the
only way the layers above reach compiled code. The contract, written once in
`fastgmm.kernels._backend`: the fused pass (`accumulate`, `begin_pass`,
`fit_pass`), the posterior (`posterior`, `log_prob`), the k-means calls
(`_backend.KMEANS_DRIVERS`), the constants of a pass, EVE's and VVE's
common orientation and a small fit's EM run in one call
(`_backend.EM_DRIVERS`), and the capabilities callers ask
(`Backend.supports_em_loop`, `Backend.one_call_loops`). A backend module
supplies the drivers of `_backend.DRIVERS`, with the same signatures and
bits in both; adding a backend means writing those and naming it here.
"""

import warnings

from .._constants import BACKENDS
from ._backend import Backend
from ._common import single_threaded_blas  # noqa: F401

_warned_fallback = False
_backends = {}


def _load_numba():
    # imported on first use: importing Numba costs a third of a second
    from . import _numba

    return _numba


def _load_cython():
    """The build for this CPU's instruction set (compiled at install time),
    chosen once per value of the variables that steer the choice (looking
    for the installed variants and reading /proc/cpuinfo cost about 0.1 ms a
    time, several times per fit); a choice that fails is tried again."""
    import os

    from . import _dispatch

    key = (os.environ.get(_dispatch.ENV_VARIANT), os.environ.get(_dispatch.ENV_VENDOR))
    module = _loaded_cython.get(key)
    if module is None:
        module = _loaded_cython[key] = _dispatch.load_cython()
    return module


_loaded_cython = {}


def _cached_backend(name, load):
    """The one `Backend` of a driver module (made on first use)."""
    drivers = load()
    backend = _backends.get(name)
    if backend is None or backend.drivers is not drivers:
        backend = _backends[name] = Backend(name, drivers)
    return backend


def cython_available():
    """Whether the compiled Cython extension can be imported."""
    try:
        _load_cython()
    except ImportError:
        return False
    return True


def get_backend(name="auto", n_samples=None, n_features=None, n_components=None,
                covariance_type=None):
    """Return the `Backend` for ``name`` ('auto', 'numba' or 'cython').

    'auto' picks by the workload's shape (`_choose_auto`) when it is given.
    """
    global _warned_fallback
    if name == "numba":
        return _cached_backend("numba", _load_numba)
    if name == "cython":
        try:
            return _cached_backend("cython", _load_cython)
        except ImportError as exc:
            raise ImportError(
                f"fastgmm's Cython backend is not available ({exc}). Build it "
                "with `pip install -e .` (or `python setup.py build_ext "
                "--inplace`) from a source checkout with a C compiler, or use "
                "backend='numba'."
            ) from exc
    if name != "auto":
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    try:
        cython = _cached_backend("cython", _load_cython)
    except ImportError as exc:
        if not _warned_fallback:
            warnings.warn(
                f"fastgmm's Cython extension is not available ({exc}); "
                "backend='auto' uses Numba.",
                RuntimeWarning,
                stacklevel=3,
            )
            _warned_fallback = True
        return _cached_backend("numba", _load_numba)
    if _choose_auto(n_samples, n_features, n_components, covariance_type) == "numba":
        return _cached_backend("numba", _load_numba)
    return cython


#: 'auto' picks Numba for jobs at least this large (n_samples * n_components)
#: on the direct-loop path (except where Cython's copies per d run,
#: `_common.SMALL_D_MAX_FEATURES`); see README.md for the measurements.
AUTO_NUMBA_MIN_WORK = 2_000_000


def _choose_auto(n_samples, n_features, n_components, covariance_type):
    """'cython' where it is faster or the job is small, 'numba' otherwise.

    Cython has no compile or cache-load cost (Numba's first call in a process
    loads its kernels from disk) and its BLAS path (trmm/syrk) does half the
    flops of Numba's (gemm). On the direct loops the faster one depends on the
    workload; the rule follows the measurements in README.md.
    """
    from ._common import DIAG_ROWS_MAX_COMPONENTS, SMALL_D_MAX_FEATURES, uses_blas

    if n_samples is None:
        return "cython"
    # Cython's copies per d (_small_d.h) win on few features (2026-11-26,
    # Zen 3, n=1e6, one process: 'full' d=2..8, k=4 and 16, 1.3-2.1x Numba;
    # 'diag' d=2..6 1.06-1.30x, d=8 0.91-1.12x, 'spherical' d=8 1.10x)
    small_d = (covariance_type in ("full", "diag", "spherical")
               and n_features <= SMALL_D_MAX_FEATURES)
    # and 'diag' with few components on row-major tiles (d=32 and 128, k=4:
    # 1.9-3.8x Numba in the 2026-11-26 runs)
    few_k_diag = (covariance_type in ("diag", "spherical")
                  and n_components <= DIAG_ROWS_MAX_COMPONENTS)
    # 'full' from 9 features runs Cython's register-blocked tiles (2026-12-02,
    # Zen 4, n=2e5, k=8: d=12, 16, 20 1.03-1.09x Numba; digits d=16, k=10,
    # 1.55x Cython's direct loops)
    if (uses_blas(covariance_type, n_features, n_components) or small_d or few_k_diag
            or covariance_type == "full"
            or n_samples * n_components < AUTO_NUMBA_MIN_WORK):
        return "cython"
    return "numba"
