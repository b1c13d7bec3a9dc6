"""
The four covariance types
=========================

``covariance_type`` sets the form of the components' covariances: 'full'
(any ellipse), 'tied' (one ellipse shared by all), 'diag' (ellipses along
the axes) and 'spherical' (circles). The same data, fitted four ways, with
their BIC (lower is better).
"""

import matplotlib.pyplot as plt
import numpy as np

import fastgmm
import fastgmm.plot

rng = np.random.RandomState(1)
X = np.vstack([
    rng.multivariate_normal([0, 0], [[3.0, 2.2], [2.2, 2.0]], 600),
    rng.multivariate_normal([6, 1], [[1.0, -0.7], [-0.7, 1.0]], 400),
    rng.multivariate_normal([2, 6], [[2.5, 0.0], [0.0, 0.3]], 400),
])

fig, axes = plt.subplots(2, 2, figsize=(9, 7.5), sharex=True, sharey=True)
for ax, covariance_type in zip(axes.flat, ["full", "tied", "diag", "spherical"]):
    gm = fastgmm.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    fastgmm.plot.mixture(gm, X, ax=ax,
                         title=f"'{covariance_type}': BIC {gm.bic(X):.0f}")
    print(f"{covariance_type:>9}: covariances_ shape {gm.covariances_.shape}, "
          f"BIC {gm.bic(X):.1f}")
fig.tight_layout()
plt.show()

# %%
# The data's clusters are ellipses of different orientations, so 'full'
# fits best. With few rows or many features the simpler forms have fewer
# parameters to estimate; :class:`fastgmm.GaussianMixtureSearch` compares
# them for you, and ``covariance_type`` also takes R mclust's 14 models
# (see the mclust example).
