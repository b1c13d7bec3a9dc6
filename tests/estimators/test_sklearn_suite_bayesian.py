"""scikit-learn's own tests of BayesianGaussianMixture, run on fastgmm's class.

As `test_sklearn_suite` does for GaussianMixture: the test functions are
imported from the installed scikit-learn (nothing is copied) and run with
``BayesianGaussianMixture`` in their module replaced by ours.
"""

import pytest

import fastgmm

suite = pytest.importorskip("sklearn.mixture.tests.test_bayesian_mixture")
common = pytest.importorskip("sklearn.mixture.tests.test_mixture")

PRIVATE_HELPER_TESTS = {
    # scikit-learn's private functions _log_dirichlet_norm and
    # _log_wishart_norm, tested directly (ours are in fastgmm.em.variational and
    # tested through the lower bound against scikit-learn's)
    "test_log_dirichlet_norm",
    "test_log_wishart_norm",
    # calls scikit-learn's private _check_parameters and _initialize_parameters
    # on the estimator (test_bayesian.py checks the same identities of the
    # initial covariances through max_iter=0 fits)
    "test_compare_covar_type",
}

PUBLIC_TESTS = sorted(
    name
    for name in dir(suite)
    if name.startswith("test_") and name not in PRIVATE_HELPER_TESTS
)


@pytest.fixture(autouse=True)
def _our_class(monkeypatch):
    monkeypatch.setattr(suite, "BayesianGaussianMixture",
                        fastgmm.BayesianGaussianMixture)


# Bring the public tests here; pytest collects them with their parametrize
# marks, and they look up BayesianGaussianMixture in their own (patched) module.
globals().update({name: getattr(suite, name) for name in PUBLIC_TESTS})


@pytest.mark.parametrize(
    "name",
    ["test_gaussian_mixture_n_iter", "test_mixture_n_components_greater_than_n_samples_error"],
)
def test_sklearn_common_mixture_tests(name):
    # sklearn's test_mixture.py takes the estimator instance as its parameter
    getattr(common, name)(fastgmm.BayesianGaussianMixture())


def test_public_tests_were_found_and_run_on_our_class(monkeypatch):
    # the fixture swaps the module's name; what needs checking is that the
    # public tests look the class up there, so that they fit ours: a
    # subclass that records its fits, run through one public test
    assert len(PUBLIC_TESTS) >= 10, PUBLIC_TESTS
    fits = []

    class Recording(fastgmm.BayesianGaussianMixture):
        def fit(self, X, y=None, **kwargs):
            fits.append(type(self))
            return super().fit(X, y, **kwargs)

    monkeypatch.setattr(suite, "BayesianGaussianMixture", Recording)
    suite.test_bayesian_mixture_weights()
    assert fits and set(fits) == {Recording}
