"""An exact quantile of values that come block by block, never all held.

`quantile(map_blocks, q)` needs only ``map_blocks(fn)``: ``fn``
applied to each block's (values, weights or None), the results in block
order (a list comprehension for blocks in memory, dask tasks for a dask
array). Three passes: the count, total weight and range; a histogram of
`BINS` bins; then the values of the bins that hold the wanted order
statistics (more histogram passes within a bin while it holds more than
`CAP` values). The result is NumPy's ``np.quantile(values, q)`` ('linear',
without weights) or ``np.quantile(values, q, method='inverted_cdf',
weights=weights)``, whatever the blocks.
"""

import math

import numpy as np

#: Bins of the histogram pass.
BINS = 4096
#: A bin is collected when it holds at most this many values.
CAP = 1 << 20


def _stats(values, weights):
    finite = np.isfinite(values)
    v = values[finite]
    total = float(v.size if weights is None else np.sum(weights[finite], dtype=np.float64))
    low = float(v.min()) if v.size else np.inf
    high = float(v.max()) if v.size else -np.inf
    below = float(np.count_nonzero(~finite) if weights is None
                  else np.sum(weights[~finite], dtype=np.float64))
    return int(values.size), total, low, high, below


def _histogram(values, weights, edges):
    inside = (values >= edges[0]) & (values <= edges[-1])
    below = values < edges[0]
    counts = np.histogram(values[inside], bins=edges,
                          weights=None if weights is None else weights[inside])[0]
    under = float(np.count_nonzero(below) if weights is None
                  else np.sum(weights[below], dtype=np.float64))
    return counts.astype(np.float64), under


def _collect(values, weights, low, high):
    inside = (values >= low) & (values <= high)
    below = values < low
    under = float(np.count_nonzero(below) if weights is None
                  else np.sum(weights[below], dtype=np.float64))
    return (values[inside], None if weights is None else weights[inside], under)


def _order_statistic(map_blocks, target, low, high, below_inf):
    """The smallest value whose cumulative weight (in value order) reaches
    ``target``, among the finite values in [low, high] (-inf below them)."""
    if target <= below_inf:
        return -np.inf
    while True:
        if low == high:
            return low
        edges = np.linspace(low, high, BINS + 1)
        parts = map_blocks(lambda v, w: _histogram(v, w, edges))
        counts = np.sum([p[0] for p in parts], axis=0)
        under = sum(p[1] for p in parts)
        cumulative = under + np.cumsum(counts)
        j = int(np.searchsorted(cumulative, target, side="left"))
        j = min(max(j, 0), BINS - 1)
        # the bin and its neighbours (rounding of weighted sums at an edge)
        a, b = edges[max(j - 1, 0)], edges[min(j + 2, BINS)]
        held = np.sum(counts[max(j - 1, 0):min(j + 2, BINS)])
        if held <= CAP or (a == low and b == high):
            break
        low, high = a, b
    parts = map_blocks(lambda v, w: _collect(v, w, a, b))
    values = np.concatenate([p[0] for p in parts])
    weights = (np.ones(values.size) if parts[0][1] is None
               else np.concatenate([p[1] for p in parts]))
    under = sum(p[2] for p in parts)
    order = np.argsort(values, kind="stable")
    cumulative = under + np.cumsum(weights[order])
    i = int(np.searchsorted(cumulative, target, side="left"))
    return float(values[order][min(i, values.size - 1)])


def _lerp(a, b, t):
    """NumPy's linear interpolation of its quantiles (``numpy._lerp``)."""
    diff = b - a
    return b - diff * (1.0 - t) if t >= 0.5 else a + diff * t


def quantile(map_blocks, q):
    """np.quantile(values, q) of the blocks' values, NumPy's 'linear' method,
    with the weights counting rows: the values ranked by cumulative weight,
    h = (W - 1) q (W the total weight), and the interpolation between the
    values at ranks floor(h) and floor(h) + 1 -- for integer weights, the
    'linear' quantile of the values repeated as many times (a block without
    weights weighs 1 per value)."""
    stats = map_blocks(_stats)
    n = sum(s[0] for s in stats)
    total = sum(s[1] for s in stats)
    low = min(s[2] for s in stats)
    high = max(s[3] for s in stats)
    below_inf = sum(s[4] for s in stats)
    weight = total + below_inf
    if n == 0 or not weight > 0:
        raise ValueError("no values (of positive weight) to take a quantile of")
    h = max((weight - 1.0) * q, 0.0)
    i = math.floor(h)
    a = _order_statistic(map_blocks, min(i + 1.0, weight), low, high, below_inf)
    if i + 1 >= weight or h == i:
        return a
    b = _order_statistic(map_blocks, min(i + 2.0, weight), low, high, below_inf)
    return float(_lerp(a, b, h - i))
