"""GaussianMixtureSearch: choose n_components and covariance_type (and the
family: Gaussian or Student-t components) in one call.

The grid (families x covariance types x n_components) runs on joblib's threading
backend: the compiled passes release the GIL, so every fit reads
the same validated X without copying it, and each fit gets
``cores // n_jobs`` kernel threads so that jobs x threads never exceeds the
cores.
"""

import copy
import functools
import inspect
import math
import time
import warnings
from numbers import Integral

import numpy as np
from joblib import Parallel, cpu_count, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    RealNotInt,
    StrOptions,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from ._constants import (BLOCK_ROWS, COVARIANCE_TYPES, CRITERIA, FAMILIES,
                         FIT_DTYPES, MCLUST_MODELS, count)
from ._student import StudentTMixture
from .em import criteria as _criteria
from .em.init import SharedLabels
from .kernels import single_threaded_blas
from .sources import rows as _source
from .mixture import GaussianMixture, passed_on_constraints

#: The parameters each candidate's GaussianMixture takes from the search.
_MIXTURE_PARAMETERS = ("n_init", "tol", "reg_covar", "max_iter", "init_params",
                       "random_state", "n_threads", "backend", "nan_policy", "noise",
                       "noise_volume")

#: The search's parameters a t candidate does not take (it refuses a noise
#: component: see `GaussianMixtureSearch.fit`).
_GAUSSIAN_ONLY = ("noise", "noise_volume")


_CRITERION_LABELS = {
    "bic": "BIC",
    "aic": "AIC",
    "icl": "ICL",
    "heldout": "held-out log-likelihood per sample",
}


def _delegated(name):
    """The method ``name`` of ``best_estimator_`` (a GaussianMixture or a
    StudentTMixture), with GaussianMixture's docstring."""
    method = getattr(GaussianMixture, name)

    @functools.wraps(method)
    def delegated(self, *args, **kwargs):
        return getattr(self._best(), name)(*args, **kwargs)

    # GaussianMixture's docstring, with a line on the delegation after its
    # summary
    summary, _, rest = inspect.cleandoc(method.__doc__).partition("\n\n")
    delegated.__doc__ = (
        f"{summary}\n\nDelegated to the best model, ``best_estimator_``: see "
        f":meth:`GaussianMixture.{name}`.\n\n{rest}"
    )
    return delegated


