"""The command line, run as a user runs it: in a subprocess."""

import subprocess
import sys


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "fastgmm", *args], capture_output=True, text=True,
        timeout=600,
    )


def test_demo_small():
    result = run_cli("demo", "--n-samples", "5000", "--n-components", "3",
                     "--n-features", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "fastgmm:" in out and "scikit-learn:" in out and "faster" in out
    assert out.count("weight ") == 3
    assert "Traceback" not in result.stderr


def test_demo_without_sklearn_comparison_float32():
    result = run_cli("demo", "--n-samples", "3000", "--n-components", "2",
                     "--dtype", "float32", "--covariance-type", "diag", "--no-sklearn")
    assert result.returncode == 0, result.stderr
    assert "scikit-learn:" not in result.stdout


def test_unknown_command_fails_cleanly():
    result = run_cli("frobnicate")
    assert result.returncode != 0
    assert "invalid choice" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_in_process(capsys):
    from fastgmm.__main__ import main

    assert main(["demo", "--n-samples", "2000", "--n-components", "2",
                 "--n-features", "6", "--backend", "numba"]) == 0
    out = capsys.readouterr().out
    assert "lower bounds differ by" in out and ", ...]" in out


def test_show_config_reports_backends(capsys):
    import fastgmm

    fastgmm.show_config()
    out = capsys.readouterr().out
    assert "numba:" in out and "cython_backend:" in out
