"""``--missing marginalize`` and ``fastgmm impute``: the command line on data
with empty cells and NaN, against the Python API on the same rows."""

import json

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm import GaussianMixture, load

from .test_cli_commands import assert_one_error_line, run_here


def _table(tmp_path, seed=95):
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.randn(300, 3) + 5, rng.randn(300, 3)])
    X[rng.rand(*X.shape) < 0.1] = np.nan
    lines = ["a,b,c"] + [",".join("" if np.isnan(v) else repr(float(v)) for v in row)
                         for row in X]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, X


def test_fit_predict_score_and_impute_with_missing_cells(capsys, tmp_path):
    path, X = _table(tmp_path)
    code, out, err = run_here(capsys, "fit", str(path), "-k", "2", "--missing",
                              "marginalize", "--seed", "0", "--out",
                              str(tmp_path / "m.npz"), "--labels", str(tmp_path / "l.npy"),
                              "-q")
    assert code == 0, err
    model = load(tmp_path / "m.npz")
    expected = GaussianMixture(2, random_state=0, nan_policy="marginalize").fit(X)
    assert_allclose(model.means_, expected.means_, rtol=1e-12)
    assert_array_equal(np.load(tmp_path / "l.npy"), expected.predict(X))
    code, out, err = run_here(capsys, "score", str(tmp_path / "m.npz"), str(path),
                              "--missing", "marginalize", "--json")
    assert code == 0, err
    assert_allclose(json.loads(out)["mean_log_likelihood"], expected.score(X), rtol=1e-12)
    code, out, err = run_here(capsys, "impute", str(tmp_path / "m.npz"), str(path),
                              "--out", str(tmp_path / "full.npy"), "--json")
    assert code == 0, err
    assert json.loads(out)["n_missing"] == int(np.isnan(X).sum())
    assert_allclose(np.load(tmp_path / "full.npy"), expected.impute(X), rtol=1e-12)


def test_a_npy_with_nan_is_read_by_windows(capsys, tmp_path):
    _, X = _table(tmp_path, seed=96)
    np.save(tmp_path / "X.npy", X)
    code, _, err = run_here(capsys, "fit", str(tmp_path / "X.npy"), "-k", "2",
                            "--missing", "marginalize", "--seed", "0", "-q",
                            "--out", str(tmp_path / "m.npz"))
    assert code == 0, err
    expected = GaussianMixture(2, random_state=0, nan_policy="marginalize").fit(X)
    assert_allclose(load(tmp_path / "m.npz").means_, expected.means_, rtol=1e-11)


def test_errors_name_the_option(capsys, tmp_path):
    path, X = _table(tmp_path)
    assert_one_error_line(*run_here(capsys, "fit", str(path), "-k", "2"),
                          "an empty cell", "--missing marginalize")
    # the variational mixture fits missing values too
    code, out, err = run_here(capsys, "fit", str(path), "-k", "3", "--missing",
                              "marginalize", "--bayesian", "--seed", "0", "--json")
    assert code == 0, err
    from fastgmm import BayesianGaussianMixture

    expected = BayesianGaussianMixture(n_components=3, random_state=0,
                                       nan_policy="marginalize").fit(X)
    assert_allclose(json.loads(out)["weights"], expected.weights_, rtol=1e-10)
    code, _, err = run_here(capsys, "fit", str(path), "-k", "2", "--missing",
                            "marginalize", "-q", "--out", str(tmp_path / "m.npz"))
    assert code == 0, err
    assert_one_error_line(*run_here(capsys, "impute", str(tmp_path / "m.npz"), str(path),
                                    "--json"), "needs --out")
    bad = tmp_path / "inf.csv"
    bad.write_text("a,b,c\n1,2,3\n4,inf,\n")
    assert_one_error_line(*run_here(capsys, "impute", str(tmp_path / "m.npz"), str(bad),
                                    "-o", str(tmp_path / "x.csv")), "infinite")


def test_scale_with_missing_cells_uses_the_observed_values(capsys, tmp_path):
    path, X = _table(tmp_path, seed=98)
    X[:, 1] = X[:, 1] * 1e-3 + 1e6  # far from zero: a naive variance cancels
    lines = ["a,b,c"] + [",".join("" if np.isnan(v) else repr(float(v)) for v in row)
                         for row in X]
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run_here(capsys, "fit", str(path), "-k", "2", "--missing",
                            "marginalize", "--scale", "-q", "--seed", "0", "--out",
                            str(tmp_path / "m.npz"))
    assert code == 0, err
    scaling = load(tmp_path / "m.npz").scaling_
    assert_allclose(scaling["mean"], np.nanmean(X, axis=0), rtol=1e-14)
    assert_allclose(scaling["scale"], np.nanstd(X, axis=0), rtol=1e-10)
    # the model predicts the file's rows as the Python API on the scaled rows
    scaled = (X - scaling["mean"]) / scaling["scale"]
    expected = GaussianMixture(2, random_state=0, nan_policy="marginalize").fit(scaled)
    assert_allclose(load(tmp_path / "m.npz").means_, expected.means_, rtol=1e-10,
                    atol=1e-12)
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n1,\n2,\n3,\n")
    assert_one_error_line(*run_here(capsys, "fit", str(empty), "-k", "1", "--missing",
                                    "marginalize", "--scale"), "'b' has no observed value")


