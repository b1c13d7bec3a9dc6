"""scikit-learn's own tests of GaussianMixture, run on fastgmm's class.

The test functions are imported from the installed scikit-learn (nothing is
copied) and run with ``GaussianMixture`` in their module replaced by ours.
Tests of scikit-learn's private helpers, and of its array-API dispatch, are
left out: they test code we do not have.
"""

import numpy as np
import pytest

import fastgmm

suite = pytest.importorskip("sklearn.mixture.tests.test_gaussian_mixture")
common = pytest.importorskip("sklearn.mixture.tests.test_mixture")

PRIVATE_HELPER_TESTS = {
    # scikit-learn's private functions, tested directly
    "test_suffstat_sk_full",
    "test_suffstat_sk_tied",
    "test_suffstat_sk_diag",
    "test_gaussian_suffstat_sk_spherical",
    "test_compute_log_det_cholesky",
    "test_gaussian_mixture_log_probabilities",
    "test_gaussian_mixture_precisions_init_diag",  # _estimate_gaussian_parameters
    "test_gaussian_mixture_precisions_init",  # calls gmm._initialize
    "test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters",
    # array API dispatch
    "test_gaussian_mixture_array_api_compliance",
    "test_gaussian_mixture_raises_where_array_api_not_implemented",
}

PUBLIC_TESTS = sorted(
    name
    for name in dir(suite)
    if name.startswith("test_") and name not in PRIVATE_HELPER_TESTS
)


@pytest.fixture(autouse=True)
def _our_class(monkeypatch):
    monkeypatch.setattr(suite, "GaussianMixture", fastgmm.GaussianMixture)


@pytest.fixture(params=[np.float32, np.float64])
def global_dtype(request):
    return request.param


@pytest.fixture(params=[0, 42])
def global_random_seed(request):
    return request.param


# Bring the public tests here; pytest collects them with their parametrize
# marks, and they look up GaussianMixture in their own (patched) module.
globals().update({name: getattr(suite, name) for name in PUBLIC_TESTS})


@pytest.mark.parametrize(
    "name",
    ["test_gaussian_mixture_n_iter", "test_mixture_n_components_greater_than_n_samples_error"],
)
def test_sklearn_common_mixture_tests(name):
    # sklearn's test_mixture.py takes the estimator instance as its parameter
    getattr(common, name)(fastgmm.GaussianMixture())


def test_public_tests_were_found_and_run_on_our_class(monkeypatch):
    # the fixture swaps the module's name; what needs checking is that the
    # public tests look the class up there, so that they fit ours: a
    # subclass that records its fits, run through one public test
    assert len(PUBLIC_TESTS) >= 25, PUBLIC_TESTS
    fits = []

    class Recording(fastgmm.GaussianMixture):
        def fit(self, X, y=None, **kwargs):
            fits.append(type(self))
            return super().fit(X, y, **kwargs)

    monkeypatch.setattr(suite, "GaussianMixture", Recording)
    suite.test_bic_1d_1component()
    assert fits and set(fits) == {Recording}
