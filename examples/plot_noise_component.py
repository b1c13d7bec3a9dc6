"""
A noise component for scattered points
======================================

Points scattered uniformly around the clusters pull a plain mixture's
components wide. ``noise=True`` adds a uniform component over the data's
region, which takes those points: ``predict`` labels them -1.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastgmm

rng = np.random.RandomState(0)
clusters = np.vstack([rng.randn(400, 2) * 0.7 + [0, 0],
                      rng.randn(400, 2) * 0.7 + [4, 3]])
scatter = rng.uniform([-6, -6], [10, 9], size=(150, 2))
X = np.vstack([clusters, scatter])

plain = fastgmm.GaussianMixture(2, random_state=0).fit(X)
noisy = fastgmm.GaussianMixture(2, noise=True, random_state=0).fit(X)
labels = noisy.predict(X)
print("noise weight:", round(float(noisy.noise_weight_), 3),
      " rows labelled noise:", int((labels == -1).sum()), "(150 scattered)")
print("covariance traces, plain:", np.trace(plain.covariances_, axis1=1, axis2=2).round(2))
print("covariance traces, noise:", np.trace(noisy.covariances_, axis1=1, axis2=2).round(2))

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharex=True, sharey=True)
axes[0].scatter(X[:, 0], X[:, 1], c=plain.predict(X), s=6, cmap="tab10", vmin=0, vmax=9)
axes[0].set_title("without a noise component")
noise = labels == -1
axes[1].scatter(X[~noise, 0], X[~noise, 1], c=labels[~noise], s=6, cmap="tab10",
                vmin=0, vmax=9)
axes[1].scatter(X[noise, 0], X[noise, 1], c="0.6", marker="x", s=14, label="noise (-1)")
axes[1].set_title("noise=True")
axes[1].legend(loc="lower right")
for ax, model in zip(axes, [plain, noisy]):
    for mean, cov in zip(model.means_, model.covariances_):
        values, vectors = np.linalg.eigh(cov)
        t = np.linspace(0, 2 * np.pi, 100)
        ellipse = (vectors @ (2 * np.sqrt(values)[:, None] * [np.cos(t), np.sin(t)])).T
        ax.plot(mean[0] + ellipse[:, 0], mean[1] + ellipse[:, 1], "k-", lw=1)
fig.tight_layout()
plt.show()
