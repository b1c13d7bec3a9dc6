"""Robustness of StudentTMixture against gross outliers (issue 39).

Two Gaussian clusters in 2-D (1,000 rows) with 5% of the rows replaced by
gross outliers, uniform on [-60, 60]^2. For each seed: the largest error of
the means (Euclidean) and of the scale matrices (relative Frobenius) of

- the t and Gaussian mixtures started from the same parameters (k-means on
  the inlier rows, then one M-step),
- default fits (k-means start on all rows) of both,
- what a user can do when the default start puts a component on the
  outliers (k-means on all rows spends a centre on them): a Gaussian
  mixture with mclust's noise component (noise=True), more components (the
  two nearest the true clusters are scored), or several k-means++ starts
  (the best lower bound is kept).

Run: python benchmarks/student_robustness.py [n_seeds] [backend]
"""

import sys
import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans

import fastgmm
from fastgmm import reference

TRUE_MEANS = np.array([[0.0, 0.0], [6.0, 3.0]])
TRUE_COVS = np.array([[[1.0, 0.5], [0.5, 1.5]], [[2.0, -0.6], [-0.6, 0.8]]])


def outlier_data(seed, n=1000, fraction=0.05):
    rng = np.random.RandomState(seed)
    labels = rng.randint(2, size=n)
    X = np.empty((n, 2))
    for k in range(2):
        rows = labels == k
        X[rows] = rng.multivariate_normal(TRUE_MEANS[k], TRUE_COVS[k], rows.sum())
    outliers = rng.rand(n) < fraction
    X[outliers] = rng.uniform(-60.0, 60.0, (outliers.sum(), 2))
    return X, outliers


def errors(means, covs):
    """Max mean error and max relative scale error over the true clusters,
    each matched to its nearest fitted component (Hungarian on the means)."""
    cost = np.linalg.norm(TRUE_MEANS[:, None] - means[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    mean_error = max(cost[r, c] for r, c in zip(rows, cols))
    scale_error = max(np.linalg.norm(covs[c] - TRUE_COVS[r]) / np.linalg.norm(TRUE_COVS[r])
                      for r, c in zip(rows, cols))
    return mean_error, scale_error


def fit(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X)


def one_seed(seed, backend):
    X, outliers = outlier_data(seed)
    labels = KMeans(2, n_init=10, random_state=0).fit_predict(X[~outliers])
    weights, means, covs = reference.m_step(X[~outliers], np.eye(2)[labels], "full")
    init = dict(weights_init=weights, means_init=means,
                precisions_init=np.linalg.inv(covs), backend=backend)
    models = {
        "t, inlier start": fastgmm.StudentTMixture(2, **init),
        "Gaussian, inlier start": fastgmm.GaussianMixture(2, **init),
        "t, default": fastgmm.StudentTMixture(2, random_state=seed, backend=backend),
        "Gaussian, default": fastgmm.GaussianMixture(2, random_state=seed,
                                                     backend=backend),
        "Gaussian + noise, default": fastgmm.GaussianMixture(
            2, noise=True, random_state=seed, backend=backend),
        "t, 4 components, default": fastgmm.StudentTMixture(
            4, random_state=seed, backend=backend),
        "Gaussian + noise, 4 components, default": fastgmm.GaussianMixture(
            4, noise=True, random_state=seed, backend=backend),
        "t, init_params='k-means++', n_init=10": fastgmm.StudentTMixture(
            2, init_params="k-means++", n_init=10, random_state=seed, backend=backend),
    }
    return {name: errors(fit(m, X).means_, m.covariances_) for name, m in models.items()}


def main():
    n_seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    backend = sys.argv[2] if len(sys.argv) > 2 else "auto"
    results = [one_seed(seed, backend) for seed in range(n_seeds)]
    print(f"{n_seeds} data sets (seeds 0..{n_seeds - 1}), 1,000 rows, 5% gross outliers")
    print("| fit | median max mean error | worst | median max rel. scale error | worst |")
    print("|---|---:|---:|---:|---:|")
    for name in results[0]:
        m = np.array([r[name][0] for r in results])
        s = np.array([r[name][1] for r in results])
        print(f"| {name} | {np.median(m):.3f} | {m.max():.3f} | {np.median(s):.3f} "
              f"| {s.max():.3f} |")


if __name__ == "__main__":
    main()
