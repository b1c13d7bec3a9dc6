"""Everything that depends on the covariance type, on small arrays.

Statistics -> parameters (the M-step), covariances -> precision Cholesky
factors, log-determinants and per-component constants (`em.structure` is
what callers ask; the parameter counts are `em.parsimonious`'s). All
of it is O(k d^3) work in float64 NumPy/SciPy; no function here sees X.

Conventions (those of scikit-learn): ``precisions_cholesky`` U is upper
triangular with precision = U U^T; 'full' (k, d, d), 'tied' (d, d),
'diag' (k, d) and 'spherical' (k,) hold U, its diagonal, or its one value.
"""

import functools

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

from .._constants import COVARIANCE_TYPES, ILL_DEFINED_MESSAGE, LOG_2PI, covariance_shape
from ..kernels._common import SufficientStats


def m_step(stats, centers, reg_covar, covariance_type, eps, total_weight=None):
    """New (weights, means, covariances) from statistics around ``centers``.

    ``eps`` is the machine epsilon of X's dtype; ``10 * eps`` is added to each
    count (as scikit-learn does) so that an empty component keeps its mean and
    gets ``reg_covar`` as covariance instead of a division by zero.
    Weights are the counts over their sum, or over ``total_weight`` when given
    (scikit-learn's initialization divides by the number of samples, so that
    components seeded by single points start with weights 1/n).
    """
    # (few NumPy calls on small arrays, in place where that keeps the bits)
    nk = stats.nk + 10.0 * eps
    nk_column = nk[:, None]
    delta = stats.s1 / nk_column
    means = centers + delta
    n_features = centers.shape[1]
    if covariance_type == "full":
        cov = stats.s2 / nk_column[:, None]
        cov -= delta[:, :, None] * delta[:, None, :]
        _add_to_diagonals(cov, reg_covar)
    elif covariance_type == "tied":
        cov = stats.s2 - np.einsum("k,ki,kj->ij", nk, delta, delta)
        cov /= _add_reduce(nk, axis=None)
        _add_to_diagonals(cov, reg_covar)
    elif covariance_type == "diag":
        cov = stats.s2 / nk_column
        cov -= np.square(delta)
        cov += reg_covar
    else:
        cov = stats.s2 / nk
        cov -= _add_reduce(np.square(delta), axis=1)
        cov /= n_features
        cov += reg_covar
    weights = nk / (_add_reduce(nk, axis=None) if total_weight is None else total_weight)
    return weights, means, cov


_add_reduce = np.add.reduce  # what np.sum calls, without its Python wrapper


def _add_to_diagonals(a, value):
    """a[..., i, i] += value for a (d, d) or (k, d, d) array, in place."""
    d = a.shape[-1]
    if a.flags.c_contiguous:  # a strided view of the diagonals
        a.reshape(a.shape[:-2] + (d * d,))[..., :: d + 1] += value
    else:
        idx = np.arange(d)
        a[..., idx, idx] += value


def shift_scatter(s2, nk, delta, covariance_type):
    """S2 moved from around ``m`` to around ``m + delta``: S2 - N delta delta^T.

    For statistics whose first moment around ``m`` is N delta (so the means
    move by delta), in S2's shape: (k, d, d) full, (d, d) tied (summed over
    components), (k, d) diag, (k,) spherical (the trace).
    """
    if covariance_type == "full":
        return s2 - nk[:, None, None] * delta[:, :, None] * delta[:, None, :]
    if covariance_type == "tied":
        return s2 - np.einsum("k,ki,kj->ij", nk, delta, delta)
    if covariance_type == "diag":
        return s2 - nk[:, None] * delta**2
    return s2 - nk * np.sum(delta**2, axis=1)


def scatter_of(weights, covariances, reg_covar, covariance_type, n_features):
    """The S2 around the means, per unit of total weight, that parameters
    stand for (`m_step` undone, with counts ``weights`` summing to 1)."""
    if covariance_type == "full":
        return weights[:, None, None] * (covariances - reg_covar * np.eye(n_features))
    if covariance_type == "tied":
        return covariances - reg_covar * np.eye(n_features)
    if covariance_type == "diag":
        return weights[:, None] * (covariances - reg_covar)
    return weights * n_features * (covariances - reg_covar)


def _ill_defined(component, covariance_type, is_float32):
    where = (
        "the tied covariance"
        if component is None
        else f"component {component} ({covariance_type} covariance)"
    )
    msg = (
        f"{ILL_DEFINED_MESSAGE} The covariance of {where} is not positive "
        "definite after adding reg_covar."
    )
    if is_float32:
        msg += (
            " The numerical accuracy can also be improved by passing float64"
            " data instead of float32."
        )
    return ValueError(msg)


def _chol_precision(cov, component, covariance_type, is_float32):
    """Upper-triangular U with U U^T = inv(cov)."""
    # LAPACK's potrf and trtrs called directly: what linalg.cholesky and
    # linalg.solve_triangular call (the same bits), without their per-call
    # validation, which cost more than the factorization at small d
    lower, info = lapack.dpotrf(cov, lower=1, clean=1)
    if info != 0 or not lower.diagonal().min() > 0 or not np.isfinite(lower).all():
        raise _ill_defined(component, covariance_type, is_float32)
    inverse, info = lapack.dtrtrs(lower, _eye(cov.shape[0]), lower=1)
    if info != 0:
        raise _ill_defined(component, covariance_type, is_float32)
    return inverse.T


