"""
The Bayesian mixture's weights
==============================

:class:`fastgmm.BayesianGaussianMixture` is given more components than the
data need (10 here, for 4 clusters) and drives the weights of the
superfluous ones to near zero. :func:`fastgmm.plot.weights` draws the
weights; the effective components (weight above 0.01) are coloured.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import make_blobs

import fastgmm
import fastgmm.plot

X, _ = make_blobs(n_samples=3000, centers=4, cluster_std=0.8, random_state=0)

# %%
# The two priors of the weights: a Dirichlet process (stick breaking, the
# default) and a Dirichlet distribution.

fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
for row, prior in enumerate(["dirichlet_process", "dirichlet_distribution"]):
    bgm = fastgmm.BayesianGaussianMixture(
        n_components=10, weight_concentration_prior_type=prior, max_iter=500,
        random_state=0).fit(X)
    print(f"{prior}: weights {bgm.weights_.round(3)}, {bgm.n_iter_} iterations")
    fastgmm.plot.weights(bgm, ax=axes[row, 0], title=prior)
    fastgmm.plot.mixture(bgm, X, ax=axes[row, 1])
fig.tight_layout()
plt.show()

# %%
# ``weight_concentration_prior`` (default ``1 / n_components``) sets how
# strongly the prior favours few components; a large value spreads the
# weight over more of them.

fig, axes = plt.subplots(1, 3, figsize=(12, 3.5), sharey=True)
for ax, concentration in zip(axes, [0.001, 0.1, 1000.0]):
    bgm = fastgmm.BayesianGaussianMixture(
        n_components=10, weight_concentration_prior=concentration, max_iter=500,
        random_state=0).fit(X)
    fastgmm.plot.weights(bgm, ax=ax, title=f"concentration {concentration:g}")
fig.tight_layout()
plt.show()
