"""``--family`` and ``--dof`` of the commands: the estimator of a fit's family
(GaussianMixture, or StudentTMixture with its ``dof``), what ``--family t``
does not combine with, the family of a saved model (checked against the
options given) and the report's entries of a model's family.

Here, not in `cli.commands`, so that `cli.dask` (which `cli.commands` calls)
uses them without an import circle.
"""

from .errors import CLIError


def _family_estimator(args):
    """The estimator of ``args.family`` ('gaussian' or 't') and the parameters
    of its own: a t mixture's ``dof`` (--dof, default 'component'). Also
    the search's: it takes ``dof`` too."""
    if args.family == "t":
        from .._student import StudentTMixture

        return StudentTMixture, {"dof": "component" if args.dof is None else args.dof}
    from ..mixture import GaussianMixture

    return GaussianMixture, {}


def _check_family_options(args, missing, bayesian=False, noise=False):
    """The options --family t does not combine with (yet): one line, exit
    code 1, as --noise's with --bayesian."""
    if args.family != "t":
        return
    if bayesian:
        raise CLIError("--family t does not combine with --bayesian: a variational "
                       "t mixture is not available yet")
    if noise:
        raise CLIError("--noise does not combine with --family t: t components "
                       "down-weight outlying rows themselves")
    if missing:
        raise CLIError("--missing marginalize does not combine with --family t yet: "
                       "fill the missing values first")


def _is_student(model):
    from .._student import StudentTMixture

    return isinstance(model, StudentTMixture)


def _family_summary(model):
    """The report's family of a model: 'family', and for a t mixture 'dof'
    (its --dof: 'component', 'shared' or the fixed number) and
    'degrees_of_freedom' (its dof_, one per component)."""
    if not _is_student(model):
        return {"family": "gaussian"}
    return {"family": "t", "dof": model.dof,
            "degrees_of_freedom": [float(v) for v in model.dof_]}


def _check_saved_family(args, model):
    """--family and --dof of a command on a saved model: what it must be."""
    family = _family_summary(model)["family"]
    wanted = getattr(args, "family", None)
    if wanted is not None and wanted != family:
        raise CLIError(f"{args.model}: the model is a {family} mixture, not --family "
                       f"{wanted}")
    dof = getattr(args, "dof", None)
    if dof is not None and model.dof != dof:  # (--family t: checked by the parser)
        shown = dof if isinstance(dof, str) else f"{dof:g}"
        raise CLIError(f"{args.model}: the t mixture was fitted with dof={model.dof!r}, "
                       f"not --dof {shown}")