@functools.lru_cache(maxsize=16)
def _eye(n):
    eye = np.eye(n)
    eye.setflags(write=False)
    return eye


def precisions_cholesky(covariances, covariance_type, is_float32=False):
    """Cholesky factors of the precisions; ValueError naming a bad component."""
    if covariance_type == "full":
        out = np.empty_like(covariances, dtype=np.float64)
        eye = _eye(covariances.shape[-1])
        potrf, trtrs = lapack.dpotrf, lapack.dtrtrs
        for k, cov in enumerate(covariances):
            lower, info = potrf(cov, lower=1, clean=1)
            if info == 0:
                inverse, info = trtrs(lower, eye, lower=1)
            if info != 0:
                raise _ill_defined(k, covariance_type, is_float32)
            out[k] = inverse.T
        # checked once for all: U is finite with a positive diagonal exactly
        # when the factors L (its inverses) are
        diagonals = out.diagonal(axis1=1, axis2=2)
        if not (diagonals.min() > 0 and np.isfinite(out).all()):  # min: NaN if any
            bad = ~(diagonals > 0).all(axis=1)
            bad |= ~np.isfinite(out).all(axis=(1, 2))
            raise _ill_defined(int(np.flatnonzero(bad)[0]), covariance_type, is_float32)
        return out
    if covariance_type == "tied":
        return _chol_precision(covariances, None, covariance_type, is_float32)
    if not covariances.min() > 0.0:  # catches NaN too (the min is NaN)
        component = int(np.argwhere(~(covariances > 0.0))[0][0])
        raise _ill_defined(component, covariance_type, is_float32)
    return 1.0 / np.sqrt(covariances)


def precisions_cholesky_from_precisions(precisions, covariance_type):
    """U with U U^T = precision, from user-given precisions.

    The Cholesky factor of the row-and-column-reversed precision, reversed
    back, is the upper-triangular U of P = U U^T.
    """
    if covariance_type == "full":
        return np.stack([_upper_factor(p) for p in precisions])
    if covariance_type == "tied":
        return _upper_factor(precisions)
    return np.sqrt(precisions)


def _upper_factor(precision):
    lower = linalg.cholesky(precision[::-1, ::-1], lower=True)
    return np.ascontiguousarray(lower[::-1, ::-1])


def expand(covariances, covariance_type, n_components, n_features):
    """Covariances of any type as k full d x d matrices, float64 ('tied': a
    read-only broadcast of the one matrix)."""
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, n_features, n_features))
    if covariance_type == "diag":
        return np.einsum("ki,ij->kij", covariances, np.eye(n_features))
    return covariances[:, None, None] * np.eye(n_features)


def covariances_from_cholesky(precisions_chol, covariance_type):
    """inv(U U^T) for each factor (the covariance of user-given precisions)."""
    if covariance_type in ("full", "tied"):
        stack = precisions_chol if covariance_type == "full" else precisions_chol[None]
        eye = np.eye(stack.shape[-1])
        covs = []
        for u in stack:
            u_inv = linalg.solve_triangular(u, eye, lower=False)
            covs.append(u_inv.T @ u_inv)
        covs = np.stack(covs)
        return covs if covariance_type == "full" else covs[0]
    return 1.0 / precisions_chol**2


def precisions_from_cholesky(precisions_chol, covariance_type):
    """The precisions U U^T (or U**2 for diagonal types)."""
    if covariance_type == "full":
        return np.matmul(precisions_chol, np.swapaxes(precisions_chol, 1, 2))
    if covariance_type == "tied":
        return precisions_chol @ precisions_chol.T
    return precisions_chol**2


def log_det_cholesky(precisions_chol, covariance_type, n_features):
    """log det U for each component (half the log-det of the precision)."""
    if covariance_type == "full":
        return _add_reduce(np.log(precisions_chol.diagonal(axis1=1, axis2=2)),
                           axis=1)
    if covariance_type == "tied":
        return _add_reduce(np.log(precisions_chol.diagonal()), axis=None)
    if covariance_type == "diag":
        return _add_reduce(np.log(precisions_chol), axis=1)
    return n_features * np.log(precisions_chol)


def log_prob_constants(weights, precisions_chol, covariance_type, n_features,
                       backend=None):
    """c_k = log w_k + log det U_k - d/2 log(2 pi), as the kernels take it.

    Computed by ``backend``'s compiled code when one is given (the C
    library's log, NumPy's order of sums: the same bits on both backends,
    and those of the whole EM run in one call, `em.driver`), else by NumPy.
    """
    if backend is not None and weights.ndim == 1:
        c = np.empty(weights.shape[0])
        backend.log_prob_constants(
            np.ascontiguousarray(weights, dtype=np.float64),
            np.ascontiguousarray(precisions_chol, dtype=np.float64).reshape(-1),
            covariance_type, n_features, 0.5 * n_features * LOG_2PI, c)
        return c
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    log_det = log_det_cholesky(precisions_chol, covariance_type, n_features)
    c = log_weights + log_det - 0.5 * n_features * LOG_2PI
    if c.shape != weights.shape:
        c = np.broadcast_to(c, weights.shape)
    return np.ascontiguousarray(c, dtype=np.float64)


__all__ = [
    "COVARIANCE_TYPES",
    "SufficientStats",
    "m_step",
    "precisions_cholesky",
    "precisions_cholesky_from_precisions",
    "covariances_from_cholesky",
    "expand",
    "precisions_from_cholesky",
    "log_det_cholesky",
    "log_prob_constants",
    "covariance_shape",
]
