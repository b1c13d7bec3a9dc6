"""Plots of a fitted mixture and of a model search (needs matplotlib).

Install matplotlib with fastgmm's ``plot`` extra::

    pip install "fastgmm[plot]"

matplotlib is imported when a function is called, not with this module.
Every function draws on ``ax`` when given one (nothing else is touched),
otherwise on a new figure from ``matplotlib.pyplot``, and returns the axes.
"""

import math

import numpy as np

from ._constants import count

__all__ = ["mixture", "search", "weights"]

#: A Bayesian mixture's components of weight at most this are not drawn by
#: default: the fit has all but pruned them.
MIN_WEIGHT = 0.01
_GREY = (0.6, 0.6, 0.6, 1.0)
#: Rows of a mixture's noise component (label -1; ``noise=True``) are drawn
#: in black with this marker (no component's colour is black), and the
#: noise is drawn in black in one dimension, with its own key entry.
NOISE_COLOR = (0.0, 0.0, 0.0, 1.0)
NOISE_MARKER = "+"


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(
            "fastgmm.plot needs matplotlib, which is not installed. Install it "
            "with: pip install 'fastgmm[plot]' (or: pip install matplotlib)"
        ) from None


def _new_axes(ax, figsize=(6.4, 4.8)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _colors(n):
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    cmap = colormaps["turbo"]
    return [cmap(i / (n - 1)) for i in range(n)]


def _full_covariances(model):
    """Every component's covariance as a (n_components, d, d) array."""
    return model._fitted_spec.structure.expand(model.covariances_, *model.means_.shape)


def _min_weight(model, min_weight):
    """The threshold of drawn components: MIN_WEIGHT for a Bayesian mixture
    (it has ``weight_concentration_``), 0 (all) for others, unless given."""
    if min_weight is not None:
        if not (isinstance(min_weight, (int, float)) and 0 <= min_weight < 1):
            raise ValueError(f"min_weight must be a number in [0, 1), got {min_weight!r}")
        return float(min_weight)
    return MIN_WEIGHT if hasattr(model, "weight_concentration_") else 0.0


def _shown(model, min_weight):
    """Indices of the components to draw and their colours (by component)."""
    weights = np.asarray(model.weights_, dtype=np.float64)
    shown = np.flatnonzero(weights > min_weight) if min_weight > 0 \
        else np.arange(weights.size)
    colors = [_GREY] * weights.size
    for color, k in zip(_colors(len(shown)), shown):
        colors[k] = color
    return shown, colors


def _feature_name(model, i):
    names = getattr(model, "feature_names_in_", None)
    return str(names[i]) if names is not None else f"feature {i}"


def _dimension(model, dim):
    names = getattr(model, "feature_names_in_", None)
    d = model.means_.shape[1]
    if isinstance(dim, str):
        if names is None or dim not in list(names):
            raise ValueError(f"dims: no feature named {dim!r}")
        return list(names).index(dim)
    if not (isinstance(dim, (int, np.integer)) and -d <= dim < d):
        raise ValueError(f"dims: {dim!r} is not a feature index in [0, {d})")
    return int(dim) % d


def _projection(model, X, dims):
    """2-D coordinates of X, the means and covariances, and axis labels."""
    means = np.asarray(model.means_, dtype=np.float64)
    covs = _full_covariances(model)
    d = means.shape[1]
    if dims is None and d == 2:
        dims = (0, 1)
    if dims is not None:
        if len(dims) != 2:
            raise ValueError(f"dims must be a pair of features, got {dims!r}")
        i, j = (_dimension(model, dim) for dim in dims)
        if i == j:
            raise ValueError("dims must name two different features")
        sel = [i, j]
        return (X[:, sel], means[:, sel], covs[:, sel][:, :, sel],
                (_feature_name(model, i), _feature_name(model, j)))
    # PCA of the data: the plane of largest spread
    center = X.mean(axis=0)
    scatter = np.cov(X, rowvar=False)
    eigval, eigvec = np.linalg.eigh(scatter)
    order = np.argsort(eigval)[::-1][:2]
    basis = eigvec[:, order]
    # a deterministic sign: the largest entry of each axis is positive
    basis *= np.sign(basis[np.abs(basis).argmax(axis=0), [0, 1]])
    share = eigval[order] / max(eigval.sum(), np.finfo(float).tiny)
    labels = tuple(f"PC{n + 1} ({100 * s:.0f}% of variance)" for n, s in enumerate(share))
    return ((X - center) @ basis, (means - center) @ basis,
            np.einsum("ia,kij,jb->kab", basis, covs, basis), labels)


def mixture(model, X, *, dims=None, ax=None, n_std=2.0, max_points=20_000,
            random_state=0, title=None, min_weight=None):
    """Draw the data coloured by component with each component's ellipse.

    Points take the colour of their most probable component; each component
    is drawn as the ellipse of ``n_std`` standard deviations of its Gaussian
    (in the plotted plane) around its mean, marked with a cross. With two
    features the plane is the features; with more, the plane of the first
    two principal components of X (PCA), unless ``dims`` picks a pair. With
    one feature, a histogram of X with each weighted component density and
    their sum. For a Bayesian mixture only its effective components (weight
    above ``min_weight``) are drawn; points of the others are grey. With a
    noise component (``noise=True``), the points it takes (label -1) are
    black crosses ('+') with a key entry of their own, and in one dimension
    its uniform density is a dashed black line, in the mixture's sum.

    Parameters
    ----------
    model : GaussianMixture, BayesianGaussianMixture or GaussianMixtureSearch
        A fitted mixture (a search draws its ``best_estimator_``), or a
        scikit-learn Pipeline ending in one (X is drawn as the steps before
        the mixture transform it).
    X : array-like of shape (n_samples, n_features)
        The data to draw.
    dims : pair of int or str, default=None
        The two features to draw (indices, or names when the model was
        fitted with feature names). None: both features when there are two,
        the PCA plane when there are more.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.
    n_std : float, default=2.0
        Size of the ellipses in standard deviations.
    max_points : int, default=20000
        At most this many points are drawn (a random subset), so that large
        data sets stay quick to draw; the ellipses use the model.
    random_state : int, default=0
        Seeds the choice of the subset.
    title : str, default=None
        The title; None describes the model.
    min_weight : float in [0, 1), default=None
        Draw only the components of larger weight. None: ``MIN_WEIGHT``
        (0.01) for a BayesianGaussianMixture, 0 (all) for other mixtures.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> import numpy as np
    >>> import fastgmm
    >>> import fastgmm.plot
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.randn(100, 2), rng.randn(100, 2) + 5])
    >>> gm = fastgmm.GaussianMixture(2, random_state=0).fit(X)
    >>> ax = fastgmm.plot.mixture(gm, X)
    >>> ax.get_title()
    "2 components, covariance_type='full'"
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['component 0 (weight 0.50)', 'component 1 (weight 0.50)']

    ``ax.figure.savefig("mixture.png")`` then writes the figure to a file.
    """
    from sklearn.utils.validation import check_array, check_is_fitted

    _require_matplotlib()
    model, X = _last_step(model, X)
    model = getattr(model, "best_estimator_", model)
    check_is_fitted(model)
    labels = model.predict(X)
    X = check_array(X, dtype=np.float64)
    threshold = _min_weight(model, min_weight)
    ax = _new_axes(ax)
    k = model.means_.shape[0]
    shown, colors = _shown(model, threshold)
    if title is None:
        title = f"{count(k, 'component')}, covariance_type={model.covariance_type!r}"
        if threshold > 0:
            title = (f"{len(shown)} of {count(k, 'component')} (weight > {threshold:g}), "
                     f"covariance_type={model.covariance_type!r}")
    if X.shape[1] == 1:
        _mixture_1d(model, X[:, 0], ax, colors, shown)
        ax.set_title(title)
        return ax

    from matplotlib.patches import Ellipse

    points, means, covs, axis_labels = _projection(model, X, dims)
    n = points.shape[0]
    if n > max_points:
        rng = np.random.RandomState(random_state)
        keep = np.sort(rng.choice(n, max_points, replace=False))
        points, labels = points[keep], labels[keep]
    size = float(np.clip(2000.0 / math.sqrt(max(len(points), 1)), 1.0, 30.0))
    noise = labels < 0  # the noise component's rows (noise=True): their own key
    point_colors = np.asarray(colors)[labels[~noise]]
    ax.scatter(points[~noise, 0], points[~noise, 1], c=point_colors, s=size,
               alpha=0.5, linewidths=0)
    for c in shown:
        eigval, eigvec = np.linalg.eigh(covs[c])
        eigval = np.clip(eigval, 0.0, None)
        major = eigvec[:, 1]
        angle = math.degrees(math.atan2(major[1], major[0]))
        ax.add_patch(Ellipse(
            xy=means[c], width=2 * n_std * math.sqrt(eigval[1]),
            height=2 * n_std * math.sqrt(eigval[0]), angle=angle, fill=False,
            edgecolor=colors[c], linewidth=2, label=_component_label(model, c),
        ))
    if noise.any():  # (after the ellipses: the last key entry)
        ax.scatter(points[noise, 0], points[noise, 1], c=[NOISE_COLOR],
                   marker=NOISE_MARKER, s=size, alpha=0.5, linewidths=1,
                   label=_noise_label(model))
    ax.scatter(means[shown, 0], means[shown, 1], marker="x", c="black", s=50,
               zorder=3)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title)
    _key(ax, shown)
    ax.autoscale_view()
    return ax


