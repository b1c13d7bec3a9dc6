"""Backend choice: 'auto', 'numba', 'cython', and a missing extension."""

import warnings

import numpy as np
import pytest

from fastgmm import GaussianMixture, kernels

from ..helpers import BACKENDS, make_blobs


def test_named_backends():
    assert kernels.get_backend("numba").name == "numba"
    if "cython" in BACKENDS:
        assert kernels.get_backend("cython").name == "cython"
    with pytest.raises(ValueError, match="backend must be one of"):
        kernels.get_backend("fortran")


@pytest.mark.skipif("cython" not in BACKENDS, reason="needs the built extension")
def test_auto_rule():
    big = kernels.AUTO_NUMBA_MIN_WORK
    assert kernels.get_backend("auto", 1000, 4, 3, "full").name == "cython"
    assert kernels.get_backend("auto", big, 9, 5, "diag").name == "numba"
    assert kernels.get_backend("auto", big, 9, 5, "spherical").name == "numba"
    # 'diag' with few components: Cython's row-major tiles
    assert kernels.get_backend("auto", big, 9, 4, "diag").name == "cython"
    assert kernels.get_backend("auto", big, 2, 3, "diag").name == "cython"
    assert kernels.get_backend("auto", big, 8, 3, "spherical").name == "cython"
    # 'full': Cython's copies per d, then its register-blocked tiles
    assert kernels.get_backend("auto", big, 2, 3, "full").name == "cython"
    assert kernels.get_backend("auto", big, 8, 3, "full").name == "cython"
    assert kernels.get_backend("auto", big, 9, 3, "full").name == "cython"
    assert kernels.get_backend("auto", big, 20, 3, "full").name == "cython"
    # the BLAS path of 'full' at many features is Cython's (trmm/syrk)
    assert kernels.get_backend("auto", big, 64, 3, "full").name == "cython"


def test_missing_extension(monkeypatch):
    def missing():
        raise ImportError("no module named fastgmm.kernels._cython")

    monkeypatch.setattr(kernels, "_load_cython", missing)
    monkeypatch.setattr(kernels, "_warned_fallback", False)
    assert not kernels.cython_available()
    with pytest.raises(ImportError, match="pip install -e"):
        kernels.get_backend("cython")
    X, _ = make_blobs(300, 2, 2, seed=0)
    with pytest.warns(RuntimeWarning, match="uses Numba"):
        fitted = GaussianMixture(2, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the warning comes once
        again = GaussianMixture(2, random_state=0).fit(X)
    np.testing.assert_array_equal(fitted.means_, again.means_)
    with pytest.raises(ImportError, match="Cython backend is not available"):
        GaussianMixture(2, backend="cython").fit(X)
