"""The EM driver: initialize, then alternate a fused pass and an M-step.

The driver knows the rows it fits only as a `sources.rows` object (one fused pass:
``rows.statistics``) and nothing of a backend's internals. Parameters travel
in float64 whatever X's dtype.

What a pass's constants, the M-step and the lower bound are is a *family*
(`em.family.Family`: `MaximumLikelihood`, the default, GaussianMixture's;
`em.variational.VariationalEM`; `em.noise.NoiseEM`), which knows its
covariance structure: ``run_em`` and ``fit`` take one and keep the loop, the
pass and the convergence test to themselves. ``covariance_type`` is the
storage the pass runs (the family's ``structure.storage``).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from .._constants import LOG_2PI
from . import accelerate as _accelerate
from . import covariance as cov
from .family import MaximumLikelihood, MixtureParams
from .structure import structure

NONFINITE_MESSAGE = (
    "The log-likelihood of the data is not finite under the current "
    "parameters: some samples have (numerically) zero density under every "
    "component. Scale the input data, or increase reg_covar."
)


@dataclass
class EMRun:
    """The outcome of one EM run (one initialization)."""

    params: MixtureParams
    lower_bound: float
    lower_bounds: list = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False


class Monitor:
    """Hooks for progress output; the estimator prints scikit-learn's messages."""

    #: Whether the hooks do nothing (a run may then go without them between
    #: iterations: `_runs_in_one_call`).
    quiet = True

    def init_begin(self, init):
        pass

    def iter_end(self, n_iter, change, lower_bound=None):
        pass

    def init_end(self, lower_bound, converged):
        pass


def expectation(backend, rows, w, params, c, covariance_type, n_threads=None,
                pass_arguments=None):
    """One fused pass under constants ``c``: the statistics around the current
    means and L. ``pass_arguments``: the family's (`Family.pass_arguments`)."""
    stats = rows.statistics(backend, w, c, params.means, params.precisions_cholesky,
                            covariance_type, n_threads, **(pass_arguments or {}))
    if not math.isfinite(stats.ll):
        raise ValueError(NONFINITE_MESSAGE)
    return stats, stats.ll


def run_em(backend, rows, w, params, *, covariance_type, tol, reg_covar, max_iter,
           lower_bound=-np.inf, n_threads=None, monitor=None, family=None,
           accelerate=None):
    """EM from ``params`` until the lower bound gains less than tol.

    ``family``: an `em.family.Family` stored as ``covariance_type``; None:
    `MaximumLikelihood` of that structure. ``accelerate='squarem'``: SQUAREM
    cycles (`em.accelerate`) instead of plain EM steps, pass by pass.
    """
    monitor = monitor or Monitor()
    family = family or MaximumLikelihood(structure(covariance_type), backend)
    eps = np.finfo(rows.dtype).eps
    is_float32 = rows.dtype == np.float32
    total_weight = rows.total_weight(w)
    if accelerate is None and _runs_in_one_call(backend, rows, params, covariance_type,
                                                family, monitor, n_threads):
        return _run_in_one_call(backend, rows, w, params, covariance_type, tol,
                                reg_covar, max_iter, lower_bound, eps, total_weight,
                                n_threads)
    run = EMRun(params=params, lower_bound=lower_bound)
    # the passes over the rows, made once: an iteration is one pass (a
    # driver call for rows in memory) and the M-step; BLAS is held to one
    # thread while they are open (the passes' threads and the M-step's
    # small LAPACK calls)
    with rows.passes(backend, w, params.means.shape[0], covariance_type,
                     n_threads) as passes:
        if accelerate == "squarem":
            _squarem(run, passes, family, tol, reg_covar, max_iter, eps, is_float32,
                     total_weight, monitor)
            return run
        for n_iter in range(1, max_iter + 1):
            previous = run.lower_bound
            params = run.params
            c = family.log_prob_constants(params)
            stats = passes.run(c, params.means, params.precisions_cholesky,
                               **family.pass_arguments(params))
            if not math.isfinite(stats.ll):
                raise ValueError(NONFINITE_MESSAGE)
            new_params = family.maximization(stats, params, reg_covar, eps, is_float32)
            run.lower_bound = family.lower_bound(stats, c, params, new_params,
                                                 total_weight)
            run.params = new_params
            run.lower_bounds.append(run.lower_bound)
            run.n_iter = n_iter
            change = run.lower_bound - previous
            monitor.iter_end(n_iter, change, run.lower_bound)
            if abs(change) < tol:
                run.converged = True
                break
    return run


