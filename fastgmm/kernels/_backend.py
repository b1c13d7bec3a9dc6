"""The kernel contract, written once for every backend.

A `Backend` wraps a module of compiled drivers (``_numba`` or ``_cython``)
and is everything of compiled code the layers above reach: `em/` and
`sources/` call a backend they are handed, never a module. A backend module
supplies the names of `DRIVERS`, with the same signatures and, for the same
arguments, the same bits in every backend (docs/design.md, "Kernels"):

the passes (`PASS_DRIVERS`)
    ``accumulate_partitions``, ``posterior_partitions``, ``max_threads``:
    wrapped here as below (`accumulate`, `begin_pass`, `fit_pass`,
    `posterior`, `log_prob`), with the checks, the thread rule and the
    reduction of the partitions.
the k-means (`KMEANS_DRIVERS`, for `em.kmeans` and `em.init`)
    ``kmeans_partitions`` (a Lloyd step), ``kpp_partitions`` (k-means++
    candidates' potentials), ``kpp_pick`` (the draws' search),
    ``kmeans_norms``, ``column_mean``, ``einsum_dots``/``einsum_dot`` (NumPy's
    einsum kernel in a given variant), ``kpp_loop`` and ``lloyd_loop`` (the
    seeding and Lloyd's iterations in one call each), ``labelled_partitions``
    (the statistics of hard labels): exposed as they are (``backend.kpp_loop``
    ...); each checks what it is handed. Their arguments are documented in
    `kernels/_cython/_kmeans.pyx`, where they were written first.
the EM run (`EM_DRIVERS`, for `em.driver`, `em.covariance` and
`em.parsimonious`)
    ``log_prob_constants`` (c_k of a pass), ``common_orientation`` (EVE's
    and VVE's common orientation, Jacobi sweeps, in their M-step),
    ``em_loop`` (a small fit's whole EM run in one call: passes, M-step,
    factors, bound, convergence) and its outcomes ``EM_DONE``,
    ``EM_NONFINITE``, ``EM_ILL_DEFINED``, ``EM_NO_MEMORY``: exposed as they
    are.

and capabilities, which the callers ask instead of a backend's name:
``em_loop_takes(covariance_type, n_features, n_components, dtype)``, the
fits `em_loop` runs, and ``LOOPS_ON_THREADS``, whether the one-call loops
(``kpp_loop``, ``lloyd_loop``, ``em_loop``) run their passes on the
backend's threads (`supports_em_loop`, `one_call_loops`). The Cython
extension does not carry these two yet: `_EXTENSION_CAPABILITIES` holds its.

``accumulate(X, w, c, means, U, covariance_type, out, n_threads=None) -> L``
    One fused pass over the rows of X: log-probabilities
    ``log p_ik = c_k - 0.5 * ||(x_i - m_k) U_k||^2``, a max-shifted
    log-sum-exp per row, responsibilities r_ik, and the sufficient statistics
    ``out.nk[k] = sum_i w_i r_ik``, ``out.s1[k] = sum_i w_i r_ik (x_i - m_k)``,
    ``out.s2`` the weighted scatter around m_k (shape by covariance type),
    returning ``L = sum_i w_i logsumexp_k log p_ik``. No n x k array is made.
    `begin_pass` does the same over windows of rows (`StatsPass`), and
    `fit_pass` again and again over the same rows, one EM iteration after
    another, with what does not change made once (`FitPass`).

``posterior(X, c, means, U, covariance_type, log_norm=None, resp=None,
labels=None, raw=False, n_threads=None)``
    The same log p_ik, reduced per row without an n x k temporary:
    ``log_norm[i] = logsumexp_k log p_ik`` (score_samples),
    ``resp[i, k] = exp(log p_ik - log_norm[i])`` (predict_proba) and
    ``labels[i] = argmax_k log p_ik`` (predict); each is filled only when given.
    With ``raw=True``, ``resp`` receives log p_ik itself (`log_prob`).

The Student-t pass: every one of these takes ``dof`` (None: the Gaussian
pass above, bit for bit), the components' degrees of freedom nu_k, a float64
array (k,) of finite values > 0. With it, delta_ik = ||(x_i - m_k) U_k||^2,
``log p_ik = c_k - 0.5 (nu_k + d) log1p(delta_ik / nu_k)`` and
``u_ik = (nu_k + d) / (nu_k + delta_ik)``; the responsibilities, L and the
posterior's outputs come from that log p, and the statistics weigh each row
by r_ik u_ik: ``nk[k] = sum_i w_i r_ik u_ik``, s1 and s2 likewise, and the
pass fills two more, ``nr[k] = sum_i w_i r_ik`` and ``tlu[k] = sum_i w_i r_ik
(log u_ik - u_ik)`` (`_common.SufficientStats`; docs/design.md, "The
Student-t pass").

Everything a driver relies on is checked here once per call, with errors that
say what is wrong (the drivers check the shapes again, tersely: no call can
make them read or write out of bounds). Here too: the thread rule
(`_common.resolve_threads`), the BLAS thread limit, and rows of zero
density in `posterior`. Both backends may be entered from several Python
threads at once (OpenMP's parallel regions, and the Numba backend's own
thread pool of GIL-free loops).
"""

