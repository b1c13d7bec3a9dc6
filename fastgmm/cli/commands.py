"""``fastgmm fit``, ``predict`` and ``score``: batch clustering of data files.

`cli.parser.add_commands` adds them to the parser of ``fastgmm.__main__``.
Each command validates its outputs first, opens the data (see `files.data`: a
memory map, an array-like read by windows, or an array in memory), fits or
loads a model, then makes one pass over the rows, window by window, that
writes every per-row output as it goes (through a temporary file renamed on
success) and adds up the report (``--json`` for a machine-readable one). No
array of the data's size is held, except for a search (which fits in memory)
and what is printed on standard output as JSON. Any problem with the input
ends the command with one line on stderr (``fastgmm: error: ...``) and exit
code 1.
"""

import os
import sys
import time
import warnings
from contextlib import contextmanager

from .._constants import COVARIANCE_TYPES, WEIGHT_PRIOR_TYPES, count
from .errors import CLIError
from .family import (
    _check_family_options,
    _check_saved_family,
    _family_estimator,
    _family_summary,
    _is_student,
)
from .output import (
    _TABLE_SUFFIXES,
    Progress,
    _check_output,
    _check_plot_output,
    _jsonable,
    _number,
    _print_json,
    _print_model,
    _print_ranking,
    _Table,
    _table,
    _write_errors,
    _writing,
)
from .reading import (
    _check_features,
    _check_rows_before_reading,
    _column_statistics,
    _data_errors,
    _describe_data,
    _in_memory,
    _load_model,
    _plot_rows,
    _read_data,
    _standardized,
    _window_rows,
    _windows,
    finish_model,
)


def _save_plot(path, model, data, scaling=None, search=None):
    """Draw the mixture (and the search, beside it) to an image file, from
    DATA's rows (a random sample of `reading.PLOT_ROWS` of them when it has more)."""
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


