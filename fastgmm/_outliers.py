"""GaussianMixtureOutlierDetector: points of low density under a Gaussian mixture.

A scikit-learn outlier detector (``OutlierMixin``) on `GaussianMixture` (or,
with ``family='t'``, `StudentTMixture`):
``fit`` fits the mixture and sets ``offset_``, the threshold on the
log-density; ``decision_function`` is ``score_samples - offset_`` (negative
for outliers) and ``predict`` +1 / -1. The threshold is the
``contamination`` quantile of the training rows' log-densities, taken
exactly without holding them all when X is read by windows or is a dask
array (`_quantile`), so it is the same threshold whatever the source.
"""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _quantile
from ._constants import BLOCK_ROWS
from ._student import StudentTMixture
from .mixture import GaussianMixture, passed_on_constraints
from .sources import rows as _source

#: The GaussianMixture parameters the detector passes on.
_MIXTURE_PARAMETERS = (
    "n_components", "covariance_type", "tol", "reg_covar", "max_iter", "n_init",
    "init_params", "random_state", "warm_start", "backend", "n_threads",
    "init_sample_size", "window_bytes", "nan_policy", "noise", "noise_volume",
)
#: Those a StudentTMixture does not take (it has no noise component); it
#: takes ``dof`` besides.
_GAUSSIAN_ONLY = ("noise", "noise_volume")
#: The mixture of each ``family``.
_ESTIMATORS = {"gaussian": GaussianMixture, "t": StudentTMixture}
#: contamination='auto': the threshold is Q1 - AUTO_FENCE (Q3 - Q1) of the
#: training rows' log-densities (Tukey's lower fence).
AUTO_FENCE = 1.5


