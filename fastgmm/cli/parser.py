"""The subcommands' arguments: `add_commands` adds ``fit``, ``predict`` and
``score`` to the parser of ``fastgmm.__main__``, with the parsers of their
values (component counts, covariance lists, columns, folds, degrees of
freedom).
"""

import argparse
import math

from .._constants import (
    BACKENDS,
    COVARIANCE_TYPES,
    CRITERIA,
    FAMILIES,
    INIT_METHODS,
    MCLUST_MODELS,
    WEIGHT_PRIOR_TYPES,
)
from .commands import _fit, _impute, _outliers, _predict, _score
from .errors import _command

#: --format values, the same as `files.dataset.FORMATS` (here so that --help needs no NumPy)
DATA_FORMATS = ("npy", "csv", "tsv", "txt", "dat", "parquet")


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
    """'full' or 'full,diag' or 'all' (the four) or 'mclust' (mclust's 14
    models, which may also be listed: VEV,EEE) -> list of covariance types."""
    if text.strip() == "all":
        return list(COVARIANCE_TYPES)
    if text.strip() == "mclust":
        return list(MCLUST_MODELS)
    types = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in types if t not in COVARIANCE_TYPES and t not in MCLUST_MODELS]
    if not types or bad:
        raise argparse.ArgumentTypeError(
            f"expected covariance types among {', '.join(COVARIANCE_TYPES)} or "
            f"mclust's models ({', '.join(MCLUST_MODELS)}) (comma-separated), "
            f"'all' or 'mclust'; got {text!r}"
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


def _contamination(text):
    """'auto' or a fraction in (0, 0.5]."""
    if text.strip() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 0.5:
        raise argparse.ArgumentTypeError(
            f"expected 'auto' or a fraction in (0, 0.5], got {text!r}")
    return value


def _dof(text):
    """'component', 'shared' or a number > 0 (a fixed dof) -> that (a float)."""
    if text.strip() in ("component", "shared"):
        return text.strip()
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"expected 'component', 'shared' or a number of degrees of freedom > 0, "
            f"got {text!r}")
    return value


def _columns(text):
    """'x,y' / '0,2' / '0-3,5' -> tokens, resolved against the file in `files.data`."""
    return [c.strip() for c in text.split(",") if c.strip()]


_DATA_HELP = ("the data: a .npy, .csv, .tsv, .txt, .dat or .parquet file, one row "
              "per sample, or - for standard input")


def add_commands(commands):
    """Add ``fit``, ``predict``, ``score``, ``impute`` and ``outliers`` to the subparsers
    ``commands``."""
    fit = commands.add_parser(
        "fit", help="fit a mixture to a data file, or search the best one",
        description=(
            "Fit a Gaussian mixture to DATA (--family t: a mixture of multivariate "
            "t distributions). With one number of components and "
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
                     help="full, tied, diag, spherical or one of mclust's "
                          "models (EII ... VVV), a list (full,diag or VEV,EEE), "
                          "'all' (the four) or 'mclust' (its 14) (default: full "
                          "for one K, all for a range)")
    _family_arguments(
        fit, family_help="the components: gaussian, or t, multivariate Student t "
                         "distributions (StudentTMixture), whose heavy tails keep "
                         "outlying rows from dragging the components (default: "
                         "gaussian)",
        dof_help="with --family t, the degrees of freedom: component (estimated "
                 "per component), shared (one estimated for all) or a number > 0 "
                 "(fixed) (default: component)")
    fit.add_argument("--noise", action="store_true",
                     help="add a uniform noise component over the data's "
                          "hypervolume (mclust's); its rows get label -1 "
                          "(default: off)")
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
    fit.set_defaults(func=_checked(fit, _command(_fit)))

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
        predict, columns_help=_MODEL_COLUMNS_HELP, missing_default=_MODEL_MISSING,
        plot_help="draw the saved mixture over the rows of DATA, coloured by "
                  "their predicted component, to this image (.png, .svg, "
                  ".pdf); needs matplotlib (default: no plot)")
    _family_arguments(predict, **_SAVED_FAMILY_HELP)
    predict.set_defaults(func=_checked(predict, _command(_predict)))

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
    _common_arguments(score, columns_help=_MODEL_COLUMNS_HELP, plot_help=None,
                      missing_default=_MODEL_MISSING)
    _family_arguments(score, **_SAVED_FAMILY_HELP)
    score.set_defaults(func=_checked(score, _command(_score)))

    impute = commands.add_parser(
        "impute", help="fill the missing values of a data file with a saved model",
        description=(
            "Write DATA with each missing value (an empty cell or NaN) replaced "
            "by its expectation given the row's observed values under the model "
            "(GaussianMixture.impute), to --out or as CSV to standard output."
        ),
    )
    impute.add_argument("model", help="a model saved by 'fastgmm fit --out'")
    impute.add_argument("data", help=_DATA_HELP)
    impute.add_argument("-o", "--out", metavar="FILE",
                        help="output file (.csv, .tsv or .npy) (default: CSV on "
                             "standard output)")
    _common_arguments(impute, columns_help=_MODEL_COLUMNS_HELP, plot_help=None,
                      missing_default="marginalize, what impute is for")
    impute.set_defaults(func=_command(_impute))

    outliers = commands.add_parser(
        "outliers", help="flag the rows of low density under a Gaussian (or t) mixture",
        description=(
            "Fit a mixture to DATA (-k) or take a saved one (-m), set the "
            "threshold on the log-density from DATA's rows (the --contamination "
            "quantile of their log-densities, or Tukey's lower fence of them), "
            "and write each row's flag (1: outlier), "
            "log-density, decision (log-density minus the threshold), most "
            "likely component and Mahalanobis distance to it to --out, or as "
            "CSV to standard output (GaussianMixtureOutlierDetector)."
        ),
    )
    outliers.add_argument("data", help=_DATA_HELP)
    outliers.add_argument("-k", "--components", dest="n_components", type=_positive_int,
                          default=None, metavar="K",
                          help="fit a mixture of K components (or give -m)")
    outliers.add_argument("-m", "--model", default=None, metavar="MODEL.npz",
                          help="a model saved by 'fastgmm fit --out' instead of a fit")
    outliers.add_argument("--contamination", type=_contamination, default="auto",
                          help="the fraction of DATA's rows flagged, in (0, 0.5] "
                               "(the threshold is that quantile of their "
                               "log-densities), or 'auto': the threshold is Tukey's "
                               "lower fence of their log-densities, Q1 - 1.5 (Q3 - "
                               "Q1) from their quartiles, so the fraction flagged "
                               "follows the shape of the density (default: auto)")
    outliers.add_argument("--covariance", type=_covariances, default=None,
                          metavar="TYPE", help="with -k: the covariance type or "
                          "mclust model (default: full)")
    _family_arguments(
        outliers, family_help="with -k: the components, gaussian or t (multivariate "
                              "Student t, StudentTMixture) (default: gaussian); with "
                              "-m: the family the saved model must be (default: the "
                              "model file's)",
        dof_help="with --family t: the degrees of freedom, component, shared or a "
                 "number > 0 (fixed) (default: component); with -m, the dof the "
                 "model must have been fitted with")
    outliers.add_argument("--seed", type=int, default=0,
                          help="with -k: the random seed of the fit (default: "
                               "%(default)s)")
    outliers.add_argument("--backend", default=None, choices=list(BACKENDS),
                          help="with -k: the compiled kernels of the fit; auto picks "
                               "per workload (default: auto)")
    outliers.add_argument("-o", "--out", metavar="FILE",
                          help="output file (.csv, .tsv or .npy: the flags only) "
                               "(default: CSV on standard output)")
    _common_arguments(outliers, columns_help=_MODEL_COLUMNS_HELP, plot_help=None,
                      missing_default="with -m, " + _MODEL_MISSING + "; with -k, "
                                      "error")
    outliers.set_defaults(func=_checked(outliers, _command(_outliers)))


