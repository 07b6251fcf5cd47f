"""Mixture quantiles and W2: exact Gaussian formula, scipy references, tails."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import quadrature_reference as ref
from scipy import optimize, special

from collapse_theory.metrics import quantile as q


def _cdf(x, w, m, s):
    return float(np.sum(w * special.ndtr((x - m) / s)))


def _ref_quantile(u, w, m, s):
    z = special.ndtri(u)
    lo, hi = np.min(m + s * z) - 1e-9, np.max(m + s * z) + 1e-9
    if lo + 2e-9 >= hi:
        return float(m[0] + s[0] * z)
    return optimize.brentq(lambda x: _cdf(x, w, m, s) - u, lo, hi, xtol=1e-14, rtol=1e-14)


def _ref_w2(a, b):
    """High-accuracy reference: adaptive quad of the brentq quantile difference (and its error estimate)."""
    return ref.w2_sq(a, b)


def _var(w, m, s):
    return float(np.sum(w * (s**2 + m**2)) - np.sum(w * m) ** 2)


def _mix(w, m, s):
    return tuple(np.asarray(v, np.float64) for v in (w, m, s))


def test_gaussian_pairs_exact_float64():
    rng = np.random.default_rng(0)
    m1, m2 = rng.normal(0, 3, (2, 50))
    s1, s2 = np.exp(rng.normal(0, 1, (2, 50)))
    with jax.enable_x64(True):
        one = jnp.ones((50, 1), jnp.float64)
        got = q.w2_sq(
            one,
            jnp.asarray(m1[:, None]),
            jnp.asarray(s1[:, None]),
            one,
            jnp.asarray(m2[:, None]),
            jnp.asarray(s2[:, None]),
        )
        assert got.dtype == jnp.float64
    exact = (m1 - m2) ** 2 + (s1 - s2) ** 2
    scale = m1**2 + m2**2 + s1**2 + s2**2
    np.testing.assert_array_less(np.abs(np.asarray(got) - exact), 1e-13 * scale)


def test_gaussian_pairs_float32():
    m1, s1, m2, s2 = (
        jnp.asarray(v, jnp.float32)[:, None]
        for v in ([0.0, 1.0, -2.0], [1.0, 0.5, 3.0], [0.1, 1.0, 2.0], [1.0, 0.7, 2.0])
    )
    one = jnp.ones_like(m1)
    got = np.asarray(q.w2_sq(one, m1, s1, one, m2, s2), np.float64)
    exact = np.ravel((m1 - m2) ** 2 + (s1 - s2) ** 2)
    scale = np.ravel(m1**2 + m2**2 + s1**2 + s2**2)
    np.testing.assert_array_less(np.abs(got - exact), 1e-5 * scale)


CASES = [
    (_mix([0.5, 0.5], [-3, 3], [1, 1]), _mix([1.0], [0.0], [1.0])),
    (_mix([0.3, 0.7], [-1, 2], [1, 0.5]), _mix([1.0], [0.5], [1.5])),
    (_mix([0.5, 0.5], [-3, 3], [1, 1]), _mix([0.45, 0.55], [-2.9, 3.1], [1.05, 0.95])),
    (_mix([0.5, 0.5], [-3, 3], [1, 1]), _mix([0.499, 0.501], [-3.01, 3.0], [1.0, 0.99])),
    (_mix([0.2, 0.5, 0.3], [-4, 0, 5], [1, 0.7, 1.2]), _mix([0.45, 0.55], [-2, 2.1], [1.05, 0.95])),
]


# Fitted-like pairs the former per-panel Gauss-Hermite rule got wrong by up to 1e-3 relative:
# a collapsed component (sd 1e-3 of the truth's) and a skewed truth with a near fit.
CASES += [
    (_mix([0.5, 0.5], [-3, 3], [1, 1]), _mix([0.5, 0.5], [-3, 3.2], [1e-3, 1])),
    (_mix([0.9, 0.1], [0, 4], [1, 0.5]), _mix([0.89, 0.11], [0.01, 3.95], [1.01, 0.52])),
    (_mix([0.5, 0.5], [-0.5, 0.5], [1, 1]), _mix([0.3, 0.7], [-0.2, 0.4], [0.9, 1.2])),  # overlapping
    (_mix([0.5, 0.5], [-3, 3], [1e-3, 1]), _mix([0.5, 0.5], [-3, 3.2], [1e-2, 1])),  # both narrow
    (_mix([0.95, 0.05], [0, 0], [1, 6]), _mix([1.0], [0.1], [1.6])),  # heavy-ish tail vs a Gaussian
]


def _pad(x, k=3):
    """Zero-weight copies of the first component up to ``k`` (ignored by w2_sq; one compiled shape)."""
    n = k - len(x[0])
    return tuple(np.concatenate([v, np.full(n, 0.0 if i == 0 else v[0])]) for i, v in enumerate(x))


@functools.lru_cache(maxsize=1)
def _all_cases():
    """w2_sq of every case both ways round, in one batched float64 call."""
    a = [np.stack(c) for c in zip(*(_pad(x) for x, _ in CASES), strict=True)]
    b = [np.stack(c) for c in zip(*(_pad(y) for _, y in CASES), strict=True)]
    with jax.enable_x64(True):
        got = np.asarray(q.w2_sq(*(jnp.asarray(v) for v in a + b)))
        swapped = np.asarray(q.w2_sq(*(jnp.asarray(v) for v in b + a)))
    return got, swapped


@pytest.mark.parametrize("i", range(len(CASES)))
def test_mixture_w2_against_scipy(i):
    """The stated accuracy: relative error <= 1e-9 at the default nodes (float64), both ways round."""
    r, e = _ref_w2(*CASES[i])
    assert e < 1e-10 * r
    got, swapped = (float(v[i]) for v in _all_cases())
    assert abs(got - r) <= 1e-9 * r, (got, r)
    assert abs(swapped - r) <= 1e-9 * r, (swapped, r)


def test_fewer_nodes_miss_the_bound():
    """Negative control: 2 nodes a panel miss the stated accuracy, so the check above can fail."""
    a, b = CASES[2]
    r, _ = _ref_w2(a, b)
    with jax.enable_x64(True):
        coarse = float(q.w2_sq(*(jnp.asarray(v)[None] for v in _pad(a) + _pad(b)), nodes=2)[0])
    assert abs(coarse - r) > 1e-9 * r


def test_batched_broadcast_matches_single():
    a, b = CASES[2]
    w = jnp.asarray(np.stack([a[0], b[0]]), jnp.float32)
    m = jnp.asarray(np.stack([a[1], b[1]]), jnp.float32)
    s = jnp.asarray(np.stack([a[2], b[2]]), jnp.float32)
    t = tuple(jnp.asarray(v, jnp.float32)[None] for v in a)
    got = q.w2_sq(w, m, s, *t)
    assert got.shape == (2,)
    assert float(got[0]) == 0.0  # identical parameters: exactly 0
    single = q.w2_sq(*(jnp.asarray(v, jnp.float32) for v in b + a))
    np.testing.assert_allclose(float(got[1]), float(single), rtol=1e-6)


def test_quantile_roundtrip_and_tails_float64():
    w, m, s = CASES[0][0]
    u = np.array([1e-300, 1e-20, 1e-5, 0.3, 0.49999, 0.5, 0.500001, 0.9, 1 - 1e-12])
    with jax.enable_x64(True):
        x = q.mixture_quantile(jnp.asarray(u), jnp.asarray(w), jnp.asarray(m), jnp.asarray(s), iters=12)
        back = np.asarray(q.mixture_cdf(x, jnp.asarray(w), jnp.asarray(m), jnp.asarray(s)))
        # the upper tail through the log form: 1 - u = 1e-200
        xu = q.mixture_quantile_log(
            jnp.asarray([-1e-200]), jnp.asarray([np.log(1e-200)]), *(jnp.asarray(v) for v in (w, m, s))
        )
    # |x| = 37 at u = 1e-300 turns an ulp of x into 37 ulps of the relative CDF residual
    np.testing.assert_array_less(np.abs(back / u - 1), 1e-10)
    mid = (u > 1e-10) & (u < 1 - 1e-6)
    ref = np.array([_ref_quantile(v, w, m, s) for v in u[mid]])
    np.testing.assert_allclose(np.asarray(x)[mid], ref, rtol=1e-10, atol=1e-10)
    # symmetric mixture: the 1 - 1e-200 quantile is minus the 1e-200 one
    with jax.enable_x64(True):
        xl = q.mixture_quantile(jnp.asarray([1e-200]), *(jnp.asarray(v) for v in (w, m, s)))
    np.testing.assert_allclose(float(xu[0]), -float(xl[0]), rtol=1e-12)


def test_quantile_solver_stops_once_converged():
    """The solver freezes a converged lane and stops when all have: on the breaks' targets of
    a fitted two-component mixture (log u from -700 to log 1/2), it takes at most 20 of 64 allowed
    steps, its CDF residuals are at the rounding of log F, and a 1000-step allowance changes
    nothing (a lane that bisected away from its root after converging would move its answer, and a
    loop that never stopped would take every step).
    """
    rng = np.random.default_rng(3)
    w = np.array([0.47, 0.53])
    m = np.array([-3.08, 2.95])
    s = np.array([0.96, 1.04])
    lp = np.concatenate([-np.geomspace(700.0, 0.7, 300), [np.log(0.5)], np.log(rng.uniform(1e-9, 0.5, 200))])
    with jax.enable_x64(True):
        args = (jnp.asarray(lp)[None], *(jnp.asarray(v)[None, None, :] for v in (w, m, s)))
        x, steps = q._lower_quantile(*args, 64)
        x_long, steps_long = q._lower_quantile(*args, 1000)
        log_cdf = np.asarray(q.mixture_log_cdf(x, *(jnp.asarray(v)[None] for v in (w, m, s)))[0])[0]
    assert int(steps) <= 20, int(steps)
    assert int(steps_long) == int(steps)
    np.testing.assert_array_equal(np.asarray(x_long), np.asarray(x))
    # the best float x leaves log F off by at most its slope f / F times half an ulp of x, and
    # log F is evaluated to a few eps of |log F| (+ eps near 0): bound both with 4x room
    x = np.asarray(x)[0]
    log_f = special.logsumexp(np.log(w) - np.log(s) - 0.5 * ((x[:, None] - m) / s) ** 2, axis=1) - 0.5 * np.log(
        2 * np.pi
    )
    eps = np.finfo(np.float64).eps
    bound = 4 * eps * (np.abs(lp) + 1.0) + 4 * np.exp(log_f - lp) * eps * np.abs(x)
    np.testing.assert_array_less(np.abs(log_cdf - lp), bound)


def test_quantile_float32_no_nan_in_deep_tails():
    w, m, s = (jnp.asarray(v, jnp.float32) for v in CASES[0][0])
    lp = jnp.asarray([-300.0, -80.0, -1.0], jnp.float32)
    x = q.mixture_quantile_log(lp, jnp.log1p(-jnp.exp(lp)), w, m, s)
    assert np.all(np.isfinite(np.asarray(x)))
    assert float(x[0]) < -20.0


def test_bad_nodes():
    one = jnp.ones((1, 1))
    with pytest.raises(ValueError, match="nodes"):
        q.w2_sq(one, one, one, one, one, one, nodes=1)
