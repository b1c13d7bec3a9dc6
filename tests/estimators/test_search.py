"""GaussianMixtureSearch: recovery of the true model, criteria, parallelism."""

import math
import warnings

import numpy as np
import pytest
from joblib import cpu_count
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import fastgmm
from fastgmm import GaussianMixture, GaussianMixtureSearch

from ..helpers import COVARIANCE_TYPES


def sample_mixture(covariance_type, n_samples, seed):
    """Rows from a known, well-separated mixture of the given covariance type."""
    rng = np.random.RandomState(seed)
    if covariance_type == "diag":
        means = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 9.0]])
        covs = [np.diag([4.0, 0.25]), np.diag([0.3, 3.0]), np.diag([2.0, 0.5])]
    elif covariance_type == "tied":
        means = np.array([[0.0, 0.0], [6.0, 6.0]])
        shared = np.array([[2.0, -1.6], [-1.6, 2.0]])
        covs = [shared, shared]
    elif covariance_type == "full":
        means = np.array([[0.0, 0.0], [7.0, 1.0], [2.0, 8.0], [-6.0, 6.0]])
        covs = [np.array([[2.0, 1.5], [1.5, 2.0]]), np.array([[1.0, -0.8], [-0.8, 2.0]]),
                np.array([[3.0, 0.0], [0.0, 0.3]]), np.array([[0.5, 0.3], [0.3, 1.5]])]
    else:  # spherical
        means = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 7.0]])
        covs = [np.eye(2) * v for v in (0.5, 2.0, 1.0)]
    k = len(means)
    labels = rng.choice(k, size=n_samples, p=np.full(k, 1.0 / k))
    X = np.empty((n_samples, 2))
    for c in range(k):
        rows = labels == c
        X[rows] = rng.multivariate_normal(means[c], covs[c], size=rows.sum())
    return X, k


@pytest.mark.parametrize("true_type", ["diag", "tied", "full", "spherical"])
def test_bic_recovers_true_components_and_covariance_type(true_type):
    X, true_k = sample_mixture(true_type, 1500, seed=3)
    search = GaussianMixtureSearch(range(1, 6), random_state=0).fit(X)
    assert search.best_params_ == {"n_components": true_k,
                                   "covariance_type": true_type}
    assert len(search.results_) == 5 * 4
    best = search.results_[search.best_index_]
    assert best["rank"] == 1
    assert best["n_components"] == true_k and best["covariance_type"] == true_type
    assert search.best_estimator_.n_components == true_k
    assert search.best_estimator_.covariance_type == true_type


def test_icl_recovers_true_components():
    X, true_k = sample_mixture("diag", 1500, seed=4)
    search = GaussianMixtureSearch(range(1, 6), covariance_type=["diag", "full"],
                                   criterion="icl", random_state=0).fit(X)
    assert search.best_params_["n_components"] == true_k


def expected_parameters(k, d, covariance_type):
    """Free parameters, counted independently of fastgmm.em.covariance."""
    covariance = {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2,
                  "diag": k * d, "spherical": k}[covariance_type]
    return covariance + k * d + (k - 1)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_bic_aic_icl_match_their_formulas(covariance_type):
    X, _ = sample_mixture("full", 800, seed=5)
    X = np.hstack([X, X[:, :1] * 0.5 + np.random.RandomState(0).randn(800, 1)])
    search = GaussianMixtureSearch(3, covariance_type=covariance_type,
                                   random_state=1).fit(X)
    (record,) = search.results_
    model = search.best_estimator_
    n, d = X.shape
    log_likelihood = model.score_samples(X).sum()
    resp = model.predict_proba(X)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.sum(np.where(resp > 0, resp * np.log(resp), 0.0))
    p = expected_parameters(3, d, covariance_type)
    bic = -2 * log_likelihood + p * math.log(n)
    assert record["n_parameters"] == p
    assert record["log_likelihood"] == pytest.approx(log_likelihood, rel=1e-10)
    assert record["bic"] == pytest.approx(bic, rel=1e-10)
    assert record["aic"] == pytest.approx(-2 * log_likelihood + 2 * p, rel=1e-10)
    assert record["icl"] == pytest.approx(bic + 2 * entropy, rel=1e-9)
    assert entropy > 0  # overlapping components: ICL is strictly above BIC
    assert record["icl"] > record["bic"]
    # and the estimator's own methods agree
    assert record["bic"] == pytest.approx(model.bic(X), rel=1e-10)
    assert record["aic"] == pytest.approx(model.aic(X), rel=1e-10)
    assert record["criterion"] == record["bic"]


