"""check_family over every built-in family, and planted bugs that it must catch.

Each statistical check runs at false_fail_rate = ALPHA (the suite's per-test budget).
"""

import dataclasses

import jax.numpy as jnp
import pytest
from budget import ALPHA

import collapse_theory as ct
from collapse_theory.families.spec import FamilySpec
from collapse_theory.testing import check_family

BUILTIN = {
    "gaussian-exact": ct.family("gaussian", estimator="unbiased"),
    "gaussian-2d-sample": ct.family("gaussian", estimator="mle", dim=2, kernel="sample"),
    "gaussian-student-t": ct.family("gaussian", estimator="unbiased", truth="student-t:5"),
    "gaussian-naive-bf16": ct.family("gaussian", estimator="mle", kernel="naive-sample"),
    "gaussian-bayes": ct.family("gaussian", estimator="bayes", prior=(0.0, 1.0, 2.0, 1.0), kernel="sample"),
    "categorical-laplace": ct.family("categorical", probs=(0.5, 0.3, 0.2), estimator="laplace"),
    "categorical-sample": ct.family("categorical", probs=(0.5, 0.3, 0.2), kernel="sample"),
    "kde-silverman": ct.family("kde", bandwidth="silverman"),
    "regression-fixed": ct.family("regression", dim=3),
    "poisson-exact": ct.family("poisson", rate=2.0),
    "gmm": ct.family("gmm", em_iterations=30),
}


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_builtin_family_conforms(name):
    report = check_family(BUILTIN[name], false_fail_rate=ALPHA, chains=1024)
    assert report.passed and len(report.checks) == 6


@dataclasses.dataclass(frozen=True)
class Broken(FamilySpec):
    """A built-in Gaussian with one planted bug."""

    name = "broken"
    bug: str = "none"
    inner: FamilySpec = ct.family("gaussian", estimator="unbiased", kernel="sample")

    def validated(self, run):
        return dataclasses.replace(self, inner=self.inner.validated(run))

    def metric_names(self):
        return self.inner.metric_names()

    def build(self, ctx):
        fam = self.inner.build(ctx)
        if self.bug == "draw-scale":  # the statistics kernel draws with sd 1.2 sigma
            return fam._replace(
                draw=lambda k, c, p, n, cap: fam.draw(k, c, p._replace(log_sigma=p.log_sigma + 0.18), n, cap)
            )
        if self.bug == "merge-drops":  # merge forgets its second argument
            return fam._replace(merge=lambda a, b: a)
        if self.bug == "weight-ignored":  # the real-data weight is dropped: the synthetic part is refitted
            return fam._replace(fit_weighted=lambda r, s, w: fam.fit(fam.merge(r, s))._replace(mu=r.mean + 1e-3))
        if self.bug == "fixed-key":  # the sampler ignores its key
            zero = fam.draw.__defaults__  # noqa: F841
            from collapse_theory.random import bits

            return fam._replace(draw=lambda k, c, p, n, cap: fam.draw(bits.key_from_seed(0), c, p, n, cap))
        return fam


@pytest.mark.parametrize(
    "bug, check",
    [
        ("draw-scale", "draw == points + points_stats in law"),
        ("merge-drops", "merge with empty is the identity"),
        ("weight-ignored", "fit_weighted without synthetic data is fit"),
        ("fixed-key", "determinism"),
    ],
)
def test_planted_bugs_are_caught(bug, check):
    report = check_family(Broken(bug=bug), false_fail_rate=ALPHA, chains=2048, raise_on_failure=False)
    failed = {c.name for c in report.checks if not c.passed}
    assert check in failed, str(report)
    with pytest.raises(AssertionError, match="FAIL"):
        check_family(Broken(bug=bug), false_fail_rate=ALPHA, chains=2048)


def test_a_correct_wrapper_passes():
    assert check_family(Broken(), false_fail_rate=ALPHA, chains=1024).passed


def test_user_estimator_conforms():
    import jax

    def sample(key, p, n):
        return p[0] + p[1] * jax.random.normal(key, (n, 2))

    def fit(x, w):
        w = w / jnp.sum(w)
        mu = jnp.sum(w[:, None] * x, axis=0)
        return (mu, jnp.sqrt(jnp.sum(w[:, None] * (x - mu) ** 2, axis=0)))

    est = ct.estimator(sample=sample, fit=fit, truth=(jnp.zeros(2), jnp.ones(2)), name="vector-mle")
    for scenario in ("replace", "accumulate"):
        assert check_family(est, scenario=scenario, false_fail_rate=ALPHA, chains=1024).passed
