"""``python -m fastgmm demo``: a fit on generated data, timed next to scikit-learn."""

import time
import warnings

import numpy as np

from . import kernels
from ._constants import count


def make_data(n_samples, n_features, n_components, seed=0, dtype=np.float64):
    """Points from a mixture of Gaussians with random centers and shapes."""
    rng = np.random.RandomState(seed)
    centers = rng.uniform(-10, 10, size=(n_components, n_features))
    shapes = rng.randn(n_components, n_features, n_features) * 0.4 + np.eye(n_features)
    weights = rng.dirichlet(np.full(n_components, 5.0))
    labels = rng.choice(n_components, size=n_samples, p=weights)
    X = np.empty((n_samples, n_features), dtype=dtype)
    for k in range(n_components):
        rows = np.flatnonzero(labels == k)
        X[rows] = centers[k] + rng.randn(rows.size, n_features) @ shapes[k]
    return X


def _timed_fit(estimator, X):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X)
    return time.perf_counter() - start


def run(n_samples=1_000_000, n_features=4, n_components=12, covariance_type="full",
        backend="auto", dtype="float64", seed=0, compare=True, out=print):
    """The whole default fit of fastgmm next to scikit-learn's (same
    arguments, initialization and final E-step included), then both EM runs
    from the same initial parameters (the per-iteration speed)."""
    from . import GaussianMixture

    X = make_data(n_samples, n_features, n_components, seed, np.dtype(dtype))
    out(f"data: {count(n_samples, 'point')} x {count(n_features, 'feature')}, "
        f"{dtype}, {count(n_components, 'component')}, "
        f"covariance_type={covariance_type!r}")
    args = dict(n_components=n_components, covariance_type=covariance_type,
                random_state=seed)
    # compile (or load the compiled kernels) outside the timed fit, with the
    # backend that 'auto' takes for the full data (it may differ on 2,000 rows)
    backend = kernels.get_backend(
        backend, n_samples, n_features, n_components, covariance_type
    ).name
    _timed_fit(GaussianMixture(**args, max_iter=1, backend=backend), X[:2000])

    ours = GaussianMixture(**args, backend=backend)
    t_ours = _timed_fit(ours, X)
    out("whole fit, default arguments (k-means initialization, EM, final E-step):")
    out(f"  fastgmm:      {t_ours:7.2f} s  {count(ours.n_iter_, 'iteration'):>14}  "
        f"lower bound {ours.lower_bound_:.6f}  ({backend} backend)")
    sklearn_mixture = None
    if compare:
        try:
            from sklearn import mixture as sklearn_mixture
        except ImportError:  # pragma: no cover - scikit-learn is a dependency
            out("  scikit-learn: not installed")
    if sklearn_mixture is not None:
        theirs = sklearn_mixture.GaussianMixture(**args)
        t_theirs = _timed_fit(theirs, X)
        out(f"  scikit-learn: {t_theirs:7.2f} s  {count(theirs.n_iter_, 'iteration'):>14}  "
            f"lower bound {theirs.lower_bound_:.6f}")
        same = np.array_equal(ours.predict(X), theirs.predict(X))
        out(f"  fastgmm is {t_theirs / t_ours:.1f}x faster; lower bounds differ by "
            f"{abs(ours.lower_bound_ - theirs.lower_bound_):.1e}; "
            f"{'the same' if same else 'different'} labels")

        # EM alone, both from the same initial parameters: per iteration
        params = dict(n_components=n_components, covariance_type=covariance_type,
                      weights_init=ours.weights_, means_init=ours.means_,
                      precisions_init=ours.precisions_, tol=0, max_iter=5)
        mine = GaussianMixture(**params, backend=backend)
        t_mine = _timed_fit(mine, X)
        other = sklearn_mixture.GaussianMixture(**params)
        t_other = _timed_fit(other, X)
        out(f"EM alone, 5 iterations from the same parameters: fastgmm "
            f"{t_mine / 5 * 1e3:.1f} ms/iteration, scikit-learn "
            f"{t_other / 5 * 1e3:.1f} ms/iteration ({t_other / t_mine:.1f}x)")
    out("fitted mixture (largest components first):")
    order = np.argsort(-ours.weights_)
    for k in order[: min(len(order), 12)]:
        mean = ", ".join(f"{v:7.2f}" for v in ours.means_[k][:4])
        more = ", ..." if n_features > 4 else ""
        out(f"  weight {ours.weights_[k]:.3f}  mean [{mean}{more}]")
    return ours
