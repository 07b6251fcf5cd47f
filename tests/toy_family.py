"""A family defined outside the package, as another package would (tests of the registry).

An exponential distribution refitted by its MLE rate = 1 / mean: ``log rate`` is a random walk
with i.i.d. increments log(M / Gamma(M, 1)) under replace. Its spec subclasses FamilySpec
directly and builds its batched family from a ``ct.estimator``.
"""

import dataclasses

import jax
import jax.numpy as jnp

import collapse_theory as ct
from collapse_theory.families.spec import FamilySpec, check_real, parse_float, setting


def _sample(key, rate, n):
    return jax.random.exponential(key, (n,)) / rate


def _fit(x, w):
    return jnp.sum(w) / jnp.sum(w * x)


@dataclasses.dataclass(frozen=True)
class ExponentialSpec(FamilySpec):
    name = "toy-exponential"
    summary = "exponential distribution refitted by its MLE (a test family)"

    rate: float = setting(1.0, help="the true rate", parse=parse_float, metavar="R")

    def validated(self, run):
        return dataclasses.replace(self, rate=check_real(self.rate, "rate", lo=0.0))

    def metric_names(self):
        return ("log_rate",)

    def build(self, ctx):
        est = ct.estimator(
            sample=_sample, fit=_fit, truth=jnp.float32(self.rate), metrics=lambda r: {"log_rate": jnp.log(r)}
        )
        return est.build(ctx)._replace(name=self.name)
