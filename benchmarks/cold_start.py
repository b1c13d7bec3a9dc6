"""Cold start: ``import`` plus the first fit on 1,000 points, in a fresh process.

Run by hand (``python benchmarks/cold_start.py``); it prints a Markdown table
of medians over fresh processes (the fitters in turn) for scikit-learn and for each fastgmm
backend (Numba with a warm on-disk cache and with an empty one). The numbers
go to README.md.
"""

import os
import platform
import statistics
import subprocess
import sys
import tempfile

SCRIPT = """
import time
t0 = time.perf_counter()
{imports}
import numpy as np
X = np.random.RandomState(0).randn(1000, 4)
X[:500] += 5
t1 = time.perf_counter()
{fit}
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""

VARIANTS = {
    "scikit-learn": (
        "from sklearn.mixture import GaussianMixture",
        "GaussianMixture(3, random_state=0).fit(X)",
    ),
    "fastgmm cython": (
        "from fastgmm import GaussianMixture",
        "GaussianMixture(3, random_state=0, backend='cython').fit(X)",
    ),
    "fastgmm numba (cache warm)": (
        "from fastgmm import GaussianMixture",
        "GaussianMixture(3, random_state=0, backend='numba').fit(X)",
    ),
    "fastgmm numba (cache empty)": (
        "from fastgmm import GaussianMixture",
        "GaussianMixture(3, random_state=0, backend='numba').fit(X)",
    ),
}


def run_once(name, cache_dir):
    imports, fit = VARIANTS[name]
    env = dict(os.environ)
    if "empty" in name:
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="fastgmm-cold-")
    else:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(imports=imports, fit=fit)],
        capture_output=True, text=True, env=env, check=True,
    ).stdout.split()
    return float(out[0]), float(out[1])


def main(repeats=7):
    cache_dir = tempfile.mkdtemp(prefix="fastgmm-warm-")
    run_once("fastgmm numba (cache warm)", cache_dir)  # fill the warm cache
    print(f"Machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    print("| fitter | import (s) | first fit, 1,000 x 4, k=3 (s) | total (s) |")
    print("|---|---:|---:|---:|")
    # round robin, so that a drift of the machine's speed reaches every fitter
    runs = {name: [] for name in VARIANTS}
    for i in range(repeats):
        for name in VARIANTS:
            if "empty" not in name or i < 2:
                runs[name].append(run_once(name, cache_dir))
    for name in VARIANTS:
        times = runs[name]
        imp = statistics.median(r[0] for r in times)
        fit = statistics.median(r[1] for r in times)
        total = statistics.median(r[0] + r[1] for r in times)
        print(f"| {name} | {imp:.2f} | {fit:.2f} | {total:.2f} |", flush=True)


if __name__ == "__main__":
    main()
