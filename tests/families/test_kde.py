"""The Gaussian KDE family against the closed forms of docs/derivations.md, 'KDE', and exact checks.

Tolerances: Monte Carlo assertions are z-tests (or a KS test) at the budget ALPHA shared by the k
assertions of one test (Bonferroni); everything else is exact up to floating-point rounding, with
the rounding tolerance stated where it is used.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from budget import ALPHA
from scipy import stats

from collapse_theory.families import pointset
from collapse_theory.families.kde import kde, slot_weights
from collapse_theory.random import bits
from collapse_theory.scenarios import build_scenario
from collapse_theory.testing import assert_ks, assert_mean, z_threshold
from collapse_theory.theory import registry


def run(
    family, scenario, M, G, chains, seed, record, total=None, dtype=jnp.float32, weight=None, alpha=0.0, out_fn=None
):
    sc = build_scenario(scenario, family, capacity=M, total=total or M * G, weight=weight, alpha=alpha)
    ch = jnp.arange(chains, dtype=jnp.uint32)
    key = bits.fold(bits.key_from_seed(seed), 0x5EED)
    step = jax.jit(lambda k, s, t: sc.step(k, ch, s, t, jnp.asarray(M, dtype)))
    fn = jax.jit(out_fn or family.metrics)
    state, out = sc.init(chains), {}
    for t in range(G):
        if t in record:
            out[t] = fn(sc.params(state))
        state = step(bits.fold(key, t), state, t)
    if G in record:
        out[G] = fn(sc.params(state))
    return out


def test_replace_spread_and_mean_drift_match_closed_forms():
    """Generation g >= 1 holds the registry's v_{g-1}; v0 is the first (real) sample's MLE spread."""
    m, h, var, chains = 50, 0.3, 1.0, 20_000
    fam = kde(0.0, var, h, size=m, nll_nodes=16)  # nll is only checked for finiteness here
    gens = (2, 11, 51)  # registry t = 1, 10, 50
    out = run(fam, "replace", m, max(gens), chains, seed=3, record={1, *gens})
    ev0 = (1 - 1 / m) * var  # E v0; both closed forms are linear in v0
    k = 1 + 2 * len(gens)
    assert_mean(out[1]["spread"], ev0, ALPHA, k, "E v0")
    for g in gens:
        spread = registry.evaluate("kde.replace.mean_spread", M=m, h=h, v0=ev0, t=g - 1)
        drift = registry.evaluate("kde.replace.mean_sq_mean_drift", M=m, h=h, v0=ev0, t=g - 1)
        assert_mean(out[g]["spread"], spread, ALPHA, k, f"E spread t={g - 1}")
        # mu_t - mu0 = (mu_t - xbar_0) + (xbar_0 - mu0), a martingale increment plus the real sample's error.
        assert_mean(out[g]["mu_err2"], drift + var / m, ALPHA, k, f"E mu_err2 t={g - 1}")
    # Negative control: a 10 % larger bandwidth in the closed form must be rejected.
    wrong = registry.evaluate("kde.replace.mean_spread", M=m, h=1.1 * h, v0=ev0, t=gens[-1] - 1)
    with pytest.raises(AssertionError):
        assert_mean(out[gens[-1]]["spread"], wrong, ALPHA, k, "wrong h")
    for g in (1, *gens):
        np.testing.assert_array_equal(np.asarray(out[g]["h"]), np.float32(h))
        assert np.all(np.isfinite(np.asarray(out[g]["nll"])))


def test_accumulate_and_other_workflows_stay_finite():
    m, g, chains = 20, 6, 400
    fam = kde(1.0, 2.0, "silverman", size=m * g)
    out = run(fam, "accumulate", m, g, chains, seed=5, record={0, 1, g}, out_fn=lambda p: p)
    np.testing.assert_array_equal(np.asarray(out[g].points.n), m * g)  # the whole pool, nothing dropped
    for t, p in out.items():
        met = fam.metrics(p)
        spread = np.asarray(met["spread"])
        assert np.all(np.isfinite(spread)) and np.all(spread > 0), t
        assert np.all(np.isfinite(np.asarray(met["nll"]))), t
    np.testing.assert_allclose(np.asarray(fam.metrics(out[0])["spread"]), 2.0)  # the truth reports var
    for scenario, kw in (("accumulate-subsample", {}), ("fresh", {"alpha": 0.5, "weight": 0.7})):
        res = run(fam, scenario, m, 3, 64, seed=6, record={3}, **kw)[3]
        for name in fam.metric_names:
            assert np.all(np.isfinite(np.asarray(res[name]))), (scenario, name)
        assert np.all(np.asarray(res["spread"]) > 0), scenario


KNOWN = [0.3, -1.2, 2.5, 0.7, 0.71, -0.4, 4.0, 1.1, -2.2, 0.05, 3.3]


def _numpy_rule(x, rule):
    x = np.asarray(x, np.float64)
    n, sd = x.size, np.std(x, ddof=1)
    if rule == "scott":
        return 1.059 * sd * n**-0.2
    iqr = np.percentile(x, 75) - np.percentile(x, 25)
    return 0.9 * min(sd, iqr / 1.34) * n**-0.2


def _buffer(values, size, dtype=jnp.float64):
    """One chain's buffer: the values first, zeros in the empty slots (the pointset contract)."""
    x = np.zeros((1, size))
    x[0, : len(values)] = values
    return pointset.Points(jnp.asarray(x, dtype), jnp.asarray([len(values)], dtype))


