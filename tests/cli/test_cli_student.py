"""``--family t`` and ``--dof`` on the command line (issue 39): ``fit``
(one fit and a search), ``predict`` and ``score`` of a saved t model (its
family read from the file), ``outliers``, against the Python API on the same
rows; and the errors (an argument error: exit code 2; an option that does
not combine with --family t, or a saved model of another family: exit code
1).

The fits run with ``--backend numba``: the Cython backend's t pass is being
built (until it is there, backend 'auto' can pick Cython, which refuses the
t pass).
"""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastgmm
from fastgmm import GaussianMixtureOutlierDetector, GaussianMixtureSearch, StudentTMixture
from fastgmm.__main__ import main

from .test_cli_commands import assert_one_error_line, run_here

NUMBA = ("--backend", "numba")


def heavy_tailed(seed=0):
    """Two clusters of t(3) draws and 20 planted outliers far from them."""
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.standard_t(3, size=(500, 2)),
                   rng.standard_t(3, size=(500, 2)) + [10.0, 0.0]])
    angle = rng.uniform(0.0, 2.0 * np.pi, 20)
    planted = np.column_stack([5.0 + 40.0 * np.cos(angle), 40.0 * np.sin(angle)])
    return np.vstack([X, planted])


@pytest.fixture(scope="module")
def X():
    return heavy_tailed()


@pytest.fixture
def data(tmp_path, X):
    path = tmp_path / "d.npy"
    np.save(path, X)
    return path


@pytest.fixture
def t_model(capsys, tmp_path, data):
    """``fit --family t --dof shared`` saved: (its path, the fit's JSON report)."""
    path = tmp_path / "t.npz"
    code, out, err = run_here(capsys, "fit", data, "-k", "2", "--family", "t", "--dof",
                              "shared", *NUMBA, "--json", "-o", path)
    assert code == 0, err
    return path, json.loads(out)


def test_fit_family_t_writes_the_t_mixture_of_the_python_api(X, t_model):
    path, report = t_model
    expected = StudentTMixture(2, dof="shared", backend="numba", random_state=0).fit(X)
    assert report["family"] == "t" and report["dof"] == "shared"
    assert_allclose(report["degrees_of_freedom"], expected.dof_, rtol=1e-12)
    assert_allclose(report["means"], expected.means_, rtol=0, atol=1e-12)
    assert_allclose(report["bic"], expected.bic(X), rtol=1e-10)
    model = fastgmm.load(path)
    assert type(model) is StudentTMixture and model.dof == "shared"
    assert np.all(model.dof_ == model.dof_[0])  # shared: one value
    assert_allclose(model.dof_, expected.dof_, rtol=1e-12)
    assert_allclose(model.means_, expected.means_, rtol=0, atol=1e-12)
    assert_allclose(model.lower_bound_, expected.lower_bound_, rtol=0, atol=1e-12)


def test_fit_family_t_prints_its_degrees_of_freedom(capsys, data):
    code, out, err = run_here(capsys, "fit", data, "-k", "2", "--family", "t", "--dof",
                              "7.5", *NUMBA)
    assert code == 0, err
    assert "fitted 2 components (Student t, dof 7.5), covariance 'full'" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("component"))
    assert lines[header].split() == ["component", "weight", "rows", "dof", "mean"]
    assert [line.split()[3] for line in lines[header + 1:header + 3]] == ["7.500", "7.500"]


def test_predict_and_score_read_the_family_from_the_model_file(capsys, tmp_path, X, data,
                                                              t_model):
    path, _ = t_model
    model = fastgmm.load(path)
    # no --family: the file's; the Python API's outputs
    code, out, err = run_here(capsys, "predict", path, data, "-o", tmp_path / "p.npy")
    assert code == 0, err
    assert_array_equal(np.load(tmp_path / "p.npy"), model.predict(X))
    code, out, err = run_here(capsys, "predict", path, data, "--proba", "--family", "t",
                              "--dof", "shared", "-o", tmp_path / "proba.npy")
    assert code == 0, err
    assert_allclose(np.load(tmp_path / "proba.npy"), model.predict_proba(X), rtol=1e-12)
    code, out, err = run_here(capsys, "score", path, data, "--json", "-o",
                              tmp_path / "ll.npy")
    assert code == 0, err
    report = json.loads(out)
    assert report["family"] == "t"
    assert_allclose(report["mean_log_likelihood"], model.score(X), rtol=1e-12)
    assert_allclose(report["bic"], model.bic(X), rtol=1e-12)
    assert_allclose(report["aic"], model.aic(X), rtol=1e-12)
    assert_allclose(np.load(tmp_path / "ll.npy"), model.score_samples(X), rtol=1e-12)


