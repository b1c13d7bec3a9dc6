"""The command line with mclust's models (--covariance VEV,EEE / mclust) and
a noise component (--noise), against the Python API on the same rows."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm import GaussianMixture, GaussianMixtureSearch, load

from .test_cli_commands import assert_one_error_line, run_here


def _csv(tmp_path, X):
    path = tmp_path / "d.csv"
    np.savetxt(path, X, delimiter=",", header="a,b", comments="")
    return path


def _noisy():
    rng = np.random.RandomState(5)
    return np.vstack([rng.randn(200, 2), rng.randn(200, 2) + [6, 0],
                      rng.uniform(-10, 16, (40, 2))])


def test_models_and_noise_on_the_command_line(capsys, tmp_path):
    X = _noisy()
    path = _csv(tmp_path, X)
    code, out, err = run_here(capsys, "fit", str(path), "-k", "2", "--covariance", "VEV",
                              "--noise", "--seed", "0", "--json", "--out",
                              str(tmp_path / "m.npz"), "--labels", str(tmp_path / "l.npy"))
    assert code == 0, err
    report = json.loads(out)
    expected = GaussianMixture(2, covariance_type="VEV", noise=True, random_state=0).fit(X)
    assert_allclose(report["noise_weight"], expected.noise_weight_, rtol=1e-10)
    assert report["noise_rows"] == int(np.sum(expected.predict(X) == -1))
    assert_allclose(report["bic"], expected.bic(X), rtol=1e-10)
    assert_array_equal(np.load(tmp_path / "l.npy"), expected.predict(X))
    assert load(tmp_path / "m.npz").covariance_type == "VEV"
    code, out, err = run_here(capsys, "predict", str(tmp_path / "m.npz"), str(path),
                              "--proba")
    assert code == 0, err
    assert out.splitlines()[0] == "p0,p1,noise"
    code, out, err = run_here(capsys, "fit", str(path), "-k", "1-3", "--covariance",
                              "mclust", "--seed", "0", "--json")
    assert code == 0, err
    search = GaussianMixtureSearch(range(1, 4), covariance_type="mclust",
                                   random_state=0).fit(X)
    report = json.loads(out)
    assert report["covariance_type"] == search.best_params_["covariance_type"]
    assert report["n_components"] == search.best_params_["n_components"]
    from fastgmm.__main__ import main

    with pytest.raises(SystemExit) as exit_info:  # a usage error, as argparse's
        main(["fit", str(path), "-k", "2", "--covariance", "VEV,XYZ"])
    assert exit_info.value.code == 2
    assert "mclust's models" in capsys.readouterr().err
    assert_one_error_line(*run_here(capsys, "fit", str(path), "-k", "2", "--noise",
                                    "--bayesian"), "--noise")


def test_mclust_bic_plot(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import fastgmm.plot

    search = GaussianMixtureSearch(range(1, 3), covariance_type=["VEV", "EII", "full"],
                                   random_state=0).fit(_noisy())
    ax = fastgmm.plot.search(search, style="mclust")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert [name for name in lines if not name.startswith("best")] == ["full", "EII", "VEV"]
    record = next(r for r in search.results_
                  if (r["covariance_type"], r["n_components"]) == ("VEV", 2))
    assert_allclose(lines["VEV"].get_ydata()[1], -record["bic"])  # mclust's sign
    # the mixture plot draws an mclust model's ellipses from its structure
    fastgmm.plot.mixture(search.best_estimator_, _noisy())
    eve = GaussianMixture(2, covariance_type="EVE", random_state=0).fit(_noisy())
    fastgmm.plot.mixture(eve, _noisy())
