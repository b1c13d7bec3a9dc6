"""What a command writes: per-row tables (.csv, .tsv, .npy) through
temporary files renamed on success, numbers and JSON reports, the model
summary, and the progress bar on stderr.
"""

import json
import math
import os
import sys
import time
from contextlib import contextmanager

from .._constants import count
from .errors import CLIError, _one_line

#: Seconds a fit or search runs before its progress bar appears.
PROGRESS_DELAY = 1.0


_TABLE_SUFFIXES = (".csv", ".tsv", ".npy")


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
    from ..files.atomic import atomic_output

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

        from ..files.dataset import npy_header

        values = np.ascontiguousarray(values)
        with _write_errors(self.path) if self.path else _nothing():
            if self.suffix == ".npy":
                if self.written == 0:
                    shape = (self.n_rows,) + values.shape[1:]
                    self.f.write(npy_header(values.dtype, shape))
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
            f"search: {done}/{total} fits  last: "
            f"{count(outcome['n_components'], 'component')}, {outcome['covariance_type']} "
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
    t = summary.get("family") == "t"  # (a t mixture: its dof, a column below)
    dof = summary.get("dof")
    family = (f" (Student t, dof {dof if isinstance(dof, str) else format(dof, 'g')})"
              if t else "")
    print(f"fitted {count(k, 'component')}{family}, covariance "
          f"{summary['covariance_type']!r}, in {summary['fit_time']:.2f} s: "
          f"{count(summary['n_iter'], 'iteration')}, {status}", file=out)
    bayesian = summary.get("bayesian")
    # each number in total and per row: a Bayesian mixture's lower bound
    # (scikit-learn's ELBO, which leaves out an additive constant, so it is
    # no bound on the log-likelihood's value) is a total, a GaussianMixture's
    # a mean per row
    log_likelihood = (f"log-likelihood {summary['log_likelihood']:.6g} in total, "
                      f"{summary['mean_log_likelihood']:.6g} per row")
    if bayesian is not None:
        print(f"lower bound (ELBO, up to a constant) {summary['lower_bound']:.6g} in total, "
              f"{summary['lower_bound_per_row']:.6g} per row; {log_likelihood}; "
              f"weight prior {bayesian['weight_concentration_prior_type']}", file=out)
        print(f"effective components: {bayesian['effective_components']} of "
              f"{summary['n_components']} (weight above "
              f"{bayesian['effective_threshold']:g})", file=out)
    else:
        print(f"lower bound {summary['lower_bound']:.6g} per row; {log_likelihood}; "
              f"BIC {summary['bic']:.6g}; "
              f"AIC {summary['aic']:.6g}; ICL {summary['icl']:.6g}", file=out)
    means = summary["means"]
    shown = min(SHOWN_FEATURES, len(means[0]))
    # one format per feature: the same decimals in every component's row
    columns = [format_column([m[j] for m in means], 4,
                             zero_below=1e-300 * float(magnitudes[j]))
               for j in range(shown)]
    more = ", ..." if len(means[0]) > shown else ""
    weights = format_column(summary["weights"], 4)
    dofs = format_column(summary["degrees_of_freedom"], 4) if t else None
    width = max([3] + [len(v) for v in dofs]) if t else 0
    print(f"{'component':>9}  {'weight':>7}  {'rows':>9}  "
          + (f"{'dof':>{width}}  " if t else "") + "mean", file=out)
    for c, size in enumerate(summary["component_sizes"]):
        mean = ", ".join(column[c] for column in columns)
        print(f"{c:>9}  {weights[c]:>7}  {size:>9,}  "
              + (f"{dofs[c]:>{width}}  " if t else "") + f"[{mean}{more}]", file=out)
    if "noise_weight" in summary:
        print(f"{'noise':>9}  {summary['noise_weight']:>7.4f}  "
              f"{summary['noise_rows']:>9,}  (uniform over a volume of "
              f"{summary['noise_volume']:.6g}; label -1)", file=out)
