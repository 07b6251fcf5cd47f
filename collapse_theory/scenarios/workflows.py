"""The data workflows: replace, accumulate, accumulate-subsample and fresh real data.

All pools have fixed shapes: accumulate keeps running sufficient statistics (O(1) per chain,
never a growing list); accumulate-subsample keeps a fixed-capacity point buffer, since a
subsample depends on the individual points.

References:
    Shumailov et al., Nature 631 (2024) (replace); Gerstgrasser et al., "Is model collapse
    inevitable?", COLM 2024 (accumulate); Kazdan et al., "Collapse or thrive?", 2024
    (accumulate-subsample); Bertrand et al., ICLR 2024 and Alemohammad et al., ICLR 2024 (fresh
    real data); He, Xu & Cheng, "Recursive learning without collapse", 2025 (real-data weight).

"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from collapse_theory.families.base import Family
from collapse_theory.random import bits
from collapse_theory.random import purposes as tags

__all__ = ["Scenario", "SCENARIOS", "build_scenario"]

SCENARIOS = ("replace", "accumulate", "accumulate-subsample", "fresh")


class Scenario(NamedTuple):
    """A data workflow: ``init(C)``, ``step(key, chains, state, t, n_t)``, ``params(state)``."""

    name: str
    init: Callable[[int], Any]
    step: Callable[..., Any]
    params: Callable[[Any], Any]


def _select(pred, a, b):
    return jax.tree_util.tree_map(lambda x, y: jnp.where(pred, x, y), a, b)


def _real(family: Family, key, chains, n, capacity):
    """Statistics of ``n`` real draws: from the truth, which may lie outside the family."""
    if family.real is not None:
        return family.real(key, chains, n, capacity)
    return family.draw(key, chains, family.truth(chains.shape[0]), n, capacity)


def _synthetic(family: Family, sampler: Family | None, key, chains, params, n, capacity, t):
    """Draw from model t; the first sample (t = 0, from the truth) is real data, never biased."""
    if sampler is None and family.real is None:
        return family.draw(key, chains, params, n, capacity)
    model = sampler if sampler is not None else family
    return jax.lax.cond(
        t == 0,
        lambda: _real(family, key, chains, n, capacity),
        lambda: model.draw(key, chains, params, n, capacity),
    )


def _synthetic_points(family: Family, sampler: Family | None, key, chains, params, capacity, t):
    if sampler is None and family.real_points is None:
        return family.points(key, chains, params, capacity)
    model = sampler if sampler is not None else family
    real = family.real_points or (lambda k, c, cap: family.points(k, c, family.truth(c.shape[0]), cap))
    return jax.lax.cond(
        t == 0,
        lambda: real(key, chains, capacity),
        lambda: model.points(key, chains, params, capacity),
    )


def _fit(family: Family, real, synth, weight):
    if weight is None:
        return family.fit(family.merge(real, synth))
    return family.fit_weighted(real, synth, weight)


def replace(family: Family, capacity: int, sampler: Family | None = None) -> Scenario:
    """Model t + 1 is fit to n_t samples from model t (model 0 is the truth)."""

    def step(key, chains, params, t, n):
        return family.fit(_synthetic(family, sampler, bits.fold(key, tags.SYNTHETIC), chains, params, n, capacity, t))

    return Scenario("replace", family.truth, step, lambda s: s)


class _AccState(NamedTuple):
    params: Any
    real: Any
    synth: Any


def accumulate(family: Family, capacity: int, weight: float | None, sampler: Family | None = None) -> Scenario:
    """Model t + 1 is fit to the real sample plus every synthetic sample so far.

    The pool is two running sufficient statistics (real, synthetic), so a generation costs
    O(1) per chain whatever t is. With ``weight`` w, the real sample has total weight w.
    """

    def init(c):
        return _AccState(family.truth(c), family.empty(c), family.empty(c))

    def step(key, chains, s, t, n):
        new = _synthetic(family, sampler, bits.fold(key, tags.SYNTHETIC), chains, s.params, n, capacity, t)
        first = t == 0
        real = _select(first, new, s.real)
        synth = _select(first, s.synth, family.merge(s.synth, new))
        return _AccState(_fit(family, real, synth, weight), real, synth)

    return Scenario("accumulate", init, step, lambda s: s.params)


class _SubState(NamedTuple):
    params: Any
    pool: jax.Array
    filled: jax.Array


def accumulate_subsample(family: Family, capacity: int, total: int, sampler: Family | None = None) -> Scenario:
    """The pool accumulates all points; model t + 1 is fit to n_t of them drawn without replacement.

    The pool is a fixed buffer of ``total + capacity`` points per chain; the subset is the
    ``n_t`` largest of i.i.d. uniform scores over the filled slots, a uniformly random subset.
    """
    size = total + capacity

    def init(c):
        p = family.truth(c)
        probe = jax.eval_shape(lambda: family.points(bits.key_from_seed(0), jnp.arange(c, dtype=jnp.uint32), p, 1))
        pool = jnp.zeros((c, size) + probe.shape[2:], probe.dtype)
        return _SubState(p, pool, jnp.zeros((), jnp.int32))

    def step(key, chains, s, t, n):
        new = _synthetic_points(family, sampler, bits.fold(key, tags.SYNTHETIC), chains, s.params, capacity, t)
        pool = jax.lax.dynamic_update_slice_in_dim(s.pool, new, s.filled, axis=1)
        filled = s.filled + n.astype(jnp.int32)
        u = bits.uniform(bits.fold(key, tags.SUBSAMPLE), chains, size, jnp.float32)
        scores = jnp.where(jnp.arange(size)[None, :] < filled, u, -1.0)
        _, idx = jax.lax.top_k(scores, capacity)
        sub = jax.vmap(lambda b, i: b[i])(pool, idx)
        mask = jnp.broadcast_to(jnp.arange(capacity)[None, :] < n, idx.shape)
        return _SubState(family.fit(family.points_stats(sub, mask)), pool, filled)

    return Scenario("accumulate-subsample", init, step, lambda s: s.params)


def fresh(
    family: Family, capacity: int, alpha: float, mixing: str, weight: float | None, sampler: Family | None = None
) -> Scenario:
    """Each generation's n_t points are a fraction alpha of fresh real samples.

    ``mixing="split"``: exactly round(alpha n_t) real points and the rest synthetic;
    ``mixing="mixture"``: each point is real with probability alpha (a Binomial(n_t, alpha) count).
    """

    def step(key, chains, params, t, n):
        nf = jnp.broadcast_to(jnp.asarray(n, params_dtype(params)), chains.shape)
        if mixing == "split":
            n_real = jnp.round(alpha * nf)
        else:
            from collapse_theory.random import binomial

            n_real = binomial.binomial(
                bits.fold(key, tags.MIXTURE_COUNT), chains, nf, jnp.full_like(nf, alpha), nf.dtype
            )
        real = _real(family, bits.fold(key, tags.REAL), chains, n_real, capacity)
        synth = _synthetic(family, sampler, bits.fold(key, tags.SYNTHETIC), chains, params, nf - n_real, capacity, t)
        return _fit(family, real, synth, weight)

    return Scenario("fresh", family.truth, step, lambda s: s)


def params_dtype(params) -> Any:
    """The floating dtype of a parameter pytree."""
    return jax.tree_util.tree_leaves(params)[-1].dtype


def build_scenario(
    name: str,
    family: Family,
    *,
    capacity: int,
    total: int,
    alpha: float = 0.0,
    mixing: str = "split",
    weight: float | None = None,
    sampler: Family | None = None,
) -> Scenario:
    """Build a scenario by name (one of :data:`SCENARIOS`).

    ``sampler`` (see :mod:`collapse_theory.errors.sampling`) draws the synthetic data when the
    fitted model is sampled with a bias; real data always come from ``family`` at the truth.
    """
    if name == "replace":
        return replace(family, capacity, sampler)
    if name == "accumulate":
        return accumulate(family, capacity, weight, sampler)
    if name == "accumulate-subsample":
        return accumulate_subsample(family, capacity, total, sampler)
    if name == "fresh":
        return fresh(family, capacity, alpha, mixing, weight, sampler)
    raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
