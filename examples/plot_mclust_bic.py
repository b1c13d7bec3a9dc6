"""
mclust's 14 models on iris: the BIC plot
========================================

``covariance_type`` also takes R mclust's 14 parsimonious models (EII,
VII, ..., VVV), and ``GaussianMixtureSearch(covariance_type='mclust')``
tries them all. ``plot.search(search, style='mclust')`` draws mclust's BIC
plot: mclust's BIC is the opposite of scikit-learn's, so higher is better
there.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_iris

import fastgmm
import fastgmm.plot

X = load_iris().data
search = fastgmm.GaussianMixtureSearch(n_components=range(1, 10),
                                       covariance_type="mclust",
                                       random_state=0).fit(X)
print("best:", search.best_params_)  # mclust chooses 2 components, VEV, too

fig, ax = plt.subplots(figsize=(8, 5.5))
fastgmm.plot.search(search, style="mclust", ax=ax)
fig.tight_layout()
plt.show()

# %%
# The best model, VEV (variable volume, equal shape, variable orientation),
# drawn on two of iris' features:

best = search.best_estimator_
print("covariance_type:", best.covariance_type, "covariances_:", best.covariances_.shape)
fastgmm.plot.mixture(best, X, dims=(2, 3))
plt.show()
