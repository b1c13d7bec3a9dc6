"""float32 'diag' fits through matrix products: how far from the float64 fit,
next to scikit-learn's float32 fit (issue 13, item 2; benchmarks/NOTES.md).

Blobs (20,000 rows, 8 centres, d = 16, 32, 128, cluster_std 1, 0.3, 0.1; also
shifted by 1e3) and one Gaussian cloud; the same initial parameters for every
fit (scikit-learn gets them in float32, so that it computes in float32), 20
iterations. The float32 limit on the spread is lifted here, so that every row
shows the products' error (the fits beyond `DIAG_GEMM_MAX_SPREAD` take the
float64 loops otherwise). Errors against fastgmm's float64 fit: lower bound
(absolute), means (max absolute over the means' spread), covariances (max
relative). "nan": scikit-learn's float32 fit failed.

    python benchmarks/float32_accuracy.py
"""

import warnings

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

import fastgmm
from fastgmm.kernels import _backend, _common

K = 8


def errors(model, ref):
    if model is None:
        return (np.nan,) * 3
    spread = np.max(np.abs(ref.means_ - ref.means_.mean(axis=0)))
    return (abs(model.lower_bound_ - ref.lower_bound_),
            np.max(np.abs(model.means_ - ref.means_)) / spread,
            np.max(np.abs(model.covariances_ - ref.covariances_) / ref.covariances_))


def case(name, X):
    start = SklearnGaussianMixture(K, covariance_type="diag", random_state=0,
                                   max_iter=3).fit(X)
    init = dict(weights_init=start.weights_, means_init=start.means_,
                precisions_init=start.precisions_)
    kw = dict(covariance_type="diag", tol=0, max_iter=20)
    ref = fastgmm.GaussianMixture(K, **kw, **init).fit(X)
    ours = fastgmm.GaussianMixture(K, **kw, **init).fit(X.astype(np.float32))
    init32 = {key: np.asarray(value, np.float32) for key, value in init.items()}
    try:
        theirs = SklearnGaussianMixture(K, **kw, **init32).fit(X.astype(np.float32))
    except ValueError:
        theirs = None
    spread = _backend._Params(np.zeros(K), ref.means_, ref.precisions_cholesky_,
                              "diag").spread
    sk, fg = errors(theirs, ref), errors(ours, ref)
    print(f"| {name} | {spread:.0f} | {sk[0]:.1e} | {fg[0]:.1e} | {sk[1]:.1e} | "
          f"{fg[1]:.1e} | {sk[2]:.1e} | {fg[2]:.1e} |", flush=True)


def main():
    warnings.simplefilter("ignore")
    _common.DIAG_GEMM_MAX_SPREAD[np.dtype(np.float32)] = np.inf
    print("| data | spread | lower bound: sklearn32 | fastgmm32 | means: sklearn32 | "
          "fastgmm32 | covariances: sklearn32 | fastgmm32 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for d in (16, 32, 128):
        for std in (1.0, 0.3, 0.1):
            X, _ = make_blobs(20000, d, centers=K, cluster_std=std, random_state=0)
            case(f"blobs d={d} std={std}", X)
            case(f"blobs d={d} std={std} +1e3", X + 1e3)
        case(f"one Gaussian d={d}", np.random.default_rng(1).normal(size=(20000, d)))


if __name__ == "__main__":
    main()
