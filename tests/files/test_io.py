"""Saved models: GaussianMixture.save / fastgmm.load, and pickle."""

import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import fastgmm
from fastgmm import GaussianMixture
from fastgmm.files import atomic
from fastgmm.files import model as _io

from ..helpers import COVARIANCE_TYPES, DTYPES, make_blobs


def fitted(covariance_type="full", dtype=np.float64, **params):
    X, _ = make_blobs(600, 3, 3, seed=1, dtype=dtype)
    params.setdefault("random_state", 0)
    return GaussianMixture(3, covariance_type=covariance_type, **params).fit(X), X


def assert_same_predictions(a, b, X):
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    assert a.score(X) == b.score(X)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_loaded_model_predicts_bitwise_as_saved(tmp_path, covariance_type, dtype):
    model, X = fitted(covariance_type, dtype)
    path = tmp_path / "model.npz"
    assert model.save(path) is model
    loaded = fastgmm.load(path)
    assert type(loaded) is GaussianMixture
    assert_same_predictions(model, loaded, X)
    new_X = np.random.RandomState(5).randn(50, 3).astype(dtype) * 5
    assert_same_predictions(model, loaded, new_X)
    for name in ("weights_", "means_", "covariances_", "precisions_",
                 "precisions_cholesky_"):
        saved, read = getattr(model, name), getattr(loaded, name)
        assert read.dtype == saved.dtype == dtype
        np.testing.assert_array_equal(read, saved)
    assert loaded.converged_ == model.converged_
    assert loaded.n_iter_ == model.n_iter_
    assert loaded.lower_bound_ == model.lower_bound_
    assert loaded.lower_bounds_ == model.lower_bounds_
    assert loaded.n_features_in_ == 3
    assert loaded.get_params() == model.get_params()
    assert not hasattr(loaded, "feature_names_in_")


def test_sampling_from_a_loaded_model_matches(tmp_path):
    model, _ = fitted("diag")
    model.save(tmp_path / "m.npz")
    loaded = fastgmm.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(model.sample(20)[0], loaded.sample(20)[0])


def test_feature_names_are_kept(tmp_path):
    pd = pytest.importorskip("pandas")
    X, _ = make_blobs(300, 2, 2, seed=2)
    frame = pd.DataFrame(X, columns=["height", "width"])
    model = GaussianMixture(2, random_state=0).fit(frame)
    model.save(tmp_path / "m.npz")
    loaded = fastgmm.load(tmp_path / "m.npz")
    assert list(loaded.feature_names_in_) == ["height", "width"]
    np.testing.assert_array_equal(model.predict(frame), loaded.predict(frame))
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame[["width", "height"]].rename(columns={"width": "w"}))


def test_the_file_is_an_npz_with_json_metadata(tmp_path):
    model, _ = fitted("tied", np.float32, n_init=2, backend="cython", n_threads=1)
    path = tmp_path / "m.npz"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    with np.load(path, allow_pickle=False) as archive:  # no pickle needed
        metadata = json.loads(str(archive["fastgmm_metadata"]))
        assert archive["means_"].dtype == np.float32
    assert metadata["format"] == _io.FORMAT_NAME
    assert metadata["format_version"] == _io.FORMAT_VERSION
    assert metadata["fastgmm_version"] == fastgmm.__version__
    assert metadata["covariance_type"] == "tied"
    assert metadata["dtype"] == "float32"
    assert metadata["n_features"] == 3 and metadata["n_components"] == 3
    assert metadata["feature_names"] is None
    assert metadata["params"]["n_init"] == 2
    assert metadata["params"]["backend"] == "cython"
    assert metadata["params"]["n_threads"] == 1


def test_initial_parameters_are_kept_and_a_loaded_model_refits(tmp_path):
    X, _ = make_blobs(300, 2, 2, seed=3)
    means_init = np.array([[0.0, 0.0], [1.0, 1.0]])
    model = GaussianMixture(2, means_init=means_init, random_state=0).fit(X)
    model.save(tmp_path / "m.npz")
    loaded = fastgmm.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.means_init, means_init)
    refit = loaded.fit(X)
    np.testing.assert_array_equal(refit.means_, model.means_)


