"""fastgmm.plot, rendered to PNG with the Agg backend."""

import sys

import numpy as np
import pytest

from fastgmm import GaussianMixture, GaussianMixtureSearch, plot

from ..helpers import COVARIANCE_TYPES, make_blobs

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.patches import Ellipse  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def save_png(ax, path):
    ax.figure.savefig(path, format="png", dpi=50)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    # the image has the size the figure says
    import matplotlib.image as mpimg

    image = mpimg.imread(path)
    width, height = ax.figure.get_size_inches() * 50
    assert image.shape[:2] == (round(height), round(width))
    # and is not blank
    assert image[..., :3].std() > 0.01


def ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_mixture_two_features(tmp_path, covariance_type):
    X, _ = make_blobs(400, 2, 3, seed=0)
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    ax = plot.mixture(model, X)
    found = ellipses(ax)
    assert len(found) == 3
    # ellipse centres are the means; their axes are 2 std of the covariance
    covariances = plot._full_covariances(model)
    for c, ellipse in enumerate(found):
        np.testing.assert_allclose(ellipse.center, model.means_[c])
        eigval = np.linalg.eigvalsh(covariances[c])
        np.testing.assert_allclose(sorted([ellipse.width, ellipse.height]),
                                   4 * np.sqrt(eigval), rtol=1e-10)
    points = ax.collections[0].get_offsets()
    np.testing.assert_array_equal(np.asarray(points), X)
    assert ax.get_xlabel() == "feature 0" and ax.get_ylabel() == "feature 1"
    save_png(ax, tmp_path / "mixture.png")


def test_mixture_pca_projection_for_more_features(tmp_path):
    X, _ = make_blobs(500, 5, 4, seed=1)
    X_before = X.copy()
    model = GaussianMixture(4, random_state=0).fit(X)
    ax = plot.mixture(model, X)
    assert len(ellipses(ax)) == 4
    assert ax.get_xlabel().startswith("PC1 (") and ax.get_ylabel().startswith("PC2 (")
    # the plane is the top two principal axes: projected points keep their spread
    points = np.asarray(ax.collections[0].get_offsets())
    eigval = np.linalg.eigvalsh(np.cov(X, rowvar=False))[::-1]
    np.testing.assert_allclose(points.var(axis=0, ddof=1), eigval[:2], rtol=1e-8)
    np.testing.assert_array_equal(X, X_before)
    save_png(ax, tmp_path / "pca.png")


def test_mixture_chosen_pair_by_index_and_name(tmp_path):
    pd = pytest.importorskip("pandas")
    X, _ = make_blobs(300, 3, 2, seed=2)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = GaussianMixture(2, random_state=0).fit(frame)
    ax = plot.mixture(model, frame, dims=("c", "a"))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("c", "a")
    np.testing.assert_allclose(ellipses(ax)[0].center, model.means_[0, [2, 0]])
    ax2 = plot.mixture(model, frame, dims=(1, 2))
    assert (ax2.get_xlabel(), ax2.get_ylabel()) == ("b", "c")
    save_png(ax, tmp_path / "pair.png")
    for bad in [("a", "zz"), (0, 0), (0, 7), (0,)]:
        with pytest.raises(ValueError, match="dims"):
            plot.mixture(model, frame, dims=bad)


def test_mixture_one_feature_draws_densities(tmp_path):
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.randn(300), rng.randn(200) * 0.5 + 5])[:, None]
    model = GaussianMixture(2, random_state=0).fit(X)
    ax = plot.mixture(model, X)
    assert len(ax.lines) == 3  # each component and the mixture
    grid, total = ax.lines[-1].get_data()
    np.testing.assert_allclose(total, np.exp(model.score_samples(grid[:, None])),
                               rtol=1e-8)
    save_png(ax, tmp_path / "one.png")


def test_mixture_draws_noise_rows_apart_with_a_key_entry(tmp_path):
    from matplotlib import colormaps
    from matplotlib.colors import to_rgba

    rng = np.random.RandomState(0)
    X = np.concatenate([rng.randn(300, 2), rng.randn(300, 2) + 6,
                        rng.uniform(-10, 16, (80, 2))])
    model = GaussianMixture(2, noise=True, random_state=0).fit(X)
    labels = model.predict(X)
    noise = labels == -1
    assert 10 < noise.sum() < 150
    ax = plot.mixture(model, X)
    components, noisy, means = ax.collections
    # the components' points in their colours (tab10), the noise's in black
    # crosses, none of them in a component's colour
    np.testing.assert_array_equal(np.asarray(components.get_offsets()), X[~noise])
    tab10 = np.array([colormaps["tab10"](i) for i in range(2)])
    expected = tab10[labels[~noise]]
    expected[:, 3] = 0.5  # (alpha)
    np.testing.assert_allclose(components.get_facecolors(), expected)
    np.testing.assert_array_equal(np.asarray(noisy.get_offsets()), X[noise])
    colours = noisy.get_edgecolors()
    np.testing.assert_allclose(colours, np.tile(to_rgba("black", 0.5), (len(colours), 1)))
    assert not np.any(np.all(np.isclose(colours[:, None, :3], tab10[None, :, :3]),
                             axis=2))
    plus = matplotlib.markers.MarkerStyle("+")
    np.testing.assert_array_equal(noisy.get_paths()[0].vertices,
                                  plus.get_path().transformed(plus.get_transform())
                                  .vertices)
    key = [t.get_text() for t in ax.get_legend().get_texts()]
    assert key == [f"component {c} (weight {model.weights_[c]:.2f})" for c in range(2)] \
        + [f"noise (weight {model.noise_weight_:.2f})"]
    save_png(ax, tmp_path / "noise.png")
    # one feature: the noise's uniform density, dashed, in the mixture's sum
    x = np.concatenate([rng.randn(300), rng.randn(300) + 6, rng.uniform(-10, 16, 80)])
    model = GaussianMixture(2, noise=True, random_state=0).fit(x[:, None])
    ax = plot.mixture(model, x[:, None])
    level = [line for line in ax.lines if line.get_label().startswith("noise")]
    assert len(level) == 1 and level[0].get_linestyle() == "--"
    assert np.all(level[0].get_ydata() == model.noise_weight_ / model.noise_volume_)
    grid, total = ax.lines[-1].get_data()
    np.testing.assert_allclose(total, np.exp(model.score_samples(grid[:, None])),
                               rtol=1e-8)