class GaussianMixtureOutlierDetector(OutlierMixin, BaseEstimator):
    """Outlier detection by the density of a Gaussian mixture.

    Fits a :class:`fastgmm.GaussianMixture` (with ``family='t'``, a
    :class:`fastgmm.StudentTMixture`) to the data and calls outliers the
    points whose log-density lies below a threshold, ``offset_``.

    Parameters
    ----------
    n_components : int, default=1
        Components of the mixture.
    contamination : 'auto' or float in (0, 0.5], default='auto'
        A float: the fraction of the training rows (of their total weight,
        with ``sample_weight``: weights count rows) called outliers;
        ``offset_`` is that quantile of their log-densities (NumPy's
        'linear' quantile; with integer weights, that of the rows repeated).
        'auto': Tukey's lower fence of the training log-densities, Q1 - 1.5
        (Q3 - Q1): the fraction flagged follows the shape of the fit's own
        density, not a fixed count (for rows drawn from the fitted
        mixture, log p is a chi-square tail: a d = 2 Gaussian flags about
        5% of its own draws, fewer as d grows).
    covariance_type : {'full', 'tied', 'diag', 'spherical'} or an mclust \
            model name, default='full'
        The form of the covariances, as in :class:`fastgmm.GaussianMixture`
        (R mclust's 14 models included).
    family : {'gaussian', 't'}, default='gaussian'
        The mixture fitted: 'gaussian', a :class:`fastgmm.GaussianMixture`;
        't', a :class:`fastgmm.StudentTMixture` (multivariate t components,
        whose heavy tails keep outlying rows from dragging the components'
        locations and scales, so the log-densities of the inliers, and the
        threshold, are less affected by the outliers themselves). With 't',
        ``noise=True`` and ``nan_policy='marginalize'`` raise
        ``ValueError`` in :meth:`fit`.
    dof : {'component', 'shared'} or float, default='component'
        With ``family='t'``: the degrees of freedom, as in
        :class:`fastgmm.StudentTMixture` (estimated per component, one
        estimated for all, or a number > 0, fixed). Ignored with
        'gaussian'.
    tol : float, default=1e-3
        EM stops when the mean log-likelihood gains less than ``tol``.
    reg_covar : float, default=1e-6
        Non-negative regularization added to the diagonal of covariances.
    max_iter : int, default=100
        The number of EM iterations to perform.
    n_init : int, default=1
        The number of initializations; the run with the best lower bound is
        kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
            default='kmeans'
        How the initial responsibilities are drawn, as in scikit-learn.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization.
    warm_start : bool, default=False
        If True, each fit after the first starts the mixture from the last
        solution.
    backend : {'auto', 'numba', 'cython'}, default='auto'
        The compiled kernels to use; 'auto' picks per workload.
    n_threads : int or None, default=None
        Threads of the compiled pass; None uses all cores.
    init_sample_size : 'auto' or int, default='auto'
        Rows the initialization uses, as in :class:`fastgmm.GaussianMixture`.
    window_bytes : int, default=64 MiB
        For X read by windows (a memory map, zarr array, h5py dataset):
        bytes of rows read at a time.
    nan_policy : {'raise', 'marginalize'}, default='raise'
        'marginalize': NaN entries are missing values, and a row's
        log-density is that of its observed entries (see
        :class:`fastgmm.GaussianMixture`).
    noise : bool, default=False
        If True, the mixture has a uniform noise component, and the
        threshold is on the density with it.
    noise_volume : float or None, default=None
        The noise component's volume; None: computed from X (see
        :class:`fastgmm.GaussianMixture`).

    Attributes
    ----------
    mixture_ : GaussianMixture or StudentTMixture
        The fitted mixture.
    offset_ : float
        The threshold on the log-density: ``decision_function = score_samples
        - offset_``.
    n_iter_ : int
        EM iterations of the mixture's fit.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined only when X has string feature names.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import GaussianMixtureOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.randn(500, 2), [[8.0, 8.0], [-9.0, 7.0]]])
    >>> detector = GaussianMixtureOutlierDetector(contamination=0.01).fit(X)
    >>> detector.predict([[0.0, 0.0], [8.0, 8.0]])
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        **passed_on_constraints(_MIXTURE_PARAMETERS),
        "contamination": [StrOptions({"auto"}), Interval(Real, 0.0, 0.5, closed="right")],
        "family": [StrOptions(set(_ESTIMATORS))],
        "dof": StudentTMixture._parameter_constraints["dof"],
    }

    def __init__(self, n_components=1, *, contamination="auto", covariance_type="full",
                 family="gaussian", dof="component", tol=1e-3, reg_covar=1e-6,
                 max_iter=100, n_init=1, init_params="kmeans",
                 random_state=None, warm_start=False, backend="auto", n_threads=None,
                 init_sample_size="auto", window_bytes=_source.WINDOW_BYTES,
                 nan_policy="raise", noise=False, noise_volume=None):
        self.n_components = n_components
        self.contamination = contamination
        self.covariance_type = covariance_type
        self.family = family
        self.dof = dof
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.warm_start = warm_start
        self.backend = backend
        self.n_threads = n_threads
        self.init_sample_size = init_sample_size
        self.window_bytes = window_bytes
        self.nan_policy = nan_policy
        self.noise = noise
        self.noise_volume = noise_volume

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.nan_policy == "marginalize"
        return tags

    def fit(self, X, y=None, sample_weight=None):
        """Fit the mixture, then the threshold ``offset_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The training data: in memory, a memory map or array-like read by
            windows, or a dask array.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples, for the mixture's fit and
            for the threshold (a weight counts as that many rows); None
            weighs every sample 1.

        Returns
        -------
        self : GaussianMixtureOutlierDetector
            The fitted detector.
        """
        self._validate_params()
        params = self._mixture_params()
        estimator = _ESTIMATORS[self.family]
        mixture = getattr(self, "mixture_", None) if self.warm_start else None
        if type(mixture) is not estimator:  # (none yet, or another family's)
            mixture = estimator(**params)
        else:
            mixture.set_params(**params)
        mixture.fit(X, sample_weight=sample_weight)
        if hasattr(mixture, "feature_names_in_"):
            self.feature_names_in_ = mixture.feature_names_in_
        else:
            self.__dict__.pop("feature_names_in_", None)
        self._set_threshold(mixture, X, sample_weight)
        return self

    def _mixture_params(self):
        """The parameters of the mixture of ``family`` (a t family's refusals
        first, said in the detector's terms)."""
        params = {name: getattr(self, name) for name in _MIXTURE_PARAMETERS}
        if self.family == "gaussian":
            return params
        if self.noise:
            raise ValueError(
                "GaussianMixtureOutlierDetector does not fit a noise component "
                "(noise=True) with family='t': StudentTMixture's heavy-tailed "
                "components down-weight outlying rows themselves. Use noise=True "
                "with family='gaussian'.")
        if self.nan_policy == "marginalize":
            raise ValueError(
                "GaussianMixtureOutlierDetector does not take "
                "nan_policy='marginalize' with family='t': StudentTMixture does not "
                "fit missing values yet. Impute them first, or use "
                "family='gaussian'.")
        return {**{name: value for name, value in params.items()
                   if name not in _GAUSSIAN_ONLY}, "dof": self.dof}

    def _set_threshold(self, mixture, X, sample_weight=None):
        """``mixture_`` and ``offset_`` from a fitted mixture and the rows that
        set the threshold (the command line's ``outliers -m``)."""
        self.mixture_ = mixture
        self.n_features_in_ = mixture.n_features_in_
        self.n_iter_ = mixture.n_iter_
        w = None if sample_weight is None else _weights(sample_weight, X)
        blocks = _log_density_blocks(mixture, X, w)
        if self.contamination == "auto":  # Tukey's lower fence
            q1, q3 = (_quantile.quantile(blocks, q) for q in (0.25, 0.75))
            self.offset_ = float(q1 - AUTO_FENCE * (q3 - q1))
        else:
            self.offset_ = _quantile.quantile(blocks, float(self.contamination))

    def score_samples(self, X):
        """Log-density of each sample under the mixture (higher: more normal).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples (as :meth:`fit` takes them).

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            The mixture's :meth:`GaussianMixture.score_samples` (with
            ``family='t'``, :meth:`StudentTMixture.score_samples`, the t
            mixture's log-density; a dask array for a dask X).
        """
        check_is_fitted(self)
        return self.mixture_.score_samples(X)

    def decision_function(self, X):
        """Log-density of each sample less the threshold: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples (as :meth:`fit` takes them).

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_`` (a dask array for a dask X).
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each sample an inlier (+1) or an outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples (as :meth:`fit` takes them).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            -1 where :meth:`decision_function` is negative, +1 elsewhere (a
            dask array for a dask X).
        """
        decision = self.decision_function(X)
        if _source.is_dask_array(decision):
            import dask.array as da

            return da.where(decision < 0, -1, 1)
        return np.where(decision < 0, -1, 1)

    def explain(self, X):
        """What makes each sample an outlier or not.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            What :meth:`predict` takes (validated as it validates it), except
            a dask array.

        Returns
        -------
        explanation : dict of ndarray
            'component' (n_samples,): the most likely component (-1: the
            noise component); 'mahalanobis' (n_samples,): the Mahalanobis
            distance to it, sqrt((x - m_k)^T S_k^-1 (x - m_k)) (S_k the
            covariance, or with ``family='t'`` the scale matrix; NaN for the
            noise, or with missing entries: over the observed ones);
            'contributions' (n_samples, n_features), for diagonal and
            spherical covariances only (else None): each feature's share of
            the squared distance, (x_j - m_kj)^2 / S_k,jj, summing to it
            (0 where an entry is missing); 'decision' (n_samples,): the
            decision function.
        """
        check_is_fitted(self)
        mixture = self.mixture_
        if _source.is_dask_array(X):
            raise ValueError("explain() takes X in memory or read by windows, not a "
                             "dask array (compute the rows to explain first)")
        structure = mixture._fitted_spec.structure
        k, d = mixture.means_.shape
        diagonal = structure.diagonal
        U = np.asarray(mixture.precisions_cholesky_, dtype=np.float64)
        means = np.asarray(mixture.means_, dtype=np.float64)
        if _source.is_windowed(X):  # read (and checked by predict) block by block
            n, in_memory = int(X.shape[0]), None
        else:  # validated once, as predict validates it (a list, a tuple; a
            # scalar gets scikit-learn's "Expected 2D array"), then its outputs
            rows = mixture._validate_predict(X)
            X, n = rows.X, rows.n_samples
            in_memory = mixture._labels(rows), mixture._per_row(rows, "log_norm")
        component = np.empty(n, dtype=np.intp)
        distance = np.empty(n)
        decision = np.empty(n)
        contributions = np.empty((n, d)) if diagonal else None
        for start in range(0, n, BLOCK_ROWS):
            block = np.asarray(X[start:start + BLOCK_ROWS])
            stop = start + block.shape[0]
            if in_memory is None:
                with _source.rows_from(start):  # (an error names X's row)
                    labels = mixture.predict(block)
                log_density = mixture.score_samples(block)
            else:
                labels, log_density = (a[start:stop] for a in in_memory)
            component[start:stop] = labels
            decision[start:stop] = log_density - self.offset_
            for c in range(k):
                rows = np.flatnonzero(labels == c)
                z = block[rows].astype(np.float64) - means[c]
                z = np.where(np.isnan(z), 0.0, z)  # (a missing entry: no share)
                y = structure.whiten(z, U, c)
                squares = y * y
                distance[start + rows] = np.sqrt(np.sum(squares, axis=1))
                if diagonal:
                    contributions[start + rows] = squares
            noise = labels < 0
            distance[start:stop][noise] = np.nan
            if diagonal:
                contributions[start:stop][noise] = np.nan
        return {"component": component, "mahalanobis": distance,
                "contributions": contributions, "decision": decision}


def _weights(sample_weight, X):
    """The sample weights as given (validated), float64."""
    from .sources.rows import check_sample_weight

    from sklearn.utils.validation import _num_samples

    return check_sample_weight(sample_weight, _num_samples(X), 1, scaled=False)


def _log_density_blocks(mixture, X, w):
    """``map_blocks`` of `_quantile` over the log-densities of X's rows:
    in memory one pass of the kernels, held (they are X's size over
    n_features); read by windows, each block scored anew in every pass; a
    dask array, a task per chunk."""
    if _source.is_dask_array(X):
        import dask

        log_density = mixture.score_samples(X)
        blocks = log_density.to_delayed().ravel()
        starts = np.concatenate([[0], np.cumsum(log_density.chunks[0])])

        def map_blocks(fn):
            tasks = [dask.delayed(fn)(b, None if w is None else w[starts[i]:starts[i + 1]])
                     for i, b in enumerate(blocks)]
            return list(dask.compute(*tasks))

        return map_blocks
    if _source.is_windowed(X):
        n = int(X.shape[0])

        def map_blocks(fn):
            out = []
            for start in range(0, n, BLOCK_ROWS):
                block = np.asarray(X[start:start + BLOCK_ROWS])
                with _source.rows_from(start):  # (an error names X's row)
                    values = mixture.score_samples(block).astype(np.float64)
                out.append(fn(values,
                              None if w is None else w[start:start + block.shape[0]]))
            return out

        return map_blocks
    values = mixture.score_samples(X).astype(np.float64)

    def map_blocks(fn):
        return [fn(values[start:start + BLOCK_ROWS],
                   None if w is None else w[start:start + BLOCK_ROWS])
                for start in range(0, values.shape[0], BLOCK_ROWS)]

    return map_blocks


__all__ = ["GaussianMixtureOutlierDetector", "AUTO_FENCE"]
