"""Data larger than memory: memory maps and array-likes read window by window."""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastgmm
from fastgmm import GaussianMixture, _init_rows
from fastgmm.kernels import _common

from ..helpers import COVARIANCE_TYPES, DTYPES, ArrayLike, assert_same_model, make_blobs


@pytest.fixture
def memmap_of(tmp_path):
    def save(X):
        path = tmp_path / f"X{len(os.listdir(tmp_path))}.npy"
        np.save(path, X)
        return np.load(path, mmap_mode="r")

    return save


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", [3, 26])  # direct loops; 'full' through BLAS tiles
def test_memmap_fit_is_bitwise_the_in_memory_fit(backend, covariance_type, dtype, d,
                                                 memmap_of, monkeypatch):
    # several partitions, and windows smaller than a partition
    monkeypatch.setattr(_common, "MIN_ROWS_PER_PARTITION", 1000)
    X, _ = make_blobs(4321, d, 3, seed=1, dtype=dtype)
    M = memmap_of(X)
    params = dict(covariance_type=covariance_type, random_state=0, backend=backend,
                  max_iter=5, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        expected = GaussianMixture(3, **params).fit(X)
        fitted = GaussianMixture(3, **params, window_bytes=300 * d * X.itemsize).fit(M)
    assert_same_model(fitted, expected)
    assert_array_equal(fitted.predict(M), expected.predict(X))
    assert_array_equal(fitted.predict_proba(M), expected.predict_proba(X))
    assert_array_equal(fitted.score_samples(M), expected.score_samples(X))
    # summed window by window in float64 (in memory: scikit-learn's mean in X's dtype)
    assert fitted.score(M) == pytest.approx(expected.score(X),
                                            rel=1e-12 if dtype == np.float64 else 1e-6)


@pytest.mark.parametrize("share", [0.0, 0.5])
def test_a_memmap_drops_its_pages_only_when_large(memmap_of, monkeypatch, share):
    # a memory map larger than KEEP_MAPPED_SHARE of the memory available lets
    # each window's pages go after use (share 0: every file), a smaller one
    # stays mapped between passes; the fit is the in-memory fit either way
    from fastgmm.sources import rows as _rows

    monkeypatch.setattr(_rows, "KEEP_MAPPED_SHARE", share)
    X, _ = make_blobs(3000, 4, 3, seed=2)
    M = memmap_of(X)
    mapping = _rows._Mapping.of(M, M.dtype)
    assert mapping.drop == (share == 0.0 and _rows._CAN_DROP_PAGES)
    params = dict(random_state=0, max_iter=4, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        expected = GaussianMixture(3, **params).fit(X)
        fitted = GaussianMixture(3, **params, window_bytes=500 * 4 * 8).fit(M)
    assert_same_model(fitted, expected)


def test_weighted_fit_from_an_array_like(backend, monkeypatch):
    monkeypatch.setattr(_common, "MIN_ROWS_PER_PARTITION", 700)
    X, _ = make_blobs(3000, 4, 3, seed=2)
    w = np.random.RandomState(3).rand(3000)
    A = ArrayLike(X)
    params = dict(random_state=0, backend=backend, max_iter=4, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = GaussianMixture(3, **params).fit(X, sample_weight=w)
        fitted = GaussianMixture(3, **params, window_bytes=20000).fit(
            A, sample_weight=w)
    assert_same_model(fitted, expected)
    # read window by window, never whole
    assert max(stop - start for start, stop in A.reads) < 3000


@pytest.mark.parametrize("module", ["zarr", "h5py"])
def test_zarr_and_h5py_arrays(module, tmp_path):
    lib = pytest.importorskip(module)
    X, _ = make_blobs(2000, 3, 2, seed=4, dtype=np.float32)
    if module == "zarr":
        A = lib.open_array(str(tmp_path / "x.zarr"), mode="w", shape=X.shape,
                           chunks=(500, 3), dtype="f4")
        A[:] = X
        f = None
    else:
        f = lib.File(tmp_path / "x.h5", "w")
        A = f.create_dataset("X", data=X)
    try:
        expected = GaussianMixture(2, random_state=0).fit(X)
        fitted = GaussianMixture(2, random_state=0, window_bytes=4000).fit(A)
        assert_same_model(fitted, expected)
        assert fitted.means_.dtype == np.float32
        assert_array_equal(fitted.predict(A), expected.predict(X))
    finally:
        if f is not None:
            f.close()


def test_integer_memmap_is_converted_window_by_window(memmap_of):
    X = np.random.RandomState(5).randint(-50, 50, size=(3000, 2)).astype(np.int32)
    X[:1500] += 100
    fitted = GaussianMixture(2, random_state=0, window_bytes=8000).fit(memmap_of(X))
    expected = GaussianMixture(2, random_state=0).fit(X.astype(np.float64))
    assert_same_model(fitted, expected)


def test_a_nan_in_a_memmap_names_its_row(memmap_of):
    X, _ = make_blobs(5000, 3, 2, seed=6)
    X[3456, 1] = np.nan
    M = memmap_of(X)
    with pytest.raises(ValueError, match=r"Input X contains NaN \(row 3456\)"):
        GaussianMixture(2, random_state=0, window_bytes=10000).fit(M)
    X[3456, 1] = np.inf
    with pytest.raises(ValueError, match=r"Input X contains infinity.*\(row 3456\)"):
        GaussianMixture(2, random_state=0, window_bytes=10000,
                        init_sample_size=100).fit(memmap_of(X))
    good = GaussianMixture(2, random_state=0).fit(make_blobs(500, 3, 2)[0])
    with pytest.raises(ValueError, match=r"\(row 3456\)"):
        good.predict(memmap_of(X))


def test_wrong_shapes_of_array_likes(memmap_of):
    X, _ = make_blobs(100, 3, 2, seed=7)
    gm = GaussianMixture(2, random_state=0).fit(memmap_of(X))
    assert gm.n_features_in_ == 3
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is "
                                         "expecting 3 features as input"):
        gm.predict(memmap_of(X[:, :2].copy()))
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        GaussianMixture(1).fit(memmap_of(X[:1].copy()))
    with pytest.raises(ValueError, match="needs numbers"):
        GaussianMixture(1).fit(memmap_of(np.array([["a", "b"]] * 5)))


def test_init_sample_size_draws_rows_with_random_state(memmap_of):
    X, _ = make_blobs(6000, 2, 3, seed=8)
    M = memmap_of(X)
    one = GaussianMixture(3, random_state=0, init_sample_size=500, max_iter=0).fit(M)
    two = GaussianMixture(3, random_state=0, init_sample_size=500, max_iter=0).fit(X)
    assert_array_equal(one.means_, two.means_)
    rows = _init_rows._sample_rows(np.random.RandomState(0), 6000, 500)
    assert rows.size == 500 and np.all(np.diff(rows) > 0)
    from_sample = GaussianMixture(3, random_state=np.random.RandomState(0), max_iter=0)
    # the sample, then the same initialization on those rows
    rng = np.random.RandomState(0)
    rows = _init_rows._sample_rows(rng, 6000, 500)
    by_hand = GaussianMixture(3, random_state=rng, max_iter=0).fit(X[rows])
    from_sample.set_params(init_sample_size=500).fit(X)
    assert_array_equal(from_sample.means_, by_hand.means_)
    # at least n_samples: all rows, as without it
    everything = GaussianMixture(3, random_state=0, init_sample_size=10**6,
                                 max_iter=0).fit(M)
    plain = GaussianMixture(3, random_state=0, max_iter=0).fit(X)
    assert_array_equal(everything.means_, plain.means_)


@pytest.mark.parametrize("n, size", [(10_001, 10_000), (1_048_600, 1_048_576),
                                     (6000, 500), (9, 0), (9, 9), (1000, 501)])
def test_sample_rows_are_distinct_sorted_and_exactly_as_many(n, size):
    # close to n_samples the old draws degenerated (repeated rounds of
    # redraws: 17,724 rounds for 10,000 of 10,001)
    rows = _init_rows._sample_rows(np.random.RandomState(0), n, size)
    assert rows.size == size and rows.dtype == np.int64
    assert np.all(np.diff(rows) > 0) and np.all((rows >= 0) & (rows < n))


@pytest.mark.parametrize("size", [3, 7, 13])  # by draws; 13 of 20 by its complement
def test_sample_rows_are_uniform(size):
    rng = np.random.RandomState(2)
    counts = np.zeros(20)
    for _ in range(6000):
        counts[_init_rows._sample_rows(rng, 20, size)] += 1
    expected = 6000 * size / 20
    # each row's count is binomial: within 5 standard deviations
    sd = np.sqrt(6000 * (size / 20) * (1 - size / 20))
    assert np.all(np.abs(counts - expected) < 5 * sd), counts


def test_auto_samples_only_above_the_budget(memmap_of, monkeypatch):
    X, _ = make_blobs(4000, 2, 3, seed=9)
    M = memmap_of(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # within the budget: no warning
        within = GaussianMixture(3, random_state=0).fit(M)
    assert_same_model(within, GaussianMixture(3, random_state=0).fit(X))
    monkeypatch.setattr(_init_rows, "INIT_BYTES", 1000 * (2 * 8 + _init_rows.INIT_ROW_BYTES))
    with pytest.warns(fastgmm.InitSampleWarning, match="sample of 1,000 rows") as caught:
        sampled = GaussianMixture(3, random_state=0).fit(M)
    (warning,) = [w.message for w in caught
                  if isinstance(w.message, fastgmm.InitSampleWarning)]
    assert (warning.n_samples, warning.size) == (4000, 1000)
    by_size = GaussianMixture(3, random_state=0, init_sample_size=1000).fit(M)
    assert_same_model(sampled, by_size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # in memory: all rows, always
        GaussianMixture(3, random_state=0).fit(X)
        # the same int for both: the same rows drawn, the in-memory fit's bits
        assert_same_model(by_size, GaussianMixture(3, random_state=0,
                                                   init_sample_size=1000).fit(X))


def test_the_init_sample_warning_is_public():
    assert "InitSampleWarning" in fastgmm.__all__
    assert issubclass(fastgmm.InitSampleWarning, UserWarning)
    assert fastgmm.InitSampleWarning.__module__ == "fastgmm._init_rows"
    # its docstring says when it is raised and how to avoid it
    doc = fastgmm.InitSampleWarning.__doc__
    assert "init_sample_size" in doc and "bit for bit" in doc
    # its counts with their nouns in the right number
    message = str(fastgmm.InitSampleWarning(70_001, 1))
    assert "its 70,001 rows are" in message and "sample of 1 row drawn" in message


@pytest.mark.slow
def test_anonymous_memory_of_a_large_memmap_fit_is_bounded(tmp_path):
    # 2e7 rows x 4 float32 (305 MiB); the fit with default arguments must not
    # copy it: anonymous memory grows by a window (64 MiB) and the
    # initialization (128 MiB), not by X
    path = tmp_path / "big.npy"
    report = json.loads(subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import json, threading
        import numpy as np
        from numpy.lib.format import open_memmap
        import fastgmm
        from fastgmm.sources import rows

        # as for a file larger than half the memory available: its pages are
        # let go window after window (a smaller one stays mapped)
        rows.KEEP_MAPPED_SHARE = 0.0
        n = 20_000_000
        out = open_memmap({str(path)!r}, mode="w+", dtype=np.float32, shape=(n, 4))
        rng = np.random.RandomState(0)
        for start in range(0, n, 1_000_000):
            block = rng.standard_normal((1_000_000, 4)).astype(np.float32)
            block[: 500_000] += 6
            out[start:start + 1_000_000] = block
        out.flush()
        del out, block

        def rss(kind):
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith(kind + ":"):
                        return int(line.split()[1]) * 1024

        def anon():
            return rss("RssAnon")

        def mapped():  # resident pages of the file's mappings
            total, ours = 0, False
            with open("/proc/self/smaps") as f:
                for line in f:
                    if line[0] in "0123456789abcdef" and "-" in line.split()[0]:
                        ours = line.rstrip().endswith({str(path)!r})
                    elif ours and line.startswith("Rss:"):
                        total += int(line.split()[1]) * 1024
            return total

        X = np.load({str(path)!r}, mmap_mode="r")
        gm = fastgmm.GaussianMixture(2, covariance_type="diag", random_state=0,
                                     max_iter=3)
        gm.fit(X[:1000])  # load the kernels first
        before = anon()
        peak = [before]
        file_peak = [0]
        stop = threading.Event()

        def sample():
            while not stop.wait(0.005):
                peak[0] = max(peak[0], anon())
                file_peak[0] = max(file_peak[0], mapped())

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gm.fit(X)
        stop.set()
        t.join()
        print(json.dumps({{"growth": peak[0] - before, "file": X.nbytes,
                          "mapped": file_peak[0],
                          "means": sorted(gm.means_[:, 0].tolist()),
                          "warned": any("sample" in str(w.message) for w in caught)}}))
    """)], capture_output=True, text=True, timeout=900, check=True).stdout.splitlines()[-1])
    assert report["warned"]
    assert report["growth"] < 256 * 2**20 < report["file"]
    # the file's pages are let go window after window, never all mapped (a
    # window maps up to about twice its size: the page cache's large folios
    # are mapped whole)
    assert report["mapped"] < 0.6 * report["file"]
    assert report["means"] == pytest.approx([0.0, 6.0], abs=0.01)


# ------------------------------------------------------------- partial_fit


def _stream(n, seed):
    rng = np.random.RandomState(seed)
    means = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 0.0], [0.0, 6.0, -4.0],
                      [-5.0, 2.0, 3.0]])
    labels = rng.randint(4, size=n)
    return means[labels] + rng.randn(n, 3) * np.array([1.0, 0.5, 1.5])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_partial_fit_on_a_stream_reaches_the_batch_fit(covariance_type):
    held_out = _stream(10_000, seed=1)
    online = GaussianMixture(4, covariance_type=covariance_type, random_state=0)
    for i in range(30):
        online.partial_fit(_stream(5_000, seed=100 + i))
    batch = GaussianMixture(4, covariance_type=covariance_type,
                            random_state=0).fit(_stream(150_000, seed=2))
    assert online.n_steps_ == 30 and online.n_samples_seen_ == 150_000
    assert online.n_iter_ == 30 and len(online.lower_bounds_) == 30
    # held-out mean log-likelihood within 1% of the batch fit's
    assert online.score(held_out) == pytest.approx(batch.score(held_out), rel=0.01)


def test_partial_fit_first_batch_and_continuations(memmap_of):
    with pytest.raises(ValueError, match="first batch of partial_fit"):
        GaussianMixture(5).partial_fit(_stream(3, seed=3))
    gm = GaussianMixture(4, random_state=0).fit(_stream(4000, seed=4))
    before = gm.means_.copy()
    gm.partial_fit(memmap_of(_stream(3000, seed=5)))  # continues the fit
    assert gm.n_steps_ == 1 and not np.array_equal(gm.means_, before)
    assert np.abs(gm.means_ - before).max() < 0.5
    with pytest.raises(ValueError, match="X has 2 features"):
        gm.partial_fit(_stream(100, seed=6)[:, :2])
    gm.fit(_stream(4000, seed=4))  # a fit starts anew
    assert not hasattr(gm, "n_steps_")
    assert_array_equal(gm.means_, before)
    weighted = GaussianMixture(4, random_state=0).partial_fit(
        _stream(2000, seed=7).astype(np.float32), sample_weight=np.full(2000, 1e-30))
    plain = GaussianMixture(4, random_state=0).partial_fit(
        _stream(2000, seed=7).astype(np.float32))
    assert weighted.means_.dtype == np.float32
    np.testing.assert_allclose(weighted.means_, plain.means_, rtol=1e-6)


def test_partial_fit_parameters_are_validated():
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="learning_decay"):
        GaussianMixture(2, learning_decay=0.4).partial_fit(_stream(100, seed=8))


@pytest.mark.parametrize("shape, message", [((100,), "Expected 2D array, got 1D"),
                                            ((10, 3, 2), "dim 3, while dim <= 2")])
def test_a_memmap_that_is_not_2d_gets_scikit_learns_error(memmap_of, shape, message):
    M = memmap_of(np.zeros(shape))
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2).fit(M)


def test_verbose_shows_the_reading_of_the_initialization_sample(memmap_of, capsys):
    X, _ = make_blobs(6000, 2, 3, seed=8)
    M = memmap_of(X)
    quiet = GaussianMixture(3, random_state=0, init_sample_size=500, max_iter=2,
                            window_bytes=16_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = quiet.fit(M).means_.copy()
        assert "initialization sample" not in capsys.readouterr().out
        loud = quiet.set_params(verbose=1).fit(M)
    out = capsys.readouterr().out
    assert "Reading the initialization sample: 500 of 500 rows (100%" in out
    assert_array_equal(loud.means_, expected)  # the same fit, only told
