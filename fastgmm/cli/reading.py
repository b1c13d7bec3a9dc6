"""What a command reads: DATA by windows (`fastgmm.files.data`), its errors
named by row, the ``--scale`` column statistics, saved models; and the
model as the command line saves it (`finish_model`).
"""

import math
import os
import re
import sys
import time
import warnings
from contextlib import contextmanager

from .. import _constants
from .errors import CLIError
from .output import Progress, _clock, _rate, _size

#: Rows per window of the passes over the data after a fit, and of predict and
#: score (fewer when rows are wide: see `_window_rows`).
BLOCK_ROWS = _constants.BLOCK_ROWS


#: A plot of more rows draws a random sample of this many (read by windows).
PLOT_ROWS = 1_000_000


def _read_data(args, names_wanted=None):
    """Open DATA as the options say; print its notes (unless --quiet).

    The data are closed (temporary files removed) when the command ends.
    """
    from ..files import data as _data
    from ..files import dataset

    progress = Progress(enabled=not args.quiet)
    name = dataset.display_name(args.data)

    def reading(rows, done, total):
        progress.draw(f"reading {name}: {rows:,} rows, {_size(done)} of "
                      f"{_size(total)}  {_clock(progress.elapsed())}")

    try:
        data = _data.read(args.data, columns=args.columns, names_wanted=names_wanted,
                          fmt=args.data_format, progress=reading,
                          missing=getattr(args, "missing", "error") == "marginalize")
    except UnicodeDecodeError:
        raise CLIError(f"{name}: not a text file") from None
    finally:
        progress.close()
    cleanup = getattr(args, "cleanup", None)
    if cleanup is not None:
        cleanup.callback(data.close)
    if not args.quiet:
        for note in data.notes:
            print(f"fastgmm: note: {note}", file=sys.stderr)
    return data


def _check_rows_before_reading(args, n_components):
    """Refuse more components than the file can have rows, before parsing it."""
    from ..files import data as _data

    bound = _data.max_rows(args.data, args.data_format)
    if bound and n_components > bound:  # (0: an empty file, which reading names)
        raise CLIError(
            f"{args.data}: at most {_constants.count(bound, 'row')}, fewer than the "
            f"{_constants.count(n_components, 'component')} asked for"
        )


def _window_rows(n_features, n_components=1):
    """Rows per window: at most `BLOCK_ROWS`, within the data files' window
    bytes (`fastgmm.files.dataset.window_rows`, for the widest per-row output)."""
    from ..files.dataset import DATA_WINDOW_BYTES, window_rows

    return window_rows(max(n_features, n_components), 8, DATA_WINDOW_BYTES, BLOCK_ROWS)


_NON_FINITE = re.compile(r"Input X contains (NaN|infinity)")


_NON_FINITE_ROW = re.compile(r"\(row (\d+)\)\.?$")


@contextmanager
def _data_errors(data, offset=0):
    """The estimator's error for a NaN or infinity in X, as the CLI's line
    naming the data row (1-based; ``offset``: the row of X's row 0)."""
    from ..files import data as _data
    from ..files import dataset

    try:
        yield
    except ValueError as exc:
        message = str(exc)
        if _NON_FINITE.match(message) is None:
            raise
        row = getattr(exc, "row", None)  # lost if pickled: then read it
        if row is None and (found := _NON_FINITE_ROW.search(message)) is not None:
            row = found[1]
        if row is not None:
            raise CLIError(dataset.non_finite_message(
                data.path, offset + int(row) + 1, data.allow_nan)) from None
        _data.check_finite(data)  # finds the row (the message had none)
        raise