import numpy as np

from .._constants import COVARIANCE_TYPES, covariance_shape
from . import _common

_X_DTYPES = (np.float32, np.float64)
#: The least degrees of freedom a pass takes: the smallest normal float64
#: (the Student-t pass divides by them; docs/design.md, "The Student-t pass").
_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)


def _readonly(a):
    """A read-only plain-ndarray view of ``a`` (no copy).

    Drivers always receive inputs typed this way, whatever the caller passed
    (writable, read-only, memory-mapped): Numba then compiles one version per
    dtype, and a read-only X cannot give other rounding than a writable one.
    """
    view = np.asarray(a).view(np.ndarray)
    view.setflags(write=False)
    return view


def _check_x(X, n_features, what="X"):
    if not isinstance(X, np.ndarray) or X.ndim != 2:
        raise ValueError(f"kernel: {what} must be a 2-D ndarray")
    if X.dtype not in _X_DTYPES:
        raise ValueError(f"kernel: {what} must be float32 or float64, not {X.dtype}")
    if not X.flags.c_contiguous:
        raise ValueError(f"kernel: {what} must be C-contiguous")
    if X.shape[1] != n_features:
        raise ValueError(
            f"kernel: {what} has {X.shape[1]} features, the parameters "
            f"{n_features}"
        )


def _check_dof(dof, n_components):
    """The degrees of freedom as the drivers take them (read-only, flat), or
    None; ValueError unless a float64 array (k,) of finite values > 0 (and
    normal numbers: the kernels divide by them)."""
    if dof is None:
        return None
    _check_float64(dof, (n_components,), "dof")
    if not (np.all(np.isfinite(dof)) and np.all(dof >= _SMALLEST_NORMAL)):
        raise ValueError(f"kernel: dof must be finite and > 0 (at least "
                         f"{_SMALLEST_NORMAL:.3g}), got {dof}")
    return _readonly(np.ascontiguousarray(dof))


def _check_float64(a, shape, name):
    if not isinstance(a, np.ndarray) or a.dtype != np.float64:
        raise ValueError(f"kernel: {name} must be a float64 ndarray")
    if a.shape != tuple(shape):
        raise ValueError(f"kernel: {name} has shape {a.shape}, expected {tuple(shape)}")


class _Params:
    """Validated, flattened parameters of one pass, as the drivers take them."""

    def __init__(self, c, means, U, covariance_type, backend=None, dof=None):
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"kernel: unknown covariance type {covariance_type!r}")
        if not isinstance(means, np.ndarray) or means.ndim != 2:
            raise ValueError("kernel: means must be a 2-D ndarray")
        k, d = means.shape
        if k < 1 or d < 1:
            raise ValueError("kernel: need at least one component and one feature")
        _check_float64(means, (k, d), "means")
        _check_float64(c, (k,), "c")
        _check_float64(U, covariance_shape(k, d, covariance_type),
                       "precisions_cholesky")
        #: the degrees of freedom (read-only), or None: the Gaussian pass
        self.dof = _check_dof(dof, k)
        self.n_components, self.n_features = k, d
        self.covariance_type = covariance_type
        self.kind = _common.KIND[covariance_type]
        self.use_blas = _common.uses_blas(covariance_type, d, k, backend)
        self.means = np.ascontiguousarray(means)

        def flat(a):
            return _readonly(np.ascontiguousarray(a).ravel())

        U_given = U
        if covariance_type == "spherical":  # run as 'diag'
            U = np.repeat(U, d)
        self.c, self.flat_means, self.U = flat(c), flat(means), flat(U)
        self.center = self.shifted = self.shifted_u = _readonly(np.zeros(0))
        self.spread = np.inf
        if covariance_type == "tied":
            center, shifted, shifted_u = _common.tied_centering(means, U)
            self.center, self.shifted, self.shifted_u = map(
                flat, (center, shifted, shifted_u))
        elif self.use_blas and self.kind == _common.DIAG:
            center, self.spread = _common.diag_gemm_spread(self.means, U_given)
            self.center = flat(center)

    def blas_for(self, dtype):
        """Whether the pass over X of this dtype runs through BLAS tiles."""
        if self.kind == _common.DIAG:
            return self.use_blas and _common.diag_gemm_ok(self.spread, dtype)
        return self.use_blas


