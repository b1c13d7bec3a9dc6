"""The whole-fit comparison (``benchmarks/whole_fits.py``) runs and reports
the same solutions as scikit-learn's (no timing is asserted)."""

from ..helpers import benchmark_script


def test_whole_fits_quick(capsys):
    benchmark_script("whole_fits").main(["--quick", "--repeats", "1"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| digits PCA-16, k=10,")
            and line.split("|")[2].strip().endswith((" s", " ms"))]
    assert len(rows) == 4  # the four covariance types
    assert all(row.split("|")[6].strip() == "yes" for row in rows)  # same labels
    per_iteration = [line for line in out.splitlines()
                     if line.startswith("| ") and line.split("|")[2].strip().endswith(" us")]
    assert len(per_iteration) == 5  # digits full/diag/spherical, iris, wine
    search = [line for line in out.splitlines() if "k=1..10, 4 types" in line]
    assert len(search) == 1 and "| yes (" in search[0]  # the same best model
