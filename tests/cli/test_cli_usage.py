"""The command line as people use it: stdin, delimiters, index columns, --scale,
column ranges, bounded searches, --version, fast --help, readable tables."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest

import fastgmm
from fastgmm.__main__ import build_parser, main
from fastgmm.cli import output, parser
from fastgmm.files import data as _data
from fastgmm.files import dataset, text

from .test_cli_commands import assert_one_error_line, run_here, three_blobs

IRIS_NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def X():
    return three_blobs()


@pytest.fixture
def iris_with_species(tmp_path):
    from sklearn.datasets import load_iris

    iris = load_iris()
    path = tmp_path / "iris.csv"
    lines = [",".join(IRIS_NAMES + ["species"])]
    for row, target in zip(iris.data, iris.target):
        lines.append(",".join(f"{v:g}" for v in row) + "," + iris.target_names[target])
    path.write_text("\n".join(lines) + "\n")
    return path


def write_stdin(monkeypatch, content):
    if isinstance(content, str):
        content = content.encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(content)))


# -------------------------------------------------------- --version, --help


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"fastgmm {fastgmm.__version__}\n"


HEAVY = ("numpy", "scipy", "sklearn", "numba", "pandas", "pyarrow", "matplotlib")


@pytest.mark.parametrize("argv", [["--help"], ["fit", "--help"], ["predict", "--help"],
                                  ["score", "--help"], ["--version"]])
def test_help_imports_no_numeric_library(argv):
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['fastgmm'] + {argv!r}\n"
        "try:\n"
        "    runpy.run_module('fastgmm', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print('IMPORTED', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "IMPORTED []"


def test_the_package_imports_lazily():
    code = (
        "import sys, fastgmm\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{HEAVY!r}))\n"
        "print(sorted(set(fastgmm.__all__) - set(dir(fastgmm))))\n"
        "from fastgmm import GaussianMixture, load\n"
        "print(GaussianMixture.__module__, load.__module__, 'numpy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[]", "[]", "fastgmm.mixture fastgmm._persist True"]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        fastgmm.nothing  # noqa: B018
    assert fastgmm.GaussianMixtureSearch.__name__ == "GaussianMixtureSearch"
    assert callable(fastgmm.show_config) and hasattr(fastgmm.plot, "mixture")


def _subparser(name):
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    return commands.choices[name]


def test_help_tells_every_default(capsys):
    fit = _subparser("fit")
    for action in fit._actions:
        if action.option_strings and action.nargs != 0 and not action.required:
            assert "(default: " in action.help, action.option_strings
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for fragment in ("--max-iter MAX_ITER EM iterations at most, per restart "
                     "(default: 100)", "(default: 0.001)", "(default: 1e-06)",
                     "(default: kmeans)", "(default: auto)", "(default: bic)"):
        assert fragment in text
    predict_plot = next(a for a in _subparser("predict")._actions if a.dest == "plot")
    fit_plot = next(a for a in fit._actions if a.dest == "plot")
    assert predict_plot.help != fit_plot.help and "predicted" in predict_plot.help
    score_columns = next(a for a in _subparser("score")._actions if a.dest == "columns")
    fit_columns = next(a for a in fit._actions if a.dest == "columns")
    assert score_columns.help != fit_columns.help and "model" in score_columns.help
    assert parser.DATA_FORMATS == _data.FORMATS


@pytest.mark.parametrize("argv, command, fragment", [
    (["fit", "d.csv", "-k", "0"], "fastgmm fit", "argument -k/--components: expected"),
    (["fit", "d.csv"], "fastgmm fit", "the following arguments are required: -k"),
    (["outliers", "d.csv", "--contamination", "0.9"], "fastgmm outliers",
     "expected 'auto' or a fraction in (0, 0.5]"),
    (["predict", "m.npz", "d.csv", "--missing", "drop"], "fastgmm predict",
     "argument --missing: invalid choice: 'drop'"),
    (["frobnicate"], "fastgmm", "invalid choice: 'frobnicate'"),
    ([], "fastgmm", "the following arguments are required: command"),
])
def test_argument_errors_are_one_line_and_a_pointer_to_help(capsys, argv, command,
                                                            fragment):
    """Issue 36.16: an argument error prints its line and one line naming
    --help, not argparse's usage block (exit code 2, argparse's)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == "" and len(lines) == 2, captured.err
    assert lines[0].startswith("fastgmm: error: ") and fragment in lines[0], lines[0]
    assert lines[1] == f"see '{command} --help' for the options", lines[1]
    assert "usage:" not in captured.err