class StatsPass:
    """One pass of `accumulate` over the rows of X, fed window by window.

    ``add(X_window, w_window, pieces)`` takes some rows; `finish` sums the
    partitions into a `SufficientStats` (L in its ``ll``). The partitions
    are those of all ``n_samples`` rows, and each continues tile after tile
    wherever its rows come from, so windows that cut partitions at
    multiples of `_common.TILE` rows (`_common.window_plan`) give the bits of
    one call over all rows.
    """

    def __init__(self, backend, n_samples, c, means, U, covariance_type,
                 n_threads=None, bounds=None, dof=None):
        self.backend = backend
        self.params = p = _Params(c, means, U, covariance_type, backend.name, dof)
        self.n_samples = int(n_samples)
        if bounds is None:
            bounds = _common.partition_bounds(
                self.n_samples, p.n_components, p.n_features, covariance_type)
        else:  # a part of a larger pass: its partitions inside these rows
            bounds = np.asarray(bounds)
            if (bounds.ndim != 1 or bounds.shape[0] < 2 or bounds.dtype.kind not in "iu"
                    or bounds[0] != 0 or bounds[-1] != self.n_samples
                    or np.any(np.diff(bounds) < 0)):
                raise ValueError(
                    f"kernel: bounds must rise from 0 to {self.n_samples}")
            bounds = bounds.astype(np.int64)
        self.bounds = bounds
        self.partials = _common.Partials(
            self.bounds.shape[0] - 1, p.n_components, p.n_features, covariance_type)
        self.n_threads = backend.threads(n_threads)
        # the next row each partition expects
        self.next_row = self.bounds[:-1].copy()
        self.dtype = None

    def _segments(self, pieces, n, in_place=False):
        """Driver segments for rows ``pieces`` laid one after another in X
        (``in_place``: at their own rows of an X of all rows)."""
        if (len(pieces) == 1 and pieces[0] == (0, self.n_samples) == (0, n)
                and np.array_equal(self.next_row, self.bounds[:-1])):
            return _common.all_rows_segments(self.bounds)  # a pass in one call
        segments = []
        offset = 0
        for start, stop in pieces:
            if in_place:
                offset = start
            if not 0 <= start <= stop <= self.n_samples:
                raise ValueError(f"kernel: rows {start}:{stop} outside the pass")
            for slot, first, last in _common.window_segments(self.bounds, start, stop):
                if first + start != self.next_row[slot]:
                    raise ValueError(
                        f"kernel: partition {slot} continues at row "
                        f"{self.next_row[slot]}, not {first + start}")
                if segments and slot <= segments[-1][0]:
                    raise ValueError("kernel: the pieces of a window must follow "
                                     "one another, one partition once")
                segments.append((slot, offset + first, offset + last))
            offset += stop - start
        if in_place:
            if n != self.n_samples:
                raise ValueError(f"kernel: X of {n} rows for a pass over {self.n_samples}")
        elif offset != n:
            raise ValueError(f"kernel: pieces of {offset} rows for {n} rows of X")
        return np.array(segments, dtype=np.intp).reshape(-1, 3)

    def add(self, X, w=None, pieces=None, in_place=False):
        """Add the statistics of the rows of X (weights ``w``).

        ``pieces``: the row ranges ``(start, stop)`` of all ``n_samples`` that
        X holds, one after another; each must continue its partition(s).
        None: X holds the rows that follow those added so far.
        ``in_place``: X (and ``w``) hold all ``n_samples`` rows and the pass
        reads the rows of ``pieces`` where they are (a memory map read
        without a copy).
        """
        p = self.params
        _check_x(X, p.n_features)
        n = X.shape[0]
        if in_place and pieces is None:
            raise ValueError("kernel: in_place needs the pieces")
        if pieces is None:
            unfinished = np.flatnonzero(self.next_row < self.bounds[1:])
            start = self.next_row[unfinished[0]] if unfinished.size else self.n_samples
            if start + n > self.n_samples:
                raise ValueError(
                    f"kernel: {start + n} rows passed to a pass over {self.n_samples}")
            pieces = [(start, start + n)]
        if self.dtype is not None and X.dtype != self.dtype:
            raise ValueError("kernel: every window of a pass must have one dtype")
        self.dtype = X.dtype
        w = _checked_weights(w, n)
        segments = self._segments(pieces, n, in_place)
        _accumulate(self.backend.drivers, _readonly(X), _readonly(w), p, segments,
                    self.partials, max(1, min(self.n_threads, len(segments))))
        for slot, first, last in segments:
            self.next_row[slot] += last - first

    def partial_sums(self):
        """The partition slots (`_common.Partials`) once every row is added:
        what a part of a larger pass hands on to `load_partials`."""
        self._check_seen()
        return self.partials

    def load_partials(self, partials, dtype):
        """Take slots computed elsewhere (the parts of this pass, in partition
        order) as if all rows had been added; then `finish`."""
        q = self.partials
        names = _common.Partials.NAMES if self.params.dof is not None else (
            "nk", "s1", "s2", "cc", "ll")
        for name in names:
            given = np.asarray(getattr(partials, name), dtype=np.float64)
            if given.shape != getattr(q, name).shape:
                raise ValueError(f"kernel: partial {name} has shape {given.shape}, "
                                 f"expected {getattr(q, name).shape}")
            getattr(q, name)[...] = given
        self.next_row = self.bounds[1:].copy()
        self.dtype = np.dtype(dtype)

    def _check_seen(self):
        seen = int(np.sum(self.next_row - self.bounds[:-1]))
        if seen != self.n_samples:
            raise ValueError(f"kernel: the pass saw {seen} of {self.n_samples} rows")

    def finish(self, out=None):
        """The statistics of the pass, L included: ``out`` filled, or new."""
        p = self.params
        self._check_seen()
        out = _stats_out(out, p)
        _reduce(p, self.partials, self.dtype, out)
        return out


