"""Hypothesis strategies for simulation configurations and truths.

Shapes are drawn from small fixed sets (sample sizes, dimensions, numbers of states, chain counts)
so that property tests reuse a handful of compiled programs instead of recompiling per example,
as JAX's own tests do. Values that do not change shapes (seeds, means, variances, probabilities)
are drawn freely.

Example:
    >>> from hypothesis import given
    >>> from collapse_theory.testing import strategies as cts
    >>> @given(cts.gaussian_configs())
    ... def test_no_nans(cfg):
    ...     assert all(np.isfinite(v).all() for v in ct.simulate(cfg).values.values())

"""

from __future__ import annotations

from hypothesis import strategies as st

from collapse_theory.config import SimConfig

__all__ = [
    "seeds",
    "probabilities",
    "truths",
    "gaussian_configs",
    "categorical_configs",
    "kde_configs",
    "regression_configs",
    "poisson_configs",
]

SAMPLE_SIZES = (5, 20)
DIMS = (1, 2)
STATES = (3, 6)
CHAINS = 64


def seeds() -> st.SearchStrategy[int]:
    """Seeds in [0, 2**63)."""
    return st.integers(min_value=0, max_value=2**63 - 1)


@st.composite
def probabilities(draw, k: int | None = None, allow_zero: bool = True) -> tuple[float, ...]:
    """A probability vector over ``k`` states (k from :data:`STATES` when not given)."""
    k = draw(st.sampled_from(STATES)) if k is None else k
    positive = st.floats(min_value=1e-6, max_value=1.0)
    entry = st.one_of(st.just(0.0), positive) if allow_zero else positive
    w = draw(st.lists(entry, min_size=k, max_size=k).filter(lambda v: sum(v) > 0.1))
    s = sum(w)
    return tuple(x / s for x in w)


@st.composite
def gaussian_configs(draw, scenarios=("replace", "accumulate", "fresh"), generations: int = 8) -> SimConfig:
    """Valid Gaussian configurations over a small fixed set of shapes."""
    d = draw(st.sampled_from(DIMS))
    m = draw(st.sampled_from(SAMPLE_SIZES))
    scenario = draw(st.sampled_from(scenarios))
    return SimConfig(
        family="gaussian",
        estimator=draw(st.sampled_from(("unbiased", "mle"))),
        scenario=scenario,
        samples=m,
        generations=generations,
        chains=CHAINS,
        seed=draw(seeds()),
        dim=d,
        mean=tuple(draw(st.floats(-1e3, 1e3)) for _ in range(d)),
        cov_diag=tuple(draw(st.floats(1e-6, 1e6)) for _ in range(d)),
        real_fraction=0.5 if scenario == "fresh" else None,
        record=(0, 1, generations),
    )


@st.composite
def categorical_configs(draw, scenarios=("replace", "accumulate"), generations: int = 8) -> SimConfig:
    """Valid categorical configurations over a small fixed set of shapes."""
    k = draw(st.sampled_from(STATES))
    return SimConfig(
        family="categorical",
        probs=draw(probabilities(k)),
        scenario=draw(st.sampled_from(scenarios)),
        samples=draw(st.sampled_from(SAMPLE_SIZES)),
        generations=generations,
        chains=CHAINS,
        seed=draw(seeds()),
        kernel="sample",
        record=(0, 1, generations),
    )


@st.composite
def truths(draw) -> str:
    """A ``--truth`` spec: a 2-component mixture or a Student-t with finite variance."""
    if draw(st.booleans()):
        w = draw(st.floats(0.05, 0.95))
        m1, m2 = draw(st.floats(-5, 5)), draw(st.floats(-5, 5))
        s1, s2 = draw(st.floats(0.1, 3)), draw(st.floats(0.1, 3))
        return f"mixture:{w!r},{m1!r},{s1!r};{1 - w!r},{m2!r},{s2!r}"
    return f"student-t:{draw(st.floats(2.5, 30))!r},{draw(st.floats(-5, 5))!r},{draw(st.floats(0.1, 3))!r}"


@st.composite
def kde_configs(draw, scenarios=("replace", "accumulate"), generations: int = 6) -> SimConfig:
    """Valid KDE configurations (fixed bandwidth or a rule) over fixed shapes."""
    return SimConfig(
        family="kde",
        scenario=draw(st.sampled_from(scenarios)),
        samples=draw(st.sampled_from(SAMPLE_SIZES)),
        bandwidth=draw(st.one_of(st.floats(1e-3, 3.0), st.sampled_from(("scott", "silverman")))),
        mean=(draw(st.floats(-1e3, 1e3)),),
        cov_diag=(draw(st.floats(1e-4, 1e4)),),
        generations=generations,
        chains=CHAINS,
        seed=draw(seeds()),
        record=(0, 1, generations),
    )


@st.composite
def regression_configs(draw, scenarios=("replace", "accumulate"), generations: int = 6) -> SimConfig:
    """Valid regression configurations: d in DIMS, T = 4 d + 4 rows, fixed or fresh design."""
    d = draw(st.sampled_from(DIMS))
    return SimConfig(
        family="regression",
        scenario=draw(st.sampled_from(scenarios)),
        dim=d,
        samples=4 * d + 4,
        noise_sd=draw(st.floats(1e-3, 1e3)),
        design=draw(st.sampled_from(("fixed", "fresh"))),
        mean=tuple(draw(st.floats(-1e2, 1e2)) for _ in range(d)),
        generations=generations,
        chains=CHAINS,
        seed=draw(seeds()),
        record=(0, 1, generations),
    )


@st.composite
def poisson_configs(draw, scenarios=("replace", "accumulate", "fresh"), generations: int = 6) -> SimConfig:
    """Valid Poisson configurations over fixed shapes."""
    return SimConfig(
        family="poisson",
        scenario=draw(st.sampled_from(scenarios)),
        rate=draw(st.floats(1e-3, 1e3)),
        samples=draw(st.sampled_from(SAMPLE_SIZES)),
        kernel=draw(st.sampled_from(("exact", "sample"))),
        generations=generations,
        chains=CHAINS,
        seed=draw(seeds()),
        record=(0, 1, generations),
    )
