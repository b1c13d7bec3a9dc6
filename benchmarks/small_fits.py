"""Small fits (issue 13, item 7): digits after PCA (1,797 x 16), k=10, the
same explicit initial parameters for every fitter; time per EM iteration by
differencing 1- and 21-iteration whole fits, minimum of 5, fitters
alternated. Run on an idle machine:

    python benchmarks/small_fits.py
"""

import time
import warnings

from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

import fastgmm
from fastgmm import kernels

K, REPEATS = 10, 5


def main():
    warnings.simplefilter("ignore")
    X = PCA(16, random_state=0).fit_transform(load_digits().data)
    fitters = (("cython", fastgmm.GaussianMixture, {"backend": "cython"}),
               ("numba", fastgmm.GaussianMixture, {"backend": "numba"}),
               ("scikit-learn", SklearnGaussianMixture, {}))
    for covariance_type in ("full", "diag", "tied", "spherical"):
        start = SklearnGaussianMixture(K, covariance_type=covariance_type,
                                       random_state=0, max_iter=2).fit(X)
        init = dict(weights_init=start.weights_, means_init=start.means_,
                    precisions_init=start.precisions_)

        def fit(cls, params, max_iter, covariance_type=covariance_type, init=init):
            cls(K, covariance_type=covariance_type, tol=0, max_iter=max_iter,
                **init, **params).fit(X)

        for _, cls, params in fitters:
            fit(cls, params, 3)  # compile or load the kernels
        best = {name: {1: float("inf"), 21: float("inf")} for name, _, _ in fitters}
        for _ in range(REPEATS):
            for name, cls, params in fitters:
                for max_iter in (1, 21):
                    began = time.perf_counter()
                    fit(cls, params, max_iter)
                    best[name][max_iter] = min(best[name][max_iter],
                                               time.perf_counter() - began)
        per = {name: (t[21] - t[1]) / 20 for name, t in best.items()}
        auto = kernels.get_backend("auto", X.shape[0], X.shape[1], K, covariance_type).name
        print(f"{covariance_type:9s} " + "  ".join(
            f"{name} {1e6 * t:.0f} us" for name, t in per.items())
            + f"  | auto ({auto}) {per['scikit-learn'] / per[auto]:.1f}x, numba "
            f"{per['scikit-learn'] / per['numba']:.1f}x scikit-learn")


if __name__ == "__main__":
    main()