# -------------------------------------------------------------- standard input


def test_fit_and_predict_read_standard_input_in_a_subprocess(tmp_path, X):
    text = "x,y,z\n" + "\n".join(",".join(f"{v:.17g}" for v in row) for row in X) + "\n"
    model = tmp_path / "m.npz"
    fit = subprocess.run(
        [sys.executable, "-m", "fastgmm", "fit", "-", "-k", "3", "--out", str(model),
         "--json"], input=text, capture_output=True, text=True, timeout=600)
    assert fit.returncode == 0, fit.stderr
    report = json.loads(fit.stdout)
    assert report["data"] == "<stdin>" and report["feature_names"] == ["x", "y", "z"]
    predict = subprocess.run(
        [sys.executable, "-m", "fastgmm", "predict", str(model), "-"], input=text,
        capture_output=True, text=True, timeout=600)
    assert predict.returncode == 0, predict.stderr
    labels = np.array(predict.stdout.splitlines()[1:], dtype=int)
    loaded = fastgmm.load(model)
    del loaded.feature_names_in_
    np.testing.assert_array_equal(labels, loaded.predict(X))


def test_standard_input_in_other_formats(capsys, monkeypatch, tmp_path, X):
    buffer = io.BytesIO()
    np.save(buffer, X)
    write_stdin(monkeypatch, buffer.getvalue())  # recognised by its magic number
    code, out, err = run_here(capsys, "fit", "-", "-k", "3", "--json")
    assert code == 0, err
    assert json.loads(out)["n_samples"] == 900
    write_stdin(monkeypatch, "a;b\n1;2\n3;4\n5;7\n")
    code, out, err = run_here(capsys, "fit", "-", "-k", "1", "--json", "--format", "txt")
    assert code == 0, err
    assert json.loads(out)["feature_names"] == ["a", "b"]
    write_stdin(monkeypatch, "a,b\n1,2\n3,x\n")
    code, out, err = run_here(capsys, "fit", "-", "-k", "1")
    assert_one_error_line(code, out, err, "<stdin>, line 3, column 'b': 'x' is not")
    write_stdin(monkeypatch, "")
    code, out, err = run_here(capsys, "fit", "-", "-k", "1")
    assert_one_error_line(code, out, err, "<stdin>: standard input is empty")
    monkeypatch.setattr(sys, "stdin", None)  # started without one (a daemon, CI)
    code, out, err = run_here(capsys, "fit", "-", "-k", "1")
    assert_one_error_line(code, out, err, "<stdin>: there is no standard input")
    # --format for a file whatever its name
    path = tmp_path / "points.data"
    path.write_text("1 2\n3 4\n5 7\n")
    code, out, err = run_here(capsys, "fit", path, "-k", "1")
    assert_one_error_line(code, out, err, "unsupported file type '.data'", "--format")
    code, out, err = run_here(capsys, "fit", path, "-k", "1", "--format", "dat",
                              "--json")
    assert code == 0 and json.loads(out)["n_features"] == 2


# ------------------------------------------------------------------ delimiters