@pytest.mark.parametrize("criterion", ["bic", "aic", "icl"])
def test_ranking_follows_the_criterion(criterion):
    X, _ = sample_mixture("tied", 600, seed=6)
    search = GaussianMixtureSearch([1, 2, 3], covariance_type=["full", "diag"],
                                   criterion=criterion, random_state=0).fit(X)
    ranked = sorted(search.results_, key=lambda r: r["rank"])
    values = [r[criterion] for r in ranked]
    assert values == sorted(values)  # lower is better
    assert [r["rank"] for r in ranked] == list(range(1, 7))
    assert all(r["criterion"] == r[criterion] for r in ranked)


def test_heldout_ranks_higher_first_and_refits_on_all_data():
    X, true_k = sample_mixture("diag", 1200, seed=7)
    search = GaussianMixtureSearch([1, 2, 3], covariance_type="diag",
                                   criterion="heldout", cv=3, random_state=0).fit(X)
    ranked = sorted(search.results_, key=lambda r: r["rank"])
    values = [r["heldout"] for r in ranked]
    assert values == sorted(values, reverse=True)  # higher is better
    by_k = {r["n_components"]: r for r in search.results_}
    assert by_k[true_k]["heldout"] > by_k[1]["heldout"]
    assert all(r["n_fits"] == 3 for r in search.results_)  # one fit per fold
    assert all(r["heldout_std"] >= 0 for r in search.results_)
    assert all(math.isnan(r["bic"]) for r in search.results_)
    model = search.best_estimator_
    assert model.n_components == search.best_params_["n_components"]
    # refitted on all rows: its lower bound is its mean log-likelihood on X
    assert model.score(X) == pytest.approx(model.lower_bound_, abs=1e-2)


def test_heldout_single_split_scores_the_validation_rows():
    X, _ = sample_mixture("spherical", 1000, seed=8)
    search = GaussianMixtureSearch(2, covariance_type="spherical",
                                   criterion="heldout", cv=0.25,
                                   random_state=0).fit(X)
    (record,) = search.results_
    assert record["n_fits"] == 1 and record["heldout_std"] == 0.0
    # the same split, reproduced by hand, and the candidate fitted as the
    # estimator with the search's random_state
    order = np.random.RandomState(0).permutation(1000)
    val, train = np.sort(order[:250]), np.sort(order[250:])
    model = GaussianMixture(2, covariance_type="spherical", random_state=0,
                            n_threads=search.n_threads_).fit(X[train])
    assert record["heldout"] == pytest.approx(model.score(X[val]), rel=1e-12)


def test_parallel_and_sequential_give_the_same_results():
    X, _ = sample_mixture("full", 900, seed=9)
    common = dict(n_components=range(1, 5), covariance_type=["full", "diag"],
                  n_init=2, random_state=42)
    one = GaussianMixtureSearch(**common, n_jobs=1, n_threads=1).fit(X)
    two = GaussianMixtureSearch(**common, n_jobs=2).fit(X)
    keys = ["n_components", "covariance_type", "rank", "bic", "lower_bound",
            "n_iter", "converged", "n_fits"]
    assert [{k: r[k] for k in keys} for r in one.results_] == \
        [{k: r[k] for k in keys} for r in two.results_]
    assert one.best_params_ == two.best_params_
    np.testing.assert_array_equal(one.best_estimator_.means_, two.best_estimator_.means_)


