"""Cython's copies per size (`_small_d.h`) against the paths they replace, in one process.

The copies per d ('full', 'diag', 'spherical' at d <= 8) replace the generic
direct loops; the row-major 'diag' tiles (k <= 4, d > 8) replace the direct
loops or the products, whichever the pass would take.

The shared VM's speed drifts by 10-30% over minutes, so two builds timed one
after the other cannot be compared; here both paths live in one build
(`set_small_d` switches them between fits) and alternate, round after round,
on the same data and initial parameters. Per-iteration times by differencing
an N- and a 1-iteration fit; the minimum over rounds for each path.

    python benchmarks/small_d_ab.py                    # the d <= 8 cells of the grid
    python benchmarks/small_d_ab.py 8,16,diag,float64  # d,k,covariance,dtype ...
"""

import sys
import time
import warnings

import numpy as np

import fastgmm
from fastgmm import kernels

CELLS = ([f"{d},{k},{ct},{dt}" for ct in ("full", "diag") for d in (2, 8) for k in (4, 16)
          for dt in ("float64", "float32")]
         + [f"{d},4,diag,{dt}" for d in (32, 128) for dt in ("float64", "float32")])


def per_iteration(X, k, covariance_type, params, iters=11):
    def fit(max_iter):
        start = time.perf_counter()
        fastgmm.GaussianMixture(k, covariance_type=covariance_type, max_iter=max_iter,
                                tol=0, backend="cython", **params).fit(X)
        return time.perf_counter() - start
    return (fit(iters) - fit(1)) / (iters - 1)


def main(cells, n=1_000_000, rounds=3):
    warnings.simplefilter("ignore")
    drivers = kernels.get_backend("cython").drivers
    rng = np.random.default_rng(0)
    print("| cell | replaced path ms | copies ms | speed-up |")
    print("|---|---:|---:|---:|")
    for cell in cells:
        d, k, covariance_type, dtype = cell.split(",")
        d, k = int(d), int(k)
        centers = rng.normal(scale=4, size=(k, d))
        X = (centers[rng.integers(k, size=n)] + rng.normal(size=(n, d))).astype(dtype)
        start = fastgmm.GaussianMixture(k, covariance_type=covariance_type, max_iter=1,
                                        tol=0, random_state=0, backend="cython").fit(X)
        params = dict(weights_init=start.weights_, means_init=start.means_,
                      precisions_init=start.precisions_)
        times = {True: [], False: []}
        try:
            for _ in range(rounds):
                for on in (False, True):
                    drivers.set_small_d(on)
                    times[on].append(per_iteration(X, k, covariance_type, params))
        finally:
            drivers.set_small_d(True)
        old, new = min(times[False]) * 1e3, min(times[True]) * 1e3
        print(f"| d={d}, k={k}, {covariance_type}, {dtype} | {old:.1f} | {new:.1f} | "
              f"{old / new:.2f}x |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or CELLS)
