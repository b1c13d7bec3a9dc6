"""Files larger than memory from the command line: a .npy handed to the
estimator as a memory map (columns and --scale applied window by window),
Parquet read by row groups, large text parsed in chunks into a temporary .npy,
outputs written and reports added up window by window."""

import io
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np
import pytest
from numpy.lib.format import open_memmap
from numpy.testing import assert_array_equal

import fastgmm
from fastgmm import GaussianMixture
from fastgmm.cli import output, reading
from fastgmm.files import data as _data
from fastgmm.files import dataset, parquet

from ..helpers import assert_same_model, blobs
from .test_cli_commands import assert_one_error_line, run_here


@pytest.fixture(autouse=True)
def no_progress_line(monkeypatch):
    """No progress line on stderr, however long a command takes here (the
    error tests expect one line)."""
    monkeypatch.setattr(output, "PROGRESS_DELAY", 1e9)


def _plain(model):
    """The model without feature names (compared on plain arrays)."""
    model.__dict__.pop("feature_names_in_", None)
    return model


def write_stdin(monkeypatch, content):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(content)))


# --------------------------------------------------------- a large .npy file


def _peak_anonymous_memory(args, tmp_path):
    """Run ``fastgmm ARGS`` in a subprocess; its peak RssAnon, sampled from
    this process every 5 ms."""
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
        child = subprocess.Popen([sys.executable, "-m", "fastgmm", *map(str, args)],
                                 stdout=out, stderr=err)
        peak = 0
        while child.poll() is None:
            try:
                with open(f"/proc/{child.pid}/status") as f:
                    for line in f:
                        if line.startswith("RssAnon:"):
                            peak = max(peak, int(line.split()[1]) * 1024)
            except (OSError, ValueError):
                pass
            time.sleep(0.005)
    assert child.returncode == 0, (tmp_path / "err.txt").read_text()
    return peak


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_a_large_npy_is_fitted_and_labelled_in_bounded_memory(tmp_path):
    # 2e7 rows x 8 float32 (610 MiB), written in chunks. The fit holds the
    # estimator's window (64 MiB) and its initialization sample (about
    # 128 MiB) whatever the rows; labels and predictions (160 MB of int64
    # each) go to their files window by window. Measured as the growth over
    # the same commands on a tiny file (the interpreter, NumPy, the kernels).
    n, d = 20_000_000, 8
    path = tmp_path / "big.npy"
    out = open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    rng = np.random.RandomState(0)
    for start in range(0, n, 1_000_000):
        block = rng.standard_normal((1_000_000, d)).astype(np.float32)
        block[rng.rand(1_000_000) < 0.5] += 6
        out[start:start + 1_000_000] = block
    out.flush()
    del out, block
    tiny = tmp_path / "tiny.npy"
    np.save(tiny, np.load(path, mmap_mode="r")[:5000])

    peaks = {}
    for name, data in (("tiny", tiny), ("big", path)):
        peaks[name, "fit"] = _peak_anonymous_memory(
            ["fit", data, "-k", "2", "--covariance", "diag", "--max-iter", "3",
             "--labels",
             tmp_path / f"{name}_labels.npy", "--out", tmp_path / f"{name}.npz",
             "--quiet"], tmp_path)
        peaks[name, "predict"] = _peak_anonymous_memory(
            ["predict", tmp_path / f"{name}.npz", data, "--out",
             tmp_path / f"{name}_predicted.npy", "--quiet"], tmp_path)
    file_bytes = path.stat().st_size
    fit_growth = peaks["big", "fit"] - peaks["tiny", "fit"]
    predict_growth = peaks["big", "predict"] - peaks["tiny", "predict"]
    # the fit's peak is its own (window and initialization; before this
    # change too, as the labels array came after it); predict held the
    # labels in memory before (a growth of 26% of the file)
    assert fit_growth < 0.6 * file_bytes, (fit_growth, file_bytes)
    assert predict_growth < 0.1 * file_bytes, (predict_growth, file_bytes)

    model = _plain(fastgmm.load(tmp_path / "big.npz"))
    assert sorted(model.means_[:, 0]) == pytest.approx([0.0, 6.0], abs=0.01)
    X = np.load(path, mmap_mode="r")
    expected = model.predict(X)
    assert_array_equal(np.load(tmp_path / "big_labels.npy", mmap_mode="r"), expected)
    assert_array_equal(np.load(tmp_path / "big_predicted.npy", mmap_mode="r"), expected)


