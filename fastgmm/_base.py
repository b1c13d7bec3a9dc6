"""What GaussianMixture and BayesianGaussianMixture share: `_BaseMixture`
(fit on the fused pass, the sources of rows, the posterior outputs,
sampling, saving) and the checks of user-given parameters. The rows a fit
initializes from are `_init_rows`'s, its progress output `_monitors`'.
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import kernels
from ._constants import FIT_DTYPES, count
from ._init_rows import initial_rows
from ._monitors import fit_monitor
from .em import accelerate as _accelerate
from .em import driver as _em
from .em import init as _init
from .em.family import NOISE_FIELDS, NOISE_LABEL, MixtureSpec
from .sources import rows as _source

_DTYPES = FIT_DTYPES  # check_array's dtype: float32 stays, else float64


class _BaseMixture(DensityMixin, BaseEstimator):
    """What GaussianMixture and BayesianGaussianMixture share: fit on the
    fused pass (`em.driver`), the sources of rows, the initialization's rows, the
    posterior outputs, sampling and saving.

    A subclass names its family (``_family_class``, an `em.family.Family`)
    and supplies the hooks: ``_fit_weights``, ``_check_initial_parameters``,
    ``_fit_family`` and ``_family`` (the family of a fit and of a fitted
    mixture), ``_initial_parameters``, ``_fitted_params`` and
    ``_set_parameters``. What the mixture is (family, structure, options)
    is an `em.family.MixtureSpec`: ``_spec()`` that of the parameters, the
    fitted one ``_fitted_spec`` (recorded with the fitted attributes by
    `_set_fitted`, which `fastgmm.load` calls too).
    """

    @classmethod
    def _get_param_names(cls):
        # scikit-learn's, kept per class and constructor: it inspects the
        # signature on every get_params, which each fit's parameter
        # validation calls (a tenth of a small fit's time)
        kept = cls.__dict__.get("_param_names_of")
        if kept is None or kept[0] is not cls.__init__:
            kept = (cls.__init__, tuple(super()._get_param_names()))
            cls._param_names_of = kept
        return list(kept[1])

    # ------------------------------------------------------------------ fit

    def fit(self, X, y=None, sample_weight=None, callback=None):
        """Estimate the model parameters with the EM algorithm.

        Runs ``n_init`` initializations (one with ``warm_start`` after the
        first fit) and keeps the parameters with the largest lower bound.
        Warns with ``ConvergenceWarning`` when that run did not converge.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The training data, one row per sample.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples; an integer weight counts as
            that many copies of the row. None weighs every sample 1.
        callback : callable, default=None
            Progress hook, called as ``callback(event)`` with a dict:
            ``{'event': 'init_begin', 'init': i}`` when initialization ``i``
            starts, ``{'event': 'iteration', 'init': i, 'n_iter': n,
            'lower_bound': b, 'change': c}`` after each EM iteration, and
            ``{'event': 'init_end', 'init': i, 'n_iter': n, 'lower_bound': b,
            'converged': bool}`` when it ends. It must not change the model.

        Returns
        -------
        self : object
            The fitted mixture.
        """
        self._fit(X, sample_weight, callback)
        return self

    def fit_predict(self, X, y=None, sample_weight=None, callback=None):
        """Fit the model on X and return the component of each sample.

        Equal to ``fit(X).predict(X)`` for any ``max_iter``, ``tol`` and
        ``random_state``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The training data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.
        callback : callable, default=None
            Progress hook; see :meth:`fit`.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        rows = self._fit(X, sample_weight, callback)
        return self._labels(rows)

    def _fit(self, X, sample_weight, callback=None):
        self._validate_params()
        # a model file's column scaling (fastgmm fit --scale) describes the
        # data of the fit that made it, not this one; a stepwise state, the
        # stream of partial_fit
        self.__dict__.pop("scaling_", None)
        for name in ("_stepwise_state", "n_steps_", "n_samples_seen_"):
            self.__dict__.pop(name, None)
        rows = self._rows(X, reset=True)
        n_samples, n_features = rows.n_samples, rows.n_features
        if n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, "
                f"n_samples = {n_samples}"
            )
        w = self._fit_weights(rows, sample_weight)
        initial = self._check_initial_parameters(n_features)
        warm = self._warm_start_run(n_features)
        storage = self._spec().structure.storage
        backend = kernels.get_backend(
            self.backend, n_samples, n_features, self.n_components, storage
        )
        family = self._fit_family(rows, w, backend)
        random_state = check_random_state(self.random_state)

        def initialize():
            return self._initial_parameters(rows, w, random_state, *initial)

        accelerate = getattr(self, "accelerate", None)
        if accelerate is not None:
            _accelerate.check_accelerate(self._spec(noise=getattr(self, "noise", False)))
        best = _em.fit(
            backend, rows, w, initialize=initialize, n_init=self.n_init,
            covariance_type=storage, tol=self.tol,
            reg_covar=self.reg_covar, max_iter=self.max_iter, warm=warm,
            n_threads=self.n_threads,
            monitor=fit_monitor(self, callback),
            family=family, accelerate=accelerate,
        )
        if not best.converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. "
                "Try different init parameters, or increase max_iter, "
                "tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._set_parameters(best.params, rows.dtype)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bounds_ = best.lower_bounds
        return rows

    def _rows(self, X, reset):
        """X as a `sources.rows` object: validated in memory, or read by windows
        (or, for a dask array, in tasks on its cluster: `sources.dask`)."""
        marginalize = self.nan_policy == "marginalize"  # (NaN: missing values)
        if _source.is_dask_array(X):
            from .sources import dask as _dask

            rows = _dask.DaskRows(X, ensure_min_samples=2 if reset else 1)
            if marginalize:
                import dask.array as da

                if bool(da.isnan(rows.X).any().compute()):  # (one more pass)
                    rows = _dask.DaskRows(X, ensure_min_samples=2 if reset else 1,
                                          missing=True)
        elif not _source.is_windowed(X):
            if reset and X is self.__dict__.get("_validated_X"):
                # a search's candidate: the search validated X as this fit
                # would (its dtype, order, finiteness, at least 2 rows)
                self.n_features_in_ = X.shape[1]
                self.__dict__.pop("feature_names_in_", None)
            else:
                # (with missing values, infinity is looked for block by
                # block: scikit-learn's check would allocate a mask the size
                # of X)
                X = validate_data(self, X, reset=reset, dtype=_DTYPES, order="C",
                                  ensure_min_samples=2 if reset else 1,
                                  ensure_all_finite=not marginalize)
            if marginalize:
                from .sources import missing

                if missing.array_has_nan(X):
                    return missing.IncompleteRows(X)
            return _source.InMemoryRows(X)
        else:
            rows = _source.WindowedRows(X, self.window_bytes,
                                        ensure_min_samples=2 if reset else 1)
            if marginalize:
                from .sources import missing

                if missing.has_nan(rows):  # (one more read of X)
                    rows = missing.WindowedIncompleteRows(
                        X, self.window_bytes, ensure_min_samples=2 if reset else 1)
        if reset:
            self.n_features_in_ = rows.n_features
            self.__dict__.pop("feature_names_in_", None)
        elif rows.n_features != self.n_features_in_:
            raise ValueError(
                f"X has {rows.n_features} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input.")
        return rows

    def _initial_gaussian(self, rows, w, random_state):
        """(weights, means, covariances) of ``init_params`` (`em.init`), drawn
        from the initialization's rows."""
        structure = self._spec().structure
        # on the fit's backend (its choice for these rows, as `_fit` makes it)
        backend = kernels.get_backend(self.backend, rows.n_samples, rows.n_features,
                                      self.n_components, structure.storage)

        def draw():
            fill = rows.initial_fill(w)
            X, w_init = initial_rows(rows, w, random_state, self.init_sample_size,
                                     self.n_components, self.verbose)
            if w_init is not None and np.count_nonzero(w_init) < self.n_components:
                raise ValueError(
                    f"The initialization's sample of {count(X.shape[0], 'row')} has "
                    f"{np.count_nonzero(w_init)} with a positive weight, fewer than "
                    f"n_components = {self.n_components}; raise init_sample_size.")
            return (fill,) + _init.initial_labels(
                X, w_init, self.n_components, self.init_params, random_state, fill,
                backend)

        # a search's candidates of one n_components share the labels (and
        # whatever the draw leaves in random_state: `em.init.SharedLabels`);
        # the k-means labels do not depend on the backend (docs/design.md)
        shared = self.__dict__.get("_shared_labels")
        if (shared is not None and self.init_params != "random" and w is None
                and shared.shape == (rows.n_samples, rows.n_features)):
            key = (self.n_components, self.init_params, self.init_sample_size,
                   self.nan_policy, rows.dtype.str)
            fill, X, w_init, labels = shared.get(key, random_state, draw)
        else:
            fill, X, w_init, labels = draw()
        weights, means, covariances = _init.parameters_from_labels(
            X, w_init, labels, self.n_components, structure.storage, random_state,
            self.reg_covar, fill, backend,
        )
        # (an mclust model: its own first M-step)
        return weights, means, structure.constrain(weights, covariances, backend=backend)

    def _spec(self, noise=False):
        """The mixture these parameters describe (`em.family.MixtureSpec`),
        what a fit fits; ``noise``: with a noise component."""
        return MixtureSpec.of(self._family_class, self.covariance_type, noise=noise,
                              missing=self.nan_policy == "marginalize")

    @property
    def _fitted_spec(self):
        """The fitted mixture's spec: recorded with its fitted attributes (a
        fit, `fastgmm.load`), or, for attributes set by hand (a warm start
        from another model's, as scikit-learn allows), the parameters'."""
        return self.__dict__.get("_recorded_spec") or self._spec()

    def _n_parameters(self):
        """Free parameters of the fitted mixture (its spec's count)."""
        return self._fitted_spec.n_parameters(*self.means_.shape)

    def _refuse_noise(self, what):
        """What a fitted mixture with a noise component does not do yet."""
        check_is_fitted(self)
        if self._fitted_spec.noise:
            raise ValueError(f"{what}() is not defined for a mixture with a noise "
                             "component (noise=True) yet")

    def _set_fitted(self, spec, noise=None):
        """The fitted spec, and its noise component's attributes: ``noise``, a
        dict of some of `em.family.NOISE_FIELDS` (a fit sets ``noise_volume_``
        in `_fit_family`), or none."""
        self._recorded_spec, noise = spec, noise or {}
        for name in NOISE_FIELDS:
            if not spec.noise:
                self.__dict__.pop(name, None)
            elif name in noise:
                setattr(self, name, noise[name])

    def _warm_start_run(self, n_features):
        """The fitted parameters a warm start continues from, or None.

        They must describe a mixture of the shape being fitted: the same
        number of components, covariance type and number of features.
        """
        if not (self.warm_start and hasattr(self, "converged_")):
            return None
        fitted_noise, noise = self._fitted_spec.noise, self._spec().noise
        if fitted_noise != noise:
            # (a noise component is one more, the last: the fitted parameters
            # are another mixture's, as after a change of covariance type)
            raise ValueError(
                "warm_start=True continues from the previous fit, which has "
                f"{'a' if fitted_noise else 'no'} noise component; this fit has "
                f"noise={noise!r}. Set warm_start=False to start anew.")
        k, t = self.n_components, self.covariance_type
        fitted_k, fitted_d = np.shape(self.means_)
        expected = self._spec().structure.shape(k, n_features)
        if self._warm_start_shapes_differ(n_features):
            raise ValueError(
                "warm_start=True continues from the previous fit, whose means "
                f"have shape {(fitted_k, fitted_d)} and covariances shape "
                f"{np.shape(self.covariances_)} (covariance_type="
                f"{self._fitted_spec.structure.name!r}); this fit needs "
                f"{(k, n_features)} and {expected} (n_components={k}, "
                f"covariance_type={t!r}, X with {count(n_features, 'feature')}). Set "
                "warm_start=False to start anew."
            )
        return _em.EMRun(params=self._fitted_params(), lower_bound=self.lower_bound_)

    def _warm_start_shapes_differ(self, n_features):
        """Whether the fitted parameters are not of the shape being fitted:
        another covariance type (recorded with the arrays: with n_components ==
        n_features 'diag' and 'tied' arrays have one shape), or other shapes."""
        structure = self._spec().structure
        if self._fitted_spec.structure.model != structure.model:
            return True
        expected = structure.shape(self.n_components, n_features)
        return np.shape(self.means_) != (self.n_components, n_features) or any(
            np.shape(getattr(self, name)) != expected
            for name in ("covariances_", "precisions_cholesky_"))

    # -------------------------------------------------------------- predict

    def _kernel_args(self, rows):
        """(backend, c, means, precisions_cholesky) of the fitted mixture (its
        family's constants; with a noise component, the noise last)."""
        spec = self._fitted_spec
        spec.check_rows(rows)
        params = self._fitted_params()
        # one backend whatever the number of rows asked for ('auto': Cython
        # where it is built, as for a dask array's chunks), so that a row's
        # outputs are the same bits in any slice, chunk or window of X
        backend = kernels.get_backend(self.backend)
        c = self._family(spec, backend).log_prob_constants(params)
        return backend, c, params.means, params.precisions_cholesky

    def _posterior(self, rows, **outputs):
        """Run the posterior kernel on ``rows`` with the fitted parameters.

        ``outputs``: any of ``log_norm`` (n,), ``resp`` (n, k) and ``labels``
        (n,) to fill; see `fastgmm.kernels`.
        """
        backend, c, means, chol = self._kernel_args(rows)
        rows.posterior(backend, c, means, chol, self._fitted_spec.structure.storage,
                       self.n_threads, **self._pass_arguments(), **outputs)

    def _pass_arguments(self):
        """The fitted family's more arguments of the pass and the posterior
        (`em.family.Family.pass_arguments`: the t family's ``dof``; none for
        a family whose pass is the Gaussian one, ``row_weight`` None)."""
        spec = self._fitted_spec
        if spec.family.row_weight is None:
            return {}
        return self._family(spec, None).pass_arguments(self._fitted_params())

    def _per_row(self, rows, output):
        """One per-row output of the posterior: 'labels' (n,), 'resp' (n, k) or
        'log_norm' (n,); a lazy array for a dask X (`sources.dask`)."""
        if hasattr(rows, "lazy_posterior"):  # (a t mixture's dof too)
            return rows.lazy_posterior(self, output, **self._pass_arguments())
        if output == "labels":
            out = np.empty(rows.n_samples, dtype=np.intp)
        elif output == "resp":  # (a noise component: one more column, the last)
            k = self._fitted_spec.n_columns(self.means_.shape[0])
            out = np.empty((rows.n_samples, k), dtype=rows.dtype)
        else:
            out = np.empty(rows.n_samples, dtype=rows.dtype)
        self._posterior(rows, **{output: out})
        return out

    def _labels(self, rows):
        labels = self._per_row(rows, "labels")
        if self._fitted_spec.noise:  # the noise component's (the last): its label
            k = self.means_.shape[0]
            if _source.is_dask_array(labels):
                import dask.array as da

                return da.where(labels == k, NOISE_LABEL, labels)
            labels[labels == k] = NOISE_LABEL
        return labels

    def _validate_predict(self, X):
        check_is_fitted(self)
        return self._rows(X, reset=False)

    def score_samples(self, X):
        """Log-likelihood of each sample under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            The log-density log p(x_i) of each sample under the fitted
            mixture (of its observed entries, with
            ``nan_policy='marginalize'``).
        """
        return self._per_row(self._validate_predict(X), "log_norm")

    def score(self, X, y=None):
        """Mean log-likelihood of the samples in X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        log_likelihood : float
            Mean of :meth:`score_samples` over X.
        """
        return self._mean_log_likelihood(self._validate_predict(X))

    def _mean_log_likelihood(self, rows):
        backend, c, means, chol = self._kernel_args(rows)
        return rows.mean_log_likelihood(backend, c, means, chol,
                                        self._fitted_spec.structure.storage,
                                        self.n_threads, **self._pass_arguments())

    def predict(self, X):
        """Most probable component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels, in ``range(n_components)`` (-1: the noise
            component of a GaussianMixture with ``noise=True``).
        """
        return self._labels(self._validate_predict(X))

    def predict_proba(self, X):
        """Posterior probability of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Responsibilities; each row sums to 1 (with ``noise=True``, one
            more column, the noise component's, last).
        """
        return self._per_row(self._validate_predict(X), "resp")

    def impute(self, X):
        """Fill each missing entry (NaN) of X with its conditional expectation.

        The expectation of the row's missing entries given its observed
        ones under the fitted mixture,
        ``E[x_m | x_o] = sum_k r_k(x_o) (m_k,m + S_k,mo S_k,oo^-1 (x_o - m_k,o))``
        with ``r_k(x_o)`` the responsibilities of the observed entries.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, NaN where an entry is missing (whatever ``nan_policy``).

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features)
            A new array in X's dtype (float32 stays float32, else float64);
            observed entries unchanged. A row with every entry missing gets
            the mixture's mean.
        """
        self._refuse_noise("impute")
        # (infinity is looked for block by block, by array_has_nan)
        X = validate_data(self, X, reset=False, dtype=_DTYPES, order="C",
                          ensure_all_finite=False)
        from .sources import missing

        if not missing.array_has_nan(X):
            return X.copy()
        rows = missing.IncompleteRows(X)
        backend, c, means, chol = self._kernel_args(rows)
        storage = self._fitted_spec.structure.storage
        return rows.impute(backend, c, means, chol, storage).astype(X.dtype)

    def sample(self, n_samples=1):
        """Draw samples from the fitted mixture.

        The draws are those of scikit-learn for the same parameters and
        ``random_state``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples.
        y : ndarray of shape (n_samples,)
            The component of each sample.
        """
        self._refuse_noise("sample")
        if n_samples < 1:
            raise ValueError(
                "Invalid value for 'n_samples': %d . The sampling requires at "
                "least one sample." % (n_samples)
            )
        rng = check_random_state(self.random_state)
        weights = np.asarray(self.weights_, dtype=np.float64)
        if weights[:-1].sum() > 1.0:  # float32 weights rounded above 1
            weights = weights / weights.sum()
        counts = rng.multinomial(n_samples, weights)
        means = np.asarray(self.means_, dtype=np.float64)
        covariances = np.asarray(self.covariances_, dtype=np.float64)
        parts = self._draw(rng, means, covariances, counts)
        labels = np.concatenate(
            [np.full(int(n), k, dtype=np.int64) for k, n in enumerate(counts)]
        )
        return np.vstack(parts), labels

    def _draw(self, rng, means, covariances, counts):
        """``counts[k]`` draws of each component (`sample`): the structure's
        Gaussian draws, as scikit-learn's."""
        return self._fitted_spec.structure.draw(rng, means, covariances, counts)

    # ------------------------------------------------------------ save

    def save(self, path):
        """Write the fitted model to one ``.npz`` file, without pickle.

        The file holds the parameter arrays (in their dtype), the covariance
        type, the feature names, the constructor parameters and the fastgmm
        version, and after :meth:`partial_fit` its online state (step count,
        rows seen, running statistics), so that the loaded model's next
        ``partial_fit`` continues the same stream; :func:`fastgmm.load` reads
        it back into a model that predicts exactly as this one. It is written
        to a temporary file beside ``path`` and renamed, so an existing
        ``path`` is replaced only once the new file is complete.

        Parameters
        ----------
        path : str or path-like
            The file to write. A name that does not end in ``.npz`` gets
            ``.npz`` appended, as :func:`numpy.savez` does (``save("model")``
            writes ``model.npz``; ``.NPZ`` counts too, as for the command
            line's ``--out``, which takes only such names). :func:`fastgmm.load`
            reads the name it is given, as :func:`numpy.load` does: pass it
            the ``.npz`` name.

        Returns
        -------
        self : object
            The model, unchanged.
        """
        from .files.estimator import save

        save(self, path)
        return self


def _check_shape(param, shape, name):
    if param.shape != shape:
        raise ValueError(
            "The parameter '%s' should have the shape of %s, but got %s"
            % (name, shape, param.shape)
        )


def _in_dtype(values, dtype, name):
    """A fitted parameter (float64) in X's dtype, or a ValueError when the
    dtype cannot hold it: float32 overflows to inf for the covariances of
    values beyond ~1e19 (or the precisions of variances below ~1e-38), where
    scikit-learn's float32 fit fails too; a model of inf parameters could be
    neither saved nor sampled."""
    with np.errstate(over="ignore"):  # (the error below says it)
        out = values.astype(dtype)
    if not np.all(np.isfinite(out)):
        raise ValueError(
            f"The fitted {name} reach {np.max(np.abs(values)):.3g}, beyond "
            f"{np.dtype(dtype).name}'s largest value ({np.finfo(dtype).max:.3g}): "
            "pass X as float64, or scale the input data.")
    return out