def test_mixture_subsamples_large_data_and_draws_on_given_axes(tmp_path):
    import matplotlib.pyplot as plt

    X, _ = make_blobs(3000, 2, 2, seed=3)
    model = GaussianMixture(2, random_state=0).fit(X)
    fig, axes = plt.subplots(1, 2)
    ax = plot.mixture(model, X, ax=axes[1], max_points=500, title="mine")
    assert ax is axes[1] and ax.get_title() == "mine"
    assert len(ax.collections[0].get_offsets()) == 500
    assert not axes[0].has_data()
    save_png(ax, tmp_path / "sub.png")


def test_search_plot_one_line_per_covariance_type(tmp_path):
    X, _ = make_blobs(400, 2, 3, seed=4)
    search = GaussianMixtureSearch(range(1, 5), covariance_type=["full", "diag", "tied"],
                                   random_state=0).fit(X)
    ax = plot.search(search)
    lines = [line for line in ax.lines if line.get_label() in ("full", "diag", "tied")]
    assert len(lines) == 3
    for line in lines:
        ks, values = line.get_data()
        expected = [r["bic"] for r in search.results_
                    if r["covariance_type"] == line.get_label()]
        assert list(ks) == [1, 2, 3, 4]
        np.testing.assert_array_equal(values, expected)
    (star,) = [line for line in ax.lines if line.get_label().startswith("best")]
    best = search.results_[search.best_index_]
    assert list(star.get_xdata()) == [best["n_components"]]
    assert "lower is better" in ax.get_ylabel()
    save_png(ax, tmp_path / "search.png")
    # another criterion the search computed
    ax_aic = plot.search(search, criterion="aic")
    assert ax_aic.get_ylabel().startswith("AIC")


def test_titles_count_one_component_in_the_singular():
    X, _ = make_blobs(300, 2, 1, seed=7)
    model = GaussianMixture(1, random_state=0).fit(X)
    assert plot.mixture(model, X).get_title() == "1 component, covariance_type='full'"
    assert plot.weights(model).get_title() == "weights of 1 component"
    search = GaussianMixtureSearch([1, 2], covariance_type="full",
                                   random_state=0).fit(X)
    assert search.best_params_["n_components"] == 1
    assert plot.search(search).get_title() == "BIC: best 1 component, 'full'"


def test_search_plot_heldout_with_error_bars(tmp_path):
    X, _ = make_blobs(300, 2, 2, seed=5)
    search = GaussianMixtureSearch([1, 2, 3], covariance_type="diag", cv=3,
                                   criterion="heldout", random_state=0).fit(X)
    ax = plot.search(search)
    assert "higher is better" in ax.get_ylabel()
    assert ax.containers  # the error bars
    save_png(ax, tmp_path / "heldout.png")
    with pytest.raises(ValueError, match="no 'bic' values"):
        plot.search(search, criterion="bic")


def test_plots_of_unfitted_models_fail():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        plot.mixture(GaussianMixture(), np.zeros((3, 2)))
    with pytest.raises(NotFittedError):
        plot.search(GaussianMixtureSearch())


def test_missing_matplotlib_names_the_extra(monkeypatch):
    X, _ = make_blobs(100, 2, 2, seed=6)
    model = GaussianMixture(2, random_state=0).fit(X)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    with pytest.raises(ImportError, match=r"fastgmm\[plot\]"):
        plot.mixture(model, X)


def test_mixture_of_a_pipeline_draws_its_last_step_with_a_key():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, _ = make_blobs(600, 2, 3, seed=5)
    pipe = make_pipeline(StandardScaler(), GaussianMixture(3, random_state=0)).fit(X)
    ax = plot.mixture(pipe, X)
    # the ellipses are in the scaled space the mixture was fitted in
    centres = np.array([e.center for e in ellipses(ax)])
    gm = pipe[-1]
    np.testing.assert_allclose(np.sort(centres, axis=0), np.sort(gm.means_, axis=0))
    key = [t.get_text() for t in ax.get_legend().get_texts()]
    assert key == [f"component {c} (weight {gm.weights_[c]:.2f})" for c in range(3)]
