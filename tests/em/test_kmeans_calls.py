"""The k-means in whole compiled calls (the norms, the mean, the k-means++
seeding loop, the Lloyd loop) against the NumPy path they replace: the same
bits, for every data type, weights, several chunks and partitions, threads,
empty clusters, on each backend; np.einsum's kernel as `fgk_einsum_dot`
reproduces it; and the Numba backend's k-means calls give the Cython
extension's bits (the same initialization on either backend)."""

import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from fastgmm import kernels
from fastgmm.em import kmeans as _kmeans
from fastgmm.kernels import _numba_kmeans

from ..helpers import BACKENDS


@pytest.fixture(params=BACKENDS)
def module(request):
    """A backend, whose k-means calls the tests make."""
    return kernels.get_backend(request.param)


@pytest.fixture
def variant(module):
    found = _kmeans.numpy_variant(module)
    assert found is not None, "no variant of fgk_einsum_dot gives this NumPy's einsum"
    return found


def _numpy_path(monkeypatch):
    monkeypatch.setattr(_kmeans, "numpy_variant", lambda backend=None: None)


def _data(rng, n, d, dtype=np.float64):
    X = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-3, 3)
    X += rng.uniform(-50, 50, size=d)
    return X.astype(dtype)


def test_einsum_dot_is_numpys(module, variant):
    rng = np.random.default_rng(1)
    for d in list(range(1, 70)) + [127, 128, 129, 1000, 8192]:
        a = rng.standard_normal((5, d)) * np.exp2(rng.integers(-30, 31, size=(5, d)))
        out = np.empty(5)
        module.einsum_dots(a, out, *variant)
        assert out.tobytes() == np.einsum("ij,ij->i", a, a).tobytes(), d
        b = rng.standard_normal(d)
        assert module.einsum_dot(a[0], b, *variant) == np.einsum("i,i->", a[0], b)


def test_another_variant_differs(module, variant):
    # the run-time choice is a real one: the other lane counts round otherwise
    rng = np.random.default_rng(2)
    a = rng.standard_normal((50, 33)) * np.exp2(rng.integers(-30, 31, size=(50, 33)))
    expected = np.einsum("ij,ij->i", a, a)
    out = np.empty(50)
    for other in _kmeans._EINSUM_VARIANTS:
        if other != variant:
            module.einsum_dots(a, out, *other)
            assert not np.array_equal(out, expected), other


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [1, 2, 5, 16])
def test_norms_are_the_numpy_paths(monkeypatch, module, variant, dtype, d):
    monkeypatch.setattr(_kmeans, "_CHUNK_ROWS", 97)  # several chunks
    rng = np.random.default_rng(d)
    X = _data(rng, 1000, d, dtype)
    X[rng.random(X.shape) < 0.05] = np.nan
    rows = _kmeans._Rows(X, None, np.nanmean(X, axis=0, dtype=np.float64), 2,
                         missing=True, backend=module)
    norms, squares = rows.squared_norms()
    _numpy_path(monkeypatch)
    ref_norms, ref_squares = rows.squared_norms()
    assert norms.tobytes() == ref_norms.tobytes()
    assert squares.tobytes() == ref_squares.tobytes()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_column_mean_is_numpys(module, variant, dtype):
    rng = np.random.default_rng(3)
    for n, d in [(1, 2), (2, 3), (1797, 16), (70000, 5), (10, 40)]:
        X = _data(rng, n, d, dtype) * np.exp2(rng.integers(-8, 9, size=(n, 1)))
        expected = X.mean(axis=0, dtype=np.float64)
        assert _kmeans.column_mean(X, module).tobytes() == expected.tobytes(), (n, d)
    # one feature (a pairwise sum) and a strided X take NumPy's own mean
    X = _data(rng, 3000, 4, dtype)
    for a in (X[:, :1], X[:, ::2]):
        assert _kmeans.column_mean(a, module).tobytes() == a.mean(
            axis=0, dtype=np.float64).tobytes()


