"""accelerate='squarem' against plain EM (issue 40, item 2), one run.

For each case, the default fit (plain EM, tol=1e-3, random_state=0) gives
its converged lower bound L* after n passes; the same fit with
accelerate='squarem' is timed to its own convergence, and a SQUAREM run
without a stopping rule (tol=0) records, through fit(callback=...), the
first pass whose lower bound reaches L* and the time it took (the fit's
initialization included). Whole-fit times: the minimum of REPEATS.

Run: python benchmarks/squarem.py [repeats]
"""

import sys
import time
import warnings

import numpy as np
from harness import cpu_name  # (benchmarks/, the script's directory)

import fastgmm
from fastgmm._demo import make_data

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
#: The stopping rules compared: scikit-learn's default, and a tight one
TOLS = (1e-3, 1e-6)
#: "Reached": a bound within this relative distance of L* (the last digits
#: of a bound depend on the order of its sums)
SLACK = 1e-10


def cases():
    from sklearn.datasets import load_digits, load_sample_image
    from sklearn.decomposition import PCA

    digits = PCA(16, random_state=0).fit_transform(load_digits().data)
    for t in ("full", "tied", "diag", "spherical"):
        yield f"digits PCA-16, k=10, {t}", fastgmm.GaussianMixture, digits, 10, t
    yield "digits PCA-16, k=10, full, t mixture", fastgmm.StudentTMixture, digits, 10, "full"
    china = load_sample_image("china.jpg").reshape(-1, 3).astype(np.float64) / 255
    yield "china.jpg pixels, k=16, full", fastgmm.GaussianMixture, china, 16, "full"
    big = make_data(1_000_000, 8, 16, seed=0)
    yield "1e6 x 8, k=16, full", fastgmm.GaussianMixture, big, 16, "full"
    yield "1e6 x 8, k=16, diag", fastgmm.GaussianMixture, big, 16, "diag"


def quiet_fit(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, **kwargs)


def timed(make, X, repeats=REPEATS):
    best, model = np.inf, None
    for _ in range(repeats):
        model = make()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
        best = min(best, time.perf_counter() - start)
    return best, model


def reach(cls, X, k, t, target, max_iter):
    """(passes, seconds) of a SQUAREM run until its bound reaches target
    (to within SLACK)."""
    events = []
    target = target - SLACK * abs(target)
    model = cls(k, covariance_type=t, random_state=0, tol=0.0, max_iter=max_iter,
                accelerate="squarem")
    start = time.perf_counter()

    def callback(event):
        if event["event"] == "iteration":
            events.append((event["n_iter"], event["lower_bound"],
                           time.perf_counter() - start))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, callback=callback)
    for n_iter, bound, seconds in events:
        if bound >= target:
            return n_iter, seconds
    return None, None


def main():
    cpu = cpu_name()
    print(f"# accelerate='squarem' against plain EM, {time.strftime('%Y-%m-%d')}, "
          f"{cpu}, fastgmm {fastgmm.__version__}\n")
    print("| case | tol | plain: passes, s, L* | squarem: passes, s, L | "
          "squarem to reach L*: passes, s | fewer passes to L* |")
    print("|---|---|---|---|---|---:|")
    for name, cls, X, k, t in cases():
        quiet_fit(cls(k, covariance_type=t, max_iter=1), X[:2000])  # load the kernels
        for tol in TOLS:
            t_plain, plain = timed(
                lambda: cls(k, covariance_type=t, random_state=0, tol=tol, max_iter=2000),
                X)
            t_fast, fast = timed(
                lambda: cls(k, covariance_type=t, random_state=0, tol=tol, max_iter=2000,
                            accelerate="squarem"), X)
            target = float(plain.lower_bound_)
            passes, seconds = reach(cls, X, k, t, target, 3 * plain.n_iter_ + 20)
            saved = ("not reached" if passes is None
                     else f"{1 - passes / plain.n_iter_:.0%}")
            reached = "-" if passes is None else f"{passes}, {seconds:.3f}"
            print(f"| {name} | {tol:g} | {plain.n_iter_}, {t_plain:.3f}, {target:.6f} | "
                  f"{fast.n_iter_}, {t_fast:.3f}, {float(fast.lower_bound_):.6f} | "
                  f"{reached} | {saved} |")


if __name__ == "__main__":
    main()
