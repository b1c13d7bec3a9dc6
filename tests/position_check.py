"""A row's bits never depend on its position: the check run per CPU variant.

``python -m tests.position_check`` (from the repository's root) checks the
Cython module that this process loads (``FASTGMM_CPU_VARIANT`` picks it) and,
with ``--numba``, the Numba backend: for every covariance type, both dtypes
and shapes that take every compiled path (the copies per d, the generic
loops, 'diag' on row-major tiles, the shapes of the 'diag' products, 'full'
on register-blocked tiles and beyond them), the per-row outputs of a fitted
mixture (`score_samples`, `predict_proba`, `predict` and the raw log
probabilities) on all rows are compared bit for bit with the same rows asked
for in slices at odd offsets and one by one; then the fit from a memory map
(in windows) with the in-memory fit, and the per-row outputs of a dask array
in uneven chunks with the in-memory ones. It prints one line per mismatch
and a last line ``checked VARIANT: N cases, M mismatches``, and exits 1 on
any mismatch. `tests/kernels/test_position.py` runs it in a child process per
variant this CPU can run.
"""

import argparse
import itertools
import os
import sys
import tempfile
import warnings

import numpy as np

import fastgmm
from fastgmm import kernels
from fastgmm.kernels import _common
from tests.helpers import COVARIANCE_TYPES

#: (n_features, n_components): d <= 8 (copies per d), 12 x 3 ('diag' on
#: row-major tiles; generic 'full'/'tied'), 12 x 6 (generic loops), 17 x 20
#: (the shape of the 'diag' products in a fit), 27 x 5 ('full' tiles), 40 x 3
#: ('full' past the tiles' 32 features)
SHAPES = ((1, 3), (3, 3), (8, 5), (12, 3), (12, 6), (17, 20), (27, 5), (40, 3))
N_ROWS = 4500  # more than one partition (2,048 rows at least), 18 tiles
#: (offset, length): odd offsets, lengths across tile and partition bounds
SLICES = ((1, 600), (7, 1000), (13, 257), (255, 300), (3, 4400), (1001, 3),
          (19, 2061))
#: rows asked for one at a time (tile edges, a tile's last rows, the last row)
ONE_BY_ONE = (0, 5, 7, 8, 15, 16, 213, 255, 256, 2047, 2048, 2249, N_ROWS - 1)


def _data(d, k, dtype, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=5.0, size=(k, d)) + 100.0  # far from the origin
    X = centers[rng.integers(k, size=N_ROWS)] + rng.normal(size=(N_ROWS, d))
    return X.astype(dtype)


def _outputs(model, X):
    backend, c, means, chol = model._kernel_args(_Shape(X))
    raw = np.empty((X.shape[0], means.shape[0]), X.dtype)
    backend.log_prob(X, c, means, chol, model.covariance_type, raw)
    return {"score_samples": model.score_samples(X),
            "predict_proba": model.predict_proba(X),
            "predict": model.predict(X), "log_prob": raw}


class _Shape:
    def __init__(self, X):
        self.n_samples, self.n_features = X.shape


def _differing_rows(a, b):
    a = np.asarray(a).reshape(len(a), -1)
    b = np.asarray(b).reshape(len(b), -1)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return np.nonzero(~same.all(axis=1))[0]


def check_rows(backend):
    """Mismatches of per-row outputs (a list of lines) and the cases checked."""
    lines, cases = [], 0
    for i, (cov, (d, k), dtype) in enumerate(itertools.product(
            COVARIANCE_TYPES, SHAPES, (np.float64, np.float32))):
        X = _data(d, k, dtype, seed=i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning
            model = fastgmm.GaussianMixture(
                k, covariance_type=cov, backend=backend, max_iter=2, tol=0,
                random_state=0).fit(X[:1500])
        whole = _outputs(model, X)
        tag = f"{backend} {cov} d={d} k={k} {np.dtype(dtype).name}"
        cases += 1
        pieces = [(f"rows {o}:{o + n}", o, X[o:o + n]) for o, n in SLICES]
        pieces += [(f"row {r} alone", r, X[r:r + 1]) for r in ONE_BY_ONE]
        for what, start, rows in pieces:
            part = _outputs(model, rows)
            for name, values in part.items():
                bad = _differing_rows(values, whole[name][start:start + len(rows)])
                if len(bad):
                    lines.append(f"{tag}: {name} of {what} differs at rows "
                                 f"{(bad + start)[:8].tolist()} ({len(bad)} rows)")
    return lines, cases


def check_windows(backend):
    """A memory-mapped fit in windows against the in-memory fit (bitwise), and
    the per-row outputs of a dask array in uneven chunks."""
    lines, cases = [], 0
    saved = _common.MIN_ROWS_PER_PARTITION
    _common.MIN_ROWS_PER_PARTITION = 1000  # several partitions, windows inside them
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i, (cov, dtype, d) in enumerate(itertools.product(
                    COVARIANCE_TYPES, (np.float64, np.float32), (3, 27))):
                X = _data(d, 3, dtype, seed=100 + i)
                path = os.path.join(tmp, f"X{i}.npy")
                np.save(path, X)
                M = np.load(path, mmap_mode="r")
                params = dict(covariance_type=cov, random_state=0, backend=backend,
                              max_iter=3, tol=0)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    expected = fastgmm.GaussianMixture(3, **params).fit(X)
                    fitted = fastgmm.GaussianMixture(
                        3, **params, window_bytes=300 * d * X.itemsize).fit(M)
                cases += 1
                tag = f"{backend} {cov} d={d} {np.dtype(dtype).name}"
                for name in ("weights_", "means_", "covariances_",
                             "precisions_cholesky_", "lower_bound_"):
                    if not np.array_equal(getattr(fitted, name), getattr(expected, name)):
                        lines.append(f"{tag}: memory-mapped fit's {name} differs")
                lines += _dask_rows(expected, X, tag)
    finally:
        _common.MIN_ROWS_PER_PARTITION = saved
    return lines, cases


def _dask_rows(model, X, tag):
    try:
        import dask
        import dask.array as da
    except ImportError:  # dask is a test extra; without it, nothing to check
        return []
    lines = []
    chunks = (433, 1700, 1, 777, X.shape[0] - 2911)
    with dask.config.set(scheduler="synchronous"):
        lazy = da.from_array(X, chunks=(chunks, X.shape[1]))
        for method in ("score_samples", "predict_proba", "predict"):
            bad = _differing_rows(getattr(model, method)(lazy).compute(),
                                  getattr(model, method)(X))
            if len(bad):
                lines.append(f"{tag}: {method} of a dask array in uneven chunks "
                             f"differs at rows {bad[:8].tolist()}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numba", action="store_true",
                        help="check the Numba backend too")
    args = parser.parse_args(argv)
    variant = kernels.get_backend("cython").drivers.CPU_VARIANT
    lines, cases = [], 0
    for backend in ("cython", "numba") if args.numba else ("cython",):
        for check in (check_rows, check_windows):
            more, n = check(backend)
            lines += more
            cases += n
    for line in lines:
        print(line)
    print(f"checked {variant}{' and numba' if args.numba else ''}: "
          f"{cases} cases, {len(lines)} mismatches")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
