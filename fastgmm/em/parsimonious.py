"""R mclust's 14 parsimonious covariance models (Celeux & Govaert 1995).

Each covariance is S_k = l_k D_k A_k D_k^T: volume l_k = |S_k|^(1/d),
orientation D_k (orthogonal), shape A_k (diagonal, |A_k| = 1), each Equal
(E) or Variable (V) across the components, or the identity (I) for shape and
orientation. The name gives volume, shape, orientation in that order:

======  ======  =====  ===========  =========  ==============================
model   volume  shape  orientation  structure  M-step
======  ======  =====  ===========  =========  ==============================
EII     E       I      I            spherical  closed form
VII     V       I      I            spherical  closed form ('spherical')
EEI     E       E      I            diag       closed form
VEI     V       E      I            diag       iterative
EVI     E       V      I            diag       closed form
VVI     V       V      I            diag       closed form ('diag')
EEE     E       E      E            tied       closed form ('tied')
VEE     V       E      E            full       iterative
EVE     E       V      E            full       iterative (Jacobi for D)
VVE     V       V      E            full       iterative (Jacobi for D)
EEV     E       E      V            full       closed form
VEV     V       E      V            full       iterative
EVV     E       V      V            full       closed form
VVV     V       V      V            full       closed form ('full')
======  ======  =====  ===========  =========  ==============================

The *structure* is the covariance type whose kernels, shapes and precision
factors a model uses: its covariances are stored as that type's (EII's as
(k,) variances, EEI's as (k, d) diagonals, the rotated models' as (k, d, d)
matrices), so the E-step is the existing pass.

The M-step of a model starts from the structure's own M-step: S_k =
W_k / n_k + reg_covar I, with W_k the component's scatter, which is
scikit-learn's for the four models it has. Every other model maximises the
expected complete-data log-likelihood
``-1/2 sum_k [n_k log|S_k| + tr(W'_k S_k^-1)]`` over its constrained
covariances with W'_k = n_k S_k (so ``reg_covar`` enters as the scatter
``W_k + n_k reg_covar I``, which keeps every model's structure). Only the
ratios of the n_k matter: they come in as the weights. The iterative
M-steps (VEI, VEE, VEV: volumes and shape in turn, from the previous
iteration's shape; EVE, VVE: the diagonals and the common orientation in
turn, the orientation by Jacobi rotations from the previous iteration's)
run to convergence inside each M-step. The Jacobi rotations are compiled,
a driver of the kernel contract (``common_orientation``, the same bits on
both backends): `constrain` runs them on the backend it is given, the fit's
(`em.family.Family.backend`), else on ``kernels.get_backend('auto')``.
"""

import numpy as np

from .._constants import ILL_DEFINED_MESSAGE
from .._constants import MCLUST_MODELS as MODELS
from .._constants import MCLUST_STRUCTURE as STRUCTURE

__all__ = ["MODELS", "STRUCTURE", "ALIASES", "NATIVE", "model_of", "structure_of",
           "n_covariance_parameters", "constrain"]

#: scikit-learn's names for the four models it has.
ALIASES = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}
#: Models whose M-step is the structure's own.
NATIVE = frozenset(ALIASES.values())

#: Inner iterations of an iterative M-step: at most this many, until the
#: objective changes by at most ``_INNER_TOL`` relative.
INNER_MAX_ITER = 2000
_INNER_TOL = 1e-14


def model_of(covariance_type):
    """The mclust name of a covariance type (scikit-learn's names are aliases)."""
    return ALIASES.get(covariance_type, covariance_type)


def structure_of(covariance_type):
    """The covariance type ('full', 'tied', 'diag', 'spherical') a model is
    stored and computed as."""
    if covariance_type in ALIASES:
        return covariance_type
    # (a name that is neither: as it is, for the parameter check to refuse)
    return STRUCTURE.get(covariance_type, covariance_type)


def n_covariance_parameters(model, n_components, n_features):
    """Free parameters of the covariances, as mclust's ``nVarParams``."""
    k, d = n_components, n_features
    rotation = d * (d - 1) // 2
    return {
        "EII": 1, "VII": k, "EEI": d, "VEI": k + d - 1, "EVI": 1 + k * (d - 1),
        "VVI": k * d, "EEE": d * (d + 1) // 2, "VEE": k + d * (d + 1) // 2 - 1,
        "EVE": 1 + k * (d - 1) + rotation, "VVE": k * d + rotation,
        "EEV": d + k * rotation, "VEV": k + d - 1 + k * rotation,
        "EVV": 1 + k * (d - 1) + k * rotation, "VVV": k * d * (d + 1) // 2,
    }[model_of(model)]


