"""Hypothesis strategies draw shapes from buckets, and a hypothesis run does not recompile per example."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import collapse_theory as ct
from collapse_theory import testing as ctt
from collapse_theory.testing import profiles
from collapse_theory.testing import strategies as cts


@settings(max_examples=40)
@given(cts.spd_matrices(max_condition=1e6))
def test_spd_matrices_are_symmetric_positive_definite_and_conditioned(a):
    m = np.asarray(a)
    assert m.shape[0] in cts.DIMS and np.array_equal(m, m.T)
    ev = np.linalg.eigvalsh(m)
    assert ev.min() > 0 and ev.max() / ev.min() <= 1e6 * (1 + 1e-6)
    np.linalg.cholesky(m)


@settings(max_examples=40)
@given(cts.simplices())
def test_simplices_have_zeros_and_tiny_masses_and_sum_to_one(p):
    assert len(p) in cts.STATES and min(p) >= 0 and max(p) >= 1e-3 / len(p)
    assert math.fsum(p) == pytest.approx(1.0, abs=1e-12)


def test_simplices_reach_their_edge_cases():
    seen = {"zero": False, "tiny": False}

    @settings(max_examples=60, derandomize=True, database=None)
    @given(cts.simplices())
    def collect(p):
        seen["zero"] |= 0.0 in p
        seen["tiny"] |= any(0 < x < 1e-5 for x in p)

    collect()
    assert all(seen.values()), seen


@settings(max_examples=20)
@given(cts.sample_sizes(), cts.schedules(), cts.scenarios(), cts.precisions(), cts.chain_counts(), cts.dtypes())
def test_parameter_strategies_draw_from_their_buckets(m, schedule, scenario, precision, chains, dtype):
    assert m in cts.SAMPLE_SIZES and schedule in cts.SCHEDULES and scenario in cts.SCENARIOS
    assert precision in cts.PRECISIONS and chains in cts.CHAIN_BUCKET and dtype in (jnp.float32, jnp.float64)
    cfg = ct.SimConfig(family="gaussian", estimator="mle", samples_schedule=schedule, generations=3, chains=chains)
    assert np.all(cfg.validated().sizes() >= 3)


def sample(key, p, n):
    return p[0] + p[1] * jax.random.normal(key, (n,))


def fit(x, w):
    w = w / jnp.sum(w)
    mu = jnp.sum(w * x)
    return (mu, jnp.sqrt(jnp.sum(w * (x - mu) ** 2)))


MINE = ct.estimator(
    sample=sample, fit=fit, truth=(0.0, 1.0), metrics=lambda p: {"sigma2": p[1] ** 2}, name="strategies-mle"
)
BUILTIN = ct.family("gaussian", estimator="mle")


def test_a_hypothesis_run_compiles_once_per_shape_not_per_example():
    """25 examples over seeds, chain counts (one chunk bucket) and sample sizes.

    The built-in exact kernel is capacity-free (one program for every M); the user estimator's
    program depends on M. Programs compiled <= distinct (family, scenario, M) shapes, far below
    the number of examples.
    """
    shapes, examples = set(), []

    @settings(max_examples=25, derandomize=True, database=None, deadline=None)
    @given(cts.run_settings(scenarios_=("replace",)), cts.sample_sizes(), st.sampled_from((MINE, BUILTIN)))
    def run(kw, m, fam):
        r = ct.run(fam, samples=m, generations=3, record=(3,), progress=False, **kw)
        assert np.all(np.isfinite(r.values["sigma2"]))
        shapes.add((fam.name, kw["scenario"], m if fam is MINE else None))
        examples.append(kw["seed"])

    with ctt.count_compilations() as c:
        run()
    assert len(examples) == 25 and len(set(examples)) > 10
    assert c.programs <= len(shapes) <= len(cts.SAMPLE_SIZES) + 1, (c, shapes)
    with ctt.count_compilations() as again:
        run()  # the same examples again: nothing new to compile
    assert again.programs == 0 and again.backend == 0, again


def test_profiles_are_registered_and_not_loaded():
    assert profiles.register_profiles() == ("dev", "ci", "nightly")
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None and ci.deadline is None
    assert settings.get_profile("nightly").max_examples >= 1000 and settings.get_profile("dev").max_examples <= 10
    assert settings.default.derandomize  # the suite runs the project's ci profile, not nightly


@pytest.mark.parametrize(
    "strategy",
    [
        cts.gaussian_configs(),
        cts.categorical_configs(),
        cts.kde_configs(),
        cts.regression_configs(),
        cts.poisson_configs(),
    ],
    ids=["gaussian", "categorical", "kde", "regression", "poisson"],
)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_config_strategies_draw_only_settings_the_engine_accepts(strategy, data):
    """The strategies promise valid configurations: every draw passes the family's validation,
    precision checks included (a draw the engine refuses would fail a user's property test for a
    reason that is not theirs). Validation only, no simulation, so 300 draws per family are cheap."""
    data.draw(strategy).validated()
