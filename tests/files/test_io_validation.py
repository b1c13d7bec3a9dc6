"""Model files are validated on load: hand-made damaged files raise ValueError.

Each file here is written by hand (np.savez and a JSON metadata entry, as
fastgmm writes them), not by GaussianMixture.save, so that the checks are
tested against the file format itself.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import fastgmm
from fastgmm import _persist
from fastgmm.files import model as _io

from ..helpers import COVARIANCE_TYPES

PARAMS = {
    "n_components": 2, "covariance_type": "full", "tol": 0.001, "reg_covar": 1e-06,
    "max_iter": 100, "n_init": 1, "init_params": "kmeans", "weights_init": None,
    "means_init": None, "precisions_init": None, "random_state": 0,
    "warm_start": False, "verbose": 0, "verbose_interval": 10, "backend": "auto",
    "n_threads": None,
}


def spd(rng, d):
    a = rng.randn(d, d)
    return a @ a.T + d * np.eye(d)


def precision_factor(cov):
    """Upper-triangular U with U U^T = inv(cov), as scikit-learn computes it."""
    lower = np.linalg.cholesky(cov)
    return np.linalg.inv(lower).T


def parts(covariance_type="full", k=2, d=2, dtype=np.float64, seed=0):
    """Consistent (arrays, metadata) of a k-component mixture in d features."""
    rng = np.random.RandomState(seed)
    weights = rng.rand(k) + 0.5
    weights /= weights.sum()
    means = rng.randn(k, d) * 3
    if covariance_type == "full":
        cov = np.stack([spd(rng, d) for _ in range(k)])
        chol = np.stack([precision_factor(c) for c in cov])
        prec = chol @ np.swapaxes(chol, 1, 2)
    elif covariance_type == "tied":
        cov = spd(rng, d)
        chol = precision_factor(cov)
        prec = chol @ chol.T
    elif covariance_type == "diag":
        cov = rng.rand(k, d) + 0.5
        chol = 1 / np.sqrt(cov)
        prec = chol**2
    else:
        cov = rng.rand(k) + 0.5
        chol = 1 / np.sqrt(cov)
        prec = chol**2
    arrays = {"weights_": weights, "means_": means, "covariances_": cov,
              "precisions_cholesky_": chol, "precisions_": prec}
    arrays = {name: np.asarray(a, dtype=dtype) for name, a in arrays.items()}
    arrays["lower_bounds_"] = np.array([-3.0, -2.5, -2.4])
    metadata = {
        "format": "fastgmm.GaussianMixture", "format_version": 1,
        "fastgmm_version": "0.1.0", "covariance_type": covariance_type,
        "dtype": np.dtype(dtype).name, "n_components": k, "n_features": d,
        "feature_names": None,
        "params": dict(PARAMS, n_components=k, covariance_type=covariance_type),
        "init_arrays": [], "converged_": True, "n_iter_": 3, "lower_bound_": "-2.4",
    }
    return arrays, metadata


def write(path, arrays, metadata):
    with open(path, "wb") as f:
        np.savez(f, fastgmm_metadata=np.array(json.dumps(metadata)), **arrays)
    return path


def assert_damaged(path, *fragments):
    with pytest.raises(ValueError, match="damaged fastgmm model file") as info:
        fastgmm.load(path)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


# --------------------------------------------------------------- valid files


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_hand_made_file_loads_and_predicts_as_scikit_learn(
        tmp_path, covariance_type, dtype):
    arrays, metadata = parts(covariance_type, k=3, d=3, dtype=dtype)
    model = fastgmm.load(write(tmp_path / "m.npz", arrays, metadata))
    assert not hasattr(model, "scaling_")
    sk = SkGaussianMixture(3, covariance_type=covariance_type)
    for name in _io.PARAMETER_ARRAYS:
        setattr(sk, name, arrays[name])
    X = np.random.RandomState(1).randn(40, 3).astype(dtype) * 3
    np.testing.assert_array_equal(model.predict(X), sk.predict(X))
    np.testing.assert_allclose(model.score_samples(X), sk.score_samples(X),
                               rtol=1e-5 if dtype == np.float32 else 1e-10)


def test_edge_values_that_are_valid(tmp_path):
    arrays, metadata = parts()
    metadata.update(lower_bound_="-inf", n_iter_=0, converged_=False)
    metadata["params"]["n_threads"] = 10**12  # capped at the usable cores when used
    model = fastgmm.load(write(tmp_path / "m.npz", arrays, metadata))
    assert model.lower_bound_ == -np.inf and model.n_iter_ == 0
    assert model.n_threads == 10**12
    # float32 weights: summing to 1 within 1e-6, as scikit-learn allows
    arrays, metadata = parts(dtype=np.float32)
    arrays["weights_"] = np.array([0.3, 0.7000005], dtype=np.float32)
    fastgmm.load(write(tmp_path / "m.npz", arrays, metadata))


def test_an_ill_conditioned_float32_model_saves_and_loads(tmp_path):
    # a duplicated column: the float32 covariance is singular to its precision
    rng = np.random.RandomState(0)
    base = rng.randn(2000, 2) * [1000.0, 1.0] + 5
    X = np.column_stack([base, base[:, 0]]).astype(np.float32)
    for covariance_type in ("full", "tied"):
        model = fastgmm.GaussianMixture(3, covariance_type=covariance_type,
                                        random_state=0).fit(X)
        model.save(tmp_path / "m.npz")
        loaded = fastgmm.load(tmp_path / "m.npz")
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


# -------------------------------------------------------------- damaged files


def test_tied_metadata_on_diag_arrays_of_the_same_shape(tmp_path):
    # k == d: a 'diag' mixture's arrays have the shape of 'tied' ones
    arrays, metadata = parts("diag", k=3, d=3)
    metadata["covariance_type"] = metadata["params"]["covariance_type"] = "tied"
    arrays["covariances_"] = arrays["covariances_"][0] * np.ones((3, 3))  # symmetric
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata), "not upper triangular")
    arrays, metadata = parts("diag", k=3, d=3)
    metadata["covariance_type"] = metadata["params"]["covariance_type"] = "tied"
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata))
    # and the other way round: 'tied' arrays read as 'diag' (zeros below)
    arrays, metadata = parts("tied", k=3, d=3)
    metadata["covariance_type"] = metadata["params"]["covariance_type"] = "diag"
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata), "must be positive")


@pytest.mark.parametrize("value", [-1.0, 0.0])
def test_a_cholesky_factor_with_a_diagonal_entry_not_positive(tmp_path, value):
    arrays, metadata = parts("full", k=2, d=3)
    chol = arrays["precisions_cholesky_"]
    if value < 0:
        # flipping a column keeps U U^T (so precisions_ and covariances_ agree)
        chol[1] = chol[1] * np.array([1.0, -1.0, 1.0])
        np.testing.assert_allclose(chol[1] @ chol[1].T, arrays["precisions_"][1])
    else:
        chol[1, 2, 2] = 0.0
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata),
                   "component 1", "diagonal entry <= 0")


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_diagonal_factors_must_be_positive(tmp_path, covariance_type):
    arrays, metadata = parts(covariance_type)
    arrays["precisions_cholesky_"] = -arrays["precisions_cholesky_"]  # same squares
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata),
                   "precisions_cholesky_ must be positive")


def test_a_factor_with_a_nonzero_lower_part(tmp_path):
    arrays, metadata = parts("full", k=2, d=3)
    arrays["precisions_cholesky_"][0, 2, 0] = 1e-3
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata), "not upper triangular")


def test_a_covariance_that_is_not_positive_definite(tmp_path):
    arrays, metadata = parts("full", k=2, d=3)
    arrays["covariances_"][0] = -arrays["covariances_"][0]
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata),
                   "component 0 is not positive definite")
    arrays, metadata = parts("diag")
    arrays["covariances_"][1, 0] = -arrays["covariances_"][1, 0]
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata),
                   "covariances_ must be positive")


def test_covariances_and_precisions_that_disagree(tmp_path):
    arrays, metadata = parts("full", k=2, d=3)
    arrays["covariances_"] = arrays["covariances_"][::-1].copy()  # swapped
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata), "not the inverse")
    arrays, metadata = parts("tied", d=3)
    arrays["covariances_"] = arrays["covariances_"] * 1.001
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata), "not the inverse")
    arrays, metadata = parts("full", k=2, d=3)
    arrays["covariances_"][1, 0, 1] += 0.5  # no longer symmetric
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata), "not symmetric")
    arrays, metadata = parts("full", k=2, d=3)
    arrays["precisions_"][1] *= 2
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata), "U U^T")
    arrays, metadata = parts("spherical")
    arrays["precisions_"] = arrays["precisions_"][::-1].copy()
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata), "square")
    arrays, metadata = parts("diag")
    arrays["covariances_"] = arrays["covariances_"] * 2
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata), "inverse")


@pytest.mark.parametrize("weights, dtype, fragment", [
    ([5.0, -1.0], np.float64, "must lie in [0, 1]"),
    ([0.5, 0.6], np.float64, "must sum to 1"),
    ([0.5, 0.5 + 1e-7], np.float64, "must sum to 1"),
    ([0.5, 0.5 + 1e-5], np.float32, "must sum to 1"),
])
def test_weights(tmp_path, weights, dtype, fragment):
    arrays, metadata = parts(dtype=dtype)
    arrays["weights_"] = np.array(weights, dtype=dtype)
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata), fragment)


@pytest.mark.parametrize("key, value, fragment", [
    ("n_iter_", -5, "n_iter_"),
    ("n_iter_", 2.5, "n_iter_"),
    ("n_iter_", "3", "n_iter_"),
    ("n_iter_", True, "n_iter_"),
    ("converged_", "yes", "converged_"),
    ("converged_", 1, "converged_"),
    ("lower_bound_", "nan", "lower_bound_"),
    ("lower_bound_", "inf", "lower_bound_"),
    ("lower_bound_", "low", "lower_bound_"),
    ("lower_bound_", None, "lower_bound_"),
    ("n_components", 2.0, "sizes"),
])
def test_fitted_scalars(tmp_path, key, value, fragment):
    arrays, metadata = parts()
    metadata[key] = value
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata), fragment)


@pytest.mark.parametrize("name, value", [
    ("n_threads", 0), ("n_threads", 2.5), ("n_threads", "4"), ("n_threads", True),
    ("n_threads", -3), ("max_iter", -1), ("n_init", True), ("tol", "small"),
    ("init_params", "psychic"), ("n_components", 3), ("covariance_type", "diag"),
    ("warm_start", "no"), ("random_state", "seed"), ("means_init", [1, 2]),
])
def test_constructor_parameters(tmp_path, name, value):
    arrays, metadata = parts()
    metadata["params"][name] = value
    assert_damaged(write(tmp_path / "m.npz", arrays, metadata))


def test_counts_in_messages_are_in_the_right_number(tmp_path):
    arrays, metadata = parts(k=1, d=1)
    metadata["params"]["n_components"] = 2
    with pytest.raises(ValueError, match="damaged.* the file holds 1 component$"):
        fastgmm.load(write(tmp_path / "m.npz", arrays, metadata))
    arrays, metadata = parts(k=1, d=1)
    arrays.update(scaling_mean=np.array([1.0, 2.0]), scaling_scale=np.array([3.0]))
    metadata["scaling"] = {"method": "standardize"}
    with pytest.raises(ValueError,
                       match="damaged.* scaling_mean is not 1 finite float64 value$"):
        fastgmm.load(write(tmp_path / "m.npz", arrays, metadata))


def test_scaling_entries(tmp_path):
    arrays, metadata = parts(d=2)
    arrays.update(scaling_mean=np.array([1.0, 2.0]), scaling_scale=np.array([3.0, 4.0]))
    metadata["scaling"] = {"method": "standardize"}
    model = fastgmm.load(write(tmp_path / "m.npz", arrays, metadata))
    np.testing.assert_array_equal(model.scaling_["mean"], [1.0, 2.0])
    np.testing.assert_array_equal(model.scaling_["scale"], [3.0, 4.0])
    # written back by save, read again
    model.save(tmp_path / "again.npz")
    np.testing.assert_array_equal(
        fastgmm.load(tmp_path / "again.npz").scaling_["scale"], [3.0, 4.0])
    for change, fragment in [
        (lambda a, m: a.update(scaling_scale=np.array([3.0, 0.0])), "positive"),
        (lambda a, m: a.update(scaling_mean=np.array([1.0])), "scaling_mean"),
        (lambda a, m: a.pop("scaling_scale"), "missing"),
        (lambda a, m: m.update(scaling={"method": "log"}), "unknown scaling"),
        (lambda a, m: m.pop("scaling"), "without a 'scaling' entry"),
    ]:
        bad_arrays, bad_metadata = dict(arrays), json.loads(json.dumps(metadata))
        change(bad_arrays, bad_metadata)
        assert_damaged(write(tmp_path / "m.npz", bad_arrays, bad_metadata), fragment)


def test_loading_runs_no_code_from_the_file(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    arrays, metadata = parts()
    arrays["means_"] = np.array([Payload()], dtype=object)
    path = write(tmp_path / "m.npz", arrays, metadata)
    with pytest.raises(ValueError, match="fastgmm model"):
        fastgmm.load(path)
    assert not marker.exists()


# -------------------------------------------------------------------- writing


def test_save_refuses_a_model_that_would_make_a_damaged_file(tmp_path):
    X = np.random.RandomState(0).randn(300, 2)
    model = fastgmm.GaussianMixture(2, random_state=0).fit(X)
    model.weights_ = model.weights_ * 2
    with pytest.raises(ValueError, match="would make a damaged file: weights_"):
        model.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_the_file_format_module_builds_no_estimator(tmp_path):
    arrays, metadata = parts("diag")
    read_arrays, read_metadata = _io.read_model_file(
        write(tmp_path / "m.npz", arrays, metadata))
    assert read_metadata["lower_bound_"] == -2.4 and read_metadata["scaling"] is None
    np.testing.assert_array_equal(read_arrays["means_"], arrays["means_"])
    code = ("import sys, fastgmm.files.model; "
            "print(sorted(m for m in sys.modules if m in "
            "('fastgmm.mixture', 'fastgmm._persist', 'sklearn')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert fastgmm.load is _persist.load
