"""
The same fit as scikit-learn's
==============================

From the same ``random_state``, :class:`fastgmm.GaussianMixture` makes the
same initialization as :class:`sklearn.mixture.GaussianMixture` and runs EM
to the same parameters: the same labels, the same number of iterations and
lower bounds equal to rounding. Here on scikit-learn's wine data,
standardized, for the four covariance types.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn import mixture
from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler

import fastgmm

X = StandardScaler().fit_transform(load_wine().data)

fig, ax = plt.subplots(figsize=(7, 4.5))
for covariance_type, colour in zip(["full", "tied", "diag", "spherical"],
                                   ["C0", "C1", "C2", "C3"]):
    ours = fastgmm.GaussianMixture(3, covariance_type=covariance_type,
                                   random_state=0).fit(X)
    theirs = mixture.GaussianMixture(3, covariance_type=covariance_type,
                                     random_state=0).fit(X)
    same_labels = np.array_equal(ours.predict(X), theirs.predict(X))
    print(f"{covariance_type:>9}: same labels {same_labels}, "
          f"n_iter {ours.n_iter_} / {theirs.n_iter_}, "
          f"lower bounds differ by {abs(ours.lower_bound_ - theirs.lower_bound_):.1e}, "
          f"means by {np.abs(ours.means_ - theirs.means_).max():.1e}")
    ax.plot(np.arange(1, len(theirs.lower_bounds_) + 1), theirs.lower_bounds_, "-",
            color=colour, lw=4, alpha=0.35)
    ax.plot(np.arange(1, len(ours.lower_bounds_) + 1), ours.lower_bounds_, ".--",
            color=colour, label=f"'{covariance_type}'")
ax.set_xlabel("EM iteration")
ax.set_ylabel("lower bound (mean log-likelihood)")
ax.set_title("fastgmm (dots) on scikit-learn (wide lines), wine data")
ax.legend()
fig.tight_layout()
plt.show()