def _squarem(run, passes, family, tol, reg_covar, max_iter, eps, is_float32,
             total_weight, monitor):
    """`run_em`'s loop as SQUAREM cycles (`em.accelerate.run_squarem`)."""

    def step(params):
        c = family.log_prob_constants(params)
        stats = passes.run(c, params.means, params.precisions_cholesky,
                           **family.pass_arguments(params))
        if not math.isfinite(stats.ll):
            raise ValueError(NONFINITE_MESSAGE)
        new_params = family.maximization(stats, params, reg_covar, eps, is_float32)
        return family.lower_bound(stats, c, params, new_params, total_weight), new_params

    def record(lower, new_params, n_passes):
        change = lower - run.lower_bound
        run.lower_bound = lower
        run.params = new_params
        run.lower_bounds.append(lower)
        run.n_iter = n_passes
        monitor.iter_end(n_passes, change, lower)
        run.converged = abs(change) < tol
        return run.converged

    run.n_iter = _accelerate.run_squarem(
        run, step, record, max_iter, family.structure, is_float32,
        getattr(family, "dof_bounds", None))


#: Whether a small fit runs as one compiled call (`_run_in_one_call`); the
#: tests turn it off to compare the two paths.
ONE_CALL = True
#: The largest X (bytes) whose run is one call: a run that fits in cache,
#: which takes well under a second (the call does not see Ctrl-C until it
#: returns; the pass-by-pass loop does, between passes).
ONE_CALL_MAX_BYTES = 8 * 2**20


def _runs_in_one_call(backend, rows, params, covariance_type, model, monitor,
                      n_threads=None):
    """Whether this run is one call of the backend's ``em_loop``: the
    maximum-likelihood mixture of a covariance structure (no mclust model),
    whose rows weigh by their responsibilities alone (``row_weight`` None:
    ``em_loop`` has no Student-t pass), a monitor that takes no
    per-iteration output (no verbose messages, no callback), rows that are
    one array in memory without missing entries
    (``rows.in_memory_array()``, at most ONE_CALL_MAX_BYTES), and a pass the
    backend's loop runs with the pass-by-pass driver's bits and without
    losing threads (``backend.supports_em_loop``: the passes that need
    nothing of Python between them)."""
    if not (ONE_CALL and monitor.quiet and type(model) is MaximumLikelihood
            and model.model is None and model.row_weight is None):
        return False
    X = rows.in_memory_array()
    if X is None or X.nbytes > ONE_CALL_MAX_BYTES:
        return False
    from ..kernels import _common

    n_components, n_features = params.means.shape
    partitions = _common.partition_bounds(X.shape[0], n_components, n_features,
                                          covariance_type)
    return backend.supports_em_loop(covariance_type, n_features, n_components,
                                    X.dtype, n_threads, len(partitions) - 1)


def _run_in_one_call(backend, rows, w, params, covariance_type, tol, reg_covar,
                     max_iter, lower_bound, eps, total_weight, n_threads):
    """`run_em` as one compiled call of the backend's ``em_loop``, the GIL
    released for the whole run: the same bits (tests/em/test_one_call.py)."""
    from ..kernels import _common

    n_components, n_features = params.means.shape
    weights = np.array(params.weights, dtype=np.float64)
    means = np.array(params.means, dtype=np.float64)
    covariances = np.array(params.covariances, dtype=np.float64)
    factors = np.array(params.precisions_cholesky, dtype=np.float64)
    bounds = np.empty(max_iter)
    # 'full' on the pass's BLAS tiles (Cython's register-blocked tiles)
    full_tiles = covariance_type == "full" and _common.uses_blas(
        "full", n_features, n_components, backend.name)
    X = rows.in_memory_array()
    partitions = _common.partition_bounds(X.shape[0], n_components, n_features,
                                          covariance_type)
    segments = _common.all_rows_segments(partitions)
    threads = max(1, min(backend.threads(n_threads), segments.shape[0]))
    w_flat = np.zeros(0) if w is None else np.ascontiguousarray(w, dtype=np.float64)
    with _common.single_threaded_blas():  # LAPACK's factorizations, as the passes'
        status, n_iter, converged, component = backend.em_loop(
            X, w_flat, weights, means.reshape(-1), covariances.reshape(-1),
            factors.reshape(-1), covariance_type, full_tiles, float(tol),
            float(reg_covar), float(eps), int(max_iter), float(lower_bound),
            float(total_weight), 0.5 * n_features * LOG_2PI, segments, threads,
            bounds)
    if status == backend.EM_NONFINITE:
        raise ValueError(NONFINITE_MESSAGE)
    if status == backend.EM_ILL_DEFINED:
        raise cov._ill_defined(int(component), covariance_type,
                               rows.dtype == np.float32)
    if status == backend.EM_NO_MEMORY:
        raise MemoryError("fastgmm: cannot allocate the EM run's buffers")
    return EMRun(params=MixtureParams(weights, means, covariances, factors),
                 # (NumPy floats, as the pass-by-pass loop's and scikit-learn's)
                 lower_bound=bounds[n_iter - 1] if n_iter else lower_bound,
                 lower_bounds=list(bounds[:n_iter]), n_iter=int(n_iter),
                 converged=bool(converged))


