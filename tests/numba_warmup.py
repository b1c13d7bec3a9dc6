"""Compile (or load) the Numba kernels of one dtype into Numba's disk cache.

``python -m tests.numba_warmup float64`` (from the repository's root) fits
and evaluates a small mixture of every covariance type on the Numba backend,
with complete rows and with missing entries, on several partitions and
threads (the passes one by one, k-means round by round) and on one thread
(the k-means loops and the whole EM run in one call each, `em_loop`), with
both k-means initializations, and calls the constants of a pass and EVE's
and VVE's common orientation directly, so that every kernel the tests call
for that dtype is in the cache. `tests/conftest.py` runs it once per
dtype, the two side by side, before the test workers start: a cold cache is
then compiled once, on both cores, instead of in each worker at the same
time (about 30 s per dtype on one core). It asserts nothing; the tests do.
"""

import sys
import warnings

import numpy as np

import fastgmm
from fastgmm import kernels
from tests.helpers import COVARIANCE_TYPES


def main(dtype_name):
    dtype = np.dtype(dtype_name)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4)).astype(dtype)
    X[:1500] += 5.0
    holes = X.copy()
    holes[rng.random(holes.shape) < 0.1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cov in COVARIANCE_TYPES:
            model = fastgmm.GaussianMixture(3, covariance_type=cov, backend="numba",
                                            max_iter=2, random_state=0,
                                            n_threads=2).fit(X)
            model.predict_proba(X)
            model.score_samples(X)
            fastgmm.GaussianMixture(3, covariance_type=cov, backend="numba",
                                    max_iter=2, random_state=0,
                                    nan_policy="marginalize").fit(holes)
            for init in ("kmeans", "k-means++"):  # (one partition, one thread)
                fastgmm.GaussianMixture(3, covariance_type=cov, backend="numba",
                                        max_iter=2, random_state=0, n_threads=1,
                                        init_params=init).fit(X[:500])
        numba = kernels.get_backend("numba")
        constants = np.empty(3)
        numba.log_prob_constants(np.full(3, 1 / 3), np.ones(12), "diag", 4, 1.0, constants)
        # EVE's and VVE's M-step (float64 whatever the rows' dtype)
        S = np.eye(4) * rng.uniform(1.0, 2.0, size=(3, 4, 1))
        numba.common_orientation(np.full(3, 1 / 3), S, np.eye(4), True, 10, 1e-14)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
