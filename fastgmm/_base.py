"""What GaussianMixture and BayesianGaussianMixture share: `_BaseMixture`
(fit on the fused pass, the sources of rows, the initialization's rows, the
posterior outputs, sampling, saving), the progress monitors and the checks
of user-given parameters.
"""

import warnings
from time import time

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import kernels
from ._constants import FIT_DTYPES, count
from .em import covariance as cov
from .em import driver as _em
from .em import init as _init
from .em import parsimonious
from .sources import rows as _source

#: 'auto' initializes from all rows of an X read by windows when the
#: initialization takes at most about this much memory, else from as many
#: rows as it allows: each row costs its values plus INIT_ROW_BYTES (k-means'
#: labels, norms, weights and candidate distances, a sort index).
INIT_BYTES = 128 * 2**20
INIT_ROW_BYTES = 96
_DTYPES = FIT_DTYPES  # check_array's dtype: float32 stays, else float64


class _BaseMixture(DensityMixin, BaseEstimator):
    """What GaussianMixture and BayesianGaussianMixture share: fit on the
    fused pass (`em.driver`), the sources of rows, the initialization's rows, the
    posterior outputs, sampling and saving.

    A subclass supplies the per-model hooks: ``_fit_weights``,
    ``_check_initial_parameters``, ``_em_model``, ``_initial_parameters``,
    ``_fitted_params``, ``_set_parameters`` and ``_log_prob_constants``.
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
        backend = kernels.get_backend(
            self.backend, n_samples, n_features, self.n_components, self._structure
        )
        model = self._em_model(rows, w, backend)
        random_state = check_random_state(self.random_state)

        def initialize():
            return self._initial_parameters(rows, w, random_state, *initial)

        best = _em.fit(
            backend, rows, w, initialize=initialize, n_init=self.n_init,
            covariance_type=self._structure, tol=self.tol,
            reg_covar=self.reg_covar, max_iter=self.max_iter, warm=warm,
            n_threads=self.n_threads,
            monitor=_VerboseMonitor(self) if callback is None
            else _Monitors(_VerboseMonitor(self), _CallbackMonitor(callback)),
            model=model,
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
        if _source.is_dask_array(X):
            from .sources import dask as _dask

            rows = _dask.DaskRows(X, ensure_min_samples=2 if reset else 1)
            if getattr(self, "nan_policy", "raise") == "marginalize":
                import dask.array as da

                if bool(da.isnan(rows.X).any().compute()):  # (one more pass)
                    rows = _dask.DaskRows(X, ensure_min_samples=2 if reset else 1,
                                          missing=True)
        elif not _source.is_windowed(X):
            marginalize = getattr(self, "nan_policy", "raise") == "marginalize"
            # (with missing values, infinity is looked for block by block:
            # scikit-learn's check would allocate a mask the size of X)
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
            if getattr(self, "nan_policy", "raise") == "marginalize":
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

    def _initial_rows(self, rows, w, random_state):
        """The rows (and weights) the initialization draws from."""
        n_samples, n_features = rows.n_samples, rows.n_features
        size = self.init_sample_size
        if size == "auto":
            size = max(INIT_BYTES // (n_features * rows.dtype.itemsize + INIT_ROW_BYTES),
                       self.n_components)
            if isinstance(rows, _source.InMemoryRows) or n_samples <= size:
                return rows.take(None, w)
            warnings.warn(InitSampleWarning(n_samples, size))
        if size >= n_samples:
            return rows.take(None, w)
        indices = _sample_rows(random_state, n_samples, size)
        progress = (_SampleProgress() if self.verbose >= 1
                    and not isinstance(rows, _source.InMemoryRows) else None)
        return rows.take(indices, w, progress)

    def _initial_gaussian(self, rows, w, random_state):
        """(weights, means, covariances) of ``init_params`` (`em.init`), drawn
        from the initialization's rows."""
        fill = rows.initial_fill(w)
        X, w = self._initial_rows(rows, w, random_state)
        if w is not None and np.count_nonzero(w) < self.n_components:
            raise ValueError(
                f"The initialization's sample of {count(X.shape[0], 'row')} has "
                f"{np.count_nonzero(w)} with a positive weight, fewer than "
                f"n_components = {self.n_components}; raise init_sample_size.")
        # on the fit's backend (its choice for these rows, as `_fit` makes it)
        backend = kernels.get_backend(self.backend, rows.n_samples, rows.n_features,
                                      self.n_components, self._structure)
        weights, means, covariances = _init.initial_parameters(
            X, w, self.n_components, self._structure, self.init_params,
            random_state, self.reg_covar, fill, backend,
        )
        if self._mclust_model is not None:  # the model's own first M-step
            covariances = parsimonious.constrain(weights, covariances,
                                                 self._mclust_model)
        return weights, means, covariances

    @property
    def _structure(self):
        """The covariance type ('full', 'tied', 'diag', 'spherical') the
        model is stored and computed as (`em.parsimonious`); 'tied' with a
        noise component is stored as 'full' (a component of its own)."""
        structure = parsimonious.structure_of(self.covariance_type)
        if structure == "tied" and getattr(self, "noise", False):
            return "full"
        return structure

    @property
    def _mclust_model(self):
        """The mclust model whose M-step constrains the structure's, or None
        (the structure's own: scikit-learn's four types)."""
        model = parsimonious.model_of(self.covariance_type)
        native = parsimonious.structure_of(self.covariance_type) == self._structure
        return None if model in parsimonious.NATIVE and native else model

    def _refuse_noise(self, what):
        """What a mixture with a noise component does not do yet."""
        if "noise_weight_" in self.__dict__:
            raise ValueError(f"{what}() is not defined for a mixture with a noise "
                             "component (noise=True) yet")

    def _warm_start_run(self, n_features):
        """The fitted parameters a warm start continues from, or None.

        They must describe a mixture of the shape being fitted: the same
        number of components, covariance type and number of features.
        """
        if not (self.warm_start and hasattr(self, "converged_")):
            return None
        fitted_noise = "noise_weight_" in self.__dict__
        if fitted_noise != bool(getattr(self, "noise", False)):
            # (a noise component is one more, the last: the fitted parameters
            # are another mixture's, as after a change of covariance type)
            raise ValueError(
                "warm_start=True continues from the previous fit, which has "
                f"{'a' if fitted_noise else 'no'} noise component; this fit has "
                f"noise={self.noise!r}. Set warm_start=False to start anew.")
        k, t = self.n_components, self.covariance_type
        fitted_k, fitted_d = np.shape(self.means_)
        expected = cov.covariance_shape(k, n_features, self._structure)
        if self._warm_start_shapes_differ(n_features):
            raise ValueError(
                "warm_start=True continues from the previous fit, whose means "
                f"have shape {(fitted_k, fitted_d)} and covariances shape "
                f"{np.shape(self.covariances_)} (covariance_type="
                f"{self.__dict__.get('_fitted_covariance_type', '?')!r}); this fit needs "
                f"{(k, n_features)} and {expected} (n_components={k}, "
                f"covariance_type={t!r}, X with {count(n_features, 'feature')}). Set "
                "warm_start=False to start anew."
            )
        return _em.EMRun(params=self._fitted_params(), lower_bound=self.lower_bound_)

    def _warm_start_shapes_differ(self, n_features):
        """Whether the fitted parameters are not of the shape being fitted:
        another covariance type (recorded with the arrays: with n_components ==
        n_features 'diag' and 'tied' arrays have one shape), or other shapes."""
        fitted_type = self.__dict__.get("_fitted_covariance_type")
        if fitted_type is not None and (parsimonious.model_of(fitted_type)
                                        != parsimonious.model_of(self.covariance_type)):
            return True
        expected = cov.covariance_shape(self.n_components, n_features, self._structure)
        return np.shape(self.means_) != (self.n_components, n_features) or any(
            np.shape(getattr(self, name)) != expected
            for name in ("covariances_", "precisions_cholesky_"))

    # -------------------------------------------------------------- predict

    def _kernel_args(self, rows):
        """(backend, c, means, precisions_cholesky) of the fitted mixture."""
        means = np.ascontiguousarray(self.means_, dtype=np.float64)
        chol = np.ascontiguousarray(self.precisions_cholesky_, dtype=np.float64)
        c = self._log_prob_constants(chol, rows.n_features)
        # one backend whatever the number of rows asked for ('auto': Cython
        # where it is built, as for a dask array's chunks), so that a row's
        # outputs are the same bits in any slice, chunk or window of X
        backend = kernels.get_backend(self.backend)
        return backend, c, means, chol

    def _posterior(self, rows, **outputs):
        """Run the posterior kernel on ``rows`` with the fitted parameters.

        ``outputs``: any of ``log_norm`` (n,), ``resp`` (n, k) and ``labels``
        (n,) to fill; see `fastgmm.kernels`.
        """
        backend, c, means, chol = self._kernel_args(rows)
        rows.posterior(backend, c, means, chol, self._structure, self.n_threads,
                       **outputs)

    def _per_row(self, rows, output):
        """One per-row output of the posterior: 'labels' (n,), 'resp' (n, k) or
        'log_norm' (n,); a lazy array for a dask X (`sources.dask`)."""
        if hasattr(rows, "lazy_posterior"):
            return rows.lazy_posterior(self, output)
        if output == "labels":
            out = np.empty(rows.n_samples, dtype=np.intp)
        elif output == "resp":  # (a noise component: one more column, the last)
            k = self.means_.shape[0] + int("noise_weight_" in self.__dict__)
            out = np.empty((rows.n_samples, k), dtype=rows.dtype)
        else:
            out = np.empty(rows.n_samples, dtype=rows.dtype)
        self._posterior(rows, **{output: out})
        return out

    def _labels(self, rows):
        return self._per_row(rows, "labels")

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
        return rows.mean_log_likelihood(backend, c, means, chol, self._structure,
                                        self.n_threads)

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
        check_is_fitted(self)
        # (infinity is looked for block by block, by array_has_nan)
        X = validate_data(self, X, reset=False, dtype=_DTYPES, order="C",
                          ensure_all_finite=False)
        from .sources import missing

        if not missing.array_has_nan(X):
            return X.copy()
        rows = missing.IncompleteRows(X)
        backend, c, means, chol = self._kernel_args(rows)
        return rows.impute(backend, c, means, chol, self._structure).astype(X.dtype)

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
        check_is_fitted(self)
        if n_samples < 1:
            raise ValueError(
                "Invalid value for 'n_samples': %d . The sampling requires at "
                "least one sample." % (n_samples)
            )
        _, n_features = self.means_.shape
        rng = check_random_state(self.random_state)
        weights = np.asarray(self.weights_, dtype=np.float64)
        if weights[:-1].sum() > 1.0:  # float32 weights rounded above 1
            weights = weights / weights.sum()
        counts = rng.multinomial(n_samples, weights)
        means = np.asarray(self.means_, dtype=np.float64)
        covariances = np.asarray(self.covariances_, dtype=np.float64)
        if self._structure == "full":
            parts = [
                rng.multivariate_normal(m, c, int(n))
                for m, c, n in zip(means, covariances, counts)
            ]
        elif self._structure == "tied":
            parts = [
                rng.multivariate_normal(m, covariances, int(n))
                for m, n in zip(means, counts)
            ]
        else:
            parts = [
                m + rng.standard_normal(size=(n, n_features)) * np.sqrt(c)
                for m, c, n in zip(means, covariances, counts)
            ]
        labels = np.concatenate(
            [np.full(int(n), k, dtype=np.int64) for k, n in enumerate(counts)]
        )
        return np.vstack(parts), labels

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