@pytest.mark.parametrize("name, delimiter", [
    ("semicolons.csv", ";"), ("semicolons.txt", ";"), ("tabs.tsv", "\t"),
    ("tabs.txt", "\t"), ("pipes.txt", "|"), ("spaces.dat", " "),
    ("aligned.txt", "   "), ("commas.dat", ", "),
])
def test_delimiters_are_sniffed(capsys, tmp_path, X, name, delimiter):
    path = tmp_path / name
    np.savetxt(path, X, delimiter=delimiter, header=delimiter.join("xyz"), comments="",
               fmt="%.17g")
    code, out, err = run_here(capsys, "fit", path, "-k", "3", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["feature_names"] == ["x", "y", "z"] and report["n_samples"] == 900
    np.testing.assert_allclose(sorted(np.array(report["means"])[:, 0]), [0, 2, 8],
                               atol=0.3)


def test_sniffing_rules():
    assert text.sniff_delimiter(["a;b\n", "1,5;2\n", "3,5;4\n"]) == ";"
    assert text.sniff_delimiter(["1 2 3\n", "4 5 6\n"]) is None
    assert text.sniff_delimiter(["1\t2\n", "3\t4\n"]) == "\t"
    assert text.sniff_delimiter(["1, 2\n", "3, 4\n"]) == ","
    assert text.sniff_delimiter(["x\n", "1\n", "2\n"]) == ""  # one column
    assert text.sniff_delimiter(["1,2\n", "3;4\n", "5|6\n", "7:8\n"]) == ""


def test_an_unknown_separator_is_reported_with_the_ones_understood(capsys, tmp_path):
    path = tmp_path / "colons.txt"
    path.write_text("1:2\n3:4\n5:6\n")
    code, out, err = run_here(capsys, "fit", path, "-k", "1")
    assert_one_error_line(code, out, err, "cannot tell how the columns are separated",
                          "commas, semicolons, tabs, pipes (|) or whitespace")
    one_column = tmp_path / "one.txt"
    one_column.write_text("v\n1\n2\n4\n")
    code, out, err = run_here(capsys, "fit", one_column, "-k", "1", "--json")
    assert code == 0 and json.loads(out)["feature_names"] == ["v"]


# ---------------------------------------------------------- row-index columns


def test_a_pandas_row_index_is_left_out(capsys, tmp_path):
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame  # 4 measurements and 'target'
    path = tmp_path / "iris.csv"
    frame.to_csv(path)
    assert path.read_text().startswith(",sepal length (cm),")
    code, out, err = run_here(capsys, "fit", path, "-k", "3", "--json",
                              "--out", tmp_path / "m.npz")
    assert code == 0
    assert err == (f"fastgmm: note: {path}: the first column (no name, values "
                   "0..149) looks like a row index and is left out; use --columns "
                   "to keep it\n")
    report = json.loads(out)
    assert report["feature_names"] == list(frame.columns)
    assert report["n_features"] == 5
    # predict and score: the same columns, matched by name
    code, out, err = run_here(capsys, "score", tmp_path / "m.npz", path, "--json")
    assert code == 0 and err == ""
    model = fastgmm.load(tmp_path / "m.npz")
    assert json.loads(out)["mean_log_likelihood"] == pytest.approx(
        model.score(frame), rel=1e-12)
    # --columns keeps it; --quiet says nothing
    code, out, err = run_here(capsys, "fit", path, "-k", "3", "--json", "--columns",
                              "0-5")
    assert code == 0 and err == ""
    assert json.loads(out)["feature_names"] == [""] + list(frame.columns)
    code, out, err = run_here(capsys, "fit", path, "-k", "3", "--quiet")
    assert (code, out, err) == (0, "", "")


def test_row_index_from_one_and_twice(capsys, tmp_path, X):
    import pandas as pd

    frame = pd.DataFrame(X, columns=["x", "y", "z"], index=np.arange(1, 901))
    path = tmp_path / "from_one.csv"
    frame.to_csv(path)
    npy = tmp_path / "plain.npy"
    np.save(npy, X)
    code, out, err = run_here(capsys, "fit", npy, "-k", "3", "--out", tmp_path / "m.npz",
                              "--quiet")
    assert code == 0
    # a model without feature names: the file's columns less its row index
    code, out, err = run_here(capsys, "predict", tmp_path / "m.npz", path)
    assert code == 0
    assert "values 1..900" in err
    model = fastgmm.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(np.array(out.splitlines()[1:], dtype=int),
                                  model.predict(X))
    # written, read and written again by pandas: two index columns
    twice = tmp_path / "twice.csv"
    pd.read_csv(path).to_csv(twice)
    code, out, err = run_here(capsys, "fit", twice, "-k", "3", "--json")
    assert code == 0
    assert json.loads(out)["feature_names"] == ["x", "y", "z"]
    assert "(no name, values 0..899)" in err and "(named 'Unnamed: 0', values 1..900)" in err
    # not a row index: kept
    shuffled = tmp_path / "shuffled.csv"
    frame.sample(frac=1.0, random_state=0).to_csv(shuffled)
    code, out, err = run_here(capsys, "fit", shuffled, "-k", "3", "--json")
    assert code == 0 and err == ""
    assert json.loads(out)["n_features"] == 4


# ------------------------------------------------------ non-numeric columns


def test_a_text_column_suggests_the_numeric_ones(capsys, iris_with_species):
    code, out, err = run_here(capsys, "fit", iris_with_species, "-k", "3")
    assert_one_error_line(
        code, out, err,
        f"{iris_with_species}, line 2, column 'species': 'setosa' is not a number; "
        "choose numeric columns with --columns "
        "sepal_length,sepal_width,petal_length,petal_width")
    code, out, err = run_here(capsys, "fit", iris_with_species, "-k", "3", "--columns",
                              "0-3", "--json")
    assert code == 0 and json.loads(out)["feature_names"] == IRIS_NAMES


def test_text_columns_without_header_and_in_parquet(capsys, tmp_path):
    path = tmp_path / "mixed.txt"
    rows = [f"{i} {i * 2} label{i % 3} {i % 5} {i % 7}" for i in range(30)]
    path.write_text("\n".join(rows) + "\n")
    code, out, err = run_here(capsys, "fit", path, "-k", "2")
    assert_one_error_line(code, out, err, "line 1, field 3: 'label0' is not a number; "
                          "choose numeric columns with --columns 0-1,3-4")
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"a": np.arange(10.0), "name": ["r"] * 10, "b": np.ones(10)})
    pq.write_table(table, tmp_path / "t.parquet")
    code, out, err = run_here(capsys, "fit", tmp_path / "t.parquet", "-k", "2")
    assert_one_error_line(code, out, err, "'name' holds string values, not numbers; "
                          "choose numeric columns with --columns a,b")


