"""Rows with missing entries (NaN), in memory: EM with the missing entries
marginalised (``nan_policy='marginalize'``).

`IncompleteRows` is a rows source like `rows.InMemoryRows`, so the EM
driver, the initialization and the estimator's outputs run on it unchanged.
What it computes (Ghahramani & Jordan 1994):

- a row's responsibilities and log-likelihood come from the marginal
  density of its observed entries o, N(x_o; m_o, S_oo), and the same per
  component constants (log weights) as a complete row;
- the statistics of a pass around the means m_k are those of the rows
  completed, per component, by the conditional mean of their missing
  entries, x_m = m_m + S_mo S_oo^-1 (x_o - m_o), with the conditional
  covariance S_mm - S_mo S_oo^-1 S_om added to the scatter's missing block,
  each weighted by the row's responsibility; the M-step (`em.covariance`)
  is then the complete-data one. For 'diag' and 'spherical' S_mo = 0: the
  missing entries take the means and add their variances;
- a row with every entry missing has log-likelihood 0 and the weights as
  responsibilities (its marginal density is over no variable).

Rows are grouped by their pattern of missing entries: each pattern's
Cholesky factor of S_oo and its regression coefficients S_oo^-1 S_om are
computed once per component and pass, for all its rows at once. The rows
without a missing entry go through the compiled kernels as they would
without NaN. The initialization draws from the rows with each missing entry
replaced by its feature's (weighted) mean of the observed values. The
incomplete rows are computed in float64 whatever X's dtype.
"""

import math

import numpy as np

from ..em import covariance as cov
from .rows import InMemoryRows, WindowedRows, _finite_error, _Passes

_LOG_2PI = math.log(2.0 * math.pi)