def _windows(data, scaling=None, rows=None, progress=None, what=None):
    """(start, rows in memory) of consecutive windows of DATA, checked for
    NaN and infinity, standardized with ``scaling`` (mean, scale) if given."""
    from ..files import dataset

    n, d = data.X.shape
    step = rows or _window_rows(d)
    start_time = time.perf_counter()
    for start in range(0, n, step):
        stop = min(start + step, n)
        block = data.window(start, stop)
        dataset.check_window(data.path, block, start, data.allow_nan)
        if scaling is not None:
            block = standardize(block, *scaling)
        yield start, block
        if progress is not None:
            elapsed = time.perf_counter() - start_time
            progress.draw(f"{what}: {stop:,}/{n:,} rows  "
                          f"{_rate(stop / elapsed if elapsed > 0 else math.inf)}  "
                          f"{_clock(progress.elapsed())}", force=stop == n)


class ColumnMoments:
    """Column means and sums of squared deviations merged block by block
    (Chan, Golub and LeVeque's update), in float64, so that nothing cancels
    when the values sit far from zero: each column is taken in units of a
    power of two near the first block's largest value (exact; squares of
    values near 1e300 overflow, of values near 1e-300 underflow) and shifted
    by the first block's first row (exact for values of one magnitude).

    `block` gives one block's moments (a pure function: dask runs it on the
    workers), `add` merges them in order, `result` gives the means and
    scales. `_column_statistics` (a file, window by window) and ``fit
    --dask`` (chunk by chunk, `fastgmm.cli.dask`) both use it.
    """

    def __init__(self, first_block):
        import numpy as np

        first_block = np.asarray(first_block, dtype=np.float64)
        d = first_block.shape[1]
        if np.isnan(first_block).any():  # missing entries (--missing marginalize)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
                top = np.nan_to_num(np.nanmax(np.abs(first_block), axis=0))
            self.exponent = np.frexp(top)[1]
            observed = ~np.isnan(first_block)
            first = np.where(observed.any(axis=0),
                             first_block[np.argmax(observed, axis=0), np.arange(d)], 0.0)
            self.shift = np.ldexp(first, -self.exponent)
        else:
            self.exponent = np.frexp(np.max(np.abs(first_block), axis=0))[1]
            self.shift = np.ldexp(first_block[0], -self.exponent)
        self.count, self.mean, self.m2, self.top = 0, np.zeros(d), np.zeros(d), np.zeros(d)

    def block(self, block):
        """(rows, mean, sum of squared deviations, largest |value|) of a block,
        in the shifted units."""
        import numpy as np

        block = np.asarray(block, dtype=np.float64)
        missing = np.isnan(block)
        if missing.any():  # each column over its observed entries
            observed = ~missing
            count = observed.sum(axis=0).astype(np.float64)
            top = np.max(np.abs(np.where(observed, block, 0.0)), axis=0)
            block = np.where(observed, np.ldexp(block, -self.exponent) - self.shift, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(count > 0, block.sum(axis=0) / count, 0.0)
            diff = np.where(observed, block - mean, 0.0)
            return count, mean, np.einsum("ij,ij->j", diff, diff), top
        top = np.max(np.abs(block), axis=0)
        block = np.ldexp(block, -self.exponent) - self.shift
        mean = block.mean(axis=0)
        diff = block - mean
        return block.shape[0], mean, np.einsum("ij,ij->j", diff, diff), top

    def add(self, moments):
        import numpy as np

        m, block_mean, block_m2, top = moments
        if np.all(m == 0):
            return
        np.maximum(self.top, top, out=self.top)
        delta = block_mean - self.mean
        total = self.count + m
        if np.ndim(total):  # per-column counts (missing entries)
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(total > 0, m / total, 0.0)
                cross = np.where(total > 0, self.count * m / total, 0.0)
            self.mean = self.mean + delta * share
            self.m2 = self.m2 + block_m2 + delta * delta * cross
        else:
            self.mean = self.mean + delta * (m / total)
            self.m2 = self.m2 + block_m2 + delta * delta * (self.count * m / total)
        self.count = total

    def result(self):
        """(means, scales) in the data's units: standard deviations, 1 for a
        column constant up to rounding (the bound of scikit-learn's
        StandardScaler)."""
        import numpy as np

        mean = self.mean + self.shift
        with np.errstate(invalid="ignore", divide="ignore"):
            var = self.m2 / self.count  # a column never observed: NaN
        eps = np.finfo(np.float64).eps
        constant = var <= self.count * eps * var + (self.count * mean * eps) ** 2
        scale = np.ldexp(np.sqrt(var), self.exponent)
        scale[constant] = 1.0
        return np.ldexp(mean, self.exponent), scale


def _column_statistics(data, progress=None):
    """Column means and scales (standard deviations; 1 for a constant column)
    as float64, and the largest absolute value of each column, in one pass
    over windows (`ColumnMoments`)."""
    import numpy as np

    moments = None
    for _, block in _windows(data, progress=progress, what="scaling"):
        if moments is None:
            moments = ColumnMoments(block)
        moments.add(moments.block(block))
    mean, scale = moments.result()
    never = np.flatnonzero(np.asarray(moments.count) == 0) if np.ndim(moments.count) else []
    if len(never):
        from ..files.dataset import DataError

        what = (f"column {data.feature_names[never[0]]!r}" if data.feature_names
                else f"column {never[0]}")
        raise DataError(f"{data.path}: {what} has no observed value to scale by")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale))):
        from ..files.dataset import DataError

        raise DataError(f"{data.path}: values too large to scale (a column's mean "
                        "or spread overflows float64)")
    return mean, scale, moments.top


