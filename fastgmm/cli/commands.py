"""``fastgmm fit``, ``predict`` and ``score``: batch clustering of data files.

`add_commands` adds the subcommands to the parser of ``fastgmm.__main__``.
Each command validates its outputs first, opens the data (see `_data`: a
memory map, an array-like read by windows, or an array in memory), fits or
loads a model, then makes one pass over the rows, window by window, that
writes every per-row output as it goes (through a temporary file renamed on
success) and adds up the report (``--json`` for a machine-readable one). No
array of the data's size is held, except for a search (which fits in memory)
and what is printed on standard output as JSON. Any problem with the input
ends the command with one line on stderr (``fastgmm: error: ...``) and exit
code 1.
"""

import argparse
import json
import math
import os
import re
import signal
import sys
import threading
import time
import warnings
from contextlib import ExitStack, contextmanager

from .._constants import BACKENDS, COVARIANCE_TYPES, CRITERIA, INIT_METHODS, WEIGHT_PRIOR_TYPES

#: Seconds a fit or search runs before its progress bar appears.
PROGRESS_DELAY = 1.0
#: Rows per window of the passes over the data after a fit, and of predict and
#: score (fewer when rows are wide: see `_window_rows`).
BLOCK_ROWS = 65536
#: Bytes of one window of those passes (its rows, or its n x k probabilities).
BLOCK_BYTES = 16 * 2**20
#: A plot of more rows draws a random sample of this many (read by windows).
PLOT_ROWS = 1_000_000

_TABLE_SUFFIXES = (".csv", ".tsv", ".npy")
#: --format values, the same as `_data.FORMATS` (here so that --help needs no NumPy)
DATA_FORMATS = ("npy", "csv", "tsv", "txt", "dat", "parquet")


class CLIError(Exception):
    """A problem to report to the user in one line."""


# ------------------------------------------------------------- argument types


#: The most values of K one search may try (a range is checked before it is
#: expanded: -k 1-100000000 is refused at once, not after filling memory).
MAX_COMPONENT_VALUES = 1000


def _components(text):
    """'5' -> [5]; '1-10' -> [1..10]; '2,4,8' and '1-3,6' too."""
    spans = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-"))
            else:
                lo = hi = int(part)
            if hi < lo or lo < 1:
                raise ValueError
            spans.append((lo, hi))
    except ValueError:
        spans = []
    if not spans:
        raise argparse.ArgumentTypeError(
            f"expected a number of components >= 1 like 5, a range like 1-10 or "
            f"a list like 2,4,8; got {text!r}"
        )
    count = sum(hi - lo + 1 for lo, hi in spans)
    if count > MAX_COMPONENT_VALUES:
        raise argparse.ArgumentTypeError(
            f"{text!r} asks for {count:,} numbers of components; a search tries at "
            f"most {MAX_COMPONENT_VALUES:,} (e.g. -k 1-50 or -k 10,20,50,100)"
        )
    values = set()
    for lo, hi in spans:
        values.update(range(lo, hi + 1))
    return sorted(values)