class _SampleProgress:
    """verbose >= 1: how far the reading of an initialization sample from an
    X not in memory has come (a line at most once a second, and at the end)."""

    def __init__(self):
        self.start = self.last = time()

    def __call__(self, done, wanted):
        now = time()
        if done < wanted and now - self.last < 1.0:
            return
        self.last = now
        print(f"Reading the initialization sample: {done:,} of {count(wanted, 'row')} "
              f"({100.0 * done / wanted:.0f}%, {now - self.start:.1f} s)")


class _VerboseMonitor(_em.Monitor):
    """scikit-learn's verbose messages, word for word."""

    def __init__(self, estimator):
        self.verbose = estimator.verbose
        self.interval = estimator.verbose_interval
        self.quiet = self.verbose < 1

    def init_begin(self, init):
        if self.verbose >= 1:
            print("Initialization %d" % init)
            self.init_time = self.iter_time = time()

    def iter_end(self, n_iter, change, lower_bound=None):
        if self.verbose >= 1 and n_iter % self.interval == 0:
            if self.verbose == 1:
                print("  Iteration %d" % n_iter)
            else:
                now = time()
                print(
                    "  Iteration %d\t time lapse %.5fs\t ll change %.5f"
                    % (n_iter, now - self.iter_time, change)
                )
                self.iter_time = now

    def init_end(self, lower_bound, converged):
        status = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {status}.")
        elif self.verbose >= 2:
            lapse = time() - self.init_time
            print(
                f"Initialization {status}. time lapse {lapse:.5f}s\t lower bound"
                f" {lower_bound:.5f}."
            )