@pytest.mark.parametrize("rule", ["scott", "silverman"])
def test_bandwidth_rules_match_numpy(rule):
    with jax.enable_x64(True):
        fam = kde(bandwidth=rule, size=16, dtype=jnp.float64)
        fit, fit_weighted = jax.jit(fam.fit), jax.jit(fam.fit_weighted)
        for n in (2, 5, 11):  # n = 5: q * (n - 1) is an integer, the interpolation's edge case
            np.testing.assert_allclose(
                float(fit(_buffer(KNOWN[:n], 16)).h[0]), _numpy_rule(KNOWN[:n], rule), rtol=1e-12
            )
        # Weighted fit with the real share equal to its count share is the unweighted fit.
        pw = fit_weighted(_buffer(KNOWN[:4], 16), _buffer(KNOWN[4:], 16), 4 / 11)
        np.testing.assert_allclose(float(pw.h[0]), _numpy_rule(KNOWN, rule), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(slot_weights(pw))[0, :11], 1 / 11, rtol=1e-12)
    # float32: a few ulps of rounding in the moments, sort and powers.
    f32 = kde(bandwidth=rule, size=16)
    np.testing.assert_allclose(
        float(jax.jit(f32.fit)(_buffer(KNOWN, 16, jnp.float32)).h[0]), _numpy_rule(KNOWN, rule), rtol=1e-5
    )


