"""Command line: ``python -m fastgmm demo`` (and ``fastgmm demo``)."""

import argparse
import sys


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
    parser = argparse.ArgumentParser(
        prog="fastgmm", description="Gaussian mixtures by EM, fast on a CPU."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="fit generated data, timed next to scikit-learn"
    )
    demo.add_argument("--n-samples", type=int, default=1_000_000)
    demo.add_argument("--n-features", type=int, default=4)
    demo.add_argument("--n-components", type=int, default=12)
    demo.add_argument("--covariance-type", default="full",
                      choices=["full", "tied", "diag", "spherical"])
    demo.add_argument("--backend", default="auto", choices=["auto", "numba", "cython"])
    demo.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--no-sklearn", action="store_true",
                      help="skip the scikit-learn comparison")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
