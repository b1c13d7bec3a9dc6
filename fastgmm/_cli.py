"""``fastgmm fit``, ``predict`` and ``score``: batch clustering of data files.

`add_commands` adds the subcommands to the parser of ``fastgmm.__main__``.
Each command validates its outputs first, reads the data once (see `_data`),
fits or loads a model, writes every output through a temporary file renamed
on success, then prints a report (``--json`` for a machine-readable one).
Any problem with the input ends the command with one line on stderr
(``fastgmm: error: ...``) and exit code 1.
"""

import argparse
import json
import math
import os
import sys
import time
import warnings
from contextlib import contextmanager

from ._constants import BACKENDS, COVARIANCE_TYPES, CRITERIA, INIT_METHODS

#: Seconds a fit or search runs before its progress bar appears.
PROGRESS_DELAY = 1.0
#: Rows per block when labelling a large file (bounds the n x k scratch array).
BLOCK_ROWS = 65536

_TABLE_SUFFIXES = (".csv", ".tsv", ".npy")


class CLIError(Exception):
    """A problem to report to the user in one line."""


# ------------------------------------------------------------- argument types


def _components(text):
    """'5' -> [5]; '1-10' -> [1..10]; '2,4,8' and '1-3,6' too."""
    values = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-"))
                if hi < lo:
                    raise ValueError
                values.extend(range(lo, hi + 1))
            else:
                values.append(int(part))
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a number of components >= 1 like 5, a range like 1-10 or "
            f"a list like 2,4,8; got {text!r}"
        )
    return sorted(set(values))


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
    return [c.strip() for c in text.split(",") if c.strip()]


# -------------------------------------------------------------------- parser


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
    fit.add_argument("data", help="a .npy, .csv, .tsv or .parquet file, one row per sample")
    fit.add_argument("-k", "--components", dest="n_components", required=True,
                     type=_components, metavar="K",
                     help="number of components: 5, or a range 1-10 / list 2,4,8 "
                          "to search")
    fit.add_argument("--covariance", type=_covariances, default=None,
                     metavar="TYPES",
                     help="full, tied, diag, spherical, a list (full,diag) or "
                          "'all' (default: full for one K, all for a range)")
    fit.add_argument("--criterion", default="bic",
                     choices=list(CRITERIA),
                     help="how a search ranks candidates (default: bic)")
    fit.add_argument("--cv", type=_cv, default=None,
                     help="with --criterion heldout: K folds (>= 2) or the "
                          "held-out fraction (default: one 20%% split)")
    fit.add_argument("--n-init", type=_positive_int, default=1,
                     help="restarts per fit; the best lower bound is kept")
    fit.add_argument("--max-iter", type=_positive_int, default=100)
    fit.add_argument("--tol", type=float, default=1e-3)
    fit.add_argument("--reg-covar", type=float, default=1e-6)
    fit.add_argument("--init", dest="init_params", default="kmeans",
                     choices=list(INIT_METHODS))
    fit.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    fit.add_argument("--backend", default="auto", choices=list(BACKENDS))
    fit.add_argument("--threads", type=_positive_int, default=None,
                     help="kernel threads of each fit (default: all cores, shared "
                          "among a search's parallel fits)")
    fit.add_argument("--jobs", type=_positive_int, default=None,
                     help="fits a search runs at the same time (default: cores)")
    fit.add_argument("-o", "--out", metavar="MODEL.npz",
                     help="save the fitted (best) model here")
    fit.add_argument("--labels", metavar="FILE",
                     help="write each row's component here (.csv, .tsv or .npy)")
    _common_arguments(fit)
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
    predict.add_argument("data", help="a .npy, .csv, .tsv or .parquet file")
    predict.add_argument("--proba", action="store_true",
                         help="write component probabilities instead of labels")
    predict.add_argument("-o", "--out", metavar="FILE",
                         help="output file (.csv, .tsv or .npy); default: CSV "
                              "on standard output")
    _common_arguments(predict)
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
    score.add_argument("data", help="a .npy, .csv, .tsv or .parquet file")
    score.add_argument("-o", "--out", metavar="FILE",
                       help="write each row's log-likelihood here (.csv, .tsv, .npy)")
    _common_arguments(score, plot=False)
    score.set_defaults(func=_command(_score))


