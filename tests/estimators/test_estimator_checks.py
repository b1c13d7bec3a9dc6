"""scikit-learn's estimator checks on fastgmm.GaussianMixture."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastgmm import GaussianMixture


@parametrize_with_checks([GaussianMixture(), GaussianMixture(covariance_type="diag",
                                                            init_params="random")])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