#: A key from colour to component is drawn up to this many components.
MAX_KEY_ENTRIES = 20


def _component_label(model, c):
    return f"component {c} (weight {float(model.weights_[c]):.2f})"


def _noise_label(model):
    return f"noise (weight {float(model.noise_weight_):.2f})"


def _key(ax, shown):
    """The key from colour to component (up to `MAX_KEY_ENTRIES` of them)."""
    if 0 < len(shown) <= MAX_KEY_ENTRIES:
        ax.legend(loc="best", fontsize="small", framealpha=0.8)


def _last_step(model, X):
    """A scikit-learn Pipeline ending in a mixture: its last step, and X
    through the steps before it (the space the mixture was fitted in)."""
    steps = getattr(model, "steps", None)
    if steps is None:
        return model, X
    if len(steps) > 1:
        X = model[:-1].transform(X)
    return steps[-1][1], X


def _mixture_1d(model, x, ax, colors, shown):
    """Histogram of x, the weighted densities of the ``shown`` components and
    the mixture's density (the sum over all)."""
    weights = np.asarray(model.weights_, dtype=np.float64)
    means = np.asarray(model.means_, dtype=np.float64)[:, 0]
    variances = _full_covariances(model)[:, 0, 0]
    lo, hi = float(x.min()), float(x.max())
    pad = 3 * math.sqrt(float(variances.max()))
    grid = np.linspace(min(lo, means.min() - pad), max(hi, means.max() + pad), 400)
    ax.hist(x, bins=min(100, max(10, int(math.sqrt(x.size)))), density=True,
            color="0.8", edgecolor="0.6")
    density = (weights[:, None] / np.sqrt(2 * math.pi * variances[:, None])
               * np.exp(-0.5 * (grid - means[:, None]) ** 2 / variances[:, None]))
    for c in shown:
        ax.plot(grid, density[c], color=colors[c], linewidth=1.5,
                label=_component_label(model, c))
    total = density.sum(axis=0)
    if model._fitted_spec.noise:  # uniform, everywhere
        level = float(model.noise_weight_) / float(model.noise_volume_)
        ax.plot(grid, np.full_like(grid, level), color=NOISE_COLOR, linestyle="--",
                linewidth=1.5, label=_noise_label(model))
        total = total + level
    ax.plot(grid, total, color="black", linewidth=2, label="mixture")
    _key(ax, shown)
    ax.set_xlabel(_feature_name(model, 0))
    ax.set_ylabel("density")