class _CallbackMonitor(_em.Monitor):
    """Turns the EM hooks into the events of ``fit(callback=...)``."""

    quiet = False

    def __init__(self, callback):
        self.callback = callback
        self.init = 0
        self.n_iter = 0

    def init_begin(self, init):
        self.init, self.n_iter = init, 0
        self.callback({"event": "init_begin", "init": init})

    def iter_end(self, n_iter, change, lower_bound=None):
        self.n_iter = n_iter
        self.callback({"event": "iteration", "init": self.init, "n_iter": n_iter,
                       "lower_bound": lower_bound, "change": change})

    def init_end(self, lower_bound, converged):
        self.callback({"event": "init_end", "init": self.init, "n_iter": self.n_iter,
                       "lower_bound": lower_bound, "converged": converged})


class _Monitors(_em.Monitor):
    """Forwards every hook to each of several monitors."""

    def __init__(self, *monitors):
        self.monitors = monitors
        self.quiet = all(m.quiet for m in monitors)

    def init_begin(self, init):
        for m in self.monitors:
            m.init_begin(init)

    def iter_end(self, n_iter, change, lower_bound=None):
        for m in self.monitors:
            m.iter_end(n_iter, change, lower_bound)

    def init_end(self, lower_bound, converged):
        for m in self.monitors:
            m.init_end(lower_bound, converged)


