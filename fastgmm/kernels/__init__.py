"""Compiled kernels and the choice of backend.

Every backend module provides the same two functions (see DESIGN.md):

``accumulate(X, w, c, means, U, covariance_type, out, n_threads=None) -> L``
    One fused pass over the rows of X: log-probabilities
    ``log p_ik = c_k - 0.5 * ||(x_i - m_k) U_k||^2``, a max-shifted
    log-sum-exp per row, responsibilities r_ik, and the sufficient statistics
    ``out.nk[k] = sum_i w_i r_ik``, ``out.s1[k] = sum_i w_i r_ik (x_i - m_k)``,
    ``out.s2`` the weighted scatter around m_k (shape by covariance type),
    returning ``L = sum_i w_i logsumexp_k log p_ik``. No n x k array is made.

``log_prob(X, c, means, U, covariance_type, out, n_threads=None)``
    Fills the n x k matrix ``out`` with log p_ik.

``posterior(X, c, means, U, covariance_type, log_norm=None, resp=None,
labels=None, raw=False, n_threads=None)``
    The same log p_ik, reduced per row without an n x k temporary:
    ``log_norm[i] = logsumexp_k log p_ik`` (score_samples),
    ``resp[i, k] = exp(log p_ik - log_norm[i])`` (predict_proba) and
    ``labels[i] = argmax_k log p_ik`` (predict); each is filled only when given.
    With ``raw=True``, ``resp`` receives log p_ik itself (this is `log_prob`).

X is C-contiguous float32 or float64; w, c, means and U are float64 (w may
be None: every row weighs 1); the statistics are float64.
"""

import warnings

from ._common import single_threaded_blas  # noqa: F401

from .._constants import BACKENDS

_warned_fallback = False


def _load_numba():
    # imported on first use: importing Numba costs a third of a second
    from . import _numba

    return _numba


def _load_cython():
    # the build for this CPU's instruction set (compiled at install time)
    from ._dispatch import load_cython

    return load_cython()


def backend_name(module):
    """'numba' or 'cython': the name of a backend module from `get_backend`."""
    return module.__name__.rsplit("_", 1)[-1]


def cython_available():
    """Whether the compiled Cython extension can be imported."""
    try:
        _load_cython()
    except ImportError:
        return False
    return True


def get_backend(name="auto", n_samples=None, n_features=None, n_components=None,
                covariance_type=None):
    """Return the kernel module for ``name`` ('auto', 'numba' or 'cython')."""
    global _warned_fallback
    if name == "numba":
        return _load_numba()
    if name == "cython":
        try:
            return _load_cython()
        except ImportError as exc:
            raise ImportError(
                "fastgmm's Cython backend is not built. Build it with "
                "`pip install -e .` (or `python setup.py build_ext --inplace`) "
                "from a source checkout with a C compiler, or use backend='numba'."
            ) from exc
    if name != "auto":
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    try:
        cython = _load_cython()
    except ImportError:
        if not _warned_fallback:
            warnings.warn(
                "fastgmm's Cython extension is not built; backend='auto' uses "
                "Numba.",
                RuntimeWarning,
                stacklevel=3,
            )
            _warned_fallback = True
        return _load_numba()
    return _choose_auto(cython, n_samples, n_features, n_components, covariance_type)


#: 'auto' picks Numba for jobs at least this large (n_samples * n_components)
#: on the direct-loop path; see README.md for the measurements behind it.
AUTO_NUMBA_MIN_WORK = 2_000_000
#: ... except for 'diag' with at most this many features, where Cython is faster.
AUTO_CYTHON_MAX_DIAG_FEATURES = 2


def _choose_auto(cython, n_samples, n_features, n_components, covariance_type):
    """Cython where it is faster or the job is small, Numba otherwise.

    Cython has no compile or cache-load cost (Numba's first call in a process
    loads its kernels from disk) and its BLAS path (trmm/syrk) does half the
    flops of Numba's (gemm). On the direct loops the faster one depends on the
    workload; the rule follows the measurements in README.md.
    """
    if n_samples is None:
        return cython
    blas_path = covariance_type == "full" and n_features >= cython.BLAS_MIN_FEATURES
    # gcc's loops win on the narrowest 'diag' rows (2026-11-25, Zen 3: d=2,
    # n=1e6, k=4 and 16: Cython 10-25% faster); Numba's on 'full' d=8 (1.4-1.8x)
    narrow_diag = (covariance_type == "diag"
                   and n_features <= AUTO_CYTHON_MAX_DIAG_FEATURES)
    if blas_path or narrow_diag or n_samples * n_components < AUTO_NUMBA_MIN_WORK:
        return cython
    return _load_numba()
