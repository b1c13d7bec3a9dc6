"""
Regression through a mixture: condition
=======================================

:meth:`fastgmm.GaussianMixture.condition` gives the distribution of some
features given the values of others, as a fitted mixture. Fitting a mixture
to (x, y) pairs and conditioning on x gives the whole distribution of y at
each x: its mean (a regression curve) and its spread, even where y has two
branches.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastgmm

rng = np.random.RandomState(0)
x = rng.uniform(-3, 3, 1500)
y = np.sin(1.5 * x) + 0.15 * rng.randn(1500)
y[x > 1] += np.where(rng.rand((x > 1).sum()) < 0.5, 1.5, 0.0)   # two branches past x=1
X = np.column_stack([x, y])

gm = fastgmm.GaussianMixture(12, random_state=0).fit(X)

grid = np.linspace(-3, 3, 121)
means, spreads = [], []
for value in grid:
    cond = gm.condition([value], [0])     # the mixture of y given x = value
    mean = cond.weights_ @ cond.means_[:, 0]
    second = cond.weights_ @ (cond.covariances_[:, 0, 0] + cond.means_[:, 0] ** 2)
    means.append(mean)
    spreads.append(np.sqrt(second - mean ** 2))
means, spreads = np.array(means), np.array(spreads)

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
axes[0].scatter(x, y, s=3, c="0.6")
axes[0].plot(grid, means, "C0", label="E[y | x]")
axes[0].fill_between(grid, means - 2 * spreads, means + 2 * spreads, color="C0",
                     alpha=0.2, label="± 2 standard deviations")
axes[0].set_xlabel("x")
axes[0].set_ylabel("y")
axes[0].legend(loc="lower left")
axes[0].set_title("the conditional mean and spread")

# %%
# At x = 2 the conditional mixture has two modes, one per branch; its
# density (``score_samples`` of the conditional mixture) shows them.

cond = gm.condition([2.0], [0])
ys = np.linspace(-2, 3, 300)[:, None]
axes[1].plot(ys[:, 0], np.exp(cond.score_samples(ys)))
axes[1].hist(y[np.abs(x - 2) < 0.1], bins=25, density=True, color="0.8")
axes[1].set_xlabel("y")
axes[1].set_title("the density of y given x = 2")
fig.tight_layout()
plt.show()
print("weights of the components given x = 2:", cond.weights_.round(3))
