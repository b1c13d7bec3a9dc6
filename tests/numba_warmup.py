"""Compile (or load) the Numba kernels of one dtype into Numba's disk cache.

``python -m tests.numba_warmup float64`` (from the repository's root) fits
and evaluates a small mixture of every covariance type on the Numba backend,
with complete rows and with missing entries, so that every kernel the tests
call for that dtype is in the cache. `tests/conftest.py` runs it once per
dtype, the two side by side, before the test workers start: a cold cache is
then compiled once, on both cores, instead of in each worker at the same
time (about 30 s per dtype on one core). It asserts nothing; the tests do.
"""

import sys
import warnings

import numpy as np

import fastgmm
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
                                            max_iter=2, random_state=0).fit(X)
            model.predict_proba(X)
            model.score_samples(X)
            fastgmm.GaussianMixture(3, covariance_type=cov, backend="numba",
                                    max_iter=2, random_state=0,
                                    nan_policy="marginalize").fit(holes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