_common_no_weights = _readonly(np.zeros(0))


def _checked_weights(w, n):
    """The weights of n rows as the drivers take them (no weights: empty)."""
    if w is None:
        return _common_no_weights
    _check_float64(w, (n,), "sample weights")
    return np.ascontiguousarray(w)


def _accumulate(drivers, X, w, p, segments, partials, n_threads, hold_blas=True):
    """One driver call: the statistics of ``segments`` of the read-only X
    (weights ``w``) under `_Params` ``p``, added into ``partials``.

    ``hold_blas``: hold BLAS to one thread around a pass through BLAS tiles
    (False when the caller holds it already).
    """
    use_blas = p.blas_for(X.dtype)
    # read-only, as every other input: one compiled version of the Numba
    # pass whatever the caller (a version per type may round otherwise)
    segments = _readonly(np.ascontiguousarray(segments, dtype=np.intp))
    args = (X, w, p.c, p.flat_means, p.U, p.center, p.shifted, p.shifted_u,
            segments, partials.nk, partials.s1, partials.s2, partials.cc, partials.ll,
            p.kind, use_blas, n_threads)
    if p.dof is not None:
        _check_takes_dof(drivers)
        args += (p.dof, partials.nr, partials.tlu)
    if use_blas and hold_blas:
        with _common.single_threaded_blas():
            drivers.accumulate_partitions(*args)
    else:
        drivers.accumulate_partitions(*args)


def _reduce(p, partials, dtype, out):
    """The partitions summed into ``out`` (`_common.reduce_partials`), for a
    pass under `_Params` ``p`` over rows of ``dtype`` (None: no rows)."""
    _common.reduce_partials(partials, p.means, p.covariance_type, out)
    if (p.kind == _common.FULL and p.use_blas and dtype is not None
            and dtype != np.float64):
        # the float32 tiles were taken around the means rounded to float32
        _common.recenter_full(out, p.means.astype(dtype) - p.means)