def _covariances(text):
    """'full' or 'full,diag' or 'all' -> list of covariance types."""
    if text.strip() == "all":
        return list(COVARIANCE_TYPES)
    types = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in types if t not in COVARIANCE_TYPES]
    if not types or bad:
        raise argparse.ArgumentTypeError(
            f"expected covariance types among {', '.join(COVARIANCE_TYPES)} "
            f"(comma-separated) or 'all'; got {text!r}"
        )
    return list(dict.fromkeys(types))


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _cv(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value.is_integer() and value >= 2:
        return int(value)
    if 0 < value < 1:
        return value
    raise argparse.ArgumentTypeError(
        f"expected a number of folds >= 2 or a held-out fraction in (0, 1), "
        f"got {text!r}"
    )


def _columns(text):
    """'x,y' / '0,2' / '0-3,5' -> tokens, resolved against the file in `_data`."""
    return [c.strip() for c in text.split(",") if c.strip()]


# -------------------------------------------------------------------- parser

_DATA_HELP = ("the data: a .npy, .csv, .tsv, .txt, .dat or .parquet file, one row "
              "per sample, or - for standard input")


def add_commands(commands):
    """Add ``fit``, ``predict`` and ``score`` to the subparsers ``commands``."""
    fit = commands.add_parser(
        "fit", help="fit a mixture to a data file, or search the best one",
        description=(
            "Fit a Gaussian mixture to DATA. With one number of components and "
            "one covariance type, one fit; with a range or list of either "
            "(-k 1-10, --covariance full,diag), a search that ranks every "
            "candidate by --criterion, prints the table and keeps the best."
        ),
    )
    fit.add_argument("data", help=_DATA_HELP)
    fit.add_argument("-k", "--components", dest="n_components", required=True,
                     type=_components, metavar="K",
                     help="number of components: 5, or a range 1-10 / list 2,4,8 "
                          f"to search (at most {MAX_COMPONENT_VALUES:,} values)")
    fit.add_argument("--covariance", type=_covariances, default=None,
                     metavar="TYPES",
                     help="full, tied, diag, spherical, a list (full,diag) or "
                          "'all' (default: full for one K, all for a range)")
    fit.add_argument("--criterion", default="bic",
                     choices=list(CRITERIA),
                     help="how a search ranks candidates: bic, aic, icl (lower "
                          "is better) or heldout (log-likelihood of held-out "
                          "rows, higher is better) (default: %(default)s)")
    fit.add_argument("--cv", type=_cv, default=None,
                     help="with --criterion heldout: K folds (>= 2) or the "
                          "held-out fraction (default: one 20%% split)")
    fit.add_argument("--n-init", type=_positive_int, default=1,
                     help="restarts per fit; the best lower bound is kept "
                          "(default: %(default)s)")
    fit.add_argument("--max-iter", type=_positive_int, default=100,
                     help="EM iterations at most, per restart (default: %(default)s)")
    fit.add_argument("--tol", type=float, default=1e-3,
                     help="convergence threshold on the change of the lower bound "
                          "per row (default: %(default)s)")
    fit.add_argument("--reg-covar", type=float, default=1e-6,
                     help="added to the diagonal of each covariance (default: "
                          "%(default)s)")
    fit.add_argument("--init", dest="init_params", default="kmeans",
                     choices=list(INIT_METHODS),
                     help="how the components start (default: %(default)s)")
    fit.add_argument("--scale", action="store_true",
                     help="standardize each column (subtract its mean, divide by "
                          "its standard deviation) before fitting; the scaling is "
                          "saved with the model and applied again by predict and "
                          "score (default: off)")
    fit.add_argument("--seed", type=int, default=0,
                     help="random seed (default: %(default)s)")
    fit.add_argument("--backend", default="auto", choices=list(BACKENDS),
                     help="compiled kernels to run; auto picks per workload "
                          "(default: %(default)s)")
    fit.add_argument("--threads", type=_positive_int, default=None,
                     help="kernel threads of each fit (default: all cores, shared "
                          "among a search's parallel fits)")
    fit.add_argument("--jobs", type=_positive_int, default=None,
                     help="fits a search runs at the same time (default: cores)")
    fit.add_argument("-o", "--out", metavar="MODEL.npz",
                     help="save the fitted (best) model here (default: not saved)")
    fit.add_argument("--bayesian", action="store_true",
                     help="fit a variational Bayesian mixture (BayesianGaussianMixture): "
                          "K is an upper bound, and the weight prior switches off "
                          "the components the data do not need; one K and one "
                          "covariance type (default: off)")
    fit.add_argument("--prior", choices=list(WEIGHT_PRIOR_TYPES),
                     default=WEIGHT_PRIOR_TYPES[0],
                     help="with --bayesian, the prior of the weights "
                          "(default: %(default)s)")
    fit.add_argument("--dask", action="store_true",
                     help="fit DATA, a directory or glob of .npy or .parquet files "
                          "read as one dask array, on a local dask cluster (needs "
                          "dask[distributed]; one K and one covariance type)")
    fit.add_argument("--scheduler", metavar="ADDRESS",
                     help="as --dask, on the dask.distributed scheduler at ADDRESS "
                          "(tcp://host:8786); every worker must read DATA's files "
                          "at the same path (default: no scheduler)")
    fit.add_argument("--labels", metavar="FILE",
                     help="write each row's component here (.csv, .tsv or .npy) "
                          "(default: not written)")
    _common_arguments(
        fit, columns_help="the columns to fit, by name, 0-based index or range "
                          "(0-3,5; comma-separated) (default: all, less a "
                          "leading row-index column)",
        plot_help="draw the mixture (beside the criterion curves for a search) "
                  "to this image (.png, .svg, .pdf); needs matplotlib "
                  "(default: no plot)")
    fit.set_defaults(func=_command(_fit))

    predict = commands.add_parser(
        "predict", help="label the rows of a data file with a saved model",
        description=(
            "Write the most probable component of each row of DATA (or, with "
            "--proba, the probability of each component) to --out, or as CSV "
            "to standard output."
        ),
    )
    predict.add_argument("model", help="a model saved by 'fastgmm fit --out'")
    predict.add_argument("data", help=_DATA_HELP)
    predict.add_argument("--proba", action="store_true",
                         help="write component probabilities instead of labels")
    predict.add_argument("-o", "--out", metavar="FILE",
                         help="output file (.csv, .tsv or .npy) (default: CSV "
                              "on standard output)")
    _common_arguments(
        predict, columns_help=_MODEL_COLUMNS_HELP,
        plot_help="draw the saved mixture over the rows of DATA, coloured by "
                  "their predicted component, to this image (.png, .svg, "
                  ".pdf); needs matplotlib (default: no plot)")
    predict.set_defaults(func=_command(_predict))

    score = commands.add_parser(
        "score", help="log-likelihood of a data file under a saved model",
        description=(
            "Print the mean log-likelihood per row of DATA under the model, "
            "with its BIC and AIC on DATA; --out writes each row's "
            "log-likelihood."
        ),
    )
    score.add_argument("model", help="a model saved by 'fastgmm fit --out'")
    score.add_argument("data", help=_DATA_HELP)
    score.add_argument("-o", "--out", metavar="FILE",
                       help="write each row's log-likelihood here (.csv, .tsv, "
                            ".npy) (default: not written)")
    _common_arguments(score, columns_help=_MODEL_COLUMNS_HELP, plot_help=None)
    score.set_defaults(func=_command(_score))


_MODEL_COLUMNS_HELP = (
    "the columns holding the model's features, in the order it was fitted "
    "with: names, 0-based indices or ranges (0-3,5; comma-separated) "
    "(default: the model's feature names when it has them and the file too, "
    "else all columns less a leading row-index column)"
)


def _common_arguments(parser, columns_help, plot_help):
    parser.add_argument("--columns", type=_columns, default=None, metavar="COLS",
                        help=columns_help)
    parser.add_argument("--format", dest="data_format", choices=DATA_FORMATS,
                        default=None,
                        help="read DATA as this format whatever its name (default: "
                             "from the suffix; for standard input, recognised "
                             "from its first bytes, else CSV text)")
    if plot_help is not None:
        parser.add_argument("--plot", metavar="IMAGE", help=plot_help)
    parser.add_argument("--json", action="store_true",
                        help="print a JSON report on standard output")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar, notes or report (errors and "
                             "warnings still shown)")


# ------------------------------------------------------------------- helpers


def _one_line(message):
    return " ".join(str(message).split())


def _command(func):
    """Run a command; report any input problem in one line, exit code 1.

    ``args.cleanup`` (an ExitStack) closes the data (removing its temporary
    files) when the command ends, however it ends; SIGTERM ends it as an
    interrupt does, so that this happens then too.
    """

    def run(args):
        try:
            with ExitStack() as cleanup, _warnings_as_lines(), _terminate_cleanly():
                args.cleanup = cleanup
                return func(args)
        except KeyboardInterrupt:
            print("fastgmm: interrupted", file=sys.stderr)
            return 130
        except _Terminated:
            print("fastgmm: terminated", file=sys.stderr)
            return 143
        except BrokenPipeError:
            # the reader of our standard output went away (e.g. `| head`)
            sys.stdout = open(os.devnull, "w")
            return 0
        except (CLIError, ValueError, OSError, ImportError, MemoryError) as exc:
            message = _one_line(exc) or type(exc).__name__
            if isinstance(exc, MemoryError):
                message = "out of memory"
            print(f"fastgmm: error: {message}", file=sys.stderr)
            return 1

    run.__name__ = func.__name__
    return run


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that cleanups run."""


@contextmanager
def _terminate_cleanly():
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _warnings_as_lines():
    """Print each distinct warning as one 'fastgmm: warning:' line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # columns are matched by name before the arrays reach the model
        warnings.filterwarnings("ignore", message=".*feature names.*")
        try:
            yield
        finally:
            seen = set()
            for w in caught:
                text = _one_line(w.message)
                if text not in seen:
                    seen.add(text)
                    print(f"fastgmm: warning: {text}", file=sys.stderr)


def _check_output(path, suffixes, what):
    """Fail before any work when an output cannot be written."""
    if path is None:
        return
    suffix = os.path.splitext(path)[1].lower()
    if suffixes is not None and suffix not in suffixes:
        raise CLIError(
            f"{path}: unsupported {what} file type {suffix or '(no extension)'!r}; "
            f"use {', '.join(suffixes)}"
        )
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CLIError(f"{path}: cannot write: no such directory {directory}")
    if os.path.isdir(path):
        raise CLIError(f"{path}: cannot write: it is a directory")
    if not os.access(directory, os.W_OK):
        raise CLIError(f"{path}: cannot write: permission denied")


def _check_plot_output(path):
    if path is None:
        return
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise CLIError(
            "--plot needs matplotlib, which is not installed; install it with "
            "pip install 'fastgmm[plot]'"
        ) from None
    formats = Figure().canvas.get_supported_filetypes()
    _check_output(path, tuple("." + f for f in sorted(formats)), "image")


@contextmanager
def _writing(path):
    """An output file written to a temporary file, renamed on success.

    A failure to create, finish or rename the file is reported as a
    `CLIError`; writes inside the block report theirs with `_write_errors`
    (an OSError from anything else there, say reading the data, passes on).
    """
    from ..files.model import atomic_output

    suffix = os.path.splitext(path)[1].lower()
    binary = suffix not in (".csv", ".tsv")
    kwargs = {} if binary else {"newline": "", "encoding": "utf-8"}
    inside = False
    try:
        with atomic_output(path, "wb" if binary else "w", **kwargs) as f:
            inside = True
            yield f
            inside = False
    except OSError as exc:
        if inside:
            raise
        raise CLIError(f"{path}: cannot write: {exc.strerror or exc}") from None


@contextmanager
def _write_errors(path):
    """Report an OSError of the writes in the block as 'PATH: cannot write'."""
    try:
        yield
    except OSError as exc:
        raise CLIError(f"{path}: cannot write: {exc.strerror or exc}") from None


class _Table:
    """A table of ``n_rows`` rows written window by window to ``f``: ``.npy``
    (its header first, for the final shape; dtype and columns from the first
    window), or CSV/TSV with a header line (also to a text stream).

    Nothing is written before the first window, so that a problem found
    before it leaves standard output empty.
    """

    def __init__(self, f, suffix, n_rows, header, path=None):
        self.f, self.suffix, self.n_rows, self.header = f, suffix, n_rows, header
        self.path = path
        self.written = 0

    def write(self, values):
        import numpy as np

        values = np.ascontiguousarray(values)
        with _write_errors(self.path) if self.path else _nothing():
            if self.suffix == ".npy":
                if self.written == 0:
                    shape = (self.n_rows,) + values.shape[1:]
                    self.f.write(_npy_header(values.dtype, shape))
                self.f.write(memoryview(values).cast("B"))
            else:
                delimiter = "\t" if self.suffix == ".tsv" else ","
                if self.written == 0:
                    self.f.write(delimiter.join(self.header) + "\n")
                fmt = "%d" if values.dtype.kind in "iu" else "%.10g"
                np.savetxt(self.f, values, fmt=fmt, delimiter=delimiter)
        self.written += values.shape[0]

    def finish(self):
        if self.written != self.n_rows:  # pragma: no cover - a bug, not bad input
            raise RuntimeError(f"wrote {self.written} rows of {self.n_rows}")


@contextmanager
def _nothing():
    yield


def _npy_header(dtype, shape):
    """The .npy header of an array of this dtype and shape (as np.save's)."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {
        "descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
        "shape": tuple(shape)})
    return buffer.getvalue()


@contextmanager
def _table(path, n_rows, header):
    """A `_Table` written to ``path`` (atomically), or None without a path."""
    if path is None:
        yield None
        return
    with _writing(path) as f:
        table = _Table(f, os.path.splitext(path)[1].lower(), n_rows, header, path)
        yield table
        table.finish()


def _read_data(args, names_wanted=None):
    """Open DATA as the options say; print its notes (unless --quiet).

    The data are closed (temporary files removed) when the command ends.
    """
    from ..files import data as _data

    progress = Progress(enabled=not args.quiet)
    name = _data.display_name(args.data)

    def reading(rows, done, total):
        progress.draw(f"reading {name}: {rows:,} rows, {_size(done)} of "
                      f"{_size(total)}  {_clock(progress.elapsed())}")

    try:
        data = _data.read(args.data, columns=args.columns, names_wanted=names_wanted,
                          fmt=args.data_format, progress=reading)
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
    if bound is not None and n_components > bound:
        raise CLIError(
            f"{args.data}: at most {bound:,} rows, fewer than the {n_components:,} "
            "components asked for"
        )


# ------------------------------------------------------- rows, window by window


def _window_rows(n_features, n_components=1):
    """Rows per window: at most `BLOCK_ROWS`, within `BLOCK_BYTES`."""
    wide = max(n_features, n_components) * 8
    return int(min(BLOCK_ROWS, max(256, BLOCK_BYTES // wide)))


_NON_FINITE = re.compile(r"Input X contains (NaN|infinity)")
_NON_FINITE_ROW = re.compile(r"\(row (\d+)\)\.?$")


@contextmanager
def _data_errors(data, offset=0):
    """The estimator's error for a NaN or infinity in X, as the CLI's line
    naming the data row (1-based; ``offset``: the row of X's row 0)."""
    from ..files import data as _data

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
            raise CLIError(_data.non_finite_message(
                data.path, offset + int(row) + 1)) from None
        _data.check_finite(data)  # finds the row (the message had none)
        raise


def _windows(data, scaling=None, rows=None, progress=None, what=None):
    """(start, rows in memory) of consecutive windows of DATA, checked for
    NaN and infinity, standardized with ``scaling`` (mean, scale) if given."""
    from ..files import data as _data

    n, d = data.X.shape
    step = rows or _window_rows(d)
    start_time = time.perf_counter()
    for start in range(0, n, step):
        stop = min(start + step, n)
        block = data.window(start, stop)
        _data.check_window(data.path, block, start)
        if scaling is not None:
            block = standardize(block, *scaling)
        yield start, block
        if progress is not None:
            elapsed = time.perf_counter() - start_time
            progress.draw(f"{what}: {stop:,}/{n:,} rows  "
                          f"{_rate(stop / elapsed if elapsed > 0 else math.inf)}  "
                          f"{_clock(progress.elapsed())}", force=stop == n)


# -------------------------------------------------------------- --scale


def _column_statistics(data, progress=None):
    """Column means and scales (standard deviations; 1 for a constant column)
    as float64, and the largest absolute value of each column, in one pass
    over windows.

    The values are shifted by the first row (exactly, for values of one
    magnitude), then each window's mean and sum of squared deviations are
    merged into the running ones (Chan, Golub and LeVeque's update), so that
    nothing cancels when the values sit far from zero.
    """
    import numpy as np

    d = data.X.shape[1]
    count, mean, m2, top = 0, np.zeros(d), np.zeros(d), np.zeros(d)
    shift = exponent = None
    for _, block in _windows(data, progress=progress, what="scaling"):
        block = np.asarray(block, dtype=np.float64)
        np.maximum(top, np.max(np.abs(block), axis=0), out=top)
        if shift is None:
            # each column in units of a power of two near its first window's
            # largest value (exact): squares of values near 1e300 overflow,
            # of values near 1e-300 underflow
            exponent = np.frexp(np.max(np.abs(block), axis=0))[1]
            shift = np.ldexp(block[0], -exponent)
        block = np.ldexp(block, -exponent) - shift
        m = block.shape[0]
        block_mean = block.mean(axis=0)
        diff = block - block_mean
        block_m2 = np.einsum("ij,ij->j", diff, diff)
        delta = block_mean - mean
        total = count + m
        mean = mean + delta * (m / total)
        m2 = m2 + block_m2 + delta * delta * (count * m / total)
        count = total
    mean = mean + shift
    var = m2 / count
    # constant up to rounding (the bound of scikit-learn's StandardScaler)
    eps = np.finfo(np.float64).eps
    constant = var <= count * eps * var + (count * mean * eps) ** 2
    scale = np.ldexp(np.sqrt(var), exponent)
    mean = np.ldexp(mean, exponent)
    scale[constant] = 1.0
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale))):
        from ..files.data import DataError

        raise DataError(f"{data.path}: values too large to scale (a column's mean "
                        "or spread overflows float64)")
    return mean, scale, top