def _common_arguments(parser, plot=True):
    parser.add_argument("--columns", type=_columns, default=None, metavar="COLS",
                        help="the columns to use, by name or 0-based index "
                             "(comma-separated); default: all (predict: the "
                             "model's columns, by name when the file has them)")
    if plot:
        parser.add_argument("--plot", metavar="IMAGE",
                            help="draw the mixture (and the search) to this "
                                 "image (.png, .svg, .pdf); needs matplotlib")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON report on standard output")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar and no report (errors still shown)")


# ------------------------------------------------------------------- helpers


def _one_line(message):
    return " ".join(str(message).split())


def _command(func):
    """Run a command; report any input problem in one line, exit code 1."""

    def run(args):
        try:
            with _warnings_as_lines():
                return func(args)
        except KeyboardInterrupt:
            print("fastgmm: interrupted", file=sys.stderr)
            return 130
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
    """An output file written to a temporary file, renamed on success."""
    from ._io import atomic_output

    suffix = os.path.splitext(path)[1].lower()
    binary = suffix not in (".csv", ".tsv")
    kwargs = {} if binary else {"newline": "", "encoding": "utf-8"}
    try:
        with atomic_output(path, "wb" if binary else "w", **kwargs) as f:
            yield f
    except OSError as exc:
        raise CLIError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _write_table(f, suffix, values, header):
    """Write a 1-D or 2-D array as .npy, or as CSV/TSV with a header line."""
    import numpy as np

    if suffix == ".npy":
        np.save(f, values)
        return
    delimiter = "\t" if suffix == ".tsv" else ","
    fmt = "%d" if values.dtype.kind in "iu" else "%.10g"
    np.savetxt(f, values, fmt=fmt, delimiter=delimiter,
               header=delimiter.join(header), comments="")


def _save_table(path, values, header):
    with _writing(path) as f:
        _write_table(f, os.path.splitext(path)[1].lower(), values, header)


def _read_data(path, columns, names_wanted=None):
    from . import _data

    try:
        return _data.read(path, columns=columns, names_wanted=names_wanted)
    except UnicodeDecodeError:
        raise CLIError(f"{path}: not a text file") from None


def _load_model(path):
    from . import _persist

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