def test_a_bad_cell_after_empty_ones_is_named_under_missing(capsys, tmp_path,
                                                            monkeypatch):
    """Issue 36.11: with empty cells read as missing values, the error names
    the first cell that is neither a number nor empty (in memory and parsed
    chunk by chunk), in ``fit --missing marginalize`` and in ``impute``."""
    from fastgmm.files import dataset

    path, _ = _table(tmp_path)
    code, _, err = run_here(capsys, "fit", str(path), "-k", "2", "--missing",
                            "marginalize", "-q", "--out", str(tmp_path / "m.npz"))
    assert code == 0, err
    abc = tmp_path / "abc.csv"
    abc.write_text("a,b,c\n1,2,0\n3,,0\n5,abc,0\n7,NA,0\n9,10,0\n")
    na = tmp_path / "na.csv"
    na.write_text("a,b,c\n1,2,0\n3,,0\n5,6,0\n7,NA,0\n9,10,0\n")
    for limit in (dataset.TEXT_IN_MEMORY_BYTES, 10):  # (10 bytes: in chunks)
        monkeypatch.setattr(dataset, "TEXT_IN_MEMORY_BYTES", limit)
        for command in (lambda data: ["fit", data, "-k", "1", "--missing",
                                      "marginalize"],
                        lambda data: ["impute", tmp_path / "m.npz", data, "-o",
                                      tmp_path / "out.csv"]):
            assert_one_error_line(*run_here(capsys, *command(abc)),
                                  "abc.csv, line 4, column 'b': 'abc' is not a number")
            assert_one_error_line(*run_here(capsys, *command(na)),
                                  "na.csv, line 5, column 'b': 'NA' is not a number",
                                  "empty cell or NaN")
    # without the option, the empty cell is the error, and 'NA' gets the option
    assert_one_error_line(*run_here(capsys, "fit", str(na), "-k", "1"),
                          "line 3, column 'b': an empty cell")
    na.write_text("a,b\n1,2\n7,NA\n9,10\n")
    assert_one_error_line(*run_here(capsys, "fit", str(na), "-k", "1"),
                          "'NA' is not a number", "--missing marginalize")


def test_a_model_fitted_with_missing_values_keeps_its_policy(capsys, tmp_path):
    """Issue 36.14: a model saved by ``fit --missing marginalize`` holds
    nan_policy='marginalize', and ``predict``, ``score`` and ``outliers -m``
    on data with empty cells use it without ``--missing``; an explicit
    ``--missing error`` still wins; a file without the parameter (an older
    one) loads with nan_policy='raise'."""
    from fastgmm import GaussianMixtureOutlierDetector
    from fastgmm.files import model as _io

    path, X = _table(tmp_path)
    model_path = tmp_path / "m.npz"
    code, _, err = run_here(capsys, "fit", str(path), "-k", "2", "--missing",
                            "marginalize", "--seed", "0", "-q", "--out", str(model_path))
    assert code == 0, err
    assert load(model_path).nan_policy == "marginalize"
    expected = GaussianMixture(2, random_state=0, nan_policy="marginalize").fit(X)
    code, out, err = run_here(capsys, "predict", str(model_path), str(path), "--json")
    assert code == 0, err
    assert_array_equal(json.loads(out)["labels"], expected.predict(X))
    code, out, err = run_here(capsys, "score", str(model_path), str(path), "--json")
    assert code == 0, err
    assert_allclose(json.loads(out)["mean_log_likelihood"], expected.score(X), rtol=1e-12)
    code, out, err = run_here(capsys, "outliers", str(path), "-m", str(model_path),
                              "--json", "-o", str(tmp_path / "o.csv"))
    assert code == 0, err
    detector = GaussianMixtureOutlierDetector(2, random_state=0,
                                              nan_policy="marginalize").fit(X)
    assert_allclose(json.loads(out)["offset"], detector.offset_, rtol=1e-12)
    for command in ("predict", "score"):
        assert_one_error_line(*run_here(capsys, command, str(model_path), str(path),
                                        "--missing", "error"), "an empty cell")
    # a file written before the parameter was saved: the policy 'raise'
    arrays, metadata = _io.read_model_file(model_path)
    del metadata["params"]["nan_policy"]
    metadata = {key: value for key, value in metadata.items() if value is not None}
    _io.write_model_file(tmp_path / "old.npz", arrays, metadata)
    assert load(tmp_path / "old.npz").nan_policy == "raise"
    assert_one_error_line(*run_here(capsys, "predict", str(tmp_path / "old.npz"),
                                    str(path)), "an empty cell", "--missing marginalize")
    code, out, err = run_here(capsys, "predict", str(tmp_path / "old.npz"), str(path),
                              "--missing", "marginalize", "--json")
    assert code == 0, err
    assert_array_equal(json.loads(out)["labels"], expected.predict(X))
