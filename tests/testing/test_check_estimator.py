"""check_estimator: a correct estimator meets the contract; planted bugs are caught, with their power.

The planted bugs (in a user's estimator, or in a built-in family's batched functions):

* a ddof off-by-one (a fit declared unbiased divides by n): the declared ``Unbiased`` property;
* a key reused across generations (the draw ignores its key): "fresh draws for a fresh key";
  and a sampler that reuses a fixed key for half its points (statistical);
* an off-by-one in the accumulate pool (merge drops a point, or miscounts): "merge is the union";
* a real-data weight ignored in ``fit``: "fit honours the weights";
* a sampler with the wrong scale (sd 1.05 sigma): the declared closed form of E log sigma^2.

Deterministic checks catch their bug with probability 1 (checked over 3 seeds). For the
statistical ones the power is predicted (``ct.testing.power``) at the chains the check uses (1 to
6 decimals) and at the chains ``required_chains`` asks for 80 % (a formula exact for Gaussian
data); there the power on the bug's exact (skewed) law, by numpy Monte Carlo, is compared with
the engine's, over 100 seeds (exact binomial test at ALPHA). The numbers are in docs/testing.md.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from budget import ALPHA
from scipy import special

import collapse_theory as ct
from collapse_theory import testing as ctt
from collapse_theory.families.spec import FamilySpec
from collapse_theory.families.user import Estimator
from collapse_theory.random import bits
from collapse_theory.testing import power

M = 8


def sample(key, params, n):
    mu, sigma = params
    return mu + sigma * jax.random.normal(key, (n,))


def fit_mle(x, w):
    w = w / jnp.sum(w)
    mu = jnp.sum(w * x)
    return (mu, jnp.sqrt(jnp.sum(w * (x - mu) ** 2)))


def fit_unbiased(x, w, ddof=1.0):
    n = jnp.sum(w)
    mu = jnp.sum(w * x) / n
    return (mu, jnp.sqrt(jnp.sum(w * (x - mu) ** 2) / (n - ddof)))


def metrics(p):
    return {"mu": p[0], "sigma2": p[1] ** 2, "log_sigma2": 2.0 * jnp.log(p[1])}


def location_scale(p, g):
    return (g[0] + g[1] * p[0], jnp.abs(g[1]) * p[1])


MLE = ct.estimator(sample=sample, fit=fit_mle, truth=(0.0, 1.0), metrics=metrics, name="user-mle")
ctt.declare(MLE, ctt.Equivariance.location_scale(location_scale))


def test_a_correct_user_estimator_meets_the_contract():
    """Every group but check_family's (tests/testing/test_conformance.py; the example runs all)."""
    groups = tuple(g for g in ctt.CHECKS if g != "family")
    props = (ctt.ClosedForm("log_sigma2", "gaussian.replace.mle.mean_log_sigma2", {"sigma0": 1.0}, chains=4000),)
    report = ctt.check_estimator(MLE, checks=groups, properties=props, false_fail_rate=ALPHA)
    names = [c.name for c in report.checks]
    assert report.passed, str(report)
    assert (
        "declared: location-scale equivariance" in names and "declared: E log_sigma2 = " + props[0].result_id in names
    )
    assert len(names) == 8 and report.false_fail_rate == pytest.approx(ALPHA)


def test_a_builtin_family_declares_and_meets_its_properties():
    spec = ct.family("gaussian", estimator="unbiased", kernel="sample")
    declared = {type(p).__name__ for p in ctt.declared_properties(ct.SimConfig(spec, samples=M).validated().spec)}
    assert declared == {"Unbiased", "ClosedForm", "Equivariance"}
    report = ctt.check_estimator(
        spec, checks=("chains", "weights", "equivariance", "properties"), false_fail_rate=ALPHA
    )
    assert report.passed and len(report.checks) == 5, str(report)


def test_unknown_check_groups_are_rejected():
    with pytest.raises(ValueError, match="unknown checks"):
        ctt.check_estimator(MLE, checks=("chains", "nonsense"))


# --- planted bugs -------------------------------------------------------------------------------


def fit_ignoring_weights(x, w):
    filled = (w > 0).astype(x.dtype)  # the bug: every filled slot counts once, whatever its weight
    return fit_mle(x, filled)


def sample_wrong_scale(key, params, n):
    mu, sigma = params
    return mu + 1.05 * sigma * jax.random.normal(key, (n,))


