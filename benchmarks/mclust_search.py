"""The job of R mclust's ``Mclust(X, G = 1:9)`` (its 14 models, BIC) against
``GaussianMixtureSearch(n_components=range(1, 10), covariance_type='mclust')``,
same machine, one run (issue 40, item 1).

R: mclust's default initialization, model-based hierarchical agglomeration
(``hc``) on all rows; with ``--subset N`` mclust's own advice for large data,
``initialization = list(subset = sample(n, N))`` (hc on N rows, then EM on
all). fastgmm: k-means (its default, scikit-learn's), drawn once per k for
the 14 models (shared labels). Both fit 14 x 9 = 126 candidates; the time
is the wall time of the whole call (R: ``system.time``, without starting R
and reading the data; fastgmm: the search's fit, kernels loaded). The
chosen model and number of components are compared.

    python benchmarks/mclust_search.py [--n 10000] [--d 4] [--k 4] [--subset 0]

Needs ``Rscript`` with mclust (Debian: ``apt-get install r-cran-mclust``).
"""

import argparse
import json
import os
import subprocess
import tempfile
import time
import warnings

import numpy as np

R_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1], header = FALSE))
subset <- as.integer(args[2])
set.seed(0)
if (subset > 0) {
  init <- list(subset = sample(nrow(X), subset))
  t <- system.time(m <- Mclust(X, G = 1:9, initialization = init, verbose = FALSE))
} else {
  t <- system.time(m <- Mclust(X, G = 1:9, verbose = FALSE))
}
cat(sprintf('{"time": %.4f, "model": "%s", "G": %d, "bic": %.6f}\n',
            t[["elapsed"]], m$modelName, m$G, m$bic))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--d", type=int, default=4)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--subset", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import fastgmm
    from fastgmm._demo import make_data

    X = make_data(args.n, args.d, args.k, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "X.csv")
        np.savetxt(data, X, delimiter=",", fmt="%.17g")
        script = os.path.join(tmp, "search.R")
        with open(script, "w") as f:
            f.write(R_SCRIPT)
        r = json.loads(subprocess.run(
            ["Rscript", script, data, str(args.subset)], check=True,
            capture_output=True, text=True).stdout.strip().splitlines()[-1])

    def search():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fastgmm.GaussianMixtureSearch(
                n_components=range(1, 10), covariance_type="mclust",
                random_state=0).fit(X)

    search()  # the kernels loaded and compiled
    best = np.inf
    for _ in range(args.repeats):
        start = time.perf_counter()
        s = search()
        best = min(best, time.perf_counter() - start)
    ours = (s.best_params_["covariance_type"], s.best_params_["n_components"])
    init = "hc on all rows" if args.subset == 0 else f"hc on {args.subset:,} rows"
    print(f"| {args.n:,} x {args.d} ({args.k} clusters) | R mclust ({init}) "
          f"{r['time']:.2f} s, {r['model']} G={r['G']} | fastgmm (k-means) {best:.3f} s, "
          f"{ours[0]} k={ours[1]} | {r['time'] / best:.1f}x | "
          f"{'yes' if ours == (r['model'], r['G']) else 'no'} |")


if __name__ == "__main__":
    main()
