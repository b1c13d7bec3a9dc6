"""StudentTMixture's speed (issue 39), ratios from one run on one machine.

1. Per EM iteration, t against Gaussian: 1e6 x 8 float64, k=16, 'full',
   dof='component', both started from the same parameters (a two-iteration
   GaussianMixture fit), timed as (T(1 + N iterations) - T(1 iteration)) / N
   with tol=0, best of ``REPEATS``. Also the whole default fits.
2. Against `studenttmixture` (pip; pure NumPy/SciPy, 'full' scale matrices
   only), per iteration, from the same start (its `initialize_params`
   replaced by ours), fixed dof 4 (its default) and estimated dof, tol 1e-10
   on both: time per iteration and the converged mean log-likelihoods.
   (Its scale update divides the scatter by sum r u, ours by sum r, the ECM
   step of Peel & McLachlan; both have the same fixed points.)

Run: python benchmarks/student_speed.py [backend]   (studenttmixture optional)
"""

import sys
import time
import warnings

import numpy as np
from harness import cpu_name  # (benchmarks/, the script's directory)

import fastgmm

REPEATS = 3
MAX_ITER = 400  # (studenttmixture's runs to tol 1e-10: minutes at 2e5 rows)
BACKEND = sys.argv[1] if len(sys.argv) > 1 else "auto"


def blobs(n, d, k, seed=0):
    rng = np.random.RandomState(seed)
    centres = rng.randn(k, d) * 4
    labels = rng.randint(k, size=n)
    X = centres[labels] + rng.standard_t(5, size=(n, d))
    return X


def start(X, k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = fastgmm.GaussianMixture(k, max_iter=2, random_state=0, backend=BACKEND).fit(X)
    return dict(weights_init=g.weights_, means_init=g.means_,
                precisions_init=g.precisions_)


def timed_fit(make, X, iters):
    best = np.inf
    for _ in range(REPEATS):
        model = make(iters)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
        best = min(best, time.perf_counter() - t0)
    return best, model


def per_iteration(make, X, n_more=10):
    t1, _ = timed_fit(make, X, 1)
    tn, model = timed_fit(make, X, 1 + n_more)
    assert model.n_iter_ == 1 + n_more, model.n_iter_
    return (tn - t1) / n_more


def t_against_gaussian():
    n, d, k = 1_000_000, 8, 16
    X = blobs(n, d, k)
    init = start(X, k)
    t_it = per_iteration(lambda it: fastgmm.StudentTMixture(
        k, tol=0.0, max_iter=it, backend=BACKEND, **init), X)
    g_it = per_iteration(lambda it: fastgmm.GaussianMixture(
        k, tol=0.0, max_iter=it, backend=BACKEND, **init), X)
    t_whole, tm = timed_fit(lambda _: fastgmm.StudentTMixture(
        k, random_state=0, backend=BACKEND), X, None)
    g_whole, gm = timed_fit(lambda _: fastgmm.GaussianMixture(
        k, random_state=0, backend=BACKEND), X, None)
    print(f"## t against Gaussian: {n:.0e} x {d} float64, k={k}, 'full', "
          f"dof='component', backend {BACKEND}\n")
    print("| | t | Gaussian | t / Gaussian |\n|---|---:|---:|---:|")
    print(f"| per EM iteration (ms) | {t_it * 1e3:.1f} | {g_it * 1e3:.1f} | "
          f"{t_it / g_it:.2f} |")
    print(f"| whole default fit (s) | {t_whole:.2f} ({tm.n_iter_} it.) | "
          f"{g_whole:.2f} ({gm.n_iter_} it.) | {t_whole / g_whole:.2f} |\n")


def their_bound(model, X):
    """The mean log-likelihood of studenttmixture's fitted parameters (the t
    mixture density written out)."""
    from scipy.special import gammaln, logsumexp

    n, d = X.shape
    cols = []
    for j in range(model.location_.shape[0]):
        L = np.linalg.cholesky(model.scale_[:, :, j])
        z = np.linalg.solve(L, (X - model.location_[j]).T)
        delta = np.sum(z * z, axis=0)
        nu = model.df_[j]
        cols.append(np.log(model.mix_weights_[j]) + gammaln((nu + d) / 2)
                    - gammaln(nu / 2) - d / 2 * np.log(nu * np.pi)
                    - np.sum(np.log(np.diag(L))) - (nu + d) / 2 * np.log1p(delta / nu))
    return float(np.mean(logsumexp(np.stack(cols, axis=1), axis=1)))


def against_studenttmixture():
    try:
        from studenttmixture import EMStudentMixture
    except ImportError:
        print("studenttmixture is not installed (pip install studenttmixture): skipped")
        return
    print("## Against studenttmixture (pip), 'full', per EM iteration, same start\n")
    print("| data | dof | converged (tol 1e-10): ours, theirs | fastgmm ms/it. (it.) | "
          "studenttmixture ms/it. (it.) | ratio | mean log-lik. rel. diff. |")
    print("|---|---|---|---:|---:|---:|---:|")
    for n, d, k in ((200_000, 8, 8), (100_000, 4, 4)):
        X = blobs(n, d, k, seed=1)
        init = start(X, k)
        for fixed in (True, False):
            ours = fastgmm.StudentTMixture(
                k, tol=1e-10, max_iter=MAX_ITER, backend=BACKEND,
                dof=4.0 if fixed else "component", dof_init=4.0, **init)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ours.fit(X)
            t_ours = (time.perf_counter() - t0) / ours.n_iter_

            theirs = EMStudentMixture(k, tol=1e-10, max_iter=MAX_ITER, df=4.0,
                                      fixed_df=fixed, random_state=0)
            covs = np.linalg.inv(init["precisions_init"])
            chol = np.stack([np.linalg.cholesky(c) for c in covs], axis=-1)
            theirs.initialize_params = lambda X_, seed, kind: (
                init["means_init"].copy(), np.moveaxis(covs, 0, -1).copy(),
                init["weights_init"].copy(), chol.copy())
            count = [0]
            estep = theirs.Estep

            def counted(*args):
                count[0] += 1
                return estep(*args)

            theirs.Estep = counted
            t0 = time.perf_counter()
            # (one restart, directly: its fit keeps parameters only when converged)
            _, their_converged, loc, scale, mix, df, _ = theirs.fitting_restart(X, 0)
            t_theirs = (time.perf_counter() - t0) / count[0]
            theirs.location_, theirs.scale_, theirs.mix_weights_, theirs.df_ = (
                loc, scale, mix, df)
            ll_ours = ours.score(X)
            ll_theirs = their_bound(theirs, X)
            print(f"| {n:,} x {d}, k={k} | {'4 (fixed)' if fixed else 'estimated'} | "
                  f"{'yes' if ours.converged_ else 'no'}, "
                  f"{'yes' if their_converged else 'no'} | "
                  f"{t_ours * 1e3:.2f} ({ours.n_iter_}) | {t_theirs * 1e3:.1f} "
                  f"({count[0]}) | {t_theirs / t_ours:.1f}x | "
                  f"{abs(ll_ours - ll_theirs) / abs(ll_theirs):.1e} |")
    print()


def main():
    print(f"# StudentTMixture speed, {time.strftime('%Y-%m-%d')}, {cpu_name()}, "
          f"fastgmm {fastgmm.__version__}, backend {BACKEND}\n")
    t_against_gaussian()
    against_studenttmixture()


if __name__ == "__main__":
    main()