def _check_shape(param, shape, name):
    if param.shape != shape:
        raise ValueError(
            "The parameter '%s' should have the shape of %s, but got %s"
            % (name, shape, param.shape)
        )


def _check_precision_values(precisions, covariance_type):
    if covariance_type in ("diag", "spherical"):
        if np.any(np.less_equal(precisions, 0.0)):
            raise ValueError("'%s precision' should be positive" % covariance_type)
        return
    for p in precisions if covariance_type == "full" else [precisions]:
        if not (np.allclose(p, p.T) and np.all(np.linalg.eigvalsh(p) > 0.0)):
            raise ValueError(
                "'%s precision' should be symmetric, positive-definite"
                % covariance_type
            )


class InitSampleWarning(UserWarning):
    """Warning that a fit initializes from a random sample of X's rows.

    Raised by ``fit`` (of :class:`fastgmm.GaussianMixture`,
    :class:`fastgmm.BayesianGaussianMixture` and the estimators built on
    them) with the default ``init_sample_size='auto'`` when X is not in
    memory (a memory map, a zarr array, an h5py dataset, a dask array) and
    initializing from all its rows would take more than about 128 MiB:
    more rows than ``128 MiB / (n_features * itemsize + 96 bytes)``, about a
    million. The initialization (k-means and the rest of ``init_params``)
    then runs on a sample of that many rows drawn with ``random_state``.

    An X in memory always initializes from all rows, so above that size the
    fit of a memory map (or dask array) and the in-memory fit of the same
    rows start from different parameters: their components can come out in
    another order and their lower bounds differ in the last digits. Below
    it (no warning) the two fits are equal, bit for bit.

    To avoid it, pass ``init_sample_size``: an int draws that many rows
    with ``random_state`` (the same rows in memory, from a memory map or
    from a dask array, so those fits start alike and are equal), and an int
    of at least ``n_samples`` initializes from all rows (held in memory for
    the initialization). Or silence it with
    ``warnings.filterwarnings("ignore", category=fastgmm.InitSampleWarning)``.

    Parameters
    ----------
    n_samples : int
        The rows of X (the attribute ``n_samples``).
    size : int
        The rows of the sample (the attribute ``size``).

    See Also
    --------
    GaussianMixture : Its ``init_sample_size`` parameter.

    Examples
    --------
    A fit of a large memory map warns with it; made by hand here, it shows
    its message and attributes:

    >>> import warnings
    >>> import fastgmm
    >>> w = fastgmm.InitSampleWarning(n_samples=3_000_000, size=1_000_000)
    >>> w.n_samples, w.size
    (3000000, 1000000)
    >>> print(w)  # doctest: +ELLIPSIS
    X is not in memory and its 3,000,000 rows are more than ... a sample of 1,000,000 rows ...

    Silenced (around such a fit):

    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.filterwarnings("ignore", category=fastgmm.InitSampleWarning)
    ...     warnings.warn(w)
    >>> len(caught)
    0
    """

    def __init__(self, n_samples, size):
        super().__init__(
            f"X is not in memory and its {count(n_samples, 'row')} are more than an "
            f"initialization within {INIT_BYTES // 2**20} MiB takes: it uses a "
            f"sample of {count(size, 'row')} drawn with random_state, so the fit can "
            "differ from the in-memory fit, which initializes from all rows "
            "(init_sample_size='auto'; pass an int to choose the sample's size, "
            "the same int to both fits to make them equal).")
        self.n_samples, self.size = n_samples, size