class FitPass:
    """The passes of one fit: `Backend.accumulate` over the same rows, again
    and again, with everything that does not change made once.

    Made once per fit (`Backend.fit_pass`): X and the weights checked and
    held read-only, the partitions laid out with their driver segments, the
    partial statistics allocated (zeroed in place before each pass), the
    thread count resolved. An EM iteration is then `run`: the parameters
    checked against the pass's shape, one driver call, the reduction (a
    copy for a single partition). The bits are those of ``accumulate`` (and
    of a `StatsPass`) with the same arguments.

    Used as a context manager, it holds BLAS to one thread until it is
    closed (the M-step's LAPACK calls included), instead of entering the
    limit around each pass through BLAS tiles.
    """

    def __init__(self, backend, X, w, n_components, covariance_type, n_threads=None,
                 blas_held=False):
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"kernel: unknown covariance type {covariance_type!r}")
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            raise ValueError("kernel: X must be a 2-D ndarray")
        _check_x(X, X.shape[1])
        if isinstance(n_components, bool) or not isinstance(n_components,
                                                            (int, np.integer)):
            raise ValueError(f"kernel: n_components must be an int, not "
                             f"{type(n_components).__name__}")
        n, d = X.shape
        k = int(n_components)
        if k < 1 or d < 1:
            raise ValueError("kernel: need at least one component and one feature")
        self.backend = backend
        self.covariance_type = covariance_type
        self.n_components, self.n_features = k, d
        self.X = _readonly(X)
        self.w = _readonly(_checked_weights(w, n))
        self.bounds = _common.partition_bounds(n, k, d, covariance_type)
        self.segments = _common.all_rows_segments(self.bounds)
        self.partials = _common.Partials(self.bounds.shape[0] - 1, k, d, covariance_type)
        self._fresh = True  # the partials are zeros
        self.n_threads = max(1, min(backend.threads(n_threads), len(self.segments)))
        self._blas_limit = None
        self._blas_held = bool(blas_held)
        self._out = None

    @property
    def shape(self):
        """(n_samples, n_features) of the rows the pass reads."""
        return self.X.shape

    def __enter__(self):
        if self._blas_limit is None:
            limit = _common.single_threaded_blas()
            limit.__enter__()
            self._blas_limit = limit
        return self

    def __exit__(self, *exc_info):
        limit, self._blas_limit = self._blas_limit, None
        if limit is not None:
            limit.__exit__(*exc_info)

    def run(self, c, means, U, out=None, dof=None):
        """The statistics of one pass under (c, means, U), L in their ``ll``
        (``dof``: the Student-t pass's degrees of freedom; see the module).

        Filled into ``out`` (a `SufficientStats`) when given; else into the
        pass's own, which the next `run` overwrites (an EM iteration uses
        them before its next pass).
        """
        p = _Params(c, means, U, self.covariance_type, self.backend.name, dof)
        if p.n_components != self.n_components or p.n_features != self.n_features:
            raise ValueError(
                f"kernel: this pass is over X of shape {self.X.shape} with "
                f"{self.n_components} components; means of shape {means.shape} "
                f"need another pass")
        if out is None:
            if self._out is None:
                self._out = _common.SufficientStats.zeros(
                    self.n_components, self.n_features, self.covariance_type)
            out = self._out
        out = _stats_out(out, p)
        q = self.partials
        if not self._fresh:
            q.zero()
        self._fresh = False
        _accumulate(self.backend.drivers, self.X, self.w, p, self.segments, q,
                    self.n_threads,
                    hold_blas=self._blas_limit is None and not self._blas_held)
        _reduce(p, q, self.X.dtype, out)
        return out


def _check_stats(out, n_components, n_features, covariance_type):
    """ValueError unless ``out`` holds float64 statistics of this shape."""
    for name, shape in (("nk", (n_components,)), ("s1", (n_components, n_features)),
                        ("s2", covariance_shape(n_components, n_features,
                                                    covariance_type))):
        _check_float64(getattr(out, name), shape, f"out.{name}")


