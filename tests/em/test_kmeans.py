"""The compiled k-means of the 'kmeans' and 'k-means++' initializations, on
each backend, against scikit-learn's KMeans and kmeans_plusplus (labels,
centres, n_iter, seeds), and its own rules: thread-count independence, shape
checks."""

import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.datasets import load_digits, load_iris, load_wine, make_blobs
from sklearn.exceptions import ConvergenceWarning

from fastgmm import kernels
from fastgmm.em import kmeans as _kmeans

from ..helpers import BACKENDS


@pytest.fixture(params=BACKENDS)
def on(request):
    """The keyword arguments of a k-means call on one backend."""
    return {"backend": kernels.get_backend(request.param)}


def _datasets():
    yield "iris", load_iris().data
    yield "wine", load_wine().data
    yield "digits", load_digits().data
    for seed, std in ((0, 1.0), (1, 3.0)):
        X, _ = make_blobs(3000, 5, centers=7, cluster_std=std, random_state=seed)
        yield f"blobs{seed}", X
    yield "far", make_blobs(2000, 3, centers=4, random_state=2)[0] + 1e4


DATASETS = dict(_datasets())


def _sklearn(X, k, seed, w=None):
    return KMeans(n_clusters=k, n_init=1, random_state=seed).fit(X, sample_weight=w)


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("k", [1, 2, 5, 9])
def test_kmeans_equals_sklearn(name, k, on):
    X = DATASETS[name]
    for seed in range(4):
        ref = _sklearn(X, k, seed)
        out = _kmeans.kmeans(X, None, k, np.random.RandomState(seed), **on)
        np.testing.assert_array_equal(out.labels, ref.labels_)
        assert out.n_iter == ref.n_iter_
        scale = np.abs(X).max()
        np.testing.assert_allclose(out.centers, ref.cluster_centers_, rtol=0,
                                   atol=1e-12 * scale)


def test_kmeans_leaves_the_generator_where_sklearn_does(on):
    X = DATASETS["wine"]
    a, b = np.random.RandomState(3), np.random.RandomState(3)
    _kmeans.kmeans(X, None, 4, a, **on)
    KMeans(n_clusters=4, n_init=1, random_state=b).fit(X)
    assert a.randint(1 << 30) == b.randint(1 << 30)


@pytest.mark.parametrize("name", ["iris", "blobs1", "digits"])
def test_weighted_kmeans_equals_sklearn(name, on):
    X = DATASETS[name]
    w = np.random.RandomState(0).uniform(0.2, 3.0, X.shape[0])
    for seed in range(3):
        ref = _sklearn(X, 6, seed, w)
        out = _kmeans.kmeans(X, w, 6, np.random.RandomState(seed), **on)
        np.testing.assert_array_equal(out.labels, ref.labels_)
        assert out.n_iter == ref.n_iter_


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", ["iris", "digits", "blobs0", "far"])
def test_plusplus_seeds_equal_sklearn(name, weighted, on):
    X = DATASETS[name]
    w = np.random.RandomState(1).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    for k in (1, 3, 8, 20):
        for seed in range(3):
            _, ref = kmeans_plusplus(X, k, sample_weight=w, random_state=seed)
            out = _kmeans.plusplus_indices(X, w, k, np.random.RandomState(seed), **on)
            np.testing.assert_array_equal(out, ref)


def test_float32_is_clustered_as_its_float64_values(on):
    X = DATASETS["blobs1"].astype(np.float32)
    for seed in range(3):
        ref = _sklearn(X.astype(np.float64), 5, seed)
        out = _kmeans.kmeans(X, None, 5, np.random.RandomState(seed), **on)
        np.testing.assert_array_equal(out.labels, ref.labels_)


def test_empty_clusters_are_relocated_as_sklearn_does(on):
    # 6 distinct points, some repeated, for 5 clusters: Lloyd empties some
    rng = np.random.RandomState(0)
    base = rng.normal(size=(6, 2)) * [1, 10]
    X = base[rng.randint(0, 6, 60)]
    for seed in range(10):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ref = _sklearn(X, 5, seed)
            out = _kmeans.kmeans(X, None, 5, np.random.RandomState(seed), **on)
        np.testing.assert_array_equal(out.labels, ref.labels_)
        assert out.n_iter == ref.n_iter_


def test_fewer_distinct_clusters_warns_as_sklearn(on):
    X = np.repeat(np.arange(3.0)[:, None], 10, axis=0)
    with pytest.warns(ConvergenceWarning, match="Number of distinct clusters"):
        _kmeans.kmeans(X, None, 5, np.random.RandomState(0), **on)