def test_restarts_keep_the_best_lower_bound():
    X, _ = sample_mixture("full", 600, seed=10)
    search = GaussianMixtureSearch(4, covariance_type="full", n_init=3,
                                   init_params="random", random_state=0).fit(X)
    (record,) = search.results_
    assert record["n_fits"] == 3
    # the three restarts drawn in sequence from one RandomState(0), as
    # GaussianMixture(n_init=3) draws them
    rng = np.random.RandomState(0)
    bounds = [GaussianMixture(4, init_params="random", random_state=rng,
                              n_threads=search.n_threads_).fit(X).lower_bound_
              for _ in range(3)]
    assert record["lower_bound"] == max(bounds)
    alone = GaussianMixture(4, init_params="random", n_init=3, random_state=0).fit(X)
    assert record["lower_bound"] == alone.lower_bound_


def test_jobs_times_threads_never_exceed_the_cores(monkeypatch):
    X, _ = sample_mixture("diag", 400, seed=11)
    X = np.vstack([X] * 20)  # past TINY_SEARCH_VALUES: fits on every core
    assert X.size > fastgmm._search.TINY_SEARCH_VALUES
    seen = []
    original = GaussianMixture.fit

    def spy(self, X, y=None, sample_weight=None):
        seen.append((self.n_threads, X.__array_interface__["data"][0]))
        return original(self, X, y, sample_weight)

    monkeypatch.setattr(GaussianMixture, "fit", spy)
    X_in = np.asfortranarray(X)  # converted once, then shared by every fit
    before = X_in.copy()
    search = GaussianMixtureSearch(range(1, 4), random_state=0).fit(X_in)
    cores = cpu_count()
    assert search.n_jobs_ * search.n_threads_ <= cores
    assert search.n_jobs_ == min(cores, 12)
    assert len(seen) == 12
    assert {threads for threads, _ in seen} == {search.n_threads_}
    assert len({address for _, address in seen}) == 1  # one array for all fits
    np.testing.assert_array_equal(X_in, before)  # input not modified
    # the kept model gets the user's thread setting back
    assert search.best_estimator_.n_threads is None


def test_a_tiny_search_runs_its_fits_one_at_a_time():
    X, _ = sample_mixture("diag", 200, seed=12)
    assert X.size <= fastgmm._search.TINY_SEARCH_VALUES
    search = GaussianMixtureSearch(range(1, 4), random_state=0).fit(X)
    assert search.n_jobs_ == 1 and search.n_threads_ == cpu_count()
    two = GaussianMixtureSearch(range(1, 4), random_state=0, n_jobs=2).fit(X)
    assert two.n_jobs_ == min(2, cpu_count())  # an explicit count is kept
    assert [r["bic"] for r in two.results_] == [r["bic"] for r in search.results_]


def test_explicit_threads_and_jobs_are_respected():
    X, _ = sample_mixture("diag", 300, seed=12)
    search = GaussianMixtureSearch([1, 2], covariance_type="diag", n_jobs=1,
                                   n_threads=1, random_state=0).fit(X)
    assert (search.n_jobs_, search.n_threads_) == (1, 1)
    assert search.best_estimator_.n_threads == 1


def test_results_make_a_dataframe():
    pd = pytest.importorskip("pandas")
    X, _ = sample_mixture("diag", 500, seed=13)
    search = GaussianMixtureSearch([1, 2, 3], covariance_type=["diag", "tied"],
                                   random_state=0).fit(X)
    table = pd.DataFrame(search.results_)
    assert len(table) == 6
    for column in ["n_components", "covariance_type", "rank", "criterion", "bic",
                   "aic", "icl", "fit_time", "n_iter", "converged", "lower_bound",
                   "n_parameters", "error"]:
        assert column in table.columns
    assert table["rank"].min() == 1 and sorted(table["rank"]) == list(range(1, 7))
    assert (table["fit_time"] > 0).all()
    assert table.loc[table["rank"] == 1, "n_components"].item() == \
        search.best_params_["n_components"]


def test_methods_delegate_to_the_best_model():
    X, _ = sample_mixture("tied", 500, seed=14)
    search = GaussianMixtureSearch([1, 2, 3], covariance_type="tied",
                                   random_state=0).fit(X)
    best = search.best_estimator_
    np.testing.assert_array_equal(search.predict(X), best.predict(X))
    np.testing.assert_array_equal(search.predict_proba(X), best.predict_proba(X))
    np.testing.assert_array_equal(search.score_samples(X), best.score_samples(X))
    assert search.score(X) == best.score(X)
    assert search.sample(5)[0].shape == (5, 2)


