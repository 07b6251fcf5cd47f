"""Hypothesis strategies for simulation configurations and truths.

Shapes are drawn from small fixed sets (sample sizes, dimensions, numbers of states, chain counts)
so that property tests reuse a handful of compiled programs instead of recompiling per example,
as JAX's own tests do. Values that do not change shapes (seeds, means, variances, probabilities)
are drawn freely.

Note: the engine compiles a family's settings (its truth: mean, covariance, probabilities) into
its program, so configurations whose settings differ compile separately (the ``*_configs``
strategies do, one program per example). To run many examples through few programs, draw only
run-time values freely (seeds, chain counts within a bucket, the sample size of a capacity-free
family) and settings from a bucket, as :func:`run_settings` does; the tests count this with
:func:`~collapse_theory.testing.count_compilations`.

Parameter strategies: :func:`spd_matrices` (condition number bounded, eigenvalues log-spread),
:func:`simplices` (zeros and tiny masses), :func:`probabilities`, :func:`sample_sizes`,
:func:`schedules`, :func:`scenarios`, :func:`precisions`, :func:`dtypes`, :func:`seeds`,
:func:`chain_counts`.

Example:
    >>> from hypothesis import given
    >>> from collapse_theory.testing import strategies as cts
    >>> @given(cts.gaussian_configs())
    ... def test_no_nans(cfg):
    ...     assert all(np.isfinite(v).all() for v in ct.simulate(cfg).values.values())

"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from collapse_theory.config import SimConfig

__all__ = [
    "seeds",
    "chain_counts",
    "sample_sizes",
    "schedules",
    "scenarios",
    "precisions",
    "dtypes",
    "spd_matrices",
    "simplices",
    "run_settings",
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
CHAIN_BUCKET = (65, 100, 128)
"""Chain counts that share one compiled chunk (the engine rounds chunks up to 64-lane multiples, 128 here)."""
SCHEDULES = ("3*(t+1)", "5 + 2*t", "4*(t+1)**2")
"""Sample-size schedules in ``t`` (linear, affine, quadratic growth)."""
SCENARIOS = ("replace", "accumulate", "accumulate-subsample", "fresh")
PRECISIONS = ("float32", "float64")


def seeds() -> st.SearchStrategy[int]:
    """Seeds in [0, 2**63)."""
    return st.integers(min_value=0, max_value=2**63 - 1)


def chain_counts(bucket: tuple[int, ...] = CHAIN_BUCKET) -> st.SearchStrategy[int]:
    """Chain counts from one bucket (the same compiled chunk size)."""
    return st.sampled_from(bucket)


def sample_sizes(bucket: tuple[int, ...] = SAMPLE_SIZES) -> st.SearchStrategy[int]:
    """Sample sizes M from a small fixed set (each is a buffer shape for sample-level kernels)."""
    return st.sampled_from(bucket)


def schedules(bucket: tuple[str, ...] = SCHEDULES) -> st.SearchStrategy[str]:
    """Sample-size schedules (``samples_schedule=``) from a small fixed set."""
    return st.sampled_from(bucket)


def scenarios(bucket: tuple[str, ...] = SCENARIOS) -> st.SearchStrategy[str]:
    """Scenario names."""
    return st.sampled_from(bucket)


def precisions(bucket: tuple[str, ...] = PRECISIONS) -> st.SearchStrategy[str]:
    """Run precisions (the carrier dtypes float32 and float64)."""
    return st.sampled_from(bucket)


def dtypes(bucket: tuple = ()) -> st.SearchStrategy:
    """Carrier dtypes (``jnp.float32``, ``jnp.float64``): one compiled program each."""
    import jax.numpy as jnp

    return st.sampled_from(bucket or (jnp.float32, jnp.float64))


@st.composite
def spd_matrices(draw, dim: int | None = None, max_condition: float = 1e6, scale: tuple[float, float] = (1e-3, 1e3)):
    """A symmetric positive-definite matrix, as a tuple of rows (``ct.family("gaussian", cov=...)``).

    ``Q diag(lambda) Q^T`` with ``Q`` orthogonal (QR of a drawn matrix, signs fixed) and eigenvalues
    ``lambda = s * c**u``, ``u`` in [0, 1] per eigenvalue (so the condition number is at most
    ``max_condition``) and the overall scale ``s`` log-uniform in ``scale``; the dimension comes from
    :data:`DIMS` unless given. The result is exactly symmetric.
    """
    d = draw(st.sampled_from(DIMS)) if dim is None else dim
    g = np.asarray(
        draw(st.lists(st.floats(-1.0, 1.0, allow_subnormal=False), min_size=d * d, max_size=d * d)), dtype=np.float64
    ).reshape(d, d) + 2.0 * np.eye(d)
    q, r = np.linalg.qr(g)
    q = q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))
    s = math.exp(draw(st.floats(math.log(scale[0]), math.log(scale[1]))))
    u = np.asarray(draw(st.lists(st.floats(0.0, 1.0), min_size=d, max_size=d)))
    lam = s * max_condition**u
    a = (q * lam) @ q.T
    a = 0.5 * (a + a.T)
    return tuple(tuple(float(v) for v in row) for row in a)


@st.composite
def simplices(draw, k: int | None = None, zeros: bool = True, tiny: bool = True) -> tuple[float, ...]:
    """A probability vector over ``k`` states (from :data:`STATES`) with exact zeros and tiny masses.

    Entries are 0 (if ``zeros``), tiny (1e-12 to 1e-6, if ``tiny``) or ordinary (1e-3 to 1); at
    least one is ordinary. The vector is normalised in float64 and sums to 1 within 1e-12.
    """
    k = draw(st.sampled_from(STATES)) if k is None else k
    ordinary = st.floats(1e-3, 1.0)
    kinds = [ordinary]
    if zeros:
        kinds.append(st.just(0.0))
    if tiny:
        kinds.append(st.floats(1e-12, 1e-6))
    w = draw(st.lists(st.one_of(*kinds), min_size=k, max_size=k).filter(lambda v: max(v) >= 1e-3))
    total = math.fsum(w)
    return tuple(x / total for x in w)


@st.composite
def run_settings(draw, scenarios_: tuple[str, ...] = ("replace", "accumulate")) -> dict:
    """Keyword arguments of ``ct.run`` that change no compiled program for a family: seed and chain count.

    With a fixed family and ``samples``/``generations``, every example reuses one program per
    scenario in ``scenarios_``.
    """
    return {"scenario": draw(st.sampled_from(scenarios_)), "seed": draw(seeds()), "chains": draw(chain_counts())}


@st.composite
def probabilities(draw, k: int | None = None, allow_zero: bool = True) -> tuple[float, ...]:
    """A probability vector over ``k`` states (k from :data:`STATES` when not given)."""
    k = draw(st.sampled_from(STATES)) if k is None else k
    positive = st.floats(min_value=1e-6, max_value=1.0)
    entry = st.one_of(st.just(0.0), positive) if allow_zero else positive
    w = draw(st.lists(entry, min_size=k, max_size=k).filter(lambda v: sum(v) > 0.1))
    s = sum(w)
    return tuple(x / s for x in w)


_EPS32 = float(np.finfo(np.float32).eps)


def _resolvable(step: float, ulps: float = 256.0 * 1.01) -> float:
    """The largest location at which float32 resolves ``step`` to ``ulps`` units in the last place
    (the engine's resolution check, ``families.validation.check_resolution``, with a 1% margin).
    """
    return step / (ulps * _EPS32)


def _locations(draw, limit: float, d: int) -> tuple[float, ...]:
    """``d`` locations in [-limit, limit], ``limit`` at most 1e3 (tiny and subnormal values included)."""
    lim = min(1e3, limit)
    return tuple(draw(st.floats(-lim, lim)) for _ in range(d))


@st.composite
def gaussian_configs(draw, scenarios=("replace", "accumulate", "fresh"), generations: int = 8) -> SimConfig:
    """Valid Gaussian configurations over a small fixed set of shapes."""
    d = draw(st.sampled_from(DIMS))
    m = draw(st.sampled_from(SAMPLE_SIZES))
    scenario = draw(st.sampled_from(scenarios))
    cov_diag = tuple(draw(st.floats(1e-6, 1e6)) for _ in range(d))
    return SimConfig(
        family="gaussian",
        estimator=draw(st.sampled_from(("unbiased", "mle"))),
        scenario=scenario,
        samples=m,
        generations=generations,
        chains=CHAINS,
        seed=draw(seeds()),
        dim=d,
        mean=_locations(draw, _resolvable(math.sqrt(min(cov_diag) / m)), d),
        cov_diag=cov_diag,
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
    """Valid KDE configurations (fixed bandwidth or a rule) over fixed shapes: the location is one
    float32 resolves the first sample's change of the mean at, and a fixed bandwidth is one it
    resolves at the largest centre (about the location plus 8 sd).
    """
    m = draw(st.sampled_from(SAMPLE_SIZES))
    var = draw(st.floats(1e-4, 1e4))
    sd = math.sqrt(var)
    (mean,) = _locations(draw, _resolvable(sd / math.sqrt(m)), 1)
    h_min = max(1e-3, 256.0 * 1.01 * _EPS32 * (abs(mean) + 8.0 * sd))
    return SimConfig(
        family="kde",
        scenario=draw(st.sampled_from(scenarios)),
        samples=m,
        bandwidth=draw(st.one_of(st.floats(h_min, max(3.0, 2 * h_min)), st.sampled_from(("scott", "silverman")))),
        mean=(mean,),
        cov_diag=(var,),
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