def test_same_bits_for_any_number_of_threads(on):
    X, _ = make_blobs(40000, 6, centers=9, cluster_std=2.5, random_state=4)
    w = np.random.RandomState(4).uniform(0.5, 2, X.shape[0])
    one = _kmeans.kmeans(X, w, 9, np.random.RandomState(0), n_threads=1, **on)
    two = _kmeans.kmeans(X, w, 9, np.random.RandomState(0), n_threads=2, **on)
    np.testing.assert_array_equal(one.labels, two.labels)
    assert one.centers.tobytes() == two.centers.tobytes()
    assert one.n_iter == two.n_iter


def test_rows_read_in_place_and_unchanged(on):
    X = DATASETS["wine"].copy()
    before = X.copy()
    _kmeans.kmeans(X, None, 3, np.random.RandomState(0), **on)
    np.testing.assert_array_equal(X, before)


def test_too_few_samples(on):
    with pytest.raises(ValueError, match="should be >= n_clusters"):
        _kmeans.kmeans(np.zeros((2, 2)), None, 3, np.random.RandomState(0), **on)


@pytest.mark.parametrize("name", BACKENDS)
def test_kernels_check_shapes(name):
    module = kernels.get_backend(name)
    X = np.zeros((10, 3))
    bounds = np.array([0, 10], dtype=np.intp)
    labels = np.zeros(10, dtype=np.intp)
    sums, counts = np.zeros((1, 6)), np.zeros((1, 2))
    changed = np.zeros(1, dtype=np.intp)
    ok = (X, np.zeros(3), np.zeros(6), np.zeros(2), np.empty(0), bounds, labels, sums,
          counts, changed, True, 1)
    module.kmeans_partitions(*ok)
    bad = {1: np.zeros(2), 2: np.zeros(5), 5: np.array([0, 9], dtype=np.intp),
           6: np.zeros(9, dtype=np.intp), 7: np.zeros((2, 6)), 8: np.zeros((1, 3))}
    for i, value in bad.items():
        args = list(ok)
        args[i] = value
        with pytest.raises(ValueError, match="kernel"):
            module.kmeans_partitions(*args)
    closest, pots = np.zeros(10), np.zeros((1, 2))
    ok = (X, np.zeros(3), np.zeros(10), np.zeros(6), np.zeros(2), closest, np.empty(0),
          bounds, pots, False, 1)
    module.kpp_partitions(*ok)
    for i, value in {2: np.zeros(9), 5: np.zeros(3), 8: np.zeros((1, 3))}.items():
        args = list(ok)
        args[i] = value
        with pytest.raises(ValueError, match="kernel"):
            module.kpp_partitions(*args)
    with pytest.raises(ValueError, match="update takes one candidate"):
        module.kpp_partitions(*ok[:9], True, 1)
    with pytest.raises(ValueError, match="labels must be -1 or a component"):
        module.labelled_partitions(X, np.empty(0), np.full(10, 2, dtype=np.intp),
                                   np.zeros(6), bounds, np.zeros((1, 2)),
                                   np.zeros((1, 6)), np.zeros((1, 6)), 2, 1)


@pytest.mark.parametrize("n", [2 * 65536, 2 * 65536 + 1, 200_003, 5 * 65536 - 1])
def test_the_first_seed_is_choices_draw(n):
    # unweighted, the first k-means++ seed is drawn without arrays of n: the
    # same index as RandomState.choice(n, p=ones / n), and the generator left
    # in the same state
    class Rows:
        w = np.empty(0)

        def weight_array(self):
            return np.ones(n)

    rows = Rows()
    rows.n = n
    for seed in range(25):
        ours, theirs = np.random.RandomState(seed), np.random.RandomState(seed)
        assert _kmeans._first_centre(ours, rows) == theirs.choice(n, p=np.ones(n) / n)
        assert ours.random_sample() == theirs.random_sample()


def test_large_kmeans_equals_sklearn(on):
    # past two chunks of rows: the first seed's draw without arrays of n, the
    # seeding's kept distances over several partitions, Lloyd's partitions
    X, _ = make_blobs(140_000, 3, centers=6, cluster_std=2.0, random_state=5)
    for seed in range(2):
        ref = _sklearn(X, 6, seed)
        out = _kmeans.kmeans(X, None, 6, np.random.RandomState(seed), **on)
        np.testing.assert_array_equal(out.labels, ref.labels_)
        assert out.n_iter == ref.n_iter_
