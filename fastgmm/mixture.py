"""GaussianMixture: scikit-learn's estimator API on fastgmm's compiled EM.

`fastgmm._base._BaseMixture` holds what it shares with `fastgmm._bayesian`'s
BayesianGaussianMixture.
"""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from . import kernels
from ._base import _DTYPES, _BaseMixture, _check_shape, _in_dtype
from ._constants import BACKENDS, COVARIANCE_TYPES, INIT_METHODS, MCLUST_MODELS
from .em import criteria as _criteria
from .em import driver as _em
from .em import noise as _noise
from .em.family import MaximumLikelihood, MixtureParams
from .sources import rows as _source


class GaussianMixture(_BaseMixture):
    """Gaussian mixture model fitted by EM on a fused, compiled pass.

    A drop-in for :class:`sklearn.mixture.GaussianMixture`: the same
    parameters, attributes, methods and results (from the same
    ``random_state``), plus ``sample_weight`` in :meth:`fit`, a choice of
    compiled ``backend`` and a thread count.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.

    covariance_type : {'full', 'tied', 'diag', 'spherical'} or an mclust \
            model name, default='full'
        'full': each component has its own covariance matrix; 'tied': all
        components share one; 'diag': each has its own diagonal covariance;
        'spherical': each has its own single variance. Or one of R mclust's
        14 models S_k = l_k D_k A_k D_k^T, volume l_k, shape A_k and
        orientation D_k each Equal, Variable or the Identity across the
        components (in that order): 'EII', 'VII', 'EEI', 'VEI', 'EVI',
        'VVI', 'EEE', 'VEE', 'EVE', 'VVE', 'EEV', 'VEV', 'EVV', 'VVV'. 'VVV',
        'EEE', 'VVI' and 'VII' are 'full', 'tied', 'diag' and 'spherical';
        the others are fitted with their own M-step (`em.parsimonious`) and
        stored as the type of their structure: the rotated models as
        'full' ((k, d, d) covariances), EEI/VEI/EVI as 'diag' ((k, d)), EII
        as 'spherical' ((k,)). ``reg_covar`` is added to each component's
        scatter per unit weight before the model's M-step, so that each
        model keeps its form; ``precisions_init`` is given in the
        structure's shape.

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

    weights_init : array-like of shape (n_components,), default=None
        User-provided initial weights.

    means_init : array-like of shape (n_components, n_features), default=None
        User-provided initial means.

    precisions_init : array-like, default=None
        User-provided initial precisions (inverse covariances), shaped
        (n_components,) 'spherical', (n_features, n_features) 'tied',
        (n_components, n_features) 'diag', (n_components, n_features,
        n_features) 'full'.

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
        depend on it. Any value >= 1 is capped at the cores the process may
        use.

    init_sample_size : 'auto' or int, default='auto'
        Rows the initialization uses. An int draws that many rows (with
        ``random_state``; all rows when X has no more) and initializes from
        them. 'auto' uses all rows (scikit-learn's initialization, the same
        result) when X is in memory, or when the initialization on all rows
        takes at most about 128 MiB; above that, for X not in memory (a
        memory map, zarr, h5py, a dask array), a sample of as many rows as
        fit in it (``128 MiB / (n_features * itemsize + 96 bytes)``, about a
        million), with a :class:`fastgmm.InitSampleWarning`.

        The fit of a memory map equals the in-memory fit of the same rows bit
        for bit when both initialize from the same rows: with 'auto' below
        that size (no warning), or with the same int for both (the same
        rows are drawn). Above it, 'auto' starts the two from different
        parameters, and the fits can differ (components in another order,
        the lower bound in its last digits). A dask array initializes as a
        memory map does; its fit then equals the in-memory fit to rounding,
        and bit for bit when its chunk boundaries fall on the in-memory
        pass's partitions.

    window_bytes : int, default=64 MiB
        For X read by windows (a memory map, zarr array, h5py dataset):
        bytes of rows read at a time. The fit's memory beyond the
        parameters is about this much, whatever the number of rows.

    learning_offset : float, default=10.0
        :meth:`partial_fit` only: the step of stepwise EM after ``t`` steps
        is ``(learning_offset + t) ** -learning_decay``.

    learning_decay : float, default=0.7
        :meth:`partial_fit` only, in (0.5, 1]: how fast the step shrinks
        (closer to 0.5: old batches are forgotten faster, for drifting
        streams).

    nan_policy : {'raise', 'marginalize'}, default='raise'
        'raise': NaN in X is an error, as in scikit-learn. 'marginalize':
        NaN entries are missing values (missing at random): the fit is the
        exact EM of the observed entries (Ghahramani & Jordan 1994), and
        ``predict``, ``predict_proba``, ``score_samples``, ``score``,
        ``bic`` and ``aic`` use the marginal density of each row's observed
        entries; a row with every entry missing gets the weights as
        responsibilities and log-likelihood 0. The initialization clusters
        the rows with each missing entry replaced by its feature's mean.
        :meth:`impute` fills the missing entries. X in memory, a memory map,
        an array-like read by windows or a dask array (for those, one more
        pass over X finds whether it holds a NaN).

    noise : bool, default=False
        If True, the mixture has one more component, a uniform density
        ``noise_weight_ / noise_volume_`` over the data's region (Banfield &
        Raftery 1993, as R mclust's noise component), for points that belong
        to no cluster. EM estimates its weight with the others, starting from
        0.1 (or from ``weights_init`` with ``n_components + 1`` entries, the
        noise's last). :meth:`predict` labels its points -1,
        :meth:`predict_proba` gives it the last column, and ``weights_``
        (the Gaussians') sum to ``1 - noise_weight_``. Not (yet) with missing
        values, :meth:`partial_fit`, :meth:`sample`, :meth:`impute` or
        :meth:`condition`.

    noise_volume : float or None, default=None
        With ``noise=True``: the volume V of the noise's region (> 0), its
        density being ``noise_weight_ / V``. None: mclust's default, the
        smaller of the volumes of the data's bounding box and of its box
        along the principal axes (of the rows of positive weight), computed
        in two passes over X; rows that lie in a subspace (collinear or
        constant features) have no such volume, and the fit raises
        ``ValueError``: give ``noise_volume`` then.

    accelerate : {None, 'squarem'}, default=None
        None: plain EM, scikit-learn's iterates. 'squarem': SQUAREM
        (Varadhan & Roland 2008, step lengths S3) extrapolates from two EM
        steps and keeps the jump only when the log-likelihood does not drop
        (else the plain EM step): fewer passes over X to the same or a
        higher lower bound, never a lower one along the run. ``n_iter_``
        counts passes; convergence is tested as for plain EM. For 'full',
        'tied', 'diag' and 'spherical' without a noise component or missing
        values (``ValueError`` otherwise); fits run pass by pass.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray, shaped by ``covariance_type``
    precisions_ : ndarray, shaped by ``covariance_type``
    precisions_cholesky_ : ndarray, shaped by ``covariance_type``
        Upper-triangular U with precision = U U^T (or its diagonal).
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean (weighted) log-likelihood of the training data at the best run.
    lower_bounds_ : list of float
        The lower bound after each iteration of the best run.
    noise_weight_ : float
        With ``noise=True``: the weight of the noise component.
    noise_volume_ : float
        With ``noise=True``: the volume of its region (``noise_volume``, or
        the one computed from X).
    n_steps_ : int
        After :meth:`partial_fit`: the number of its steps.
    n_samples_seen_ : int
        After :meth:`partial_fit`: the rows of all its batches.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined only when X has string feature names.

    See Also
    --------
    BayesianGaussianMixture : The variational Bayesian mixture.
    GaussianMixtureSearch : Chooses n_components and covariance_type.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import GaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> gm.means_
    array([[10.,  2.],
           [ 1.,  2.]])
    >>> gm.predict([[0, 0], [12, 3]])
    array([1, 0])
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES) | set(MCLUST_MODELS))],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions(set(INIT_METHODS))],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "backend": [StrOptions(set(BACKENDS))],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "init_sample_size": [StrOptions({"auto"}),
                             Interval(Integral, 1, None, closed="left")],
        "window_bytes": [Interval(Integral, 1, None, closed="left")],
        "learning_offset": [Interval(Real, 0.0, None, closed="left")],
        "learning_decay": [Interval(Real, 0.5, 1.0, closed="right")],
        "nan_policy": [StrOptions({"raise", "marginalize"})],
        "noise": ["boolean"],
        "noise_volume": [None, Interval(Real, 0.0, None, closed="neither")],
        "accelerate": [None, StrOptions({"squarem"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        backend="auto",
        n_threads=None,
        init_sample_size="auto",
        window_bytes=_source.WINDOW_BYTES,
        learning_offset=10.0,
        learning_decay=0.7,
        nan_policy="raise",
        noise=False,
        noise_volume=None,
        accelerate=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.backend = backend
        self.n_threads = n_threads
        self.init_sample_size = init_sample_size
        self.window_bytes = window_bytes
        self.learning_offset = learning_offset
        self.learning_decay = learning_decay
        self.nan_policy = nan_policy
        self.noise = noise
        self.noise_volume = noise_volume
        self.accelerate = accelerate

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.nan_policy == "marginalize"
        return tags

    # --------------------------------------------------- the hooks of _fit

    def _fit_weights(self, rows, sample_weight):
        """The fit's weights, scaled to mean 1 (only their ratios matter)."""
        return rows.sample_weight(sample_weight, self.n_components)

    _family_class = MaximumLikelihood

    def _spec(self, noise=None):
        return super()._spec(self.noise if noise is None else noise)

    def _fit_family(self, rows, w, backend):
        """The family of the fit: the maximum-likelihood mixture, with the
        noise component last when ``noise`` (its volume: ``noise_volume_``)."""
        spec = self._spec()
        if spec.noise:
            spec.check_rows(rows)
            if self.noise_volume is not None:
                self.noise_volume_ = float(self.noise_volume)
            else:
                # (over the rows of positive weight only, as the fit)
                self.noise_volume_ = _noise.hypervolume(lambda: _source.row_blocks(rows, w))
        return self._family(spec, backend)

    def _family(self, spec, backend):
        """The family of ``spec`` on ``backend``, for `em.driver` and the
        posterior."""
        if spec.noise:
            return _noise.NoiseEM(spec.structure, math.log(self.noise_volume_), backend)
        return MaximumLikelihood(spec.structure, backend)

    def _fitted_params(self):
        """The fitted parameters, as `em.driver` takes them (a warm start's;
        with the noise component last)."""
        params = MixtureParams.from_arrays(
            self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)
        if self._fitted_spec.noise:
            params = _noise.with_noise(params, self.noise_weight_, self.means_.shape[1],
                                       rescale=False)
        return params

    # ---------------------------------------------------------- partial_fit

    def partial_fit(self, X, y=None, sample_weight=None):
        """One step of stepwise (online) EM on a batch of rows.

        For streams and drifting data: the exact fit of data that fit on
        disk is :meth:`fit` (on a memory map, if need be). The first call
        initializes from its batch (``init_params`` and the ``*_init``
        arguments, as :meth:`fit` does; the batch needs at least
        ``n_components`` rows); every call then blends the batch's
        statistics per unit of weight into running ones with the step
        ``(learning_offset + n_steps_) ** -learning_decay`` (Cappe &
        Moulines 2009) and updates the parameters. After :meth:`fit` (or
        :func:`fastgmm.load`), it continues from the fitted parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A batch of rows.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the batch's rows (only their ratios
            within the batch matter).

        Returns
        -------
        self : GaussianMixture
            The updated mixture, with ``n_steps_``, ``n_samples_seen_``
            and ``lower_bound_`` (the batch's mean log-likelihood under the
            parameters before the step).
        """
        self._validate_params()
        first = not hasattr(self, "means_")
        if first:
            self.__dict__.pop("scaling_", None)
        rows = self._rows(X, reset=first)
        n_samples, n_features = rows.n_samples, rows.n_features
        if first and n_samples < self.n_components:
            raise ValueError(
                f"The first batch of partial_fit initializes the mixture and needs "
                f"n_samples >= n_components, got n_components = {self.n_components}, "
                f"n_samples = {n_samples}")
        w = rows.sample_weight(sample_weight, self.n_components if first else 1)
        structure = self._spec().structure
        backend = kernels.get_backend(
            self.backend, n_samples, n_features, self.n_components, structure.storage
        )
        if self.noise:
            raise ValueError("partial_fit does not fit a noise component yet "
                             "(noise=True): use fit")
        if first:
            params = self._initial_parameters(
                rows, w, check_random_state(self.random_state),
                *self._check_initial_parameters(n_features))
            self.n_steps_ = self.n_samples_seen_ = 0
            self.lower_bounds_ = []
        else:
            self._refuse_noise("partial_fit")  # (a mixture fitted with noise=True)
            if self._warm_start_shapes_differ(n_features):
                raise ValueError(
                    "partial_fit continues the fitted mixture, whose means have "
                    f"shape {np.shape(self.means_)} (covariance_type="
                    f"{self._fitted_spec.structure.name!r}); this "
                    "batch needs "
                    f"{(self.n_components, n_features)} (n_components="
                    f"{self.n_components}, covariance_type={self.covariance_type!r}).")
            params = self._fitted_params()
            self.__dict__.setdefault("n_steps_", 0)
            self.__dict__.setdefault("n_samples_seen_", 0)
        state = getattr(self, "_stepwise_state", None)
        if state is None:
            state = _em.StepwiseState.from_params(params, structure.storage,
                                                  self.reg_covar)
        step = (self.learning_offset + self.n_steps_) ** -self.learning_decay
        with kernels.single_threaded_blas():
            params, state, bound = _em.stepwise_step(
                backend, rows, w, params, state, step=min(step, 1.0),
                covariance_type=structure.storage, reg_covar=self.reg_covar,
                n_threads=self.n_threads, family=MaximumLikelihood(structure, backend))
        self._set_parameters(params, rows.dtype)
        self._stepwise_state = state
        self.n_steps_ += 1
        self.n_samples_seen_ += n_samples
        self.n_iter_ = self.n_steps_
        self.converged_ = False
        self.lower_bound_ = bound
        self.lower_bounds_ = list(getattr(self, "lower_bounds_", [])) + [bound]
        return self

    def _check_initial_parameters(self, n_features):
        """Validated copies of the user's initial parameters (never mutated)."""
        k, structure = self.n_components, self._spec().structure
        t = structure.storage
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = check_array(self.weights_init, dtype=_DTYPES, ensure_2d=False)
            if not (self.noise and weights.shape == (k + 1,)):  # (the noise's last)
                _check_shape(weights, (k,), "weights")
            if np.any(weights < 0.0) or np.any(weights > 1.0):
                raise ValueError(
                    "The parameter 'weights' should be in the range "
                    "[0, 1], but got max value %.5f, min value %.5f"
                    % (np.min(weights), np.max(weights))
                )
            atol = 1e-6 if weights.dtype == np.float32 else 1e-8
            if not np.allclose(float(np.abs(1.0 - np.sum(weights))), 0.0, atol=atol):
                raise ValueError(
                    "The parameter 'weights' should be normalized, "
                    "but got sum(weights) = %.5f" % np.sum(weights)
                )
        if self.means_init is not None:
            means = check_array(self.means_init, dtype=_DTYPES, ensure_2d=False)
            _check_shape(means, (k, n_features), "means")
        if self.precisions_init is not None:
            precisions = check_array(
                self.precisions_init, dtype=_DTYPES, ensure_2d=False,
                allow_nd=t == "full",
            )
            _check_shape(precisions, structure.shape(k, n_features), f"{t} precision")
            structure.check_precisions(precisions)
        return weights, means, precisions

    def _initial_parameters(self, rows, w, random_state,
                            weights_init, means_init, precisions_init):
        if weights_init is None or means_init is None or precisions_init is None:
            weights, means, covariances = self._initial_gaussian(rows, w, random_state)
        else:
            weights = means = covariances = None
        if weights_init is not None:
            weights = weights_init
        if means_init is not None:
            means = means_init
        spec = self._spec()
        if precisions_init is not None:
            precisions_chol = spec.structure.precisions_cholesky_from_precisions(
                np.asarray(precisions_init, dtype=np.float64))
            covariances = spec.structure.covariances_from_cholesky(precisions_chol)
        else:
            precisions_chol = spec.structure.precisions_cholesky(
                covariances, rows.dtype == np.float32)
        noise_weight = None
        if spec.noise and len(weights) == spec.n_columns(self.n_components):  # given
            weights, noise_weight = weights[:-1], float(weights[-1])
        params = MixtureParams.from_arrays(weights, means, covariances, precisions_chol)
        if spec.noise:  # the Gaussians' weights scaled to make room for it
            params = _noise.with_noise(
                params, _noise.INITIAL_NOISE_WEIGHT if noise_weight is None
                else noise_weight, params.means.shape[1], rescale=noise_weight is None)
        return params

    def _set_parameters(self, params, dtype):
        """The fitted attributes from the parameters of a fit of ``_spec()``
        (the noise component last, when it has one), and the fitted spec."""
        spec, noise_weight = self._spec(), None
        if spec.noise:
            params, noise_weight = _noise.gaussians(params)
        # computed in float64, cast to X's dtype, all checked before any is set
        arrays = {name: _in_dtype(value, dtype, name) for name, value in (
            ("weights_", params.weights), ("means_", params.means),
            ("covariances_", params.covariances),
            ("precisions_cholesky_", params.precisions_cholesky),
            ("precisions_", spec.structure.precisions(params.precisions_cholesky)))}
        self._set_fitted(spec, {"noise_weight_": noise_weight} if spec.noise else None)
        for name, value in arrays.items():
            setattr(self, name, value)

    def condition(self, values, features):
        """The mixture of the other features given the values of some.

        For each component the conditional Gaussian of the other features,
        mean ``m_k,r + S_k,rg S_k,gg^-1 (values - m_k,g)`` and covariance
        ``S_k,rr - S_k,rg S_k,gg^-1 S_k,gr`` (g: the given features, r: the
        rest), weighted by ``w_k N(values; m_k,g, S_k,gg)`` normalised: the
        posterior weights of the components given the values.

        Parameters
        ----------
        values : array-like of shape (n_given,)
            The values of the given features.
        features : array-like of int of shape (n_given,) or of bool of shape (n_features,)
            Which features ``values`` are: integer indices, in the order of
            ``values`` (negative ones count from the end, as in Python and
            scikit-learn's column indexing: -1 is the last feature), or a
            boolean mask of all features (``values`` then in the features'
            order). Anything else (floats, even 1.0; a mix of booleans and
            integers; indices out of range) raises ``ValueError``, as
            scikit-learn's column indexing does.

        Returns
        -------
        conditional : GaussianMixture
            A fitted mixture over the other features (in their order), of the
            same ``covariance_type`` (the conditionals of 'tied', 'diag' and
            'spherical' covariances keep their structure), in float64. Its
            weights are ``predict_proba`` of a row with only the given values
            observed: values so far from every component that each density
            underflows get the same limit (the nearest component in
            Mahalanobis distance takes all).
        """
        self._refuse_noise("condition")
        from ._condition import conditional_mixture

        return conditional_mixture(self, values, features)

    # ----------------------------------------------------- model selection

    def bic(self, X):
        """Bayesian information criterion on X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        bic : float
            ``-2 * log-likelihood + n_parameters * log(n_samples)``.
        """
        rows = self._validate_predict(X)
        n = rows.n_samples
        return _criteria.bic(self._mean_log_likelihood(rows) * n, self._n_parameters(), n)

    def aic(self, X):
        """Akaike information criterion on X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        aic : float
            ``-2 * log-likelihood + 2 * n_parameters``.
        """
        rows = self._validate_predict(X)
        n = rows.n_samples
        return _criteria.aic(self._mean_log_likelihood(rows) * n, self._n_parameters())


def passed_on_constraints(names):
    """GaussianMixture's constraints of the parameters ``names``: those a
    wrapper (the search, the outlier detector, the imputer) passes on to its
    mixtures, or the Bayesian mixture shares (each declares the names once,
    in a tuple, and keeps scikit-learn's explicit ``__init__``)."""
    return {name: GaussianMixture._parameter_constraints[name] for name in names}
