"""Missing values (issue 23): how well the marginalising fit recovers a known
mixture, against mean imputation and dropping incomplete rows; and its time
per EM iteration against the complete-data fit of the same shape, in one run.

    python benchmarks/missing.py [--n 100000] [--repeats 3] [--memory 1000000,4000000]
"""

import argparse
import time
import warnings

import numpy as np


def _mixture(n, rng):
    """Three correlated Gaussians in 4-D, weights 0.5, 0.3, 0.2."""
    means = np.array([[0.0, 0.0, 0.0, 0.0], [4.0, -3.0, 2.0, 1.0], [-3.0, 3.0, -2.0, 4.0]])
    base = np.array([[1.0, 0.8, 0.6, 0.4], [0.8, 1.0, 0.7, 0.5], [0.6, 0.7, 1.0, 0.6],
                     [0.4, 0.5, 0.6, 1.0]])
    covs = np.array([base, base * 0.5 + 0.5 * np.eye(4), base * 1.5])
    weights = np.array([0.5, 0.3, 0.2])
    labels = rng.choice(3, size=n, p=weights)
    X = np.empty((n, 4))
    for k in range(3):
        rows = labels == k
        X[rows] = rng.multivariate_normal(means[k], covs[k], size=rows.sum())
    return X, weights, means, covs


def recovery(n=6000, fraction=0.3, seeds=range(5)):
    """Max abs errors of the weights, means and covariances, averaged over
    data sets drawn with ``seeds``."""
    from fastgmm import GaussianMixture

    names = ["all entries (no missing value)", "marginalised (nan_policy='marginalize')",
             "mean imputation, then a fit", "complete rows only"]
    errors = {name: [] for name in names}
    kept = []
    for seed in seeds:
        rng = np.random.RandomState(seed)
        X, weights, means, covs = _mixture(n, rng)
        missing = X.copy()
        missing[rng.rand(*X.shape) < fraction] = np.nan
        complete_rows = missing[~np.isnan(missing).any(axis=1)]
        kept.append(len(complete_rows))
        filled = np.where(np.isnan(missing), np.nanmean(missing, axis=0), missing)
        params = dict(n_components=3, random_state=0, n_init=3)
        fits = [GaussianMixture(**params).fit(X),
                GaussianMixture(nan_policy="marginalize", **params).fit(missing),
                GaussianMixture(**params).fit(filled),
                GaussianMixture(**params).fit(complete_rows)]
        for name, model in zip(names, fits):
            order = [int(np.argmin(np.sum((model.means_ - m) ** 2, axis=1))) for m in means]
            errors[name].append((np.max(np.abs(model.weights_[order] - weights)),
                                 np.max(np.abs(model.means_[order] - means)),
                                 np.max(np.abs(model.covariances_[order] - covs))))
    print(f"\nRecovery, {n} rows x 4 from 3 correlated Gaussians, {fraction:.0%} of "
          f"entries missing completely at random (about {int(np.mean(kept))} complete "
          f"rows); max abs error, mean over {len(kept)} data sets:\n")
    print("| fit | weights | means | covariances |\n|---|---:|---:|---:|")
    for name in names:
        w, m, c = np.mean(errors[name], axis=0)
        print(f"| {name} | {w:.4f} | {m:.4f} | {c:.4f} |")


def speed(n, repeats, fraction=0.1, d=8, k=16):
    from fastgmm import GaussianMixture
    from fastgmm._demo import make_data

    X = make_data(n, d, k, seed=0)
    rng = np.random.RandomState(1)
    missing = X.copy()
    missing[rng.rand(*X.shape) < fraction] = np.nan
    incomplete = np.isnan(missing).any(axis=1).mean()
    patterns = len(np.unique(np.isnan(missing), axis=0))
    print(f"\nTime per EM iteration, {n} x {d}, k={k}, {fraction:.0%} of entries missing "
          f"({incomplete:.0%} of rows incomplete, {patterns} patterns); the fit of 6 "
          f"iterations minus the fit of 1, over 5, min of {repeats}:\n")
    print("| covariance | complete data | with missing entries | ratio |\n|---|---:|---:|---:|")
    for t in ("full", "diag"):
        start = GaussianMixture(k, covariance_type=t, random_state=0, max_iter=0).fit(X)
        init = dict(weights_init=start.weights_, means_init=start.means_,
                    precisions_init=start.precisions_)

        def fit(data, iters, policy):
            model = GaussianMixture(k, covariance_type=t, max_iter=iters, tol=0.0,
                                    nan_policy=policy, **init)
            t0 = time.perf_counter()
            model.fit(data)
            return time.perf_counter() - t0

        times = {"complete": [], "missing": []}
        for _ in range(repeats):
            for name, data in (("complete", X), ("missing", missing)):
                times[name].append((fit(data, 6, "marginalize") - fit(data, 1, "marginalize"))
                                   / 5)
        a, b = min(times["complete"]), min(times["missing"])
        print(f"| {t} | {a * 1e3:.1f} ms | {b * 1e3:.1f} ms | {b / a:.1f}x |")
    whole_fits(X, missing, k)


def whole_fits(X, missing, k):
    """Whole fits with default arguments (initialization included), once
    each: fastgmm on the complete and on the incomplete data, and
    scikit-learn's on the complete data (it takes no NaN)."""
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    from fastgmm import GaussianMixture

    print(f"\nWhole fits, default arguments (k={k}, random_state=0), once each:\n")
    print("| covariance | scikit-learn, complete | fastgmm, complete | "
          "fastgmm, missing entries |\n|---|---:|---:|---:|")
    for t in ("full", "diag"):
        cells = []
        for make, data in ((SkGaussianMixture, X), (GaussianMixture, X),
                           (GaussianMixture, missing)):
            params = {} if make is SkGaussianMixture else {"nan_policy": "marginalize"}
            model = make(k, covariance_type=t, random_state=0, **params)
            t0 = time.perf_counter()
            model.fit(data)
            cells.append(f"{time.perf_counter() - t0:.2f} s ({model.n_iter_} it.)")
        print(f"| {t} | " + " | ".join(cells) + " |")


def memory(sizes, fraction=0.1, d=8, k=16):
    """Peak memory a fit allocates beyond X (tracemalloc: NumPy's arrays
    included), with and without missing entries, at several n."""
    import tracemalloc

    from fastgmm import GaussianMixture
    from fastgmm._demo import make_data

    print(f"\nPeak memory allocated by a fit beyond X (k={k}, 'full', 3 iterations, "
          f"{fraction:.0%} of entries missing), MiB:\n")
    print("| rows | X | complete data | with missing entries |\n|---:|---:|---:|---:|")
    for n in sizes:
        X = make_data(n, d, k, seed=0)
        rng = np.random.RandomState(1)
        missing = X.copy()
        missing[rng.rand(*X.shape) < fraction] = np.nan
        peaks = []
        for data in (X, missing):
            tracemalloc.start()
            GaussianMixture(k, random_state=0, max_iter=3, nan_policy="marginalize").fit(data)
            peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
            tracemalloc.stop()
        print(f"| {n:,} | {X.nbytes / 2**20:.0f} | {peaks[0]:.0f} | {peaks[1]:.0f} |")
        del X, missing


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory", default="",
                        help="row counts for the memory table, comma-separated")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    recovery()
    speed(args.n, args.repeats)
    if args.memory:
        memory([int(n) for n in args.memory.split(",")])


if __name__ == "__main__":
    main()
