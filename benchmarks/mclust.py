"""fastgmm's mclust models against R mclust's ``me()``, same machine, one run.

From the same initial responsibilities (hard labels of k-means), for each of
the 14 models: the time per EM iteration (a run of 11 iterations minus a run
of 1, over 10; mclust with its EM tolerance at 0 so that it does not stop
early) and the whole fit (mclust's ``me()`` with its default control, to
its own convergence; fastgmm the first M-step plus as many iterations as
mclust took). mclust is single-threaded Fortran; fastgmm uses its default
threads. Needs ``Rscript`` with mclust (Debian: ``apt-get install
r-cran-mclust``).

    python benchmarks/mclust.py [--n 100000] [--d 8] [--k 8] [--models VVV,VEV]
                                [--separation 1.0]
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
import warnings

import numpy as np

R_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1], header = FALSE))
z <- unmap(scan(args[2], quiet = TRUE))
models <- strsplit(args[3], ",")[[1]]
inner <- emControl()$tol[2]
out <- list()
for (m in models) {
  timed <- function(control) {
    t <- system.time(r <- me(X, m, z, control = control))[["elapsed"]]
    list(time = t, n_iter = as.integer(attr(r, "info")[1]), loglik = r$loglik)
  }
  one <- timed(emControl(tol = c(0, inner), itmax = c(1, .Machine$integer.max)))
  eleven <- timed(emControl(tol = c(0, inner), itmax = c(11, .Machine$integer.max)))
  whole <- timed(emControl(itmax = c(500, .Machine$integer.max)))
  out[[m]] <- list(per_iteration = (eleven$time - one$time) / 10,
                   whole_time = whole$time, whole_n_iter = whole$n_iter,
                   whole_loglik = whole$loglik)
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def make_data(n, d, k, seed=0, separation=1.0):
    """Overlapping Gaussians (random means, ``separation`` apart on the
    scale of the components, and rotated covariances), so that EM takes
    more than a few iterations."""
    rng = np.random.RandomState(seed)
    means = rng.randn(k, d) * separation
    sizes = rng.multinomial(n, np.full(k, 1.0 / k))
    parts = []
    for j in range(k):
        A = rng.randn(d, d) / np.sqrt(d) * rng.uniform(0.5, 1.5)
        parts.append(rng.randn(sizes[j], d) @ A + means[j])
    return rng.permutation(np.vstack(parts))


def first_m_step(X, labels, k, model):
    from fastgmm.em import covariance as cov
    from fastgmm.em import init as _init
    from fastgmm.em import parsimonious as pm

    structure = pm.structure_of(model)
    weights, means, covariances = _init._from_labels(X, None, labels, k, structure, 0.0)
    covariances = pm.constrain(weights, covariances, model)
    chol = cov.precisions_cholesky(covariances, structure)
    return dict(weights_init=weights, means_init=means,
                precisions_init=cov.precisions_from_cholesky(chol, structure))


def fastgmm_times(X, labels, k, model, whole_iterations):
    from fastgmm import GaussianMixture

    def fit(iterations, init=None):
        t0 = time.perf_counter()
        init = init or first_m_step(X, labels, k, model)
        model_ = GaussianMixture(k, covariance_type=model, reg_covar=0.0, tol=0.0,
                                 max_iter=iterations, **init).fit(X)
        return time.perf_counter() - t0, model_

    init = first_m_step(X, labels, k, model)
    fit(1, init)  # warm the kernels
    one = min(fit(1, init)[0] for _ in range(2))
    eleven = min(fit(11, init)[0] for _ in range(2))
    whole, fitted = fit(max(whole_iterations - 1, 1))  # the first M-step included
    return (eleven - one) / 10, whole, fitted.score(X) * len(X)


def main():
    from fastgmm._constants import MCLUST_MODELS
    from fastgmm.em import kmeans

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=8)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--models", default=",".join(MCLUST_MODELS))
    parser.add_argument("--separation", type=float, default=1.0)
    args = parser.parse_args()
    if shutil.which("Rscript") is None:
        raise SystemExit("Rscript is not on PATH (apt-get install r-cran-mclust)")
    warnings.simplefilter("ignore")
    models = args.models.split(",")
    X = make_data(args.n, args.d, args.k, separation=args.separation)
    labels = kmeans.kmeans(X, None, args.k, np.random.RandomState(0), max_iter=20).labels
    with tempfile.TemporaryDirectory() as tmp:
        np.savetxt(os.path.join(tmp, "X.csv"), X, delimiter=",", fmt="%.17g")
        np.savetxt(os.path.join(tmp, "z.csv"), labels + 1, fmt="%d")
        with open(os.path.join(tmp, "me.R"), "w") as f:
            f.write(R_SCRIPT)
        result = subprocess.run(
            ["Rscript", os.path.join(tmp, "me.R"), os.path.join(tmp, "X.csv"),
             os.path.join(tmp, "z.csv"), ",".join(models)],
            check=True, capture_output=True, text=True)
    mclust = json.loads(result.stdout)
    version = subprocess.run(["Rscript", "-e", "cat(as.character(packageVersion('mclust')))"],
                             capture_output=True, text=True).stdout.strip()
    print(f"{args.n:,} x {args.d}, k={args.k}, separation {args.separation}, from k-means "
          f"labels; mclust {version} me() "
          "(one thread) vs fastgmm (default threads), one run:\n")
    print("| model | mclust / iteration | fastgmm / iteration | ratio | mclust whole fit "
          "(iterations) | fastgmm same iterations | ratio | log L mclust - fastgmm |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    per_iteration = {}
    for model in models:
        theirs = mclust[model]
        ours, whole, loglik = fastgmm_times(X, labels, args.k, model,
                                            theirs["whole_n_iter"])
        per_iteration[model] = ours
        print(f"| {model} | {theirs['per_iteration'] * 1e3:.1f} ms | {ours * 1e3:.2f} ms | "
              f"{theirs['per_iteration'] / ours:.0f}x | {theirs['whole_time']:.2f} s "
              f"({theirs['whole_n_iter']}) | {whole:.3f} s | "
              f"{theirs['whole_time'] / whole:.0f}x | "
              f"{theirs['whole_loglik'] - loglik:.3g} |")
    if "VVV" in per_iteration:
        print("\nRotated models per iteration against 'full' (VVV): " + ", ".join(
            f"{m} {per_iteration[m] / per_iteration['VVV']:.2f}x"
            for m in ("EEV", "VEV", "EVV", "VEE", "EVE", "VVE") if m in per_iteration))


if __name__ == "__main__":
    main()
