"""Adversarial inputs: nothing crashes the interpreter, nothing is silently wrong.

Whatever could kill the process (out-of-bounds access in compiled code, thread
creation, a threading layer that aborts) runs in a child interpreter, and the
test reads what it printed.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm import GaussianMixture, GaussianMixtureSearch

from ..helpers import BACKENDS, COVARIANCE_TYPES, DTYPES, make_blobs


def run_child(code, env=None, timeout=600):
    """Run ``code`` in a fresh interpreter; return its last stdout line as JSON."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, (
        f"child exited with {result.returncode}\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ crashes


def test_warm_start_with_other_shapes_is_an_error_not_a_crash():
    # was: glibc "double free or corruption" in the Numba kernels
    report = run_child(f"""
        import json
        import numpy as np
        import fastgmm
        rng = np.random.RandomState(0)
        outcomes = []
        for backend in {BACKENDS!r}:
            for t in {COVARIANCE_TYPES!r}:
                for change in ("features", "components", "type"):
                    g = fastgmm.GaussianMixture(2, covariance_type=t, warm_start=True,
                                                backend=backend, random_state=0)
                    g.fit(rng.normal(size=(300, 2)))
                    X = rng.normal(size=(300, 3 if change == "features" else 2))
                    if change == "components":
                        g.set_params(n_components=3)
                    if change == "type":
                        g.set_params(covariance_type="full" if t != "full" else "diag")
                    try:
                        g.fit(X)
                        outcomes.append("fitted")
                    except ValueError as exc:
                        outcomes.append("warm_start" in str(exc))
        print(json.dumps(outcomes))
    """)
    assert report == [True] * (len(BACKENDS) * len(COVARIANCE_TYPES) * 3)


def test_kernel_boundary_rejects_every_inconsistent_shape():
    # the compiled drivers never read or write out of bounds, whatever the
    # Python layer hands them: each bad call is a ValueError
    report = run_child(f"""
        import json
        import numpy as np
        from fastgmm import kernels
        from fastgmm.em import covariance as cov
        from fastgmm.kernels import _common
        from fastgmm.kernels._backend import _readonly as ro
        rng = np.random.RandomState(0)
        results = {{}}

        def expect_error(name, call):
            try:
                call()
                results[name] = "no error"
            except ValueError as exc:
                results[name] = "ValueError"

        for name in {BACKENDS!r}:
            b = kernels.get_backend(name)
            d, k = 3, 2
            X = rng.normal(size=(600, d))
            means = rng.normal(size=(k, d))
            for t in ("full", "tied", "diag", "spherical"):
                U = np.ones(cov.covariance_shape(k, d, t))
                if t in ("full", "tied"):
                    U = np.triu(U) + np.eye(d)
                c = np.zeros(k)
                out = cov.SufficientStats.zeros(k, d, t)
                tag = f"{{name}}/{{t}}"
                expect_error(tag + "/X features", lambda: b.accumulate(
                    rng.normal(size=(600, d + 1)), None, c, means, U, t, out))
                expect_error(tag + "/means", lambda: b.accumulate(
                    X, None, c, rng.normal(size=(k + 1, d)), U, t, out))
                expect_error(tag + "/U", lambda: b.accumulate(
                    X, None, c, means, np.ones((k + 1, d, d)), t, out))
                expect_error(tag + "/c", lambda: b.accumulate(
                    X, None, np.zeros(k + 3), means, U, t, out))
                expect_error(tag + "/w", lambda: b.accumulate(
                    X, np.ones(599), c, means, U, t, out))
                expect_error(tag + "/out", lambda: b.accumulate(
                    X, None, c, means, U, t, cov.SufficientStats.zeros(k + 1, d, t)))
                expect_error(tag + "/Fortran X", lambda: b.accumulate(
                    np.asfortranarray(X), None, c, means, U, t, out))
                expect_error(tag + "/resp", lambda: b.posterior(
                    X, c, means, U, t, resp=np.empty((599, k))))
                expect_error(tag + "/labels", lambda: b.posterior(
                    X, c, means, U, t, labels=np.empty(600, np.int32)))
                # the drivers themselves, handed bad row ranges
                p = kernels._backend._Params(c, means, U, t)
                q = _common.Partials(2, k, d, t)
                kind = _common.KIND[t]
                for label, segments in (("past the end", [[0, 0, 300], [1, 300, 601]]),
                                        ("slot out of range", [[0, 0, 300], [2, 300, 600]]),
                                        ("slots repeated", [[0, 0, 300], [0, 300, 600]]),
                                        ("negative", [[0, -1, 300]])):
                    # typed as the Backend hands them (read-only inputs), so
                    # that Numba runs the drivers it compiled already
                    seg = ro(np.array(segments, dtype=np.intp))
                    expect_error(tag + "/driver " + label, lambda: b.drivers.accumulate_partitions(
                        ro(X), ro(np.zeros(0)), p.c, p.flat_means, p.U, p.center, p.shifted,
                        p.shifted_u, seg, q.nk, q.s1, q.s2, q.cc, q.ll, kind, False, 2))
                bounds = ro(np.array([0, 300, 601], dtype=np.intp))
                expect_error(tag + "/driver bounds", lambda: b.drivers.posterior_partitions(
                    ro(X), p.c, p.flat_means, p.U, p.center, p.shifted_u, bounds,
                    np.empty(600), np.empty((0, k)), np.empty(0, np.intp), kind, False,
                    False, 2))
        print(json.dumps(results))
    """)
    assert report and all(v == "ValueError" for v in report.values()), {
        k: v for k, v in report.items() if v != "ValueError"}


