"""The cost of dask: one EM iteration on 2 worker processes vs in memory.

Issue 12's measurement: X of 1e7 rows x 8 float64 features, 16 components,
covariance 'full'; the in-memory fit with 2 kernel threads against the fit of
the same X as a persisted dask array on a LocalCluster of 2 single-threaded
worker processes (one kernel thread per task), both from the same initial
parameters and for the same number of iterations (tol=0). The time of an
iteration is the median of the gaps between consecutive ``fit(callback=...)``
iteration events, the first one left out (it includes the initialization and
the workers' first call of the kernels). Run on an idle machine with at
least 2 cores and about 3 GB of memory (X in this process, and in the
workers):

    python benchmarks/dask_overhead.py                 # the issue's case
    python benchmarks/dask_overhead.py --n 20000 --iterations 3   # a check

It prints both times per iteration, their ratio, and whether the two fits
agree (bit for bit with the default chunks, which fall on the in-memory
pass's partitions; to 1e-10 with --chunk-rows).
"""

import argparse
import time
import warnings

import numpy as np


def make_data(n, d, k, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.randn(k, d) * 4.0
    labels = rng.randint(k, size=n)
    X = centers[labels]
    X += rng.randn(n, d)
    return X


def per_iteration(fit):
    """Median seconds between iteration events of ``fit(callback)``, the
    first iteration left out."""
    stamps = []

    def callback(event):
        if event["event"] == "iteration":
            stamps.append(time.perf_counter())

    model = fit(callback)
    gaps = np.diff(stamps)
    return (float(np.median(gaps)) if gaps.size else float("nan")), model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="rows")
    parser.add_argument("--d", type=int, default=8, help="features")
    parser.add_argument("--k", type=int, default=16, help="components")
    parser.add_argument("--covariance", default="full")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2,
                        help="single-threaded worker processes")
    parser.add_argument("--threads", type=int, default=2,
                        help="kernel threads of the in-memory fit")
    parser.add_argument("--partitions-per-chunk", type=int, default=8,
                        help="chunks of this many in-memory partitions (bitwise)")
    parser.add_argument("--chunk-rows", type=int, default=None,
                        help="even chunks of this many rows instead")
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args(argv)

    import dask.array as da
    from distributed import Client, LocalCluster

    from fastgmm import GaussianMixture
    from fastgmm.kernels import _common

    X = make_data(args.n, args.d, args.k)
    # the same initial parameters for both fits: one k-means initialization
    start = GaussianMixture(args.k, covariance_type=args.covariance, max_iter=0,
                            random_state=0, init_sample_size=min(args.n, 100_000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start.fit(X)
    params = dict(covariance_type=args.covariance, max_iter=args.iterations, tol=0,
                  weights_init=start.weights_, means_init=start.means_,
                  precisions_init=start.precisions_, backend=args.backend)

    def fit(data, n_threads=None):
        def run(callback):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return GaussianMixture(args.k, n_threads=n_threads, **params).fit(
                    data, callback=callback)
        return run

    # in memory (a first fit on a few rows loads the kernels)
    fit(X[:5000], args.threads)(lambda event: None)
    t_memory, in_memory = per_iteration(fit(X, args.threads))

    if args.chunk_rows:
        chunks = args.chunk_rows
    else:
        bounds = _common.partition_bounds(args.n, args.k, args.d, args.covariance)
        cuts = bounds[::args.partitions_per_chunk]
        if cuts[-1] != args.n:
            cuts = np.append(cuts, args.n)
        chunks = tuple(int(c) for c in np.diff(cuts))
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        D = client.persist(da.from_array(X, chunks=(chunks, args.d)))
        client.wait_for_workers(args.workers)
        fit(D[:5000].persist())(lambda event: None)  # workers load the kernels
        t_dask, on_dask = per_iteration(fit(D))
        n_chunks = len(D.chunks[0])

    same = all(np.array_equal(getattr(in_memory, a), getattr(on_dask, a))
               for a in ("weights_", "means_", "covariances_"))
    close = all(np.allclose(getattr(in_memory, a), getattr(on_dask, a), rtol=1e-10,
                            atol=0) for a in ("weights_", "means_", "covariances_"))
    print(f"X: {args.n:,} x {args.d} float64, k={args.k} {args.covariance}, "
          f"{args.iterations} iterations (the first left out)")
    print(f"in memory, {args.threads} kernel threads:         "
          f"{t_memory * 1e3:9.1f} ms/iteration")
    print(f"dask, {args.workers} single-threaded workers, {n_chunks} chunks: "
          f"{t_dask * 1e3:9.1f} ms/iteration")
    print(f"ratio dask / in memory: {t_dask / t_memory:.2f}")
    print("fits agree: " + ("bit for bit" if same else "to 1e-10" if close
                            else "NO (differ beyond 1e-10)"))


if __name__ == "__main__":
    main()