def _fit(args):
    missing = args.missing == "marginalize"
    args.family = args.family or "gaussian"
    _check_family_options(args, missing, bayesian=args.bayesian, noise=args.noise)
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
            f"{data.path}: {count(n_samples, 'row')}, fewer than the "
            f"{count(max(ks), 'component')} asked for"
        )
    if n_samples < 2:
        raise CLIError(f"{data.path}: {count(n_samples, 'row')}; a fit needs at least 2")
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
    if missing:
        params["nan_policy"] = "marginalize"
    if args.noise:
        if args.bayesian or missing:
            raise CLIError("--noise does not combine with --bayesian or --missing yet")
        params["noise"] = True
    estimator, family_params = _family_estimator(args)
    start = time.perf_counter()
    search = None
    with _data_errors(data), _init_sample_note(args.quiet):
        try:
            if is_search:
                search = GaussianMixtureSearch(
                    ks, covariance_type=types, criterion=args.criterion, cv=args.cv,
                    n_jobs=args.jobs or -1, family=args.family, **family_params,
                    **params,
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
                    model = estimator(ks[0], covariance_type=types[0], **family_params,
                                      **params)
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
        **_family_summary(model),
        "converged": bool(model.converged_),
        "n_iter": int(model.n_iter_),
        # the estimator's lower_bound_: GaussianMixture's a mean per row,
        # BayesianGaussianMixture's (scikit-learn's ELBO) a total over the rows
        "lower_bound": _number(model.lower_bound_),
        "lower_bound_per_row": _number(model.lower_bound_ / n_samples if args.bayesian
                                       else model.lower_bound_),
        "log_likelihood": _number(criteria["log_likelihood"]),
        "mean_log_likelihood": _number(None if criteria["log_likelihood"] is None
                                       else criteria["log_likelihood"] / n_samples),
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
        **({"noise_weight": float(model.noise_weight_),
            "noise_volume": float(model.noise_volume_),
            "noise_rows": int(outcome["noise_rows"])}
           if model._fitted_spec.noise else {}),
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
        print(f"search: {count(len(search.results_), 'candidate')} ranked by "
              f"{criterion_label(args.criterion)}, {search.n_jobs_} at a time "
              f"x {count(search.n_threads_, 'thread')}, {fit_time:.2f} s", file=out)
        _print_ranking(ranked, args.criterion, out)
        print(f"best: {count(model.n_components, 'component')}, "
              f"{model.covariance_type!r}", file=out)
    _print_model(summary, magnitudes, out)
    for key, what in (("model", "model saved to"), ("labels", "labels written to"),
                      ("plot", "plot written to")):
        if summary[key]:
            print(f"{what} {summary[key]}", file=out)
    return 0


@contextmanager
def _init_sample_note(quiet):
    """The estimator's warning that it initializes from a sample of the rows
    (a fit read by windows, above its budget), as a note; other warnings pass."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    from .._init_rows import InitSampleWarning

    notes = []
    for w in caught:
        if not isinstance(w.message, InitSampleWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        elif not quiet and not notes:
            notes.append(w.message)
            print(f"fastgmm: note: the initialization uses a random sample of "
                  f"{w.message.size:,} of the {count(w.message.n_samples, 'row')} (drawn "
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

    from ..em.criteria import Sums

    n, d = data.X.shape
    k = model.n_components
    sizes = np.zeros(k, dtype=np.int64)
    top = np.zeros(d) if magnitudes else None
    sums = Sums()
    noise_rows = 0
    progress = Progress(enabled=not quiet)
    try:
        with _table(labels_path, n, ["label"]) as table:
            for start, block in _windows(data, scaling, rows=_window_rows(d, k),
                                         progress=progress, what="labels"):
                with _data_errors(data, start):
                    labels = model.predict(block).astype(np.int64, copy=False)
                    if criteria:
                        sums.add(model.score_samples(block), model.predict_proba(block))
                noise_rows += int(np.count_nonzero(labels < 0))  # (noise: -1)
                sizes += np.bincount(labels[labels >= 0], minlength=k)
                if top is not None:
                    np.maximum(top, np.max(np.abs(block.astype(np.float64, copy=False)),
                                           axis=0), out=top)
                if table is not None:
                    table.write(labels)
    finally:
        progress.close()
    outcome = {"sizes": sizes, "magnitudes": top, "noise_rows": noise_rows}
    if criteria:
        outcome.update(sums.report(model._n_parameters(), n))
    return outcome


def _model_and_data(args):
    """The model, DATA, and the model's scaling (mean, scale) or None."""
    from ..files.estimator import scaling_of

    model = _load_model(args.model)
    _check_saved_family(args, model)
    if getattr(args, "missing", None) is None:  # the policy the model was fitted with
        args.missing = "marginalize" if model._fitted_spec.missing else "error"
    if args.missing == "marginalize" and _is_student(model):
        raise CLIError(f"{args.model}: a t mixture (--family t) does not take missing "
                       "values yet (--missing marginalize, impute); fill them first")
    model.set_params(nan_policy="marginalize" if args.missing == "marginalize"
                     else "raise")
    names = getattr(model, "feature_names_in_", None)
    data = _read_data(args, names_wanted=None if names is None
                      else [str(n) for n in names])
    _check_features(model, data)
    return model, data, scaling_of(model)


def _predict(args):
    import numpy as np

    from ..em.family import NOISE_LABEL

    _check_output(args.out, _TABLE_SUFFIXES, "output")
    _check_plot_output(args.plot)
    model, data, scaling = _model_and_data(args)
    n, d = data.X.shape
    k = model.n_components
    noise = model._fitted_spec.noise  # (its probability last, label -1)
    header = ([f"p{c}" for c in range(k)] + (["noise"] if noise else [])
              if args.proba else ["label"])
    sizes = np.zeros(k, dtype=np.int64)
    noise_rows = 0
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
                        labels[labels == k] = NOISE_LABEL
                    else:
                        values = labels = model.predict(block).astype(np.int64,
                                                                      copy=False)
                noise_rows += int(np.count_nonzero(labels < 0))  # (noise: -1)
                sizes += np.bincount(labels[labels >= 0], minlength=k)
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
        "family": _family_summary(model)["family"],
        "component_sizes": [int(s) for s in sizes],
        **({"noise_rows": noise_rows} if noise else {}),
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
    from ..em.criteria import Sums

    _check_output(args.out, _TABLE_SUFFIXES, "output")
    model, data, scaling = _model_and_data(args)
    n, d = data.X.shape
    sums = Sums()
    progress = Progress(enabled=not args.quiet)
    try:
        with _table(args.out, n, ["log_likelihood"]) as table:
            for start, block in _windows(data, scaling, progress=progress,
                                         what="score"):
                with _data_errors(data, start):
                    log_prob = model.score_samples(block)
                sums.add(log_prob)
                if table is not None:
                    table.write(log_prob)
    finally:
        progress.close()
    criteria = sums.report(model._n_parameters(), n, icl=False)
    total = criteria["log_likelihood"]
    report = {
        "model": args.model,
        "data": data.path,
        "n_samples": int(n),
        "family": _family_summary(model)["family"],
        "mean_log_likelihood": _number(total / n),
        "log_likelihood": _number(total),
        "bic": _number(criteria["bic"]),
        "aic": _number(criteria["aic"]),
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


def _impute(args):
    """``fastgmm impute MODEL DATA``: DATA with each missing entry replaced by
    its conditional expectation under the model, window by window."""
    import numpy as np

    args.missing = "marginalize"
    if args.json and args.out is None:
        raise CLIError("impute --json needs --out (the completed rows go there)")
    _check_output(args.out, _TABLE_SUFFIXES, "output")
    model, data, scaling = _model_and_data(args)
    if scaling is not None:
        raise CLIError(f"{args.model}: the model was fitted with --scale; impute "
                       "does not undo the scaling yet")
    n, d = data.X.shape
    names = data.feature_names or [f"x{j}" for j in range(d)]
    missing = 0
    to_stdout = args.out is None
    progress = Progress(enabled=not args.quiet and not (
        to_stdout and getattr(sys.stdout, "isatty", lambda: False)()))
    try:
        with _table(args.out, n, names) as table:
            if to_stdout:
                table = _Table(sys.stdout, ".csv", n, names)
            for start, block in _windows(data, progress=progress, what="impute"):
                missing += int(np.count_nonzero(np.isnan(block)))
                with _data_errors(data, start):
                    table.write(model.impute(block))
    finally:
        progress.close()
    report = {"model": args.model, "data": data.path, "n_samples": int(n),
              "n_missing": missing, "out": args.out}
    if args.json:
        _print_json(report)
    elif args.out is not None and not args.quiet:
        print(f"{_describe_data(data)}\n{count(missing, 'missing value')} imputed; "
              f"written to {args.out}")
    return 0


def _outliers(args):
    """``fastgmm outliers DATA -k K`` / ``-m MODEL``: each row's flag, density,
    decision, component and Mahalanobis distance
    (`GaussianMixtureOutlierDetector`; --family t: of a t mixture), window by
    window."""
    import numpy as np

    from .._outliers import GaussianMixtureOutlierDetector

    if args.n_components is None and args.model is None:
        raise CLIError("outliers needs -k K (fit a mixture) or -m MODEL.npz (a saved "
                       "one)")
    if args.n_components is not None and args.model is not None:
        raise CLIError("outliers takes -k K (fit a mixture) or -m MODEL.npz (a saved "
                       "one), not both")
    if args.model is not None and args.covariance is not None:
        raise CLIError("--covariance applies to a fit (-k), not to a saved model (-m)")
    if args.model is not None and args.backend is not None:
        raise CLIError("--backend applies to a fit (-k), not to a saved model (-m)")
    if args.covariance is not None and len(args.covariance) != 1:
        raise CLIError("outliers fits one covariance type")
    if args.json and args.out is None:
        raise CLIError("outliers --json needs --out (the rows' flags go there)")
    _check_output(args.out, _TABLE_SUFFIXES, "output")
    if args.model is not None:
        model, data, scaling = _model_and_data(args)  # (--missing: the model's by default)
        missing = args.missing == "marginalize"
        if scaling is not None:
            raise CLIError(f"{args.model}: the model was fitted with --scale; "
                           "outliers does not scale the data yet")
        t = _is_student(model)
        detector = GaussianMixtureOutlierDetector(
            model.n_components, contamination=args.contamination,
            covariance_type=model.covariance_type, random_state=args.seed,
            family="t" if t else "gaussian", dof=model.dof if t else "component",
            nan_policy="marginalize" if missing else "raise")
        with _data_errors(data):
            detector._set_threshold(model, data.X)
    else:
        missing = args.missing == "marginalize"
        args.family = args.family or "gaussian"
        _check_family_options(args, missing)
        _check_rows_before_reading(args, args.n_components)
        data = _read_data(args)
        n_samples = data.X.shape[0]
        if n_samples < args.n_components:
            raise CLIError(f"{data.path}: {count(n_samples, 'row')}, fewer than the "
                           f"{count(args.n_components, 'component')} asked for")
        if n_samples < 2:
            raise CLIError(f"{data.path}: {count(n_samples, 'row')}; a fit needs at "
                           "least 2")
        detector = GaussianMixtureOutlierDetector(
            args.n_components, contamination=args.contamination,
            covariance_type=(args.covariance or ["full"])[0], random_state=args.seed,
            family=args.family, dof="component" if args.dof is None else args.dof,
            backend=args.backend or "auto",
            nan_policy="marginalize" if missing else "raise")
        with _data_errors(data), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (convergence: said in the report)
            detector.fit(data.X)
    n, d = data.X.shape
    header = ["outlier", "log_density", "decision", "component", "mahalanobis"]
    to_stdout = args.out is None
    flagged = 0
    progress = Progress(enabled=not args.quiet and not (
        to_stdout and getattr(sys.stdout, "isatty", lambda: False)()))
    try:
        with _table(args.out, n, header) as table:
            if to_stdout:
                table = _Table(sys.stdout, ".csv", n, header)
            for start, block in _windows(data, progress=progress, what="outliers"):
                with _data_errors(data, start):
                    explained = detector.explain(block)
                decision = explained["decision"]
                outlier = decision < 0
                flagged += int(np.count_nonzero(outlier))
                table.write(np.column_stack([
                    outlier.astype(np.float64), decision + detector.offset_, decision,
                    explained["component"].astype(np.float64),
                    explained["mahalanobis"]]))
    finally:
        progress.close()
    report = {"data": data.path, "model": args.model, "n_samples": int(n),
              "family": detector.family, "n_outliers": flagged,
              "offset": _number(detector.offset_),
              "contamination": args.contamination, "out": args.out}
    if args.json:
        _print_json(report)
    elif args.out is not None and not args.quiet:
        print(f"{_describe_data(data)}\n{count(flagged, 'outlier')} (log-density below "
              f"{detector.offset_:.6g}); written to {args.out}")
    return 0