def test_a_nan_in_the_middle_of_a_large_npy_names_its_data_row(capsys, tmp_path):
    X = blobs(300_000, 2)
    good = tmp_path / "good.npy"
    np.save(good, X)
    X[123_456, 1] = np.nan
    path = tmp_path / "nan.npy"
    np.save(path, X)
    # opening the file reads none of it (the estimator checks each window)
    data = _data.read(path)
    assert isinstance(data.X, np.memmap)
    row = "nan.npy: data row 123457 has a missing, NaN or infinite value"
    for extra in ([], ["--scale"], ["--columns", "1"], ["-k", "1-2", "--covariance",
                                                        "diag"]):
        code, out, err = run_here(capsys, "fit", path, "-k", "2", *extra)
        assert_one_error_line(code, out, err, row)
    model = tmp_path / "m.npz"
    code, out, err = run_here(capsys, "fit", good, "-k", "2", "-o", model, "--quiet")
    assert code == 0, err
    labels = tmp_path / "labels.npy"
    labels.write_bytes(b"previous")
    code, out, err = run_here(capsys, "predict", model, path, "-o", labels)
    assert_one_error_line(code, out, err, row)
    assert labels.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["good.npy", "labels.npy", "m.npz",
                                            "nan.npy"]
    code, out, err = run_here(capsys, "score", model, path)
    assert_one_error_line(code, out, err, row)
    X[123_456, 1] = -np.inf
    np.save(path, X)
    code, out, err = run_here(capsys, "fit", path, "-k", "2")
    assert_one_error_line(code, out, err, row)