def _stats_out(out, p):
    """``out`` (None: new statistics) checked for a pass under `_Params` ``p``:
    for the Student-t pass with ``nr`` and ``tlu`` (made when None), for the
    Gaussian pass without (set to None)."""
    k = p.n_components
    if out is None:
        return _common.SufficientStats.zeros(k, p.n_features, p.covariance_type,
                                             student=p.dof is not None)
    _check_stats(out, k, p.n_features, p.covariance_type)
    if p.dof is None:
        out.nr = out.tlu = None
        return out
    for name in ("nr", "tlu"):
        if getattr(out, name) is None:
            setattr(out, name, np.zeros(k))
        _check_float64(getattr(out, name), (k,), f"out.{name}")
    return out


def _check_takes_dof(drivers):
    """NotImplementedError unless the drivers compute the Student-t pass."""
    if not getattr(drivers, "TAKES_DOF", False):
        raise NotImplementedError(
            "kernel: this backend's drivers do not compute the Student-t pass "
            "(dof) yet")


#: The drivers of the passes (wrapped by `Backend`'s methods).
PASS_DRIVERS = ("accumulate_partitions", "posterior_partitions", "max_threads")
#: The k-means calls (`em.kmeans`, `em.init`), exposed as they are.
KMEANS_DRIVERS = ("kmeans_partitions", "kpp_partitions", "kpp_pick", "kmeans_norms",
                  "column_mean", "einsum_dots", "einsum_dot", "kpp_loop", "lloyd_loop",
                  "labelled_partitions")
#: The EM run in one call, the constants of a pass and EVE's and VVE's
#: common orientation, exposed as they are.
EM_DRIVERS = ("em_loop", "log_prob_constants", "common_orientation", "EM_DONE",
              "EM_NONFINITE", "EM_ILL_DEFINED", "EM_NO_MEMORY")
#: Every name a backend module supplies.
DRIVERS = PASS_DRIVERS + KMEANS_DRIVERS + EM_DRIVERS


def _extension_em_loop_takes(covariance_type, n_features, n_components, dtype):
    """The fits the Cython extension's `em_loop` runs: 'full', 'diag' and
    'spherical' on the passes that need nothing of Python between them (not
    'full' through BLAS tiles past `FULL_TILES_MAX_FEATURES` nor its float32
    tiles, recentred in NumPy; not the 'diag' products)."""
    if covariance_type not in ("full", "diag", "spherical"):
        return False
    blas = _common.uses_blas(covariance_type, n_features, n_components, "cython")
    if covariance_type == "full":
        return not blas or (n_features <= _common.FULL_TILES_MAX_FEATURES
                            and np.dtype(dtype) == np.float64)
    return not blas


#: The capabilities of a driver module that does not state them (the Cython
#: extension: its loops run their passes in OpenMP's threads).
_EXTENSION_CAPABILITIES = {"em_loop_takes": _extension_em_loop_takes,
                           "LOOPS_ON_THREADS": True}