_MODEL_COLUMNS_HELP = (
    "the columns holding the model's features, in the order it was fitted "
    "with: names, 0-based indices or ranges (0-3,5; comma-separated) "
    "(default: the model's feature names when it has them and the file too, "
    "else all columns less a leading row-index column)"
)


#: --family and --dof of a command that reads a saved model: checks of it.
_SAVED_FAMILY_HELP = dict(
    family_help="the family the saved model must be, gaussian or t (an error if it "
                "is not) (default: the model file's)",
    dof_help="with --family t, the dof the saved model must have been fitted with: "
             "component, shared or a number (default: the model file's)")


def _family_arguments(parser, family_help, dof_help):
    """--family and --dof (a fit's default family, 'gaussian', is the
    command's to set: None here, so that a saved model's is known unset)."""
    parser.add_argument("--family", choices=list(FAMILIES), default=None,
                        help=family_help)
    parser.add_argument("--dof", type=_dof, default=None, metavar="DOF", help=dof_help)


def _checked(parser, run):
    """``run`` after the checks that tie options together where argparse
    cannot: --dof applies to --family t only (an argument error: its line
    and a pointer to --help, exit code 2)."""
    def checked(args):
        if args.dof is not None and args.family != "t":
            parser.error("argument --dof: applies to --family t only")
        return run(args)

    checked.__name__ = run.__name__
    return checked


#: --missing's default for a command that reads a saved model.
_MODEL_MISSING = "the policy the model was fitted with, saved in its file"


def _common_arguments(parser, columns_help, plot_help, missing_default="error"):
    parser.add_argument("--columns", type=_columns, default=None, metavar="COLS",
                        help=columns_help)
    parser.add_argument("--missing", choices=("error", "marginalize"), default=None,
                        help="'marginalize': empty cells and NaN are missing values, "
                             "marginalised (nan_policy='marginalize'); 'error': they "
                             "are an error (default: " + missing_default + ")")
    parser.add_argument("--format", dest="data_format", choices=DATA_FORMATS,
                        default=None,
                        help="read DATA as this format whatever its name: csv "
                             "and tsv as separated by commas and tabs, txt and dat "
                             "by the separator found in the lines (default: from "
                             "the suffix, a text file's separator found in its "
                             "lines; for standard input, recognised from its first "
                             "bytes, else text)")
    if plot_help is not None:
        parser.add_argument("--plot", metavar="IMAGE", help=plot_help)
    parser.add_argument("--json", action="store_true",
                        help="print a JSON report on standard output")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar, notes or report (errors and "
                             "warnings still shown)")
