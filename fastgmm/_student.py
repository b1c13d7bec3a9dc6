"""StudentTMixture: mixtures of multivariate t distributions on the fused pass.

The E-step is the kernels' t pass (`em.student`: the Gaussian pass's
quadratic form, the t log-density and the weights u, given ``dof``); the
M-step, the degrees of freedom and the bound are `em.student.StudentT`'s.
Everything else (validation, sources of rows, initialization, posterior
outputs, saving) is `_base._BaseMixture`'s, and what is GaussianMixture's
(its parameters' constraints, the initial parameters, the information
criteria) is taken from it, not copied.
"""

import math
from numbers import Real

import numpy as np
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import _BaseMixture, _in_dtype
from .em.family import MixtureSpec
from .em.student import StudentParams, student_family
from .mixture import GaussianMixture, passed_on_constraints
from .sources import rows as _source

#: GaussianMixture's parameters that StudentTMixture has too (its own:
#: ``dof`` and ``dof_init``; not partial_fit's learning_offset and
#: learning_decay, nor noise_volume).
_SHARED_PARAMETERS = (
    "n_components", "covariance_type", "tol", "reg_covar", "max_iter", "n_init",
    "init_params", "weights_init", "means_init", "precisions_init", "random_state",
    "warm_start", "verbose", "verbose_interval", "backend", "n_threads",
    "init_sample_size", "window_bytes", "nan_policy", "noise", "accelerate",
)


