"""
Speed against scikit-learn (recorded results)
=============================================

The latest recorded whole fits with default arguments (k-means
initialization, EM to convergence, final E-step), fastgmm against
scikit-learn, from ``benchmarks/results-2026-12-03-zen3-whole-fits.md``
(run 3): a 2-vCPU AMD EPYC VM (Zen 3, AVX2), 2026-12-03, the minimum of 3
runs, the same labels and iterations as scikit-learn in every row.

This example draws those numbers; it does not time anything (the site is
built on machines of all kinds, often busy). To measure on your machine,
run ``python -m fastgmm demo`` or, from a source checkout,
``python -m fastgmm bench --whole-fits``.
"""

import matplotlib.pyplot as plt
import numpy as np

# data: (scikit-learn seconds, fastgmm seconds)
RUN_3 = {
    "digits PCA-16, k=10, full": (0.07949, 0.01525),
    "digits PCA-16, k=10, diag": (0.01526, 0.00449),
    "digits PCA-16, k=10, tied": (0.05409, 0.01106),
    "digits PCA-16, k=10, spherical": (0.02011, 0.00516),
    "iris, k=3, full": (0.02461, 0.00223),
    "wine, k=3, full": (0.02166, 0.00256),
    "china.jpg pixels, k=16, full": (20.530, 0.405),
    "1e6 x 8, k=16, full": (17.732, 0.604),
    "1e6 x 8, k=16, diag": (4.476, 0.437),
    "2e5 x 32, k=8, full": (3.354, 0.395),
    "search k=1..10 x 4 types, digits": (1.347, 0.190),
}

names = list(RUN_3)
sklearn_s, fastgmm_s = np.array(list(RUN_3.values())).T
y = np.arange(len(names))

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5), sharey=True,
                                  gridspec_kw={"width_ratios": [3, 2]})
left.barh(y + 0.2, sklearn_s, height=0.4, label="scikit-learn", color="C1")
left.barh(y - 0.2, fastgmm_s, height=0.4, label="fastgmm", color="C0")
left.set_xscale("log")
left.set_xlabel("whole fit (s, log scale)")
left.set_yticks(y, names)
left.invert_yaxis()
left.legend(loc="lower right")
ratio = sklearn_s / fastgmm_s
right.barh(y, ratio, color="C2")
for yi, r in zip(y, ratio):
    right.text(r, yi, f" {r:.1f}x", va="center", fontsize=8)
right.set_xlabel("fastgmm's speed-up")
right.set_xlim(0, ratio.max() * 1.25)
fig.suptitle("Whole default fits, AMD EPYC Zen 3 (2 vCPUs), 2026-12-03")
fig.tight_layout()
plt.show()

# %%
# Small fits (iris, wine, digits) gain from running the whole EM loop in one
# compiled call; large ones from the fused pass, which reads the data once
# per iteration and keeps no n x k array. The performance page of the user
# guide has the other measurements, each with its machine and date.
