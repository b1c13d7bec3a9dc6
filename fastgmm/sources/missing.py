"""Rows with missing entries (NaN): EM with the missing entries marginalised
(``nan_policy='marginalize'``).

`IncompleteRows` (in memory) and `WindowedIncompleteRows` (a memory map or
array-like read by windows) are rows sources like those of `rows`, so the EM
driver, the initialization and the estimator's outputs run on them
unchanged. What they compute (Ghahramani & Jordan 1994):

- a row's responsibilities and log-likelihood come from the marginal
  density of its observed entries o, N(x_o; m_o, S_oo), with the same log
  weights as a complete row;
- the statistics of a pass around the means m_k are those of the rows
  completed, per component, by the conditional mean of their missing
  entries, x_m = m_m + S_mo S_oo^-1 (x_o - m_o), with the conditional
  covariance S_mm - S_mo S_oo^-1 S_om added to the scatter's missing block,
  each weighted by the row's responsibility; the M-step (`em.covariance`)
  is then the complete-data one. For 'diag' and 'spherical' S_mo = 0: the
  missing entries take the means and add their variances;
- a row with every entry missing has log-likelihood 0 and the weights as
  responsibilities (its marginal density is over no variable).

A pass under (c, m_k, U_k) recovers each component's covariance from U_k and
its constant c'_k = c_k - log det U_k + d/2 log 2 pi (the log weight for
`GaussianMixture`); whatever else a model puts in c carries over. For
`BayesianGaussianMixture` c'_k holds the variational constants and U_k the
expected precisions nu_k W_k: the same pass is then the variational E-step
with the missing entries latent (a row with nothing observed: log-likelihood
log sum_k exp c'_k).

How: the rows are cut into blocks (in memory: `rows.WINDOW_BYTES` of X, as
a window holds, in whole tiles; a window when X is read by windows), and a
block's rows are grouped by their pattern of missing entries (a bitmask per
row). Each pattern's observed entries are gathered
once into a small C-contiguous array, and the pass over it is the compiled
kernels' fused pass (`kernels.FitPass`, either backend, any dtype) under the
marginal parameters of the pattern: means m_k,o and the Cholesky factor of
S_k,oo. Because the completed row is affine in x_o (z_m = G^T z_o with the
gain G = S_oo^-1 S_om), the statistics of the completed rows follow exactly
from the kernels' statistics of the observed entries:

    s1_m = G^T s1_o,  S2_mo = G^T S2_oo,  S2_mm = G^T S2_oo G + n_k C,

C the conditional covariance; so per pattern and pass only the marginal
factors (batched over the patterns with the same number of observed
entries) and a few small products are computed in NumPy, never anything per
row. The rows without a missing entry go through one pass of their own, as
they would without NaN. A fit keeps its blocks' gathered copies (at most
`CACHE_BYTES`: the memory beyond X is bounded whatever n); blocks past that
are grouped again in each pass.

The initialization clusters the rows completed with each feature's
(weighted) mean over its observed entries (``initial_fill``), reading X in
place (`em.init`): no completed copy of X is made.
"""

import math

import numpy as np

from .._constants import LOG_2PI, sum_is_finite
from ..em import covariance as cov
from ..kernels import _common
from .rows import WINDOW_BYTES, InMemoryRows, WindowedRows, _finite_error, _Passes

#: A fit keeps the blocks' grouped copies up to this many bytes in all.
CACHE_BYTES = 1 << 28


