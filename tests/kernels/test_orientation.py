"""EVE's and VVE's common orientation, a driver of the kernel contract
(``common_orientation``): the same bits on both backends and on every
Cython variant this CPU runs, its arguments checked, and `em.parsimonious`
running it on the backend it is handed."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastgmm import kernels
from fastgmm.em import parsimonious as pm
from fastgmm.kernels import _dispatch

from ..helpers import BACKENDS

needs_both = pytest.mark.skipif(len(BACKENDS) < 2, reason="needs both backends")


def _problem(rng, k, d, kind):
    """Weights (k,), matrices S (k, d, d) and a start D (d, d)."""
    w = rng.dirichlet(np.ones(k))
    A = rng.normal(size=(k, d, d)) * 10.0 ** rng.uniform(-3, 3, (k, 1, 1))
    S = A @ np.swapaxes(A, 1, 2) + 0.1 * np.eye(d)
    if kind == "diagonal":  # off-diagonals exactly 0 (and -0 in one): B = +-0
        S = S * np.eye(d)
        S[0][~np.eye(d, dtype=bool)] = -0.0
    D = np.linalg.qr(rng.normal(size=(d, d)))[0] if kind == "rotated" else np.eye(d)
    return w, S, np.ascontiguousarray(D)


def _cython_variants():
    """The `common_orientation` of each Cython variant this CPU runs."""
    here = _dispatch.cpu_features()
    found = {}
    for variant in _dispatch.installed():
        if not _dispatch.missing_features(variant, here):
            module = __import__(f"fastgmm.kernels.{variant.module}._mstep",
                                fromlist=["common_orientation"])
            found[variant.name] = module.common_orientation
    return found


@needs_both
@pytest.mark.parametrize("equal_volume", [True, False])
def test_the_same_bits_on_both_backends_and_every_variant(equal_volume):
    drivers = {"cython": kernels.get_backend("cython").common_orientation}
    drivers.update(_cython_variants())
    numba = kernels.get_backend("numba").common_orientation
    rng = np.random.default_rng(0)
    for k, d in [(1, 1), (1, 2), (2, 2), (3, 3), (4, 5), (2, 8), (6, 7), (3, 12)]:
        for kind in ("identity", "rotated", "diagonal"):
            for max_sweeps in (1, 3, 2000):
                w, S, D0 = _problem(rng, k, d, kind)
                D = D0.copy()
                sweeps = numba(w, S, D, equal_volume, max_sweeps, 1e-14)
                assert 1 <= sweeps <= max_sweeps
                for name, driver in drivers.items():
                    E = D0.copy()
                    assert driver(w, S, E, equal_volume, max_sweeps, 1e-14) == sweeps, name
                    assert E.tobytes() == D.tobytes(), (name, k, d, kind, max_sweeps)
                assert_allclose(D @ D.T, np.eye(d), atol=1e-12)  # still a rotation


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_orientation_checks_its_arguments(backend):
    common_orientation = kernels.get_backend(backend).common_orientation
    rng = np.random.default_rng(1)
    w, S, D0 = _problem(rng, 3, 3, "rotated")
    read_only = np.eye(3)
    read_only.setflags(write=False)
    wrong = [(w[:2], S, np.eye(3)), (w, S[:, :2], np.eye(3)), (w, S, np.eye(4)),
             (w, S[0], np.eye(3)), (w[:, None], S, np.eye(3)), (w, S, np.eye(3)[0]),
             (w, S.astype(np.float32), np.eye(3)), (list(w), S, np.eye(3)),
             (w, S, np.eye(3, dtype=np.float32)), (w, S, np.asfortranarray(D0)),
             (w, S, read_only), (w[:0], S[:0], np.eye(3)),
             (w, np.zeros((3, 0, 0)), np.zeros((0, 0)))]
    for args in wrong:
        with pytest.raises(ValueError, match="common_orientation"):
            common_orientation(*args, True, 10, 1e-14)
    D = D0.copy()
    assert common_orientation(w, S, D, False, 10, 1e-14) >= 1
    assert_allclose(D @ D.T, np.eye(3), atol=1e-12)  # still a rotation
    # non-contiguous w and S are read as they are
    E = D0.copy()
    common_orientation(np.repeat(w, 2)[::2], np.repeat(S, 2, axis=0)[::2], E, False, 10,
                       1e-14)
    assert E.tobytes() == D.tobytes()


class _Spy:
    """A backend that records its `common_orientation` calls."""

    def __init__(self, backend):
        self.backend, self.calls = backend, 0

    def common_orientation(self, *args):
        self.calls += 1
        return self.backend.common_orientation(*args)


@pytest.mark.parametrize("model", ["EVE", "VVE"])
def test_the_m_step_runs_on_the_backend_it_is_handed(model, monkeypatch):
    rng = np.random.default_rng(2)
    w, S, _ = _problem(rng, 3, 4, "rotated")
    spies = {name: _Spy(kernels.get_backend(name)) for name in BACKENDS}
    got = {name: pm.constrain(w, S, model, backend=spy) for name, spy in spies.items()}
    assert all(spy.calls == 1 for spy in spies.values())
    assert len({g.tobytes() for g in got.values()}) == 1  # the same bits
    # without one: kernels.get_backend('auto')
    auto = _Spy(kernels.get_backend("auto"))
    monkeypatch.setattr(kernels, "get_backend", lambda name: auto if name == "auto" else None)
    assert pm.constrain(w, S, model).tobytes() == got[BACKENDS[0]].tobytes()
    assert auto.calls == 1
