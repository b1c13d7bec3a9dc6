"""Issue 11's numbers at 1e8 rows x 8 float32 (a 3.2 GB .npy), k=6 'diag'.

    python benchmarks/ooc_1e8.py PATH.npy      # writes PATH first if missing

1. anonymous memory growth of GaussianMixture(6, covariance_type='diag',
   random_state=0, max_iter=5).fit(np.load(path, mmap_mode='r')) (defaults
   otherwise), sampled every 5 ms from /proc/self/status (RssAnon);
2. throughput of a memmap fit (file in the page cache) against the same fit
   in memory, explicit initial parameters, tol=0: per-iteration time by
   differencing 1 and 1+M iterations, alternated, median of 3;
3. whether the parameters of both fits are bitwise equal.

Needs about 7 GB of memory (X in memory for item 2, and the page cache).
"""

import json
import os
import statistics
import sys
import threading
import time
import warnings

import numpy as np
from numpy.lib.format import open_memmap

import fastgmm

N, D, K = 100_000_000, 8, 6
BLOCK = 2_000_000


def write(path):
    out = open_memmap(path, mode="w+", dtype=np.float32, shape=(N, D))
    rng = np.random.RandomState(0)
    centers = rng.randn(K, D).astype(np.float32) * 4
    for start in range(0, N, BLOCK):
        labels = rng.randint(K, size=BLOCK)
        noise = rng.standard_normal((BLOCK, D)).astype(np.float32)
        out[start:start + BLOCK] = centers[labels] + noise
    out.flush()


def anon():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024


def default_fit(X):
    """Item 1: the fit as a user calls it, its anonymous memory sampled."""
    fastgmm.GaussianMixture(K, covariance_type="diag", max_iter=2).fit(
        np.asarray(X[:10000]))  # load the kernels first
    before = anon()
    peak = [before]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.005):
            peak[0] = max(peak[0], anon())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gm = fastgmm.GaussianMixture(K, covariance_type="diag", random_state=0,
                                     max_iter=5).fit(X)
    seconds = time.perf_counter() - t0
    stop.set()
    sampler.join()
    print(json.dumps({"default_fit_anon_growth_MiB": (peak[0] - before) / 2**20,
                      "file_MiB": X.nbytes / 2**20, "seconds": seconds,
                      "warnings": [str(w.message)[:120] for w in caught]}), flush=True)
    return gm


def per_iteration(data, init, M=5):
    def fit(max_iter):
        return fastgmm.GaussianMixture(K, covariance_type="diag", tol=0,
                                       max_iter=max_iter, **init).fit(data)

    t0 = time.perf_counter()
    fit(1)
    t1 = time.perf_counter()
    model = fit(1 + M)
    t2 = time.perf_counter()
    return ((t2 - t1) - (t1 - t0)) / M, model


def main(path):
    if not os.path.exists(path):
        write(path)
    X = np.load(path, mmap_mode="r")
    gm = default_fit(X)
    init = dict(weights_init=gm.weights_, means_init=gm.means_,
                precisions_init=gm.precisions_)
    in_memory = np.load(path)
    times = {"memmap": [], "memory": []}
    models = {}
    for _ in range(3):
        for name, data in (("memmap", X), ("memory", in_memory)):
            seconds, models[name] = per_iteration(data, init)
            times[name].append(seconds)
    median = {name: statistics.median(v) for name, v in times.items()}
    same = all(np.array_equal(getattr(models["memmap"], a), getattr(models["memory"], a))
               for a in ("weights_", "means_", "covariances_", "precisions_cholesky_"))
    print(json.dumps({
        "per_iteration_s": median,
        "throughput_memmap_over_memory": median["memory"] / median["memmap"],
        "bitwise_equal_params": same,
        "lower_bounds": [models["memmap"].lower_bound_, models["memory"].lower_bound_],
    }), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
