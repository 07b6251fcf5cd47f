"""Engine properties that need no statistics: determinism, chunk invariance, prefix extension,
precision handling, save/load, and memory-bounded results."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import collapse_theory as ct
from collapse_theory import engine

CASES = {
    "gauss-replace-exact": dict(family="gaussian", estimator="unbiased"),
    "gauss-accumulate-sample": dict(family="gaussian", estimator="mle", scenario="accumulate", kernel="sample"),
    "gauss-subsample": dict(family="gaussian", estimator="unbiased", scenario="accumulate-subsample"),
    "gauss-fresh-mixture": dict(
        family="gaussian", estimator="unbiased", scenario="fresh", mixing="mixture", real_fraction=0.3
    ),
    "gauss3-replace-exact": dict(family="gaussian", estimator="unbiased", dim=3),
    "gauss2-fresh-weighted": dict(
        family="gaussian", estimator="mle", dim=2, scenario="fresh", real_fraction=0.4, real_weight=0.6
    ),
    "cat-replace-exact": dict(family="categorical", probs=(0.5, 0.3, 0.2)),
    "cat-accumulate-sample": dict(family="categorical", probs=(0.5, 0.3, 0.2), scenario="accumulate", kernel="sample"),
    "cat-fresh-mixture": dict(
        family="categorical",
        probs=(0.5, 0.3, 0.2),
        scenario="fresh",
        mixing="mixture",
        real_fraction=0.2,
        estimator="laplace",
    ),
    "kde-replace": dict(family="kde", bandwidth=0.3),
    "kde-accumulate-silverman": dict(family="kde", bandwidth="silverman", scenario="accumulate"),
    "reg-fixed-accumulate": dict(family="regression", dim=3, scenario="accumulate"),
    "reg-fresh-subsample": dict(
        family="regression", dim=2, design="fresh", scenario="accumulate-subsample", kernel="sample"
    ),
    "reg-fresh-sample": dict(family="regression", dim=3, design="fresh", kernel="sample"),
    "reg-fixed-sample-accumulate": dict(family="regression", dim=3, scenario="accumulate", kernel="sample"),
    "pois-replace-exact": dict(family="poisson", rate=2.0),
    "pois-fresh-sample": dict(family="poisson", rate=2.0, scenario="fresh", mixing="mixture", kernel="sample"),
    "gmm-replace": dict(family="gmm", truth="mixture:0.5,-2,1;0.5,2,1", em_iterations=20),
    "gauss-mixture-truth-fresh": dict(
        family="gaussian", estimator="unbiased", truth="mixture:0.3,-1,1;0.7,1,0.5", scenario="fresh"
    ),
    "gauss-naive-stochastic": dict(
        family="gaussian", estimator="unbiased", kernel="naive-sample", precision="bfloat16", rounding="stochastic"
    ),
    "gauss-bayes": dict(family="gaussian", estimator="bayes", prior=(0.0, 1.0, 2.0, 1.0), kernel="sample"),
}


def run(case, **kw):
    base = dict(samples=8, generations=12, chains=40, seed=3, record=(0, 1, 5, 12))
    base.update(CASES[case])
    base.update(kw)
    return ct.simulate(ct.SimConfig(**base), progress=False)


@pytest.mark.parametrize("case", sorted(CASES))
def test_chunk_invariance_and_determinism(case):
    # 150 chains: one chunk of 192 lanes, vs chunks of 64 (three, the last partly padding).
    a = run(case, chains=150)
    b = run(case, chains=150, chunk_size=7)
    c = run(case, chains=150)
    small = run(case, chains=40)
    for k in a.values:
        np.testing.assert_array_equal(a.values[k], b.values[k], err_msg=k)
        np.testing.assert_array_equal(a.values[k], c.values[k], err_msg=k)
        np.testing.assert_array_equal(a.values[k][:, :40], small.values[k], err_msg=k)
        # Row 0 is the truth, where log-errors are legitimately -inf (log_test_error).
        assert np.all(np.isfinite(a.values[k][1:])), k


@pytest.mark.parametrize(
    "case",
    ["gauss-replace-exact", "cat-fresh-mixture", "gauss-accumulate-sample", "kde-replace", "reg-fixed-accumulate"],
)
def test_longer_run_extends_shorter(case):
    short = run(case, generations=12, record=(1, 5, 12))
    long = run(case, generations=30, record=(1, 5, 12, 30))
    for k in short.values:
        np.testing.assert_array_equal(short.values[k], long.values[k][:3], err_msg=k)


def test_seed_changes_results_and_chains_differ():
    a = run("gauss-replace-exact")
    b = run("gauss-replace-exact", seed=4)
    assert not np.array_equal(a.values["mu_err2"][1:], b.values["mu_err2"][1:])
    assert len(np.unique(a.values["mu_err2"][-1])) == a.config.chains


def test_generation_zero_is_truth():
    r = run("gauss3-replace-exact")
    np.testing.assert_allclose(r.values["trace"][0], 3.0, rtol=1e-6)
    np.testing.assert_allclose(r.values["w2_sq"][0], 0.0, atol=1e-5)
    r = run("cat-replace-exact")
    np.testing.assert_allclose(r.values["heterozygosity"][0], 1 - 0.25 - 0.09 - 0.04, rtol=1e-6)


def test_float64_is_local_and_matches_law_shape():
    before = jax.config.jax_enable_x64
    r = run("gauss-replace-exact", precision="float64")
    assert jax.config.jax_enable_x64 == before
    assert r.values["sigma2"].dtype == np.float64
    assert np.all(np.isfinite(r.values["log_sigma2"]))


def test_save_load_roundtrip(tmp_path):
    r = run("cat-accumulate-sample")
    path = r.save(tmp_path / "res")
    back = ct.load(path)
    assert back.config == r.config
    assert back.version == ct.__version__
    for k in r.values:
        np.testing.assert_array_equal(back.values[k], r.values[k])
    assert back.to_json()["metrics"] == r.to_json()["metrics"]


def test_metric_selection_and_summary():
    r = run("gauss-replace-exact", metrics=("sigma2", "w2_sq"))
    assert list(r.values) == ["sigma2", "w2_sq"]
    s = r.summary("sigma2")
    v = r.values["sigma2"]
    np.testing.assert_allclose(s.mean, v.mean(axis=1))
    np.testing.assert_allclose(s.se, v.std(axis=1, ddof=1) / np.sqrt(v.shape[1]))
    with pytest.raises(KeyError):
        r.summary("nope")
    with pytest.raises(ct.ConfigError):
        run("gauss-replace-exact", metrics=("nope",))


def test_a_metric_subset_is_measured_alone_and_equals_the_full_run():
    """Only the asked-for metrics are computed (the measure program stacks just those rows, so
    XLA drops the others' work), in the asked order, with the full run's values up to float64
    rounding: the chains are the same, but XLA may fuse a metric's arithmetic differently in
    the smaller program (measured: at most 1 ulp)."""
    full = run("gauss-replace-exact")
    sub = run("gauss-replace-exact", metrics=("w2_sq", "sigma2"))
    assert list(sub.values) == ["w2_sq", "sigma2"]
    for k in sub.values:
        np.testing.assert_allclose(sub.values[k], full.values[k], rtol=4 * np.finfo(np.float64).eps, atol=0)
    c = ct.SimConfig(family="gaussian", estimator="unbiased", samples=20, generations=3, chains=64).validated()
    prog = engine._program(engine._graph(c), 64, jnp.float32, tuple(jax.local_devices()[:1]), ("w2_sq",))
    assert prog.names == ("w2_sq",)
    assert np.asarray(prog.measure(prog.init())).shape[0] == 1 + len(prog.diagnostics)


def test_default_record_is_log_spaced():
    from collapse_theory.config import default_record

    assert default_record(1000) == (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
    assert default_record(7) == (0, 1, 2, 5, 7)


def test_many_state_categorical_is_chunk_invariant():
    """The conditional-binomial tree packs its nodes into lanes; the packing once followed the
    chunk's chain count, so K = 100 over 1000 chains changed with ``chunk_size`` (found by the GPU
    check's identity run). The packing is now planned once per K."""
    kw = dict(family="categorical", probs=(0.01,) * 100, samples=1000, generations=2, chains=1000, seed=11)
    a = ct.simulate(ct.SimConfig(**kw), progress=False)
    b = ct.simulate(ct.SimConfig(**kw, chunk_size=64), progress=False)
    for k in a.values:
        np.testing.assert_array_equal(a.values[k], b.values[k], err_msg=k)