def sample_half_fixed(key, params, n):
    mu, sigma = params
    fresh = jax.random.normal(key, (n - n // 2,))
    stale = jax.random.normal(jax.random.key(0), (n // 2,))  # the bug: a fixed key for half the points
    return mu + sigma * jnp.concatenate([fresh, stale])


@dataclasses.dataclass(frozen=True, eq=False)
class PoolOffByOne(Estimator):
    """A user estimator whose pool's merge drops the last point of the new sample."""

    def build(self, ctx):
        fam = super().build(ctx)

        def merge(a, b):
            last = jnp.arange(b.w.shape[1])[None, :] == (b.n[:, None] - 1)
            return fam.merge(a, b._replace(w=jnp.where(last, 0.0, b.w), n=jnp.maximum(b.n - 1, 0)))

        return fam._replace(merge=merge)


@dataclasses.dataclass(frozen=True)
class BrokenBuiltin(FamilySpec):
    """The built-in 1-D Gaussian (sample kernel) with one planted bug."""

    name = "broken-builtin"
    bug: str = "none"
    inner: FamilySpec = ct.family("gaussian", estimator="mle", kernel="sample")

    def validated(self, run):
        return dataclasses.replace(self, inner=self.inner.validated(run))

    def metric_names(self):
        return self.inner.metric_names()

    def build(self, ctx):
        fam = self.inner.build(ctx)
        if self.bug == "key-reused":  # the draw ignores its (generation) key; chains still differ
            return fam._replace(draw=lambda k, c, p, n, cap: fam.draw(bits.key_from_seed(0), c, p, n, cap))
        if self.bug == "merge-count":  # the accumulate pool counts one point too few
            return fam._replace(merge=lambda a, b: (s := fam.merge(a, b))._replace(n=s.n - 1))
        return fam


def user(fit=fit_mle, smp=sample, cls=ct.estimator, name="bug"):
    if cls is PoolOffByOne:
        return PoolOffByOne(sample=smp, fit=fit, truth=(0.0, 1.0), metrics=metrics, name=name)
    return ct.estimator(sample=smp, fit=fit, truth=(0.0, 1.0), metrics=metrics, name=name)


DETERMINISTIC = {
    "key reused across generations": (lambda: BrokenBuiltin(bug="key-reused"), "generations", "fresh draws"),
    "accumulate pool drops a point": (lambda: user(cls=PoolOffByOne), "merge", "merge is the union"),
    "accumulate pool miscounts": (lambda: BrokenBuiltin(bug="merge-count"), "merge", "merge is the union"),
    "real-data weight ignored in fit": (lambda: user(fit=fit_ignoring_weights), "weights", "weights"),
}


@pytest.mark.parametrize("bug", sorted(DETERMINISTIC))
def test_deterministic_planted_bugs_are_caught_with_power_one(bug):
    make, group, check = DETERMINISTIC[bug]
    fam = make()
    for seed in range(3):
        report = ctt.check_estimator(fam, checks=(group,), seed=seed, raise_on_failure=False, false_fail_rate=ALPHA)
        failed = [c.name for c in report.checks if not c.passed]
        assert failed and check in failed[0], str(report)
    with pytest.raises(AssertionError, match="FAIL"):
        ctt.check_estimator(fam, checks=(group,), false_fail_rate=ALPHA)
    good = BrokenBuiltin() if isinstance(fam, BrokenBuiltin) else user(name="good")
    assert ctt.check_estimator(good, checks=(group,), false_fail_rate=ALPHA).passed


def caught(fam, prop, chains, seeds, rate):
    """The fraction of seeds at which the declared property fails (rates unbooked: the failures are data)."""
    prop = dataclasses.replace(prop, chains=chains)
    with ctt.ledger.paused():
        return sum(not prop.check(fam, samples=M, seed=s, rate=rate).passed for s in seeds)


def exact_law_power(draw, expected, n, rate, reps=2000):
    """The t-test's power on the bug's exact law, by numpy Monte Carlo (the noncentral-t formula assumes
    Gaussian data; these laws are skewed). Its SE, at most 0.011, is 4.5x below the binomial SE of
    the 100-seed engine count it is compared with (the comparison's variance is 5 % above the
    binomial's, a rate ALPHA becomes about 1.4 ALPHA)."""
    r = np.random.default_rng(12345)
    with ctt.ledger.paused():
        return np.mean(
            [
                not ctt.assert_mean(draw(r, n), expected, false_fail_rate=rate, raise_on_failure=False).passed
                for _ in range(reps)
            ]
        )


def test_ddof_off_by_one_is_caught_with_the_stated_power():
    """A fit declared unbiased divides by n: E sigma2 = (M - 1) / M, a shift of 1 / M."""
    bug = user(fit=lambda x, w: fit_unbiased(x, w, ddof=0.0))
    prop = ctt.Unbiased("sigma2", 1.0)
    sd = math.sqrt(2 * (M - 1)) / M  # SD of the MLE of sigma^2 from M normal points
    rate = 1e-6
    assert power.power("mean", discrepancy=1 / M, chains=prop.chains, sd=sd, false_fail_rate=rate) > 0.999999
    report = ctt.check_estimator(
        bug, properties=(prop,), checks=("properties",), false_fail_rate=rate, raise_on_failure=False
    )
    assert not report.passed and "unbiased" in report.checks[0].name
    n = ctt.required_chains("mean", discrepancy=1 / M, sd=sd, false_fail_rate=rate)  # 80 % for Gaussian data
    p = exact_law_power(lambda r, n: r.chisquare(M - 1, n) / M, 1.0, n, rate)  # sigma2 = sigma^2 chi^2_{M-1} / M
    assert 0.7 < p < 0.85
    hits = caught(bug, prop, n, range(100), rate)
    ctt.assert_binomial(hits, 100, p, false_fail_rate=ALPHA, what=f"ddof bug caught at {n} chains")
    good = user(fit=fit_unbiased, name="unbiased")
    assert ctt.check_estimator(good, properties=(prop,), checks=("properties",), false_fail_rate=ALPHA).passed


def test_wrong_scale_sampler_is_caught_with_the_stated_power():
    """sd 1.05 sigma: E log sigma^2 at generation g shifts by 2 g log 1.05 against the MLE's closed form."""
    bug = user(smp=sample_wrong_scale)
    prop = ctt.ClosedForm("log_sigma2", "gaussian.replace.mle.mean_log_sigma2", {"sigma0": 1.0}, generations=(4,))
    rate, shift = 1e-6, 8 * math.log(1.05)
    sd = math.sqrt(4 * special.polygamma(1, (M - 1) / 2))  # log sigma^2_4: 4 i.i.d. steps, Var log chi^2_k = psi'(k/2)
    assert power.power("mean", discrepancy=shift, chains=prop.chains, sd=sd, false_fail_rate=rate) > 0.999999
    report = ctt.check_estimator(
        bug, properties=(prop,), checks=("properties",), false_fail_rate=rate, raise_on_failure=False
    )
    assert not report.passed, str(report)
    n = ctt.required_chains("mean", discrepancy=shift, sd=sd, false_fail_rate=rate)
    expected = 4 * (special.digamma((M - 1) / 2) + math.log(2 / M))  # the MLE's E log sigma^2_4
    p = exact_law_power(
        lambda r, n: np.sum(np.log(1.05**2 * r.chisquare(M - 1, (4, n)) / M), axis=0), expected, n, rate
    )
    assert 0.7 < p < 0.85
    hits = caught(bug, prop, n, range(100), rate)
    ctt.assert_binomial(hits, 100, p, false_fail_rate=ALPHA, what=f"wrong scale caught at {n} chains")
    assert ctt.check_estimator(MLE, properties=(prop,), checks=("properties",), false_fail_rate=ALPHA).passed


def test_half_reused_key_is_caught_by_the_independence_checks():
    bug = user(smp=sample_half_fixed)
    for seed in range(3):
        report = ctt.check_estimator(bug, checks=("chains", "generations"), seed=seed, raise_on_failure=False)
        assert not any(c.passed for c in report.checks), str(report)


def test_same_law_of_two_families():
    ref = ct.family("gaussian", estimator="mle")
    res = ctt.assert_same_law(
        MLE, ref, samples=12, generations=(2, 8), metric="log_sigma2", chains=4000, false_fail_rate=ALPHA
    )
    assert res.passed and len(res.items) == 2
    joint = ctt.assert_same_law(MLE, ref, samples=12, generations=8, metric=("sigma2", "log_sigma2"), chains=4000)
    assert joint.passed and len(joint.items) == 2 + 8
    with pytest.raises(AssertionError, match="same law of bug .*: log_sigma2 at generation 8"):
        # the wrong-scale sampler shifts log sigma^2_8 by 16 log 1.05 = 0.78 (KS distance about 0.2; detectable 0.06)
        ctt.assert_same_law(
            user(smp=sample_wrong_scale), ref, samples=12, generations=8, metric="log_sigma2", chains=4000
        )
    with pytest.raises(ValueError, match="no metric"):
        ctt.assert_same_law(MLE, ref, samples=12, generations=2, metric="mu", chains=100)
    assert np.isfinite(res.detectable)


def test_the_engine_tells_two_user_estimators_apart():
    a, b = user(name="mle"), user(fit=fit_unbiased, name="unbiased")
    ra, rb = (ct.run(e, samples=M, generations=1, chains=64, seed=3, record=(1,)) for e in (a, b))
    ratio = rb.values["sigma2"][0] / ra.values["sigma2"][0]
    np.testing.assert_allclose(ratio, M / (M - 1), rtol=1e-5)  # the same points, divided by M - 1 instead of M


def test_the_toolkit_tells_two_user_estimators_apart():
    a, b = user(name="mle"), user(fit=fit_unbiased, name="unbiased")
    ea, eb = (
        ctt.assert_unbiased(e, 1.0, metric="sigma2", samples=M, chains=64, seed=3, raise_on_failure=False)
        for e in (a, b)
    )
    assert eb.estimate / ea.estimate == pytest.approx(M / (M - 1), rel=1e-5)
