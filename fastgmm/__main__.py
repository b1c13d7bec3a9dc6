"""Command line: ``python -m fastgmm demo`` (and ``fastgmm demo``).

``fit``, ``predict`` and ``score`` live in `fastgmm.cli.commands`. Building the parser
imports neither NumPy nor the estimators (each command imports what it needs
when it runs), so ``--help`` and ``--version`` answer at once.
"""

import sys

from ._constants import BACKENDS, COVARIANCE_TYPES
from ._version import __version__


def _demo(args):
    from . import _demo

    _demo.run(
        n_samples=args.n_samples, n_features=args.n_features,
        n_components=args.n_components, covariance_type=args.covariance_type,
        backend=args.backend, dtype=args.dtype, seed=args.seed,
        compare=not args.no_sklearn,
    )
    return 0


def build_parser():
    from .cli.errors import ArgumentParser

    parser = ArgumentParser(
        prog="fastgmm", description="Gaussian mixtures by EM, fast on a CPU."
    )
    parser.add_argument("--version", action="version",
                        version=f"fastgmm {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="fit generated data, timed next to scikit-learn",
        description="Fit a mixture to generated data, timed next to scikit-learn.",
    )
    demo.add_argument("--n-samples", type=int, default=1_000_000,
                      help="rows generated (default: %(default)s)")
    demo.add_argument("--n-features", type=int, default=4,
                      help="columns generated (default: %(default)s)")
    demo.add_argument("--n-components", type=int, default=12,
                      help="components generated and fitted (default: %(default)s)")
    demo.add_argument("--covariance-type", default="full", choices=COVARIANCE_TYPES,
                      help="covariance type fitted (default: %(default)s)")
    demo.add_argument("--backend", default="auto", choices=BACKENDS,
                      help="compiled kernels to run (default: %(default)s)")
    demo.add_argument("--dtype", default="float64", choices=["float64", "float32"],
                      help="dtype of the data (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0,
                      help="random seed (default: %(default)s)")
    demo.add_argument("--no-sklearn", action="store_true",
                      help="skip the scikit-learn comparison")
    demo.set_defaults(func=_demo)

    from .cli.parser import add_commands

    add_commands(commands)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