def test_nll_quadrature_accuracy_and_exact_truth():
    """The family's own chains: the panel rule (tests/metrics/test_kde_nll.py checks it against
    adaptive quadrature at 1e-7) against the 512-node trapezoid, which is accurate to about 2e-9
    at h = 0.3 (the former docstring's measurement), so their difference is below 1e-7."""
    m, h = 50, 0.3
    with jax.enable_x64(True):
        f_panel = kde(bandwidth=h, size=m, dtype=jnp.float64)
        f512 = kde(bandwidth=h, size=m, dtype=jnp.float64, nll_nodes=512)
        params = run(f_panel, "replace", m, 50, 200, seed=7, record={1, 10, 50}, dtype=jnp.float64, out_fn=lambda p: p)
        nll_panel, nll512 = jax.jit(lambda p: f_panel.metrics(p)["nll"]), jax.jit(lambda p: f512.metrics(p)["nll"])
        rel = max(float(jnp.max(jnp.abs(nll_panel(p) - nll512(p)) / jnp.abs(nll512(p)))) for p in params.values())
        assert rel < 1e-7, rel
        # Truth: -log p is quadratic and the cross-entropy is the entropy 0.5 log(2 pi e var).
        fam = kde(2.0, 3.0, h, size=4, dtype=jnp.float64)
        nll = np.asarray(fam.metrics(fam.truth(2))["nll"])
        np.testing.assert_allclose(nll, 0.5 * np.log(2 * np.pi * np.e * 3.0), rtol=1e-12)
        # Against scipy on a fitted KDE, by a dense quadrature (rounding-level agreement).
        p = params[10]
        x, y = np.asarray(p.points.x[0]), np.linspace(-10, 10, 40_001)
        logpdf = np.logaddexp.reduce(stats.norm.logpdf(y[:, None], x[None, :], h), axis=1) - np.log(m)
        ref = -np.trapezoid(logpdf * stats.norm.pdf(y), y)
        np.testing.assert_allclose(float(nll_panel(p)[0]), ref, rtol=1e-9)
        lp = f_panel.distribution(p).log_prob(jnp.full((200,), 0.37))
        np.testing.assert_allclose(
            float(lp[0]), np.logaddexp.reduce(stats.norm.logpdf(0.37, x, h)) - np.log(m), rtol=1e-12
        )


def test_draw_from_truth_is_the_true_normal():
    fam = kde(2.0, 3.0, 0.3, size=40)
    ch = jnp.arange(100, dtype=jnp.uint32)
    key = bits.fold(bits.key_from_seed(9), 1)
    x = np.asarray(fam.points(key, ch, fam.truth(100), 50))
    assert_ks(x, stats.norm(2.0, math.sqrt(3.0)).cdf, ALPHA, 1, "truth draws")
    # draw packs the first n points of the same stream; other slots are empty.
    s = fam.draw(key, ch, fam.truth(100), 30.0, 50)
    np.testing.assert_array_equal(np.asarray(s.x[:, :30]), x[:, :30])
    np.testing.assert_array_equal(np.asarray(s.x[:, 30:]), 0.0)
    np.testing.assert_array_equal(np.asarray(s.n), 30.0)
    # A chain's stream depends on its global index only, not on the batch.
    sub = np.asarray(fam.points(key, ch[60:], fam.truth(40), 50))
    np.testing.assert_array_equal(sub, x[60:])


def test_weighted_bootstrap_frequencies():
    """Real group (centres 10..14) gets weight w, synthetic (centres 100..102) 1 - w, uniformly within."""
    fam = kde(bandwidth=1e-3, size=12)
    real, synth = _buffer([10.0, 11, 12, 13, 14], 12, jnp.float32), _buffer([100.0, 101, 102], 12, jnp.float32)
    w, n = 0.3, 40_000
    p = fam.fit_weighted(real, synth, w)
    x = np.asarray(fam.points(bits.key_from_seed(2), jnp.arange(1, dtype=jnp.uint32), p, n))[0]
    centre = np.round(x)
    assert set(np.unique(centre)) <= {10, 11, 12, 13, 14, 100, 101, 102}  # never an empty slot (0)
    expected = {c: w / 5 for c in range(10, 15)} | {c: (1 - w) / 3 for c in (100, 101, 102)}
    zt = z_threshold(ALPHA, len(expected))
    for c, q in expected.items():
        z = (np.mean(centre == c) - q) / math.sqrt(q * (1 - q) / n)
        assert abs(z) < zt, (c, z)