def observed_sums(X, w):
    """(weighted count, weighted sum) of each feature's observed entries."""
    observed = ~np.isnan(X)
    weights = np.ones(X.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    return (weights @ observed, weights @ np.where(observed, X, 0.0).astype(np.float64))


def observed_means(counts, sums):
    """Each feature's mean over its observed entries (0 for a feature never
    observed)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, 0.0)


def filled(X, means):
    """A copy of X with each NaN replaced by its feature's entry of ``means``."""
    out = np.array(X)
    mask = np.isnan(out)
    out[mask] = np.take(means, np.nonzero(mask)[1])
    return out


def _full_covariances(precisions_chol, covariance_type, n_components, n_features):
    """The k full d x d covariances of precision Cholesky factors U."""
    return cov.expand(cov.covariances_from_cholesky(precisions_chol, covariance_type),
                      covariance_type, n_components, n_features)


class _Pattern:
    """The rows of one pattern of missing entries and, per component, what the
    pattern needs of each Gaussian."""

    def __init__(self, rows, observed):
        self.rows = rows
        self.o = np.flatnonzero(observed)
        self.m = np.flatnonzero(~observed)

    def terms(self, X, means, covs, completed=True):
        """Under every component at once: (log N(x_o; m_k,o, S_k,oo), (n, k);
        z = completed row - m_k, (k, n, d); the conditional covariances of
        the missing block, (k, |m|, |m|), or None when nothing is missing).
        ``completed=False``: the log-densities only (z and the covariances
        None), for per-row outputs."""
        x = X[self.rows].astype(np.float64)
        o, m = self.o, self.m
        k = means.shape[0]
        z = np.empty((k,) + x.shape)
        if o.size:
            zo = x[None, :, o] - means[:, None, o]  # (k, n, |o|)
            s_oo = covs[:, o[:, None], o[None, :]]
            lower = np.linalg.cholesky(s_oo)  # a batch of k factors
            y = np.linalg.inv(lower) @ np.swapaxes(zo, 1, 2)  # L y = z^T
            log_det = 2.0 * np.sum(np.log(np.diagonal(lower, axis1=1, axis2=2)), axis=1)
            log_density = -0.5 * (o.size * _LOG_2PI + log_det[None, :]
                                  + np.einsum("kon,kon->nk", y, y))
            z[:, :, o] = zo
        else:
            log_density = np.zeros((x.shape[0], k))
        conditional = None
        if not completed:
            return log_density, None, None
        if m.size:
            if o.size:
                s_om = covs[:, o[:, None], m[None, :]]
                gain = np.linalg.solve(s_oo, s_om)  # S_oo^-1 S_om, (k, |o|, |m|)
                z[:, :, m] = zo @ gain
                conditional = covs[:, m[:, None], m[None, :]] - np.swapaxes(s_om, 1, 2) @ gain
            else:
                z[:, :, m] = 0.0
                conditional = np.array(covs[:, m[:, None], m[None, :]])
        return log_density, z, conditional


class IncompleteRows(InMemoryRows):
    """A validated float32/float64 array in memory with NaN entries."""

    def __init__(self, X):
        super().__init__(X)
        missing = np.isnan(X)
        complete = ~missing.any(axis=1)
        self.complete = np.flatnonzero(complete)
        self.X_complete = np.ascontiguousarray(X[self.complete])
        incomplete = np.flatnonzero(~complete)
        self.incomplete = incomplete
        patterns, inverse = np.unique(missing[incomplete], axis=0, return_inverse=True)
        inverse = inverse.ravel()
        self.patterns = [_Pattern(incomplete[inverse == p], ~patterns[p])
                         for p in range(patterns.shape[0])]
        self.n_incomplete = incomplete.size

    # -- the estimator's interface ------------------------------------------------

    def passes(self, backend, w, n_components, covariance_type, n_threads):
        return _Passes(self, backend, w, covariance_type, n_threads)

    def statistics(self, backend, w, c, means, U, covariance_type, n_threads):
        """One pass: the statistics around ``means`` of the completed rows
        (`SufficientStats`, the observed-data log-likelihood in ``ll``)."""
        k, d = means.shape
        stats = cov.SufficientStats.zeros(k, d, covariance_type)
        total = 0.0
        if self.complete.size:
            w_c = None if w is None else np.ascontiguousarray(w[self.complete])
            total = backend.accumulate(self.X_complete, w_c, c, means, U,
                                       covariance_type, stats, n_threads=n_threads)
        if covariance_type in ("diag", "spherical") and self.n_incomplete:
            total += self._diagonal_statistics(w, c, means, U, covariance_type, stats)
            stats.ll = total
            return stats
        nk, s1 = np.zeros(k), np.zeros((k, d))
        s2 = np.zeros((k, d, d))
        for pattern, log_resp, log_norm, z, conditional in self._incomplete_passes(
                c, means, U, covariance_type):
            wp = None if w is None else w[pattern.rows]
            total += float(np.sum(log_norm if wp is None else wp * log_norm))
            resp = np.exp(log_resp)
            if wp is not None:
                resp *= wp[:, None]
            weight = resp.sum(axis=0)
            nk += weight
            rz = resp.T[:, :, None] * z  # (k, n, d)
            s1 += rz.sum(axis=1)
            s2 += np.swapaxes(z, 1, 2) @ rz
            if conditional is not None:
                m = pattern.m
                s2[:, m[:, None], m[None, :]] += weight[:, None, None] * conditional
        stats.nk += nk
        stats.s1 += s1
        if covariance_type == "full":
            stats.s2 += s2
        elif covariance_type == "tied":
            stats.s2 += s2.sum(axis=0)
        elif covariance_type == "diag":
            stats.s2 += np.einsum("kii->ki", s2)
        else:
            stats.s2 += np.einsum("kii->k", s2)
        stats.ll = total
        return stats

    # -- 'diag' and 'spherical': the missing entries drop out feature by feature

    def _diagonal_rows(self):
        """The incomplete rows transposed, (d, n): x in float64 with 0 where
        missing, x^2, the 0/1 mask of observed entries, and its row sums
        (made once: the rows of every pass)."""
        if getattr(self, "_transposed", None) is None:
            x = self.X[self.incomplete].astype(np.float64).T.copy()
            observed = ~np.isnan(x)
            x[~observed] = 0.0
            mask = observed.astype(np.float64)
            self._transposed = (x, x * x, mask, mask.sum(axis=0))
        return self._transposed

    def _diagonal_terms(self, c, means, U, covariance_type):
        """For all incomplete rows at once, components along the first axis:
        (log responsibilities (k, n), log p(x_o) (n,))."""
        k, d = means.shape
        x, xx, mask, n_observed = self._diagonal_rows()
        precision = np.ascontiguousarray(np.broadcast_to(
            (U if covariance_type == "diag" else U[:, None]) ** 2, (k, d)))
        log_weights = c - cov.log_det_cholesky(U, covariance_type, d) + 0.5 * d * _LOG_2PI
        # sum over observed j of (x_j - m_kj)^2 p_kj = x^2.p - 2 x.(m p) + m^2.p,
        # and of log p_kj (the log-determinant of the observed block)
        log_prob = (precision @ xx - 2.0 * (means * precision) @ x
                    + (means * means * precision - np.log(precision)) @ mask)
        log_prob += n_observed * _LOG_2PI
        log_prob *= -0.5
        log_prob += log_weights[:, None]
        top = np.max(log_prob, axis=0)
        log_norm = top + np.log(np.sum(np.exp(log_prob - top), axis=0))
        log_prob -= log_norm
        log_norm[n_observed == 0] = 0.0  # nothing observed: the weights, log p = 0
        return log_prob, log_norm

    def _diagonal_statistics(self, w, c, means, U, covariance_type, stats):
        """Add the incomplete rows' statistics; return their log-likelihood."""
        x, xx, mask, _ = self._diagonal_rows()
        log_resp, log_norm = self._diagonal_terms(c, means, U, covariance_type)
        resp = np.exp(log_resp)  # (k, n)
        if w is not None:
            wi = w[self.incomplete]
            resp *= wi
            log_norm = wi * log_norm
        nk = resp.sum(axis=1)
        rx, rm = resp @ x.T, resp @ mask.T
        variance = 1.0 / np.broadcast_to(
            (U if covariance_type == "diag" else U[:, None]) ** 2, means.shape)
        # z = x - m where observed, 0 (the conditional mean) where missing;
        # z^2 where observed, the variance where missing
        s1 = rx - rm * means
        s2 = (resp @ xx.T - 2.0 * means * rx + means * means * rm
              + variance * (nk[:, None] - rm))
        stats.nk += nk
        stats.s1 += s1
        stats.s2 += s2 if covariance_type == "diag" else s2.sum(axis=1)
        return float(np.sum(log_norm))

    def _incomplete_passes(self, c, means, U, covariance_type, completed=True):
        """Per pattern: (pattern, log responsibilities (n_p, k), log p(x_o)
        (n_p,), z (k, n_p, d), the conditional covariances (k, |m|, |m|))."""
        k, d = means.shape
        covs = _full_covariances(U, covariance_type, k, d)
        # the components' log weights (with any other constant of the model)
        log_weights = c - cov.log_det_cholesky(U, covariance_type, d) + 0.5 * d * _LOG_2PI
        for pattern in self.patterns:
            log_density, z, conditional = pattern.terms(self.X, means, covs, completed)
            log_prob = log_weights[None, :] + log_density
            top = np.max(log_prob, axis=1)
            with np.errstate(invalid="ignore"):
                shifted = log_prob - top[:, None]
            log_norm = top + np.log(np.sum(np.exp(shifted), axis=1))
            if pattern.o.size == 0:  # nothing observed: the weights, log p = 0
                log_prob -= log_norm[:, None]
                log_norm[:] = 0.0
            yield pattern, log_prob - log_norm[:, None], log_norm, z, conditional

    def posterior(self, backend, c, means, U, covariance_type, n_threads, **outputs):
        """Per-row outputs: the complete rows through the kernels, the others
        from their observed entries."""
        wanted = {name: out for name, out in outputs.items() if out is not None}
        if self.complete.size:
            part = {}
            for name, out in wanted.items():
                shape = (self.complete.size,) + out.shape[1:]
                part[name] = np.empty(shape, dtype=out.dtype)
            backend.posterior(self.X_complete, c, means, U, covariance_type,
                              n_threads=n_threads, **part)
            for name, values in part.items():
                wanted[name][self.complete] = values
        if covariance_type in ("diag", "spherical") and self.n_incomplete:
            log_resp, log_norm = self._diagonal_terms(c, means, U, covariance_type)
            rows = self.incomplete
            if "log_norm" in wanted:
                wanted["log_norm"][rows] = log_norm
            if "resp" in wanted:
                wanted["resp"][rows] = np.exp(log_resp).T
            if "labels" in wanted:
                wanted["labels"][rows] = np.argmax(log_resp, axis=0)
            return
        for pattern, log_resp, log_norm, _, _ in self._incomplete_passes(
                c, means, U, covariance_type, completed=False):
            if "log_norm" in wanted:
                wanted["log_norm"][pattern.rows] = log_norm
            if "resp" in wanted:
                wanted["resp"][pattern.rows] = np.exp(log_resp)
            if "labels" in wanted:
                wanted["labels"][pattern.rows] = np.argmax(log_resp, axis=1)

    def mean_log_likelihood(self, backend, c, means, U, covariance_type, n_threads):
        log_norm = np.empty(self.n_samples, dtype=np.float64)
        self.posterior(backend, c, means, U, covariance_type, n_threads,
                       log_norm=log_norm)
        return float(np.mean(log_norm))

    def impute(self, c, means, U, covariance_type):
        """X (a new float64 array) with each NaN replaced by its conditional
        expectation under the mixture: sum_k r_k(x_o) (m_k + z_k)."""
        out = self.X.astype(np.float64)
        for pattern, log_resp, _, z, _ in self._incomplete_passes(c, means, U,
                                                                  covariance_type):
            m = pattern.m
            resp = np.exp(log_resp)  # (n, k); the completed entries m_k,m + z_k,m
            completed = np.einsum("nk,knm->nm", resp, means[:, None, m] + z[:, :, m])
            out[np.ix_(pattern.rows, m)] = completed
        return out

    # -- the initialization's rows ------------------------------------------------

    def rows(self, indices=None, progress=None):
        """Rows with each missing entry replaced by its feature's mean over the
        observed values (what the initialization clusters)."""
        if not hasattr(self, "_feature_means"):
            self._feature_means = observed_means(*observed_sums(self.X, None))
        return filled(self.X if indices is None else self.X[indices], self._feature_means)

    def take(self, indices, w, progress=None):
        self._feature_means = observed_means(*observed_sums(self.X, w))
        return super().take(indices, w, progress)


def has_nan(rows):
    """Whether a `WindowedRows` source holds a NaN (one read of its windows;
    infinity is an error here, as scikit-learn's)."""
    found = False
    for start in range(0, rows.n_samples, rows.window_rows):
        stop = min(start + rows.window_rows, rows.n_samples)
        window = rows.read([(start, stop)], check=False)
        if not np.isfinite(np.add.reduce(window, axis=None, dtype=np.float64)):
            _check_no_infinity(window, start)
            found = found or bool(np.isnan(window).any())
        rows.release([(start, stop)])
    return found


def _check_no_infinity(window, first_row):
    if np.isinf(window).any():
        bad = np.where(np.isnan(window), 0.0, window)
        raise _finite_error(bad, first_row)


class WindowedIncompleteRows(WindowedRows):
    """A memory map or array-like read by windows, with NaN entries: each
    window is an `IncompleteRows` of its own (its patterns grouped anew in
    each pass), the windows' statistics added in row order; nothing X-sized
    is held. Infinity is still an error, naming its row."""

    def read(self, pieces, check=True):
        window = super().read(pieces, check=False)
        if check:
            at = 0
            for start, stop in pieces:
                part = window[at:at + stop - start]
                if not np.isfinite(np.add.reduce(part, axis=None, dtype=np.float64)):
                    _check_no_infinity(part, start)
                at += stop - start
        return window

    def passes(self, backend, w, n_components, covariance_type, n_threads):
        return _Passes(self, backend, w, covariance_type, n_threads)

    def statistics(self, backend, w, c, means, U, covariance_type, n_threads):
        k, d = means.shape
        total = cov.SufficientStats.zeros(k, d, covariance_type)
        for start, stop, window in self._windows():
            part = IncompleteRows(window).statistics(
                backend, None if w is None else w[start:stop], c, means, U,
                covariance_type, n_threads)
            total = total + part
        return total

    def posterior(self, backend, c, means, U, covariance_type, n_threads, **outputs):
        for start, stop, window in self._windows():
            IncompleteRows(window).posterior(
                backend, c, means, U, covariance_type, n_threads,
                **{name: out[start:stop] for name, out in outputs.items()
                   if out is not None})

    def mean_log_likelihood(self, backend, c, means, U, covariance_type, n_threads):
        total = 0.0
        for start, stop, window in self._windows():
            log_norm = np.empty(stop - start)
            IncompleteRows(window).posterior(backend, c, means, U, covariance_type,
                                             n_threads, log_norm=log_norm)
            total += float(np.sum(log_norm))
        return total / self.n_samples

    def take(self, indices, w, progress=None):
        """Rows for the initialization, each NaN replaced by its feature's
        (weighted) mean over the observed values (one more pass)."""
        counts, sums = np.zeros(self.n_features), np.zeros(self.n_features)
        for start, stop, window in self._windows():
            c, s = observed_sums(window, None if w is None else w[start:stop])
            counts += c
            sums += s
        X, w_taken = super().take(indices, w, progress)
        return filled(X, observed_means(counts, sums)), w_taken
