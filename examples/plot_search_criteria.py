"""
Choosing the number of components: BIC, AIC, ICL and held-out likelihood
========================================================================

:class:`fastgmm.GaussianMixtureSearch` fits every combination of
``n_components`` and ``covariance_type`` and ranks them by a criterion.
:func:`fastgmm.plot.search` draws the criterion against the number of
components, one line per covariance type, the best one starred.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastgmm
import fastgmm.plot

# %%
# Five clusters, two of them close to each other.

rng = np.random.RandomState(0)
centres = np.array([[0, 0], [5, 0], [0, 6], [6, 6], [7.2, 7.0]])
X = np.vstack([c + rng.randn(300, 2) * [0.9, 0.6] for c in centres])

# %%
# One search computes BIC, AIC and ICL for every candidate; the held-out
# likelihood needs fits on part of the rows, so it is a search of its own.

grid = dict(n_components=range(1, 9), covariance_type=["full", "diag", "spherical"],
            random_state=0)
search = fastgmm.GaussianMixtureSearch(criterion="bic", **grid).fit(X)
heldout = fastgmm.GaussianMixtureSearch(criterion="heldout", cv=5, **grid).fit(X)

fig, axes = plt.subplots(2, 2, figsize=(10, 8))
for ax, criterion in zip(axes.flat[:3], ["bic", "aic", "icl"]):
    fastgmm.plot.search(search, criterion=criterion, ax=ax)
fastgmm.plot.search(heldout, ax=axes.flat[3])
fig.tight_layout()
plt.show()

# %%
# BIC (lower is better) finds the five clusters. ICL, which also penalizes
# components that overlap, merges the two close clusters and picks four.
# AIC's lighter penalty picks five here too, with a flatter curve beyond.
# The held-out likelihood (higher is better; the bars are the spread over
# the five folds) stops improving at four or five components: its maximum
# further right is within that spread. ``results_`` holds every number, a
# table with pandas:

import pandas as pd  # noqa: E402

table = pd.DataFrame(search.results_).sort_values("rank")
print(table[["n_components", "covariance_type", "rank", "bic", "aic", "icl"]].head())
print("best by BIC:", search.best_params_, " by held-out:", heldout.best_params_)
