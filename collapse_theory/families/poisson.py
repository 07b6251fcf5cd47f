"""Poisson family refitted by the sample mean (the MLE).

Parameters are ``(rate,)`` and statistics ``(n, total)``: the number of draws and their sum.
Exact kernel: the sum of ``n`` i.i.d. Poisson(rate) draws is Poisson(n rate), one draw per
chain-generation. Sample kernel: ``n`` individual draws (``capacity`` slots, masked), summed.
Under the replace workflow the total ``N_t = M rate_t`` is a critical Galton-Watson process with
Poisson(1) offspring, so the rate goes extinct (``rate_t = 0``, absorbing) with probability
``q_t^{N_0}`` (:mod:`collapse_theory.theory.poisson`).

Counts are integer-valued floats of ``dtype``: float32 holds integers exactly up to ``2**24``, so
``n * rate`` must stay well below about 1.6e7 there (float64: ``2**53``).

References:
    Suresh, Thangaraj, Khandavally, "Rate of Model Collapse in Recursive Training",
    AISTATS 2025 (Poisson family).
    W. Hörmann, Insurance: Mathematics and Economics 12 (1993) (the PTRS sampler used here).

"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from collapse_theory.families.base import Family
from collapse_theory.families.spec import (
    BuildContext,
    ConfigError,
    FamilySpec,
    RunContext,
    check_choice,
    check_in_precision,
    check_real,
    parse_float,
    setting,
)
from collapse_theory.random import bits
from collapse_theory.random import poisson as sampler
from collapse_theory.random import purposes as tags
from collapse_theory.random.poisson_total import poisson_total

__all__ = ["PoissonSpec", "Params", "Stats", "poisson", "METRICS"]

METRICS = ("rate", "rate_err2", "extinct")
KERNELS = ("exact", "sample")


class Params(NamedTuple):
    """Fitted Poisson rate per chain: ``rate[C]``."""

    rate: jax.Array


class Stats(NamedTuple):
    """Sufficient statistics per chain: number of draws ``n[C]`` and their sum ``total[C]``."""

    n: jax.Array
    total: jax.Array


def merge(a: Stats, b: Stats) -> Stats:
    """Statistics of the union of two samples."""
    return Stats(a.n + b.n, a.total + b.total)


def poisson(rate: float, kernel: str = "exact", dtype=jnp.float32) -> Family:
    """Build the Poisson family.

    Args:
        rate: true rate lambda_0 (finite, > 0).
        kernel: ``"exact"`` (total ~ Poisson(n rate)) or ``"sample"`` (draw and sum n points).
        dtype: float32 or float64.

    Returns:
        A :class:`~collapse_theory.families.base.Family` named ``"poisson"`` whose metrics are
        ``rate``, ``rate_err2 = (rate - rate0)^2`` and ``extinct`` (1 where ``rate == 0``).

    Raises:
        ValueError: ``rate`` is not finite and positive, or ``kernel`` is unknown.

    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"rate must be a finite number > 0, got {rate!r}")
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; choose from {', '.join(KERNELS)}")
    rate0 = float(rate)

    def truth(c):
        return Params(jnp.full((c,), rate0, dtype))

    def empty(c):
        return Stats(jnp.zeros((c,), dtype), jnp.zeros((c,), dtype))

    def draw_exact(key, chains, p, n, capacity):
        del capacity
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        return Stats(n, poisson_total(bits.fold(key, tags.POISSON_TOTAL), chains, n * p.rate, dtype))

    def _draws(key, chains, lam):
        return sampler.poisson_slots(bits.fold(key, tags.POISSON_POINTS), chains, lam, dtype)

    def draw_sample(key, chains, p, n, capacity):
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        mask = jnp.arange(capacity)[None, :] < n[:, None]
        # Slots past n are not needed: rate 0 draws cost nothing and give 0.
        x = _draws(key, chains, jnp.where(mask, p.rate[:, None], 0.0))
        return Stats(n, jnp.sum(x, axis=1))

    def points(key, chains, p, capacity):
        return _draws(key, chains, jnp.broadcast_to(p.rate[:, None], (chains.shape[0], capacity)))

    def points_stats(x, mask):
        return Stats(jnp.sum(mask, axis=1).astype(dtype), jnp.sum(jnp.where(mask, x, 0.0), axis=1))

    def fit(s):
        return Params(s.total / jnp.maximum(s.n, 1.0))

    def fit_weighted(real, synth, w):
        w = jnp.where(real.n == 0, 0.0, jnp.where(synth.n == 0, 1.0, w))
        mean_real = real.total / jnp.maximum(real.n, 1.0)
        mean_synth = synth.total / jnp.maximum(synth.n, 1.0)
        return Params(w * mean_real + (1.0 - w) * mean_synth)

    def metrics(p):
        return {
            "rate": p.rate,
            "rate_err2": jnp.square(p.rate - rate0),
            "extinct": (p.rate == 0.0).astype(p.rate.dtype),
        }

    def distribution(p):
        return dist.Poisson(p.rate)

    return Family(
        name="poisson",
        truth=truth,
        draw=draw_exact if kernel == "exact" else draw_sample,
        points=points,
        points_stats=points_stats,
        empty=empty,
        merge=merge,
        fit=fit,
        fit_weighted=fit_weighted,
        metrics=metrics,
        metric_names=METRICS,
        distribution=distribution,
    )


@dataclasses.dataclass(frozen=True)
class PoissonSpec(FamilySpec):
    """Settings of the Poisson family (``ct.family("poisson", rate=1.0)``)."""

    name = "poisson"
    summary = "Poisson refitted by its sample mean: a critical Galton-Watson chain (Suresh et al.)"

    rate: float = setting(1.0, help="the true rate lambda_0", parse=parse_float, metavar="LAMBDA")
    kernel: str = setting("exact", help="exact (total ~ Poisson(n rate)) or sample (n draws)", metavar="NAME")
    estimator: str = setting("mle", help="mle (the sample mean; the only estimator)", metavar="NAME")

    def validated(self, run: RunContext) -> PoissonSpec:
        """A positive finite rate whose counts stay integers in the precision."""
        check_choice(self.estimator, "estimator", ("mle",))
        check_choice(self.kernel, "kernel", KERNELS)
        rate = check_real(self.rate, "rate", lo=0.0)
        check_in_precision(rate, "rate", "float64" if run.precision == "float64" else "float32")
        limit = 2.0**24 if run.precision == "float32" else 2.0**53
        pooled = run.scenario in ("accumulate", "accumulate-subsample")
        top = float(run.sizes.sum() if pooled else run.sizes.max())
        if rate * top > limit / 64:
            raise ConfigError(
                f"counts near {rate * top:.3g} lose integer exactness in {run.precision}; use --precision float64"
            )
        return dataclasses.replace(self, rate=rate)

    def capacity_free(self, run: RunContext) -> bool:
        """The exact kernel draws the total as one Poisson(n rate) at run time."""
        return self.kernel == "exact" and run.scenario != "accumulate-subsample"

    def metric_names(self) -> tuple[str, ...]:
        """:data:`METRICS`."""
        return METRICS

    def build(self, ctx: BuildContext) -> Family:
        """The Poisson family."""
        return poisson(self.rate, self.kernel, ctx.dtype)

    def bytes_per_chain(self, ctx: BuildContext) -> int:
        """The sample kernel draws ``capacity`` variates per chain."""
        width = 2 + (ctx.capacity if self.kernel == "sample" else 1)
        return max(64, 8 * jnp.dtype(ctx.dtype).itemsize * width)
