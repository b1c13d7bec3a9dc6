"""The rows a fit initializes from: all of them, or for an X not in memory
above `INIT_BYTES` (``init_sample_size='auto'``) or for an int
``init_sample_size``, a sample drawn with ``random_state``
(`InitSampleWarning`, `_sample_rows`), read with a progress line at
``verbose >= 1``.
"""

import warnings
from time import time

import numpy as np

from ._constants import count
from .sources import rows as _source

#: 'auto' initializes from all rows of an X read by windows when the
#: initialization takes at most about this much memory, else from as many
#: rows as it allows: each row costs its values plus INIT_ROW_BYTES (k-means'
#: labels, norms, weights and candidate distances, a sort index).
INIT_BYTES = 128 * 2**20
INIT_ROW_BYTES = 96


def initial_rows(rows, w, random_state, init_sample_size, n_components, verbose):
    """The rows (and weights) of ``rows`` the initialization draws from."""
    n_samples, n_features = rows.n_samples, rows.n_features
    size = init_sample_size
    if size == "auto":
        size = max(INIT_BYTES // (n_features * rows.dtype.itemsize + INIT_ROW_BYTES),
                   n_components)
        if isinstance(rows, _source.InMemoryRows) or n_samples <= size:
            return rows.take(None, w)
        warnings.warn(InitSampleWarning(n_samples, size))
    if size >= n_samples:
        return rows.take(None, w)
    indices = _sample_rows(random_state, n_samples, size)
    progress = (_SampleProgress() if verbose >= 1
                and not isinstance(rows, _source.InMemoryRows) else None)
    return rows.take(indices, w, progress)


class _SampleProgress:
    """verbose >= 1: how far the reading of an initialization sample from an
    X not in memory has come (a line at most once a second, and at the end)."""

    def __init__(self):
        self.start = self.last = time()

    def __call__(self, done, wanted):
        now = time()
        if done < wanted and now - self.last < 1.0:
            return
        self.last = now
        print(f"Reading the initialization sample: {done:,} of {count(wanted, 'row')} "
              f"({100.0 * done / wanted:.0f}%, {now - self.start:.1f} s)")


class InitSampleWarning(UserWarning):
    """Warning that a fit initializes from a random sample of X's rows.

    Raised by ``fit`` (of :class:`fastgmm.GaussianMixture`,
    :class:`fastgmm.BayesianGaussianMixture` and the estimators built on
    them) with the default ``init_sample_size='auto'`` when X is not in
    memory (a memory map, a zarr array, an h5py dataset, a dask array) and
    initializing from all its rows would take more than about 128 MiB:
    more rows than ``128 MiB / (n_features * itemsize + 96 bytes)``, about a
    million. The initialization (k-means and the rest of ``init_params``)
    then runs on a sample of that many rows drawn with ``random_state``.

    An X in memory always initializes from all rows, so above that size the
    fit of a memory map (or dask array) and the in-memory fit of the same
    rows start from different parameters: their components can come out in
    another order and their lower bounds differ in the last digits. Below
    it (no warning) the two fits are equal, bit for bit.

    To avoid it, pass ``init_sample_size``: an int draws that many rows
    with ``random_state`` (the same rows in memory, from a memory map or
    from a dask array, so those fits start alike and are equal), and an int
    of at least ``n_samples`` initializes from all rows (held in memory for
    the initialization). Or silence it with
    ``warnings.filterwarnings("ignore", category=fastgmm.InitSampleWarning)``.

    Parameters
    ----------
    n_samples : int
        The rows of X (the attribute ``n_samples``).
    size : int
        The rows of the sample (the attribute ``size``).

    See Also
    --------
    GaussianMixture : Its ``init_sample_size`` parameter.

    Examples
    --------
    A fit of a large memory map warns with it; made by hand here, it shows
    its message and attributes:

    >>> import warnings
    >>> import fastgmm
    >>> w = fastgmm.InitSampleWarning(n_samples=3_000_000, size=1_000_000)
    >>> w.n_samples, w.size
    (3000000, 1000000)
    >>> print(w)  # doctest: +ELLIPSIS
    X is not in memory and its 3,000,000 rows are more than ... a sample of 1,000,000 rows ...

    Silenced (around such a fit):

    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.filterwarnings("ignore", category=fastgmm.InitSampleWarning)
    ...     warnings.warn(w)
    >>> len(caught)
    0
    """

    def __init__(self, n_samples, size):
        super().__init__(
            f"X is not in memory and its {count(n_samples, 'row')} are more than an "
            f"initialization within {INIT_BYTES // 2**20} MiB takes: it uses a "
            f"sample of {count(size, 'row')} drawn with random_state, so the fit can "
            "differ from the in-memory fit, which initializes from all rows "
            "(init_sample_size='auto'; pass an int to choose the sample's size, "
            "the same int to both fits to make them equal).")
        self.n_samples, self.size = n_samples, size


def _sample_rows(random_state, n_samples, size):
    """``size`` distinct row indices drawn from ``random_state``, sorted (so
    that reading them is one sequential sweep).

    Uniform over the subsets of that size, in O(size) memory and time
    (``RandomState.choice(..., replace=False)`` permutes all n_samples
    indices): more than half of the rows are drawn as the complement of the
    rows left out; otherwise uniform draws with enough surplus that their
    distinct values almost always suffice in one round (the expected number
    of distinct values of m draws is n (1 - exp(-m / n))), of which a random
    ``size`` are kept.
    """
    n_samples, size = int(n_samples), int(size)
    if not 0 <= size <= n_samples:
        raise ValueError(f"cannot draw {size} distinct rows of {n_samples}")
    if 2 * size > n_samples:
        left_out = _sample_rows(random_state, n_samples, n_samples - size)
        keep = np.ones(n_samples, dtype=bool)
        keep[left_out] = False
        return np.flatnonzero(keep).astype(np.int64)
    if size == 0:
        return np.empty(0, dtype=np.int64)
    # m draws give size * 1.02 + 64 distinct values on average (size <= n / 2)
    wanted = min(size * 1.02 + 64, 0.75 * n_samples)
    draws = int(np.ceil(-n_samples * np.log1p(-wanted / n_samples))) + 16
    while True:
        chosen = np.unique(random_state.randint(0, n_samples, size=draws))
        if chosen.size >= size:
            break
        draws *= 2  # rare: the surplus fell short; draw again, more
    keep = np.sort(random_state.permutation(chosen.size)[:size])
    return chosen[keep].astype(np.int64)
