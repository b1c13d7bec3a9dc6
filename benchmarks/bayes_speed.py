"""Time per iteration of BayesianGaussianMixture: fastgmm against scikit-learn.

Run on an idle machine (the numbers mean nothing on a busy one)::

    python benchmarks/bayes_speed.py                 # n=1e6, d=8, k=16, full; china.jpg
    python benchmarks/bayes_speed.py --n 2000 --repeats 1   # that it runs, on tiny data

Two workloads: ``n`` generated points in ``d`` dimensions (a mixture of ``k``
Gaussians, fastgmm's ``demo`` data), and the pixels of scikit-learn's sample
image china.jpg (273,280 x 3, scaled to [0, 1]; ``--no-china`` skips it),
each with ``k`` components. Both fitters start every fit from the same
variational posterior (one initialization, k-means on at most
``--init-rows`` rows, shared through a warm start) and run a fixed number of
iterations (``tol=0``). A fitter's time per iteration is the difference of an
``iters + 1``- and a 1-iteration fit over ``iters`` (validation, the priors'
pass over X and scikit-learn's final E-step cancel), the median over
``--repeats`` runs, the fitters alternating. The lower bounds after the same
iterations are compared too: they should agree to ~1e-10 relative.
"""

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np

POSTERIOR = ("weight_concentration_", "mean_precision_", "means_",
             "degrees_of_freedom_", "covariances_", "precisions_cholesky_")


def initial_posterior(X, k, covariance_type, prior, init_rows):
    from fastgmm import BayesianGaussianMixture

    model = BayesianGaussianMixture(
        n_components=k, covariance_type=covariance_type, max_iter=0,
        weight_concentration_prior_type=prior, random_state=0,
        init_sample_size=min(X.shape[0], init_rows)).fit(X)
    return {name: getattr(model, name) for name in POSTERIOR}


def make_estimator(fitter, k, covariance_type, prior, max_iter, backend):
    kw = dict(n_components=k, covariance_type=covariance_type, tol=0,
              max_iter=max_iter, weight_concentration_prior_type=prior,
              warm_start=True)
    if fitter == "scikit-learn":
        from sklearn.mixture import BayesianGaussianMixture

        return BayesianGaussianMixture(**kw)
    from fastgmm import BayesianGaussianMixture

    return BayesianGaussianMixture(**kw, backend=backend)


def timed_fit(fitter, X, start, max_iter, *, k, covariance_type, prior, backend):
    model = make_estimator(fitter, k, covariance_type, prior, max_iter, backend)
    for name, value in start.items():
        setattr(model, name, value)
    model.converged_, model.lower_bound_ = False, -np.inf
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    return time.perf_counter() - began, float(np.ravel(model.lower_bound_)[0])


def compare(name, X, *, k, covariance_type, prior, iters, repeats, backend,
            init_rows, out=print):
    n, d = X.shape
    out(f"\n{name}: {n:,} x {d}, {X.dtype}, k={k}, covariance_type="
        f"{covariance_type!r}, {prior}, {iters} iterations")
    began = time.perf_counter()
    start = initial_posterior(X, k, covariance_type, prior, init_rows)
    out(f"  initialization (k-means on {min(n, init_rows):,} rows): "
        f"{time.perf_counter() - began:.2f} s")
    fitters = ["fastgmm", "scikit-learn"]
    kw = dict(k=k, covariance_type=covariance_type, prior=prior, backend=backend)
    timed_fit("fastgmm", X, start, 1, **kw)  # compile or load the kernels
    per_iter = {f: [] for f in fitters}
    bounds = {}
    for _ in range(repeats):
        for fitter in fitters:
            one, _ = timed_fit(fitter, X, start, 1, **kw)
            many, bound = timed_fit(fitter, X, start, iters + 1, **kw)
            per_iter[fitter].append((many - one) / iters)
            bounds[fitter] = bound
    median = {f: statistics.median(t) for f, t in per_iter.items()}
    for fitter in fitters:
        out(f"  {fitter:13s} {1e3 * median[fitter]:10.1f} ms/iteration   "
            f"lower bound {bounds[fitter]:.10g}")
    diff = abs(bounds["fastgmm"] - bounds["scikit-learn"]) / abs(bounds["scikit-learn"])
    ratio = median["scikit-learn"] / median["fastgmm"]
    out(f"  fastgmm is {ratio:.1f}x faster per iteration; lower bounds differ by "
        f"{diff:.1e} (relative)")
    return ratio, diff


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="generated rows")
    parser.add_argument("--d", type=int, default=8, help="features")
    parser.add_argument("--k", type=int, default=16, help="components")
    parser.add_argument("--covariance", default="full",
                        choices=["full", "tied", "diag", "spherical"])
    parser.add_argument("--prior", default="dirichlet_process",
                        choices=["dirichlet_process", "dirichlet_distribution"])
    parser.add_argument("--iters", type=int, default=20, help="timed iterations")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", default="auto", choices=["auto", "numba", "cython"])
    parser.add_argument("--init-rows", type=int, default=100_000,
                        help="rows of the shared k-means initialization")
    parser.add_argument("--no-china", action="store_true",
                        help="skip the china.jpg pixels")
    args = parser.parse_args(argv)

    import fastgmm
    from fastgmm._demo import make_data

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"fastgmm {fastgmm.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load:.2f} (should be ~0)")
    kw = dict(k=args.k, covariance_type=args.covariance, prior=args.prior,
              iters=args.iters, repeats=args.repeats, backend=args.backend,
              init_rows=args.init_rows)
    X = make_data(args.n, args.d, args.k, seed=0)
    compare("generated", X, **kw)
    if not args.no_china:
        from sklearn.datasets import load_sample_image

        pixels = load_sample_image("china.jpg").reshape(-1, 3) / 255.0
        if args.n < pixels.shape[0]:  # --n also shortens the image, for a check
            pixels = pixels[:max(args.n, 2 * args.k)]
        compare("china.jpg pixels", np.ascontiguousarray(pixels), **kw)


if __name__ == "__main__":
    main()
