"""The comparison tool (``benchmarks/harness.py``) runs and reports every
fitter (no timing is asserted)."""

import os

import numpy as np
import pytest

from ..helpers import benchmark_script

_bench = benchmark_script("harness")


@pytest.fixture(autouse=True)
def small_peak_product(monkeypatch):
    """The runs below measure the machine's peak on a small product (the
    3000 x 3000 default takes seconds and is not what they test)."""
    measure = _bench.measure_peak_gflops
    monkeypatch.setattr(_bench, "measure_peak_gflops", lambda dtype, **kw: measure(
        dtype, **{"size": 400, "repeats": 1, **kw}))


@pytest.fixture(autouse=True)
def no_collection_before_timings(monkeypatch):
    """The harness collects garbage before each timed fit; in a test process
    holding many objects that costs more than the fits (nothing here reads
    the times)."""
    monkeypatch.setattr(_bench.gc, "collect", lambda *args: 0)


def test_bench_table_small():
    lines = []
    _bench.run(grid=[(2000, 2, 2, "full"), (2000, 3, 2, "diag")],
               dtypes=("float64",), max_iter=3, repeats=1, log=lines.append)
    assert lines[0].startswith("Machine:") and "GFLOP/s" in lines[0]
    rows = [line for line in lines if line.startswith("| 2,000")]
    fitters = {row.split("|")[2].strip() for row in rows}
    assert {"scikit-learn", "fastgmm-numba", "reference (naive)"} <= fitters
    for row in rows:
        cells = [c.strip() for c in row.split("|")[1:-1]]
        if cells[1] == "fastgmm-numba":
            assert float(cells[2]) > 0          # ms per iteration
            assert cells[3].endswith("x")       # speed-up over scikit-learn
            assert float(cells[7]) < 1e-8       # same lower bound as sklearn


def test_flop_counts_and_peak():
    assert _bench.flops_per_iteration(10, 4, 3, "full") == 2 * 10 * 3 * 16
    assert _bench.measure_peak_gflops(np.float64, size=200, repeats=1) > 0


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_peak_rss_sees_an_allocation():
    with _bench.PeakRSS() as mem:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        block.sum()
    del block
    assert mem.extra > 32 * 2**20


def test_a_failing_fitter_is_reported_and_the_run_goes_on():
    def refuses_large(X, init, covariance_type, max_iter):
        if len(X) > 2000:  # the warm-up fits 2000 rows; the timed fits all
            raise RuntimeError("Ill-conditioned covariance matrix\nDetails: ...")
        return [0.0] * max_iter, None

    fitters = [_bench.Fitter("refuses", refuses_large), _bench._sklearn_fitter()]
    _, results = _bench.run_workload(3000, 2, 2, "full", "float64", fitters,
                                     max_iter=3, repeats=2)
    assert results["refuses"].error == (
        "failed: RuntimeError: Ill-conditioned covariance matrix"
    )
    assert len(results["scikit-learn"].per_iteration) == 2
    rows = _bench.format_rows((3000, 2, 2, "full", "float64"), results, peak=1.0)
    assert any("| refuses | failed: RuntimeError" in row for row in rows)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_peak_anonymous_memory_sees_an_allocation_not_a_mapped_file(tmp_path):
    with _bench.PeakAnon() as mem:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        block.sum()
    del block
    assert mem.extra > 32 * 2**20
    path = tmp_path / "X.npy"
    np.save(path, np.ones(64 * 2**20 // 8))
    with _bench.PeakAnon() as mem:
        _bench._read_through(np.load(path, mmap_mode="r"))  # the file's pages
    assert mem.extra < 16 * 2**20


def test_bench_out_of_core_cell_small(tmp_path):
    lines = []
    _bench.run(memmap=3000, grid=[(None, 2, 2, "diag")], dtypes=("float64",),
               backends=("numba",), max_iter=3, repeats=1, directory=tmp_path,
               log=lines.append)
    assert lines[0].startswith("Machine:") and "memory-mapped" in lines[0]
    assert lines[2] == _bench.MEMMAP_HEADER
    (row,) = [line for line in lines if line.startswith("| 3,000")]
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[0] == "3,000 x 2, k=2, diag, float64, .npy memmap"
    assert cells[1] == "fastgmm-numba"
    assert float(cells[2]) > 0 and float(cells[3]) > 0  # ms per iteration
    assert cells[4].endswith("x")                       # memmap / in memory
    assert cells[5].isdigit() and cells[6].isdigit()    # MiB beyond X
    assert float(cells[7]) == 0.0                       # the same fit, bit for bit
    assert os.listdir(tmp_path) == []                   # its file is removed


def test_bench_bayesian_rows_small():
    lines = []
    _bench.run(grid=[(3000, 2, 3, "full")], dtypes=("float64",), max_iter=3,
               repeats=1, bayesian=True, backends=("numba",), log=lines.append)
    rows = [line for line in lines if line.startswith("| 3,000")]
    cells = {row.split("|")[2].strip(): [c.strip() for c in row.split("|")[1:-1]]
             for row in rows}
    assert set(cells) == {"fastgmm-bayesian-numba", "scikit-learn-bayesian"}
    ours = cells["fastgmm-bayesian-numba"]
    assert float(ours[2]) > 0 and ours[3].endswith("x")
    assert float(ours[7]) < 1e-6 * 3000   # the same ELBO as scikit-learn's
    assert ours[8].endswith("x")          # predict_proba against scikit-learn's


def test_the_command_line_filters_the_grid(monkeypatch):
    runs = []
    monkeypatch.setattr(_bench, "run", lambda **kwargs: runs.append(kwargs))
    assert _bench.main(["--quick", "--d", "2", "--covariance", "full", "--dtype",
                        "float64", "--backend", "numba"]) == 0
    (kwargs,) = runs
    assert kwargs["grid"] and all(d == 2 and ct == "full"
                                  for _, d, _, ct in kwargs["grid"])
    assert kwargs["dtypes"] == ["float64"] and kwargs["backends"] == ["numba"]
    with pytest.raises(SystemExit, match="no workload matches"):
        _bench.main(["--d", "99999"])
