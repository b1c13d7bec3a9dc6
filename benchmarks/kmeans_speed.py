"""The 'kmeans' initialization against scikit-learn's (issue 40, item 3).

fastgmm's compiled k-means (``fastgmm.em.kmeans.kmeans``: scikit-learn's
``KMeans(n_clusters=k, n_init=1, random_state=...)`` draw by draw) against
that KMeans, in one process, alternated, the minimum of ``REPEATS``; the same
labels and n_iter checked. Then fastgmm's parts: the norms and the mean, the
k-means++ seeding (one read of X per round: the candidates' distances kept),
Lloyd's iterations (in one call), as the whole call runs them.

Run on an idle machine: python benchmarks/kmeans_speed.py [repeats]
"""

import sys
import time

import numpy as np

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def _cases():
    from sklearn.datasets import load_digits, load_sample_image
    from sklearn.decomposition import PCA

    from fastgmm._demo import make_data

    yield "digits PCA-16, k=10", PCA(16, random_state=0).fit_transform(
        load_digits().data), 10
    china = load_sample_image("china.jpg").reshape(-1, 3).astype(np.float64) / 255
    yield "china.jpg pixels, k=16", china, 16
    yield "1e6 x 8, k=16", make_data(1_000_000, 8, 16, seed=0), 16
    yield "2e5 x 32, k=8", make_data(200_000, 32, 8, seed=0), 8


def _best(f, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - start)
    return best, out


def _parts(X, k, repeats):
    """fastgmm's k-means taken apart: (norms and mean, seeding, Lloyd) in s."""
    from fastgmm.em import kmeans as km

    def prepare():
        mean = km.column_mean(X)
        rows = km._Rows(X, None, mean)
        return rows, rows.squared_norms()

    t_prep, (rows, (xsq, squares)) = _best(prepare, repeats)
    t_seed, seeds = _best(
        lambda: km.kmeans_plusplus(rows, k, np.random.RandomState(0), xsq), repeats)
    threshold = float(np.mean(squares / X.shape[0])) * 1e-4
    t_lloyd, _ = _best(lambda: km._lloyd(rows, rows.centred(seeds), 300, threshold),
                       repeats)
    return t_prep, t_seed, t_lloyd


def _fmt(seconds):
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.3f} s"


def main():
    import platform

    import sklearn
    from sklearn.cluster import KMeans

    import fastgmm
    from fastgmm import kernels
    from fastgmm.em.kmeans import kmeans

    backend = kernels.get_backend()
    print(f"k-means, {time.strftime('%Y-%m-%d')}, {_cpu()}, fastgmm {fastgmm.__version__} "
          f"({backend.name}), scikit-learn {sklearn.__version__}, Python "
          f"{platform.python_version()}; best of {REPEATS}\n")
    print("| data | scikit-learn KMeans | fastgmm | ratio | n_iter | same labels "
          "| fastgmm: norms + mean, seeding, Lloyd |")
    print("|---|---:|---:|---:|---:|---|---|")
    for name, X, k in _cases():
        kmeans(X, None, k, np.random.RandomState(0))  # load the kernels
        t_sk, t_fg = np.inf, np.inf
        for _ in range(REPEATS):  # alternated
            start = time.perf_counter()
            ref = KMeans(k, n_init=1, random_state=0).fit(X)
            t_sk = min(t_sk, time.perf_counter() - start)
            start = time.perf_counter()
            out = kmeans(X, None, k, np.random.RandomState(0))
            t_fg = min(t_fg, time.perf_counter() - start)
        same = bool(np.array_equal(out.labels, ref.labels_)) and out.n_iter == ref.n_iter_
        prep, seed, lloyd = _parts(X, k, REPEATS)
        print(f"| {name} | {_fmt(t_sk)} | {_fmt(t_fg)} | {t_sk / t_fg:.1f}x | "
              f"{out.n_iter} | {'yes' if same else 'NO'} | {_fmt(prep)}, {_fmt(seed)}, "
              f"{_fmt(lloyd)} |")


def _cpu():
    import pathlib

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from harness import cpu_name

    return cpu_name()


if __name__ == "__main__":
    main()