def test_a_search_of_t_mixtures(capsys, X, data):
    code, out, err = run_here(capsys, "fit", data, "-k", "1-3", "--covariance",
                              "full,diag", "--family", "t", *NUMBA, "--jobs", "1",
                              "--json")
    assert code == 0, err
    report = json.loads(out)
    expected = GaussianMixtureSearch([1, 2, 3], covariance_type=["full", "diag"],
                                     family="t", backend="numba", random_state=0,
                                     n_jobs=1).fit(X)
    assert report["family"] == "t" and report["dof"] == "component"
    assert {r["family"] for r in report["search"]["results"]} == {"t"}
    best = expected.best_params_
    assert (report["n_components"], report["covariance_type"]) == (
        best["n_components"], best["covariance_type"])
    assert_allclose(report["bic"], expected.results_[expected.best_index_]["bic"],
                    rtol=1e-12)


def test_outliers_with_a_t_fit_and_a_saved_t_model(capsys, tmp_path, X, data, t_model):
    code, out, err = run_here(capsys, "outliers", data, "-k", "2", "--family", "t",
                              *NUMBA, "--contamination", "0.02", "--json", "-o",
                              tmp_path / "flags.csv")
    assert code == 0, err
    report = json.loads(out)
    expected = GaussianMixtureOutlierDetector(2, family="t", contamination=0.02,
                                              backend="numba", random_state=0).fit(X)
    assert report["family"] == "t"
    assert_allclose(report["offset"], expected.offset_, rtol=1e-12)
    table = np.loadtxt(tmp_path / "flags.csv", delimiter=",", skiprows=1)
    assert_array_equal(table[:, 0] == 1, expected.predict(X) == -1)
    assert np.all(table[-20:, 0] == 1)  # the planted outliers
    assert_allclose(table[:, 1], expected.score_samples(X), rtol=1e-9)
    # a saved t model: its family, the threshold from DATA under it
    path, _ = t_model
    model = fastgmm.load(path)
    code, out, err = run_here(capsys, "outliers", data, "-m", path, "--contamination",
                              "0.02", "--json", "-o", tmp_path / "flags2.csv")
    assert code == 0, err
    assert json.loads(out)["family"] == "t"
    assert_allclose(json.loads(out)["offset"],
                    np.quantile(model.score_samples(X), 0.02), rtol=1e-12)