def fit(backend, rows, w, *, initialize, n_init, covariance_type, tol, reg_covar,
        max_iter, warm=None, n_threads=None, monitor=None, family=None,
        accelerate=None):
    """Best of ``n_init`` EM runs (or one, continuing ``warm``).

    ``initialize()`` returns the initial parameters of the next run (a
    `MixtureParams` for the default ``family``); ``warm`` is an `EMRun` to
    continue from instead (warm start).
    """
    monitor = monitor or Monitor()
    best = None
    for init in range(1 if warm is not None else n_init):
        monitor.init_begin(init)
        if warm is not None:
            start, lower_bound = warm.params, warm.lower_bound
        else:
            start, lower_bound = initialize(), -np.inf
        if max_iter == 0:
            run = EMRun(params=start, lower_bound=-np.inf)
        else:
            run = run_em(
                backend, rows, w, start, covariance_type=covariance_type, tol=tol,
                reg_covar=reg_covar, max_iter=max_iter, lower_bound=lower_bound,
                n_threads=n_threads, monitor=monitor, family=family,
                accelerate=accelerate,
            )
            monitor.init_end(run.lower_bound, run.converged)
        # as scikit-learn: a later run also replaces a best that has no bound yet
        if best is None or run.lower_bound > best.lower_bound or (
            best.lower_bound == -np.inf
        ):
            best = run
    return best


# ----------------------------------------------------------- stepwise (online) EM


@dataclass
class StepwiseState:
    """The running statistics of stepwise EM, per unit of weight, around the
    current means (their first moment there is 0): counts ``nk`` (sum 1) and
    the scatter ``s2``, shaped as `SufficientStats.s2`."""

    nk: np.ndarray
    s2: np.ndarray

    @classmethod
    def from_params(cls, params, covariance_type, reg_covar):
        """The statistics that ``params`` stand for."""
        weights = params.weights / params.weights.sum()
        n_features = params.means.shape[1]
        return cls(weights, cov.scatter_of(weights, params.covariances, reg_covar,
                                           covariance_type, n_features))


def stepwise_step(backend, rows, w, params, state, *, step, covariance_type,
                  reg_covar, n_threads=None, family=None):
    """One step of stepwise EM (Cappe & Moulines 2009) on a batch of rows.

    The batch's statistics per unit of weight, ``s_hat``, are blended into the
    running ones, ``s <- (1 - step) s + step s_hat``, all around the current
    means, then the M-step; the running scatter is moved to the new means
    (`shift_scatter`), never formed as E[xx^T] - mu mu^T.
    ``family``: a `MaximumLikelihood` stored as ``covariance_type`` (None:
    that structure's). Returns (new params, new state, mean log-likelihood
    of the batch).
    """
    family = family or MaximumLikelihood(structure(covariance_type), backend)
    eps = np.finfo(rows.dtype).eps
    stats, total = expectation(backend, rows, w, params, family.log_prob_constants(params),
                               covariance_type, n_threads)
    batch_weight = rows.total_weight(w)
    blended = cov.SufficientStats(
        (1.0 - step) * state.nk + step * stats.nk / batch_weight,
        step * stats.s1 / batch_weight,
        (1.0 - step) * state.s2 + step * stats.s2 / batch_weight,
    )
    new = family.maximization(blended, params, reg_covar, eps, rows.dtype == np.float32)
    nk = blended.nk + 10.0 * eps
    delta = blended.s1 / nk[:, None]
    state = StepwiseState(blended.nk, cov.shift_scatter(blended.s2, nk, delta,
                                                        covariance_type))
    return new, state, total / batch_weight