def constrain(weights, covariances, model, previous=None, backend=None):
    """The model's covariances from the structure's M-step.

    ``weights`` (k,) the components' shares of the total weight,
    ``covariances`` the structure's M-step (W_k / n_k + reg_covar I, shaped
    by the structure), ``previous`` the previous iteration's covariances of
    the model (the start of EVE's and VVE's common orientation), or None.
    ``backend``: the `kernels.Backend` whose ``common_orientation`` EVE and
    VVE run (a fit's own); None: ``kernels.get_backend('auto')`` (a direct
    call, as in the tests: both backends give the same bits).
    Returns new float64 covariances in the structure's shape.
    """
    model = model_of(model)
    S = np.asarray(covariances, dtype=np.float64)
    if model == "EEE" and S.ndim == 3:  # stored as 'full' (with a noise component)
        w = np.asarray(weights, dtype=np.float64)
        return np.broadcast_to(np.einsum("k,kij->ij", w / w.sum(), S), S.shape).copy()
    if model in NATIVE:
        return covariances
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    return _M_STEPS[model](w, S, previous, backend)


# --------------------------------------------------------- spherical, diagonal


def _eii(w, S, previous, backend):
    return np.full_like(S, w @ S)  # the pooled variance


def _eei(w, S, previous, backend):
    return np.broadcast_to(w @ S, S.shape).copy()


def _evi(w, S, previous, backend):
    volumes = _geometric_mean(S)  # |diag W_k / n_k|^(1/d)
    return (w @ volumes) * (S / volumes[:, None])


def _vei(w, S, previous, backend):
    # the previous iteration's shape to start (its components share it),
    # else EEI's
    shape = (_unit(np.asarray(previous, dtype=np.float64)[0]) if _usable(previous, 2)
             else _unit(w @ S))
    return _variable_volumes(w, S, shape)


def _variable_volumes(w, values, shape):
    """VEI's and VEV's diagonals l_k A with a common unit shape A: the
    volumes and the shape in turn, from ``shape``, for per-component
    diagonals ``values`` (VEI's variances, VEV's eigenvalues)."""
    objective = np.inf
    for _ in range(INNER_MAX_ITER):
        volumes = np.mean(values / shape, axis=1)
        shape = _unit(w @ (values / volumes[:, None]))
        new = _objective_diag(w, values, volumes[:, None] * shape)
        if _converged(objective, new):
            break
        objective = new
    return volumes[:, None] * shape


# ----------------------------------------------------------------- rotated


def _evv(w, S, previous, backend):
    volumes = np.exp(_log_det(S) / S.shape[-1])
    return (w @ volumes) * (S / volumes[:, None, None])


def _eev(w, S, previous, backend):
    values, vectors = _eigh_descending(S)
    common = w @ values  # lambda A = sum_k n_k omega_k / n
    return _compose(vectors, np.broadcast_to(common, values.shape))


def _vev(w, S, previous, backend):
    values, vectors = _eigh_descending(S)
    if _usable(previous, 3):  # the previous iteration's shape (eigenvalues)
        shape = _unit(np.linalg.eigvalsh(np.asarray(previous, dtype=np.float64)[0])[::-1])
    else:
        shape = _unit(w @ values)
    return _compose(vectors, _variable_volumes(w, values, shape))


def _vee(w, S, previous, backend):
    d = S.shape[-1]
    if _usable(previous, 3):  # the previous iteration's common matrix
        C = _unit_matrix(np.asarray(previous, dtype=np.float64)[0])
    else:
        C = _unit_matrix(np.einsum("k,kij->ij", w, S))
    objective = np.inf
    for _ in range(INNER_MAX_ITER):
        C_inv = np.linalg.inv(C)
        volumes = np.einsum("kij,ji->k", S, C_inv) / d
        C = _unit_matrix(np.einsum("k,kij->ij", w / volumes, S))
        new = _objective_full(w, S, volumes[:, None, None] * C)
        if _converged(objective, new):
            break
        objective = new
    return volumes[:, None, None] * C


def _eve(w, S, previous, backend):
    return _common_orientation(w, S, previous, True, backend)


def _vve(w, S, previous, backend):
    return _common_orientation(w, S, previous, False, backend)


