"""What a user waits for (issue 21): whole default fits, fastgmm against
scikit-learn in one run. Every argument but n_components, covariance_type and
random_state at its default (so k-means initialization, EM to convergence and
the final E-step included); the kernels are loaded before the clock starts.
Fitters alternate, the minimum of REPEATS is kept; the same solution is
checked (labels, n_iter_, lower bound). Run on an idle machine:

    python benchmarks/whole_fits.py [--repeats 3] [--quick] [--out results.md]
"""

import argparse
import platform
import time
import warnings

import numpy as np


def _cases(quick=False):
    from sklearn.datasets import load_digits, load_iris, load_wine
    from sklearn.decomposition import PCA

    from fastgmm._demo import make_data

    digits = PCA(16, random_state=0).fit_transform(load_digits().data)
    for t in ("full", "diag", "tied", "spherical"):
        yield f"digits PCA-16, k=10, {t}", digits, 10, t
    yield "iris, k=3, full", load_iris().data, 3, "full"
    yield "wine, k=3, full", load_wine().data, 3, "full"
    if quick:
        return
    try:
        from sklearn.datasets import load_sample_image

        china = load_sample_image("china.jpg").reshape(-1, 3).astype(np.float64) / 255
        yield "china.jpg pixels, k=16, full", china, 16, "full"
    except Exception as exc:  # pragma: no cover - needs Pillow
        print(f"china.jpg skipped: {exc}")
    big = make_data(1_000_000, 8, 16, seed=0)
    yield "1e6 x 8, k=16, full", big, 16, "full"
    yield "1e6 x 8, k=16, diag", big, 16, "diag"
    yield "2e5 x 32, k=8, full", make_data(200_000, 32, 8, seed=0), 8, "full"


