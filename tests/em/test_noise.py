"""The uniform noise component (`fastgmm.em.noise`): its hypervolume against
R mclust's ``hypvol`` and a box worked out by hand, weights as repeated
rows."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastgmm.em import noise

#: Rows given to R mclust 6.0.0's ``hypvol`` (the smaller of the bounding
#: box's volume and the box's along the principal axes).
X2 = np.array([[0, 0], [2, 1], [1, 3], [4, 4], [3, 1], [5, 6], [2, 5], [6, 5],
               [1, 1], [4, 2]], dtype=np.float64)
X3 = np.column_stack([X2, [1, 0, 2, 4, 0, 2, 5, 1, 3, 6]])
#: ``print(hypvol(X), digits = 17)`` for X2 and X3.
HYPVOL = {2: 27.215460722740808, 3: 160.40527917595034}


def _blocks(X, w=None, size=3):
    """The rows (and weights) as `hypervolume` reads them: blocks, twice."""
    return lambda: iter([(X[i:i + size], None if w is None else w[i:i + size])
                         for i in range(0, len(X), size)])


@pytest.mark.parametrize("X", [X2, X3], ids=["d2", "d3"])
def test_the_hypervolume_is_mclusts_hypvol(X):
    assert_allclose(noise.hypervolume(_blocks(X)), HYPVOL[X.shape[1]], rtol=1e-12)


def test_the_hypervolume_of_an_upright_box_is_its_volume():
    # the corners of [0, 2] x [0, 3] and its centre: the principal axes are
    # the coordinate axes (the covariance is diagonal), both boxes 2 x 3 = 6
    X = np.array([[0, 0], [2, 0], [0, 3], [2, 3], [1, 1.5]])
    assert_allclose(noise.hypervolume(_blocks(X)), 6.0, rtol=1e-12)


def test_a_weight_counts_as_copies_of_its_row_and_zero_as_none():
    counts = np.array([1, 2, 1, 3, 1, 1, 2, 1, 1, 2], dtype=np.float64)
    repeated = np.repeat(X3, counts.astype(int), axis=0)
    assert_allclose(noise.hypervolume(_blocks(X3, counts)),
                    noise.hypervolume(_blocks(repeated)), rtol=1e-12)
    far = np.vstack([X3, [[100.0, -50.0, 30.0]]])
    assert_allclose(noise.hypervolume(_blocks(far, np.append(counts, 0.0))),
                    noise.hypervolume(_blocks(X3, counts)), rtol=1e-12)