def _common_orientation(w, S, previous, equal_volume, backend):
    """EVE and VVE: S_k = D diag(a_k) D^T with a common orthogonal D.

    Given D, the diagonals are closed forms (VVE: a_k = diag(D^T S_k D);
    EVE: their shapes times the equal volume). Given the diagonals, D
    lowers sum_k n_k tr(D^T S_k D B_k), B_k = diag(1 / a_k), by Jacobi
    rotations: in the plane of columns p and q a rotation by t changes it by
    A cos 2t + B sin 2t (A = 1/2 sum_k n_k (b_kp - b_kq)(M_k,pp - M_k,qq),
    B = sum_k n_k (b_kp - b_kq) M_k,pq, M_k = D^T S_k D, up to a constant),
    least at 2t = atan2(-B, -A). Each rotation is followed by the new
    diagonals, so the objective never increases; sweeps over the pairs
    (compiled: ``backend.common_orientation``, a driver of the kernel
    contract; None: ``kernels.get_backend('auto')``) converge much faster
    than the majorize-minimize step (Browne & McNicholas 2014) that mclust
    takes.
    """
    if not np.all(np.isfinite(S)) or np.min(np.linalg.eigvalsh(S)) <= 0.0:
        raise ValueError(ILL_DEFINED_MESSAGE)
    if backend is None:
        from .. import kernels

        backend = kernels.get_backend("auto")
    D = np.ascontiguousarray(_start_orientation(w, S, previous), dtype=np.float64)
    backend.common_orientation(np.ascontiguousarray(w), np.ascontiguousarray(S), D,
                               equal_volume, INNER_MAX_ITER, _INNER_TOL)
    diag = np.einsum("ji,kjl,li->ki", D, S, D)
    if equal_volume:
        volumes = _geometric_mean(diag)
        a = (w @ volumes) * (diag / volumes[:, None])  # (the ratio first: no overflow)
    else:
        a = diag
    return np.einsum("ij,kj,lj->kil", D, a, D)


def _start_orientation(w, S, previous):
    """The common orientation to start from: the previous iteration's (the
    eigenvectors of a combination of its covariances with distinct
    coefficients, which share them), else the identity (as mclust starts:
    the MM iterations may have several local solutions, and this start
    finds mclust's)."""
    if previous is not None and np.ndim(previous) == 3:
        P = np.asarray(previous, dtype=np.float64)
        scale = np.trace(P, axis1=1, axis2=2)[:, None, None]
        coefficients = 1.0 + 0.6180339887498949 * np.arange(P.shape[0])
        return np.linalg.eigh(np.einsum("k,kij->ij", coefficients, P / scale))[1]
    return np.eye(S.shape[-1])


# ----------------------------------------------------------------- helpers


def _usable(previous, ndim):
    """Whether the previous covariances can start an iteration: of the
    structure's dimension and finite, positive definite enough to factor."""
    if previous is None or np.ndim(previous) != ndim:
        return False
    P = np.asarray(previous, dtype=np.float64)
    if not np.all(np.isfinite(P)):
        return False
    first = P[0]
    return bool(np.all(first > 0) if ndim == 2 else np.all(np.linalg.eigvalsh(first) > 0))


def _geometric_mean(values):
    return np.exp(np.mean(np.log(values), axis=-1))


def _unit(values):
    """values / |values|^(1/d) (a diagonal of determinant 1)."""
    return values / _geometric_mean(values)[..., None]


def _unit_matrix(M):
    """M / |M|^(1/d) for VEE's common matrix M, a positive combination of
    the components' scatters: singular when they share a null space (rows on
    a subspace, reg_covar=0) or a volume is 0, and then the M-step is not
    defined: scikit-learn's ill-defined covariance error (not numpy's
    LinAlgError of a later inverse, nor NaN)."""
    values = np.linalg.eigvalsh(M) if np.all(np.isfinite(M)) else None
    # (positive definite beyond rounding: its smallest eigenvalue above d eps
    # times its largest)
    if values is None or not values[0] > M.shape[-1] * np.finfo(np.float64).eps * values[-1]:
        raise ValueError(ILL_DEFINED_MESSAGE)
    return M / np.exp(np.mean(np.log(values)))


def _log_det(S):
    return np.linalg.slogdet(S)[1]


def _eigh_descending(S):
    values, vectors = np.linalg.eigh(S)
    return values[..., ::-1], vectors[..., ::-1]


def _compose(vectors, values):
    """sum_j values_kj v_kj v_kj^T."""
    return np.einsum("kij,kj,klj->kil", vectors, values, vectors)


def _converged(old, new):
    return abs(old - new) <= _INNER_TOL * max(abs(new), 1.0)


def _objective_diag(w, S, a):
    """sum_k n_k [log|A_k| + tr(S_k A_k^-1)] for diagonal S_k (or the
    eigenvalues of S_k in its own axes) and diagonal A_k."""
    return float(w @ np.sum(np.log(a) + S / a, axis=1))


def _objective_full(w, S, C):
    return float(w @ (_log_det(C) + np.einsum("kij,kji->k", S, np.linalg.inv(C))))


#: The M-step of each constrained model: (w, S, previous, backend) -> its
#: covariances (the backend: EVE's and VVE's compiled orientation).
_M_STEPS = {"EII": _eii, "EEI": _eei, "EVI": _evi, "VEI": _vei, "EVV": _evv,
            "EEV": _eev, "VEV": _vev, "VEE": _vee, "EVE": _eve, "VVE": _vve}