def _both(monkeypatch, X, w, k, seed, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        compiled = _kmeans.kmeans(X, w, k, np.random.RandomState(seed), **kwargs)
        with monkeypatch.context() as m:
            _numpy_path(m)
            numpy = _kmeans.kmeans(X, w, k, np.random.RandomState(seed), **kwargs)
    return compiled, numpy


def _assert_same(a, b):
    assert a.labels.tobytes() == b.labels.tobytes()
    assert a.centers.tobytes() == b.centers.tobytes()
    assert a.n_iter == b.n_iter


@pytest.mark.parametrize("case", range(24))
def test_kmeans_is_the_numpy_paths(monkeypatch, module, variant, case):
    rng = np.random.default_rng(100 + case)
    n, d = int(rng.integers(20, 3000)), int(rng.integers(1, 20))
    k = min(int(rng.integers(1, 12)), n)
    X = _data(rng, n, d, np.float32 if case % 3 == 1 else np.float64)
    w = rng.uniform(0.1, 3, size=n) if case % 4 == 2 else None
    _assert_same(*_both(monkeypatch, X, w, k, case, backend=module))


def test_kmeans_on_several_partitions_and_threads(monkeypatch, module, variant):
    # (on Numba with two threads, the per-round path on the threaded passes;
    # with one, the loops in one call: the same bits)
    rng = np.random.default_rng(5)
    X = _data(rng, 300_000, 6)
    w = rng.uniform(0.5, 2, X.shape[0])
    one, numpy = _both(monkeypatch, X, w, 9, 0, n_threads=1, backend=module)
    two, _ = _both(monkeypatch, X, w, 9, 0, n_threads=2, backend=module)
    assert _kmeans._Rows(X, w, np.zeros(6), backend=module).n_parts > 1
    _assert_same(one, numpy)
    _assert_same(two, numpy)


@pytest.mark.parametrize("seed", range(12))
def test_empty_clusters_hand_over_to_numpy(monkeypatch, module, variant, seed):
    # few distinct points: a Lloyd pass empties a cluster, the compiled loop
    # stops there and the NumPy path relocates and goes on
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((int(rng.integers(3, 7)), 3))
    X = base[rng.integers(0, len(base), size=200)]
    X += rng.standard_normal(X.shape) * 1e-3 * (seed % 2)
    compiled, numpy = _both(monkeypatch, X, None, 8, seed, backend=module)
    _assert_same(compiled, numpy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = KMeans(8, n_init=1, random_state=seed).fit(X)
    np.testing.assert_array_equal(compiled.labels, ref.labels_)
    assert compiled.n_iter == ref.n_iter_


def test_missing_values_filled(monkeypatch, module, variant):
    rng = np.random.default_rng(6)
    X = _data(rng, 2000, 5)
    X[rng.random(X.shape) < 0.1] = np.nan
    fill = np.nanmean(X, axis=0)
    _assert_same(*_both(monkeypatch, X, None, 6, 1, fill=fill, backend=module))


@pytest.mark.parametrize("weighted", [False, True])
def test_plusplus_seeds_are_the_numpy_paths(monkeypatch, module, variant, weighted):
    rng = np.random.default_rng(7)
    for trial in range(10):
        n, d = int(rng.integers(20, 3000)), int(rng.integers(1, 12))
        X = _data(rng, n, d)
        w = rng.uniform(0.1, 2, n) if weighted else None
        k = int(rng.integers(1, 12))
        seeds = _kmeans.plusplus_indices(X, w, k, np.random.RandomState(trial),
                                         backend=module)
        with monkeypatch.context() as m:
            _numpy_path(m)
            ref = _kmeans.plusplus_indices(X, w, k, np.random.RandomState(trial),
                                           backend=module)
        np.testing.assert_array_equal(seeds, ref)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kept_distances_are_a_second_passs(monkeypatch, module, dtype):
    # kpp_loop keeping its candidates' distances (one read of X a round)
    # gives the seeds of the loop that reads X again for the chosen one's, on
    # 1-4 partitions and 1-2 threads, weighted or not, missing values or not
    rng = np.random.default_rng(70)
    for trial in range(16):
        n, d = int(rng.integers(20, 4000)), int(rng.integers(1, 20))
        X = _data(rng, n, d, dtype)
        if trial % 4 == 3:
            X[rng.random(X.shape) < 0.05] = np.nan
        w = rng.uniform(0.1, 2, n) if trial % 2 else np.zeros(0)
        offset = np.nan_to_num(np.nanmean(X, axis=0, dtype=np.float64))
        xc = np.nan_to_num(X.astype(np.float64) - offset)
        xsq = np.einsum("ij,ij->i", xc, xc)
        K = int(rng.integers(2, 14))
        draws = rng.random((K - 1, 2 + int(np.log(K))))
        bounds = _bounds(n, int(rng.integers(1, 5)))
        seeds = []
        for rows in (draws.shape[1], 0):
            s = np.full(K, -1, np.intp)
            s[0] = int(rng.integers(n)) if rows else seeds[0][0]
            module.kpp_loop(X, offset, xsq, w, bounds, draws, s, np.empty(n),
                            np.empty((rows, n)), 1 + trial % 2)
            seeds.append(s)
        np.testing.assert_array_equal(seeds[0], seeds[1])


def test_whole_call_kernels_check_shapes(module):
    module = module.drivers
    X = np.zeros((10, 3))
    bounds = np.array([0, 10], dtype=np.intp)
    with pytest.raises(ValueError, match="kernel"):
        module.kmeans_norms(X, np.zeros(3), np.zeros(9), np.zeros(3), 4, 2, 0, 1)
    with pytest.raises(ValueError, match="kernel"):
        module.kmeans_norms(X, np.zeros(2), np.zeros(10), np.zeros(3), 4, 2, 0, 1)
    with pytest.raises(ValueError, match="kernel"):
        module.column_mean(X, np.zeros(2))
    with pytest.raises(ValueError, match="kernel"):
        module.column_mean(X[:, :1].copy(), np.zeros(1))
    with pytest.raises(ValueError, match="kernel"):
        module.einsum_dot(np.zeros(3), np.zeros(2), 2, 0)
    indices = np.zeros(3, dtype=np.intp)
    ok = (X, np.zeros(3), np.zeros(10), np.empty(0), bounds, np.zeros((2, 2)), indices,
          np.zeros(10), np.zeros((2, 10)), 1)
    module.kpp_loop(*ok)
    bad = {2: np.zeros(9), 3: np.zeros(4), 4: np.array([0, 9], dtype=np.intp),
           5: np.zeros((1, 2)), 7: np.zeros(3), 8: np.zeros((1, 10)),
           9: 0}
    for i, value in bad.items():
        args = list(ok)
        args[i] = value
        with pytest.raises(ValueError, match="kernel"):
            module.kpp_loop(*args)
    with pytest.raises(ValueError, match="first centre"):
        module.kpp_loop(*ok[:6], np.full(3, 10, dtype=np.intp), *ok[7:])
    labels = np.zeros(10, dtype=np.intp)
    sums, counts = np.zeros((1, 6)), np.zeros((1, 2))
    changed = np.zeros(1, dtype=np.intp)
    ok = (X, np.zeros(3), np.zeros(6), np.empty(0), bounds, labels, sums, counts,
          changed, 10, 0.0, 2, 0, 1)
    module.lloyd_loop(*ok)
    bad = {2: np.zeros(5), 5: np.zeros(9, dtype=np.intp), 6: np.zeros((1, 3)),
           7: np.zeros((2, 2)), 9: 0}
    for i, value in bad.items():
        args = list(ok)
        args[i] = value
        with pytest.raises(ValueError, match="kernel"):
            module.lloyd_loop(*args)


# --- the Numba backend's calls give the extension's bits --------------------------------

needs_both = pytest.mark.skipif(
    "cython" not in BACKENDS, reason="compares the Numba calls with the extension's")


@pytest.fixture
def both():
    """(Cython's, Numba's) backend; skipped unless Numba follows the
    arithmetic of the extension's build this process loads (a -march=native
    build is not probed)."""
    cython = kernels.get_backend("cython")
    if cython.drivers.CPU_VARIANT not in _numba_kmeans._BUILDS:
        pytest.skip(f"the extension's {cython.drivers.CPU_VARIANT} build is not probed")
    return cython, kernels.get_backend("numba")


def _bounds(n, parts):
    return np.linspace(0, n, parts + 1).astype(np.intp)


@needs_both
@pytest.mark.parametrize("case", range(30))
def test_numba_passes_give_the_extensions_bits(both, case):
    # each pass of the k-means, with weights, float32, missing entries,
    # several partitions, and 1 to 13 candidates (the extension's build adds
    # the 16 lanes of a candidate's potential in one order for the candidates
    # its vector loop takes and in another for the rest)
    rng = np.random.default_rng(1000 + case)
    n, d = int(rng.integers(1, 3000)), int(rng.integers(1, 20))
    X = _data(rng, n, d, np.float32 if case % 2 else np.float64)
    if case % 5 == 3:
        X[rng.random(X.shape) < 0.05] = np.nan
    w = rng.uniform(0.1, 3, n) if case % 3 == 1 else np.zeros(0)
    offset = rng.standard_normal(d) * 10
    parts = min(int(rng.integers(1, 5)), n)
    bounds = _bounds(n, parts)
    K, T = int(rng.integers(1, 12)), 1 + case % 13
    centers = rng.standard_normal(K * d) * np.nanstd(X)
    cn = np.einsum("ij,ij->i", centers.reshape(K, d), centers.reshape(K, d))
    cands = rng.standard_normal(T * d) * np.nanstd(X)
    cands_n = np.einsum("ij,ij->i", cands.reshape(T, d), cands.reshape(T, d))
    xsq = np.abs(rng.standard_normal(n)) * 100
    closest = np.abs(rng.standard_normal(n)) * 1e3
    labels = rng.integers(-1, K, n).astype(np.intp)
    fill = np.nanmean(X, axis=0, dtype=np.float64) if case % 5 == 3 else None
    outs = []
    for backend in both:
        out = {"labels": np.full(n, -1, np.intp), "sums": np.empty((parts, K * d)),
               "counts": np.empty((parts, K)), "changed": np.empty(parts, np.intp),
               "closest": closest.copy(), "pots": np.empty((parts, T)),
               "closest1": closest.copy(), "pot1": np.empty((parts, 1)),
               "norms": np.empty(n), "squares": np.empty(d)}
        backend.kmeans_partitions(X, offset, centers, cn, w, bounds, out["labels"],
                                  out["sums"], out["counts"], out["changed"], True, 2)
        backend.kpp_partitions(X, offset, xsq, cands, cands_n, out["closest"], w,
                               bounds, out["pots"], False, 2)
        backend.kpp_partitions(X, offset, xsq, cands[:d], cands_n[:1], out["closest1"],
                               w, bounds, out["pot1"], True, 2)
        backend.kmeans_norms(X, offset, out["norms"], out["squares"], 97,
                             *_kmeans.numpy_variant(backend), 2)
        for kind in (-1, 0, 1, 2):
            size = {0: K * d * d, 1: d * d, 2: K * d, -1: 1}[kind]
            stats = [np.empty((parts, K)), np.empty((parts, K * d)),
                     np.empty((parts, size))]
            backend.labelled_partitions(X, w, labels, centers, bounds, *stats, kind, 2,
                                        fill)
            out.update({f"labelled{kind}_{i}": a for i, a in enumerate(stats)})
        outs.append(out)
    for name, a in outs[0].items():
        assert a.tobytes() == outs[1][name].tobytes(), name


@needs_both
@pytest.mark.parametrize("case", range(12))
def test_numba_loops_give_the_extensions_bits(both, case):
    rng = np.random.default_rng(2000 + case)
    n, d = int(rng.integers(20, 3000)), int(rng.integers(1, 16))
    X = _data(rng, n, d, np.float32 if case % 2 else np.float64)
    w = rng.uniform(0.1, 3, n) if case % 3 == 1 else np.zeros(0)
    offset = np.asarray(X.mean(axis=0), dtype=np.float64)
    parts = int(rng.integers(1, 4))
    bounds = _bounds(n, parts)
    K = int(rng.integers(2, 12))
    xc = X.astype(np.float64) - offset
    xsq = np.einsum("ij,ij->i", xc, xc)
    draws = rng.random((K - 1, 2 + int(np.log(K))))
    first = int(rng.integers(n))
    centers = xc[rng.choice(n, K, replace=False)].ravel()
    outs = []
    for backend in both:
        seeds = np.full(K, -1, np.intp)
        seeds[0] = first
        backend.kpp_loop(X, offset, xsq, w, bounds, draws, seeds, np.empty(n),
                         np.empty((draws.shape[1] if case % 4 else 0, n)), 1)
        c = centers.copy()
        labels = np.full(n, -1, np.intp)
        sums, counts = np.empty((parts, K * d)), np.empty((parts, K))
        changed = np.empty(parts, np.intp)
        stopped = backend.lloyd_loop(X, offset, c, w, bounds, labels, sums, counts,
                                     changed, 100, 1e-12, *_kmeans.numpy_variant(backend),
                                     1)
        outs.append((seeds, c, labels, sums, counts, np.array(stopped)))
    for a, b in zip(*outs):
        assert a.tobytes() == b.tobytes()


@needs_both
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
def test_the_initialization_is_the_same_on_both_backends(both, init_params):
    from fastgmm.em.init import initial_parameters

    rng = np.random.default_rng(8)
    X = _data(rng, 2500, 4)
    w = rng.uniform(0.2, 2, X.shape[0])
    for covariance_type in ("full", "tied", "diag", "spherical"):
        got = [initial_parameters(X, w, 5, covariance_type, init_params,
                                  np.random.RandomState(0), 1e-6, backend=b)
               for b in both]
        for a, b in zip(*got):
            assert a.tobytes() == b.tobytes()


def test_the_numba_calls_follow_the_build_this_process_loads(monkeypatch):
    # FASTGMM_CPU_VARIANT picks the extension's build, and with it the
    # arithmetic the Numba calls follow (its multiply-adds, its lane sums)
    from fastgmm.kernels import _dispatch

    features = _dispatch.cpu_features()
    for name, build in _numba_kmeans._BUILDS.items():
        variant = _dispatch.by_name(name)
        if (_dispatch.missing_features(variant, features)
                or variant not in _dispatch.installed()):
            continue  # (the CPU lacks it: the build the CPU takes instead)
        monkeypatch.setenv("FASTGMM_CPU_VARIANT", name)
        assert _numba_kmeans.extension_build() == build
