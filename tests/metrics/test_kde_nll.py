"""The KDE family's ``nll`` (metrics/kde_nll.py) against adaptive quadrature.

The module states a relative error <= 1e-7 (float64) for bandwidths at or above the plan's
design bandwidth; every case below is checked at that bound against
``quadrature_reference.kde_cross_entropy`` (scipy ``quad`` on pieces graded at every
transition), whose own error estimate must be 100 times smaller than the bound. Cases go
through the family (``kde(...).metrics``), so slot weights, partial buffers and the plan the
family builds are the ones checked.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import quadrature_reference as ref

from collapse_theory.families import pointset
from collapse_theory.families.kde import Params, kde, slot_weights
from collapse_theory.metrics import kde_nll

BOUND = 1e-7


def _replace(m, h, gens, seed):
    """Centres of a KDE replace chain (bootstrap plus noise), numpy, from N(0, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=m)
    for _ in range(gens):
        x = rng.choice(x, m) + h * rng.normal(size=m)
    return x


def _params(x, h, size, k=None, omega=1.0):
    """One chain's Params: centres first (two groups: ``k`` of total weight ``omega``)."""
    n = len(x)
    buf = np.zeros((1, size))
    buf[0, :n] = x
    pts = pointset.Points(jnp.asarray(buf), jnp.asarray([float(n)]))
    k = n if k is None else k
    return Params(pts, jnp.asarray([float(h)]), jnp.asarray([float(k)]), jnp.asarray([float(omega)]))


def _cases():
    rng = np.random.default_rng(11)
    out = {}
    for h in (0.05, 0.1, 0.3, 1.0):
        for gens in (0, 20):
            out[f"replace h={h} g={gens}"] = (1.0, h, 50, _replace(50, h, gens, 7 + gens), None, 1.0)
    for h in (0.05, 0.3):
        for omega in (0.9, 0.2, 0.01):
            x = np.concatenate([rng.normal(size=50), 1.5 * _replace(50, h, 20, 3) + 0.7])
            out[f"weighted h={h} omega={omega}"] = (1.0, h, 100, x, 50, omega)
    for h in (0.05, 0.2):
        for sep in (0.5, 3.0, 8.0):
            x = np.concatenate([rng.normal(-sep / 2, 0.3, 40), rng.normal(sep / 2, 0.1, 60)])
            out[f"bimodal h={h} sep={sep}"] = (1.0, h, 100, x, None, 1.0)
    x = np.concatenate([1.0 + 1e-4 * rng.normal(size=30), [0.0, -1.5, 2.5]])
    out["tight cluster and singletons h=0.05"] = (1.0, 0.05, 33, x, None, 1.0)
    out["partial buffer 7 of 16 h=0.1"] = (1.0, 0.1, 16, rng.normal(size=7), None, 1.0)
    out["pool 2000 h=0.05"] = (1.0, 0.05, 2000, rng.normal(size=2000), None, 1.0)
    out["shifted truth var 4 h=0.3"] = (4.0, 0.3, 50, 1.0 + 2.0 * _replace(50, 0.15, 10, 5), None, 1.0)
    return out


CASES = _cases()


def _family_nll(fam, p):
    return float(jax.jit(lambda q: fam.metrics(q)["nll"])(p)[0])


@pytest.mark.parametrize("name", list(CASES))
def test_nll_against_adaptive_quadrature(name):
    var, h, size, x, k, omega = CASES[name]
    mean = 1.0 if "shifted" in name else 0.0
    with jax.enable_x64(True):
        fam = kde(mean, var, h, size=size, dtype=jnp.float64)
        p = _params(x, h, size, k, omega)
        w = np.asarray(slot_weights(p))[0]
        r, e = ref.kde_cross_entropy(np.asarray(p.points.x)[0], w, h, mean, math.sqrt(var))
        assert e < 1e-2 * BOUND * abs(r)
        got = _family_nll(fam, p)
    assert abs(got - r) <= BOUND * abs(r), (got, r, abs(got - r) / abs(r))


@pytest.mark.parametrize(("rule", "size"), [("scott", 50), ("silverman", 2000), ("silverman", 20000)])
def test_rule_bandwidths_and_pools(rule, size):
    """Rule bandwidths from the family's own fit, up to a 20000-slot pool (the plan's design t)."""
    rng = np.random.default_rng(size)
    x = rng.normal(size=size) if size > 50 else _replace(50, 0.3, 10, 2)
    with jax.enable_x64(True):
        fam = kde(0.0, 1.0, rule, size=size, dtype=jnp.float64)
        p = jax.jit(fam.fit)(_params(x, 1.0, size).points)
        h = float(p.h[0])
        r, e = ref.kde_cross_entropy(x, np.full(size, 1.0 / size), h, 0.0, 1.0)
        assert e < 1e-2 * BOUND * abs(r)
        got = _family_nll(fam, p)
    assert abs(got - r) <= BOUND * abs(r), (h, got, r)


def test_truth_is_the_entropy_and_batch_does_not_matter():
    """Generation 0 (one centre, h = sd) gives 0.5 log(2 pi e var); a chain's value is the same
    alone, in a block of 64 or in 150 chains (bit for bit)."""
    with jax.enable_x64(True):
        fam = kde(2.0, 3.0, 0.3, size=4, dtype=jnp.float64)
        nll = np.asarray(fam.metrics(fam.truth(2))["nll"])
        np.testing.assert_allclose(nll, 0.5 * np.log(2 * np.pi * np.e * 3.0), rtol=1e-13)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(150, 30))
        w = np.full((150, 30), 1 / 30)
        h = np.exp(rng.uniform(np.log(0.05), 0.0, 150))
        p = kde_nll.plan(0.05, 30)
        f = jax.jit(lambda a, b, c: kde_nll.cross_entropy(a, b, c, 0.0, 1.0, p))
        full = np.asarray(f(x, w, h))
        for lo, hi in ((0, 1), (0, 64), (37, 101), (149, 150)):
            np.testing.assert_array_equal(np.asarray(f(x[lo:hi], w[lo:hi], h[lo:hi])), full[lo:hi])


def test_coarse_rules_miss_the_bound():
    """Negative controls: the former 256-node trapezoid, and the panel rule without its graded
    breaks at the sharp transitions, both fail the check above on a small-bandwidth fit."""
    var, h, size, x, k, omega = CASES["replace h=0.05 g=0"]
    with jax.enable_x64(True):
        p = _params(x, h, size)
        r, _ = ref.kde_cross_entropy(x, np.full(size, 1 / size), h, 0.0, 1.0)
        trap = _family_nll(kde(0.0, 1.0, h, size=size, dtype=jnp.float64, nll_nodes=256), p)
        plan = kde_nll.plan(h, size)._replace(cuts=0, levels=0)
        ungraded = float(kde_nll.cross_entropy(p.points.x, slot_weights(p), p.h, 0.0, 1.0, plan)[0])
    assert abs(trap - r) > 1e3 * BOUND * abs(r)
    assert abs(ungraded - r) > BOUND * abs(r)