def test_thread_counts_beyond_the_machine_are_capped():
    # was: a segfault in libgomp at 100000 threads, 1,004 threads left alive
    # at 1000, OverflowError at predict for 10**12 (also from a model file)
    report = run_child(f"""
        import json, os, tempfile
        import numpy as np
        import fastgmm
        X = np.random.RandomState(0).normal(size=(5000, 3))
        labels = {{}}
        for backend in {BACKENDS!r}:
            for n_threads in (1000, 100000, 10**12):
                g = fastgmm.GaussianMixture(3, backend=backend, n_threads=n_threads,
                                            random_state=0).fit(X)
                labels[backend, n_threads] = g.predict(X).tolist()
            path = os.path.join(tempfile.mkdtemp(), "model.npz")
            g.save(path)
            labels[backend, "loaded"] = fastgmm.load(path).predict(X).tolist()
        with open("/proc/self/status") as f:
            threads = int(next(l for l in f if l.startswith("Threads:")).split()[1])
        first = next(iter(labels.values()))
        print(json.dumps({{"same": all(v == first for v in labels.values()),
                          "threads": threads, "cores": len(os.sched_getaffinity(0))}}))
    """)
    assert report["same"]
    # the main thread, Numba's and OpenMP's pools (at most one per core each),
    # and BLAS's: nowhere near the thousands asked for
    assert report["threads"] <= 4 * report["cores"] + 8


def test_numba_workqueue_layer_is_safe_from_several_threads():
    # was: "Numba workqueue threading layer is terminating: Concurrent access";
    # the Numba kernels now run on a pool of GIL-free loops, whatever layer
    # Numba is set to use
    report = run_child("""
        import json, threading
        import numpy as np
        import numba
        import fastgmm
        X = np.random.RandomState(0).normal(size=(20000, 3))
        g = fastgmm.GaussianMixture(3, backend="numba", random_state=0).fit(X)
        expected = g.predict_proba(X)
        fits = []
        same = []

        def work(i):
            for _ in range(5):
                same.append(bool(np.array_equal(g.predict_proba(X), expected)))
            fits.append(fastgmm.GaussianMixture(3, backend="numba",
                                                random_state=0).fit(X).means_.tolist())

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(json.dumps({"layer": numba.config.THREADING_LAYER, "same": same,
                          "fits": fits, "serial": g.means_.tolist()}))
    """, env={"NUMBA_THREADING_LAYER": "workqueue"})
    assert report["layer"] == "workqueue"
    assert report["same"] == [True] * 20
    assert all(f == report["serial"] for f in report["fits"])


