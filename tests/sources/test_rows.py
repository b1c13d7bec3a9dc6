"""Where a fit's rows come from (`fastgmm.sources.rows`): which inputs are
read by windows, the checks of X and of sample weights, and rows taken by
index from memory and from windows alike."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm.sources import rows

from ..helpers import ArrayLike


def test_which_inputs_are_read_by_windows(tmp_path):
    X = np.arange(12.0).reshape(6, 2)
    np.save(tmp_path / "X.npy", X)
    assert rows.is_windowed(np.load(tmp_path / "X.npy", mmap_mode="r"))
    assert rows.is_windowed(ArrayLike(X))
    assert not rows.is_windowed(X)
    assert not rows.is_windowed(X.tolist())
    pd = pytest.importorskip("pandas")
    assert not rows.is_windowed(pd.DataFrame(X))


def test_shape_errors_are_scikit_learns():
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        rows.check_shape((5,), 1)
    with pytest.raises(ValueError, match="Found array with dim 3"):
        rows.check_shape((2, 2, 2), 1)
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        rows.check_shape((1, 3), 2)
    with pytest.raises(ValueError, match="0 feature"):
        rows.check_shape((4, 0), 1)


def test_a_non_finite_value_is_named_by_its_row():
    window = np.zeros((5, 2))
    window[3, 1] = np.inf
    with pytest.raises(ValueError, match=r"infinity .*\(row 13\)") as info:
        rows.check_finite(window, first_row=10)
    assert info.value.row == 13
    window[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN \(row 3\)"):
        rows.check_finite(window)


def test_sample_weights_scaled_to_mean_one_over_the_weighted_rows():
    w = rows.check_sample_weight([0.0, 2.0, 4.0, 6.0], 4, 2)
    assert_allclose(w, [0.0, 0.5, 1.0, 1.5])
    assert_allclose(rows.check_sample_weight(3.0, 3, 1), [1.0, 1.0, 1.0])
    given = np.array([0.0, 2.0, 4.0])
    kept = rows.check_sample_weight(given, 3, 2, scaled=False)
    assert_array_equal(kept, given)
    assert kept is not given
    for bad, match in (([1.0, -1.0, 1.0], "Negative"), ([0.0, 0.0, 0.0], "non-zero"),
                       ([1.0, np.nan, 1.0], "NaN"), ([1.0, 0.0, 0.0], "at least"),
                       ([1.0, 1.0], "expected")):
        with pytest.raises(ValueError, match=match):
            rows.check_sample_weight(bad, 3, 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16])
def test_windowed_rows_give_the_rows_in_memory(dtype):
    X = (np.random.RandomState(79).rand(1000, 3) * 100).astype(dtype)
    source = ArrayLike(X)
    windowed = rows.WindowedRows(source, window_bytes=3 * 8 * 64)
    assert windowed.dtype == (np.float32 if dtype == np.float32 else np.float64)
    assert windowed.window_rows == (64 if dtype != np.float32 else 128)
    indices = np.array([0, 5, 63, 64, 500, 999])
    assert_array_equal(windowed.rows(indices), X[indices].astype(windowed.dtype))
    assert_array_equal(windowed.rows(), X.astype(windowed.dtype))
    assert all(stop - start <= windowed.window_rows for start, stop in source.reads)
    memory = rows.InMemoryRows(np.ascontiguousarray(X, dtype=windowed.dtype))
    taken, w = memory.take(indices, np.arange(1000.0))
    assert_array_equal(taken, X[indices].astype(windowed.dtype))
    assert_array_equal(w, indices.astype(float))