def observed_sums(X, w):
    """(weighted count, weighted sum) of each feature's observed entries, in
    blocks of rows (nothing X-sized is allocated)."""
    n, d = X.shape
    counts, sums = np.zeros(d), np.zeros(d)
    step = max(1, WINDOW_BYTES // 8 // max(d, 1))
    for start in range(0, n, step):
        part = X[start:start + step]
        observed = ~np.isnan(part)
        weights = (np.ones(part.shape[0]) if w is None
                   else np.asarray(w[start:start + step], dtype=np.float64))
        counts += weights @ observed
        sums += weights @ np.where(observed, part, 0.0).astype(np.float64)
    return counts, sums


def observed_means(counts, sums):
    """Each feature's mean over its observed entries (0 for a feature never
    observed)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, 0.0)


# ------------------------------------------------------------ the algebra


def _model_terms(c, U, covariance_type, n_features):
    """(log weights, covariances in their own shape): what every pattern's
    marginal parameters come from, once per pass."""
    log_weights = (c - cov.log_det_cholesky(U, covariance_type, n_features)
                   + 0.5 * n_features * LOG_2PI)
    return log_weights, cov.covariances_from_cholesky(U, covariance_type)


class _Marginals:
    """For P patterns with q observed entries each (O, (P, q)) and the
    others missing (M, (P, r)), under every component: what the kernels take
    for the observed entries, ``c`` (P, k), ``means`` (P, k, q) and ``U``
    (P, ...) as the covariance type shapes it for q features; and what
    completes a row: the gains ``G`` = S_oo^-1 S_om, (P, k', q, r), and the
    conditional covariances ``C``, (P, k', r, r), with k' = k ('full') or 1
    ('tied'); the variances (diag, spherical)."""

    def __init__(self, O, M, log_weights, means, U, covs, covariance_type):
        P, q = O.shape
        self.G = self.C = None
        self.means = np.ascontiguousarray(np.swapaxes(means[:, O], 0, 1))
        if covariance_type in ("full", "tied"):
            S = covs if covariance_type == "full" else covs[None]

            def block(rows, cols):  # (P, k', |rows|, |cols|)
                return np.swapaxes(S[:, rows[:, :, None], cols[:, None, :]], 0, 1)

            s_oo, s_om = block(O, O), block(O, M)
            lower = np.linalg.cholesky(s_oo)
            lower_inv = np.linalg.inv(lower)
            upper = np.triu(np.swapaxes(lower_inv, -1, -2))
            log_det = -np.sum(np.log(np.diagonal(lower, axis1=-2, axis2=-1)), axis=-1)
            self.G = upper @ (lower_inv @ s_om)
            self.C = block(M, M) - np.swapaxes(s_om, -1, -2) @ self.G
            self.U = np.ascontiguousarray(upper if covariance_type == "full"
                                          else upper[:, 0])
        elif covariance_type == "diag":
            self.U = np.ascontiguousarray(np.swapaxes(U[:, O], 0, 1))
            log_det = np.sum(np.log(self.U), axis=-1)
            self.variance = covs
        else:
            self.U = np.ascontiguousarray(np.broadcast_to(U, (P, U.shape[0])))
            log_det = q * np.log(self.U)
            self.variance = covs
        self.c = np.ascontiguousarray(log_weights[None, :] + log_det - 0.5 * q * LOG_2PI)


def _put(out, index, values):
    """out[p, k, index[p, j]] = values[p, k, j]."""
    np.put_along_axis(out, np.broadcast_to(index[:, None, :], values.shape), values,
                      axis=2)


def _add_completed(stats, O, M, marginals, nk, s1, s2, covariance_type):
    """Add the statistics of the completed rows of P patterns, from those of
    their observed entries: nk (P, k), s1 (P, k, q), s2 as the kernels give
    it for q features, stacked over P."""
    P, q = O.shape
    k, d = stats.s1.shape
    stats.nk += nk.sum(axis=0)
    z1 = np.zeros((P, k, d))
    _put(z1, O, s1)
    if covariance_type in ("diag", "spherical"):
        stats.s1 += z1.sum(axis=0)
        var = marginals.variance
        if covariance_type == "diag":
            z2 = np.empty((P, k, d))
            _put(z2, O, s2)
            _put(z2, M, nk[:, :, None] * np.swapaxes(var[:, M], 0, 1))
            stats.s2 += z2.sum(axis=0)
        else:
            stats.s2 += s2.sum(axis=0) + (M.shape[1] * var) * nk.sum(axis=0)
        return
    G, C = marginals.G, marginals.C
    gain_t = np.swapaxes(G, -1, -2)  # (P, k', r, q)
    _put(z1, M, (gain_t @ s1[..., None])[..., 0])
    stats.s1 += z1.sum(axis=0)
    if covariance_type == "tied":
        s2, weight = s2[:, None], nk.sum(axis=1)[:, None]
    else:
        weight = nk
    # S2 in the frame (o, m) of each pattern, then back to the features' order
    gs = gain_t @ s2
    frame = np.empty(s2.shape[:2] + (d, d))
    frame[..., :q, :q] = s2
    frame[..., q:, :q] = gs
    frame[..., :q, q:] = np.swapaxes(gs, -1, -2)
    frame[..., q:, q:] = gs @ G + weight[:, :, None, None] * C
    back = np.argsort(np.concatenate([O, M], axis=1), axis=1)
    frame = np.take_along_axis(frame, back[:, None, :, None], axis=2)
    frame = np.take_along_axis(frame, back[:, None, None, :], axis=3)
    stats.s2 += frame.sum(axis=0) if covariance_type == "full" else frame[:, 0].sum(axis=0)


def conditional_gaussians(values, given, rest, log_weights, means, covs, backend):
    """Given the values of features ``given`` (in that order), under each
    full covariance ``covs`` (k, d, d) and log weights ``log_weights`` (k,):
    (the posterior weights of the components, (k,); the conditional means of
    features ``rest``, (k, |rest|); their conditional covariances, (k,
    |rest|, |rest|)).

    The weights are the ``backend``'s posterior of the values under the
    marginal mixture, as ``predict_proba`` gives them for a row with only
    those entries observed: values so far from every component that each
    density underflows get the kernels' limit posterior, not NaN."""
    k = means.shape[0]
    marginals = _Marginals(given[None], rest[None], log_weights, means, None, covs,
                           "full")
    weights = np.empty((1, k))
    backend.posterior(np.ascontiguousarray(values[None, :], dtype=np.float64),
                      marginals.c[0], marginals.means[0], marginals.U[0], "full",
                      resp=weights)
    z = values[None, :] - marginals.means[0]  # (k, q)
    conditional_means = means[:, rest] + np.einsum("kq,kqr->kr", z, marginals.G[0])
    return weights[0], conditional_means, marginals.C[0]


# ---------------------------------------------------------------- blocks


def _group_by_pattern(missing):
    """The rows of a (n, d) missing mask grouped by pattern: (patterns (P, d)
    bool, the row indices of each)."""
    n, d = missing.shape
    if d <= 62:
        codes = missing.astype(np.int64) @ (np.int64(1) << np.arange(d, dtype=np.int64))
        _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        patterns = missing[first]
    else:
        patterns, inverse = np.unique(missing, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=patterns.shape[0])
    return patterns, np.split(order, np.cumsum(counts)[:-1])


class _Group:
    """The patterns of a block with the same number q of observed entries:
    O (P, q), M (P, r), each pattern's rows (in the block) and, when q > 0,
    its observed entries gathered (n_p, q), in X's dtype."""

    def __init__(self, X, O, M, rows):
        self.O, self.M, self.rows = O, M, rows
        self.x = [np.ascontiguousarray(X[np.ix_(r, o)]) for r, o in zip(rows, O)]
        self.nbytes = sum(x.nbytes + r.nbytes for x, r in zip(self.x, rows))


class _Block:
    """Consecutive rows of X grouped for the passes: the complete rows (X
    itself when there are only those) and the groups of patterns."""

    def __init__(self, X):
        missing = np.isnan(X)
        incomplete_mask = missing.any(axis=1)
        self.n_samples, self.n_features = X.shape
        incomplete = np.flatnonzero(incomplete_mask)
        self.complete = np.flatnonzero(~incomplete_mask)
        self.nbytes = 0
        if incomplete.size == 0:
            self.X_complete = X
        else:
            self.X_complete = np.ascontiguousarray(X[self.complete])
            self.nbytes = self.X_complete.nbytes + self.complete.nbytes
        self.groups, self.unobserved = [], None
        if incomplete.size == 0:
            return
        patterns, rows = _group_by_pattern(missing[incomplete])
        rows = [incomplete[r] for r in rows]
        n_observed = self.n_features - patterns.sum(axis=1)
        for q in np.unique(n_observed):
            members = np.flatnonzero(n_observed == q)
            if q == 0:  # (one pattern at most: every entry missing)
                self.unobserved = rows[members[0]]
                continue
            O = np.stack([np.flatnonzero(~patterns[p]) for p in members])
            M = np.stack([np.flatnonzero(patterns[p]) for p in members])
            group = _Group(X, O, M, [rows[p] for p in members])
            self.groups.append(group)
            self.nbytes += group.nbytes

    def passes(self, backend, w, n_components, covariance_type, n_threads):
        """The block's `kernels.FitPass` objects for one fit (``w``: the
        block's weights): (complete rows' or None, one list per group)."""

        def fit_pass(x, rows):
            w_rows = None if w is None else np.ascontiguousarray(w[rows])
            return backend.fit_pass(x, w_rows, n_components, covariance_type,
                                    n_threads, blas_held=True)

        complete = None
        if self.complete.size:
            whole = self.complete.size == self.n_samples
            complete = fit_pass(self.X_complete, slice(None) if whole else self.complete)
        return complete, [[fit_pass(x, r) for x, r in zip(g.x, g.rows)]
                          for g in self.groups]

    def add_statistics(self, stats, passes, w, c, means, U, covariance_type, terms):
        """Add the block's statistics (one pass) into ``stats``."""
        complete, group_passes = passes
        log_weights, covs = terms
        k = means.shape[0]
        if complete is not None:
            part = complete.run(c, means, U)
            stats.nk += part.nk
            stats.s1 += part.s1
            stats.s2 += part.s2
            stats.ll += part.ll
        for group, fits in zip(self.groups, group_passes):
            marginals = _Marginals(group.O, group.M, log_weights, means, U, covs,
                                   covariance_type)
            P = len(fits)
            nk = np.empty((P, k))
            s1 = np.empty((P, k, group.O.shape[1]))
            s2 = None
            for p, fit in enumerate(fits):
                part = fit.run(marginals.c[p], marginals.means[p], marginals.U[p])
                if s2 is None:
                    s2 = np.empty((P,) + part.s2.shape)
                nk[p], s1[p], s2[p] = part.nk, part.s1, part.s2
                stats.ll += part.ll
            _add_completed(stats, group.O, group.M, marginals, nk, s1, s2,
                           covariance_type)
        if self.unobserved is not None:
            # z = 0 (the conditional mean is the mean), the scatter the covariance
            weight = (self.unobserved.size if w is None
                      else float(np.sum(w[self.unobserved])))
            nk = weight * _softmax(log_weights)
            stats.nk += nk
            stats.ll += weight * _log_total(log_weights)
            if covariance_type == "full":
                stats.s2 += nk[:, None, None] * covs
            elif covariance_type == "tied":
                stats.s2 += nk.sum() * covs
            elif covariance_type == "diag":
                stats.s2 += nk[:, None] * covs
            else:
                stats.s2 += self.n_features * nk * covs

    def posterior(self, backend, c, means, U, covariance_type, n_threads, terms,
                  outputs):
        """Fill ``outputs`` (name -> array over the block's rows)."""
        if not self.groups and self.unobserved is None:
            backend.posterior(self.X_complete, c, means, U, covariance_type,
                              n_threads=n_threads, **outputs)
            return
        if self.complete.size:
            self._scatter(outputs, self.complete, lambda part: backend.posterior(
                self.X_complete, c, means, U, covariance_type, n_threads=n_threads,
                **part))
        log_weights, covs = terms
        for group in self.groups:
            marginals = _Marginals(group.O, group.M, log_weights, means, U, covs,
                                   covariance_type)
            for p, (x, rows) in enumerate(zip(group.x, group.rows)):
                self._scatter(outputs, rows, lambda part: backend.posterior(
                    x, marginals.c[p], marginals.means[p], marginals.U[p],
                    covariance_type, n_threads=n_threads, **part))
        if self.unobserved is not None:
            rows, resp = self.unobserved, _softmax(log_weights)
            if "log_norm" in outputs:
                outputs["log_norm"][rows] = _log_total(log_weights)
            if "resp" in outputs:
                outputs["resp"][rows] = resp
            if "labels" in outputs:
                outputs["labels"][rows] = np.argmax(resp)

    @staticmethod
    def _scatter(outputs, rows, compute):
        part = {name: np.empty((rows.size,) + out.shape[1:], dtype=out.dtype)
                for name, out in outputs.items()}
        compute(part)
        for name, values in part.items():
            outputs[name][rows] = values

    def impute(self, out, backend, c, means, U, covariance_type, terms):
        """Fill the missing entries of ``out`` (the block's rows, float64)
        with their conditional expectations."""
        log_weights, covs = terms
        k = means.shape[0]
        for group in self.groups:
            marginals = _Marginals(group.O, group.M, log_weights, means, U, covs,
                                   covariance_type)
            for p, (x, rows) in enumerate(zip(group.x, group.rows)):
                m = group.M[p]
                resp = np.empty((rows.size, k), dtype=x.dtype)
                backend.posterior(x, marginals.c[p], marginals.means[p], marginals.U[p],
                                  covariance_type, resp=resp)
                resp = resp.astype(np.float64)
                if marginals.G is None:  # 'diag', 'spherical': x_m = m_m
                    completed = resp @ means[:, m]
                else:  # x_m = m_m + G^T (x_o - m_o), per component
                    gain = marginals.G[p]  # (k', q, r)
                    offset = means[:, m] - (marginals.means[p][:, None, :] @ gain)[:, 0]
                    xo = x.astype(np.float64)
                    if covariance_type == "tied":
                        completed = resp @ offset + xo @ gain[0]
                    else:
                        completed = resp @ offset + np.einsum("nk,kqr,nq->nr", resp, gain, xo)
                out[np.ix_(rows, m)] = completed
        if self.unobserved is not None:
            out[self.unobserved] = _softmax(log_weights) @ means


def _log_total(log_weights):
    """log sum_k exp(c'_k): a row with nothing observed integrates its
    density over every entry (0 for a mixture's weights, but for rounding;
    the variational constants' own total for `BayesianGaussianMixture`)."""
    top = np.max(log_weights)
    total = top + math.log(np.sum(np.exp(log_weights - top)))
    return 0.0 if abs(total) <= 8 * np.finfo(np.float64).eps else total


def _softmax(log_weights):
    top = np.max(log_weights)
    weights = np.exp(log_weights - top)
    return weights / weights.sum()


class _MissingPasses(_Passes):
    """`passes` of a source with missing entries: its blocks' kernel passes,
    made once per fit for the blocks it keeps; BLAS held to one thread while
    open (`rows._Passes`). ``run(c, means, U)`` is one pass: `SufficientStats`
    (L in ``ll``), the blocks added in row order."""

    def __init__(self, rows, backend, w, covariance_type, n_threads):
        super().__init__(rows, backend, w, covariance_type, n_threads)
        self._kept = {}

    def __exit__(self, *exc_info):
        super().__exit__(*exc_info)
        self._kept.clear()

    def run(self, c, means, U, dof=None):
        _refuse_dof(dof)
        k, d = means.shape
        t = self.covariance_type
        stats = cov.SufficientStats.zeros(k, d, t)
        terms = _model_terms(c, U, t, d)
        for key, start, stop, block in self.rows.blocks():
            w = None if self.w is None else self.w[start:stop]
            passes = self._kept.get(key) if key is not None else None
            if passes is None:
                passes = block.passes(self.backend, w, k, t, self.n_threads)
                if key is not None:
                    self._kept[key] = passes
            block.add_statistics(stats, passes, w, c, means, U, t, terms)
        return stats


def _refuse_dof(dof):
    """ValueError for the Student-t pass: not over rows with missing entries."""
    if dof is not None:
        raise ValueError("the Student-t family does not take missing values yet "
                         "(nan_policy='marginalize')")


class _IncompleteSource:
    """What the in-memory and windowed sources with missing entries share;
    each has ``blocks()``: (key or None, start, stop, `_Block`) in row
    order, key naming a block a fit may keep, and ``observed_sums(w)``."""

    missing = True

    def initial_fill(self, w):
        """Each feature's (weighted) mean over its observed entries: the
        initialization clusters the rows completed with these, reading the
        rows `take` returns in place (`em.init`)."""
        return observed_means(*self.observed_sums(w))

    def passes(self, backend, w, n_components, covariance_type, n_threads):
        return _MissingPasses(self, backend, w, covariance_type, n_threads)

    def statistics(self, backend, w, c, means, U, covariance_type, n_threads,
                   dof=None):
        """One pass: the statistics around ``means`` of the completed rows
        (`SufficientStats`, the observed-data log-likelihood in ``ll``);
        ``dof`` (the Student-t pass): ValueError."""
        _refuse_dof(dof)
        with self.passes(backend, w, means.shape[0], covariance_type, n_threads) as p:
            return p.run(c, means, U)

    def posterior(self, backend, c, means, U, covariance_type, n_threads, dof=None,
                  **outputs):
        """Per-row outputs: the complete rows through the kernels, the others
        from their observed entries; ``dof``: ValueError."""
        _refuse_dof(dof)
        wanted = {name: out for name, out in outputs.items() if out is not None}
        terms = _model_terms(c, U, covariance_type, means.shape[1])
        for _, start, stop, block in self.blocks():
            block.posterior(backend, c, means, U, covariance_type, n_threads, terms,
                            {name: out[start:stop] for name, out in wanted.items()})

    def mean_log_likelihood(self, backend, c, means, U, covariance_type, n_threads,
                            dof=None):
        _refuse_dof(dof)
        total = 0.0
        terms = _model_terms(c, U, covariance_type, means.shape[1])
        for _, start, stop, block in self.blocks():
            log_norm = np.empty(stop - start)
            block.posterior(backend, c, means, U, covariance_type, n_threads, terms,
                            {"log_norm": log_norm})
            total += float(np.sum(log_norm))
        return total / self.n_samples


class IncompleteRows(_IncompleteSource, InMemoryRows):
    """A validated float32/float64 array in memory with NaN entries."""

    def __init__(self, X):
        super().__init__(X)
        n, d = X.shape
        step = max(_common.TILE, WINDOW_BYTES // (d * X.itemsize)
                   // _common.TILE * _common.TILE)
        self._ranges = [(start, min(start + step, n)) for start in range(0, n, step)]
        self._kept, self._kept_bytes = {}, 0

    def blocks(self):
        for key, (start, stop) in enumerate(self._ranges):
            block = self._kept.get(key)
            if block is None:
                block = _Block(self.X[start:stop])
                if self._kept_bytes + block.nbytes <= CACHE_BYTES:
                    self._kept[key] = block
                    self._kept_bytes += block.nbytes
            yield (key if key in self._kept else None), start, stop, block

    def impute(self, backend, c, means, U, covariance_type):
        """X (a new float64 array) with each NaN replaced by its conditional
        expectation under the mixture: sum_k r_k(x_o) (m_k,m + G_k^T z_k,o)."""
        out = self.X.astype(np.float64)
        terms = _model_terms(c, U, covariance_type, means.shape[1])
        for _, start, stop, block in self.blocks():
            block.impute(out[start:stop], backend, c, means, U, covariance_type, terms)
        return out

    def observed_sums(self, w):
        """(weighted count, weighted sum) of each feature's observed entries."""
        return observed_sums(self.X, w)


def has_nan(rows):
    """Whether a `WindowedRows` source holds a NaN (one read of its windows;
    infinity is an error here, as scikit-learn's)."""
    found = False
    for start in range(0, rows.n_samples, rows.window_rows):
        stop = min(start + rows.window_rows, rows.n_samples)
        window = rows.read([(start, stop)], check=False)
        if not sum_is_finite(window):
            _check_no_infinity(window, start)
            found = found or bool(np.isnan(window).any())
        rows.release([(start, stop)])
    return found


def array_has_nan(X):
    """Whether an array in memory holds a NaN, in blocks of rows (infinity
    is an error, as scikit-learn's, naming its row)."""
    found = False
    step = max(1, WINDOW_BYTES // max(X.shape[1] * X.itemsize, 1))
    for start in range(0, X.shape[0], step):
        part = X[start:start + step]
        if not sum_is_finite(part):
            _check_no_infinity(part, start)
            found = found or bool(np.isnan(part).any())
    return found


def _check_no_infinity(window, first_row):
    if np.isinf(window).any():
        bad = np.where(np.isnan(window), 0.0, window)
        raise _finite_error(bad, first_row)


class WindowedIncompleteRows(_IncompleteSource, WindowedRows):
    """A memory map or array-like read by windows, with NaN entries: each
    window is a block of its own (its patterns grouped anew in each pass),
    the windows' statistics added in row order; nothing X-sized is held.
    Infinity is still an error, naming its row."""

    def read(self, pieces, check=True):
        window = super().read(pieces, check=False)
        if check:
            at = 0
            for start, stop in pieces:
                part = window[at:at + stop - start]
                if not sum_is_finite(part):
                    _check_no_infinity(part, start)
                at += stop - start
        return window

    def blocks(self):
        for start, stop, window in self._windows():
            yield None, start, stop, _Block(np.ascontiguousarray(window))

    def observed_sums(self, w):
        """(weighted count, weighted sum) of each feature's observed entries
        (one more read of X)."""
        counts, sums = np.zeros(self.n_features), np.zeros(self.n_features)
        for start, stop, window in self._windows():
            c, s = observed_sums(window, None if w is None else w[start:stop])
            counts += c
            sums += s
        return counts, sums