def _cpu():
    """'AMD EPYC (family 25 model 17, AVX-512)' from /proc/cpuinfo."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor()
    simd = "AVX-512" if "avx512f" in info.get("flags", "").split() else "AVX2"
    return (f"{info.get('model name', '?')} (family {info.get('cpu family', '?')} "
            f"model {info.get('model', '?')}, {simd})")


def _fit(cls, X, k, t):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls(n_components=k, covariance_type=t, random_state=0).fit(X)
    return time.perf_counter() - start, model


def _search_row(repeats):
    """GaussianMixtureSearch(n_components=range(1, 11)) over the four types
    on digits PCA-16 (BIC) against a Python loop of scikit-learn fits of the
    same 40 candidates, each with random_state=0."""
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture as Sklearn

    import fastgmm

    X = PCA(16, random_state=0).fit_transform(load_digits().data)
    types = ("full", "tied", "diag", "spherical")

    def loop():
        best = None
        for t in types:
            for k in range(1, 11):
                m = Sklearn(k, covariance_type=t, random_state=0).fit(X)
                bic = m.bic(X)
                if best is None or bic < best[0]:
                    best = (bic, k, t)
        return best

    def search():
        s = fastgmm.GaussianMixtureSearch(range(1, 11), covariance_type=types,
                                          random_state=0).fit(X)
        return s.best_params_["n_components"], s.best_params_["covariance_type"]

    search()
    t_loop = t_search = np.inf
    for _ in range(repeats):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            theirs = loop()
            t_loop = min(t_loop, time.perf_counter() - start)
            start = time.perf_counter()
            ours = search()
            t_search = min(t_search, time.perf_counter() - start)
    same = ours == theirs[1:]
    return (f"| digits PCA-16, k=1..10, 4 types, BIC | {t_loop:.3f} s | "
            f"{t_search:.3f} s | {t_loop / t_search:.1f}x | "
            f"{'yes' if same else 'no'} ({ours[1]}, k={ours[0]}) |")


def _per_iteration_rows(repeats):
    """Time per EM iteration on the small data sets, from the same initial
    parameters (differencing 1- and LONG-iteration fits, tol=0): the
    pass-by-pass driver, the whole run in one compiled call, and one bare
    compiled pass (the driver's call on prepared arguments) with the
    M-step's arithmetic, which the one call adds to it."""
    from sklearn.datasets import load_digits, load_iris, load_wine
    from sklearn.decomposition import PCA

    import fastgmm
    from fastgmm.em import driver

    digits = PCA(16, random_state=0).fit_transform(load_digits().data)
    cases = [(f"digits PCA-16, k=10, {t}", digits, 10, t)
             for t in ("full", "diag", "spherical")]
    cases += [("iris, k=3, full", load_iris().data, 3, "full"),
              ("wine, k=3, full", load_wine().data, 3, "full")]
    rows = []
    for name, X, k, t in cases:
        X = np.ascontiguousarray(X, dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning
            start = fastgmm.GaussianMixture(k, covariance_type=t, random_state=0,
                                            max_iter=1).fit(X)
        init = dict(weights_init=start.weights_, means_init=start.means_,
                    precisions_init=start.precisions_)

        def fit(max_iter, one_call, X=X, k=k, t=t, init=init):
            driver.ONE_CALL = one_call
            model = fastgmm.GaussianMixture(k, covariance_type=t, tol=0,
                                            max_iter=max_iter, **init)
            begin = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(X)
            return time.perf_counter() - begin

        per = {}
        try:
            for one_call in (False, True):
                best = {1: np.inf, LONG: np.inf}
                for _ in range(max(repeats, 5)):
                    for m in (1, LONG):
                        best[m] = min(best[m], fit(m, one_call))
                per[one_call] = (best[LONG] - best[1]) / (LONG - 1)
        finally:
            driver.ONE_CALL = True
        backend, c, means, chol = start._kernel_args(_Shape(X))
        bare = _bare_pass(backend, X, c, means, chol, t)
        rows.append(f"| {name} | {per[False] * 1e6:.0f} us | {per[True] * 1e6:.0f} us "
                    f"| {bare * 1e6:.0f} us | {(per[False] - per[True]) * 1e6:.0f} us |")
        print(rows[-1], flush=True)
    return rows


LONG = 61  # iterations of the long fit the 1-iteration fit is taken from
BUDGET = 1.0  # seconds of fits (both fitters) a small case's runs take at least
MAX_RUNS = 200


def _seconds(t):
    return f"{t * 1e3:.2f} ms" if t < 0.1 else f"{t:.3f} s"


def _bare_pass(backend, X, c, means, chol, covariance_type):
    """The fastest of 200 calls of the compiled driver alone (arguments made
    once, as `FitPass.run` makes them; no reduction, no Python around it)."""
    from fastgmm.kernels import _backend, _common

    k, d = means.shape
    p = _backend._Params(c, means, chol, covariance_type, backend.name)
    bounds = _common.partition_bounds(X.shape[0], k, d, covariance_type)
    segments = _common.all_rows_segments(bounds)
    q = _common.Partials(bounds.shape[0] - 1, k, d, covariance_type)
    args = (X, np.zeros(0), p.c, p.flat_means, p.U, p.center, p.shifted, p.shifted_u,
            segments, q.nk, q.s1, q.s2, q.cc, q.ll, p.kind, p.blas_for(X.dtype), 1)
    best = np.inf
    with _common.single_threaded_blas():
        for _ in range(200):
            q.zero()
            begin = time.perf_counter()
            backend.drivers.accumulate_partitions(*args)
            best = min(best, time.perf_counter() - begin)
    return best


class _Shape:
    def __init__(self, X):
        self.n_samples, self.n_features = X.shape


def main(argv=None):
    import sklearn
    from sklearn.mixture import GaussianMixture as Sklearn

    import fastgmm
    from fastgmm import kernels

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out")
    parser.add_argument("--quick", action="store_true",
                        help="the small data sets only (digits, iris, wine) and the search, "
                        "without the time budget (a smoke run)")
    args = parser.parse_args(argv)
    budget = 0.0 if args.quick else BUDGET
    cpu = _cpu()
    lines = [f"Whole default fits, {time.strftime('%Y-%m-%d')}, {cpu}, "
             f"fastgmm {fastgmm.__version__} (Cython module "
             f"{kernels.get_backend('cython').drivers.CPU_VARIANT}), scikit-learn "
             f"{sklearn.__version__}; each time the minimum of {args.repeats} runs or more "
             + (f"(a small fit: as many as take {budget:.0f} s, up to {MAX_RUNS})"
              if budget else ""), "",
             "| data | scikit-learn | fastgmm | whole-fit ratio | n_iter | same labels "
             "| lower bound rel. diff |", "|---|---:|---:|---:|---:|---|---:|"]
    print("\n".join(lines))
    for name, X, k, t in _cases(args.quick):
        _fit(fastgmm.GaussianMixture, X[:2000], k, t)  # load/compile the kernels
        _fit(Sklearn, X[:2000], k, t)
        best = {"ours": np.inf, "theirs": np.inf}
        runs = spent = 0
        # at least `repeats` runs each; small fits as many as take `budget`
        while runs < args.repeats or (spent < budget and runs < MAX_RUNS):
            t_ours, ours = _fit(fastgmm.GaussianMixture, X, k, t)
            t_theirs, theirs = _fit(Sklearn, X, k, t)
            best["ours"] = min(best["ours"], t_ours)
            best["theirs"] = min(best["theirs"], t_theirs)
            runs += 1
            spent += t_ours + t_theirs
        same = np.array_equal(ours.predict(X), theirs.predict(X))
        rel = abs(ours.lower_bound_ - theirs.lower_bound_) / abs(theirs.lower_bound_)
        iters = (f"{ours.n_iter_}" if ours.n_iter_ == theirs.n_iter_
                 else f"{ours.n_iter_} vs {theirs.n_iter_}")
        line = (f"| {name} | {_seconds(best['theirs'])} | {_seconds(best['ours'])} | "
                f"{best['theirs'] / best['ours']:.1f}x | {iters} | "
                f"{'yes' if same else 'no'} | {rel:.1e} |")
        print(line, flush=True)
        lines.append(line)
    line = _search_row(args.repeats)
    print(line, flush=True)
    lines += ["", "| model search | Python loop of scikit-learn fits | "
              "GaussianMixtureSearch | ratio | same best model |",
              "|---|---:|---:|---:|---|", line]
    header = ["", f"Per EM iteration (from the same parameters, fits of 1 and {LONG} "
              "iterations differenced; the pass alone: the compiled driver's call):", "",
              "| data | pass-by-pass driver | one compiled call | the pass alone "
              "| saved per iteration |", "|---|---:|---:|---:|---:|"]
    print("\n".join(header), flush=True)
    lines += header + _per_iteration_rows(args.repeats)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