def search(search, *, criterion=None, ax=None, title=None, style=None):
    """Draw a search's criterion against n_components, a line per covariance type.

    A search over both families (``family=['gaussian', 't']``) draws a line
    per covariance type and family, the t family's dashed. The best
    candidate is marked with a star. With ``criterion='heldout'``
    and K folds, error bars show the standard deviation over folds. Failed
    candidates are left out. ``style='mclust'`` draws R mclust's BIC plot:
    its BIC, 2 log L - p log n (the opposite of scikit-learn's: higher is
    better), a line and a marker per model, in mclust's order.

    Parameters
    ----------
    search : GaussianMixtureSearch
        A fitted search.
    criterion : {'bic', 'aic', 'icl', 'heldout'}, default=None
        The criterion to draw; None draws the one the search ranked by. Only
        criteria that the search computed can be drawn ('bic', 'aic' and
        'icl' are computed unless it ranked by 'heldout').
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.
    title : str, default=None
        The title; None names the criterion and the best candidate.
    style : {None, 'mclust'}, default=None
        'mclust': mclust's BIC plot (``criterion`` must be 'bic' or None
        with a search ranked by BIC).

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> import numpy as np
    >>> import fastgmm
    >>> import fastgmm.plot
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.randn(100, 2), rng.randn(100, 2) + 5])
    >>> search = fastgmm.GaussianMixtureSearch(
    ...     range(1, 4), covariance_type=["full", "diag"], random_state=0).fit(X)
    >>> ax = fastgmm.plot.search(search)
    >>> ax.get_title()
    "BIC: best 2 components, 'diag'"
    >>> ax.get_ylabel()
    'BIC (lower is better)'
    """
    from sklearn.utils.validation import check_is_fitted

    from ._constants import COVARIANCE_TYPES, CRITERIA, MCLUST_MODELS
    from ._search import criterion_label

    _require_matplotlib()
    check_is_fitted(search, "results_")
    criterion = search.criterion if criterion is None else criterion
    if criterion not in CRITERIA:
        raise ValueError(
            f"criterion must be one of {sorted(CRITERIA)}, got {criterion!r}"
        )
    if style not in (None, "mclust"):
        raise ValueError(f"style must be None or 'mclust', got {style!r}")
    if style == "mclust" and criterion != "bic":
        raise ValueError("style='mclust' draws the BIC: criterion must be 'bic'")
    records = [r for r in search.results_ if r["error"] is None
               and criterion in r and not math.isnan(r[criterion])]
    if not records:
        raise ValueError(
            f"The search has no {criterion!r} values to draw (it ranked by "
            f"{search.criterion!r})."
        )
    from matplotlib.ticker import MaxNLocator

    ax = _new_axes(ax)
    names = COVARIANCE_TYPES + MCLUST_MODELS
    types = list(dict.fromkeys(r["covariance_type"] for r in records))
    if style == "mclust":  # mclust's order
        types.sort(key=lambda t: names.index(t) if t in names else len(names))
    colors = dict(zip(names, _colors(len(names))))
    markers = dict(zip(names, "osD^v<>phHX*P8d12" + "34"))
    flip = -1.0 if style == "mclust" else 1.0  # mclust's BIC: 2 log L - p log n

    def value(r):
        return flip * r[criterion]

    # a search over both families: a line per family and type, the t
    # family's dashed
    families = list(dict.fromkeys(r.get("family", "gaussian") for r in records))
    for family in families:
        for t in types:
            rows = sorted((r for r in records if r["covariance_type"] == t
                           and r.get("family", "gaussian") == family),
                          key=lambda r: r["n_components"])
            if not rows:
                continue
            ks = [r["n_components"] for r in rows]
            values = [value(r) for r in rows]
            std = [r.get("heldout_std", 0.0) for r in rows]
            marker = markers.get(t, "o") if style == "mclust" else "o"
            line = dict(marker=marker, color=colors.get(t),
                        label=t if len(families) == 1 else f"{t}, {family}",
                        linestyle="--" if family == "t" else "-")
            if criterion == "heldout" and any(s > 0 for s in std):
                ax.errorbar(ks, values, yerr=std, capsize=3, **line)
            else:
                ax.plot(ks, values, **line)
    sign = 1.0 if CRITERIA[criterion] else -1.0
    best = min(records, key=lambda r: sign * r[criterion])
    of = ", t" if best.get("family", "gaussian") == "t" else ""
    ax.plot([best["n_components"]], [value(best)], marker="*", markersize=18,
            color="gold", markeredgecolor="black", linestyle="none",
            label=f"best: {best['n_components']}, {best['covariance_type']}{of}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("n_components")
    ax.set_ylabel("BIC (mclust's: 2 log L - p log n)" if style == "mclust"
                  else criterion_label(criterion))
    ax.legend(title=("model" if style == "mclust" else "covariance_type")
              + (", family" if len(families) > 1 else ""),
              ncol=2 if len(types) * len(families) > 7 else 1, fontsize="small")
    if title is None:
        title = (f"{criterion.upper() if criterion != 'heldout' else 'held-out'}: "
                 f"best {count(best['n_components'], 'component')}, "
                 f"{best['covariance_type']!r}{of}")
    ax.set_title(title)
    return ax


def weights(model, *, ax=None, min_weight=None, title=None):
    """Draw the weights of a mixture's components as bars.

    For a Bayesian mixture, which gives the components the data do not need
    weights near zero, this shows how many it uses: the effective components
    (weight above ``min_weight``, marked by a dashed line) have the colours
    of :func:`mixture`, the others are grey.

    Parameters
    ----------
    model : GaussianMixture, BayesianGaussianMixture or GaussianMixtureSearch
        A fitted mixture (a search draws its ``best_estimator_``).
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.
    min_weight : float in [0, 1), default=None
        The threshold of effective components. None: ``MIN_WEIGHT`` (0.01)
        for a BayesianGaussianMixture, 0 for other mixtures.
    title : str, default=None
        The title; None counts the effective components.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> import numpy as np
    >>> import fastgmm
    >>> import fastgmm.plot
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.randn(100, 2), rng.randn(100, 2) + 5])
    >>> bgm = fastgmm.BayesianGaussianMixture(n_components=5, random_state=0).fit(X)
    >>> ax = fastgmm.plot.weights(bgm)
    >>> ax.get_title()
    '2 effective components of 5 (weight > 0.01)'
    """
    from sklearn.utils.validation import check_is_fitted

    _require_matplotlib()
    model = getattr(model, "best_estimator_", model)
    check_is_fitted(model)
    from matplotlib.ticker import MaxNLocator

    threshold = _min_weight(model, min_weight)
    values = np.asarray(model.weights_, dtype=np.float64)
    shown, colors = _shown(model, threshold)
    ax = _new_axes(ax)
    ax.bar(np.arange(values.size), values, color=colors, edgecolor="black",
           linewidth=0.5)
    if threshold > 0:
        ax.axhline(threshold, color="black", linestyle="--", linewidth=1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("component")
    ax.set_ylabel("weight")
    if title is None:
        title = (f"{count(len(shown), 'effective component')} of {values.size} "
                 f"(weight > {threshold:g})" if threshold > 0
                 else f"weights of {count(values.size, 'component')}")
    ax.set_title(title)
    return ax
