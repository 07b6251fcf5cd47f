"""Property tests over every registered result (hypothesis, derandomized by tests/conftest.py).

In-domain values (drawn from each parameter's domain, constraints assumed) give a float in a
bounded time: finite, or ``+-inf`` only where the exact value lies beyond the float64 range
(``evaluate_mp`` then has it); out-of-domain values (one parameter replaced by a value its
domain rejects) raise ``ParameterError`` with a one-line message naming that parameter.
"""

from __future__ import annotations

import math
import time

import mpmath
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from theory.valid_points import base_point, grid

from collapse_theory.theory import registry
from collapse_theory.theory.domains import Domain, Integer, ParameterError, ProbVector, Real

RESULTS = registry.all_results()
TIME_BOUND_S = 1.0
"""Bound on the CPU time of one evaluation (the slowest valid inputs, at the cost caps, take
about 0.4 s); CPU rather than wall-clock time, since the test machines are shared."""


def _values(dom: Domain) -> st.SearchStrategy:
    examples = st.sampled_from(dom.examples())
    if isinstance(dom, Integer):
        hi = dom.high if dom.high is not None else 10**300
        ints = st.integers(dom.low, hi)
        return st.one_of(examples, ints, ints.filter(lambda v: float(v) <= hi).map(float))
    if isinstance(dom, Real):
        floats = st.floats(
            min_value=dom.low,
            max_value=dom.high,
            exclude_min=dom.low_open and dom.low is not None,
            exclude_max=dom.high_open and dom.high is not None,
            allow_nan=False,
            allow_infinity=False,
        )
        return st.one_of(examples, floats)
    assert isinstance(dom, ProbVector)
    raw = st.lists(st.floats(0.0, 1.0), min_size=dom.min_len, max_size=min(dom.max_len, 12))
    normalised = raw.filter(lambda v: math.fsum(v) > 0).map(lambda v: [x / math.fsum(v) for x in v])
    return st.one_of(examples, normalised)


@st.composite
def _point(draw: st.DrawFn, res: registry.Result) -> dict:
    if {"x1", "x2", "x3"} <= set(res.param_names):  # x1 + x2 + x3 = M: draw the counts, derive M
        counts = [draw(st.integers(0, 20)) for _ in range(3)]
        return {"M": sum(counts), "x1": counts[0], "x2": counts[1], "x3": counts[2]}
    base = base_point(res)
    return {name: draw(st.one_of(st.just(base[name]), _values(dom))) for name, dom in res.domains}


@pytest.mark.parametrize("res", RESULTS, ids=lambda r: r.id)
@settings(max_examples=6, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_in_domain_values_give_a_float_in_bounded_time(res: registry.Result, data: st.DataObject):
    point = data.draw(_point(res))
    try:
        registry.check_params(res.id, **point)
    except ParameterError:
        assume(False)
    registry.evaluate(res.id, **base_point(res))  # compile the expression once (not timed)
    start = time.process_time()
    value = registry.evaluate(res.id, **point)
    elapsed = time.process_time() - start
    assert elapsed < TIME_BOUND_S, f"{res.id} took {elapsed:.2f} s at {point}"
    assert not math.isnan(value)
    if math.isinf(value):
        exact = registry.evaluate_mp(res.id, **point)
        assert mpmath.isfinite(exact) and abs(exact) > 1.7976931348623157e308


@pytest.mark.parametrize("res", RESULTS, ids=lambda r: r.id)
@settings(max_examples=10)
@given(data=st.data())
def test_out_of_domain_values_raise_one_line(res: registry.Result, data: st.DataObject):
    name, dom = data.draw(st.sampled_from(res.domains))
    bad = data.draw(st.sampled_from(dom.invalid_examples()))
    point = {**base_point(res), name: bad}
    with pytest.raises(ParameterError) as info:
        registry.evaluate(res.id, **point)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{res.id}: ")
    assert f"parameter {name} " in msg or f"{name}=" in msg, msg


@pytest.mark.parametrize("res", RESULTS, ids=lambda r: r.id)
def test_missing_and_unknown_names_raise_one_line(res: registry.Result):
    point = base_point(res)
    first = res.param_names[0]
    for bad in ({k: v for k, v in point.items() if k != first}, {**point, "zz_extra": 1.0}):
        with pytest.raises(ParameterError) as info:
            registry.evaluate(res.id, **bad)
        assert "\n" not in str(info.value) and ("missing parameter" in str(info.value) or "zz_extra" in str(info.value))


TIMING_PAIRS = (("M", "n"), ("N0", "t"), ("M", "k"), ("M0", "n"))


@pytest.mark.parametrize("res", RESULTS, ids=lambda r: r.id)
def test_every_result_is_fast_on_the_extreme_grid(res: registry.Result):
    """Every extreme-but-valid point of the domain grid (cost caps included) within the bound."""
    registry.evaluate(res.id, **base_point(res))  # compile once
    slowest = (0.0, {})
    for point in grid(res, pairs=TIMING_PAIRS, extremes_only=True):
        start = time.process_time()
        value = registry.evaluate(res.id, **point)
        slowest = max(slowest, (time.process_time() - start, point), key=lambda x: x[0])
        assert not math.isnan(value)
    assert slowest[0] < TIME_BOUND_S, f"{res.id} took {slowest[0]:.2f} s of CPU at {slowest[1]}"
