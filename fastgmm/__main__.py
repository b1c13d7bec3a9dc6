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


def bench_harness(script="harness"):
    """``benchmarks/harness.py`` (or another script there) of the source
    checkout this package runs from (an editable install): the bench is a
    maintainer's tool and does not ship in the package."""
    import importlib.util
    import pathlib

    name = f"fastgmm_bench_{script}"
    if name in sys.modules:
        return sys.modules[name]
    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / f"{script}.py"
    if not path.is_file():
        sys.exit("fastgmm bench: the bench runs from a source checkout of fastgmm "
                 f"(pip install -e .): {path} not found")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


def _bench(args):
    if args.whole_fits:  # what a user waits for: default fits, whole
        bench_harness("whole_fits").main(
            ["--repeats", str(args.repeats)] + (["--quick"] if args.quick else []))
        return 0
    _bench = bench_harness()

    grid = None
    if args.d or args.k or args.covariance or args.n_samples:
        base = _bench.QUICK_GRID if args.quick else _bench.FULL_GRID
        if args.memmap and not (args.d or args.k or args.covariance):
            base = _bench.MEMMAP_GRID
        grid = [
            (args.n_samples or n, d, k, ct) for n, d, k, ct in base
            if (not args.d or d in args.d) and (not args.k or k in args.k)
            and (not args.covariance or ct in args.covariance)
        ]
        if not grid:
            sys.exit("fastgmm bench: no workload matches these filters")
    _bench.run(grid=grid, dtypes=args.dtype, backends=args.backend,
               max_iter=args.max_iter, repeats=args.repeats, quick=args.quick,
               scaling=args.scaling, memmap=args.memmap,
               directory=args.memmap_dir, bayesian=args.bayesian)
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

    bench = commands.add_parser(
        "bench", help="compare fitters on the same data in one process",
        description="Compare fitters on the same data in one process.",
    )
    bench.add_argument("--quick", action="store_true",
                       help="a short run: smaller n, 4 iterations, one repeat")
    bench.add_argument("--d", type=int, nargs="+",
                       help="only these n_features (default: all of the grid)")
    bench.add_argument("--k", type=int, nargs="+",
                       help="only these n_components (default: all of the grid)")
    bench.add_argument("--covariance", nargs="+", choices=COVARIANCE_TYPES,
                       help="only these covariance types (default: all of the grid)")
    bench.add_argument("--n-samples", type=int,
                       help="override n_samples (default: the grid's)")
    bench.add_argument("--dtype", nargs="+", default=["float64", "float32"],
                       choices=["float64", "float32"],
                       help="dtypes to run (default: float64 float32)")
    bench.add_argument("--backend", nargs="+", default=["numba", "cython"],
                       choices=["numba", "cython"],
                       help="backends to run (default: numba cython)")
    bench.add_argument("--max-iter", type=int, default=20,
                       help="EM iterations per fit (default: %(default)s)")
    bench.add_argument("--repeats", type=int, default=3,
                       help="timed repeats of each fit (default: %(default)s)")
    bench.add_argument("--scaling", action="store_true",
                       help="also run each backend on one thread")
    bench.add_argument("--memmap", type=int, metavar="N",
                       help="instead of the grid, the out-of-core cell: a fit of N "
                            "rows from a memory-mapped .npy against the same fit in "
                            "memory (throughput, anonymous memory); workloads: "
                            "d=8, k=6, diag unless --d/--k/--covariance choose "
                            "from the grid (default: not run)")
    bench.add_argument("--bayesian", action="store_true",
                       help="time BayesianGaussianMixture (fastgmm's against "
                            "scikit-learn's, from one shared posterior) instead "
                            "of GaussianMixture (default: off)")
    bench.add_argument("--memmap-dir", metavar="DIR",
                       help="where --memmap writes its .npy (default: the "
                            "temporary directory, TMPDIR)")
    bench.add_argument("--whole-fits", action="store_true",
                       help="whole default fits (initialization, EM, final E-step) "
                            "against scikit-learn's on digits, iris, wine, china.jpg "
                            "and blobs of 1e6 rows, and a model search "
                            "(benchmarks/whole_fits.py; --quick: the small data sets "
                            "only) instead of the per-iteration grid")
    bench.set_defaults(func=_bench)

    from .cli.parser import add_commands

    add_commands(commands)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
