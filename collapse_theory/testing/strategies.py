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

__all__ = ["seeds", "probabilities", "gaussian_configs", "categorical_configs"]

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
    return SimConfig(
        family="gaussian",
        estimator=draw(st.sampled_from(("unbiased", "mle"))),
        scenario=draw(st.sampled_from(scenarios)),
        samples=m,
        generations=generations,
        chains=CHAINS,
        seed=draw(seeds()),
        dim=d,
        mean=tuple(draw(st.floats(-1e3, 1e3)) for _ in range(d)),
        cov_diag=tuple(draw(st.floats(1e-6, 1e6)) for _ in range(d)),
        real_fraction=0.5,
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
