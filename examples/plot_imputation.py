"""
Imputation error against scikit-learn's imputers
================================================

:class:`fastgmm.GaussianMixtureImputer` fits a Gaussian mixture to the
observed entries (EM with the missing entries marginalized) and replaces
each missing value by its expectation given the row's observed values.
Here it is compared with scikit-learn's :class:`~sklearn.impute.SimpleImputer`
(the column mean), :class:`~sklearn.impute.KNNImputer` and
:class:`~sklearn.impute.IterativeImputer` (chained regressions), by the
root-mean-square error of the imputed entries, as the fraction of missing
entries grows.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.preprocessing import StandardScaler

import fastgmm

# %%
# Two data sets: three correlated Gaussian clusters in 4-D (generated), and
# five of the wine data's chemical measurements (standardized).

rng = np.random.RandomState(0)
cov = np.array([[1.0, 0.8, 0.5, 0.2], [0.8, 1.0, 0.6, 0.3],
                [0.5, 0.6, 1.0, 0.4], [0.2, 0.3, 0.4, 1.0]])
clusters = np.vstack([rng.multivariate_normal(mean, cov * scale, 400)
                      for mean, scale in [([0, 0, 0, 0], 1.0),
                                          ([4, -3, 2, 1], 0.5),
                                          ([-3, 3, 4, -2], 0.8)]])
wine = StandardScaler().fit_transform(load_wine().data[:, [0, 5, 6, 9, 11]])
datasets = {"three clusters, 1,200 x 4": clusters, "wine, 178 x 5": wine}

imputers = {
    "column mean (SimpleImputer)": lambda: SimpleImputer(),
    "KNNImputer": lambda: KNNImputer(n_neighbors=5),
    "IterativeImputer": lambda: IterativeImputer(random_state=0, max_iter=10),
    "fastgmm, 1 component": lambda: fastgmm.GaussianMixtureImputer(1, random_state=0),
    "fastgmm, 3 components": lambda: fastgmm.GaussianMixtureImputer(3, random_state=0),
}
fractions = [0.1, 0.2, 0.3, 0.4]

# %%
# Remove entries completely at random, impute, and measure the error on the
# removed entries only (the mean over two draws of the holes).

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for ax, (name, X) in zip(axes, datasets.items()):
    for label, make in imputers.items():
        errors = []
        for fraction in fractions:
            rmse = []
            for seed in range(2):
                holes = np.random.RandomState(seed).rand(*X.shape) < fraction
                holes[holes.all(axis=1), 0] = False   # keep one entry per row
                X_missing = np.where(holes, np.nan, X)
                filled = make().fit_transform(X_missing)
                rmse.append(np.sqrt(np.mean((filled[holes] - X[holes]) ** 2)))
            errors.append(np.mean(rmse))
        ax.plot(fractions, errors, "o-", label=label)
        print(f"{name} | {label}: RMSE {np.round(errors, 3)}")
    ax.set_title(name)
    ax.set_xlabel("fraction of entries missing")
    ax.set_ylabel("RMSE of the imputed entries")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# On clustered data the mixture's conditional expectation follows the
# cluster a row belongs to, which the column mean and a single regression
# cannot. ``GaussianMixtureImputer`` is a scikit-learn transformer, so it
# goes in a :class:`~sklearn.pipeline.Pipeline` like the others.