def _sample_rows(random_state, n_samples, size):
    """``size`` distinct row indices drawn from ``random_state``, sorted (so
    that reading them is one sequential sweep).

    Uniform over the subsets of that size, in O(size) memory and time
    (``RandomState.choice(..., replace=False)`` permutes all n_samples
    indices): more than half of the rows are drawn as the complement of the
    rows left out; otherwise uniform draws with enough surplus that their
    distinct values almost always suffice in one round (the expected number
    of distinct values of m draws is n (1 - exp(-m / n))), of which a random
    ``size`` are kept.
    """
    n_samples, size = int(n_samples), int(size)
    if not 0 <= size <= n_samples:
        raise ValueError(f"cannot draw {size} distinct rows of {n_samples}")
    if 2 * size > n_samples:
        left_out = _sample_rows(random_state, n_samples, n_samples - size)
        keep = np.ones(n_samples, dtype=bool)
        keep[left_out] = False
        return np.flatnonzero(keep).astype(np.int64)
    if size == 0:
        return np.empty(0, dtype=np.int64)
    # m draws give size * 1.02 + 64 distinct values on average (size <= n / 2)
    wanted = min(size * 1.02 + 64, 0.75 * n_samples)
    draws = int(np.ceil(-n_samples * np.log1p(-wanted / n_samples))) + 16
    while True:
        chosen = np.unique(random_state.randint(0, n_samples, size=draws))
        if chosen.size >= size:
            break
        draws *= 2  # rare: the surplus fell short; draw again, more
    keep = np.sort(random_state.permutation(chosen.size)[:size])
    return chosen[keep].astype(np.int64)
