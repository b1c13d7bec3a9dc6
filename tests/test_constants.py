"""The shared names (`fastgmm._constants`): the dtype a fit reads its rows
in, decided as scikit-learn's ``check_array`` decides it, and the quick
look for non-finite values."""

import numpy as np
import pytest
from sklearn.utils import check_array

from fastgmm import GaussianMixture
from fastgmm._constants import FIT_DTYPES, fit_dtype, sum_is_finite

from .helpers import assert_same_model, make_blobs

NON_NATIVE = ">" if np.little_endian else "<"


@pytest.mark.parametrize("dtype", ["=f4", "=f8", NON_NATIVE + "f4", NON_NATIVE + "f8",
                                   "f2", "i1", "i8", "u2", "?"])
def test_fit_dtype_is_the_dtype_check_array_gives(dtype):
    # scikit-learn's rule, as its estimators apply it to X in memory: a dtype
    # in the list stays (compared with ==, so only in native byte order),
    # anything else becomes the first; big-endian float32 becomes float64
    X = np.arange(6).reshape(3, 2).astype(dtype)
    expected = check_array(X, dtype=[np.float64, np.float32]).dtype
    assert fit_dtype(dtype) == expected and fit_dtype(dtype).isnative
    assert check_array(X, dtype=FIT_DTYPES).dtype == expected
    assert fit_dtype(NON_NATIVE + "f4") == np.float64


def test_big_endian_float32_fits_as_float64_in_memory_by_windows_and_from_a_file(
        tmp_path):
    # the one decision (`fit_dtype`) seen from every door: in memory
    # (check_array), a memory map read by windows (`sources.rows`), and the
    # command line's .npy from standard input (`files.dataset`; a file is
    # handed on as its memory map)
    import io

    from fastgmm.files import dataset

    X, _ = make_blobs(500, 3, 2, seed=3)
    swapped = X.astype(NON_NATIVE + "f4")
    np.save(tmp_path / "X.npy", swapped)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    assert mapped.dtype == swapped.dtype
    as_float64 = swapped.astype(np.float64)
    expected = GaussianMixture(2, random_state=0).fit(as_float64)
    for data in (swapped, mapped):
        fitted = GaussianMixture(2, random_state=0).fit(data)
        assert fitted.means_.dtype == np.float64
        assert_same_model(fitted, expected)
    stdin = io.BytesIO((tmp_path / "X.npy").read_bytes())
    assert dataset._read_npy(stdin, "-", None).X.dtype == np.float64


def test_sum_is_finite():
    a = np.arange(12.0).reshape(4, 3)
    assert sum_is_finite(a) and sum_is_finite(a.astype(np.float32))
    for bad in (np.nan, np.inf, -np.inf):
        b = a.copy()
        b[2, 1] = bad
        assert not sum_is_finite(b)
    # finite entries whose sum overflows: False, so the caller looks closely
    big = np.full(4, np.finfo(np.float64).max)
    assert np.isfinite(big).all() and not sum_is_finite(big)
    # float32 values are summed in float64: no overflow at float32's maximum
    assert sum_is_finite(np.full(4, np.finfo(np.float32).max, dtype=np.float32))