def test_unweighted_bootstrap_frequencies():
    """An unweighted fit (the short path, omega = 1) draws each of its k centres with probability 1/k."""
    fam = kde(bandwidth=1e-3, size=9)
    centres = [3.0, 4, 5, 6, 7, 8, 9]
    n = 40_000
    p = fam.fit(_buffer(centres, 9, jnp.float32))
    x = np.asarray(fam.points(bits.key_from_seed(7), jnp.arange(1, dtype=jnp.uint32), p, n))[0]
    centre = np.round(x)
    assert set(np.unique(centre)) <= set(centres)  # never an empty slot (0)
    q, zt = 1 / len(centres), z_threshold(ALPHA, len(centres))
    for c in centres:
        z = (np.mean(centre == c) - q) / math.sqrt(q * (1 - q) / n)
        assert abs(z) < zt, (c, z)


def test_unweighted_chain_draws_the_same_points_beside_weighted_ones():
    """omega = 1 skips the group Bernoulli (always true): bit-identical to the grouped draw.

    A batch of only unweighted chains takes the short path; one that also holds a weighted
    chain takes the grouped path for all. Chain 0's points must be the same either way, and
    the weighted chain's must differ from its unweighted draw (the grouped path is exercised).
    """
    fam = kde(bandwidth=0.3, size=12)
    real, synth = _buffer([10.0, 11, 12, 13, 14], 12, jnp.float32), _buffer([100.0, 101, 102], 12, jnp.float32)
    plain, weighted = fam.fit(fam.merge(real, synth)), fam.fit_weighted(real, synth, 0.3)
    both = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), plain, weighted)
    twice = jax.tree_util.tree_map(lambda a: jnp.concatenate([a, a]), plain)
    key, ch = bits.key_from_seed(5), jnp.arange(2, dtype=jnp.uint32)
    mixed, alone = (np.asarray(fam.points(key, ch, p, 200)) for p in (both, twice))
    assert float(plain.w_first[0]) == 1.0 and float(weighted.w_first[0]) < 1.0
    np.testing.assert_array_equal(mixed[0], alone[0])
    assert not np.array_equal(mixed[1], alone[1])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bandwidth": 0.0},
        {"bandwidth": -1.0},
        {"bandwidth": float("inf")},
        {"bandwidth": float("nan")},
        {"bandwidth": "sturges"},
        {"var": 0.0},
        {"var": -2.0},
        {"mean": float("nan")},
        {"size": 0},
        {"size": 2.5},
        {"nll_nodes": 1},
    ],
)
def test_bad_input(kwargs):
    base = {"size": 10} | kwargs
    with pytest.raises(ValueError, match=r"^[^\n]+$"):
        kde(**base)


def test_zero_weight_points_do_not_move_the_quartiles():
    """Silverman's IQR from a weighted sample ignores points of weight 0 (no interpolation through them)."""
    from collapse_theory.families.kde_bandwidth import weighted_quartiles as _weighted_quartiles

    with jax.enable_x64(True):
        x = jnp.asarray([[0.3, -1.2, 2.5, 0.9, -0.4, 7.0, -6.0, 1.7]])
        w = jnp.asarray([[0.2, 0.2, 0.2, 0.2, 0.2, 0.0, 0.0, 0.0]])
        full = jnp.ones_like(x, dtype=bool)
        got = [float(v[0]) for v in _weighted_quartiles(x, full, w)]
        kept = [float(v[0]) for v in _weighted_quartiles(x[:, :5], full[:, :5], w[:, :5] / 1.0)]
    assert got == kept
    np.testing.assert_allclose(got, np.quantile(np.asarray(x[0, :5]), [0.25, 0.75]), rtol=1e-14)


def test_check_estimator_weights_honoured_by_rule_bandwidths():
    """ct.testing.check_estimator's "fit honours the weights" (w = 1: synthetic points have no influence)."""
    import collapse_theory as ct
    from collapse_theory.testing import check_estimator

    for rule in ("silverman", "scott"):
        report = check_estimator(
            ct.family("kde", bandwidth=rule), checks=("weights",), chains=64, raise_on_failure=False
        )
        assert report.passed, report
