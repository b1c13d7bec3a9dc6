"""
Ellipses of a fitted mixture
============================

Fit a :class:`fastgmm.GaussianMixture` to points drawn from four Gaussians
and draw it with :func:`fastgmm.plot.mixture`: each point in the colour of
its most probable component, each component as the ellipse of two standard
deviations around its mean.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastgmm
import fastgmm.plot

# %%
# The data: 3,000 points from a known mixture of four Gaussians with full
# covariances (the same points as the README's figures and the command-line
# examples).

rng = np.random.RandomState(0)
true_means = np.array([[0.0, 0.0], [6.0, 2.0], [1.0, 7.0], [-5.0, 4.0]])
true_covariances = np.array([
    [[2.0, 1.2], [1.2, 1.5]],
    [[1.0, -0.6], [-0.6, 0.8]],
    [[2.5, 0.0], [0.0, 0.4]],
    [[0.6, 0.3], [0.3, 2.0]],
])
true_weights = np.array([0.35, 0.25, 0.25, 0.15])
labels = rng.choice(4, size=3000, p=true_weights)
X = np.empty((3000, 2))
for k in range(4):
    rows = labels == k
    X[rows] = rng.multivariate_normal(true_means[k], true_covariances[k], rows.sum())

# %%
# Fit, as with scikit-learn's ``GaussianMixture``.

gm = fastgmm.GaussianMixture(n_components=4, random_state=0).fit(X)
print("converged:", gm.converged_, "after", gm.n_iter_, "iterations")
print("weights:", gm.weights_.round(3))
print("means:\n", gm.means_.round(2))

# %%
# Draw the fit. ``plot.mixture`` returns the matplotlib axes; with ``ax=``
# it draws on axes of your own.

fig, ax = plt.subplots(figsize=(6.4, 4.8))
fastgmm.plot.mixture(gm, X, ax=ax)
ax.plot(true_means[:, 0], true_means[:, 1], "k+", markersize=14, label="true means")
ax.legend(loc="lower right")
plt.show()

# %%
# With more than two features, ``plot.mixture`` draws the plane of the
# first two principal components, or the pair of features given by
# ``dims``; with one feature, a histogram with each component's density.

gm1 = fastgmm.GaussianMixture(n_components=4, random_state=0).fit(X[:, :1])
fastgmm.plot.mixture(gm1, X[:, :1])
plt.show()
