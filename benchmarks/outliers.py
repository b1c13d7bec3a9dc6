"""GaussianMixtureOutlierDetector against scikit-learn's IsolationForest and
LocalOutlierFactor, and against PyOD-style thresholding of scikit-learn's
GaussianMixture (fit, score_samples, np.percentile), on data with known
anomalies, one run.

- breast cancer (scikit-learn's copy of Wisconsin's): the 357 benign rows are
  the normal data, 10 malignant ones (drawn with a fixed seed) the anomalies;
  standardized;
- a synthetic set: n rows of an 8-component mixture in 8-D and 1% anomalies
  drawn uniformly over the data's bounding box (far from the blobs or not).

Each detector is told the true fraction (``contamination``); precision and
recall of the flagged rows, the ROC AUC of the scores, and the time of fit
plus predict. Not asserted anywhere: numbers for the README.

    python benchmarks/outliers.py [--n 100000]
"""

import argparse
import time
import warnings

import numpy as np


def breast_cancer(seed=0):
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    benign = data.data[data.target == 1]
    malignant = data.data[data.target == 0]
    rng = np.random.RandomState(seed)
    anomalies = malignant[rng.choice(len(malignant), 10, replace=False)]
    X = np.vstack([benign, anomalies])
    y = np.r_[np.zeros(len(benign)), np.ones(len(anomalies))].astype(bool)
    return StandardScaler().fit_transform(X), y, 1  # (one Gaussian: 357 rows in 30-D)


def synthetic(n, seed=0):
    from fastgmm._demo import make_data

    X = make_data(n, 8, 8, seed=seed)
    rng = np.random.RandomState(seed + 1)
    m = n // 100
    anomalies = rng.uniform(X.min(axis=0), X.max(axis=0), (m, 8))
    return np.vstack([X, anomalies]), np.r_[np.zeros(n), np.ones(m)].astype(bool), 8


def detectors(k, contamination):
    """name -> fit_scores(X): (flags, scores: higher is more anomalous)."""
    from sklearn.ensemble import IsolationForest
    from sklearn.mixture import GaussianMixture as SkGaussianMixture
    from sklearn.neighbors import LocalOutlierFactor

    from fastgmm import GaussianMixtureOutlierDetector

    def fastgmm(X):
        detector = GaussianMixtureOutlierDetector(k, contamination=contamination,
                                                  random_state=0).fit(X)
        return detector.predict(X) == -1, -detector.score_samples(X)

    def pyod_style(X):  # scikit-learn's mixture, thresholded by hand
        model = SkGaussianMixture(k, random_state=0).fit(X)
        scores = model.score_samples(X)
        return scores < np.percentile(scores, 100 * contamination), -scores

    def isolation_forest(X):
        forest = IsolationForest(contamination=contamination, random_state=0).fit(X)
        return forest.predict(X) == -1, -forest.score_samples(X)

    def lof(X):
        model = LocalOutlierFactor(contamination=contamination)
        flags = model.fit_predict(X) == -1
        return flags, -model.negative_outlier_factor_

    return {"fastgmm GaussianMixtureOutlierDetector": fastgmm,
            "scikit-learn GaussianMixture + percentile (PyOD-style)": pyod_style,
            "IsolationForest": isolation_forest, "LocalOutlierFactor": lof}


def run(name, X, y, k):
    from sklearn.metrics import roc_auc_score

    contamination = float(np.mean(y))
    print(f"\n{name}: {X.shape[0]:,} rows x {X.shape[1]}, {int(y.sum())} anomalies "
          f"({contamination:.1%}), k={k}\n")
    print("| detector | precision | recall | ROC AUC | fit + predict |")
    print("|---|---:|---:|---:|---:|")
    times = {}
    for label, fit in detectors(k, contamination).items():
        fit(X[:200])  # (load the kernels)
        t0 = time.perf_counter()
        flags, scores = fit(X)
        seconds = time.perf_counter() - t0
        times[label] = seconds
        precision = float(np.sum(flags & y) / max(np.sum(flags), 1))
        recall = float(np.sum(flags & y) / np.sum(y))
        print(f"| {label} | {precision:.3f} | {recall:.3f} | {roc_auc_score(y, scores):.3f} "
              f"| {seconds:.3f} s |")
    ours = times["fastgmm GaussianMixtureOutlierDetector"]
    print(f"\nfastgmm against PyOD-style thresholding of scikit-learn's GaussianMixture: "
          f"{times['scikit-learn GaussianMixture + percentile (PyOD-style)'] / ours:.1f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    run("breast cancer, benign vs 10 malignant", *breast_cancer())
    run("synthetic", *synthetic(args.n))


if __name__ == "__main__":
    main()