def _labels(model, X):
    """model.predict(X) block by block (no n x k array of the whole file)."""
    import numpy as np

    labels = np.empty(X.shape[0], dtype=np.int64)
    for start in range(0, X.shape[0], BLOCK_ROWS):
        labels[start:start + BLOCK_ROWS] = model.predict(X[start:start + BLOCK_ROWS])
    return labels


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

    def fit_callback(self, n_init, max_iter):
        """A ``GaussianMixture.fit`` callback that draws this line."""
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
                self.draw(
                    f"fit: {prefix()}iteration {n_iter}/{max_iter}"
                    f"  lower bound {event['lower_bound']:.6g}{gain}  "
                    f"{_duration(per_iter)}/iteration  {_clock(self.elapsed())}"
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


# ----------------------------------------------------------------------- plot


def _save_plot(path, model, X, search=None):
    """Draw the mixture (and the search, beside it) to an image file."""
    from matplotlib.figure import Figure

    from . import plot

    panels = 2 if search is not None else 1
    fig = Figure(figsize=(6.4 * panels, 5.2), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    if search is not None:
        plot.search(search, ax=axes[0])
    plot.mixture(model, X, ax=axes[-1])
    with _writing(path) as f:
        fig.savefig(f, format=os.path.splitext(path)[1].lower()[1:], dpi=100)


# ------------------------------------------------------------------ commands


def _fit(args):
    import numpy as np

    from ._search import GaussianMixtureSearch, criterion_label, information_criteria
    from .mixture import GaussianMixture

    ks = args.n_components
    types = args.covariance or (["full"] if len(ks) == 1 else list(COVARIANCE_TYPES))
    is_search = len(ks) > 1 or len(types) > 1
    if args.cv is not None and args.criterion != "heldout":
        raise CLIError("--cv applies to --criterion heldout only")
    _check_output(args.out, (".npz",), "model")
    _check_output(args.labels, _TABLE_SUFFIXES, "labels")
    _check_plot_output(args.plot)

    data = _read_data(args.data, args.columns)
    X = data.X
    n_samples = X.shape[0]
    if n_samples < max(ks):
        raise CLIError(
            f"{data.path}: {n_samples} rows, fewer than the {max(ks)} components "
            "asked for"
        )
    if n_samples < 2:
        raise CLIError(f"{data.path}: {n_samples} row; a fit needs at least 2")

    progress = Progress(enabled=not args.quiet)
    params = dict(tol=args.tol, reg_covar=args.reg_covar, max_iter=args.max_iter,
                  init_params=args.init_params, random_state=args.seed,
                  n_init=args.n_init, backend=args.backend, n_threads=args.threads)
    start = time.perf_counter()
    search = None
    try:
        if is_search:
            search = GaussianMixtureSearch(
                ks, covariance_type=types, criterion=args.criterion, cv=args.cv,
                n_jobs=args.jobs or -1, **params,
            )
            search.fit(X, callback=progress.search_update)
            model = search.best_estimator_
        else:
            model = GaussianMixture(ks[0], covariance_type=types[0], **params)
            model.fit(X, callback=progress.fit_callback(args.n_init, args.max_iter))
    finally:
        progress.close()
    fit_time = time.perf_counter() - start
    criteria = (dict(search.results_[search.best_index_]) if search is not None
                and args.criterion != "heldout" else information_criteria(model, X))
    labels = _labels(model, X)
    if data.feature_names is not None:
        model.feature_names_in_ = np.asarray(data.feature_names, dtype=object)
    sizes = np.bincount(labels, minlength=model.n_components)

    if args.out:
        try:
            model.save(args.out)
        except OSError as exc:
            raise CLIError(f"{args.out}: cannot write: {exc.strerror or exc}") from None
    if args.labels:
        _save_table(args.labels, labels, ["label"])
    if args.plot:
        _save_plot(args.plot, model, X, search)

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
        "means": np.asarray(model.means_, dtype=np.float64).tolist(),
        "component_sizes": [int(s) for s in sizes],
        "model": args.out,
        "labels": args.labels,
        "plot": args.plot,
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
    if args.quiet:
        return 0
    out = sys.stdout
    print(_describe_data(data), file=out)
    if search is not None:
        print(f"search: {len(search.results_)} candidates ranked by "
              f"{criterion_label(args.criterion)}, {search.n_jobs_} at a time "
              f"x {search.n_threads_} thread(s), {fit_time:.2f} s", file=out)
        _print_ranking(ranked, args.criterion, out)
        print(f"best: {model.n_components} components, "
              f"{model.covariance_type!r}", file=out)
    _print_model(model, summary, out)
    for key, what in (("model", "model saved to"), ("labels", "labels written to"),
                      ("plot", "plot written to")):
        if summary[key]:
            print(f"{what} {summary[key]}", file=out)
    return 0


def _print_ranking(ranked, criterion, out):
    name = criterion if criterion != "heldout" else "heldout"
    header = (f"{'rank':>4}  {'k':>3}  {'covariance':<10}  {name:>14}  "
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
              f"{r['criterion']:>14.8g}  {r['n_parameters']:>6}  {n_iter:>5}  "
              f"{'yes' if r['converged'] else 'no':>9}  "
              f"{_duration(r['fit_time']):>8}", file=out)


def _print_model(model, summary, out):
    status = "converged" if summary["converged"] else "did not converge"
    print(f"fitted {summary['n_components']} components, covariance "
          f"{summary['covariance_type']!r}, in {summary['fit_time']:.2f} s: "
          f"{summary['n_iter']} iterations, {status}", file=out)
    print(f"lower bound {summary['lower_bound']:.6g} per row; log-likelihood "
          f"{summary['log_likelihood']:.6g}; BIC {summary['bic']:.6g}; "
          f"AIC {summary['aic']:.6g}; ICL {summary['icl']:.6g}", file=out)
    print(f"{'component':>9}  {'weight':>7}  {'rows':>9}  mean", file=out)
    for c, (w, size, mean) in enumerate(zip(summary["weights"],
                                            summary["component_sizes"],
                                            summary["means"])):
        shown = ", ".join(f"{v:.4g}" for v in mean[:6])
        more = ", ..." if len(mean) > 6 else ""
        print(f"{c:>9}  {w:>7.4f}  {size:>9,}  [{shown}{more}]", file=out)


def _model_and_data(args):
    model = _load_model(args.model)
    names = getattr(model, "feature_names_in_", None)
    data = _read_data(args.data, args.columns,
                      names_wanted=None if names is None else [str(n) for n in names])
    _check_features(model, data)
    return model, data


def _predict(args):
    import numpy as np

    _check_output(args.out, _TABLE_SUFFIXES, "output")
    _check_plot_output(args.plot)
    model, data = _model_and_data(args)
    if args.proba:
        values = model.predict_proba(data.X)
        header = [f"p{c}" for c in range(model.n_components)]
        labels = values.argmax(axis=1)
    else:
        values = labels = _labels(model, data.X)
        header = ["label"]
    sizes = np.bincount(labels, minlength=model.n_components)
    if args.out:
        _save_table(args.out, values, header)
    if args.plot:
        _save_plot(args.plot, model, data.X)
    report = {
        "model": args.model,
        "data": data.path,
        "n_samples": int(data.X.shape[0]),
        "n_components": int(model.n_components),
        "component_sizes": [int(s) for s in sizes],
        "out": args.out,
        "plot": args.plot,
    }
    if args.out is None:
        if args.json:
            report["proba" if args.proba else "labels"] = values.tolist()
        else:
            _write_table(sys.stdout, ".csv", values, header)
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

    from . import _criteria
    from ._covariance import n_parameters

    _check_output(args.out, _TABLE_SUFFIXES, "output")
    model, data = _model_and_data(args)
    log_prob = np.concatenate([
        model.score_samples(data.X[s:s + BLOCK_ROWS])
        for s in range(0, data.X.shape[0], BLOCK_ROWS)
    ])
    n = log_prob.shape[0]
    total = float(np.sum(log_prob, dtype=np.float64))
    p = n_parameters(model.n_components, model.n_features_in_, model.covariance_type)
    report = {
        "model": args.model,
        "data": data.path,
        "n_samples": int(n),
        "mean_log_likelihood": _number(total / n),
        "log_likelihood": _number(total),
        "bic": _number(_criteria.bic(total, p, n)),
        "aic": _number(_criteria.aic(total, p)),
        "out": args.out,
    }
    if args.out:
        _save_table(args.out, log_prob, ["log_likelihood"])
    if args.json:
        _print_json(report)
    elif not args.quiet:
        print(f"{_describe_data(data)}\nmean log-likelihood "
              f"{report['mean_log_likelihood']:.6g} per row (total "
              f"{report['log_likelihood']:.6g}); BIC {report['bic']:.6g}; "
              f"AIC {report['aic']:.6g}")
        if args.out:
            print(f"log-likelihoods written to {args.out}")
    return 0
