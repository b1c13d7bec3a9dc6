"""A uniform noise component (Banfield & Raftery 1993), as R mclust has it.

The mixture density is ``w_0 / V + sum_k w_k N(x; m_k, S_k)``: a constant
density 1/V over the data's region, of volume V, with a weight w_0 that EM
estimates like the others. V is mclust's default (``hypvol``): the smaller
of the volumes of the data's bounding box and of its box along the principal
axes.

In the kernels the noise is one more component, the last, with precision
factor 0: its log-density is the constant c_noise = log w_0 - log V for every
row (the quadratic term vanishes), so the pass, its responsibilities and its
statistics need nothing new; the noise component's count is its share, and
its first and second moments are ignored. `NoiseEM` is the driver's family
for that mixture: the constants, and the M-step of the Gaussians from their
own statistics, the weights over the total with the noise's. The option's
facts (its parameter count, label and fitted attributes) are
`em.family.MixtureSpec`'s; its structure is made for it
(``structure(name, noise=True)``: 'tied' is stored as 'full').
"""

import math

import numpy as np

from .._constants import count
from . import covariance as cov
from .family import MaximumLikelihood, MixtureParams

#: The noise component's weight in the initial parameters (the Gaussians'
#: initial weights are scaled to 1 - this).
INITIAL_NOISE_WEIGHT = 0.1


def hypervolume(blocks):
    """mclust's ``hypvol``: min(volume of the bounding box, volume of the box
    along the principal axes), from ``blocks()``, a callable returning an
    iterator over (rows, their weights or None: 1 each), in the same blocks
    each time (called twice: two reads of the data).

    Rows of weight 0 take no part; a weight counts as that many copies of
    the row (the principal axes are the weighted covariance's). Rows on a
    subspace (collinear features) have a volume of 0, which rounding makes
    ~1e-12 rather than 0 exactly: they are found by the covariance's rank.
    """
    lows = highs = None
    n_rows, total, shift, sums, products = 0, 0.0, None, None, None
    for block, weights in _weighted(blocks):
        if shift is None:
            d = block.shape[1]
            shift = block[0].copy()  # (centred on a row: no cancellation)
            lows, highs = block.min(axis=0), block.max(axis=0)
            sums, products = np.zeros(d), np.zeros((d, d))
        lows = np.minimum(lows, block.min(axis=0))
        highs = np.maximum(highs, block.max(axis=0))
        centred = block - shift
        if weights is None:
            sums += centred.sum(axis=0)
            products += centred.T @ centred
            total += block.shape[0]
        else:
            sums += weights @ centred
            products += (centred * weights[:, None]).T @ centred
            total += float(np.sum(weights))
        n_rows += block.shape[0]
    if n_rows < 2:
        raise ValueError("The noise volume needs at least 2 rows of positive weight")
    mean = sums / total
    covariance = products / total - np.outer(mean, mean)
    if not np.all(np.isfinite(covariance)):
        raise ValueError("The data's hypervolume overflows (the rows' range is too "
                         "large for float64): give noise_volume.")
    axes = np.linalg.eigh(covariance)[1]
    # the rank with numpy's matrix_rank tolerance (max(n, d) eps, relative),
    # on the correlation matrix: free of the features' units, so a feature of
    # a small spread beside large ones is not taken for a subspace, while
    # collinear features are (a constant feature: rank below d at once)
    spread = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    if np.all(spread > 0):
        values = np.linalg.eigvalsh(covariance / np.outer(spread, spread))
        rank = int(np.sum(values > values[-1] * max(n_rows, d) * np.finfo(np.float64).eps))
    else:
        rank = int(np.sum(spread > 0))  # (at most: the constant features drop out)
    if rank < d:
        raise ValueError(
            "The data's hypervolume is 0: the rows lie in a subspace of "
            f"{count(rank, 'dimension')} (their covariance has rank {rank} of "
            f"{count(d, 'feature')}). Give noise_volume.")
    low = high = None
    for block, _ in _weighted(blocks):
        projected = block @ axes
        low = projected.min(axis=0) if low is None else np.minimum(low, projected.min(0))
        high = projected.max(axis=0) if high is None else np.maximum(high, projected.max(0))
    box = float(np.prod(highs - lows))
    principal = float(np.prod(high - low))
    volume = min(box, principal)
    if not (volume > 0 and math.isfinite(volume)):
        raise ValueError(
            f"The data's hypervolume is {volume!r} (the product of the rows' "
            "ranges overflows or underflows float64): give noise_volume.")
    return volume


def _weighted(blocks):
    """The non-empty blocks of ``blocks()`` as float64, without their rows of
    weight 0 (their values take no part, however far they lie)."""
    for block, weights in blocks():
        block = np.asarray(block, dtype=np.float64)
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            keep = weights > 0
            block, weights = block[keep], weights[keep]
        if block.shape[0]:
            yield block, weights


def with_noise(params, weight, n_features, rescale=True):
    """``params`` (the Gaussians) with the noise component appended last:
    the Gaussians' weights scaled to 1 - ``weight`` (``rescale``; else they
    are already); a mean of 0 and a precision factor of 0 (its covariances
    are 0 too: never used)."""
    U = params.precisions_cholesky
    zeros = np.zeros((1,) + U.shape[1:])  # (never 'tied': see GaussianMixture)
    scale = 1.0 - weight if rescale else 1.0
    return MixtureParams.from_arrays(
        np.append(params.weights * scale, weight),
        np.vstack([params.means, np.zeros((1, n_features))]),
        np.concatenate([params.covariances, zeros]), np.concatenate([U, zeros]))


def gaussians(params):
    """(params of the Gaussians alone, the noise weight)."""
    return (MixtureParams.from_arrays(params.weights[:-1], params.means[:-1],
                                      params.covariances[:-1],
                                      params.precisions_cholesky[:-1]),
            float(params.weights[-1]))


class NoiseEM(MaximumLikelihood):
    """`em.family.MaximumLikelihood` with the noise component last, of
    volume exp(``log_volume``)."""

    def __init__(self, structure, log_volume, backend=None):
        super().__init__(structure, backend)
        self.log_volume = log_volume

    def log_prob_constants(self, params):
        """c of the Gaussians, then the noise's log w_0 - log V."""
        d = params.means.shape[1]
        c = self.structure.log_prob_constants(params.weights[:-1],
                                              params.precisions_cholesky[:-1], d,
                                              self.backend)
        with np.errstate(divide="ignore"):  # a noise weight of 0: -inf, no share
            return np.append(c, np.log(params.weights[-1]) - self.log_volume)

    def maximization(self, stats, params, reg_covar, eps, is_float32):
        # the Gaussians from their own statistics; the weights over the total
        # count, the noise's included
        k = params.means.shape[0] - 1
        counts = stats.nk + 10.0 * eps
        gaussian_stats = cov.SufficientStats(stats.nk[:k], stats.s1[:k], stats.s2[:k],
                                             stats.ll)
        new = super().maximization(gaussian_stats, gaussians(params)[0], reg_covar, eps,
                                   is_float32, float(np.sum(counts)))
        return with_noise(new, float(counts[k] / np.sum(counts)), new.means.shape[1],
                          rescale=False)
