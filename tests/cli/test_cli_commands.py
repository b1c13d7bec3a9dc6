"""fastgmm fit / predict / score on real files, in a subprocess as a user runs them."""

import io
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastgmm
from fastgmm.__main__ import main
from fastgmm.cli import output, parser, reading
from fastgmm.files import data as _data
from fastgmm.files import dataset
from fastgmm.files import model as _io

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "fastgmm", *map(str, args)], capture_output=True,
        text=True, timeout=600,
    )


def run_in_process(*args):
    """main() in this process, as ``run_cli`` returns it (for error paths,
    where a subprocess adds nothing but its start-up)."""
    import contextlib
    import types

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(),
                                 stderr=err.getvalue())


def run_here(capsys, *args):
    """main() in this process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_error_line(code, stdout, stderr, *fragments):
    assert code == 1, (stdout, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("fastgmm: error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert stdout == ""


def three_blobs(n_samples=900, seed=0):
    rng = np.random.RandomState(seed)
    means = np.array([[0.0, 0.0, 0.0], [8.0, 1.0, -2.0], [2.0, 9.0, 4.0]])
    labels = rng.randint(3, size=n_samples)
    X = means[labels] + rng.randn(n_samples, 3) @ np.diag([1.0, 0.6, 1.4])
    return X


@pytest.fixture(scope="module")
def X():
    return three_blobs()


@pytest.fixture
def csv_file(tmp_path, X):
    path = tmp_path / "data.csv"
    np.savetxt(path, X, delimiter=",", header="x,y,z", comments="", fmt="%.17g")
    return path


@pytest.fixture
def npy_file(tmp_path, X):
    path = tmp_path / "data.npy"
    np.save(path, X)
    return path


@pytest.fixture
def model_file(tmp_path, X, csv_file):
    path = tmp_path / "model.npz"
    model = fastgmm.GaussianMixture(3, random_state=0).fit(X)
    model.feature_names_in_ = np.array(["x", "y", "z"], dtype=object)
    model.save(path)
    return path


# ------------------------------------------------------------ the happy paths


def test_fit_predict_score_in_subprocesses(tmp_path, X, csv_file):
    model_path, labels_path = tmp_path / "model.npz", tmp_path / "labels.csv"
    fit = run_cli("fit", csv_file, "-k", "3", "--covariance", "diag", "--out",
                  model_path, "--labels", labels_path, "--json")
    assert fit.returncode == 0, fit.stderr
    report = json.loads(fit.stdout)
    assert report["n_components"] == 3 and report["covariance_type"] == "diag"
    assert report["n_samples"] == 900 and report["feature_names"] == ["x", "y", "z"]
    assert sum(report["component_sizes"]) == 900
    assert report["model"] == str(model_path)

    model = fastgmm.load(model_path)
    assert list(model.feature_names_in_) == ["x", "y", "z"]
    del model.feature_names_in_  # compared below on plain arrays
    assert model.covariance_type == "diag" and model.random_state == 0
    # the file holds what the command printed
    np.testing.assert_allclose(model.means_, report["means"], rtol=0, atol=0)
    lines = labels_path.read_text().splitlines()
    assert lines[0] == "label" and len(lines) == 901
    labels = np.array(lines[1:], dtype=int)
    X_read = np.loadtxt(csv_file, delimiter=",", skiprows=1)
    np.testing.assert_array_equal(labels, model.predict(X_read))
    # three well-separated blobs: three clusters of the true rows
    assert sorted(report["component_sizes"]) == sorted(
        np.bincount(model.predict(X_read)))

    proba_path = tmp_path / "proba.npy"
    predict = run_cli("predict", model_path, csv_file, "--proba", "--out", proba_path)
    assert predict.returncode == 0, predict.stderr
    assert "probabilities written to" in predict.stdout
    np.testing.assert_array_equal(np.load(proba_path), model.predict_proba(X_read))

    score = run_cli("score", model_path, csv_file, "--json")
    assert score.returncode == 0, score.stderr
    scores = json.loads(score.stdout)
    assert scores["n_samples"] == 900
    assert scores["mean_log_likelihood"] == pytest.approx(model.score(X_read), rel=1e-12)
    assert scores["bic"] == pytest.approx(model.bic(X_read), rel=1e-12)
    assert scores["aic"] == pytest.approx(model.aic(X_read), rel=1e-12)


def test_search_in_a_subprocess_prints_the_ranked_table(tmp_path, npy_file):
    model_path = tmp_path / "best.npz"
    result = run_cli("fit", npy_file, "-k", "1-4", "--covariance", "full,diag",
                     "--criterion", "bic", "--out", model_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    header = next(i for i, line in enumerate(out) if line.split()[:2] == ["rank", "k"])
    rows = [line.split() for line in out[header + 1:header + 9]]
    assert [int(r[0]) for r in rows] == list(range(1, 9))
    assert {(int(r[1]), r[2]) for r in rows} == {
        (k, t) for k in range(1, 5) for t in ("full", "diag")}
    values = [float(r[3]) for r in rows]
    assert values == sorted(values)  # BIC: lower is better, printed best first
    assert "best: 3 components, 'diag'" in result.stdout
    best = fastgmm.load(model_path)
    assert (best.n_components, best.covariance_type) == (3, "diag")
    assert best.n_threads is None


def test_console_script():
    script = shutil.which("fastgmm")
    if script is None:
        pytest.skip("the fastgmm console script is not on PATH")
    result = subprocess.run([script, "--help"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0
    for command in ("demo", "fit", "predict", "score", "impute", "outliers"):
        assert command in result.stdout


def test_search_json(capsys, npy_file):
    code, out, err = run_here(capsys, "fit", npy_file, "-k", "2-4", "--covariance",
                              "all", "--criterion", "icl", "--json", "--quiet")
    assert code == 0 and err == ""
    report = json.loads(out)
    search = report["search"]
    assert search["criterion"] == "icl"
    assert len(search["results"]) == 12
    assert [r["rank"] for r in search["results"]] == list(range(1, 13))
    assert search["results"][0]["n_components"] == report["n_components"] == 3
    assert search["n_jobs"] * search["n_threads"] <= os.cpu_count()
    assert report["icl"] == search["results"][0]["icl"]


def test_heldout_search_and_cv_option(capsys, npy_file):
    code, out, err = run_here(capsys, "fit", npy_file, "-k", "1-3", "--covariance",
                              "diag", "--criterion", "heldout", "--cv", "3", "--json")
    assert code == 0, err
    results = json.loads(out)["search"]["results"]
    assert all(r["n_fits"] == 3 and r["bic"] is None for r in results)
    heldout = [r["heldout"] for r in results]
    assert heldout == sorted(heldout, reverse=True)
    code, out, err = run_here(capsys, "fit", npy_file, "-k", "2", "--cv", "3")
    assert_one_error_line(code, out, err, "--cv applies to --criterion heldout")


def test_tsv_without_header_and_columns_by_index(capsys, tmp_path, X):
    path = tmp_path / "data.tsv"
    np.savetxt(path, X, delimiter="\t", fmt="%.17g")
    code, out, err = run_here(capsys, "fit", path, "-k", "3", "--columns", "0,2",
                              "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["feature_names"] is None and report["n_features"] == 2
    np.testing.assert_allclose(
        sorted(np.array(report["means"])[:, 0]), [0, 2, 8], atol=0.3)


def test_columns_by_name_and_prediction_matches_columns_by_name(capsys, tmp_path, X):
    path = tmp_path / "data.csv"
    np.savetxt(path, X, delimiter=",", header="x,y,z", comments="", fmt="%.17g")
    model_path = tmp_path / "m.npz"
    code, out, err = run_here(capsys, "fit", path, "-k", "3", "--columns", "z,x",
                              "--out", model_path, "--quiet")
    assert (code, out, err) == (0, "", "")
    model = fastgmm.load(model_path)
    assert list(model.feature_names_in_) == ["z", "x"]
    del model.feature_names_in_  # compared below on plain arrays
    # another file: other column order, one extra column; matched by name
    other = tmp_path / "other.csv"
    extra = np.column_stack([X[:, 1], np.ones(len(X)), X[:, 0], X[:, 2]])
    np.savetxt(other, extra, delimiter=",", header="y,w,x,z", comments="", fmt="%.17g")
    labels_path = tmp_path / "labels.npy"
    code, out, err = run_here(capsys, "predict", model_path, other, "-o", labels_path)
    assert code == 0, err
    expected = model.predict(np.column_stack([X[:, 2], X[:, 0]]))
    np.testing.assert_array_equal(np.load(labels_path), expected)


def test_predict_to_standard_output(capsys, model_file, csv_file, X):
    code, out, err = run_here(capsys, "predict", model_file, csv_file)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "label" and len(lines) == 901
    model = fastgmm.load(model_file)
    del model.feature_names_in_
    np.testing.assert_array_equal(np.array(lines[1:], dtype=int),
                                  model.predict(np.loadtxt(csv_file, delimiter=",",
                                                           skiprows=1)))
    code, out, err = run_here(capsys, "predict", model_file, csv_file, "--json")
    assert code == 0
    assert len(json.loads(out)["labels"]) == 900


def test_predict_probabilities_as_csv(capsys, tmp_path, model_file, csv_file):
    out_path = tmp_path / "proba.csv"
    code, out, err = run_here(capsys, "predict", model_file, csv_file, "--proba",
                              "--out", out_path, "--json")
    assert code == 0, err
    assert json.loads(out)["out"] == str(out_path)
    table = np.loadtxt(out_path, delimiter=",", skiprows=1)
    assert out_path.read_text().splitlines()[0] == "p0,p1,p2"
    assert table.shape == (900, 3)
    np.testing.assert_allclose(table.sum(axis=1), 1.0, rtol=1e-8)


def test_score_writes_each_rows_log_likelihood(capsys, tmp_path, model_file, csv_file):
    out_path = tmp_path / "ll.npy"
    code, out, err = run_here(capsys, "score", model_file, csv_file, "-o", out_path)
    assert code == 0, err
    assert "mean log-likelihood" in out and "BIC" in out
    model = fastgmm.load(model_file)
    del model.feature_names_in_
    X_read = np.loadtxt(csv_file, delimiter=",", skiprows=1)
    np.testing.assert_array_equal(np.load(out_path), model.score_samples(X_read))


def test_parquet(capsys, tmp_path, X):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "data.parquet"
    table = pa.table({"a": X[:, 0].astype(np.float32), "b": X[:, 1].astype(np.float32),
                      "label": np.arange(len(X)) % 3, "name": ["r"] * len(X)})
    pq.write_table(table, path, row_group_size=100)
    data = _data.read(path, columns=["a", "b"])
    assert data.X.dtype == np.float32 and data.feature_names == ["a", "b"]
    # read by row groups (an array-like of row slices), not into memory
    np.testing.assert_array_equal(data.X[0:len(X)][:, 1], X[:, 1].astype(np.float32))
    code, out, err = run_here(capsys, "fit", path, "-k", "3", "--columns", "a,b,2",
                              "--json")
    assert code == 0, err
    assert json.loads(out)["feature_names"] == ["a", "b", "label"]
    code, out, err = run_here(capsys, "fit", path, "-k", "3")
    assert_one_error_line(code, out, err, "'name'", "not numbers")


def test_npy_is_memory_mapped_and_not_copied(npy_file):
    from sklearn.utils import check_array

    data = _data.read(npy_file)
    assert isinstance(data.X, np.memmap)
    # what the estimator does with it: no copy of a C-ordered float64 array
    assert np.shares_memory(check_array(data.X, dtype=[np.float64, np.float32],
                                        order="C"), data.X)


def test_plot_of_a_fit_and_of_a_search(capsys, tmp_path, npy_file):
    pytest.importorskip("matplotlib")
    import matplotlib.image as mpimg

    one, two = tmp_path / "fit.png", tmp_path / "search.png"
    code, out, err = run_here(capsys, "fit", npy_file, "-k", "3", "--plot", one)
    assert code == 0, err
    code, out, err = run_here(capsys, "fit", npy_file, "-k", "1-3", "--covariance",
                              "diag,full", "--plot", two)
    assert code == 0, err
    assert f"plot written to {two}" in out
    for path in (one, two):
        assert path.read_bytes().startswith(PNG_MAGIC)
    # the search image has two panels side by side
    height1, width1 = mpimg.imread(one).shape[:2]
    height2, width2 = mpimg.imread(two).shape[:2]
    assert height1 == height2 and width2 == 2 * width1
    code, out, err = run_here(capsys, "fit", npy_file, "-k", "3", "--plot",
                              tmp_path / "x.nope")
    assert_one_error_line(code, out, err, "unsupported image file type")


# ------------------------------------------------------------------ progress


def test_progress_bar_on_stderr_and_quiet(capsys, monkeypatch, npy_file):
    monkeypatch.setattr(output, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(output.Progress, "interval_log", 0.0)
    code, out, err = run_here(capsys, "fit", npy_file, "-k", "3", "--n-init", "2")
    assert code == 0
    assert "fit: init 1/2  iteration 1/100" in err
    assert re.search(r"fit: init 2/2  iteration 2/100  lower bound -?[\d.]+(e[-+]\d+)? "
                     r"\(change [-+]", err)
    assert "ms/iteration" in err
    assert "fit: init 2/2  lower bound" in err
    assert "fitted 3 components" in out
    code, out, err = run_here(capsys, "fit", npy_file, "-k", "1-3", "--covariance",
                              "diag")
    assert code == 0 and "search: 3/3 fits" in err
    code, out, err = run_here(capsys, "fit", npy_file, "-k", "3", "--quiet")
    assert (code, out, err) == (0, "", "")


def test_no_progress_bar_for_quick_fits(capsys, npy_file):
    code, out, err = run_here(capsys, "fit", npy_file, "-k", "2")
    assert code == 0 and err == ""


def test_progress_redraws_in_place_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = output.Progress(stream=stream, delay=0.0)
    callback = progress.fit_callback(n_init=1, max_iter=10)
    callback({"event": "init_begin", "init": 0})
    callback({"event": "iteration", "init": 0, "n_iter": 1, "change": float("inf"),
              "lower_bound": -2.25})
    callback({"event": "init_end", "init": 0, "n_iter": 1, "lower_bound": -1.5,
              "converged": True})
    progress.close()
    text = stream.getvalue()
    assert text.startswith("\rfit: iteration 1/10  lower bound -2.25  ")
    assert text.endswith("\n")
    assert "\rfit: lower bound -1.5 (converged)" in text
    assert text.count("\n") == 1


# ---------------------------------------------------------------- bad input


def test_missing_data_file(tmp_path):
    r = run_in_process("fit", tmp_path / "nothing.csv", "-k", "2")
    assert_one_error_line(r.returncode, r.stdout, r.stderr, "nothing.csv: no such file")


def test_unreadable_data_files(tmp_path):
    directory = tmp_path / "folder.csv"
    directory.mkdir()
    r = run_in_process("fit", directory, "-k", "2")
    assert_one_error_line(r.returncode, r.stdout, r.stderr, "is a directory")
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(os.urandom(300))
    r = run_in_process("fit", garbage, "-k", "2")
    assert_one_error_line(r.returncode, r.stdout, r.stderr, "not a readable .npy")


def test_unknown_column_name(csv_file):
    r = run_in_process("fit", csv_file, "-k", "2", "--columns", "x,w")
    assert_one_error_line(r.returncode, r.stdout, r.stderr,
                          "no column named 'w'", "the columns are: x, y, z")


def test_non_numeric_cell(tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text("x,y\n1,2\n3,4\n5,abc\n7,8\n")
    r = run_in_process("fit", path, "-k", "2")
    assert_one_error_line(r.returncode, r.stdout, r.stderr,
                          "line 4, column 'y': 'abc' is not a number")


def test_nan_row_and_output_left_untouched(tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text("x,y\n1,2\n3,4\nnan,6\n7,8\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("previous labels\n")
    r = run_in_process("fit", path, "-k", "2", "--labels", labels)
    assert_one_error_line(r.returncode, r.stdout, r.stderr, "data row 3",
                          "NaN or infinite")
    assert labels.read_text() == "previous labels\n"
    assert sorted(os.listdir(tmp_path)) == ["labels.csv", "nan.csv"]


def test_fewer_rows_than_components(tmp_path):
    path = tmp_path / "few.csv"
    path.write_text("x,y\n1,2\n3,4\n5,6\n")
    r = run_in_process("fit", path, "-k", "2-5")
    assert_one_error_line(r.returncode, r.stdout, r.stderr,
                          "3 rows, fewer than the 5 components")


def test_damaged_model_file(tmp_path, model_file, csv_file):
    data = model_file.read_bytes()
    model_file.write_bytes(data[: len(data) // 2])
    r = run_in_process("predict", model_file, csv_file)
    assert_one_error_line(r.returncode, r.stdout, r.stderr,
                          "cannot be read as a fastgmm model")


def test_model_files_that_are_not_models_or_too_new(tmp_path, model_file, csv_file):
    r = run_in_process("score", csv_file, csv_file)
    assert_one_error_line(r.returncode, r.stdout, r.stderr, "not a fastgmm model file")
    with np.load(model_file) as archive:
        arrays = dict(archive)
    metadata = json.loads(str(arrays["fastgmm_metadata"]))
    metadata["format_version"] = _io.FORMAT_VERSION + 1
    arrays["fastgmm_metadata"] = np.array(json.dumps(metadata))
    with open(model_file, "wb") as f:
        np.savez(f, **arrays)
    r = run_in_process("predict", model_file, csv_file)
    assert_one_error_line(r.returncode, r.stdout, r.stderr, "newer fastgmm")


@pytest.mark.parametrize("content, args, fragment", [
    ("", [], "the file is empty"),
    ("x,y\n", [], "no data rows"),
    ("x,y\n1,2\n3,4,5\n", [], "line 3: 3 fields, expected 2"),
    ("x,y\n1,2\n3,\n", [], "line 3, column 'y': an empty cell"),
    # a first line of numbers is data, its empty cell a missing value
    ("1.0,\n2.0,3.0\n4.0,5.0\n6,7\n8,9\n", [], "line 1, field 2: an empty cell"),
    # the hint's names are quoted for a shell when they hold spaces
    ("a b,c d,s\n1,2,x\n3,4,y\n", [], "--columns 'a b,c d'"),
    # a field over the csv module's limit, within the sniffed lines
    ("a,b\n" + "x" * 200_000 + ",1\n" + "1,2\n" * 60, [], "field larger than"),
    ("x,y\n1,2\n3,4\n", ["--columns", "5"], "column index 5 out of range"),
    ("1,2\n3,4\n", ["--columns", "x"], "no column names in this file"),
    ("x,y\n1,2\n3,4\n", ["--columns", "x,0"], "selected twice"),
    ("x,y\n1,2\n3,4\n", ["--out", "missing-dir/m.npz"], "no such directory"),
    ("x,y\n1,2\n3,4\n", ["--out", "m.pkl"], "unsupported model file type"),
    ("x,y\n1,2\n3,4\n", ["--labels", "l.json"], "unsupported labels file type"),
])
def test_more_bad_inputs(capsys, tmp_path, monkeypatch, content, args, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text(content)
    code, out, err = run_here(capsys, "fit", "d.csv", "-k", "1", *args)
    assert_one_error_line(code, out, err, fragment)


def test_bad_inputs_of_predict_and_score(capsys, tmp_path, model_file, X):
    no_names = tmp_path / "two.npy"
    np.save(no_names, X[:, :2])
    code, out, err = run_here(capsys, "predict", model_file, no_names)
    assert_one_error_line(code, out, err, "2 columns, but the model was fitted on 3")
    missing = tmp_path / "renamed.csv"
    np.savetxt(missing, X, delimiter=",", header="x,y,q", comments="")
    code, out, err = run_here(capsys, "score", model_file, missing)
    assert_one_error_line(code, out, err, "no column named 'z', which the model")
    code, out, err = run_here(capsys, "score", tmp_path / "none.npz", no_names)
    assert_one_error_line(code, out, err, "no such model file")
    code, out, err = run_here(capsys, "predict", model_file, tmp_path / "d.xlsx")
    assert_one_error_line(code, out, err, "unsupported file type '.xlsx'")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("x,y\n1,\xe9\n".encode("latin-1"))
    code, out, err = run_here(capsys, "predict", model_file, latin)
    assert_one_error_line(code, out, err, "not UTF-8")


def test_usage_errors_go_through_argparse(capsys, npy_file):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", str(npy_file), "-k", "3-1"])
    assert exit_info.value.code == 2
    assert "expected a number of components" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["fit", str(npy_file), "-k", "2", "--covariance", "round"])
    assert "covariance types among" in capsys.readouterr().err


def test_a_failed_write_keeps_the_existing_file(capsys, monkeypatch, tmp_path, npy_file):
    labels = tmp_path / "labels.csv"
    labels.write_text("previous\n")

    def failing_savetxt(f, *args, **kwargs):
        f.write("label\n0\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savetxt", failing_savetxt)
    code, out, err = run_here(capsys, "fit", npy_file, "-k", "2", "--labels", labels)
    assert_one_error_line(code, out, err, "cannot write", "No space left on device")
    assert labels.read_text() == "previous\n"
    assert sorted(os.listdir(tmp_path)) == ["data.npy", "labels.csv"]


def test_component_lists():
    assert parser._components("5") == [5]
    assert parser._components("1-4") == [1, 2, 3, 4]
    assert parser._components("2,4, 8") == [2, 4, 8]
    assert parser._components("1-3,6,2") == [1, 2, 3, 6]
    assert parser._covariances("all") == ["full", "tied", "diag", "spherical"]
    assert parser._covariances("diag,full,diag") == ["diag", "full"]
    assert parser._cv("5") == 5 and parser._cv("0.3") == 0.3


# ------------------------------------------------------------------ --bayesian


@pytest.mark.parametrize("prior", ["dirichlet_process", "dirichlet_distribution"])
def test_fit_bayesian_reports_the_effective_components(tmp_path, capsys, prior):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(300, 2) + c for c in ([0, 0], [6, 6], [0, 8])])
    path = tmp_path / "three.npy"
    np.save(path, X)
    model_path = tmp_path / "model.npz"
    code, out, _ = run_here(capsys, "fit", path, "-k", 8, "--bayesian", "--prior", prior,
                            "-o", model_path, "--json")
    assert code == 0
    summary = json.loads(out)
    expected = fastgmm.BayesianGaussianMixture(
        n_components=8, weight_concentration_prior_type=prior, random_state=0).fit(X)
    np.testing.assert_allclose(summary["weights"], expected.weights_, rtol=1e-10)
    assert summary["lower_bound"] == pytest.approx(expected.lower_bound_, rel=1e-10)
    assert summary["bic"] is None and summary["aic"] is None
    bayesian = summary["bayesian"]
    assert bayesian["weight_concentration_prior_type"] == prior
    assert bayesian["effective_components"] == int(np.sum(expected.weights_ > 0.01)) == 3
    loaded = fastgmm.load(model_path)
    assert isinstance(loaded, fastgmm.BayesianGaussianMixture)
    np.testing.assert_array_equal(loaded.predict(X), expected.predict(X))
    code, out, _ = run_here(capsys, "fit", path, "-k", 8, "--bayesian")
    assert code == 0 and "effective components: 3 of 8" in out and "ELBO" in out


def test_the_bayesian_and_the_maximum_likelihood_reports_name_their_bounds(
        tmp_path, capsys):
    """Issue 36.19: BayesianGaussianMixture.lower_bound_ is scikit-learn's
    ELBO, a total over the rows, where GaussianMixture's is a mean per row:
    both reports say which, and give the lower bound and the log-likelihood
    per row as well (the JSON report: 'lower_bound_per_row' and
    'mean_log_likelihood' beside the estimator's own 'lower_bound')."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(300, 2) + c for c in ([0, 0], [6, 6])])
    path = tmp_path / "two.npy"
    np.save(path, X)
    n = X.shape[0]
    bayesian = fastgmm.BayesianGaussianMixture(n_components=4, random_state=0).fit(X)
    mixture = fastgmm.GaussianMixture(2, random_state=0).fit(X)
    for options, model in ((["-k", "4", "--bayesian"], bayesian), (["-k", "2"], mixture)):
        code, out, err = run_here(capsys, "fit", path, *options, "--json")
        assert code == 0, err
        summary = json.loads(out)
        per_row = model.lower_bound_ / (n if model is bayesian else 1)
        assert summary["lower_bound"] == pytest.approx(model.lower_bound_, rel=1e-10)
        assert summary["lower_bound_per_row"] == pytest.approx(per_row, rel=1e-10)
        assert summary["mean_log_likelihood"] == pytest.approx(model.score(X), rel=1e-10)
        code, out, err = run_here(capsys, "fit", path, *options)
        assert code == 0, err
        line = next(line for line in out.splitlines() if line.startswith("lower bound"))
        if model is bayesian:
            assert line.startswith(f"lower bound (ELBO, up to a constant) "
                                   f"{model.lower_bound_:.6g} in total, {per_row:.6g} "
                                   "per row; ")
        else:
            assert line.startswith(f"lower bound {per_row:.6g} per row; ")
        assert (f"log-likelihood {summary['log_likelihood']:.6g} in total, "
                f"{model.score(X):.6g} per row") in line


def test_messages_count_one_in_the_singular(tmp_path, capsys):
    """Issue 36.19: "1 row", "1 column", "1 component", not "1 rows"."""
    path = tmp_path / "one.csv"
    path.write_text("x\n1\n")
    assert_one_error_line(*run_here(capsys, "fit", path, "-k", "2"),
                          "one.csv: 1 row, fewer than the 2 components asked for")
    assert_one_error_line(*run_here(capsys, "fit", path, "-k", "1"),
                          "one.csv: 1 row; a fit needs at least 2")
    data = tmp_path / "d.csv"
    np.savetxt(data, np.random.RandomState(0).randn(10), header="x", comments="")
    model = tmp_path / "m.npz"
    code, out, err = run_here(capsys, "fit", data, "-k", "1", "-o", model)
    assert code == 0, err
    assert "d.csv: 10 rows x 1 column (x)" in out and "fitted 1 component," in out
    two = tmp_path / "two.csv"
    np.savetxt(two, np.zeros((3, 2)), delimiter=",")
    assert_one_error_line(*run_here(capsys, "predict", model, two),
                          "two.csv: 2 columns, but the model was fitted on 1 feature")
    assert_one_error_line(*run_here(capsys, "fit", data, "-k", "1", "--columns", "3"),
                          "(the file has 1 column)")


def test_fit_bayesian_refuses_a_search_and_prior_alone(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.RandomState(1).randn(50, 2))
    for args, fragment in (
        (["-k", "2-4", "--bayesian"], "--bayesian fits one model"),
        (["-k", "3", "--covariance", "full,diag", "--bayesian"], "--bayesian fits one model"),
        (["-k", "3", "--prior", "dirichlet_distribution"], "--prior applies to --bayesian"),
        (["-k", "3", "--bayesian", "--dask"], "--bayesian does not run on dask"),
    ):
        result = run_in_process("fit", path, *args)
        assert_one_error_line(result.returncode, result.stdout, result.stderr, fragment)


def test_scale_statistics_of_values_near_the_float64_limits():
    # squares of values near 1e300 overflow and of values near 1e-300
    # underflow: the statistics are taken in units of a power of two per column
    rng = np.random.default_rng(0)
    units = np.array([1e299, 1e-301, 1.0])
    X = rng.normal(size=(500, 3)) * units + np.array([5e299, 0.0, 1e3])
    mean, scale, _ = reading._column_statistics(dataset.Dataset(X, None, "x.npy"))
    np.testing.assert_allclose(mean / units, (X / units).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scale / units, (X / units).std(axis=0), rtol=1e-12)
    assert np.all(np.isfinite(reading.standardize(X, mean, scale)))