def standardize(X, mean, scale):
    """(X - mean) / scale: see `_data.standardize`."""
    from ..files.data import standardize

    return standardize(X, mean, scale)


def _standardized(data, mean, scale):
    """DATA standardized, as the estimator reads it: an array when DATA is in
    memory (as before), else an array-like standardizing each window."""
    from ..files.data import StandardizedRows

    if data.in_memory:
        return standardize(data.X, mean, scale)
    return StandardizedRows(data.rows, mean, scale)


# ------------------------------------------------------------ table format


def format_column(values, digits, zero_below=None):
    """One table column of numbers as strings in one format, right-aligned.

    Fixed notation with the same number of decimals for all, chosen so that
    the largest magnitude shows ``digits`` significant digits; exponent
    notation (``digits`` significant digits) for all when the largest is
    below 1e-3 or at least 1e9. Values of magnitude at most ``zero_below``
    are shown as 0 (NaN and infinities as nan/inf).
    """
    shown = [0.0 if zero_below is not None and abs(v) <= zero_below else v
             for v in values]
    finite = [abs(v) for v in shown if math.isfinite(v) and v != 0]
    top = max(finite, default=0.0)
    if top == 0 or 1e-3 <= top < 1e9:
        decimals = 0 if top == 0 else max(0, digits - 1 - math.floor(math.log10(top)))
        if top == 0:
            decimals = min(digits - 1, 1)
        texts = [f"{v:.{decimals}f}" if math.isfinite(v) else str(v) for v in shown]
    else:
        texts = [f"{v:.{digits - 1}e}" if math.isfinite(v) else str(v) for v in shown]
    width = max((len(t) for t in texts), default=0)
    return [t.rjust(width) for t in texts]


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
            f"{data.path}: {d} columns, but the model was fitted on "
            f"{model.n_features_in_} features (choose them with --columns)"
        )


