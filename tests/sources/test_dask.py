"""Fits and predictions on dask arrays, on a dask.distributed cluster (`sources.dask`)."""

import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.array as da  # noqa: E402

import fastgmm  # noqa: E402
from fastgmm import GaussianMixture, _init_rows  # noqa: E402
from fastgmm.kernels import _common  # noqa: E402
from fastgmm.sources import dask as _dask  # noqa: E402

from ..helpers import BACKENDS, COVARIANCE_TYPES, make_blobs  # noqa: E402

# one cluster per test process: with --dist loadgroup, every test of this file
# runs in the same xdist worker
pytestmark = [pytest.mark.dask, pytest.mark.xdist_group("dask")]

N, D, K = 20_000, 3, 3
#: uneven chunks; their boundaries are not partition bounds (multiples of 2,000)
UNEVEN = (4321, 7000, 1500, 2679, 4500)
#: chunks on partition bounds: the fit is bitwise the in-memory one
ALIGNED = (4000, 6000, 2000, 8000)
PARAMS = ("weights_", "means_", "covariances_", "precisions_cholesky_")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def data():
    return make_blobs(N, D, K, seed=1)[0]


def _fit(X, sample_weight=None, **params):
    params = {"covariance_type": "full", "random_state": 0, "max_iter": 3, "tol": 0,
              **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(K, **params).fit(X, sample_weight=sample_weight)


def _persisted(client, X, chunks):
    return client.persist(da.from_array(X, chunks=(chunks, X.shape[1])))


def _assert_close(fitted, expected, rtol=1e-10):
    for name in PARAMS:
        assert_allclose(getattr(fitted, name), getattr(expected, name), rtol=rtol,
                        atol=rtol * np.abs(getattr(expected, name)).max(), err_msg=name)
    assert fitted.n_iter_ == expected.n_iter_
    assert fitted.lower_bound_ == pytest.approx(expected.lower_bound_, rel=rtol)


def _assert_same(fitted, expected):
    for name in PARAMS:
        assert_array_equal(getattr(fitted, name), getattr(expected, name), err_msg=name)
    assert fitted.n_iter_ == expected.n_iter_
    assert fitted.lower_bound_ == expected.lower_bound_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_equals_the_in_memory_fit(client, data, covariance_type):
    expected = _fit(data, covariance_type=covariance_type)
    X = _persisted(client, data, UNEVEN)
    fitted = _fit(X, covariance_type=covariance_type)
    _assert_close(fitted, expected)
    if covariance_type == "full":  # run after run the same bits
        _assert_same(_fit(X, covariance_type=covariance_type), fitted)
    # chunks on the in-memory pass's partitions: its bits
    _assert_same(_fit(_persisted(client, data, ALIGNED),
                      covariance_type=covariance_type), expected)


def test_float32_and_integers(client, data):
    X32 = data.astype(np.float32)
    fitted = _fit(_persisted(client, X32, UNEVEN), covariance_type="diag")
    assert fitted.means_.dtype == np.float32
    _assert_close(fitted, _fit(X32, covariance_type="diag"), rtol=1e-6)
    Xi = np.round(data * 10).astype(np.int32)
    fitted = _fit(_persisted(client, Xi, ALIGNED), covariance_type="diag")
    assert fitted.means_.dtype == np.float64
    _assert_same(fitted, _fit(Xi.astype(np.float64), covariance_type="diag"))


def test_predictions_are_lazy_dask_arrays(client, data):
    model = _fit(data)
    X = _persisted(client, data, UNEVEN)
    for method, dtype in (("predict", np.intp), ("predict_proba", np.float64),
                          ("score_samples", np.float64)):
        lazy = getattr(model, method)(X)
        assert isinstance(lazy, da.Array), method
        assert lazy.chunks[0] == X.chunks[0] and lazy.dtype == dtype, method
        assert_array_equal(lazy.compute(), getattr(model, method)(data), err_msg=method)
    assert model.score(X) == pytest.approx(model.score(data), rel=1e-12)
    assert model.bic(X) == pytest.approx(model.bic(data), rel=1e-12)
    assert model.aic(X) == pytest.approx(model.aic(data), rel=1e-12)
    # the parameters are captured: refitting the model changes nothing computed later
    lazy = model.predict_proba(X)
    before = lazy.compute()
    model.set_params(max_iter=1).fit(data[::-1])
    assert_array_equal(lazy.compute(), before)


def test_fit_predict(client, data):
    X = _persisted(client, data, UNEVEN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = GaussianMixture(K, random_state=0, max_iter=5, tol=0)
        labels = gm.fit_predict(X)
    assert isinstance(labels, da.Array)
    assert_array_equal(labels.compute(), gm.predict(X).compute())
    assert_array_equal(labels.compute(), _fit(data, max_iter=5).predict(data))


def test_sample_weights(client, data):
    w = np.random.RandomState(3).rand(N)
    w[::7] = 0
    expected = _fit(data, w)
    X = _persisted(client, data, ALIGNED)
    _assert_same(_fit(X, w), expected)  # NumPy weights
    W = client.persist(da.from_array(w, chunks=3000))  # other chunks than X's
    _assert_close(_fit(X, W * 5.0), expected)
    _assert_same(_fit(X, 2.5, max_iter=2), _fit(X, max_iter=2))  # as no weights
    for bad, message in ((-w, "Negative values"), (w * np.nan, "contains NaN"),
                         (w + np.inf, "contains infinity"),
                         (w * 0, "at least one non-zero"),
                         (w[:-1], r"sample_weight.shape == \(19999,\)")):
        for given in (bad, da.from_array(bad, chunks=5000)):
            with pytest.raises(ValueError, match=message):
                _fit(X, given)
    for bad, message in ((-1.0, "Negative values"), (0, "at least one non-zero"),
                         (np.nan, "contains NaN or infinity")):
        with pytest.raises(ValueError, match=message):
            _fit(X, bad)


def test_initialization_from_a_sample_equals_the_memmap_fit(client, data, tmp_path,
                                                            monkeypatch):
    np.save(tmp_path / "X.npy", data)
    M = np.load(tmp_path / "X.npy", mmap_mode="r")
    X = _persisted(client, data, ALIGNED)
    _assert_same(_fit(X, init_sample_size=1000), _fit(M, init_sample_size=1000))
    # 'auto': an X not in memory is sampled above INIT_BYTES of initialization work
    monkeypatch.setattr(_init_rows, "INIT_BYTES", 200_000)
    with pytest.warns(fastgmm.InitSampleWarning, match="a sample of"):
        fitted = GaussianMixture(K, random_state=0, max_iter=3, tol=0).fit(X)
    with pytest.warns(fastgmm.InitSampleWarning, match="a sample of"):
        expected = GaussianMixture(K, random_state=0, max_iter=3, tol=0).fit(M)
    _assert_same(fitted, expected)


def test_chunks_of_unknown_size_split_columns_and_empty_chunks(client, data):
    expected = _fit(data, covariance_type="diag")
    X = da.from_array(data, chunks=(3000, 2))
    unknown = X[X[:, 0] > -np.inf]  # chunk sizes unknown
    assert np.isnan(unknown.shape[0])
    with pytest.warns(da.PerformanceWarning, match=r"rechunk\(\{1: -1\}\)"):
        _assert_close(_fit(unknown, covariance_type="diag"), expected)
    assert unknown.shape == data.shape  # computed once, in place
    empty = _persisted(client, data, (5000, 0, 15000))
    _assert_close(_fit(empty, covariance_type="diag"), expected)
    assert_array_equal(expected.predict(empty).compute(), expected.predict(data))
    # criteria count the rows of X even where dask does not know them yet
    unknown = X[X[:, 0] > -np.inf]
    assert np.isnan(unknown.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", da.PerformanceWarning)
        assert expected.bic(unknown) == pytest.approx(expected.bic(data), rel=1e-12)


def test_a_nan_names_its_row(client, data):
    bad = data.copy()
    bad[12345, 1] = np.nan
    X = _persisted(client, bad, UNEVEN)
    with pytest.raises(ValueError, match=r"Input X contains NaN \(row 12345\)"):
        _fit(X)
    with pytest.raises(ValueError, match=r"Input X contains NaN \(row 12345\)"):
        _fit(X, init_sample_size=100)  # the sample misses it, the first pass does not
    model = _fit(data)
    bad[12345, 1] = np.inf
    with pytest.raises(ValueError, match=r"infinity.*\(row 12345\)"):
        model.predict(_persisted(client, bad, UNEVEN)).compute()


def test_invalid_arrays(client, data):
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        _fit(da.from_array(data[:, 0]))
    with pytest.raises(ValueError, match="needs numbers"):
        _fit(da.from_array(np.array([["a", "b"]] * 5)))
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        GaussianMixture(1).fit(da.from_array(data[:1]))
    model = _fit(data)
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is "
                                         "expecting 3 features"):
        model.predict(da.from_array(data[:, :2]))


def test_a_non_persisted_input_warns_once_per_fit(client, data):
    def fit(X):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            GaussianMixture(K, random_state=0, max_iter=1, tol=0, n_init=2).fit(X)
        return [str(w.message) for w in caught
                if issubclass(w.category, da.PerformanceWarning)]

    computed = _persisted(client, data, UNEVEN) * 1.0
    (message,) = fit(computed)
    assert "not persisted: each EM iteration computes it again" in message
    (message,) = fit(da.from_array(data, chunks=5000))  # sent by this process
    assert "held by this process" in message
    assert fit(computed.persist()) == []
    # without a distributed client, arrays in this process's memory are persisted
    with dask.config.set(scheduler="threads"):
        assert fit(da.from_array(data, chunks=5000)) == []
        assert len(fit(da.from_array(data, chunks=5000) * 1.0)) == 1


def test_kernel_threads_per_task(client, data):
    threads = _dask._threads(None, da.from_array(data))
    # 2 workers of 1 thread on this host: cores // 2 kernel threads each
    assert client.submit(threads, pure=False).result() == max(
        1, _common.usable_cores() // 2)
    assert client.submit(_dask._threads(1, da.from_array(data)), pure=False).result() == 1
    with dask.config.set(scheduler="sync"):
        assert _dask._threads(None, da.from_array(data))() == _common.usable_cores()
    with dask.config.set(scheduler="threads"):
        assert _dask._threads(None, da.from_array(data))() == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_threaded_workers(data, backend):
    # two workers of two threads each in this process: kernels entered from
    # four threads at once
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=False,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster, set_as_default=False) as c, c.as_current():
            X = _persisted(c, data, ALIGNED)
            for covariance_type in ("full", "diag"):
                fitted = _fit(X, covariance_type=covariance_type, backend=backend)
                _assert_same(fitted, _fit(data, covariance_type=covariance_type,
                                          backend=backend))
                assert_array_equal(fitted.predict(X).compute(), fitted.predict(data))


def test_partial_fit_on_dask_batches(client, data):
    expected = GaussianMixture(K, random_state=0)
    fitted = GaussianMixture(K, random_state=0)
    for batch in (slice(0, 8000), slice(8000, N)):
        expected.partial_fit(data[batch])
        fitted.partial_fit(_persisted(client, data[batch], 3000))
    _assert_close(fitted, expected)


def test_a_lost_worker_changes_nothing(client, data):
    expected = _fit(data, max_iter=4)
    X = _persisted(client, data, UNEVEN)
    distributed.wait(X)
    pids = client.run(os.getpid)
    killed = []

    def kill_one_worker(event):
        if event["event"] == "iteration" and event["n_iter"] == 1:
            # a worker holding chunks of X dies mid-fit; its nanny restarts it
            address = sorted(pids)[0]
            os.kill(pids[address], signal.SIGKILL)
            killed.append(address)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = GaussianMixture(K, random_state=0, max_iter=4, tol=0).fit(
            X, callback=kill_one_worker)
    assert killed
    _assert_close(fitted, expected)
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != set(pids.values())


def test_core_package_does_not_import_dask():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import fastgmm
        X = np.random.RandomState(0).rand(500, 2)
        gm = fastgmm.GaussianMixture(2, random_state=0, init_params="random").fit(X)
        gm.predict(X), gm.score(X)
        loaded = [m for m in sys.modules
                  if m.split(".")[0] in ("dask", "distributed")
                  or m in ("fastgmm.sources.dask", "fastgmm.sources.dask_tasks",
                           "fastgmm.cli.dask")]
        assert not loaded, loaded
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# ------------------------------------------------------------ command line


def _cli(argv, capsys):
    from fastgmm.__main__ import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_fits_a_directory_of_npy_files(client, data, tmp_path, capsys):
    parts = tmp_path / "parts"
    parts.mkdir()
    for name, rows in (("a", slice(0, 7000)), ("b", slice(7000, 7001)),
                       ("c", slice(7001, N))):
        np.save(parts / f"{name}.npy", data[rows])
    np.save(tmp_path / "all.npy", data)
    address = client.scheduler.address
    code, out, err = _cli(["fit", str(parts), "--scheduler", address, "-k", "3",
                           "--out", str(tmp_path / "d.npz"),
                           "--labels", str(tmp_path / "d.npy"), "-q"], capsys)
    assert code == 0, err
    assert _cli(["fit", str(tmp_path / "all.npy"), "-k", "3", "-q", "--out",
                 str(tmp_path / "m.npz"), "--labels", str(tmp_path / "m.npy")],
                capsys)[0] == 0
    from fastgmm import load

    # chunks on the partitions of the in-memory pass: the same bits
    _assert_same(load(tmp_path / "d.npz"), load(tmp_path / "m.npz"))
    assert_array_equal(np.load(tmp_path / "d.npy"), np.load(tmp_path / "m.npy"))
    # a search, and a NaN named by its file and data row
    code, _, err = _cli(["fit", str(parts), "--scheduler", address, "-k", "2-3"], capsys)
    assert code == 1 and "one number of components" in err
    bad = data[7001:].copy()
    bad[5, 2] = np.nan
    np.save(parts / "c.npy", bad)
    code, _, err = _cli(["fit", str(parts / "*.npy"), "--scheduler", address, "-k", "3",
                         "-q"], capsys)
    assert code == 1 and f"{parts / 'c.npy'}: data row 6 has a missing" in err, err


def test_cli_missing_values_on_a_cluster(client, data, tmp_path, capsys):
    parts = tmp_path / "parts"
    parts.mkdir()
    X = data.copy()
    X[np.random.RandomState(99).rand(*X.shape) < 0.1] = np.nan
    np.save(parts / "a.npy", X[:9000])
    np.save(parts / "b.npy", X[9000:])
    address = client.scheduler.address
    code, out, err = _cli(["fit", str(parts), "--scheduler", address, "-k", "3",
                           "--missing", "marginalize", "--seed", "0", "--json",
                           "--out", str(tmp_path / "d.npz")], capsys)
    assert code == 0, err
    import json

    from fastgmm import load

    report = json.loads(out)
    expected = GaussianMixture(3, random_state=0, nan_policy="marginalize").fit(X)
    assert report["n_iter"] == expected.n_iter_
    assert report["log_likelihood"] == pytest.approx(expected.score(X) * len(X),
                                                     rel=1e-10)
    assert_allclose(load(tmp_path / "d.npz").means_, expected.means_, rtol=1e-10)
    # without --missing, a NaN is an error that says how to fit it
    code, _, err = _cli(["fit", str(parts), "--scheduler", address, "-k", "3", "-q"],
                        capsys)
    assert code == 1 and "--missing marginalize" in err, err
    bad = X[9000:].copy()
    bad[4, 1] = np.inf
    np.save(parts / "b.npy", bad)
    code, _, err = _cli(["fit", str(parts), "--scheduler", address, "-k", "3", "-q",
                         "--missing", "marginalize"], capsys)
    assert code == 1 and f"{parts / 'b.npy'}: data row 5 has an infinite" in err, err


def test_cli_local_cluster_and_parquet(data, tmp_path, capsys, monkeypatch):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(data, columns=["x", "y", "z"])
    frame[:12000].to_parquet(tmp_path / "p1.parquet", row_group_size=5000)
    frame[12000:].to_parquet(tmp_path / "p2.parquet", row_group_size=3000)
    # --dask's local cluster, made of threads here to start at once
    import functools

    monkeypatch.setattr(distributed, "LocalCluster", functools.partial(
        distributed.LocalCluster, n_workers=1, threads_per_worker=2, processes=False))
    code, out, err = _cli(["fit", str(tmp_path / "*.parquet"), "--dask", "-k", "3",
                           "--columns", "x,z", "--covariance", "diag", "--json"],
                          capsys)
    assert code == 0, err
    import json

    report = json.loads(out)
    expected = _fit(data[:, [0, 2]], covariance_type="diag", max_iter=100, tol=1e-3)
    assert report["feature_names"] == ["x", "z"]
    assert report["n_iter"] == expected.n_iter_
    assert report["lower_bound"] == pytest.approx(expected.lower_bound_, rel=1e-12)
    assert report["dask"]["persisted"] and report["dask"]["workers"] == 1


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_bayesian_mixture_on_a_dask_array(client, data, covariance_type):
    # the same driver and rows objects: the variational fit on a dask X is
    # the in-memory one (its bits on partition-aligned chunks)
    from fastgmm import BayesianGaussianMixture

    def fit(X):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return BayesianGaussianMixture(
                n_components=K, covariance_type=covariance_type, random_state=0,
                max_iter=3, tol=0).fit(X)

    expected = fit(data)
    names = ("weights_", "means_", "covariances_", "weight_concentration_",
             "degrees_of_freedom_", "mean_precision_")
    aligned = fit(_persisted(client, data, ALIGNED))
    for name in names:
        assert_array_equal(getattr(aligned, name), getattr(expected, name), err_msg=name)
    uneven = fit(_persisted(client, data, UNEVEN))
    for name in names:
        assert_allclose(getattr(uneven, name), getattr(expected, name), rtol=1e-10,
                        atol=1e-10 * np.abs(getattr(expected, name)).max(), err_msg=name)
    assert uneven.lower_bound_ == pytest.approx(expected.lower_bound_, rel=1e-10)
    proba = expected.predict_proba(_persisted(client, data, UNEVEN))
    assert isinstance(proba, da.Array)
    assert_allclose(proba.compute(), expected.predict_proba(data), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["numpy", "dask", "scalar"])
def test_bayesian_sample_weight_counts_as_in_memory(client, data, kind):
    # numpy and dask weights raised AttributeError; a scalar was dropped
    from fastgmm import BayesianGaussianMixture

    w = np.random.default_rng(0).integers(0, 3, len(data)).astype(np.float64)
    w = 2.5 if kind == "scalar" else w
    given = da.from_array(w, chunks=5000) if kind == "dask" else w
    params = dict(n_components=K, random_state=0, max_iter=10, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = BayesianGaussianMixture(**params).fit(_persisted(client, data, UNEVEN),
                                                       sample_weight=given)
        expected = BayesianGaussianMixture(**params).fit(data, sample_weight=w)
    for name in ("weight_concentration_", "means_", "covariances_", "mean_prior_",
                 "covariance_prior_"):
        assert_allclose(np.asarray(getattr(fitted, name)),
                        np.asarray(getattr(expected, name)), rtol=1e-9, err_msg=name)
    assert fitted.lower_bound_ == pytest.approx(expected.lower_bound_, rel=1e-10)


def test_cli_scale_of_a_directory_is_the_single_files(client, tmp_path, capsys):
    # one algorithm for --scale (cli.reading.ColumnMoments), in windows of
    # one file or in chunks of many: the same means and scales to rounding,
    # here on columns far from zero, where a naive variance cancels
    rng = np.random.RandomState(4)
    X = rng.normal(size=(9000, 3)) * [1.0, 1e-3, 50.0] + [0.0, 1e6, -3e4]
    parts = tmp_path / "parts"
    parts.mkdir()
    for name, rows in (("a", slice(0, 4000)), ("b", slice(4000, 9000))):
        np.save(parts / f"{name}.npy", X[rows])
    np.save(tmp_path / "all.npy", X)
    code, _, err = _cli(["fit", str(parts), "--scheduler", client.scheduler.address,
                         "-k", "2", "--scale", "-q", "--out", str(tmp_path / "d.npz")],
                        capsys)
    assert code == 0, err
    assert _cli(["fit", str(tmp_path / "all.npy"), "-k", "2", "--scale", "-q",
                 "--out", str(tmp_path / "m.npz")], capsys)[0] == 0
    from fastgmm import load

    d, m = load(tmp_path / "d.npz").scaling_, load(tmp_path / "m.npz").scaling_
    assert_allclose(d["mean"], X.mean(axis=0), rtol=1e-14)
    assert_allclose(d["scale"], X.std(axis=0), rtol=1e-12)
    assert_allclose(d["mean"], m["mean"], rtol=1e-15)
    assert_allclose(d["scale"], m["scale"], rtol=1e-13)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_missing_entries_on_a_cluster_fit_as_in_memory(client, data, covariance_type):
    X = data.copy()
    rng = np.random.RandomState(97)
    X[rng.rand(*X.shape) < 0.1] = np.nan
    X[3] = np.nan
    w = rng.rand(len(X))
    params = dict(n_components=K, covariance_type=covariance_type, random_state=0,
                  nan_policy="marginalize")
    expected = GaussianMixture(**params).fit(X, sample_weight=w)
    dX = _persisted(client, X, UNEVEN)
    fitted = GaussianMixture(**params).fit(dX, sample_weight=w)
    assert fitted.n_iter_ == expected.n_iter_
    assert_allclose(fitted.means_, expected.means_, rtol=1e-12, atol=1e-12)
    assert_allclose(fitted.covariances_, expected.covariances_, rtol=1e-11)
    assert_allclose(fitted.predict_proba(dX).compute(), expected.predict_proba(X),
                    rtol=1e-10, atol=1e-14)
    assert_allclose(fitted.score(dX), expected.score(X), rtol=1e-13)
    bad = X.copy()
    bad[7000, 1] = np.inf
    with pytest.raises(ValueError, match=r"infinity.*\(row 7000\)"):
        GaussianMixture(**params).fit(_persisted(client, bad, UNEVEN))


def test_variational_missing_entries_on_a_cluster_fit_as_in_memory(client, data):
    from fastgmm import BayesianGaussianMixture

    X = data.copy()
    X[np.random.RandomState(98).rand(*X.shape) < 0.1] = np.nan
    params = dict(n_components=K, random_state=0, nan_policy="marginalize")
    expected = BayesianGaussianMixture(**params).fit(X)
    fitted = BayesianGaussianMixture(**params).fit(_persisted(client, X, UNEVEN))
    assert fitted.n_iter_ == expected.n_iter_
    assert_allclose(fitted.means_, expected.means_, rtol=1e-12, atol=1e-12)
    assert_allclose(fitted.lower_bounds_, expected.lower_bounds_, rtol=1e-12)


@pytest.mark.parametrize("model", ["EVE", "VEI", "EII"])
def test_mclust_models_on_a_cluster_fit_as_in_memory(client, data, model):
    params = dict(n_components=K, covariance_type=model, random_state=0)
    expected = GaussianMixture(**params).fit(data)
    dX = _persisted(client, data, UNEVEN)
    fitted = GaussianMixture(**params).fit(dX)
    assert fitted.n_iter_ == expected.n_iter_
    assert_allclose(fitted.means_, expected.means_, rtol=1e-12, atol=1e-12)
    assert_allclose(fitted.predict_proba(dX).compute(), expected.predict_proba(data),
                    rtol=1e-10, atol=1e-14)
    # a noise component: the same volume (blocks of fixed rows), the same fit
    noisy = GaussianMixture(K, covariance_type=model, noise=True, random_state=0)
    expected = noisy.fit(data)
    fitted = GaussianMixture(K, covariance_type=model, noise=True, random_state=0).fit(dX)
    assert fitted.noise_volume_ == expected.noise_volume_
    # (EVE's inner iterations stop on their objective, flat at the optimum:
    # the rounding of the chunks' sums moves its parameters by ~1e-8)
    assert_allclose(fitted.noise_weight_, expected.noise_weight_, rtol=1e-6)
    assert_allclose(fitted.means_, expected.means_, rtol=1e-6, atol=1e-8)
    assert_array_equal(fitted.predict(dX).compute(), expected.predict(data))
    assert fitted.predict_proba(dX).compute().shape == (len(data), K + 1)