class GaussianMixtureSearch(DensityMixin, BaseEstimator):
    """Fit a grid of Gaussian mixtures in parallel and keep the best one.

    Every combination of ``n_components`` and ``covariance_type`` is fitted
    exactly as ``GaussianMixture(n_components, covariance_type=...,
    n_init=n_init, random_state=random_state, ...)`` would fit it (so a
    candidate's result does not depend on the rest of the grid, as in a
    ``GridSearchCV`` over that estimator), and the candidates are ranked by
    ``criterion``. The fits run in parallel threads sharing one validated
    copy of X. With ``family='t'`` (or ``['gaussian', 't']``) the candidates
    are (also) mixtures of multivariate t distributions,
    ``StudentTMixture(n_components, covariance_type=..., dof=dof, ...)``,
    ranked with the Gaussian ones.

    Parameters
    ----------
    n_components : int or iterable of int, default=range(1, 11)
        The numbers of components to try.

    covariance_type : str or iterable of str, \
            default=('full', 'tied', 'diag', 'spherical')
        The covariance types to try, any of 'full', 'tied', 'diag',
        'spherical' and R mclust's 14 models ('EII', ..., 'VVV'; see
        :class:`GaussianMixture`), or 'mclust' for all 14.

    family : {'gaussian', 't'} or list of them, default='gaussian'
        The components' family: 'gaussian' fits :class:`GaussianMixture`
        candidates, 't' :class:`StudentTMixture` candidates (multivariate t
        components, robust to outlying rows), and ``['gaussian', 't']``
        both: the grid is then families x ``covariance_type`` x
        ``n_components``, every candidate ranked by ``criterion`` with its
        own number of free parameters (a t candidate's counts its degrees
        of freedom: k for ``dof='component'``, 1 for 'shared', 0 for a
        fixed number). A t family refuses ``noise=True`` and
        ``nan_policy='marginalize'`` (``ValueError`` in :meth:`fit`), as
        :class:`StudentTMixture` does.

    dof : {'component', 'shared'} or float, default='component'
        The degrees of freedom of the t candidates (see
        :class:`StudentTMixture`): estimated per component, one estimated
        for all components, or a number > 0, fixed. Ignored by the Gaussian
        candidates.

    criterion : {'bic', 'aic', 'icl', 'heldout'}, default='bic'
        How candidates are ranked:

        - 'bic': ``-2 log L + p log n`` (lower is better), as
          :meth:`GaussianMixture.bic`;
        - 'aic': ``-2 log L + 2 p`` (lower is better);
        - 'icl': BIC plus twice the entropy of the responsibilities,
          ``BIC + 2 sum_i -sum_k r_ik log r_ik`` (lower is better); it
          penalizes overlapping components, so it favours well-separated
          clusters;
        - 'heldout': the mean log-likelihood per sample of data not used for
          fitting (higher is better), on one validation split or averaged
          over K folds (see ``cv``); the best candidate is then refitted on
          all of X.

        ``log L`` is the log-likelihood of X and ``p`` the number of free
        parameters (each candidate's own: a t candidate's include its
        degrees of freedom).

    cv : int, float or None, default=None
        For ``criterion='heldout'`` only. An int >= 2: K-fold
        cross-validation (shuffled). A float in (0, 1): the fraction of the
        rows held out in one validation split. None: one split with 20% held
        out.

    n_init : int, default=1
        Restarts per candidate; the one with the largest lower bound is
        kept.

    tol : float, default=1e-3
        Convergence threshold of each fit (see :class:`GaussianMixture`).

    reg_covar : float, default=1e-6
        Added to the diagonal of covariances in each fit.

    max_iter : int, default=100
        Maximum EM iterations of each fit.

    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
            default='kmeans'
        Initialization of each fit.

    random_state : int, RandomState instance or None, default=None
        The ``random_state`` of every candidate's fit (a RandomState
        instance is copied for each, as ``sklearn.base.clone`` does) and of
        the validation split: the same value gives the same result whatever
        ``n_jobs`` and ``n_threads``.

    n_jobs : int or None, default=-1
        Fits run at the same time (threads). -1 uses all cores, except on
        tiny data (at most 12,000 values, ``n_samples * n_features``), where
        a fit is mostly Python and fits on threads would only contend for
        the GIL: one at a time then. None means 1, as in joblib. Results do
        not depend on it.

    n_threads : int or None, default=None
        Kernel threads of each fit. None gives each running fit an equal
        share of the cores, ``max(1, cores // n_jobs)``, so that the kernels'
        threads do not oversubscribe the machine.

    backend : {'auto', 'numba', 'cython'}, default='auto'
        The compiled kernels of each fit.

    nan_policy : {'raise', 'marginalize'}, default='raise'
        As :class:`GaussianMixture`'s: 'marginalize' fits and scores each
        candidate on the observed entries of X (NaN: missing), BIC, AIC, ICL
        and held-out likelihood included. Gaussian candidates only:
        'marginalize' with a t family raises ``ValueError``.

    noise, noise_volume : bool, float or None, default=False, None
        As :class:`GaussianMixture`'s: every candidate with a uniform noise
        component (mclust's ``Mclust(..., initialization = list(noise =
        ...))`` search). Gaussian candidates only: ``noise=True`` with a t
        family raises ``ValueError``.

    Attributes
    ----------
    best_estimator_ : GaussianMixture or StudentTMixture
        The best candidate, fitted on all of X, with this search's
        ``random_state`` and ``n_threads``.
    best_params_ : dict
        Its ``n_components`` and ``covariance_type``, and its ``family``
        unless ``family='gaussian'`` (the default, whose ``best_params_``
        are GaussianMixture's parameters).
    best_index_ : int
        Its index in ``results_``.
    results_ : list of dict
        One record per candidate, in grid order (families, covariance
        types, then n_components): 'n_components', 'covariance_type',
        'family' ('gaussian' or 't'), 'rank' (1 is the best), 'criterion'
        (the value used for ranking), 'bic', 'aic', 'icl' (on X; NaN with
        'heldout'), 'heldout' and 'heldout_std' (with
        'heldout' only), 'log_likelihood' (on X), 'n_parameters',
        'lower_bound', 'n_iter', 'converged' (of the fit; means and
        all-folds with 'heldout'), 'fit_time' (seconds, all restarts and
        folds), 'n_fits' (restarts x folds) and 'error' (None, or why the candidate failed: a
        failed candidate ranks last). ``pandas.DataFrame(results_)`` makes
        it a table.
    n_jobs_ : int
        Fits that ran at the same time.
    n_threads_ : int
        Kernel threads of each fit.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined only when X has string feature names.

    See Also
    --------
    GaussianMixture : One mixture with given n_components and covariance_type.
    StudentTMixture : One mixture of t distributions (``family='t'``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import GaussianMixtureSearch
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.randn(200, 2), rng.randn(200, 2) + 6])
    >>> search = GaussianMixtureSearch(n_components=range(1, 5),
    ...                                random_state=0).fit(X)
    >>> search.best_params_["n_components"]
    2
    """

    _parameter_constraints: dict = {
        "n_components": "no_validation",  # checked in _grid
        "covariance_type": "no_validation",  # checked in _grid
        "family": "no_validation",  # checked in _families
        "dof": StudentTMixture._parameter_constraints["dof"],
        "criterion": [StrOptions(set(CRITERIA))],
        "cv": [
            Interval(Integral, 2, None, closed="left"),
            Interval(RealNotInt, 0.0, 1.0, closed="neither"),
            None,
        ],
        "n_jobs": [Integral, None],
        **passed_on_constraints(_MIXTURE_PARAMETERS),
    }

    def __init__(
        self,
        n_components=range(1, 11),
        *,
        covariance_type=COVARIANCE_TYPES,
        family="gaussian",
        dof="component",
        criterion="bic",
        cv=None,
        n_init=1,
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        init_params="kmeans",
        random_state=None,
        n_jobs=-1,
        n_threads=None,
        backend="auto",
        nan_policy="raise",
        noise=False,
        noise_volume=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.family = family
        self.dof = dof
        self.criterion = criterion
        self.cv = cv
        self.n_init = n_init
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.init_params = init_params
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.n_threads = n_threads
        self.backend = backend
        self.nan_policy = nan_policy
        self.noise = noise
        self.noise_volume = noise_volume

    # ----------------------------------------------------------------- grid

    def _families(self):
        """The families of the grid, in the order given (each once)."""
        families = self.family
        if isinstance(families, str):
            families = [families]
        try:
            families = list(families)
        except TypeError:
            families = None
        if not families or not all(isinstance(f, str) and f in FAMILIES
                                   for f in families):
            raise InvalidParameterError(
                "The 'family' parameter of GaussianMixtureSearch must be 'gaussian', "
                f"'t' or a non-empty list of them. Got {self.family!r} instead.")
        return list(dict.fromkeys(families))

    def _check_family_options(self, families):
        """A t family's refusals, before any fit (those of StudentTMixture)."""
        if "t" not in families:
            return
        if self.noise:
            raise ValueError(
                "GaussianMixtureSearch does not fit a noise component (noise=True) "
                "with family 't': StudentTMixture's heavy-tailed components "
                "down-weight outlying rows themselves. Use noise=True with "
                "family='gaussian' only.")
        if self.nan_policy == "marginalize":
            raise ValueError(
                "GaussianMixtureSearch does not take nan_policy='marginalize' with "
                "family 't': StudentTMixture does not fit missing values yet. "
                "Impute them first, or search family='gaussian' only.")

    def _grid(self):
        """The candidates (family, covariance_type, n_components), in grid
        order."""
        ks = self.n_components
        if isinstance(ks, Integral) and not isinstance(ks, bool):
            ks = [ks]
        try:
            ks = list(ks)
        except TypeError:
            ks = None
        if not ks or not all(
            isinstance(k, Integral) and not isinstance(k, bool) and k >= 1 for k in ks
        ):
            raise InvalidParameterError(
                "The 'n_components' parameter of GaussianMixtureSearch must be an "
                "int >= 1 or a non-empty iterable of ints >= 1. "
                f"Got {self.n_components!r} instead."
            )
        types = self.covariance_type
        if isinstance(types, str):
            types = list(MCLUST_MODELS) if types == "mclust" else [types]
        try:
            types = list(types)
        except TypeError:
            types = None
        if not types or not all(
            isinstance(t, str) and (t in COVARIANCE_TYPES or t in MCLUST_MODELS)
            for t in types
        ):
            raise InvalidParameterError(
                "The 'covariance_type' parameter of GaussianMixtureSearch must be "
                f"one of {list(COVARIANCE_TYPES)}, an mclust model "
                f"({', '.join(MCLUST_MODELS)}), 'mclust' (all 14) or a non-empty "
                f"iterable of them. Got {self.covariance_type!r} instead."
            )
        ks = sorted({int(k) for k in ks})
        types = list(dict.fromkeys(types))
        return [(f, t, k) for f in self._families() for t in types for k in ks]

    def _resources(self, n_tasks, n_values=None):
        """(jobs, kernel threads per job), with jobs x threads <= cores; one
        job for n_jobs=-1 on at most `TINY_SEARCH_VALUES` values."""
        cores = cpu_count()
        n_jobs = max(1, min(effective_n_jobs(self.n_jobs), n_tasks))
        if self.n_jobs == -1 and n_values is not None and n_values <= TINY_SEARCH_VALUES:
            n_jobs = 1
        n_threads = self.n_threads or max(1, cores // n_jobs)
        return n_jobs, n_threads

    def _candidate_random_state(self):
        """The random_state each candidate's fit gets (see ``random_state``)."""
        if isinstance(self.random_state, (np.random.RandomState,
                                          np.random.Generator)):
            return copy.deepcopy(self.random_state)
        return self.random_state

    def _splits(self, n_samples, rng):
        """(train, validation) row indices for criterion='heldout'."""
        if isinstance(self.cv, Integral):
            from sklearn.model_selection import KFold

            if self.cv > n_samples:
                raise ValueError(
                    f"Cannot have cv={self.cv} folds with n_samples={n_samples}."
                )
            folds = KFold(self.cv, shuffle=True, random_state=rng.randint(2**31 - 1))
            return [(np.sort(tr), np.sort(va)) for tr, va in folds.split(
                np.empty((n_samples, 0)))]
        fraction = 0.2 if self.cv is None else float(self.cv)
        n_val = min(max(1, int(round(fraction * n_samples))), n_samples - 1)
        order = rng.permutation(n_samples)
        return [(np.sort(order[n_val:]), np.sort(order[:n_val]))]

    # ------------------------------------------------------------------ fit

    def fit(self, X, y=None, callback=None):
        """Fit every candidate on X and keep the best by ``criterion``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The training data, one row per sample. It is validated and
            converted once; all fits read that one array.
        y : Ignored
            Not used, present for API consistency.
        callback : callable, default=None
            Progress hook, called from this thread as ``callback(event)``
            after each fit ends, with the dict ``{'event': 'candidate',
            'done': fits done, 'total': fits in all, 'n_components': k,
            'covariance_type': t, 'family': 'gaussian' or 't', 'fit_time':
            seconds, 'error': None or why it failed}``.

        Returns
        -------
        self : GaussianMixtureSearch
            The fitted search.
        """
        self._validate_params()
        grid = self._grid()
        self._check_family_options({f for f, _, _ in grid})
        X = validate_data(self, X, dtype=FIT_DTYPES, order="C", ensure_min_samples=2,
                          ensure_all_finite=("allow-nan" if self.nan_policy == "marginalize"
                                             else True))
        n_samples = X.shape[0]
        heldout = self.criterion == "heldout"
        splits = ([(None, None)] if not heldout else
                  self._splits(n_samples, check_random_state(
                      self._candidate_random_state())))
        n_fit_rows = min(n_samples if tr is None else tr.size for tr, _ in splits)
        max_k = max(k for _, _, k in grid)
        if n_fit_rows < max_k:
            raise ValueError(
                "Expected n_samples >= n_components but got n_components = "
                f"{max_k}, n_samples = {n_fit_rows}"
                + (" (rows fitted per fold)" if heldout else "")
            )
        self.n_jobs_, self.n_threads_ = self._resources(len(grid), X.shape[0] * X.shape[1])
        # (random_state: each candidate's own copy)
        params = {name: getattr(self, name) for name in _MIXTURE_PARAMETERS
                  if name != "random_state"}
        params["n_threads"] = self.n_threads_
        params = {family: _family_params(family, params, self.dof)
                  for family in FAMILIES}
        # outcomes[(candidate, fold)] = (model, outcome)
        outcomes = {}
        done, total = 0, len(grid) * len(splits)
        with single_threaded_blas(), warnings.catch_warnings():
            # thread-safe here: only this thread changes the filters, and the
            # limit is taken once around all fits (see single_threaded_blas)
            warnings.simplefilter("ignore", ConvergenceWarning)
            for fold, (train, val) in enumerate(splits):
                X_fit = X if train is None else X[train]
                X_val = None if val is None else X[val]
                # one k-means per n_components (and restart), whatever the
                # structure: bitwise the labels each candidate draws alone
                shared = SharedLabels(*X_fit.shape)
                tasks = (
                    delayed(_fit_candidate)(
                        X_fit, X_val, c, grid[c], self._candidate_random_state(),
                        params, shared,
                    )
                    for c in range(len(grid))
                )
                parallel = Parallel(n_jobs=self.n_jobs_, backend="threading",
                                    return_as="generator_unordered")
                for c, model, outcome in parallel(tasks):
                    done += 1
                    outcomes[c, fold] = (model, outcome)
                    if callback is not None:
                        callback({
                            "event": "candidate", "done": done, "total": total,
                            **{key: outcome[key] for key in (
                                "n_components", "covariance_type", "family",
                                "fit_time", "error")},
                        })
                del X_fit, X_val
            self.results_ = [
                _record(grid[c], [outcomes[c, f] for f in range(len(splits))],
                        self.criterion)
                for c in range(len(grid))
            ]
            _rank(self.results_, self.criterion)
            self.best_index_ = next(
                i for i, rec in enumerate(self.results_) if rec["rank"] == 1
            )
            best = self.results_[self.best_index_]
            if best["error"] is not None:
                raise ValueError(
                    "Every candidate failed to fit; the first error: "
                    + next(rec["error"] for rec in self.results_)
                )
            self.best_params_ = {
                "n_components": best["n_components"],
                "covariance_type": best["covariance_type"],
            }
            if self.family != "gaussian":
                self.best_params_["family"] = best["family"]
            if heldout:
                model = _ESTIMATORS[best["family"]](
                    best["n_components"], covariance_type=best["covariance_type"],
                    **params[best["family"]],
                    random_state=self._candidate_random_state(),
                )
                model.set_params(n_threads=self.n_threads)
                model.fit(X)
            else:
                model = outcomes[self.best_index_, 0][0]
        model.set_params(n_threads=self.n_threads)
        if hasattr(self, "feature_names_in_"):
            model.feature_names_in_ = self.feature_names_in_
        self.best_estimator_ = model
        if not model.converged_ and model.max_iter > 0:
            of = ", t" if best["family"] == "t" else ""
            warnings.warn(
                f"The best candidate ({count(best['n_components'], 'component')}, "
                f"{best['covariance_type']!r}{of}) did not converge. Increase "
                "max_iter or tol.",
                ConvergenceWarning,
            )
        return self

    # ------------------------------------------------------------ delegation

    def _best(self):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_

    predict = _delegated("predict")
    predict_proba = _delegated("predict_proba")
    score_samples = _delegated("score_samples")
    score = _delegated("score")
    sample = _delegated("sample")


# ------------------------------------------------------------- one candidate

#: The estimator of each family.
_ESTIMATORS = {"gaussian": GaussianMixture, "t": StudentTMixture}


def _family_params(family, params, dof):
    """The search's parameters a candidate of ``family`` takes: a t
    candidate's with ``dof``, without the noise component's."""
    if family == "gaussian":
        return dict(params)
    return {**{name: value for name, value in params.items()
               if name not in _GAUSSIAN_ONLY}, "dof": dof}


#: The data (n_samples * n_features values) up to which a search with
#: n_jobs=-1 fits its candidates one at a time: on 2 cores (2026-12-07, Xeon)
#: two threads were slower up to about 14,000 values (wine, 178 x 13: 62 ms
#: on one, 92 ms on two), faster beyond (digits, 1,797 x 16: 176 ms, 125 ms).
TINY_SEARCH_VALUES = 12_000


def _fit_candidate(X, X_val, c, candidate, random_state, params, shared=None):
    """Fit candidate ``c`` (``params``: per family); never raises for a
    failed fit. ``shared``: the fold's `em.init.SharedLabels`."""
    family, covariance_type, n_components = candidate
    start = time.perf_counter()
    model = _ESTIMATORS[family](n_components, covariance_type=covariance_type,
                                random_state=random_state, **params[family])
    outcome = {"n_components": n_components, "covariance_type": covariance_type,
               "family": family,
               "n_parameters": model._spec().n_parameters(n_components, X.shape[1]),
               "error": None}
    if shared is not None:  # the candidates of one k share their k-means
        model._shared_labels = shared
    # the search validated X for every candidate (`_base._rows` takes it as is)
    model._validated_X = X
    try:
        model.fit(X)
        outcome.update(lower_bound=float(model.lower_bound_), n_iter=model.n_iter_,
                       converged=bool(model.converged_))
        if X_val is not None:
            outcome["heldout"] = model.score(X_val)
        else:
            outcome.update(information_criteria(model, X, validated=True))
    except ValueError as exc:  # ill-defined covariance, non-finite likelihood
        model = None
        outcome["error"] = str(exc)
    finally:
        if model is not None:
            model.__dict__.pop("_shared_labels", None)
            model.__dict__.pop("_validated_X", None)
    outcome["fit_time"] = time.perf_counter() - start
    outcome["n_fits"] = params[family]["n_init"]
    return c, model, outcome


def information_criteria(model, X, block_rows=BLOCK_ROWS, validated=False):
    """Log-likelihood, BIC, AIC and ICL of a fitted model on X.

    From the model's ``score_samples`` and ``predict_proba``, block by
    block, so that no n x k array larger than a block is held. ``validated``:
    X is the search's own validated array (C-contiguous, of a fit dtype): a
    block's log-densities and responsibilities then come from one posterior
    pass, without validating X again (the bits of the two public calls).
    """
    sums = _criteria.Sums()
    direct = (validated and isinstance(X, np.ndarray) and model.nan_policy == "raise"
              and X.flags.c_contiguous)
    for start in range(0, X.shape[0], block_rows):
        block = X[start:start + block_rows]
        if direct:
            sums.add(*_posterior_outputs(model, block))
        else:
            sums.add(model.score_samples(block), model.predict_proba(block))
    return sums.report(model._n_parameters(), X.shape[0])


def _posterior_outputs(model, block):
    """(score_samples, predict_proba) of a fitted model on a validated
    in-memory block, in one posterior pass."""
    rows = _source.InMemoryRows(block)
    log_norm = np.empty(rows.n_samples, dtype=rows.dtype)
    resp = np.empty((rows.n_samples, model._fitted_spec.n_columns(model.means_.shape[0])),
                    dtype=rows.dtype)
    model._posterior(rows, log_norm=log_norm, resp=resp)
    return log_norm, resp


def _record(candidate, per_fold, criterion):
    """One row of results_ from the kept restart of each fold."""
    family, covariance_type, n_components = candidate
    outcomes = [o for _, o in per_fold]
    nan = float("nan")
    record = {
        "n_components": n_components,
        "covariance_type": covariance_type,
        "family": family,
        "rank": 0,
        "criterion": nan,
        "bic": nan,
        "aic": nan,
        "icl": nan,
    }
    if criterion == "heldout":
        record["heldout"] = nan
        record["heldout_std"] = nan
    record.update(log_likelihood=nan, n_parameters=outcomes[0]["n_parameters"],
                  lower_bound=nan,
                  n_iter=None, converged=False,
                  fit_time=sum(o["fit_time"] for o in outcomes),
                  n_fits=sum(o["n_fits"] for o in outcomes), error=None)
    errors = [o["error"] for o in outcomes if o["error"] is not None]
    if errors:
        record["error"] = errors[0]
        return record
    if criterion == "heldout":
        values = np.array([o["heldout"] for o in outcomes])
        record["heldout"] = float(values.mean())
        record["heldout_std"] = float(values.std())
        record["criterion"] = record["heldout"]
        record["lower_bound"] = float(np.mean([o["lower_bound"] for o in outcomes]))
        n_iter = [o["n_iter"] for o in outcomes]
        record["n_iter"] = n_iter[0] if len(n_iter) == 1 else float(np.mean(n_iter))
    else:
        (o,) = outcomes
        for key in ("bic", "aic", "icl", "log_likelihood", "lower_bound", "n_iter"):
            record[key] = o[key]
        record["criterion"] = o[criterion]
    record["converged"] = all(o["converged"] for o in outcomes)
    return record


def _rank(records, criterion):
    """Set 'rank' (1 = best); failed or NaN candidates rank last, in grid order."""
    sign = 1.0 if CRITERIA[criterion] else -1.0

    def key(i):
        value = records[i]["criterion"]
        if records[i]["error"] is not None or math.isnan(value):
            return (1, 0.0, i)
        return (0, sign * value, i)

    for rank, i in enumerate(sorted(range(len(records)), key=key), 1):
        records[i]["rank"] = rank


def criterion_label(criterion):
    """Axis/table label of a criterion, with its direction."""
    better = "lower" if CRITERIA[criterion] else "higher"
    return f"{_CRITERION_LABELS[criterion]} ({better} is better)"
