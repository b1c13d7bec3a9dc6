"""Draw the README's figures: docs/mixture.png and docs/search.png.

    python docs/make_figures.py [--csv data.csv]

Fits a model search to 3,000 points drawn from a known mixture of four
Gaussians in two dimensions and draws it with fastgmm.plot (matplotlib's Agg
backend: no display needed). --csv also writes the points, for trying the
command line on the same data.
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import fastgmm  # noqa: E402
import fastgmm.plot  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def example_data(n_samples=3000, seed=0):
    """Points from four Gaussians with full covariances (the truth to find)."""
    rng = np.random.RandomState(seed)
    means = np.array([[0.0, 0.0], [6.0, 2.0], [1.0, 7.0], [-5.0, 4.0]])
    covariances = np.array([
        [[2.0, 1.2], [1.2, 1.5]],
        [[1.0, -0.6], [-0.6, 0.8]],
        [[2.5, 0.0], [0.0, 0.4]],
        [[0.6, 0.3], [0.3, 2.0]],
    ])
    weights = np.array([0.35, 0.25, 0.25, 0.15])
    labels = rng.choice(4, size=n_samples, p=weights)
    X = np.empty((n_samples, 2))
    for k in range(4):
        rows = labels == k
        X[rows] = rng.multivariate_normal(means[k], covariances[k], rows.sum())
    return X


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="also write the data to this CSV file")
    args = parser.parse_args()
    X = example_data()
    if args.csv:
        np.savetxt(args.csv, X, delimiter=",", header="x,y", comments="", fmt="%.6f")

    search = fastgmm.GaussianMixtureSearch(n_components=range(1, 9),
                                           random_state=0).fit(X)
    print("best:", search.best_params_)

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    fastgmm.plot.search(search, ax=ax)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "search.png"), dpi=80)

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    fastgmm.plot.mixture(search.best_estimator_, X, ax=ax)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "mixture.png"), dpi=80)


if __name__ == "__main__":
    main()