def test_columns_and_scale_of_a_npy_are_applied_window_by_window(capsys, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setattr(reading, "BLOCK_ROWS", 3000)
    X = blobs(200_000, 4, seed=1)
    X[:, 2] = X[:, 2] * 1e-3 + 1e6  # far from zero: a naive variance cancels
    path = tmp_path / "X.npy"
    np.save(path, X)
    columns = [2, 0]

    # the selection is an array-like reading windows, not a copy
    tracemalloc.start()
    try:
        data = _data.read(path, columns=["2", "0"])
        _, peak_read = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        mean, scale, top = reading._column_statistics(data)
        _, peak_statistics = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not isinstance(data.X, np.ndarray)
    assert peak_read < X.nbytes / 100 and peak_statistics < X.nbytes / 4
    assert_array_equal(data.X[100:200], X[100:200][:, columns])
    # one pass, merged window by window: numpy's two-pass results
    np.testing.assert_allclose(mean, X[:, columns].mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(scale, X[:, columns].std(axis=0), rtol=1e-12)
    assert_array_equal(top, np.abs(X[:, columns]).max(axis=0))
    standardized = reading._standardized(data, mean, scale)
    assert not isinstance(standardized, np.ndarray)

    model_path, labels_path = tmp_path / "m.npz", tmp_path / "labels.npy"
    code, out, err = run_here(capsys, "fit", path, "-k", "2", "--columns", "2,0",
                              "--scale", "--out", model_path, "--labels", labels_path,
                              "--json")
    assert code == 0, err
    report = json.loads(out)
    assert_array_equal(report["scaling"]["mean"], mean)
    assert_array_equal(report["scaling"]["scale"], scale)
    # the fit equals the in-memory fit of the standardized columns, bit for bit
    Z = (X[:, columns] - mean) / scale
    expected = GaussianMixture(2, random_state=0).fit(Z)
    model = _plain(fastgmm.load(model_path))
    assert_same_model(model, expected)
    assert_array_equal(np.load(labels_path), expected.predict(Z))
    assert report["component_sizes"] == np.bincount(expected.predict(Z)).tolist()
    # predict and score standardize the same rows the same way
    predicted = tmp_path / "p.npy"
    code, out, err = run_here(capsys, "predict", model_path, path, "--columns", "2,0",
                              "-o", predicted)
    assert code == 0, err
    assert_array_equal(np.load(predicted), np.load(labels_path))
    code, out, err = run_here(capsys, "score", model_path, path, "--columns", "2,0",
                              "--json")
    assert code == 0, err
    assert json.loads(out)["mean_log_likelihood"] == pytest.approx(
        expected.score(Z), rel=1e-12)


# ------------------------------------------------------------------ Parquet


def test_parquet_is_read_by_row_groups(capsys, tmp_path, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    X = blobs(6000, 3, seed=2)
    path = tmp_path / "X.parquet"
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2],
                             "name": ["r"] * len(X)}), path, row_group_size=500)
    # the estimator reads windows of about 800 rows (of 6000), as it reads a
    # large file with its default window
    monkeypatch.setitem(GaussianMixture.__init__.__kwdefaults__, "window_bytes",
                        800 * 3 * 8)
    monkeypatch.setattr(reading, "BLOCK_ROWS", 1000)
    calls, decoded = [], []
    read, read_row_group = parquet.ParquetRows.read, parquet.ParquetRows._read_row_group

    def counting_read(self, start, stop):
        decoded.clear()
        out = read(self, start, stop)
        calls.append((stop - start, sum(decoded)))
        return out

    def counting_row_group(self, i):
        block = read_row_group(self, i)
        decoded.append(len(block))
        return block

    monkeypatch.setattr(parquet.ParquetRows, "read", counting_read)
    monkeypatch.setattr(parquet.ParquetRows, "_read_row_group", counting_row_group)
    code, out, err = run_here(capsys, "fit", path, "-k", "2", "--columns", "a,b,c",
                              "--out", tmp_path / "pq.npz", "--labels",
                              tmp_path / "pq.npy", "--json")
    assert code == 0, err
    assert len(calls) > 12
    # each slice decodes the row groups it touches, not the file
    assert max(rows for _, rows in calls) <= 1000 < len(X)
    assert all(rows <= -(-wanted // 500) * 500 + 500 for wanted, rows in calls)

    # the same values from a .npy: the same fit and labels, bit for bit
    np.save(tmp_path / "X.npy", X)
    code, out2, err = run_here(capsys, "fit", tmp_path / "X.npy", "-k", "2",
                               "--out", tmp_path / "npy.npz", "--labels",
                               tmp_path / "npy.npy", "--json")
    assert code == 0, err
    assert_same_model(_plain(fastgmm.load(tmp_path / "pq.npz")),
                       fastgmm.load(tmp_path / "npy.npz"))
    assert_array_equal(np.load(tmp_path / "pq.npy"), np.load(tmp_path / "npy.npy"))
    first, second = json.loads(out), json.loads(out2)
    for key in ("log_likelihood", "bic", "icl", "component_sizes", "means"):
        assert first[key] == second[key], key
    # predict reads by row groups too, and matches the model's predict
    code, out, err = run_here(capsys, "predict", tmp_path / "pq.npz", path, "-o",
                              tmp_path / "p.csv")
    assert code == 0, err
    assert_array_equal(np.loadtxt(tmp_path / "p.csv", skiprows=1, dtype=int),
                       np.load(tmp_path / "npy.npy"))

    # a null is a missing value, reported with its data row
    values = pa.array(np.where(np.arange(len(X)) == 3210, np.nan, X[:, 1]),
                      mask=np.arange(len(X)) == 3210)
    pq.write_table(pa.table({"a": X[:, 0], "b": values}), tmp_path / "null.parquet",
                   row_group_size=500)
    code, out, err = run_here(capsys, "fit", tmp_path / "null.parquet", "-k", "2")
    assert_one_error_line(code, out, err, "data row 3211 has a missing")


# ------------------------------------------------------------------- text


@pytest.fixture
def temporary_directory(tmp_path, monkeypatch):
    """The system temporary directory, here: an empty one to look into."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def test_a_large_text_table_is_parsed_in_chunks(capsys, tmp_path, monkeypatch,
                                                temporary_directory):
    import pandas as pd

    X = blobs(5000, 3, seed=3)
    path = tmp_path / "X.csv"
    pd.DataFrame(X, columns=["a", "b", "c"]).to_csv(path)  # with its row index
    args = ["fit", path, "-k", "2", "--json"]
    runs = {}
    temporary_file = dataset._temporary_file
    for name, limit in (("memory", dataset.TEXT_IN_MEMORY_BYTES), ("chunks", 10_000)):
        monkeypatch.setattr(dataset, "TEXT_IN_MEMORY_BYTES", limit)
        monkeypatch.setattr(dataset, "TEXT_CHUNK_LINES", 700)
        created = []

        def spy(temporary, suffix, created=created):
            created.append(temporary_file(temporary, suffix))
            return created[-1]

        monkeypatch.setattr(dataset, "_temporary_file", spy)
        code, out, err = run_here(capsys, *args, "--out", tmp_path / f"{name}.npz",
                                  "--labels", tmp_path / f"{name}.csv")
        assert code == 0, err
        assert "looks like a row index and is left out" in err
        runs[name] = json.loads(out), created
    (memory, none), (chunks, created) = runs["memory"], runs["chunks"]
    assert none == [] and len(created) == 1 and created[0].endswith(".npy")
    assert os.listdir(temporary_directory) == []  # removed at the end
    for key in memory:
        if not key.endswith("time") and key not in ("model", "labels"):
            assert chunks[key] == memory[key], key
    assert chunks["feature_names"] == ["a", "b", "c"]
    assert_same_model(fastgmm.load(tmp_path / "chunks.npz"),
                       fastgmm.load(tmp_path / "memory.npz"))
    assert (tmp_path / "chunks.csv").read_text() == (tmp_path / "memory.csv").read_text()

    # errors in a later chunk keep their line and column; nothing is left
    lines = path.read_text().splitlines()
    for bad, message in (("4000,1,zz,3", "line 4002, column 'b': 'zz' is not a number"),
                         ("4000,1,2,3,4", "line 4002: 5 fields, expected 4"),
                         ("4000,1,nan,3", "data row 4001 has a missing, NaN")):
        lines[4001] = bad
        path.write_text("\n".join(lines) + "\n")
        code, out, err = run_here(capsys, "fit", path, "-k", "2")
        assert_one_error_line(code, out, err, f"X.csv, {message}" if "line" in message
                              else f"X.csv: {message}")
        assert os.listdir(temporary_directory) == []


def test_large_standard_input_is_copied_then_read_in_chunks(capsys, monkeypatch,
                                                            tmp_path,
                                                            temporary_directory):
    X = blobs(3000, 2, seed=4)
    text = "x,y\n" + "\n".join(f"{a:.17g},{b:.17g}" for a, b in X) + "\n"
    buffer = io.BytesIO()
    np.save(buffer, X)
    expected = GaussianMixture(2, random_state=0).fit(X)
    for content in (text.encode(), buffer.getvalue()):
        for limit in (dataset.TEXT_IN_MEMORY_BYTES, 5000):
            monkeypatch.setattr(dataset, "TEXT_IN_MEMORY_BYTES", limit)
            write_stdin(monkeypatch, content)
            model = tmp_path / "m.npz"
            code, out, err = run_here(capsys, "fit", "-", "-k", "2", "--out", model,
                                      "--json")
            assert code == 0, err
            assert json.loads(out)["data"] == "<stdin>"
            assert_same_model(_plain(fastgmm.load(model)), expected)
            assert os.listdir(temporary_directory) == []


# ------------------------------------------------------------------ outputs


def test_outputs_are_written_window_by_window_and_atomically(capsys, tmp_path,
                                                             monkeypatch):
    monkeypatch.setattr(reading, "BLOCK_ROWS", 4096)
    X = blobs(400_000, 2, seed=5)
    path = tmp_path / "X.npy"
    np.save(path, X)
    model_path = tmp_path / "m.npz"
    code, out, err = run_here(capsys, "fit", path, "-k", "3", "--covariance", "diag",
                              "-o", model_path, "--quiet")
    assert code == 0, err
    model = fastgmm.load(model_path)
    labels = model.predict(X)

    # no array of the rows' size: the labels (3.2 MB) are written by windows
    predicted = tmp_path / "p.npy"
    tracemalloc.start()
    try:
        code, out, err = run_here(capsys, "predict", model_path, path, "-o", predicted)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 0, err
    assert peak < labels.astype(np.int64).nbytes / 4
    buffer = io.BytesIO()
    np.save(buffer, labels.astype(np.int64))
    assert predicted.read_bytes() == buffer.getvalue()  # np.save's file exactly

    proba = tmp_path / "p.tsv"
    code, out, err = run_here(capsys, "predict", model_path, path, "--proba", "-o",
                              proba)
    assert code == 0, err
    with open(proba) as f:
        assert f.readline() == "p0\tp1\tp2\n"
    np.testing.assert_allclose(np.loadtxt(proba, skiprows=1),
                               model.predict_proba(X), rtol=1e-9, atol=1e-300)
    code, out, err = run_here(capsys, "predict", model_path, path)
    assert code == 0, err
    assert out.count("\n") == len(X) + 1
    assert_array_equal(np.array(out.split()[1:], dtype=int), labels)
    scores = tmp_path / "s.csv"
    code, out, err = run_here(capsys, "score", model_path, path, "-o", scores, "--json")
    assert code == 0, err
    np.testing.assert_allclose(np.loadtxt(scores, skiprows=1), model.score_samples(X),
                               rtol=1e-9)
    assert json.loads(out)["mean_log_likelihood"] == pytest.approx(model.score(X),
                                                                   rel=1e-12)

    # a NaN in a later window: the existing output stays, no temporary file left
    X[300_001, 0] = np.nan
    np.save(path, X)
    before = predicted.read_bytes()
    code, out, err = run_here(capsys, "predict", model_path, path, "-o", predicted)
    assert_one_error_line(code, out, err, "data row 300002")
    assert predicted.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["X.npy", "m.npz", "p.npy", "p.tsv", "s.csv"]


def test_progress_shows_rows_per_second(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(output, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(output.Progress, "interval_log", 0.0)
    monkeypatch.setattr(reading, "BLOCK_ROWS", 1000)
    path = tmp_path / "X.npy"
    np.save(path, blobs(3000, 2, seed=6))
    code, out, err = run_here(capsys, "fit", path, "-k", "2", "-o", tmp_path / "m.npz")
    assert code == 0, err
    iterations = [line for line in err.splitlines() if "iteration 1/100" in line]
    assert iterations and all("/iteration  " in line and " rows/s  " in line
                              for line in iterations)
    code, out, err = run_here(capsys, "predict", tmp_path / "m.npz", path, "-o",
                              tmp_path / "p.npy")
    assert code == 0, err
    assert "predict: 3,000/3,000 rows  " in err and "rows/s" in err
    assert output._rate(12_345_678) == "12.3M rows/s"
    assert output._rate(950) == "950 rows/s"


def test_a_plot_of_many_rows_draws_a_sample(capsys, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from fastgmm import plot

    monkeypatch.setattr(reading, "PLOT_ROWS", 500)
    drawn = []
    mixture = plot.mixture

    def spy(model, X, **kwargs):
        drawn.append(X)
        return mixture(model, X, **kwargs)

    monkeypatch.setattr(plot, "mixture", spy)
    X = blobs(2000, 3, seed=7)
    np.save(tmp_path / "X.npy", X)
    code, out, err = run_here(capsys, "fit", tmp_path / "X.npy", "-k", "2",
                              "--columns", "0,2", "--plot", tmp_path / "p.png")
    assert code == 0, err
    (sample,) = drawn
    assert isinstance(sample, np.ndarray) and sample.shape == (500, 2)
    # rows of the data, each once
    rows = {tuple(r) for r in X[:, [0, 2]]}
    assert all(tuple(r) in rows for r in sample) and len({tuple(r) for r in sample}) == 500

