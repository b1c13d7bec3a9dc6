"""GaussianMixtureImputer: missing values filled by a Gaussian mixture.

A scikit-learn transformer (``fit``, ``transform``, ``fit_transform``, in a
``Pipeline``) on `GaussianMixture` with ``nan_policy='marginalize'``: ``fit``
runs the exact EM of the observed entries, ``transform`` replaces each NaN
by its conditional expectation given the row's observed entries
(`GaussianMixture.impute`).
"""

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import _DTYPES
from .mixture import GaussianMixture, passed_on_constraints

_MIXTURE_PARAMETERS = ("n_components", "covariance_type", "tol", "reg_covar",
                       "max_iter", "n_init", "init_params", "random_state",
                       "backend", "n_threads")


class GaussianMixtureImputer(TransformerMixin, BaseEstimator):
    """Imputation of missing values (NaN) by a Gaussian mixture.

    Fits a :class:`fastgmm.GaussianMixture` to the observed entries of X
    (``nan_policy='marginalize'``: the exact EM of the observed entries) and
    replaces each missing entry by its expectation given the row's observed
    entries under that mixture (:meth:`GaussianMixture.impute`). A
    scikit-learn transformer: ``fit``, ``transform``, ``fit_transform``, in
    a ``Pipeline``.

    Parameters
    ----------
    n_components : int, default=1
        Components of the mixture (1: a single Gaussian, the classic
        conditional-mean imputation of EM).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        As in :class:`fastgmm.GaussianMixture`. Only 'full' and 'tied'
        carry the features' correlations into the imputed values; 'diag' and
        'spherical' impute each component's mean, weighted by the row's
        responsibilities.
    tol : float, default=1e-3
        EM stops when the mean log-likelihood of the observed entries gains
        less than ``tol``.
    reg_covar : float, default=1e-6
        Non-negative regularization added to the diagonal of covariances.
    max_iter : int, default=100
        The number of EM iterations to perform.
    n_init : int, default=1
        The number of initializations; the run with the best lower bound is
        kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
            default='kmeans'
        How the initial responsibilities are drawn, as in
        :class:`fastgmm.GaussianMixture` (from the rows with each missing
        entry replaced by its feature's mean).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization.
    backend : {'auto', 'numba', 'cython'}, default='auto'
        The compiled kernels to use; 'auto' picks per workload.
    n_threads : int or None, default=None
        Threads of the compiled pass; None uses all cores.

    Attributes
    ----------
    mixture_ : GaussianMixture
        The mixture fitted on the observed entries.
    n_iter_ : int
        EM iterations of the fit (the mixture's).
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined only when X has string feature names.

    See Also
    --------
    GaussianMixture.impute : The same imputation by a fitted mixture.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import GaussianMixtureImputer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], size=500)
    >>> X[:5, 1] = np.nan
    >>> filled = GaussianMixtureImputer(random_state=0).fit_transform(X)
    >>> bool(np.isnan(filled).any())
    False
    >>> filled[:3].round(2)  # the second feature follows the first
    array([[-1.81, -1.63],
           [-1.46, -1.31],
           [-1.6 , -1.45]])
    """

    _parameter_constraints: dict = passed_on_constraints(_MIXTURE_PARAMETERS)

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3,
                 reg_covar=1e-6, max_iter=100, n_init=1, init_params="kmeans",
                 random_state=None, backend="auto", n_threads=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.backend = backend
        self.n_threads = n_threads

    def fit(self, X, y=None, sample_weight=None):
        """Fit the mixture on the observed entries of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The training data, NaN where an entry is missing.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples; None weighs every sample 1.

        Returns
        -------
        self : GaussianMixtureImputer
            The fitted imputer.
        """
        self._validate_params()
        X = validate_data(self, X, dtype=_DTYPES, order="C", ensure_min_samples=2,
                          ensure_all_finite="allow-nan")
        params = {name: getattr(self, name) for name in _MIXTURE_PARAMETERS}
        self.mixture_ = GaussianMixture(nan_policy="marginalize", **params).fit(
            X, sample_weight=sample_weight)
        self.n_iter_ = self.mixture_.n_iter_
        return self

    def transform(self, X):
        """Replace each NaN in X by its conditional expectation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples, NaN where an entry is missing.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features)
            A new array in X's dtype (float32 stays float32, else float64),
            its observed entries unchanged. A row with every entry missing
            gets the mixture's mean.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=_DTYPES, order="C",
                          ensure_all_finite="allow-nan")
        return self.mixture_.impute(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