# --------------------------------------------------------- silent errors


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exponent=st.integers(-300, 300),
       covariance_type=st.sampled_from(COVARIANCE_TYPES),
       dtype=st.sampled_from(DTYPES))
def test_scaling_every_weight_does_not_change_the_fit(backend, exponent,
                                                      covariance_type, dtype):
    # was: weights of 1e-20 gave lower bound -1105 instead of -3.5; float32
    # data with weights 1e-9 moved covariances by 85%
    X, _ = make_blobs(200, 2, 3, seed=1, dtype=dtype)
    w = np.random.RandomState(2).rand(200) + 0.1
    params = dict(covariance_type=covariance_type, random_state=0, backend=backend)
    base = GaussianMixture(3, **params).fit(X, sample_weight=w)
    scaled = GaussianMixture(3, **params).fit(X, sample_weight=w * 10.0**exponent)
    rtol = 1e-8 if dtype == np.float64 else 1e-4
    assert scaled.n_iter_ == base.n_iter_
    assert_allclose(scaled.lower_bound_, base.lower_bound_, rtol=rtol)
    for name in ("weights_", "means_", "covariances_"):
        assert_allclose(getattr(scaled, name), getattr(base, name), rtol=rtol,
                        atol=rtol * 1e-3)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random",
                                         "random_from_data"])
