"""asv benchmarks of fastgmm's BayesianGaussianMixture against scikit-learn's.

As ``bench_mixture`` does for GaussianMixture: every fitter runs the same
fixed number of iterations (``tol=0``, ``MAX_ITER``) from the same variational
posterior (a warm start from one shared initialization), so times compare
work for work. JIT compilation happens in ``setup``. ``time_fit`` includes
each fit's fixed costs (validation, the priors' pass over X, scikit-learn's
final E-step); ``track_seconds_per_iteration`` differences a MAX_ITER- and a
one-iteration fit, which leaves one iteration's time.
"""

import os
import time
import warnings

import numpy as np

from fastgmm._demo import make_data

MAX_ITER = 10
WORKLOADS = [
    "100000-2-4-full",
    "100000-8-16-full",
    "100000-8-16-diag",
    "100000-8-16-tied",
    "100000-8-16-spherical",
]
PRIORS = ["dirichlet_process", "dirichlet_distribution"]
FITTERS = ["fastgmm-numba", "fastgmm-cython", "scikit-learn"]
SMOKE = os.environ.get("FASTGMM_ASV_SMOKE") == "1"
if SMOKE:
    WORKLOADS = ["2000-2-4-full"]
    # no Numba fitter: the tests cover it; its load costs seconds per process
    FITTERS = [f for f in FITTERS if f != "fastgmm-numba"]
    PRIORS = ["dirichlet_process"]

#: The fitted attributes a warm start continues from.
POSTERIOR = ("weight_concentration_", "mean_precision_", "means_",
             "degrees_of_freedom_", "covariances_", "precisions_cholesky_")

_DATA = {}


def _workload(name):
    n, d, k, covariance_type = name.split("-")
    return int(n), int(d), int(k), covariance_type


def _data(workload, prior):
    """X and the shared initial posterior (k-means on at most 20,000 rows)."""
    key = (workload, prior)
    if key not in _DATA:
        from fastgmm import BayesianGaussianMixture

        n, d, k, covariance_type = _workload(workload)
        X = make_data(n, d, k, seed=0)
        init = BayesianGaussianMixture(
            n_components=k, covariance_type=covariance_type, max_iter=0,
            weight_concentration_prior_type=prior, random_state=0,
            init_sample_size=min(n, 20_000)).fit(X)
        _DATA[key] = X, {name: getattr(init, name) for name in POSTERIOR}
    return _DATA[key]


def _estimator(fitter, k, covariance_type, prior, max_iter):
    kw = dict(n_components=k, covariance_type=covariance_type, tol=0,
              max_iter=max_iter, weight_concentration_prior_type=prior,
              warm_start=True)
    if fitter == "scikit-learn":
        from sklearn.mixture import BayesianGaussianMixture

        return BayesianGaussianMixture(**kw)
    from fastgmm import BayesianGaussianMixture, kernels

    backend = fitter.split("-")[1]
    if backend == "cython" and not kernels.cython_available():
        raise NotImplementedError("the Cython extension is not built")
    return BayesianGaussianMixture(**kw, backend=backend)


class BayesianFit:
    """MAX_ITER variational iterations from the shared initial posterior."""

    params = (FITTERS, WORKLOADS, PRIORS)
    param_names = ["fitter", "workload", "prior"]
    timeout = 900

    def setup(self, fitter, workload, prior):
        _, _, self.k, self.covariance_type = _workload(workload)
        self.fitter, self.prior = fitter, prior
        self.X, self.start = _data(workload, prior)
        warnings.simplefilter("ignore")
        self._fit(1)  # compile or load the kernels here, not in the timed calls

    def _fit(self, max_iter):
        model = _estimator(self.fitter, self.k, self.covariance_type, self.prior,
                           max_iter)
        for name, value in self.start.items():
            setattr(model, name, value)
        model.converged_, model.lower_bound_ = False, -np.inf
        return model.fit(self.X)

    def time_fit(self, fitter, workload, prior):
        self._fit(MAX_ITER)

    def peakmem_fit(self, fitter, workload, prior):
        self._fit(MAX_ITER)

    def track_seconds_per_iteration(self, fitter, workload, prior):
        times = []
        for max_iter in (1, MAX_ITER):
            start = time.perf_counter()
            self._fit(max_iter)
            times.append(time.perf_counter() - start)
        return (times[1] - times[0]) / (MAX_ITER - 1)

    track_seconds_per_iteration.unit = "seconds"

    def track_lower_bound(self, fitter, workload, prior):
        return float(np.ravel(self._fit(MAX_ITER).lower_bound_)[0])

    track_lower_bound.unit = "ELBO"
