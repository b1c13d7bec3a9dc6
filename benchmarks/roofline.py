"""The 'full' pass against the machine's floating-point peak (issue 40, item 5).

Peak: matrix products (numpy.matmul, BLAS dgemm/sgemm on 2048 x 2048
matrices) on 1 thread and on all cores, the practical FMA peak of the
machine per dtype (a well-tuned gemm runs at 85-95% of the nominal one). The pass:
one fused E-step/M-step pass (`FitPass.run`, the kernels alone, no M-step)
of 'full' mixtures at d = 32 and d = 128, counted as 2 d (d + 1) flops per
row and component (the triangular product (x - m) U_k, d(d+1)/2 multiply-adds,
and the scatter update, as many) and the statistics' O(d) besides, ignored.
Best of REPEATS; float64 and float32 X. One run, one machine: the ratios
are what to read.

Run: python benchmarks/roofline.py [backend]
"""

import sys
import time

import numpy as np
from harness import cpu_name  # (benchmarks/, the script's directory)
from threadpoolctl import threadpool_limits

import fastgmm
from fastgmm import kernels
from fastgmm._demo import make_data

REPEATS = 5
BACKEND = sys.argv[1] if len(sys.argv) > 1 else "cython"


def gemm_gflops(threads, dtype=np.float64, n=2048):
    a = np.random.RandomState(0).rand(n, n).astype(dtype)
    b = np.random.RandomState(1).rand(n, n).astype(dtype)
    best = np.inf
    with threadpool_limits(threads, user_api="blas"):
        a @ b
        for _ in range(REPEATS):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best / 1e9


def pass_gflops(n, d, k, dtype, n_threads):
    X = make_data(n, d, k, seed=0).astype(dtype)
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")
        g = fastgmm.GaussianMixture(k, max_iter=1, random_state=0,
                                    init_sample_size=20_000).fit(X)
    backend = kernels.get_backend(BACKEND)
    c = np.log(np.asarray(g.weights_, dtype=np.float64))
    means = np.asarray(g.means_, dtype=np.float64)
    U = np.asarray(g.precisions_cholesky_, dtype=np.float64)
    fit_pass = backend.fit_pass(X, None, k, "full", n_threads=n_threads)
    fit_pass.run(c, means, U)
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        fit_pass.run(c, means, U)
        best = min(best, time.perf_counter() - start)
    return 2.0 * d * (d + 1) * n * k / best / 1e9, best


def main():
    cores = kernels.get_backend(BACKEND).threads(None)
    cpu = cpu_name()
    variant = kernels.get_backend("cython").drivers.CPU_VARIANT
    print(f"# The 'full' pass against the machine's peak, {time.strftime('%Y-%m-%d')}, "
          f"{cpu}, {cores} cores, backend {BACKEND} (Cython module {variant})\n")
    peaks = {}
    for dtype in (np.float64, np.float32):
        one, peaks[dtype] = gemm_gflops(1, dtype), gemm_gflops(cores, dtype)
        print(f"{np.dtype(dtype).name} matmul peak (numpy, 2048^2): {one:.1f} GFLOP/s "
              f"on 1 thread, {peaks[dtype]:.1f} GFLOP/s on {cores}")
    print()
    print("| pass | dtype | ms | GFLOP/s | of the matmul peak (same dtype) |")
    print("|---|---|---:|---:|---:|")
    for n, d, k in ((200_000, 32, 16), (50_000, 128, 8)):
        for dtype in (np.float64, np.float32):
            gflops, seconds = pass_gflops(n, d, k, dtype, cores)
            print(f"| {n:,} x {d}, k={k}, 'full' | {np.dtype(dtype).name} | "
                  f"{seconds * 1e3:.1f} | {gflops:.1f} | {gflops / peaks[dtype]:.0%} |")


if __name__ == "__main__":
    main()