def test_rows_of_zero_weight_take_no_part(backend, covariance_type, init_params):
    # was: a row of 1e200 with weight 0 made Numba raise "ill-defined
    # covariance" (0 x inf), and 'tied' failed from 1e155 on in Cython
    X, _ = make_blobs(300, 3, 3, seed=3)
    extra = np.array([[1e200, -1e200, 1e200], [1e155, 1e155, 0.0], [5.0, 5.0, 5.0]])
    rng = np.random.RandomState(4)
    w = rng.rand(300) + 0.5
    order = rng.permutation(303)
    X_all = np.vstack([X, extra])[order]
    w_all = np.concatenate([w, np.zeros(3)])[order]
    params = dict(covariance_type=covariance_type, init_params=init_params,
                  random_state=0, backend=backend)
    kept = w_all > 0
    expected = GaussianMixture(3, **params).fit(X_all[kept], sample_weight=w_all[kept])
    fitted = GaussianMixture(3, **params).fit(X_all, sample_weight=w_all)
    assert fitted.n_iter_ == expected.n_iter_
    assert_allclose(fitted.lower_bound_, expected.lower_bound_, rtol=1e-10)
    for name in ("weights_", "means_", "covariances_"):
        assert_allclose(getattr(fitted, name), getattr(expected, name), rtol=1e-9,
                        atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_points_of_zero_density_get_a_posterior_not_nan(covariance_type, dtype):
    # was: NaN on Numba (as scikit-learn) and 0.5/0.5 on Cython
    X, _ = make_blobs(400, 2, 2, seed=5, dtype=dtype)
    far = np.array([[1e300, 1e300], [-1e300, 3.0], [3.0, 1e300]], dtype=dtype)
    if dtype == np.float32:
        far = np.array([[3e38, 3e38], [-3e38, 3.0], [3.0, 3e38]], dtype=dtype)
    results = []
    for backend in BACKENDS:
        gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0,
                             backend=backend).fit(X)
        proba = gm.predict_proba(far)
        assert np.all(np.isfinite(proba))
        assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        assert np.all(gm.score_samples(far) == -np.inf)
        assert_array_equal(gm.predict(far), proba.argmax(axis=1))
        results.append((proba, gm.predict(far)))
    for proba, labels in results[1:]:
        assert_allclose(proba, results[0][0], rtol=1e-6)
        assert_array_equal(labels, results[0][1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_far_points_agree_with_the_limit_of_nearer_ones(backend):
    # a row just within range (1e150: log p finite) and one beyond (1e300:
    # log p = -inf) in the same direction get the same posterior
    X, _ = make_blobs(400, 2, 3, seed=6)
    gm = GaussianMixture(3, random_state=0, backend=backend).fit(X)
    direction = np.array([[0.6, -0.8]])
    near, far = gm.predict_proba(direction * 1e150), gm.predict_proba(direction * 1e300)
    assert gm.score_samples(direction * 1e300)[0] == -np.inf
    assert_allclose(far, near, atol=1e-12)


def test_search_candidates_are_fitted_as_the_estimator_would_be():
    # was: a seed drawn per candidate, so a candidate depended on the grid
    X, _ = make_blobs(500, 2, 4, seed=7)
    grid = GaussianMixtureSearch(range(1, 5), covariance_type=["diag", "full"],
                                 random_state=0, n_jobs=2).fit(X)
    swapped = GaussianMixtureSearch([4, 2, 3, 1], covariance_type=["full", "diag"],
                                    random_state=0, n_jobs=1).fit(X)
    by_candidate = {(r["n_components"], r["covariance_type"]): r["bic"]
                    for r in swapped.results_}
    for record in grid.results_:
        k, t = record["n_components"], record["covariance_type"]
        alone = GaussianMixture(k, covariance_type=t, random_state=0).fit(X)
        assert record["bic"] == pytest.approx(alone.bic(X), rel=1e-12)
        assert record["bic"] == by_candidate[k, t]
    best = grid.best_estimator_
    alone = GaussianMixture(**grid.best_params_, random_state=0).fit(X)
    assert_array_equal(best.means_, alone.means_)


def test_search_with_restarts_matches_the_estimator_with_n_init():
    X, _ = make_blobs(400, 3, 3, seed=8)
    rs = np.random.RandomState(11)
    search = GaussianMixtureSearch([2, 3], covariance_type="full", n_init=3,
                                   random_state=rs).fit(X)
    for record in search.results_:
        alone = GaussianMixture(record["n_components"], n_init=3,
                                random_state=np.random.RandomState(11)).fit(X)
        assert record["lower_bound"] == alone.lower_bound_
        assert record["n_fits"] == 3
    # the search's own RandomState is copied, not consumed
    assert rs.randint(1000) == np.random.RandomState(11).randint(1000)


# --------------------------------------------------- the estimator, at random


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 40),
    d=st.integers(1, 4),
    k=st.integers(1, 4),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    dtype=st.sampled_from(DTYPES),
    offset=st.sampled_from([0.0, 1e6, -1e12]),
    spread=st.sampled_from([1e-8, 1.0, 1e5]),
    duplicates=st.booleans(),
    constant_column=st.booleans(),
    weighted=st.booleans(),
    backend=st.sampled_from(BACKENDS),
    seed=st.integers(0, 2**16),
)
def test_any_input_fits_or_raises_a_clear_error(n, d, k, covariance_type, dtype,
                                                 offset, spread, duplicates,
                                                 constant_column, weighted,
                                                 backend, seed):
    rng = np.random.RandomState(seed)
    X = (rng.randn(n, d) * spread + offset).astype(dtype)
    if duplicates:
        X[n // 2:] = X[0]
    if constant_column:
        X[:, 0] = offset
    w = rng.rand(n) * (rng.rand(n) > 0.3) if weighted else None
    X_before = X.copy()
    w_before = None if w is None else w.copy()
    gm = GaussianMixture(k, covariance_type=covariance_type, random_state=seed,
                         backend=backend, max_iter=20)
    try:
        gm.fit(X, sample_weight=w)
    except ValueError as exc:
        assert str(exc)
    else:
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
            assert np.all(np.isfinite(getattr(gm, name))), name
        assert np.isfinite(gm.lower_bound_)
        proba = gm.predict_proba(X)
        assert np.all(np.isfinite(proba))
        assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert_array_equal(X, X_before)
    if w is not None:
        assert_array_equal(w, w_before)