def standardize(X, mean, scale):
    """(X - mean) / scale: see `fastgmm.files.dataset.standardize`."""
    from ..files.dataset import standardize

    return standardize(X, mean, scale)


def _standardized(data, mean, scale):
    """DATA standardized, as the estimator reads it: an array when DATA is in
    memory (as before), else an array-like standardizing each window."""
    from ..files.dataset import StandardizedRows

    if data.in_memory:
        return standardize(data.X, mean, scale)
    return StandardizedRows(data.rows, mean, scale)


def _load_model(path):
    from .. import _persist

    if not os.path.exists(path):
        raise CLIError(f"{path}: no such model file")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, not a model file")
    return _persist.load(path)


def _check_features(model, data):
    d = data.X.shape[1]
    if d != model.n_features_in_:
        raise CLIError(
            f"{data.path}: {_constants.count(d, 'column')}, but the model was fitted "
            f"on {_constants.count(model.n_features_in_, 'feature')} (choose them "
            "with --columns)"
        )


def _describe_data(data):
    n, d = data.X.shape
    names = f" ({', '.join(data.feature_names)})" if data.feature_names else ""
    if len(names) > 80:
        names = names[:76] + "...)"
    return (f"{data.path}: {_constants.count(n, 'row')} x "
            f"{_constants.count(d, 'column')}{names}")


def _plot_rows(data, scaling=None):
    """The rows a plot draws, in memory (standardized with ``scaling``)."""
    import numpy as np

    from ..files import dataset

    n = data.X.shape[0]
    if n <= PLOT_ROWS:
        X = data.X if data.in_memory else dataset.to_array(data.rows)
    else:
        rng = np.random.RandomState(0)
        X = dataset.take_rows(data.rows, np.sort(rng.choice(n, PLOT_ROWS, replace=False)))
    return X if scaling is None else standardize(X, *scaling)


def finish_model(model, feature_names, scaling, out):
    """A fitted model as the command line saves it: DATA's column names and
    the --scale scaling attached, written to ``out`` (if given)."""
    import numpy as np

    if feature_names is not None:
        model.feature_names_in_ = np.asarray(feature_names, dtype=object)
    if scaling is not None:
        model.scaling_ = {"mean": scaling[0], "scale": scaling[1]}
    if out:
        try:
            model.save(out)
        except OSError as exc:
            raise CLIError(f"{out}: cannot write: {exc.strerror or exc}") from None


def _in_memory(X):
    """X as an ndarray (a memory map is one); an array-like read whole."""
    import numpy as np

    from ..files import dataset

    return X if isinstance(X, np.ndarray) else dataset.to_array(X)
