"""BayesianGaussianMixture: scikit-learn's variational mixture on the fused pass.

The E-step is GaussianMixture's compiled pass with the variational
constants, the M-step and the lower bound are `em.variational.VariationalEM`,
and everything else (validation, sources of rows, initialization, posterior
outputs, sampling, saving) is `_base._BaseMixture`'s.
"""

from numbers import Real

import numpy as np
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import _DTYPES, _BaseMixture, _check_shape
from ._constants import COVARIANCE_TYPES
from .em import variational as vb
from .em.structure import structure
from .mixture import passed_on_constraints
from .sources import rows as _source

#: Rows whose mean centres the pass of the priors' defaults.
_CENTER_ROWS = 1024

_SHARED_PARAMETERS = (
    "n_components", "covariance_type", "tol", "reg_covar", "max_iter", "n_init",
    "init_params", "random_state", "warm_start", "verbose", "verbose_interval",
    "backend", "n_threads", "init_sample_size", "window_bytes", "nan_policy",
)


class BayesianGaussianMixture(_BaseMixture):
    """Variational Bayesian Gaussian mixture on a fused, compiled pass.

    A drop-in for :class:`sklearn.mixture.BayesianGaussianMixture`: the same
    parameters, attributes, methods and results (from the same
    ``random_state``), plus ``sample_weight`` in :meth:`fit`, a choice of
    compiled ``backend``, a thread count, and X read by windows (a memory
    map, zarr or h5py array). Its E-step is the compiled pass of
    :class:`fastgmm.GaussianMixture` with the variational constants; the
    M-step and the lower bound come from that pass's statistics.

    With more components than the data need, the posterior gives the
    superfluous ones weights near zero: the weights of a fit tell how many
    components the data hold (``weights_ > 0.01``, say).

    Parameters
    ----------
    n_components : int, default=1
        The largest number of components; the fit may use fewer.

    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        The form of the covariances, as in :class:`fastgmm.GaussianMixture`.

    tol : float, default=1e-3
        Stops when the lower bound (a sum over the rows) gains less.

    reg_covar : float, default=1e-6
        Non-negative regularization added to the diagonal of the covariances
        of the responsibilities.

    max_iter : int, default=100
        The number of iterations to perform.

    n_init : int, default=1
        The number of initializations; the run with the largest lower bound
        is kept.

    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
            default='kmeans'
        How the initial responsibilities are drawn, as in scikit-learn.

    weight_concentration_prior_type : {'dirichlet_process', \
            'dirichlet_distribution'}, default='dirichlet_process'
        The prior of the weights: a Dirichlet process (stick breaking) or a
        Dirichlet distribution.

    weight_concentration_prior : float or None, default=None
        The prior's concentration (gamma, or alpha); smaller values put the
        mass on fewer components. None: ``1 / n_components``.

    mean_precision_prior : float or None, default=None
        The precision prior of the means (beta_0). None: 1.

    mean_prior : array-like of shape (n_features,), default=None
        The prior mean of the means (m_0). None: the (weighted) mean of X.

    degrees_of_freedom_prior : float or None, default=None
        The degrees of freedom of the Wishart prior (nu_0), above
        ``n_features - 1``. None: ``n_features``.

    covariance_prior : float or array-like, default=None
        The prior of the covariances: (n_features, n_features) 'full' and
        'tied', (n_features,) 'diag', a float 'spherical'. None: the
        (weighted) covariance of X, computed in one pass over X.

    random_state : int, RandomState instance or None, default=None
        Seeds the initialization and :meth:`sample`.

    warm_start : bool, default=False
        If True, each fit after the first starts from the last solution and
        ``n_init`` is ignored.

    verbose : int, default=0
        1 prints each initialization and iteration (and, for an X not in
        memory, how far the reading of the initialization sample has come);
        2 adds times and the change of the lower bound.

    verbose_interval : int, default=10
        Number of iterations between two prints.

    backend : {'auto', 'numba', 'cython'}, default='auto'
        The compiled kernels to use; 'auto' picks per workload.

    n_threads : int or None, default=None
        Threads of the compiled pass; None uses all cores. Results do not
        depend on it.

    init_sample_size : 'auto' or int, default='auto'
        Rows the initialization uses, as in :class:`fastgmm.GaussianMixture`.
        The initial counts are scaled to the total weight of all rows.

    window_bytes : int, default=64 MiB
        For X read by windows: bytes of rows read at a time.

    nan_policy : {'raise', 'marginalize'}, default='raise'
        'raise': NaN in X is an error, as in scikit-learn. 'marginalize':
        NaN entries are missing values (missing at random), latent variables
        of the variational posterior with the responsibilities: a row's
        responsibilities come from the expected density of its observed
        entries, and the statistics add the missing entries' conditional
        means and covariances, as in :class:`fastgmm.GaussianMixture` (with
        the expected precisions ``nu_k W_k``); the lower bound adds the
        entropy of the missing entries' posterior. The outputs marginalise
        in the same way, and :meth:`impute` fills the missing entries. The
        defaults of ``mean_prior`` and ``covariance_prior`` come from the
        observed entries: each feature's observed mean, and the covariance
        of the rows completed with those means, scaled so that each
        feature's variance is that of its observed entries.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        The expected weights under the posterior.
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray, shaped by ``covariance_type``
        The inverse of the expected precisions nu_k W_k.
    precisions_ : ndarray, shaped by ``covariance_type``
    precisions_cholesky_ : ndarray, shaped by ``covariance_type``
    weight_concentration_ : ndarray of shape (n_components,) or tuple
        The Dirichlet parameters; for the Dirichlet process a tuple of two
        arrays, the Beta parameters of each stick.
    mean_precision_ : ndarray of shape (n_components,)
    degrees_of_freedom_ : ndarray of shape (n_components,) or float ('tied')
    weight_concentration_prior_, mean_precision_prior_, mean_prior_, \
degrees_of_freedom_prior_, covariance_prior_
        The priors used.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        The lower bound (ELBO, less scikit-learn's constants) of the best run.
    lower_bounds_ : list of float
        The lower bound after each iteration of the best run.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined only when X has string feature names.

    Notes
    -----
    The fitted arrays are float64 whatever X's dtype, as scikit-learn's;
    per-row outputs (:meth:`predict_proba`, :meth:`score_samples`) are in X's
    dtype, as :class:`fastgmm.GaussianMixture`'s. Sample weights count as
    repeated rows: unlike a :class:`fastgmm.GaussianMixture`, the fit
    depends on their total, which weighs the data against the prior.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import BayesianGaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [12, 4], [10, 7]])
    >>> bgm = BayesianGaussianMixture(n_components=2, random_state=42).fit(X)
    >>> bgm.means_.round(2)
    array([[2.5 , 2.29],
           [8.46, 4.52]])
    >>> bgm.predict([[0, 0], [9, 3]])
    array([0, 1])
    """

    _parameter_constraints: dict = {
        **passed_on_constraints(_SHARED_PARAMETERS),
        # (the priors are those of scikit-learn's four types; mclust's other
        # models are GaussianMixture's)
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "weight_concentration_prior_type": [StrOptions(set(vb.PRIOR_TYPES))],
        "weight_concentration_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_precision_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_prior": [None, "array-like"],
        "degrees_of_freedom_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "covariance_prior": [None, "array-like",
                             Interval(Real, 0.0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        backend="auto",
        n_threads=None,
        init_sample_size="auto",
        window_bytes=_source.WINDOW_BYTES,
        nan_policy="raise",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.backend = backend
        self.n_threads = n_threads
        self.init_sample_size = init_sample_size
        self.window_bytes = window_bytes
        self.nan_policy = nan_policy

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.nan_policy == "marginalize"
        return tags

    # --------------------------------------------------- the hooks of _fit

    def _fit_weights(self, rows, sample_weight):
        """The weights as given (validated): counts of repeated rows."""
        return rows.sample_weight(sample_weight, self.n_components, scaled=False)

    def _check_initial_parameters(self, n_features):
        """The priors given (scikit-learn's checks), as ``*_prior_``
        attributes; the data's defaults are `_fit_family`'s."""
        d, t = n_features, self.covariance_type
        self.weight_concentration_prior_ = (
            1.0 / self.n_components if self.weight_concentration_prior is None
            else self.weight_concentration_prior)
        self.mean_precision_prior_ = (
            1.0 if self.mean_precision_prior is None else self.mean_precision_prior)
        if self.mean_prior is not None:
            mean = check_array(self.mean_prior, dtype=_DTYPES, ensure_2d=False)
            _check_shape(mean, (d,), "means")
            self.mean_prior_ = mean
        if self.degrees_of_freedom_prior is None:
            self.degrees_of_freedom_prior_ = d
        elif self.degrees_of_freedom_prior > d - 1.0:
            self.degrees_of_freedom_prior_ = self.degrees_of_freedom_prior
        else:
            raise ValueError(
                "The parameter 'degrees_of_freedom_prior' should be greater than "
                "%d, but got %.3f." % (d - 1, self.degrees_of_freedom_prior))
        if self.covariance_prior is not None:
            self.covariance_prior_ = _checked_covariance_prior(
                self.covariance_prior, t, d)
        return ()

    _family_class = vb.VariationalEM

    def _fit_family(self, rows, w, backend):
        """The priors' defaults from the data (one pass), and the family."""
        if self.mean_prior is None or self.covariance_prior is None:
            total, mean, covariance = self._data_moments(rows, w, backend)
            if self.mean_prior is None:
                self.mean_prior_ = mean
            if self.covariance_prior is None:
                if covariance is None:
                    raise ValueError(
                        "The default covariance_prior is the covariance of the "
                        "data, which needs a total sample weight above 1; got "
                        f"{total!r}. Pass covariance_prior, or weights that "
                        "count rows.")
                self.covariance_prior_ = covariance
        return self._family(self._spec(), backend)

    def _family(self, spec, backend):
        """The variational family of ``spec`` under the priors."""
        return vb.VariationalEM(self._priors(), spec.structure, backend)

    def _data_moments(self, rows, w, backend):
        """(total weight, mean, covariance) of the rows in one pass of the
        kernels: one component, unit responsibilities, statistics around
        the mean of the first rows of positive weight (a row of weight 0 takes
        no part, however far it lies). The covariance is shaped as
        ``covariance_prior_`` (None when the total weight is 1 or less)."""
        d = rows.n_features
        head = np.asarray(rows.rows(rows.first_weighted(w, _CENTER_ROWS)),
                          dtype=np.float64)
        observed = rows.observed_sums(w) if rows.missing else None
        if observed is None:
            center = head.mean(axis=0)
            spread = float(np.max(head.std(axis=0)))
        else:  # missing entries: the features' observed means centre the pass
            from .sources.missing import observed_means

            center = observed_means(*observed)
            with np.errstate(invalid="ignore"):
                spread = float(np.nanmax(np.nan_to_num(np.nanstd(head, axis=0))))
        # any factor gives responsibilities 1; this one keeps the distances
        # (and their log-sum-exp) far from overflow
        scale = 1.0 / spread if 0.0 < spread < np.inf else 1.0
        pass_type = "full" if (not self._spec().structure.diagonal
                               and self.covariance_prior is None) else "diag"
        U = (np.eye(d) * scale)[None] if pass_type == "full" else np.full((1, d), scale)
        stats = rows.statistics(backend, w, np.zeros(1), center[None], U, pass_type,
                                self.n_threads)
        if not (np.all(np.isfinite(stats.s1)) and np.all(np.isfinite(stats.s2))):
            raise ValueError(
                "The mean and covariance of the data are not finite in double "
                "precision: scale the input data.")
        if observed is not None:
            _observed_scatter(stats, observed[0], scale, pass_type)
        return vb.data_moments(stats, center, self.covariance_type)

    def _priors(self):
        """The priors of the fit (the ``*_prior_`` attributes)."""
        covariance = self.covariance_prior_
        if self.covariance_type == "spherical":
            covariance = float(covariance)
        else:
            covariance = np.asarray(covariance, dtype=np.float64)
        return vb.Priors(
            self.weight_concentration_prior_type,
            float(self.weight_concentration_prior_),
            float(self.mean_precision_prior_),
            np.asarray(self.mean_prior_, dtype=np.float64),
            float(self.degrees_of_freedom_prior_),
            covariance,
        )

    def _initial_parameters(self, rows, w, random_state):
        """The posterior of one M-step on the initial responsibilities."""
        weights, means, covariances = self._initial_gaussian(rows, w, random_state)
        nk = weights * rows.total_weight(w)
        return vb.m_step(nk, means, covariances, self._priors(),
                         self.covariance_type, rows.dtype == np.float32)

    def _warm_start_run(self, n_features):
        """As the base's, and the posterior must be of this prior type."""
        if self.warm_start and hasattr(self, "converged_"):
            k, prior_type = self.n_components, self.weight_concentration_prior_type
            expected = (2, k) if prior_type == vb.DIRICHLET_PROCESS else (k,)
            found = np.shape(self.weight_concentration_)
            if found != expected:
                raise ValueError(
                    "warm_start=True continues from the previous fit, whose "
                    f"weight_concentration_ has shape {found}; this fit needs "
                    f"{expected} (n_components={k}, weight_concentration_prior_type="
                    f"{prior_type!r}). Set warm_start=False to start anew.")
        return super()._warm_start_run(n_features)

    def _fitted_params(self):
        return vb.VariationalParams.from_arrays(
            np.asarray(self.weight_concentration_), self.mean_precision_,
            self.means_, self.degrees_of_freedom_, self.covariances_,
            self.precisions_cholesky_)

    def _set_parameters(self, params, dtype):
        """The fitted attributes, float64 (as scikit-learn's) whatever ``dtype``."""
        spec = self._spec()
        self._set_fitted(spec)
        t = spec.structure.storage
        concentration = params.weight_concentration
        if self.weight_concentration_prior_type == vb.DIRICHLET_PROCESS:
            self.weight_concentration_ = (concentration[0].copy(),
                                          concentration[1].copy())
        else:
            self.weight_concentration_ = concentration.copy()
        self.mean_precision_ = params.mean_precision.copy()
        self.means_ = params.means.copy()
        self.degrees_of_freedom_ = (float(params.degrees_of_freedom) if t == "tied"
                                    else params.degrees_of_freedom.copy())
        self.covariances_ = params.covariances.copy()
        self.precisions_cholesky_ = params.precisions_cholesky.copy()
        self.precisions_ = spec.structure.precisions(params.precisions_cholesky)
        self.weights_ = vb.mixture_weights(concentration,
                                           self.weight_concentration_prior_type)


def _observed_scatter(stats, counts, scale, pass_type):
    """Make the one-component pass of `_data_moments` over rows with missing
    entries the scatter of the rows completed with the centre (the
    features' observed means), scaled so that each feature's variance is
    that of its observed entries (a congruence: positive semi-definite
    stays so). The pass completed each missing entry with the centre (its
    component is isotropic, so nothing regresses) and added the component's
    variance 1 / scale^2 to the diagonal for each: that is taken out."""
    total = float(stats.nk[0])
    s2 = stats.s2[0]
    diagonal = np.arange(counts.shape[0])
    if pass_type != "diag":
        diagonal = (diagonal, diagonal)
    s2[diagonal] = np.maximum(s2[diagonal] - (total - counts) / scale**2, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(counts > 1.0, np.sqrt((total - 1.0) / (counts - 1.0)), 1.0)
    if pass_type == "diag":
        stats.s2[0] *= factor**2
    else:
        stats.s2[0] *= factor[:, None] * factor[None, :]


def _checked_covariance_prior(value, covariance_type, n_features):
    """A given ``covariance_prior``, checked as scikit-learn checks it."""
    d, t = n_features, covariance_type
    if t in ("full", "tied"):
        prior = check_array(value, dtype=_DTYPES, ensure_2d=False)
        _check_shape(prior, (d, d), "%s covariance_prior" % t)
        structure(t).check_precisions(prior[None] if t == "full" else prior)
        return prior
    if t == "diag":
        prior = check_array(value, dtype=_DTYPES, ensure_2d=False)
        _check_shape(prior, (d,), "%s covariance_prior" % t)
        structure(t).check_precisions(prior)
        return prior
    prior = np.asarray(value)
    if prior.ndim != 0 or prior.dtype.kind not in "iuf" or not (
        np.isfinite(prior) and prior > 0
    ):
        raise ValueError(
            "The parameter 'spherical covariance_prior' should be a positive "
            f"number, but got {value!r}.")
    return value


__all__ = ["BayesianGaussianMixture"]
