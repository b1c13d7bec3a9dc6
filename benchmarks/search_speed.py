"""GaussianMixtureSearch against a loop of scikit-learn fits (issue 40, item 1).

The job: n_components = 1..10 x the four covariance types, BIC, random_state=0,
on digits (PCA to 16 features) and on standardized wine. scikit-learn: a
Python loop of GaussianMixture fits (each candidate's own k-means). fastgmm:
GaussianMixtureSearch, whose candidates of one n_components share their
k-means labels (em.init.SharedLabels), and the same search with the sharing
switched off (each candidate draws its own, as before), to show what the
sharing saves. Best of ``REPEATS`` runs each, one process, one machine.

Run: python benchmarks/search_speed.py [repeats]
"""

import sys
import time
import warnings

import numpy as np
from harness import cpu_name  # (benchmarks/, the script's directory)

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
TYPES = ("full", "tied", "diag", "spherical")


def data_sets():
    from sklearn.datasets import load_digits, load_wine
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    digits = PCA(16, random_state=0).fit_transform(load_digits().data)
    wine = StandardScaler().fit_transform(load_wine().data)
    return [("digits PCA-16", digits), ("wine, standardized", wine)]


def sklearn_loop(X):
    from sklearn.mixture import GaussianMixture

    best = None
    for t in TYPES:
        for k in range(1, 11):
            m = GaussianMixture(k, covariance_type=t, random_state=0).fit(X)
            bic = m.bic(X)
            if best is None or bic < best[0]:
                best = (bic, k, t)
    return best[1], best[2]


def fastgmm_search(X):
    import fastgmm

    s = fastgmm.GaussianMixtureSearch(range(1, 11), covariance_type=TYPES,
                                      random_state=0).fit(X)
    return s.best_params_["n_components"], s.best_params_["covariance_type"]


class _NotShared:
    """em.init.SharedLabels that shares nothing (each candidate draws)."""

    def __init__(self, n_samples, n_features):
        self.shape = (n_samples, n_features)

    def get(self, key, random_state, draw):
        return draw()


def fastgmm_search_unshared(X):
    from fastgmm import _search

    shared = _search.SharedLabels
    _search.SharedLabels = _NotShared
    try:
        return fastgmm_search(X)
    finally:
        _search.SharedLabels = shared


def best_of(run, X):
    best, result = np.inf, None
    for _ in range(REPEATS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            result = run(X)
            best = min(best, time.perf_counter() - start)
    return best, result


def main():
    import sklearn

    import fastgmm

    cpu = cpu_name()
    print(f"# Model search: k=1..10 x 4 types, BIC, {time.strftime('%Y-%m-%d')}, {cpu}, "
          f"fastgmm {fastgmm.__version__}, scikit-learn {sklearn.__version__}, "
          f"best of {REPEATS}\n")
    print("| data | scikit-learn loop | search | ratio | search, k-means per "
          "candidate | ratio | same best model |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, X in data_sets():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fastgmm_search(X)  # load the kernels
        t_loop, theirs = best_of(sklearn_loop, X)
        t_search, ours = best_of(fastgmm_search, X)
        t_unshared, ours_unshared = best_of(fastgmm_search_unshared, X)
        assert ours == ours_unshared
        print(f"| {name} | {t_loop:.3f} s | {t_search:.3f} s | {t_loop / t_search:.1f}x "
              f"| {t_unshared:.3f} s | {t_loop / t_unshared:.1f}x | "
              f"{'yes' if ours == theirs else 'no'} ({ours[1]}, k={ours[0]}) |")


if __name__ == "__main__":
    main()
