"""Emulated rounding and accumulation against exact references and Higham's bounds.

Deterministic checks (bit-exact casts, inequalities that a wrong algorithm or bound would break)
except the unbiasedness of stochastic rounding, a z-test at the suite budget.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from budget import ALPHA

from collapse_theory.errors import precision as pr
from collapse_theory.random import bits
from collapse_theory.testing.assertions import assert_mean, z_threshold
from collapse_theory.theory import registry

U16 = pr.UNIT_ROUNDOFF["float16"]
U32 = pr.UNIT_ROUNDOFF["float32"]


@pytest.mark.parametrize(("fmt", "np_dtype"), [("float16", np.float16), ("bfloat16", ml_dtypes.bfloat16)])
def test_nearest_matches_numpy_casts(fmt, np_dtype):
    rng = np.random.default_rng(0)
    mags = np.exp(rng.uniform(np.log(1e-9), np.log(1e6), 40000)).astype(np.float32)
    x = np.where(rng.random(mags.size) < 0.5, -mags, mags)
    # Exact ties between neighbours of the format (round half to even), subnormals, overflow.
    grid = rng.standard_normal(4000).astype(np_dtype).astype(np.float32)
    nxt = np.nextafter(grid.astype(np_dtype), np.asarray(np.inf, np_dtype)).astype(np.float32)
    ties = ((grid.astype(np.float64) + nxt) / 2).astype(np.float32)
    extra = np.array([6e-8, 3e-8, 2.98e-8, 65519.0, 65520.0, 7e4, 1e-41, 0.0, -0.0, np.inf], np.float32)
    x = np.concatenate([x, ties, extra]).reshape(1, -1)
    with np.errstate(over="ignore"):
        want = x.astype(np_dtype).astype(np.float32)
    got = np.asarray(jax.jit(lambda v: pr.round_to(v, fmt))(jnp.asarray(x)))
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_nearest_float64_to_float32():
    with jax.enable_x64(True):
        x = np.random.default_rng(1).standard_normal((1, 5000)) * 1e3
        got = np.asarray(pr.round_to(jnp.asarray(x), "float32"))
    np.testing.assert_array_equal(got, x.astype(np.float32).astype(np.float64))


def test_stochastic_rounding_neighbours_and_unbiased():
    # Columns: inside a binade, a float16 subnormal, a negative value, just above float16's max.
    x0 = np.array([1.0 + 0.3 * 2**-10, 2.7e-6, -1000.4, 65510.0], np.float32)
    chains = 20000
    x = jnp.broadcast_to(jnp.asarray(x0), (chains, x0.size))
    ch = jnp.arange(chains, dtype=jnp.uint32)
    r = np.asarray(jax.jit(lambda v: pr.round_to(v, "float16", "stochastic", bits.key_from_seed(5), ch))(x))
    lo = x0.astype(np.float16)
    lo = np.where(lo.astype(np.float32) > np.abs(x0) * np.sign(x0), np.nextafter(lo, np.float16(-np.inf)), lo)
    with np.errstate(over="ignore"):  # above float16's largest finite value the upper neighbour is inf
        hi = np.nextafter(lo, np.float16(np.inf)).astype(np.float32)
    lo = lo.astype(np.float32)
    assert np.all((r == lo) | (r == hi))
    k = 4
    for j in range(3):
        assert_mean(r[:, j], float(x0[j]), ALPHA, k, f"E round({x0[j]})")
    p_inf = (65510.0 - 65504.0) / 32.0
    assert_mean(np.isinf(r[:, 3]).astype(float), p_inf, ALPHA, k, "P(65510 -> inf)")


@jax.jit
def _sums16(x):
    mask = jnp.ones(x.shape, bool)
    return tuple(f(x, mask, "float16") for f in (pr.sum_naive, pr.sum_pairwise, pr.sum_kahan))


def test_summation_errors_within_higham_bounds(capsys):
    rng = np.random.default_rng(2)
    n, per = 1000, 60
    rows = [
        rng.uniform(-1, 1, (per, n)),
        rng.uniform(0, 1, (per, n)),
        np.exp(rng.uniform(-6, 6, (per, n))) * rng.choice([-1, 1], (per, n)),
    ]
    x = np.concatenate(rows).astype(np.float16).astype(np.float32)
    got = [np.asarray(s, np.float64) for s in _sums16(jnp.asarray(x))]
    exact = np.array([math.fsum(r) for r in x.astype(np.float64)])
    abs_sum = np.sum(np.abs(x.astype(np.float64)), axis=1)
    bounds = {
        "naive": registry.evaluate("rounding.sum.recursive", n=n, u=U16),
        "pairwise": registry.evaluate("rounding.sum.pairwise", n=n, u=U16),
        # First-order bound 2u plus the O(n u^2) term written with constant 1.
        "kahan": registry.evaluate("rounding.sum.kahan", u=U16) + n * U16**2,
    }
    lines = ["method    max |err|/sum|x|   bound"]
    for name, s in zip(bounds, got, strict=True):
        ratio = np.abs(s - exact) / abs_sum
        lines.append(f"{name:<9} {ratio.max():.3e}          {bounds[name]:.3e}")
        assert np.all(ratio <= bounds[name]), (name, ratio.max(), bounds[name])
    with capsys.disabled():
        print("\nfloat16 summation, n = 1000, 180 vectors\n" + "\n".join(lines))


def test_negative_control_naive_sum_stalls():
    ones = jnp.ones((1, 4096), jnp.float32)
    naive, pairwise, kahan = (float(s[0]) for s in _sums16(ones))
    assert naive == 2048.0  # 2048 + 1 rounds back to 2048 (ties to even) in float16
    assert pairwise == 4096.0 and kahan == 4096.0
    # The naive error violates the pairwise bound: the bound is a real constraint.
    assert (4096.0 - naive) / 4096.0 > registry.evaluate("rounding.sum.pairwise", n=4096, u=U16)


@pytest.mark.parametrize(("fmt", "shift", "n"), [("float32", 100.0, 1000), ("float16", 10.0, 100)])
def test_variance_methods_within_bound(fmt, shift, n):
    u = pr.UNIT_ROUNDOFF[fmt]
    rng = np.random.default_rng(3)
    x = (shift + rng.standard_normal((100, n))).astype(fmt).astype(np.float32)
    mask = jnp.ones(x.shape, bool)
    xd = x.astype(np.float64)
    ref = np.var(xd, axis=1, ddof=1)
    kappa = np.sqrt(1.0 + n * np.mean(xd, axis=1) ** 2 / (ref * (n - 1)))
    fn = jax.jit(lambda v: [pr.mean_var(v, mask, fmt, method=m)[1] for m in pr.ACCUMULATIONS])
    for method, var in zip(pr.ACCUMULATIONS, fn(jnp.asarray(x)), strict=True):
        rel = np.abs(np.asarray(var, np.float64) - ref) / ref
        if method == "welford":
            # Updating algorithm: relative error O(n kappa u) (Chan, Golub & LeVeque 1983).
            bound = n * kappa * u + 2 * u
        else:
            two_pass = np.array([registry.evaluate("rounding.variance.two_pass", n=n, u=u, kappa=k) for k in kappa])
            bound = two_pass + 2 * u  # plus the roundings of the final division
        assert np.all(rel <= bound), (method, rel.max(), np.min(bound))


def test_bad_arguments():
    x = jnp.ones((2, 3), jnp.float32)
    with pytest.raises(ValueError, match="format"):
        pr.round_to(x, "float8")
    with pytest.raises(ValueError, match="wider than the carrier"):
        pr.round_to(x, "float64")
    with pytest.raises(ValueError, match="wider carrier"):
        pr.round_to(x, "float32", "stochastic", bits.key_from_seed(0), jnp.arange(2, dtype=jnp.uint32))
    with pytest.raises(ValueError, match="key and chains"):
        pr.round_to(x, "float16", "stochastic")
    with pytest.raises(ValueError, match="accumulation"):
        pr.mean_var(x, jnp.ones(x.shape, bool), "float16", method="sorted")
    assert z_threshold(ALPHA) > 3.0


def test_round_to_nearest_from_float64_is_a_single_correct_rounding():
    """float64 -> float16/bfloat16 must not double-round through float32 (round-to-odd fixes it)."""
    from fractions import Fraction

    def reference(v: float, p: int) -> float:  # ties-to-even at p significant bits (normal range)
        if v == 0:
            return 0.0
        e = math.floor(math.log2(abs(v)))
        q = Fraction(2) ** (e - p + 1)
        return float(round(Fraction(v) / q) * q)

    with jax.enable_x64(True):
        tricky = [1 + 2**-11 + 2**-40, -(1 + 2**-11 + 2**-40), 1 + 2**-8 + 2**-40, 3 * (1 + 2**-11) + 2**-38]
        rng = np.random.default_rng(7)
        base = rng.uniform(-100, 100, 2000)
        # Values a hair above or below float16/bfloat16 ties: where double rounding errs.
        for p in (11, 8):
            e = np.floor(np.log2(np.abs(base)))
            tie = (np.floor(base / 2.0 ** (e - p + 1)) + 0.5) * 2.0 ** (e - p + 1)
            tricky += list(tie * (1 + 2.0**-40)) + list(tie * (1 - 2.0**-40))
        x = np.asarray(tricky + list(base))
        for fmt, p in (("float16", 11), ("bfloat16", 8)):
            got = np.asarray(pr.round_to(jnp.asarray(x, jnp.float64)[None, :], fmt)[0])
            want = np.asarray([reference(float(v), p) for v in x])
            np.testing.assert_array_equal(got, want, err_msg=fmt)
        assert float(pr.round_to(jnp.asarray([[1 + 2**-11 + 2**-40]], jnp.float64), "float16")[0, 0]) == 1 + 2**-10
