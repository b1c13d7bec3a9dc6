"""The demo and the top-level command line (fit/predict/score: test_cli_*)."""

import pytest

from fastgmm.__main__ import main


def test_demo_small(capsys):
    assert main(["demo", "--n-samples", "5000", "--n-components", "3",
                 "--n-features", "2"]) == 0
    out = capsys.readouterr().out
    assert "fastgmm:" in out and "scikit-learn:" in out and "faster" in out
    assert "whole fit, default arguments" in out and "EM alone" in out
    assert "the same labels" in out
    assert out.count("weight ") == 3


def test_demo_counts_one_in_the_singular(capsys):
    assert main(["demo", "--n-samples", "1000", "--n-components", "1",
                 "--n-features", "1", "--no-sklearn"]) == 0
    out = capsys.readouterr().out
    assert "data: 1,000 points x 1 feature, float64, 1 component," in out


def test_demo_without_sklearn_comparison_float32(capsys):
    assert main(["demo", "--n-samples", "3000", "--n-components", "2",
                 "--dtype", "float32", "--covariance-type", "diag",
                 "--no-sklearn"]) == 0
    assert "scikit-learn:" not in capsys.readouterr().out


@pytest.mark.parametrize("command", ["frobnicate", "bench"])
def test_unknown_command_fails_cleanly(capsys, command):
    # the bench is benchmarks/harness.py of a source checkout, not the package's
    with pytest.raises(SystemExit) as info:
        main([command])
    assert info.value.code != 0
    assert "invalid choice" in capsys.readouterr().err


def test_demo_in_process(capsys):
    assert main(["demo", "--n-samples", "2000", "--n-components", "2",
                 "--n-features", "6", "--backend", "numba"]) == 0
    out = capsys.readouterr().out
    assert "lower bounds differ by" in out and ", ...]" in out


def test_show_config_reports_backends(capsys):
    import fastgmm

    fastgmm.show_config()
    out = capsys.readouterr().out
    assert "numba:" in out and "cython_backend:" in out
