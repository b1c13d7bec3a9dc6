"""List numpydoc's findings on the docstrings of fastgmm's public API.

    python docs/validate_docstrings.py [--all]

Checks every name in ``fastgmm.__all__``, the public methods of each class
(those defined by fastgmm, not inherited from scikit-learn) and every name
in ``fastgmm.plot.__all__`` and ``fastgmm.reference.__all__`` with
``numpydoc.validate``, and prints one line per finding. Constants (such as
``fastgmm.reference.DOF_BOUNDS``, like ``fastgmm.__version__``) are left
out: a plain value has no docstring of its own (numpydoc would read its
type's); their module's docstring documents them. Without ``--all``
it leaves out the checks that are matters of taste (see IGNORED) and a
missing Examples section on a method (a class's example shows its methods;
every public name and module function is asked for one); the exit
code is 1 when anything is listed. The site's build does not run these
checks (docs/conf.py), so that a finding here does not stop it.
"""

import argparse
import importlib
import inspect
import sys

from numpydoc.validate import validate

#: numpydoc's checks left out by default: an extended summary, a See Also
#: section, the summary's first word in the infinitive, a docstring's first
#: and last lines (GL01, GL02) and a name on a single return value (RT02,
#: scikit-learn's ``self : object``) are style, not content.
IGNORED = {"ES01", "SA01", "SS05", "GL01", "GL02", "RT02"}


def public_names():
    fastgmm = importlib.import_module("fastgmm")
    for name in fastgmm.__all__:
        if name.startswith("__"):
            continue
        obj = getattr(fastgmm, name)
        if inspect.ismodule(obj):
            yield f"fastgmm.{name}"
            for sub in obj.__all__:
                yield f"fastgmm.{name}.{sub}"
            continue
        yield f"fastgmm.{name}"
        if inspect.isclass(obj):
            for attr, value in sorted(vars(obj).items()):
                if not attr.startswith("_") and callable(value):
                    yield f"fastgmm.{name}.{attr}"
            # methods of fastgmm's own base classes (not scikit-learn's)
            for base in obj.__mro__[1:]:
                if base.__module__.startswith("fastgmm"):
                    for attr, value in sorted(vars(base).items()):
                        if (not attr.startswith("_") and callable(value)
                                and attr not in vars(obj)):
                            yield f"fastgmm.{name}.{attr}"
    reference = importlib.import_module("fastgmm.reference")
    yield "fastgmm.reference"
    for sub in reference.__all__:
        if callable(getattr(reference, sub)):  # not the constants
            yield f"fastgmm.reference.{sub}"


def is_method(name):
    """fastgmm.Class.method (not fastgmm.module.function)."""
    parts = name.split(".")
    return len(parts) == 3 and parts[1][:1].isupper()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="every numpydoc check")
    args = parser.parse_args(argv)
    found = 0
    seen = set()
    for name in public_names():
        if name in seen:
            continue
        seen.add(name)
        result = validate(name)
        for code, message in result["errors"]:
            if not args.all and (code in IGNORED
                                 or (code == "EX01" and is_method(name))):
                continue
            print(f"{name}: {code} {message}")
            found += 1
    print(f"{found} finding(s) in {len(seen)} docstrings", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