def test_feature_names_pass_to_the_best_model():
    pd = pytest.importorskip("pandas")
    X, _ = sample_mixture("diag", 400, seed=15)
    frame = pd.DataFrame(X, columns=["height", "width"])
    search = GaussianMixtureSearch([2, 3], covariance_type="diag",
                                   random_state=0).fit(frame)
    assert list(search.feature_names_in_) == ["height", "width"]
    assert list(search.best_estimator_.feature_names_in_) == ["height", "width"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search.predict(frame)


def test_a_failing_candidate_ranks_last_and_says_why(monkeypatch):
    original = GaussianMixture.fit

    def fit(self, X, y=None, sample_weight=None):
        if self.n_components == 4:
            raise ValueError("ill-defined empirical covariance (simulated)")
        return original(self, X, y, sample_weight)

    monkeypatch.setattr(GaussianMixture, "fit", fit)
    X, _ = sample_mixture("spherical", 300, seed=18)
    search = GaussianMixtureSearch([2, 3, 4], covariance_type="spherical",
                                   random_state=0).fit(X)
    by_k = {r["n_components"]: r for r in search.results_}
    assert "ill-defined" in by_k[4]["error"]
    assert by_k[4]["rank"] == 3 and math.isnan(by_k[4]["criterion"])
    assert by_k[3]["error"] is None and by_k[3]["rank"] == 1
    assert search.best_params_["n_components"] == 3


def test_every_candidate_failing_raises():
    # two distinct points: no component can get a covariance without reg_covar
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0]]), 10, axis=0)
    with pytest.raises(ValueError, match="Every candidate failed.*covariance"):
        GaussianMixtureSearch([2, 3], covariance_type="full", reg_covar=0.0,
                              init_params="random_from_data",
                              random_state=0).fit(X)


def test_non_converged_best_warns_once():
    X, _ = sample_mixture("full", 400, seed=16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = GaussianMixtureSearch([2, 3, 4], covariance_type="full", max_iter=1,
                                       random_state=0).fit(X)
    messages = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(messages) == 1 and "did not converge" in str(messages[0].message)
    assert not any(r["converged"] for r in search.results_)
    with pytest.warns(ConvergenceWarning,
                      match=r"The best candidate \(1 component, 'full'\) did not"):
        GaussianMixtureSearch([1], covariance_type="full", max_iter=1,
                              random_state=0).fit(X)


@pytest.mark.parametrize("params, match", [
    (dict(criterion="bick"), "criterion"),
    (dict(n_components=[]), "n_components"),
    (dict(n_components=[0, 1]), "n_components"),
    (dict(n_components="3"), "n_components"),
    (dict(covariance_type=["full", "round"]), "covariance_type"),
    (dict(covariance_type=[]), "covariance_type"),
    (dict(cv=1), "cv"),
    (dict(cv=1.5), "cv"),
    (dict(n_init=0), "n_init"),
])
def test_invalid_parameters(params, match):
    X, _ = sample_mixture("diag", 100, seed=17)
    with pytest.raises(ValueError, match=match):
        GaussianMixtureSearch(**params).fit(X)


def test_more_components_than_rows():
    X = np.random.RandomState(0).randn(5, 2)
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixtureSearch(range(1, 8)).fit(X)
    with pytest.raises(ValueError, match="per fold"):
        GaussianMixtureSearch([4], criterion="heldout", cv=2).fit(X)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        GaussianMixtureSearch().predict(np.zeros((2, 2)))


def test_exported_and_cloneable():
    from sklearn.base import clone

    assert "GaussianMixtureSearch" in fastgmm.__all__
    search = GaussianMixtureSearch(range(2, 5), covariance_type=("diag",), cv=3)
    params = clone(search).get_params()
    assert list(params["n_components"]) == [2, 3, 4] and params["cv"] == 3


def test_search_on_the_numba_backend():
    X, true_k = sample_mixture("diag", 600, seed=19)
    search = GaussianMixtureSearch([2, 3], covariance_type="diag", backend="numba",
                                   random_state=0).fit(X)
    assert search.best_params_["n_components"] == true_k
    assert search.n_jobs_ * search.n_threads_ <= cpu_count()
