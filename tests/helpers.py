"""Data and parameter generators shared by the tests."""

import numpy as np

from fastgmm import kernels

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
DTYPES = [np.float64, np.float32]


def available_backends():
    names = ["numba"]
    if kernels.cython_available():
        names.append("cython")
    return names


BACKENDS = available_backends()


def make_blobs(n_samples, n_features, n_components, seed=0, spread=4.0, offset=0.0,
               dtype=np.float64):
    """Well-separated Gaussian blobs with random full covariances."""
    rng = np.random.RandomState(seed)
    centers = rng.randn(n_components, n_features) * spread + offset
    mixing = [rng.randn(n_features, n_features) * 0.5 + np.eye(n_features)
              for _ in range(n_components)]
    labels = rng.randint(n_components, size=n_samples)
    noise = rng.randn(n_samples, n_features)
    X = np.empty((n_samples, n_features))
    for k in range(n_components):
        rows = labels == k
        X[rows] = centers[k] + noise[rows] @ mixing[k]
    return X.astype(dtype), labels


def random_params(n_components, n_features, covariance_type, seed=0, scale=1.0):
    """Random valid (weights, means, covariances) of a covariance type."""
    rng = np.random.RandomState(seed)
    weights = rng.rand(n_components) + 0.2
    weights /= weights.sum()
    means = rng.randn(n_components, n_features) * 2 * scale
    if covariance_type == "full":
        a = rng.randn(n_components, n_features, n_features)
        covs = np.einsum("kij,klj->kil", a, a) + np.eye(n_features)
    elif covariance_type == "tied":
        a = rng.randn(n_features, n_features)
        covs = a @ a.T + np.eye(n_features)
    elif covariance_type == "diag":
        covs = rng.rand(n_components, n_features) + 0.5
    else:
        covs = rng.rand(n_components) + 0.5
    return weights, means, covs * scale**2
