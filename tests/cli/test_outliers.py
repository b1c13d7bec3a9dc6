"""``fastgmm outliers``: the command line against GaussianMixtureOutlierDetector
on the same rows, with a fit (-k) or a saved model (-m)."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm import GaussianMixtureOutlierDetector

from .test_cli_commands import assert_one_error_line, run_here


def _csv(tmp_path):
    rng = np.random.RandomState(11)
    X = np.vstack([rng.randn(600, 2), rng.randn(400, 2) + [5, 0],
                   rng.uniform(-20, 20, (10, 2))])
    path = tmp_path / "d.csv"
    np.savetxt(path, X, delimiter=",", header="a,b", comments="")
    return path, X


def test_outliers_with_a_fit_and_with_a_saved_model(capsys, tmp_path):
    path, X = _csv(tmp_path)
    code, out, err = run_here(capsys, "outliers", str(path), "-k", "2",
                              "--contamination", "0.02", "--seed", "0", "--json",
                              "--out", str(tmp_path / "flags.csv"))
    assert code == 0, err
    expected = GaussianMixtureOutlierDetector(2, contamination=0.02,
                                              random_state=0).fit(X)
    report = json.loads(out)
    assert_allclose(report["offset"], expected.offset_, rtol=1e-12)
    table = np.loadtxt(tmp_path / "flags.csv", delimiter=",", skiprows=1)
    assert_array_equal(table[:, 0] == 1, expected.predict(X) == -1)
    assert report["n_outliers"] == int(np.sum(expected.predict(X) == -1))
    assert_allclose(table[:, 1], expected.score_samples(X), rtol=1e-9)
    assert_array_equal(table[:, 3], expected.explain(X)["component"])
    # a saved model: the threshold from DATA under it
    assert run_here(capsys, "fit", str(path), "-k", "2", "--seed", "0", "-q", "--out",
                    str(tmp_path / "m.npz"))[0] == 0
    code, out, err = run_here(capsys, "outliers", str(path), "-m", str(tmp_path / "m.npz"),
                              "--contamination", "0.02")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "outlier,log_density,decision,component,mahalanobis"
    flags = np.array([float(line.split(",")[0]) for line in lines[1:]])
    assert_array_equal(flags == 1, expected.predict(X) == -1)
    assert_one_error_line(*run_here(capsys, "outliers", str(path)), "-k")
    assert_one_error_line(*run_here(capsys, "outliers", str(path), "-k", "2", "--json"),
                          "--out")


def test_a_bad_value_past_the_first_block_is_named_by_its_row(capsys, tmp_path):
    """Issue 36.12: ``outliers -m MODEL DATA.npy`` names the data row of a bad
    value past the detector's first block of 65,536 rows (it named the row
    within its block), as ``outliers -k`` and ``impute`` do; so does
    ``explain`` of the Python API on a memory map."""
    rng = np.random.RandomState(3)
    X = rng.randn(70_001, 2)
    assert run_here(capsys, "fit", str(_csv(tmp_path)[0]), "-k", "2", "-q", "--out",
                    str(tmp_path / "m.npz"))[0] == 0
    X[70_000, 1] = np.inf
    np.save(tmp_path / "inf.npy", X)
    for how in (["-m", str(tmp_path / "m.npz")], ["-k", "2"]):
        for missing in (["--missing", "marginalize"], []):
            assert_one_error_line(*run_here(capsys, "outliers", str(tmp_path / "inf.npy"),
                                            *how, *missing, "-o",
                                            str(tmp_path / "o.csv")),
                                  "data row 70001 has")
    # under --missing marginalize only infinity is an error, and it says so
    assert_one_error_line(*run_here(capsys, "outliers", str(tmp_path / "inf.npy"),
                                    "-m", str(tmp_path / "m.npz"), "--missing",
                                    "marginalize", "-o", str(tmp_path / "o.csv")),
                          "data row 70001 has an infinite value")
    detector = GaussianMixtureOutlierDetector(2, random_state=0,
                                              nan_policy="marginalize").fit(X[:1000])
    with pytest.raises(ValueError, match=r"\(row 70000\)"):
        detector.explain(np.load(tmp_path / "inf.npy", mmap_mode="r"))


def test_outliers_is_deterministic_and_its_help_tells_the_rule(capsys, tmp_path):
    """Issue 36.13: ``--seed`` defaults to 0 as in ``fit`` (two runs without it
    give the same table, that of ``--seed 0``), and the help of
    ``--contamination auto`` describes Tukey's fence, the rule the code uses."""
    from fastgmm.__main__ import build_parser

    path, X = _csv(tmp_path)
    args = build_parser().parse_args(["outliers", str(path), "-k", "2"])
    assert args.seed == 0
    runs = [run_here(capsys, "outliers", str(path), "-k", "3") for _ in range(2)]
    assert runs[0][0] == 0 and runs[0] == runs[1]
    assert runs[0] == run_here(capsys, "outliers", str(path), "-k", "3", "--seed", "0")
    expected = GaussianMixtureOutlierDetector(3, random_state=0).fit(X)
    table = np.loadtxt(runs[0][1].splitlines()[1:], delimiter=",")
    assert_array_equal(table[:, 3], expected.explain(X)["component"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["outliers", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Tukey's lower fence" in text and "Q1 - 1.5 (Q3 - Q1)" in text
    assert "1% of its draws" not in text and "draws" not in text
    assert "(default: 0)" in text
