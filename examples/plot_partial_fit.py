"""
Streams with partial_fit
========================

:meth:`fastgmm.GaussianMixture.partial_fit` runs one step of stepwise EM per
batch. On a stationary stream it converges to the batch fit; on a stream
whose clusters drift, a smaller ``learning_decay`` follows them more
closely by forgetting old batches faster.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastgmm


def batch(rng, shift, n=1000):
    """Two clusters; the second one's centre moves along x by ``shift``."""
    return np.vstack([rng.randn(n // 2, 2), rng.randn(n // 2, 2) * 0.7 + [4 + shift, 4]])


# %%
# A stationary stream: the held-out log-likelihood of each model after each
# batch, against the batch fit of all the rows seen.

rng = np.random.RandomState(0)
held_out = batch(np.random.RandomState(1), 0.0, n=5000)
model = fastgmm.GaussianMixture(2, random_state=0)
seen, scores = [], []
for _ in range(40):
    rows = batch(rng, 0.0)
    seen.append(rows)
    model.partial_fit(rows)
    scores.append(model.score(held_out))
exact = fastgmm.GaussianMixture(2, random_state=0).fit(np.vstack(seen)).score(held_out)
print(f"after {model.n_steps_} batches ({model.n_samples_seen_} rows): held-out "
      f"{scores[-1]:.5f}, batch fit {exact:.5f}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].plot(np.arange(1, 41), scores, ".-", label="partial_fit")
axes[0].axhline(exact, color="k", ls=":", label="fit on all rows seen")
axes[0].set_xlabel("batches of 1,000 rows")
axes[0].set_ylabel("held-out mean log-likelihood")
axes[0].set_title("a stationary stream")
axes[0].legend()

# %%
# A drifting stream: the second cluster moves 6 units in 60 batches.
# ``learning_decay`` 1 weighs old batches longest; 0.55 (it must be above 0.5)
# forgets them fastest.

shifts = np.linspace(0, 6, 60)
for decay in [1.0, 0.75, 0.55]:
    rng = np.random.RandomState(0)
    model = fastgmm.GaussianMixture(2, learning_decay=decay, random_state=0)
    tracked = []
    for shift in shifts:
        model.partial_fit(batch(rng, shift))
        tracked.append(model.means_[:, 0].max())  # the moving centre's x
    axes[1].plot(shifts, tracked, label=f"learning_decay={decay}")
axes[1].plot(shifts, 4 + shifts, "k:", label="true centre")
axes[1].set_xlabel("drift so far")
axes[1].set_ylabel("x of the moving cluster's mean")
axes[1].set_title("a drifting stream")
axes[1].legend()
fig.tight_layout()
plt.show()