def _number(value):
    """JSON-safe float (NaN and infinities become null)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _jsonable(record):
    out = {}
    for key, value in record.items():
        if isinstance(value, float):
            value = _number(value)
        elif hasattr(value, "item"):  # numpy scalars
            value = value.item()
            if isinstance(value, float):
                value = _number(value)
        out[key] = value
    return out


def _print_json(report):
    json.dump(report, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def _describe_data(data):
    n, d = data.X.shape
    names = f" ({', '.join(data.feature_names)})" if data.feature_names else ""
    if len(names) > 80:
        names = names[:76] + "...)"
    return f"{data.path}: {n:,} rows x {d} columns{names}"


# ------------------------------------------------------------------ progress


class Progress:
    """A one-line progress display on stderr that appears after a delay.

    On a terminal the line is redrawn in place (at most 10 times a second);
    otherwise (a log file) a new line is written at most once a second.
    """

    #: Seconds between redraws on a terminal, and between lines in a log.
    interval_terminal = 0.1
    interval_log = 1.0

    def __init__(self, enabled=True, stream=None, delay=None):
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.delay = PROGRESS_DELAY if delay is None else delay
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.last = -math.inf
        self.width = 0
        self.shown = False

    def elapsed(self):
        return time.perf_counter() - self.start

    def draw(self, text, force=False):
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.start < self.delay:
            return
        interval = self.interval_terminal if self.tty else self.interval_log
        if not force and now - self.last < interval:
            return
        self.last = now
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.shown = True

    def close(self):
        if self.shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()
        self.shown = False

    def fit_callback(self, n_init, max_iter, n_rows=None):
        """A ``GaussianMixture.fit`` callback that draws this line (with the
        rows read per second, rows x iterations / time, given ``n_rows``)."""
        state = {"init": 0, "start": time.perf_counter()}

        def prefix():
            return f"init {state['init'] + 1}/{n_init}  " if n_init > 1 else ""

        def callback(event):
            kind = event["event"]
            if kind == "init_begin":
                state.update(init=event["init"], start=time.perf_counter())
            elif kind == "iteration":
                n_iter, change = event["n_iter"], event["change"]
                per_iter = (time.perf_counter() - state["start"]) / n_iter
                gain = (f" (change {change:+.2e})" if math.isfinite(change)
                        else "")
                rate = ("" if n_rows is None else
                        f"  {_rate(n_rows / per_iter if per_iter > 0 else math.inf)}")
                self.draw(
                    f"fit: {prefix()}iteration {n_iter}/{max_iter}"
                    f"  lower bound {event['lower_bound']:.6g}{gain}  "
                    f"{_duration(per_iter)}/iteration{rate}  {_clock(self.elapsed())}"
                )
            elif kind == "init_end":
                status = "converged" if event["converged"] else "did not converge"
                self.draw(
                    f"fit: {prefix()}lower bound {event['lower_bound']:.6g} "
                    f"({status})  {_clock(self.elapsed())}",
                    force=True,
                )

        return callback

    def search_update(self, event):
        done, total, outcome = event["done"], event["total"], event
        per_fit = self.elapsed() / done
        self.draw(
            f"search: {done}/{total} fits  last: {outcome['n_components']} "
            f"components, {outcome['covariance_type']} "
            f"({_duration(outcome['fit_time'])})  {_duration(per_fit)}/fit  "
            f"{_clock(self.elapsed())}",
            force=done == total,
        )


def _duration(seconds):
    return f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _clock(seconds):
    minutes, seconds = divmod(seconds, 60)
    return f"{int(minutes)}:{seconds:04.1f}"


def _rate(rows_per_second):
    """'12.3M rows/s'."""
    for factor, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rows_per_second >= factor:
            return f"{rows_per_second / factor:.3g}{unit} rows/s"
    return f"{rows_per_second:.3g} rows/s"


def _size(n_bytes):
    """'1.2 GB'."""
    for factor, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if n_bytes >= factor:
            return f"{n_bytes / factor:.1f} {unit}"
    return f"{n_bytes} B"


# ----------------------------------------------------------------------- plot


def _save_plot(path, model, data, scaling=None, search=None):
    """Draw the mixture (and the search, beside it) to an image file, from
    DATA's rows (a random sample of `PLOT_ROWS` of them when it has more)."""
    from matplotlib.figure import Figure

    from .. import plot

    X = _plot_rows(data, scaling)
    panels = 2 if search is not None else 1
    fig = Figure(figsize=(6.4 * panels, 5.2), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    if search is not None:
        plot.search(search, ax=axes[0])
    plot.mixture(model, X, ax=axes[-1])
    with _writing(path) as f, _write_errors(path):
        fig.savefig(f, format=os.path.splitext(path)[1].lower()[1:], dpi=100)


def _plot_rows(data, scaling=None):
    """The rows a plot draws, in memory (standardized with ``scaling``)."""
    import numpy as np

    from ..files import data as _data

    n = data.X.shape[0]
    if n <= PLOT_ROWS:
        X = data.X if data.in_memory else _data.to_array(data.rows)
    else:
        rng = np.random.RandomState(0)
        X = _data.take_rows(data.rows, np.sort(rng.choice(n, PLOT_ROWS, replace=False)))
    return X if scaling is None else standardize(X, *scaling)


# ------------------------------------------------------------------ commands


def _fit(args):
    if args.bayesian and (args.dask or args.scheduler):
        raise CLIError("--bayesian does not run on dask yet: fit without --dask")
    if args.dask or args.scheduler:
        try:
            from .dask import fit_command
        except ImportError as exc:
            raise CLIError(f"--dask and --scheduler need dask.distributed ({exc}); "
                           "pip install 'fastgmm[dask]'") from None
        return fit_command(args)
    import numpy as np

    from .._search import GaussianMixtureSearch, criterion_label
    from ..mixture import GaussianMixture

    ks = args.n_components
    types = args.covariance or (["full"] if len(ks) == 1 else list(COVARIANCE_TYPES))
    is_search = len(ks) > 1 or len(types) > 1
    if args.bayesian and is_search:
        raise CLIError("--bayesian fits one model: give one K (an upper bound on the "
                       "components) and one covariance type")
    if args.prior != WEIGHT_PRIOR_TYPES[0] and not args.bayesian:
        raise CLIError("--prior applies to --bayesian only")
    if args.cv is not None and args.criterion != "heldout":
        raise CLIError("--cv applies to --criterion heldout only")
    _check_output(args.out, (".npz",), "model")
    _check_output(args.labels, _TABLE_SUFFIXES, "labels")
    _check_plot_output(args.plot)
    _check_rows_before_reading(args, max(ks))

    data = _read_data(args)
    X = data.X
    n_samples = X.shape[0]
    if n_samples < max(ks):
        raise CLIError(
            f"{data.path}: {n_samples} rows, fewer than the {max(ks)} components "
            "asked for"
        )
    if n_samples < 2:
        raise CLIError(f"{data.path}: {n_samples} row; a fit needs at least 2")
    scaling = magnitudes = None
    if args.scale:
        progress = Progress(enabled=not args.quiet)
        try:
            mean, scale, magnitudes = _column_statistics(data, progress)
        finally:
            progress.close()
        scaling = (mean, scale)
        X = _standardized(data, mean, scale)

    progress = Progress(enabled=not args.quiet)
    params = dict(tol=args.tol, reg_covar=args.reg_covar, max_iter=args.max_iter,
                  init_params=args.init_params, random_state=args.seed,
                  n_init=args.n_init, backend=args.backend, n_threads=args.threads)
    start = time.perf_counter()
    search = None
    with _data_errors(data), _init_sample_note(args.quiet):
        try:
            if is_search:
                search = GaussianMixtureSearch(
                    ks, covariance_type=types, criterion=args.criterion, cv=args.cv,
                    n_jobs=args.jobs or -1, **params,
                )
                # a search fits in memory: a memory map as it is, an
                # array-like read whole
                search.fit(_in_memory(X), callback=progress.search_update)
                model = search.best_estimator_
            else:
                if args.bayesian:
                    from .._bayesian import BayesianGaussianMixture

                    model = BayesianGaussianMixture(
                        n_components=ks[0], covariance_type=types[0],
                        weight_concentration_prior_type=args.prior, **params)
                else:
                    model = GaussianMixture(ks[0], covariance_type=types[0], **params)
                model.fit(X, callback=progress.fit_callback(args.n_init, args.max_iter,
                                                            n_samples))
        finally:
            progress.close()
    fit_time = time.perf_counter() - start
    finish_model(model, data.feature_names, scaling, args.out)

    # one pass over the rows: the labels file, and the report's numbers
    report = args.json or not args.quiet
    own_criteria = search is None or args.criterion == "heldout"
    outcome = {}
    if args.labels or report:
        outcome = _fit_pass(model, data, scaling, args.labels,
                            criteria=report and own_criteria,
                            magnitudes=report and magnitudes is None,
                            quiet=args.quiet)
    if args.plot:
        _save_plot(args.plot, model, data, scaling, search)
    if not report:
        return 0
    criteria = outcome if own_criteria else dict(search.results_[search.best_index_])
    if magnitudes is None:
        magnitudes = outcome["magnitudes"]

    means = np.asarray(model.means_, dtype=np.float64)
    if scaling is not None:
        means = means * scaling[1] + scaling[0]  # in the units of DATA
    bayesian = None
    if args.bayesian:
        from ..plot import MIN_WEIGHT

        # the information criteria count the parameters of a maximum-likelihood
        # fit; a variational fit is judged by its lower bound (the ELBO)
        criteria = dict(criteria, bic=None, aic=None, icl=None)
        bayesian = {
            "weight_concentration_prior_type": args.prior,
            "effective_threshold": MIN_WEIGHT,
            "effective_components": int(np.sum(model.weights_ > MIN_WEIGHT)),
        }
    summary = {
        "data": data.path,
        "n_samples": int(n_samples),
        "n_features": int(X.shape[1]),
        "feature_names": data.feature_names,
        "n_components": int(model.n_components),
        "covariance_type": model.covariance_type,
        "converged": bool(model.converged_),
        "n_iter": int(model.n_iter_),
        "lower_bound": _number(model.lower_bound_),
        "log_likelihood": _number(criteria["log_likelihood"]),
        "bic": _number(criteria["bic"]),
        "aic": _number(criteria["aic"]),
        "icl": _number(criteria["icl"]),
        "fit_time": (search.results_[search.best_index_]["fit_time"]
                     if search is not None and args.criterion != "heldout"
                     else fit_time),
        "total_time": fit_time,
        "weights": [float(w) for w in model.weights_],
        "means": means.tolist(),
        "component_sizes": [int(s) for s in outcome["sizes"]],
        "scaling": None if scaling is None else {
            "mean": scaling[0].tolist(), "scale": scaling[1].tolist()},
        "model": args.out,
        "labels": args.labels,
        "plot": args.plot,
        "bayesian": bayesian,
    }
    if search is not None:
        ranked = sorted(search.results_, key=lambda r: r["rank"])
        summary["search"] = {
            "criterion": args.criterion,
            "n_jobs": search.n_jobs_,
            "n_threads": search.n_threads_,
            "results": [_jsonable(r) for r in ranked],
        }
    if args.json:
        _print_json(summary)
        return 0
    out = sys.stdout
    print(_describe_data(data), file=out)
    if scaling is not None:
        print("columns standardized (--scale): the log-likelihood, lower bound, "
              "BIC, AIC and ICL are of the standardized data; means are shown in "
              "the units of the data", file=out)
    if search is not None:
        print(f"search: {len(search.results_)} candidates ranked by "
              f"{criterion_label(args.criterion)}, {search.n_jobs_} at a time "
              f"x {search.n_threads_} thread(s), {fit_time:.2f} s", file=out)
        _print_ranking(ranked, args.criterion, out)
        print(f"best: {model.n_components} "
              f"component{'' if model.n_components == 1 else 's'}, "
              f"{model.covariance_type!r}", file=out)
    _print_model(summary, magnitudes, out)
    for key, what in (("model", "model saved to"), ("labels", "labels written to"),
                      ("plot", "plot written to")):
        if summary[key]:
            print(f"{what} {summary[key]}", file=out)
    return 0


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

    from ..files import data as _data

    return X if isinstance(X, np.ndarray) else _data.to_array(X)




@contextmanager
def _init_sample_note(quiet):
    """The estimator's warning that it initializes from a sample of the rows
    (a fit read by windows, above its budget), as a note; other warnings pass."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    from ..mixture import _InitSampleWarning

    notes = []
    for w in caught:
        if not isinstance(w.message, _InitSampleWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        elif not quiet and not notes:
            notes.append(w.message)
            print(f"fastgmm: note: the initialization uses a random sample of "
                  f"{w.message.size:,} of the {w.message.n_samples:,} rows (drawn "
                  "with --seed), as "
                  "initializing from all of them would take more memory",
                  file=sys.stderr)


def _fit_pass(model, data, scaling, labels_path, criteria, magnitudes, quiet):
    """One pass over DATA after a fit, window by window: write each row's
    label (to ``labels_path``, if given) and add up the rows per component,
    with ``criteria`` the log-likelihood, BIC, AIC and ICL (as
    `_search.information_criteria`), with ``magnitudes`` the largest absolute
    value of each column (of DATA unscaled; ``scaling`` must be None)."""
    import numpy as np

    from ..em import criteria as _criteria
    from ..em.covariance import n_parameters

    n, d = data.X.shape
    k = model.n_components
    sizes = np.zeros(k, dtype=np.int64)
    top = np.zeros(d) if magnitudes else None
    log_likelihood = entropy = 0.0
    progress = Progress(enabled=not quiet)
    try:
        with _table(labels_path, n, ["label"]) as table:
            for start, block in _windows(data, scaling, rows=_window_rows(d, k),
                                         progress=progress, what="labels"):
                with _data_errors(data, start):
                    labels = model.predict(block).astype(np.int64, copy=False)
                    if criteria:
                        log_likelihood += float(np.sum(model.score_samples(block),
                                                       dtype=np.float64))
                        resp = model.predict_proba(block).astype(np.float64,
                                                                 copy=False)
                        with np.errstate(divide="ignore", invalid="ignore"):
                            # r log r -> 0 as r -> 0
                            entropy -= float(np.sum(np.where(
                                resp > 0, resp * np.log(resp), 0.0)))
                sizes += np.bincount(labels, minlength=k)
                if top is not None:
                    np.maximum(top, np.max(np.abs(block.astype(np.float64, copy=False)),
                                           axis=0), out=top)
                if table is not None:
                    table.write(labels)
    finally:
        progress.close()
    outcome = {"sizes": sizes, "magnitudes": top}
    if criteria:
        p = n_parameters(k, d, model.covariance_type)
        outcome.update(
            log_likelihood=log_likelihood, n_parameters=p,
            bic=_criteria.bic(log_likelihood, p, n),
            aic=_criteria.aic(log_likelihood, p),
            icl=_criteria.icl(log_likelihood, p, n, entropy))
    return outcome


def _print_ranking(ranked, criterion, out):
    ok = [r for r in ranked if r["error"] is None]
    values = dict(zip((id(r) for r in ok),
                      format_column([float(r["criterion"]) for r in ok], 8)))
    width = max([14] + [len(v) for v in values.values()])
    header = (f"{'rank':>4}  {'k':>3}  {'covariance':<10}  {criterion:>{width}}  "
              f"{'params':>6}  {'iter':>5}  {'converged':>9}  {'time':>8}")
    print(header, file=out)
    for r in ranked:
        if r["error"] is not None:
            print(f"{r['rank']:>4}  {r['n_components']:>3}  "
                  f"{r['covariance_type']:<10}  failed: {_one_line(r['error'])[:70]}",
                  file=out)
            continue
        n_iter = r["n_iter"]
        n_iter = f"{n_iter:.1f}" if isinstance(n_iter, float) else str(n_iter)
        print(f"{r['rank']:>4}  {r['n_components']:>3}  {r['covariance_type']:<10}  "
              f"{values[id(r)]:>{width}}  {r['n_parameters']:>6}  {n_iter:>5}  "
              f"{'yes' if r['converged'] else 'no':>9}  "
              f"{_duration(r['fit_time']):>8}", file=out)


#: Means shown per component in the report (the JSON report has them all).
SHOWN_FEATURES = 6


def _print_model(summary, magnitudes, out):
    status = "converged" if summary["converged"] else "did not converge"
    k = summary["n_components"]
    print(f"fitted {k} component{'' if k == 1 else 's'}, covariance "
          f"{summary['covariance_type']!r}, in {summary['fit_time']:.2f} s: "
          f"{summary['n_iter']} iterations, {status}", file=out)
    bayesian = summary.get("bayesian")
    if bayesian is not None:
        print(f"lower bound (ELBO) {summary['lower_bound']:.6g}; log-likelihood "
              f"{summary['log_likelihood']:.6g}; weight prior "
              f"{bayesian['weight_concentration_prior_type']}", file=out)
        print(f"effective components: {bayesian['effective_components']} of "
              f"{summary['n_components']} (weight above "
              f"{bayesian['effective_threshold']:g})", file=out)
    else:
        print(f"lower bound {summary['lower_bound']:.6g} per row; log-likelihood "
              f"{summary['log_likelihood']:.6g}; BIC {summary['bic']:.6g}; "
              f"AIC {summary['aic']:.6g}; ICL {summary['icl']:.6g}", file=out)
    means = summary["means"]
    shown = min(SHOWN_FEATURES, len(means[0]))
    # one format per feature: the same decimals in every component's row
    columns = [format_column([m[j] for m in means], 4,
                             zero_below=1e-300 * float(magnitudes[j]))
               for j in range(shown)]
    more = ", ..." if len(means[0]) > shown else ""
    weights = format_column(summary["weights"], 4)
    print(f"{'component':>9}  {'weight':>7}  {'rows':>9}  mean", file=out)
    for c, size in enumerate(summary["component_sizes"]):
        mean = ", ".join(column[c] for column in columns)
        print(f"{c:>9}  {weights[c]:>7}  {size:>9,}  [{mean}{more}]", file=out)


def _model_and_data(args):
    """The model, DATA, and the model's scaling (mean, scale) or None."""
    from .._persist import scaling_of

    model = _load_model(args.model)
    names = getattr(model, "feature_names_in_", None)
    data = _read_data(args, names_wanted=None if names is None
                      else [str(n) for n in names])
    _check_features(model, data)
    return model, data, scaling_of(model)


def _predict(args):
    import numpy as np

    _check_output(args.out, _TABLE_SUFFIXES, "output")
    _check_plot_output(args.plot)
    model, data, scaling = _model_and_data(args)
    n, d = data.X.shape
    k = model.n_components
    header = [f"p{c}" for c in range(k)] if args.proba else ["label"]
    sizes = np.zeros(k, dtype=np.int64)
    # JSON without --out lists the values; CSV on standard output otherwise
    listed = [] if args.out is None and args.json else None
    to_stdout = args.out is None and not args.json
    progress = Progress(enabled=not args.quiet and not (
        to_stdout and getattr(sys.stdout, "isatty", lambda: False)()))
    try:
        with _table(args.out, n, header) as table:
            if to_stdout:
                table = _Table(sys.stdout, ".csv", n, header)
            for start, block in _windows(data, scaling, rows=_window_rows(d, k),
                                         progress=progress, what="predict"):
                with _data_errors(data, start):
                    if args.proba:
                        values = model.predict_proba(block)
                        labels = values.argmax(axis=1)
                    else:
                        values = labels = model.predict(block).astype(np.int64,
                                                                      copy=False)
                sizes += np.bincount(labels, minlength=k)
                if table is not None:
                    table.write(values)
                if listed is not None:
                    listed.extend(values.tolist())
    finally:
        progress.close()
    if args.plot:
        _save_plot(args.plot, model, data, scaling)
    report = {
        "model": args.model,
        "data": data.path,
        "n_samples": int(n),
        "n_components": int(k),
        "component_sizes": [int(s) for s in sizes],
        "scaled": scaling is not None,
        "out": args.out,
        "plot": args.plot,
    }
    if listed is not None:
        report["proba" if args.proba else "labels"] = listed
    if args.json:
        _print_json(report)
    elif args.out is not None and not args.quiet:
        what = "probabilities" if args.proba else "labels"
        print(f"{_describe_data(data)}\n{what} written to {args.out}; rows per "
              "component: " + ", ".join(f"{c}: {s:,}" for c, s in enumerate(sizes)))
        if args.plot:
            print(f"plot written to {args.plot}")
    return 0


def _score(args):
    import numpy as np

    from ..em import criteria as _criteria
    from ..em.covariance import n_parameters

    _check_output(args.out, _TABLE_SUFFIXES, "output")
    model, data, scaling = _model_and_data(args)
    n, d = data.X.shape
    total = 0.0
    progress = Progress(enabled=not args.quiet)
    try:
        with _table(args.out, n, ["log_likelihood"]) as table:
            for start, block in _windows(data, scaling, progress=progress,
                                         what="score"):
                with _data_errors(data, start):
                    log_prob = model.score_samples(block)
                total += float(np.sum(log_prob, dtype=np.float64))
                if table is not None:
                    table.write(log_prob)
    finally:
        progress.close()
    p = n_parameters(model.n_components, model.n_features_in_, model.covariance_type)
    report = {
        "model": args.model,
        "data": data.path,
        "n_samples": int(n),
        "mean_log_likelihood": _number(total / n),
        "log_likelihood": _number(total),
        "bic": _number(_criteria.bic(total, p, n)),
        "aic": _number(_criteria.aic(total, p)),
        "scaled": scaling is not None,
        "out": args.out,
    }
    if args.json:
        _print_json(report)
    elif not args.quiet:
        of = " of the standardized data (the model's --scale)" if report["scaled"] else ""
        print(f"{_describe_data(data)}\nmean log-likelihood{of} "
              f"{report['mean_log_likelihood']:.6g} per row (total "
              f"{report['log_likelihood']:.6g}); BIC {report['bic']:.6g}; "
              f"AIC {report['aic']:.6g}")
        if args.out:
            print(f"log-likelihoods written to {args.out}")
    return 0
