"""
Student-t components against gross outliers
===========================================

Two clusters, and 5% of the rows replaced by gross outliers spread over a
square far wider than the clusters. A Gaussian mixture's components must
cover every row they take, so the outliers pull its means and blow up its
covariances; a mixture of multivariate t distributions
(:class:`fastgmm.StudentTMixture`) gives each row a weight
``u = (nu + d) / (nu + delta)`` in its M-step, small for rows far from the
component (large Mahalanobis distance delta), so the outliers barely move
it. Both fits start from the same parameters (k-means on the inlier rows):
the comparison is of the models, not of their starts. The right panel
colours each row by its tail weight under its own component
(:meth:`~fastgmm.StudentTMixture.tail_weights`): the outliers stand out. One
estimated nu is small (heavy tails take the outliers), so that component's
scale matrix is smaller than the cluster's covariance would be for a
Gaussian: a t component's covariance is nu / (nu - 2) times its scale
matrix, infinite for nu <= 2.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans

import fastgmm
from fastgmm import reference

rng = np.random.RandomState(0)
true_means = np.array([[0.0, 0.0], [6.0, 3.0]])
true_covs = np.array([[[1.0, 0.5], [0.5, 1.5]], [[2.0, -0.6], [-0.6, 0.8]]])
labels = rng.randint(2, size=1000)
X = np.vstack([rng.multivariate_normal(true_means[k], true_covs[k]) for k in labels])
outliers = rng.rand(1000) < 0.05
X[outliers] = rng.uniform(-60, 60, (outliers.sum(), 2))

# the same start for both: k-means on the inlier rows, then one M-step
start_labels = KMeans(2, n_init=10, random_state=0).fit_predict(X[~outliers])
weights, means, covs = reference.m_step(X[~outliers], np.eye(2)[start_labels], "full")
order = np.argsort(means[:, 0])
start = dict(weights_init=weights[order], means_init=means[order],
             precisions_init=np.linalg.inv(covs[order]))

gaussian = fastgmm.GaussianMixture(2, **start).fit(X)
student = fastgmm.StudentTMixture(2, **start).fit(X)

for name, model in [("Gaussian", gaussian), ("Student-t", student)]:
    mean_error = np.linalg.norm(model.means_ - true_means, axis=1).max()
    scale_error = (np.linalg.norm(model.covariances_ - true_covs, axis=(1, 2))
                   / np.linalg.norm(true_covs, axis=(1, 2))).max()
    print(f"{name:9s}: max mean error {mean_error:.3f}, "
          f"max relative covariance/scale error {scale_error:.3f}")
print("estimated degrees of freedom:", student.dof_.round(1))
# each row's tail weight under the component it belongs to (predict)
u = student.tail_weights(X)[np.arange(len(X)), student.predict(X)]
print("tail weight, inliers (median):", round(float(np.median(u[~outliers])), 3),
      " outliers (median):", round(float(np.median(u[outliers])), 4))


def ellipse(ax, mean, cov, style):
    values, vectors = np.linalg.eigh(cov)
    t = np.linspace(0, 2 * np.pi, 100)
    e = (vectors @ (2 * np.sqrt(values)[:, None] * [np.cos(t), np.sin(t)])).T
    ax.plot(mean[0] + e[:, 0], mean[1] + e[:, 1], style, lw=1.5)


fig, axes = plt.subplots(1, 3, figsize=(13, 4.3))
for ax, model, title in [(axes[0], gaussian, "GaussianMixture"),
                         (axes[1], student, "StudentTMixture")]:
    ax.scatter(X[~outliers, 0], X[~outliers, 1], s=4, c="0.6")
    ax.scatter(X[outliers, 0], X[outliers, 1], s=10, c="tab:red", marker="x")
    for k in range(2):
        ellipse(ax, true_means[k], true_covs[k], "k--")
        ellipse(ax, model.means_[k], model.covariances_[k], "b-")
    ax.set_xlim(-8, 14)
    ax.set_ylim(-8, 10)
    ax.set_title(f"{title} (blue), truth (dashed)")
sc = axes[2].scatter(X[:, 0], X[:, 1], c=np.log10(u), s=6, cmap="viridis")
axes[2].set_title("log10 of the tail weight u (own component)")
fig.colorbar(sc, ax=axes[2])
fig.tight_layout()
plt.show()
