"""The textbook M-step of every covariance structure from each component's
scatter and count: scikit-learn's four types and R mclust's 14 models
(Celeux & Govaert 1995), on full d x d matrices, written to be read.

Each model maximises ``-1/2 sum_k [n_k log|C_k| + tr(W'_k C_k^-1)]`` over its
own covariances C_k, with W'_k = W_k + n_k reg_covar I (``reg_covar`` added to
each scatter per unit weight, as fastgmm adds it). The closed forms are
Celeux & Govaert's; VEI, VEE and VEV alternate volumes and the common shape
(or matrix); EVE and VVE alternate the diagonals and the common orientation
D, which the majorize-minimize step of Browne & McNicholas (2014), mclust's,
updates (a polar factor per step). Every iteration runs until the objective
changes by at most 1e-14 relative.

This is not fastgmm's code (`fastgmm.em.parsimonious`, whose EVE/VVE
orientation is compiled Jacobi sweeps): it is the oracle of its tests.
"""

import numpy as np

from .._constants import MCLUST_STRUCTURE

#: scikit-learn's names for four of mclust's models.
_ALIASES = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}
_TOL = 1e-14
_MAX_ITER = 100000


def storage_of(covariance_type):
    """The shape a structure's covariances are stored in: 'full', 'tied',
    'diag' or 'spherical'."""
    if covariance_type in _ALIASES:
        return covariance_type
    return MCLUST_STRUCTURE[covariance_type]


