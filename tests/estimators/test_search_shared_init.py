"""A search computes each n_components' initial labels once (k-means does
not depend on the covariance structure or the family) and every candidate
still gets exactly the fit it would get alone (issue 40, item 1)."""

import warnings

import numpy as np
import pytest

from fastgmm import GaussianMixture, GaussianMixtureSearch, StudentTMixture
from fastgmm.em import init as _init

from ..helpers import make_blobs


@pytest.fixture
def counted_draws(monkeypatch):
    calls = []
    original = _init.initial_labels

    def counted(X, w, n_components, init_params, *args, **kwargs):
        calls.append((n_components, init_params))
        return original(X, w, n_components, init_params, *args, **kwargs)

    monkeypatch.setattr(_init, "initial_labels", counted)
    return calls


def _alone(candidate, X, **params):
    cls = StudentTMixture if candidate.get("family") == "t" else GaussianMixture
    if cls is GaussianMixture:
        params.pop("dof", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(candidate["n_components"],
                   covariance_type=candidate["covariance_type"], **params).fit(X)


@pytest.mark.parametrize("options", [
    dict(),
    dict(n_init=2, init_params="k-means++"),
    dict(covariance_type=["VEI", "EVE", "VVV", "EII"], noise=True),
    dict(covariance_type=["full", "diag"], family=["gaussian", "t"]),
    dict(init_params="random_from_data"),
])
def test_every_candidate_is_its_fit_alone(options, counted_draws):
    X, _ = make_blobs(600, 3, 3, seed=4)
    n_components = [1, 2, 3, 4]
    search = GaussianMixtureSearch(n_components=n_components, random_state=0,
                                   **options).fit(X)
    n_init = options.get("n_init", 1)
    # one draw per n_components and restart, not one per candidate
    assert len(counted_draws) == len(n_components) * n_init
    single = {name: value for name, value in options.items()
              if name in ("n_init", "init_params", "noise")}
    if "family" in options:
        single["dof"] = search.dof
    for record in search.results_:
        if record["error"] is not None:
            continue
        model = _alone(record, X, random_state=0, **single)
        # the same bits: lower bound, iterations, means
        assert record["lower_bound"] == float(model.lower_bound_), record
        assert record["n_iter"] == model.n_iter_
    best = search.best_estimator_
    alone = _alone(dict(search.best_params_), X, random_state=0, **single)
    np.testing.assert_array_equal(best.means_, alone.means_)
    np.testing.assert_array_equal(best.covariances_, alone.covariances_)
    assert "_shared_labels" not in best.__dict__  # nothing of the search kept


def test_heldout_folds_share_within_a_fold(counted_draws):
    X, _ = make_blobs(400, 2, 2, seed=5)
    search = GaussianMixtureSearch(n_components=[1, 2, 3], criterion="heldout", cv=2,
                                   random_state=0).fit(X)
    # per fold one draw per k, and the refit of the best on all rows
    assert len(counted_draws) == 2 * 3 + 1
    assert search.best_params_["n_components"] == 2


def test_random_init_and_a_global_generator_are_not_shared(counted_draws):
    X, _ = make_blobs(300, 2, 2, seed=6)
    GaussianMixtureSearch(n_components=[1, 2], covariance_type=["full", "diag"],
                          init_params="random", random_state=0).fit(X)
    assert len(counted_draws) == 4  # (labels None: drawn per candidate anyway)
    counted_draws.clear()
    GaussianMixtureSearch(n_components=[1, 2], covariance_type=["full", "diag"],
                          random_state=None, n_jobs=1).fit(X)
    # random_state=None: numpy's global generator, a different state for each
    # candidate, so nothing matches (and nothing is wrongly shared)
    assert len(counted_draws) == 4
