"""Every number of issue 40 (performance, round four) from one run on one
machine, into one results file:

    python benchmarks/round4.py --out benchmarks/results-DATE-CPU-round4.md
        [--npy PATH] [--skip-1e8] [--skip-onedal]

It runs, one after another in fresh processes (nothing else should run on
the machine meanwhile): the whole default fits against scikit-learn
(whole_fits.py, the digits search among them), the k-means against
scikit-learn's KMeans (kmeans_speed.py), BayesianGaussianMixture's whole
default fits on digits for every type and prior (below), the model search
against a loop of scikit-learn fits (search_speed.py), R mclust's
``Mclust(X, G = 1:9)`` against the mclust search (mclust_search.py, on
1e4 x 4 and on 1e5 x 8 with R's subset of 2,000 rows; skipped without R),
accelerate='squarem' (squarem.py), the roofline (roofline.py), the 'full'
pass per EM iteration against oneDAL (harness.py, when daal4py is installed)
and the memory map at 1e8 rows (ooc_1e8.py: a 3 GiB .npy, about 7 GB of
memory). Each section is the script's own output under its command line.
"""

import argparse
import pathlib
import platform
import shutil
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent


def _run(args, timeout=3600):
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=HERE.parent, capture_output=True,
                          text=True, timeout=timeout)
    took = time.perf_counter() - start
    out = done.stdout.strip()
    if done.returncode:
        out += f"\n\n(exited with {done.returncode}: {done.stderr.strip()[-2000:]})"
    return f"`python {' '.join(args)}` ({took:.0f} s)\n\n{out}\n"


def bayes_digits(repeats=3):
    """BayesianGaussianMixture whole default fits on digits (PCA-16), k=10,
    random_state=0: fastgmm's against scikit-learn's, every type and prior,
    the minimum of ``repeats`` (alternated), the same n_iter and labels."""
    import warnings

    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.mixture import BayesianGaussianMixture as Theirs

    from fastgmm import BayesianGaussianMixture as Ours

    warnings.simplefilter("ignore")
    X = PCA(16, random_state=0).fit_transform(load_digits().data)
    lines = ["| type | prior | scikit-learn | fastgmm | ratio | n_iter | same labels |",
             "|---|---|---:|---:|---:|---:|---|"]
    for prior in ("dirichlet_process", "dirichlet_distribution"):
        for ct in ("full", "tied", "diag", "spherical"):
            kw = dict(n_components=10, covariance_type=ct, random_state=0,
                      weight_concentration_prior_type=prior)
            Ours(**kw).fit(X)  # load the kernels
            best = {"s": np.inf, "f": np.inf}
            for _ in range(repeats):
                for key, cls in (("s", Theirs), ("f", Ours)):
                    start = time.perf_counter()
                    model = cls(**kw).fit(X)
                    best[key] = min(best[key], time.perf_counter() - start)
                    if key == "s":
                        ref = model
                    else:
                        ours = model
            same = (ours.n_iter_ == ref.n_iter_
                    and np.array_equal(ours.predict(X), ref.predict(X)))
            lines.append(f"| {ct} | {prior} | {best['s'] * 1e3:.1f} ms | "
                         f"{best['f'] * 1e3:.1f} ms | {best['s'] / best['f']:.1f}x | "
                         f"{ours.n_iter_} | {'yes' if same else 'no'} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(prog="python benchmarks/round4.py")
    parser.add_argument("--out", required=True)
    parser.add_argument("--npy", default="/tmp/fastgmm-1e8x8-float32.npy",
                        help="ooc_1e8.py's file (written when missing)")
    parser.add_argument("--skip-1e8", action="store_true")
    parser.add_argument("--skip-onedal", action="store_true")
    args = parser.parse_args()

    sys.path.insert(0, str(HERE))
    from harness import cpu_name

    import fastgmm
    from fastgmm import kernels

    flags = pathlib.Path("/proc/cpuinfo").read_text() if sys.platform == "linux" else ""
    isa = "AVX-512" if " avx512f" in flags else ("AVX2" if " avx2" in flags else "")
    module = getattr(kernels.get_backend(), "variant", None)
    head = (f"# Issue 40, round four: one run, {time.strftime('%Y-%m-%d %H:%M')}\n\n"
            f"Machine: {cpu_name()} ({isa}), {len(__import__('os').sched_getaffinity(0))} "
            f"vCPUs; fastgmm {fastgmm.__version__}, {kernels.get_backend().name} backend"
            f"{f' ({module})' if module else ''}, Python {platform.python_version()}.\n")
    sections = [head]

    def add(title, text):
        sections.append(f"## {title}\n\n{text}")
        pathlib.Path(args.out).write_text("\n".join(sections))
        print(f"done: {title}", flush=True)

    add("Whole default fits (items 3, 4)", _run(["benchmarks/whole_fits.py"]))
    add("k-means against scikit-learn's KMeans (item 3)",
        _run(["benchmarks/kmeans_speed.py", "3"]))
    add("BayesianGaussianMixture on digits, whole default fits (item 4)",
        bayes_digits())
    add("Model search against a loop of scikit-learn fits (item 1)",
        _run(["benchmarks/search_speed.py"]))
    if shutil.which("Rscript"):
        add("R mclust's Mclust(X, G = 1:9) against the mclust search (item 1)",
            _run(["benchmarks/mclust_search.py"]) + "\n"
            + _run(["benchmarks/mclust_search.py", "--n", "100000", "--d", "8",
                    "--k", "8", "--subset", "2000", "--repeats", "1"]))
    add("accelerate='squarem' against plain EM (item 2)", _run(["benchmarks/squarem.py"]))
    add("Roofline (item 5)", _run(["benchmarks/roofline.py"]))
    if not args.skip_onedal:
        add("Per EM iteration against oneDAL (item 5)",
            _run(["benchmarks/harness.py", "--d", "8", "32", "128", "--covariance",
                  "full", "--backend", "cython", "--n-samples", "200000",
                  "--max-iter", "6", "--repeats", "2"]))
    if not args.skip_1e8:
        add("Memory maps at 1e8 rows (item 6)", _run(["benchmarks/ooc_1e8.py", args.npy]))


if __name__ == "__main__":
    main()