class StudentTMixture(_BaseMixture):
    """Mixture of multivariate t distributions, fitted by EM on the fused pass.

    Component k is a multivariate t distribution of location ``means_[k]``,
    scale matrix Sigma_k (``covariances_[k]``, stored in the shapes of
    :class:`fastgmm.GaussianMixture`'s covariances) and degrees of freedom
    ``dof_[k]`` (Peel & McLachlan 2000). Its heavy tails down-weight far
    points inside EM: a row's weight in the M-step is its responsibility
    times ``u_ik = (nu_k + d) / (nu_k + delta_ik)``, delta_ik its squared
    Mahalanobis distance under Sigma_k, so a few gross outliers move the
    means and scale matrices much less than a Gaussian mixture's. The
    covariance of a t component is ``nu_k / (nu_k - 2) Sigma_k`` for
    ``nu_k > 2`` (infinite otherwise); as nu grows the component tends to
    the Gaussian N(m_k, Sigma_k).

    One EM (ECM) iteration: the pass at the current parameters gives the
    responsibilities r_ik under the t densities and u_ik; then n_k = sum w r,
    the weights n_k / sum w, the means sum w r u x / sum w r u, the
    u-weighted scatter W_k around them, the structure's M-step from (W_k,
    n_k) (``W_k / n_k + reg_covar I`` for 'full'), and each estimated nu_k
    the root in [1, 200] (clipped) of ``1 - psi(nu/2) + log(nu/2) + sum w r
    (log u - u) / n_k + psi((nu_k + d)/2) - log((nu_k + d)/2) = 0``, pooled
    over the components for ``dof='shared'``.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.

    covariance_type : {'full', 'tied', 'diag', 'spherical'} or an mclust \
            model name, default='full'
        The structure of the scale matrices, as the covariances of
        :class:`fastgmm.GaussianMixture`: scikit-learn's four types or R
        mclust's 14 models ('EII' ... 'VVV'; teigen's models with
        ``dof``).

    tol : float, default=1e-3
        EM stops when the mean log-likelihood changes by less than ``tol``.

    reg_covar : float, default=1e-6
        Added to the diagonal of each scale matrix (to each scatter per unit
        weight before an mclust model's M-step).

    max_iter : int, default=100
        The number of EM iterations to perform.

    n_init : int, default=1
        The number of initializations; the best lower bound is kept.

    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
            default='kmeans'
        The initial responsibilities, as in :class:`fastgmm.GaussianMixture`;
        the initial parameters are its M-step of them (u = 1), with
        ``dof_init``.

    weights_init, means_init, precisions_init : array-like, default=None
        User-provided initial weights, means and precisions (inverses of
        the scale matrices), shaped as in :class:`fastgmm.GaussianMixture`.

    dof : {'component', 'shared'} or float, default='component'
        The degrees of freedom: estimated per component ('component'), one
        for all components ('shared'), or a number > 0, fixed (a very large
        one gives the Gaussian mixture). Estimated values lie in [1, 200].

    dof_init : float or array-like of shape (n_components,), default=30.0
        The initial degrees of freedom (> 0; one value for 'shared').
        Ignored when ``dof`` is a number.

    random_state : int, RandomState instance or None, default=None
        Seeds the initialization and :meth:`sample`.

    warm_start : bool, default=False
        If True, each fit after the first starts from the last solution
        (``dof_`` included) and ``n_init`` is ignored.

    verbose : int, default=0
        Progress output, as in :class:`fastgmm.GaussianMixture`.

    verbose_interval : int, default=10
        Number of iterations between two prints.

    backend : {'auto', 'numba', 'cython'}, default='auto'
        The compiled kernels to use.

    n_threads : int or None, default=None
        Threads of the compiled pass; None uses all cores. Results do not
        depend on it.

    init_sample_size : 'auto' or int, default='auto'
        Rows the initialization uses, as in :class:`fastgmm.GaussianMixture`.

    window_bytes : int, default=64 MiB
        For X read by windows (a memory map, zarr array, h5py dataset):
        bytes of rows read at a time.

    nan_policy : {'raise'}, default='raise'
        NaN in X is an error. 'marginalize' is refused (``ValueError``): the
        marginal of a t's observed entries is a t with the same nu, but the
        pass over rows with missing entries does not compute the t yet.

    noise : False, default=False
        A uniform noise component is not fitted with t components
        (``noise=True`` raises ``ValueError``): their heavy tails take the
        role it plays for a Gaussian mixture.

    accelerate : {None, 'squarem'}, default=None
        'squarem': SQUAREM's extrapolated EM steps (the degrees of freedom
        extrapolated with the rest, kept in [1, 200] when estimated), each
        jump kept only when the log-likelihood does not drop; as in
        :class:`fastgmm.GaussianMixture`, for scikit-learn's four covariance
        types.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
        The locations (the means, for nu > 1).
    covariances_ : ndarray, shaped by ``covariance_type``
        The scale matrices Sigma_k (not the covariances: those are
        ``nu / (nu - 2) Sigma_k``).
    precisions_ : ndarray, shaped by ``covariance_type``
        Their inverses.
    precisions_cholesky_ : ndarray, shaped by ``covariance_type``
        Upper-triangular U with precision = U U^T (or its diagonal).
    dof_ : ndarray of shape (n_components,)
        The degrees of freedom nu_k.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean (weighted) log-likelihood of the training data under the
        parameters of the best run's last E-step.
    lower_bounds_ : list of float
        The lower bound at each iteration of the best run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined only when X has string feature names.

    See Also
    --------
    GaussianMixture : The Gaussian mixture (the limit of large ``dof``).

    Notes
    -----
    A k-means start can put a component on a cluster of outliers, and EM
    keeps it there (a t component is robust to points outside its cluster,
    not to a cluster of its own). Then fit more components, or start from
    a robust fit (``means_init``, say from k-means on the rows a first fit
    gives large :meth:`tail_weights`).

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import StudentTMixture
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.standard_t(3, size=(300, 2)),
    ...                rng.standard_t(3, size=(300, 2)) + 10])
    >>> tm = StudentTMixture(n_components=2, random_state=0).fit(X)
    >>> np.round(tm.means_).astype(int).tolist()
    [[10, 10], [0, 0]]
    >>> bool(np.all(tm.dof_ < 10))  # heavy tails found (the data's nu is 3)
    True
    >>> tm.predict([[0, 0], [9, 11]])
    array([1, 0])
    """

    _parameter_constraints: dict = {
        **passed_on_constraints(_SHARED_PARAMETERS),
        "dof": [StrOptions({"component", "shared"}),
                Interval(Real, 0.0, None, closed="neither")],
        "dof_init": [Interval(Real, 0.0, None, closed="neither"), "array-like"],
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
        dof="component",
        dof_init=30.0,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        backend="auto",
        n_threads=None,
        init_sample_size="auto",
        window_bytes=_source.WINDOW_BYTES,
        nan_policy="raise",
        noise=False,
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
        self.dof = dof
        self.dof_init = dof_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.backend = backend
        self.n_threads = n_threads
        self.init_sample_size = init_sample_size
        self.window_bytes = window_bytes
        self.nan_policy = nan_policy
        self.noise = noise
        self.accelerate = accelerate

    def _validate_params(self):
        super()._validate_params()
        if self.nan_policy == "marginalize":
            raise ValueError(
                "StudentTMixture does not take nan_policy='marginalize' yet: the "
                "pass over rows with missing entries computes Gaussian densities "
                "only. Impute the missing entries first, or use GaussianMixture.")
        if self.noise:
            raise ValueError(
                "StudentTMixture does not fit a noise component (noise=True): its "
                "heavy-tailed components down-weight outlying rows themselves. Use "
                "GaussianMixture(noise=True) for mclust's noise component.")
        if not isinstance(self.dof, str) and not math.isfinite(self.dof):
            raise ValueError(
                f"dof must be 'component', 'shared' or a finite number > 0, got "
                f"{self.dof!r} (an infinite dof is GaussianMixture)")

    # --------------------------------------------------- the hooks of _fit

    @property
    def _family_class(self):
        return student_family(self.dof)

    _fit_weights = GaussianMixture._fit_weights

    def _fit_family(self, rows, w, backend):
        return self._family(self._spec(), backend)

    def _family(self, spec, backend):
        """The t family of ``spec`` (its dof setting) on ``backend``."""
        return spec.family(spec.structure, backend)

    def _spec(self, noise=False):
        # (never a noise component; `fastgmm.load` asks with the file's)
        return MixtureSpec.of(self._family_class, self.covariance_type)

    def _check_initial_parameters(self, n_features):
        """GaussianMixture's checks of the initial parameters, and the
        initial degrees of freedom (k values > 0, finite)."""
        k = self.n_components
        initial = GaussianMixture._check_initial_parameters(self, n_features)
        if not isinstance(self.dof, str):
            return initial + (np.full(k, float(self.dof)),)
        dof = check_array(np.atleast_1d(self.dof_init), ensure_2d=False,
                          dtype=np.float64, input_name="dof_init")
        if dof.ndim != 1 or dof.shape[0] not in (1, k):
            raise ValueError(
                f"dof_init should be a number or have the shape ({k},), but got "
                f"shape {np.shape(self.dof_init)}")
        if not np.all(dof > 0.0):
            raise ValueError(f"dof_init must be > 0, got {self.dof_init!r}")
        if self.dof == "shared" and not np.all(dof == dof[0]):
            raise ValueError("dof='shared' takes one initial value: dof_init holds "
                             f"{np.unique(dof).size} different ones")
        return initial + (np.broadcast_to(dof, (k,)).copy(),)

    def _initial_parameters(self, rows, w, random_state, weights_init, means_init,
                            precisions_init, dof_init):
        """GaussianMixture's initial parameters (k-means labels and one
        M-step, u = 1), with ``dof_init``."""
        params = GaussianMixture._initial_parameters(
            self, rows, w, random_state, weights_init, means_init, precisions_init)
        return StudentParams.from_arrays(params.weights, params.means, params.covariances,
                                         params.precisions_cholesky, dof_init)

    def _fitted_params(self):
        """The fitted parameters, as `em.driver` takes them."""
        return StudentParams.from_arrays(self.weights_, self.means_, self.covariances_,
                                         self.precisions_cholesky_, self.dof_)

    def _warm_start_run(self, n_features):
        run = super()._warm_start_run(n_features)
        if run is not None and not isinstance(self.dof, str):  # a fixed dof: this one
            run.params.dof = np.full(self.n_components, float(self.dof))
        return run

    def _set_parameters(self, params, dtype):
        """The fitted attributes (``dof_`` too) in X's dtype, and the spec."""
        dof = _in_dtype(np.asarray(params.dof, dtype=np.float64), dtype, "dof_")
        GaussianMixture._set_parameters(self, params, dtype)
        self.dof_ = dof

    # ------------------------------------------------------------ outputs

    def _draw(self, rng, means, covariances, counts):
        """t draws: Gaussian draws of scale Sigma_k around 0, times
        sqrt(nu_k / g) with g a chi-squared draw of nu_k degrees of freedom,
        plus m_k."""
        zero = np.zeros_like(means)
        parts = super()._draw(rng, zero, covariances, counts)
        dof = np.asarray(self.dof_, dtype=np.float64)
        return [m + z * np.sqrt(nu / rng.chisquare(nu, size=len(z)))[:, None]
                for m, z, nu in zip(means, parts, dof)]

    def sample(self, n_samples=1):
        """Draw samples from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples: of component k, ``m_k + z sqrt(nu_k / g)`` with z
            drawn from N(0, Sigma_k) and g from a chi-squared distribution of
            nu_k degrees of freedom.
        y : ndarray of shape (n_samples,)
            The component of each sample.
        """
        return super().sample(n_samples)

    def tail_weights(self, X):
        """Weight of each sample in each component's M-step.

        The weight is u_ik = (nu_k + d) / (nu_k + delta_ik), delta_ik the
        squared Mahalanobis distance of sample i under Sigma_k: small for
        the points a component treats as outlying (teigen's outlier signal),
        near (nu + d) / nu at its location.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples (in memory, a memory map or array-like read by
            windows, or a dask array: then a lazy dask array).

        Returns
        -------
        u : ndarray of shape (n_samples, n_components)
            In X's dtype (float32 stays float32, else float64).
        """
        check_is_fitted(self)
        rows = self._validate_predict(X)
        params, structure = self._fitted_params(), self._fitted_spec.structure
        k = params.means.shape[0]
        if _source.is_dask_array(rows.X):
            return rows.X.map_blocks(
                _tail_weights, params, structure, rows.dtype, token="fastgmm-tail-weights",
                dtype=rows.dtype, chunks=(rows.X.chunks[0], (k,)),
                meta=np.empty((0, 0), dtype=rows.dtype))
        out = np.empty((rows.n_samples, k), dtype=rows.dtype)
        at = 0
        for block, _ in _source.row_blocks(rows):
            out[at:at + len(block)] = _tail_weights(block, params, structure, rows.dtype,
                                                    at)
            at += len(block)
        return out

    def impute(self, X):
        """Not defined for a t mixture yet: raises ``ValueError``.

        Missing entries are not supported for a t mixture yet:
        ``nan_policy='marginalize'`` is refused too.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, NaN where an entry is missing; not read.

        Raises
        ------
        ValueError
            Always.
        """
        raise ValueError("impute() is not defined for a StudentTMixture yet")

    bic = GaussianMixture.bic
    aic = GaussianMixture.aic


def _tail_weights(block, params, structure, dtype, first_row=0):
    """u of the rows of one block (NumPy, float64), in ``dtype``."""
    z = np.asarray(block, dtype=np.float64)
    _source.check_finite(z, first_row)
    d = z.shape[1]
    out = np.empty((z.shape[0], params.dof.shape[0]))
    for k, nu in enumerate(params.dof):
        whitened = structure.whiten(z - params.means[k], params.precisions_cholesky, k)
        out[:, k] = (nu + d) / (nu + np.einsum("ij,ij->i", whitened, whitened))
    return out.astype(dtype, copy=False)
