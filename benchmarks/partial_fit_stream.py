"""Issue 11's partial_fit accuracy: 50 batches of 20,000 rows from a known
mixture (k=5, d=4) fed to ``partial_fit``, against the batch fit of the same
1e6 rows, by the mean log-likelihood of 100,000 held-out rows.

    python benchmarks/partial_fit_stream.py
"""

import warnings

import numpy as np

import fastgmm

K, D, BATCHES, BATCH = 5, 4, 50, 20_000
_rng = np.random.RandomState(0)
MEANS = _rng.randn(K, D) * 5
SCALES = _rng.uniform(0.5, 2.0, size=(K, D))
WEIGHTS = _rng.dirichlet(np.ones(K) * 3)


def draw(n, seed):
    rng = np.random.RandomState(seed)
    labels = rng.choice(K, size=n, p=WEIGHTS)
    return MEANS[labels] + rng.randn(n, D) * SCALES[labels]


def main():
    warnings.simplefilter("ignore")
    held_out = draw(100_000, 1)
    for covariance_type in ("full", "tied", "diag", "spherical"):
        online = fastgmm.GaussianMixture(K, covariance_type=covariance_type,
                                         random_state=0)
        for b in range(BATCHES):
            online.partial_fit(draw(BATCH, 100 + b))
        batch = fastgmm.GaussianMixture(K, covariance_type=covariance_type,
                                        random_state=0).fit(
            np.vstack([draw(BATCH, 100 + b) for b in range(BATCHES)]))
        a, b = online.score(held_out), batch.score(held_out)
        print(f"{covariance_type:9s} partial_fit {a:.5f}  fit {b:.5f}  "
              f"relative gap {abs(a - b) / abs(b):.2e}")


if __name__ == "__main__":
    main()