class Backend:
    """The kernel contract on one backend's compiled drivers.

    Besides the methods below, ``backend.<name>`` is the module's driver for
    each name of `KMEANS_DRIVERS` and `EM_DRIVERS`. A module that lacks one
    of `DRIVERS` is not a backend (`ImportError`: an extension built from
    older sources).
    """

    def __init__(self, name, drivers):
        missing = [driver for driver in DRIVERS if not hasattr(drivers, driver)]
        if missing:
            raise ImportError(
                f"fastgmm's {name} kernels lack {', '.join(missing)}: built from "
                "other sources than this fastgmm; rebuild them (pip install -e .)")
        self.name = name
        self.drivers = drivers
        for driver in KMEANS_DRIVERS + EM_DRIVERS:
            setattr(self, driver, getattr(drivers, driver))
        for capability, default in _EXTENSION_CAPABILITIES.items():
            setattr(self, "_" + capability.lower(),
                    getattr(drivers, capability, default))

    def __repr__(self):
        return f"<fastgmm kernels: {self.name}>"

    def threads(self, n_threads):
        """The thread count a pass runs with (`_common.resolve_threads`)."""
        return _common.resolve_threads(n_threads, self.drivers.max_threads())

    # ----------------------------------------------------------- capabilities

    @property
    def loops_on_threads(self):
        """Whether the one-call loops (``kpp_loop``, ``lloyd_loop``,
        ``em_loop``) run their passes on the backend's threads (Cython); if
        not (Numba: its pool is Python's), on the calling thread alone."""
        return bool(self._loops_on_threads)

    def one_call_loops(self, n_threads, n_partitions):
        """Whether a loop in one call loses nothing against its pass-by-pass
        form on passes of ``n_partitions`` partitions with ``n_threads``
        threads (None: the backend's): its passes run on the backend's
        threads, or a pass would run on one thread anyway."""
        return (self.loops_on_threads
                or min(self.threads(n_threads), int(n_partitions)) <= 1)

    def supports_em_loop(self, covariance_type, n_features, n_components, dtype,
                         n_threads=None, n_partitions=1):
        """Whether ``em_loop`` runs this fit (a maximum-likelihood mixture on
        rows in memory without missing entries: the caller's to know) with
        the bits of the pass-by-pass driver and without losing threads."""
        return (bool(self._em_loop_takes(covariance_type, int(n_features),
                                         int(n_components), np.dtype(dtype)))
                and self.one_call_loops(n_threads, n_partitions))

    # ------------------------------------------------------------- statistics

    def begin_pass(self, n_samples, c, means, U, covariance_type, n_threads=None,
                   bounds=None, dof=None):
        """A `StatsPass` over ``n_samples`` rows, to be fed window by window.

        ``bounds``: the partitions of these rows when they are a part of a
        larger pass (`_common.window_bounds`; default: their own partitions).
        ``dof``: the Student-t pass's degrees of freedom (see the module).
        """
        return StatsPass(self, n_samples, c, means, U, covariance_type, n_threads,
                         bounds, dof)

    def fit_pass(self, X, w, n_components, covariance_type, n_threads=None,
                 blas_held=False):
        """A `FitPass`: the passes of one fit over all rows of X (weights
        ``w``), for ``n_components`` components, made once and run once per
        EM iteration (``run(c, means, U, dof=None)``). ``blas_held``: the caller holds
        BLAS to one thread around every `run` (as the pass's own context
        would)."""
        return FitPass(self, X, w, n_components, covariance_type, n_threads, blas_held)

    def accumulate(self, X, w, c, means, U, covariance_type, out=None,
                   n_threads=None, dof=None):
        """The fused E-step/statistics pass over all rows of X; returns L
        (``dof``: the Student-t pass; ``out`` then gets ``nr`` and ``tlu``)."""
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            raise ValueError("kernel: X must be a 2-D ndarray")
        stats_pass = self.begin_pass(X.shape[0], c, means, U, covariance_type,
                                     n_threads, dof=dof)
        stats_pass.add(X, w)
        return stats_pass.finish(out).ll

    # ------------------------------------------------------------- posteriors

    def posterior(self, X, c, means, U, covariance_type, log_norm=None, resp=None,
                  labels=None, raw=False, n_threads=None, bounds=None, dof=None):
        """Per-row results from log p into the given outputs; see the module
        (``dof``: the Student-t log p).

        ``bounds``: the row ranges worked as tile sequences (default: the
        partitions of X's rows); a window of a larger X passes the bounds of
        that X's partitions inside it (`_common.window_bounds`), so that its
        tiles fall where they fall in one call over all rows.
        """
        p = _Params(c, means, U, covariance_type, self.name, dof)
        _check_x(X, p.n_features)
        n, k = X.shape[0], p.n_components
        given = [a for a in (log_norm, resp) if a is not None]
        out_dtype = given[0].dtype if given else X.dtype
        for name, a, shape in (("log_norm", log_norm, (n,)), ("resp", resp, (n, k))):
            if a is None:
                continue
            if not isinstance(a, np.ndarray) or a.shape != shape:
                raise ValueError(f"kernel: {name} must be an ndarray of shape {shape}")
            if a.dtype != out_dtype or a.dtype not in _X_DTYPES:
                raise ValueError("kernel: log_norm and resp must share a float dtype")
            if not (a.flags.c_contiguous and a.flags.writeable):
                raise ValueError(f"kernel: {name} must be writable and C-contiguous")
        if labels is not None and not (
            isinstance(labels, np.ndarray) and labels.shape == (n,)
            and labels.dtype == np.intp and labels.flags.c_contiguous
            and labels.flags.writeable
        ):
            raise ValueError(f"kernel: labels must be a writable intp array of shape {(n,)}")
        if raw and resp is None:
            raise ValueError("kernel: raw log-probabilities need resp")
        if bounds is None:
            bounds = _common.partition_bounds(n, k, p.n_features, "diag")
        bounds = np.ascontiguousarray(bounds, dtype=np.intp)
        # no BLAS to hold to one thread: the drivers' posteriors call none (a
        # row's bits would depend on the product's shape); use_blas picks
        # Cython's 'full' tiles there
        args = (_readonly(X), p.c, p.flat_means, p.U, p.center, p.shifted_u,
                _readonly(bounds),
                np.zeros(0, out_dtype) if log_norm is None else log_norm,
                np.zeros((0, k), out_dtype) if resp is None else resp,
                np.zeros(0, np.intp) if labels is None else labels,
                p.kind, p.blas_for(X.dtype), raw,
                min(self.threads(n_threads), max(1, len(bounds) - 1)))
        if p.dof is not None:
            _check_takes_dof(self.drivers)
            args += (p.dof,)
        self.drivers.posterior_partitions(*args)
        if not raw and (resp is not None or labels is not None):
            _resolve_zero_density(X, c, means, U, covariance_type, resp, labels,
                                  p.dof)

    def log_prob(self, X, c, means, U, covariance_type, out, n_threads=None,
                 dof=None):
        """Fill out[i, k] = log w_k + log N(x_i | m_k, U_k) (``dof``: the
        Student-t log-density's, c_k its constant)."""
        self.posterior(X, c, means, U, covariance_type, resp=out, raw=True,
                       n_threads=n_threads, dof=dof)
        return out