def test_a_stray_word_in_a_numeric_column_gets_no_column_advice(capsys, tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text("x,y\n1,2\n3,4\n5,abc\n7,8\n")
    code, out, err = run_here(capsys, "fit", path, "-k", "2")
    assert_one_error_line(code, out, err, "line 4, column 'y': 'abc' is not a number")
    assert "--columns" not in err


# -------------------------------------------------------------- column ranges


def test_column_ranges(capsys, tmp_path, X):
    path = tmp_path / "wide.csv"
    wide = np.column_stack([X, X[:, :2] * 2])
    np.savetxt(path, wide, delimiter=",", header="a,b,c,d,e", comments="", fmt="%.17g")
    for spec, names in [("0-2", ["a", "b", "c"]), ("0-1,3", ["a", "b", "d"]),
                        ("e,0-1", ["e", "a", "b"]), ("1-1", ["b"]), ("-1,0", ["e", "a"])]:
        data = _data.read(path, columns=parser._columns(spec))
        assert data.feature_names == names, spec
        index = ["abcde".index(n) for n in names]
        np.testing.assert_array_equal(data.X, wide[:, index])
    for spec, fragment in [("3-1", "the column range '3-1' is empty"),
                           ("2-9", "column range 2-9 out of range (the file has 5"),
                           ("0-2,1", "selected twice")]:
        code, out, err = run_here(capsys, "fit", path, "-k", "1", "--columns", spec)
        assert_one_error_line(code, out, err, fragment)
    assert dataset.columns_option([0, 1, 2, 3, 5, 7, 8]) == "0-3,5,7-8"


# ---------------------------------------------------------- bounded searches


def test_huge_component_ranges_are_refused_before_expanding(capsys, tmp_path, X):
    path = tmp_path / "d.npy"
    np.save(path, X)
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", str(path), "-k", "1-100000000"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "asks for 100,000,000 numbers of components; a search tries at most 1,000" \
        in err
    assert "Traceback" not in err and "MemoryError" not in err
    assert parser._components("1-1000")[-1] == 1000
    with pytest.raises(Exception, match="at most 1,000"):
        parser._components("1-600,1000-1500")


def test_more_components_than_a_file_can_have_rows_fails_before_reading(
        capsys, tmp_path):
    path = tmp_path / "small.csv"
    path.write_text("x\n" + "abc\n" * 5)  # reading it would fail on 'abc'
    code, out, err = run_here(capsys, "fit", path, "-k", "100000000")
    assert_one_error_line(code, out, err,
                          "at most 12 rows, fewer than the 100,000,000 components")
    npy = tmp_path / "small.npy"
    np.save(npy, np.zeros((7, 2)))
    code, out, err = run_here(capsys, "fit", npy, "-k", "8")
    assert_one_error_line(code, out, err, "at most 7 rows, fewer than the 8 components")


def test_messages_of_empty_files_both_model_options_pickles_and_formats(
        capsys, monkeypatch, tmp_path, X):
    """Issue 36.15: an empty file is 'empty' whatever -k (not 'at most 1
    rows'); outliers with -k and -m says not both; a pickled or object .npy
    is refused without NumPy's advice to load it with allow_pickle; --format
    csv/tsv read their separator, and say so when the lines hold another."""
    import pickle

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for k in ("1", "2", "5"):
        assert_one_error_line(*run_here(capsys, "fit", empty, "-k", k),
                              "empty.csv: the file is empty")
        assert_one_error_line(*run_here(capsys, "outliers", empty, "-k", k),
                              "empty.csv: the file is empty")
    one = tmp_path / "one.csv"
    one.write_text("1")  # (one byte: at most one row, known before reading)
    assert_one_error_line(*run_here(capsys, "fit", one, "-k", "2"),
                          "one.csv: at most 1 row, fewer than the 2 components")
    assert_one_error_line(*run_here(capsys, "outliers", one, "-k", "1"),
                          "one.csv: 1 row; a fit needs at least 2")
    path = tmp_path / "d.csv"
    np.savetxt(path, X, delimiter=",", header="x,y,z", comments="")
    model = tmp_path / "m.npz"
    fastgmm.GaussianMixture(2, random_state=0).fit(X).save(model)
    assert_one_error_line(*run_here(capsys, "outliers", path, "-m", model, "-k", "3"),
                          "not both")
    assert_one_error_line(*run_here(capsys, "outliers", path), "needs -k K",
                          "-m MODEL.npz")
    pickled = tmp_path / "p.npy"
    pickled.write_bytes(pickle.dumps([1.0, 2.0]))
    objects = tmp_path / "o.npy"
    np.save(objects, np.array([[1.0, "a"]], dtype=object), allow_pickle=True)
    for file, fragment in ((pickled, "a Python pickle"), (objects, "Python objects")):
        for options in ([], ["--format", "npy"]):
            code, out, err = run_here(capsys, "fit", file, "-k", "1", *options)
            assert_one_error_line(code, out, err, fragment)
            assert "allow_pickle" not in err and "pickle.load" not in err
        write_stdin(monkeypatch, file.read_bytes())
        code, out, err = run_here(capsys, "fit", "-", "-k", "1", "--format", "npy")
        assert_one_error_line(code, out, err, fragment)
        assert "allow_pickle" not in err
    tabs = tmp_path / "t.tsv"
    np.savetxt(tabs, X, delimiter="\t", header="x\ty\tz", comments="")
    for file, asked, fragment in ((path, "tsv", "separated by tabs, but its lines "
                                   "are separated by commas; use --format csv"),
                                  (tabs, "csv", "separated by commas, but its lines "
                                   "are separated by tabs; use --format tsv")):
        assert_one_error_line(*run_here(capsys, "fit", file, "-k", "1", "--format",
                                        asked), f"--format {asked} reads columns", fragment)
    for file, asked in ((path, "csv"), (tabs, "tsv"), (tabs, "txt")):
        code, out, err = run_here(capsys, "fit", file, "-k", "1", "--format", asked,
                                  "--json")
        assert code == 0, err
        assert json.loads(out)["feature_names"] == ["x", "y", "z"]


# -------------------------------------------------------------------- --scale


def test_scale_on_wine(capsys, tmp_path):
    from sklearn.datasets import load_wine
    from sklearn.metrics import adjusted_rand_score

    wine = load_wine(as_frame=True)
    path = tmp_path / "wine.csv"
    wine.data.to_csv(path, index=False)
    ari = {}
    for scale in (False, True):
        labels = tmp_path / f"labels{scale}.csv"
        extra = ["--scale", "--out", tmp_path / "scaled.npz"] if scale else []
        code, out, err = run_here(capsys, "fit", path, "-k", "3", "--labels", labels,
                                  "--json", *extra)
        assert code == 0, err
        report = json.loads(out)
        found = np.loadtxt(labels, skiprows=1, dtype=int)
        ari[scale] = adjusted_rand_score(wine.target, found)
    # the columns' units differ by 1000x: unscaled, magnesium and proline rule
    assert ari[True] > 0.8 and ari[True] > ari[False] + 0.15, ari
    # the report's means are in the units of the data
    X = wine.data.to_numpy()
    for c, mean in enumerate(report["means"]):
        rows = found == c
        np.testing.assert_allclose(mean, X[rows].mean(axis=0), rtol=0.05)
    np.testing.assert_allclose(report["scaling"]["mean"], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(report["scaling"]["scale"], X.std(axis=0), rtol=1e-12)
    # predict on the same file reproduces the fit's labels; score is of the
    # standardized rows, as the model sees them
    model = tmp_path / "scaled.npz"
    code, out, err = run_here(capsys, "predict", model, path)
    assert code == 0, err
    np.testing.assert_array_equal(np.array(out.splitlines()[1:], dtype=int), found)
    loaded = fastgmm.load(model)
    del loaded.feature_names_in_  # compared on plain arrays
    np.testing.assert_array_equal(loaded.scaling_["mean"], report["scaling"]["mean"])
    Z = (X - loaded.scaling_["mean"]) / loaded.scaling_["scale"]
    np.testing.assert_array_equal(loaded.predict(Z), found)
    code, out, err = run_here(capsys, "score", model, path, "--json")
    scored = json.loads(out)
    assert scored["scaled"] is True
    assert scored["mean_log_likelihood"] == pytest.approx(loaded.score(Z), rel=1e-12)
    code, out, err = run_here(capsys, "fit", path, "-k", "3", "--scale")
    assert "columns standardized (--scale)" in out and "units of the data" in out


def test_scale_keeps_constant_columns_and_float32(capsys, tmp_path, X):
    data = np.column_stack([X, np.full(len(X), 7.0)]).astype(np.float32)
    path = tmp_path / "f32.npy"
    np.save(path, data)
    code, out, err = run_here(capsys, "fit", path, "-k", "3", "--scale", "--out",
                              tmp_path / "m.npz", "--labels", tmp_path / "l.npy",
                              "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["scaling"]["scale"][3] == 1.0 and report["scaling"]["mean"][3] == 7.0
    model = fastgmm.load(tmp_path / "m.npz")
    assert model.means_.dtype == np.float32
    code, out, err = run_here(capsys, "predict", tmp_path / "m.npz", path, "-o",
                              tmp_path / "p.npy")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), np.load(tmp_path / "l.npy"))


# ------------------------------------------------------------------- tables


def test_table_columns_have_one_format():
    column = output.format_column([574.01783, 1522.1202, 7178.908], 8)
    assert column == [" 574.0178", "1522.1202", "7178.9080"]
    assert output.format_column([1.5e-5, -2e-6], 3) == [" 1.50e-05", "-2.00e-06"]
    assert output.format_column([0.0, 0.0], 4) == ["0.0", "0.0"]
    assert output.format_column([6.011, 0.06572, -5.034], 4) == [
        " 6.011", " 0.066", "-5.034"]
    # a value within rounding of zero for the column's scale shows as 0
    assert output.format_column([1.014e-307, 0.0], 4, zero_below=1e-299) == ["0.0", "0.0"]
    assert output.format_column([1.014e-307, 0.0], 4) == ["1.014e-307", " 0.000e+00"]


def test_the_ranking_table_is_aligned():
    records = [
        {"rank": i + 1, "n_components": k, "covariance_type": "full", "criterion": v,
         "n_parameters": 5 * k, "n_iter": 3, "converged": True, "fit_time": 0.02,
         "error": None}
        for i, (k, v) in enumerate([(3, 574.01783), (2, 1522.1202), (1, 7178.908)])
    ]
    records.append(dict(records[0], rank=4, n_components=9, error="ill-defined"))
    out = io.StringIO()
    output._print_ranking(records, "bic", out)
    lines = out.getvalue().splitlines()
    values = [line.split()[3] for line in lines[1:4]]
    assert values == ["574.0178", "1522.1202", "7178.9080"]
    ends = {line.index(v) + len(v) for line, v in zip(lines[:4], ["bic"] + values)}
    assert len(ends) == 1  # right-aligned under the header
    assert "failed: ill-defined" in lines[4]