def covariances_from_scatter(scatter, counts, covariance_type, reg_covar=1e-6,
                             previous=None):
    """A structure's covariances from the components' scatters and counts.

    Parameters
    ----------
    scatter : ndarray of shape (n_components, n_features, n_features)
        W_k, each component's weighted scatter around its new mean.
    counts : ndarray of shape (n_components,)
        The weighted count n_k of each component.
    covariance_type : str
        One of scikit-learn's four types or mclust's 14 models.
    reg_covar : float, default=1e-6
        Added to the diagonal of each W_k / n_k.
    previous : ndarray of shape (n_components, n_features, n_features), default=None
        The previous iteration's covariances (full matrices): the start of
        the iterative models' inner iterations (EVE and VVE: their common
        orientation; None: the identity, as mclust starts).

    Returns
    -------
    covariances : ndarray
        In the structure's storage shape ('full' (k, d, d), 'tied' (d, d),
        'diag' (k, d), 'spherical' (k,)).

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm.reference import covariances_from_scatter
    >>> W = np.array([np.diag([2.0, 8.0]), np.diag([4.0, 4.0])])
    >>> covariances_from_scatter(W, np.array([2.0, 2.0]), "EEI", reg_covar=0.0)
    array([[1.5, 3. ],
           [1.5, 3. ]])
    """
    scatter = np.asarray(scatter, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    k, d = scatter.shape[0], scatter.shape[-1]
    S = np.array([scatter[j] / counts[j] + reg_covar * np.eye(d) for j in range(k)])
    w = counts / counts.sum()
    model = _ALIASES.get(covariance_type, covariance_type)
    C = _MODELS[model](S, w, previous)
    return _compress(C, storage_of(covariance_type))


def _compress(C, storage):
    if storage == "full":
        return C
    if storage == "tied":
        return C[0]
    if storage == "diag":
        return np.array([np.diag(c) for c in C])
    return np.array([np.mean(np.diag(c)) for c in C])


def objective(S, w, C):
    """sum_k w_k [log|C_k| + tr(S_k C_k^-1)]: what every model minimises."""
    return float(sum(wk * (np.linalg.slogdet(c)[1] + np.trace(np.linalg.solve(c, s)))
                     for wk, s, c in zip(w, S, C)))


def _unit(values):
    """A positive vector divided by its geometric mean (determinant 1)."""
    return values / np.exp(np.mean(np.log(values)))


def _iterate(step, state, S, w):
    """Run ``state = step(state)`` (returning (state, covariances)) until the
    objective changes by at most _TOL relative."""
    old = np.inf
    for _ in range(_MAX_ITER):
        state, C = step(state)
        new = objective(S, w, C)
        if abs(old - new) <= _TOL * max(abs(new), 1.0):
            break
        old = new
    return C


def _vvv(S, w, previous):
    return S.copy()


def _vvi(S, w, previous):
    return np.array([np.diag(np.diag(s)) for s in S])


def _vii(S, w, previous):
    d = S.shape[-1]
    return np.array([np.trace(s) / d * np.eye(d) for s in S])


def _eii(S, w, previous):
    d = S.shape[-1]
    pooled = sum(wk * np.trace(s) for wk, s in zip(w, S)) / d
    return np.array([pooled * np.eye(d)] * len(S))


def _eei(S, w, previous):
    pooled = sum(wk * np.diag(s) for wk, s in zip(w, S))
    return np.array([np.diag(pooled)] * len(S))


def _eee(S, w, previous):
    pooled = sum(wk * s for wk, s in zip(w, S))
    return np.array([pooled] * len(S))


def _evi(S, w, previous):
    diagonals = np.array([np.diag(s) for s in S])
    volumes = np.exp(np.mean(np.log(diagonals), axis=1))
    volume = w @ volumes
    return np.array([np.diag(volume * a / v) for a, v in zip(diagonals, volumes)])


def _vei(S, w, previous):
    diagonals = np.array([np.diag(s) for s in S])
    shape = _unit(w @ diagonals) if previous is None else _unit(np.diag(previous[0]))

    def step(shape):
        volumes = np.mean(diagonals / shape, axis=1)
        shape = _unit(w @ (diagonals / volumes[:, None]))
        return shape, np.array([np.diag(v * shape) for v in volumes])

    return _iterate(step, shape, S, w)


def _evv(S, w, previous):
    d = S.shape[-1]
    volumes = np.array([np.linalg.det(s) ** (1.0 / d) for s in S])
    return np.array([(w @ volumes) * s / v for s, v in zip(S, volumes)])


def _eigen(S):
    """Each S_k's eigenvalues (descending) and eigenvectors."""
    values, vectors = np.linalg.eigh(S)
    return values[:, ::-1], vectors[:, :, ::-1]


def _eev(S, w, previous):
    values, vectors = _eigen(S)
    common = w @ values
    return np.array([v @ np.diag(common) @ v.T for v in vectors])


def _vev(S, w, previous):
    values, vectors = _eigen(S)
    shape = (_unit(w @ values) if previous is None
             else _unit(np.linalg.eigvalsh(previous[0])[::-1]))

    def step(shape):
        volumes = np.mean(values / shape, axis=1)
        shape = _unit(w @ (values / volumes[:, None]))
        return shape, np.array([vec @ np.diag(v * shape) @ vec.T
                                for v, vec in zip(volumes, vectors)])

    return _iterate(step, shape, S, w)


def _vee(S, w, previous):
    d = S.shape[-1]
    start = sum(wk * s for wk, s in zip(w, S)) if previous is None else previous[0]
    start = start / np.linalg.det(start) ** (1.0 / d)

    def step(C):
        volumes = np.array([np.trace(np.linalg.solve(C, s)) / d for s in S])
        M = sum(wk * s / v for wk, s, v in zip(w, S, volumes))
        C = M / np.linalg.det(M) ** (1.0 / d)
        return C, np.array([v * C for v in volumes])

    return _iterate(step, start, S, w)


def _eve(S, w, previous):
    return _common_orientation(S, w, previous, equal_volume=True)


def _vve(S, w, previous):
    return _common_orientation(S, w, previous, equal_volume=False)


def _common_orientation(S, w, previous, equal_volume):
    """C_k = D diag(a_k) D^T with one orthogonal D: the diagonals given D in
    closed form, then D by majorize-minimize steps given the diagonals."""
    d = S.shape[-1]
    if previous is None:
        D = np.eye(d)
    else:  # the previous covariances' common eigenvectors
        P = np.asarray(previous, dtype=np.float64)
        scale = np.trace(P, axis1=1, axis2=2)[:, None, None]
        coefficients = 1.0 + 0.6180339887498949 * np.arange(P.shape[0])
        D = np.linalg.eigh(np.einsum("k,kij->ij", coefficients, P / scale))[1]

    def diagonals(D):
        diag = np.array([np.diag(D.T @ s @ D) for s in S])
        if not equal_volume:
            return diag
        volumes = np.exp(np.mean(np.log(diag), axis=1))
        return (w @ volumes) * diag / volumes[:, None]

    def step(D):
        a = diagonals(D)
        # minimise sum_k w_k tr(S_k D diag(1/a_k) D^T) over orthogonal D: the
        # quadratic's curvature is at most c, so D_new, the polar factor of
        # c D - G (G its half gradient), lowers it
        G = sum(wk * s @ D / ak for wk, s, ak in zip(w, S, a))
        c = sum(wk * np.linalg.eigvalsh(s)[-1] / ak.min() for wk, s, ak in zip(w, S, a))
        U, _, Vt = np.linalg.svd(c * D - G)
        D = U @ Vt
        a = diagonals(D)
        return D, np.array([D @ np.diag(ak) @ D.T for ak in a])

    # (the majorize-minimize steps converge linearly, slowly: they run until
    # D itself stops moving, not on the objective's change)
    for _ in range(_MAX_ITER):
        new, C = step(D)
        if np.max(np.abs(new - D)) <= 1e-13:
            break
        D = new
    return C


_MODELS = {"VVV": _vvv, "VVI": _vvi, "VII": _vii, "EII": _eii, "EEI": _eei,
           "EEE": _eee, "EVI": _evi, "VEI": _vei, "EVV": _evv, "EEV": _eev,
           "VEV": _vev, "VEE": _vee, "EVE": _eve, "VVE": _vve}