def test_random_state_instance_is_not_stored(tmp_path):
    model, _ = fitted(random_state=None)
    model.set_params(random_state=np.random.RandomState(0))
    model.save(tmp_path / "m.npz")
    assert fastgmm.load(tmp_path / "m.npz").random_state is None


def test_saving_does_not_change_the_model(tmp_path):
    model, X = fitted("spherical")
    before = pickle.dumps(model)
    model.save(tmp_path / "m.npz")
    assert pickle.dumps(model) == before


def test_pickle_keeps_working():
    for covariance_type in COVARIANCE_TYPES:
        model, X = fitted(covariance_type)
        clone = pickle.loads(pickle.dumps(model))
        assert_same_predictions(model, clone, X)


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        GaussianMixture().save(tmp_path / "m.npz")
    assert not os.listdir(tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastgmm.load(tmp_path / "nothing.npz")


def _rewrite(path, change):
    """Rewrite an archive with its metadata changed by ``change(dict)``."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    metadata = json.loads(str(arrays["fastgmm_metadata"]))
    change(metadata, arrays)
    arrays["fastgmm_metadata"] = np.array(json.dumps(metadata))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_newer_format_version_is_refused(tmp_path):
    model, _ = fitted()
    path = tmp_path / "m.npz"
    model.save(path)
    _rewrite(path, lambda m, a: m.update(format_version=_io.FORMAT_VERSION + 1,
                                          fastgmm_version="9.0"))
    with pytest.raises(ValueError, match=r"newer fastgmm \(9\.0.*Upgrade fastgmm"):
        fastgmm.load(path)


@pytest.mark.parametrize("make, match", [
    (lambda p: p.write_text("a,b\n1,2\n"), "not a fastgmm model file"),
    (lambda p: p.write_bytes(b""), "cannot be read as a fastgmm model"),
    (lambda p: np.save(p.open("wb"), np.zeros(3)), "single NumPy array"),
    (lambda p: np.savez(p.open("wb"), x=np.zeros(3)), "not a fastgmm model file"),
    (lambda p: np.savez(p.open("wb"), fastgmm_metadata=np.array('{"format": "x"}')),
     "not a fastgmm model file"),
    (lambda p: np.savez(p.open("wb"), fastgmm_metadata=np.array("{not json")),
     "damaged"),
])
def test_files_that_are_not_ours(tmp_path, make, match):
    path = tmp_path / "m.npz"
    make(path)
    with pytest.raises(ValueError, match=match):
        fastgmm.load(path)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.99])
def test_truncated_file(tmp_path, keep):
    model, _ = fitted()
    path = tmp_path / "m.npz"
    model.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="fastgmm model"):
        fastgmm.load(path)


def test_corrupted_bytes(tmp_path):
    model, _ = fitted()
    path = tmp_path / "m.npz"
    model.save(path)
    data = bytearray(path.read_bytes())
    start = data.index(b"means_.npy") + 200  # inside the stored array
    data[start:start + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="fastgmm model"):
        fastgmm.load(path)


@pytest.mark.parametrize("change, match", [
    (lambda m, a: a.update(means_=a["means_"][:2]), "means_ has shape"),
    (lambda m, a: a.update(weights_=a["weights_"].astype(np.float32)), "weights_"),
    (lambda m, a: a.pop("precisions_cholesky_"), "missing"),
    (lambda m, a: a.update(means_=a["means_"] * np.nan), "non-finite"),
    (lambda m, a: m.update(covariance_type="round"), "covariance type"),
    (lambda m, a: m.update(feature_names=["a"]), "feature names"),
    (lambda m, a: m.pop("n_features"), "incomplete"),
    (lambda m, a: m["params"].update(backend="gpu"), "invalid parameters"),
])
def test_inconsistent_contents_are_damaged(tmp_path, change, match):
    model, _ = fitted()
    path = tmp_path / "m.npz"
    model.save(path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=match):
        fastgmm.load(path)


def test_existing_file_is_replaced_only_on_success(tmp_path, monkeypatch):
    model, _ = fitted()
    path = tmp_path / "m.npz"
    path.write_bytes(b"previous contents")

    def failing_savez(f, **arrays):
        f.write(b"half of a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == b"previous contents"
    assert os.listdir(tmp_path) == ["m.npz"]  # no temporary file left behind
    monkeypatch.undo()
    model.save(path)
    assert os.listdir(tmp_path) == ["m.npz"]
    assert fastgmm.load(path).n_components == 3


def test_atomic_output_keeps_permissions_of_a_replaced_file(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    with atomic.atomic_output(path, "w") as f:
        f.write("new")
    assert path.read_text() == "new"
    assert os.stat(path).st_mode & 0o777 == 0o640
    fresh = tmp_path / "fresh.txt"
    with atomic.atomic_output(fresh, "w") as f:
        f.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(fresh).st_mode & 0o777 == 0o666 & ~umask


def test_load_is_exported():
    assert "load" in fastgmm.__all__


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_partial_fit_continues_after_save_and_load(tmp_path, covariance_type):
    # the online state (step count, rows seen, running statistics) is in the file
    X, _ = make_blobs(2500, 3, 2, seed=3)
    online = fastgmm.GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    for start in range(0, 2000, 500):
        online.partial_fit(X[start:start + 500])
    path = tmp_path / "online.npz"
    online.save(path)
    loaded = fastgmm.load(path)
    assert (loaded.n_steps_, loaded.n_samples_seen_) == (4, 2000)
    online.partial_fit(X[2000:])
    loaded.partial_fit(X[2000:])
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(online, name))
    # a damaged state is refused
    with np.load(path) as f:
        arrays = dict(f)
    arrays["stepwise_nk"] = arrays["stepwise_nk"][:1]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="stepwise_nk"):
        fastgmm.load(bad)
    metadata = json.loads(str(arrays["fastgmm_metadata"]))
    assert metadata["stepwise"]["n_steps_"] == 4


def test_the_npy_header_writer_gives_numpys_bytes():
    import io

    from fastgmm.files.dataset import npy_header, npy_header_size

    for dtype, shape in ((np.float64, (5, 3)), (np.float32, (123_456_789, 17)),
                         (np.int64, (0,)), (np.float64, (7,))):
        expected = io.BytesIO()
        np.lib.format.write_array_header_1_0(expected, {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
            "fortran_order": False, "shape": shape})
        assert npy_header(dtype, shape) == expected.getvalue()
    # a header that any row count fits in, rewritable in place
    size = npy_header_size(3)
    assert len(npy_header(np.float64, (10**18, 3), size=size)) == size
    with pytest.raises(ValueError, match="too long"):
        npy_header(np.float64, (10**80, 3), size=size)


def test_save_names_its_file_as_numpy_savez_does(tmp_path):
    # a name without .npz wrote a file without it, which the command line
    # (--out MODEL.npz) would not have named; numpy.savez appends .npz
    model, X = fitted("diag")
    for name in ("noext", "model.txt", "m.npz"):
        ours, numpys = tmp_path / "ours", tmp_path / "numpy"
        for directory in (ours, numpys):
            directory.mkdir(exist_ok=True)
            for old in directory.iterdir():
                old.unlink()
        np.savez(numpys / name, x=np.zeros(1))
        model.save(ours / name)
        assert os.listdir(ours) == os.listdir(numpys)
        assert_same_predictions(model, fastgmm.load(ours / os.listdir(ours)[0]), X)
    # .npz in any case counts, as the command line takes it
    model.save(str(tmp_path / "upper.NPZ"))
    assert os.path.exists(tmp_path / "upper.NPZ")
    assert not os.path.exists(tmp_path / "upper.NPZ.npz")
    with pytest.raises(FileNotFoundError):
        fastgmm.load(ours / "noext")  # read as named, as numpy.load does