def _resolve_zero_density(X, c, means, U, covariance_type, resp, labels, dof=None):
    """Responsibilities and labels of rows whose log p all underflowed to -inf.

    Such a row (say 1e300 away from every component) has zero density under
    each component in double precision, and the drivers mark it (resp NaN,
    label -1). Its posterior is still defined, as a limit: the log p_ik
    differ by amounts far beyond exp's range, so the component with the
    smallest Mahalanobis distance takes it all (ties share by c_k). The
    distances are computed with the row and the means scaled by a power of
    two, so that nothing overflows. This is also what the kernels give for a
    row far away but still within range (say 1e150 away).

    With ``dof`` (the Student-t pass: only a distance that overflows gives
    zero density), log p_ik = c_k - h_k log1p(s^2 D_ik / nu_k) for the row
    scaled by s -> infinity, h_k = (nu_k + d) / 2: the components of the
    least nu_k take the row, shared as exp(c_k - h log(D_ik / nu_k)).
    """
    if labels is not None:
        rows = np.flatnonzero(labels < 0)
    else:
        rows = np.flatnonzero(np.isnan(resp[:, 0]))
    if rows.size == 0:
        return
    x = X[rows].astype(np.float64)
    scale = np.maximum(np.abs(x).max(axis=1), np.abs(means).max())
    scale = np.ldexp(1.0, np.frexp(np.maximum(scale, 1.0))[1])[:, None]
    k = means.shape[0]
    distances = np.empty((rows.size, k))
    for j in range(k):
        diff = x / scale - means[j] / scale
        if covariance_type == "full":
            y = diff @ U[j]
        elif covariance_type == "tied":
            y = diff @ U
        else:
            y = diff * U[j]
        distances[:, j] = np.sum(y * y, axis=1)
    distances[:, c == -np.inf] = np.inf  # a component of weight 0 never wins
    if dof is None:
        nearest = distances == distances.min(axis=1, keepdims=True)
        c_nearest = np.where(nearest, c, -np.inf)
    else:  # (the distances of such a row are > 0)
        heaviest = dof == np.min(dof[c > -np.inf], initial=np.inf)
        score = c - 0.5 * (dof + X.shape[1]) * np.log(distances / dof)
        c_nearest = np.where(heaviest & (distances < np.inf), score, -np.inf)
    shares = np.exp(c_nearest - c_nearest.max(axis=1, keepdims=True))
    shares /= shares.sum(axis=1, keepdims=True)
    if resp is not None:
        resp[rows] = shares
    if labels is not None:
        labels[rows] = np.argmax(shares, axis=1)