@pytest.mark.parametrize("argv, fragment", [
    (["fit", "d.npy", "-k", "2", "--dof", "shared"], "--dof: applies to --family t only"),
    (["fit", "d.npy", "-k", "2", "--family", "gaussian", "--dof", "3"],
     "--dof: applies to --family t only"),
    (["predict", "m.npz", "d.npy", "--dof", "shared"], "--dof: applies to --family t"),
    (["score", "m.npz", "d.npy", "--dof", "3"], "--dof: applies to --family t"),
    (["outliers", "d.npy", "-k", "2", "--dof", "3"], "--dof: applies to --family t"),
    (["fit", "d.npy", "-k", "2", "--family", "t", "--dof", "0"],
     "argument --dof: expected 'component', 'shared' or a number of degrees of "
     "freedom > 0, got '0'"),
    (["fit", "d.npy", "-k", "2", "--family", "t", "--dof", "inf"], "got 'inf'"),
    (["fit", "d.npy", "-k", "2", "--family", "t", "--dof", "many"], "got 'many'"),
    (["fit", "d.npy", "-k", "2", "--family", "student"],
     "argument --family: invalid choice: 'student'"),
])
def test_argument_errors_exit_2(capsys, argv, fragment):
    """As argparse's: the error's line and a pointer to --help, exit code 2,
    before any file is read."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == "" and len(lines) == 2, captured.err
    assert lines[0].startswith("fastgmm: error: ") and fragment in lines[0], lines[0]
    assert lines[1] == f"see 'fastgmm {argv[0]} --help' for the options"


def test_what_family_t_does_not_combine_with(capsys, tmp_path, data, t_model):
    t_path, _ = t_model
    for more, fragment in [
        (["--noise"], "--noise does not combine with --family t"),
        (["--bayesian"], "--family t does not combine with --bayesian"),
        (["--missing", "marginalize"], "--missing marginalize does not combine with "
                                       "--family t"),
    ]:
        assert_one_error_line(*run_here(capsys, "fit", data, "-k", "2", "--family", "t",
                                        *more), fragment)
    assert_one_error_line(*run_here(capsys, "outliers", data, "-k", "2", "--family", "t",
                                    "--missing", "marginalize", "-o",
                                    tmp_path / "o.csv"),
                          "--missing marginalize does not combine with --family t")
    # a saved model of another family, or fitted with another dof
    code, out, err = run_here(capsys, "fit", data, "-k", "2", *NUMBA, "-q", "-o",
                              tmp_path / "g.npz")
    assert code == 0, err
    for argv, fragment in [
        (["score", tmp_path / "g.npz", data, "--family", "t"],
         "the model is a gaussian mixture, not --family t"),
        (["predict", t_path, data, "--family", "gaussian"],
         "the model is a t mixture, not --family gaussian"),
        (["score", t_path, data, "--family", "t", "--dof", "component"],
         "the t mixture was fitted with dof='shared', not --dof component"),
        (["score", t_path, data, "--family", "t", "--dof", "4"],
         "not --dof 4"),
        (["outliers", data, "-m", t_path, "--family", "gaussian", "-o",
          tmp_path / "o.csv"], "the model is a t mixture"),
        (["outliers", data, "-m", t_path, "--backend", "numba", "-o",
          tmp_path / "o.csv"], "--backend applies to a fit (-k)"),
        (["score", t_path, data, "--missing", "marginalize"],
         "a t mixture (--family t) does not take missing values yet"),
        (["impute", t_path, data, "-o", tmp_path / "i.csv"],
         "a t mixture (--family t) does not take missing values yet"),
    ]:
        assert_one_error_line(*run_here(capsys, *argv), fragment)


@pytest.mark.dask
@pytest.mark.xdist_group("dask")
def test_fit_family_t_on_dask(capsys, tmp_path, monkeypatch, X):
    """--dask fits the t mixture of the files' rows as one dask array: the
    in-memory fit's, and its report (criteria, labels) under the t
    densities."""
    distributed = pytest.importorskip("distributed")
    import functools

    monkeypatch.setattr(distributed, "LocalCluster", functools.partial(
        distributed.LocalCluster, n_workers=1, threads_per_worker=2, processes=False))
    parts = tmp_path / "parts"
    parts.mkdir()
    np.save(parts / "a.npy", X[:600])
    np.save(parts / "b.npy", X[600:])
    code, out, err = run_here(capsys, "fit", parts, "--dask", "-k", "2", "--family", "t",
                              "--dof", "shared", *NUMBA, "--json", "--labels",
                              tmp_path / "labels.npy")
    assert code == 0, err
    report = json.loads(out)
    expected = StudentTMixture(2, dof="shared", backend="numba", random_state=0).fit(X)
    assert report["family"] == "t" and report["dof"] == "shared"
    assert report["n_iter"] == expected.n_iter_
    assert_allclose(report["lower_bound"], expected.lower_bound_, rtol=1e-10)
    assert_allclose(report["degrees_of_freedom"], expected.dof_, rtol=1e-8)
    assert_allclose(report["bic"], expected.bic(X), rtol=1e-10)
    assert_array_equal(np.load(tmp_path / "labels.npy"), expected.predict(X))
