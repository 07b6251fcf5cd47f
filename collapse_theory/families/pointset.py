"""Fixed-capacity point buffers: the statistics of families whose fit needs every point.

Kernel density estimates and EM-fitted mixtures have no finite sufficient statistic, so their
``Stats`` is the sample itself, held in a buffer of static size ``S`` per chain with a count
``n`` of filled slots (slots ``>= n`` hold zeros and are masked everywhere). Merging places the
second sample after the first, so the accumulate workflow keeps a growing pool in a buffer sized
for the whole run, with static shapes throughout.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Points", "empty", "from_points", "mask", "merge", "moments"]


class Points(NamedTuple):
    """A sample per chain: ``x[C, S]`` with the first ``n[C]`` slots filled."""

    x: jax.Array
    n: jax.Array


def empty(chains: int, size: int, dtype) -> Points:
    """An empty buffer of ``size`` slots per chain."""
    return Points(jnp.zeros((chains, size), dtype), jnp.zeros((chains,), dtype))


def mask(p: Points) -> jax.Array:
    """Boolean ``[C, S]``: which slots are filled."""
    return jnp.arange(p.x.shape[1])[None, :] < p.n[:, None]


def from_points(x: jax.Array, keep: jax.Array, size: int) -> Points:
    """Pack the points of ``x[C, m]`` where ``keep`` holds into a buffer of ``size`` slots.

    Kept points move to the front in their original order (a stable compaction), so a buffer
    built from a prefix mask is a plain copy.
    """
    c = x.shape[0]
    n = jnp.sum(keep, axis=1)
    # Destination slot of each kept point = number of kept points before it.
    dest = jnp.cumsum(keep, axis=1) - 1
    dest = jnp.where(keep, dest, size)  # dropped points go out of bounds
    out = jnp.zeros((c, size), x.dtype)
    out = out.at[jnp.arange(c)[:, None], dest].set(x, mode="drop")
    return Points(out, n.astype(x.dtype))


def merge(a: Points, b: Points) -> Points:
    """The union of two samples, in ``a``'s buffer (``a.n + b.n`` must fit in it).

    Slot ``j`` of the result is ``a.x[j]`` for ``j < a.n`` and ``b.x[j - a.n]`` after that.
    Points that would not fit are dropped; callers size buffers so that none are.
    """
    size = a.x.shape[1]
    j = jnp.arange(size)[None, :]
    na = a.n.astype(jnp.int32)[:, None]
    src = jnp.clip(j - na, 0, b.x.shape[1] - 1)
    from_b = jnp.take_along_axis(b.x, src, axis=1)
    nb_used = jnp.minimum(b.n, size - a.n)
    keep_b = (j >= na) & (j - na < nb_used.astype(jnp.int32)[:, None])
    x = jnp.where(j < na, a.x, jnp.where(keep_b, from_b, 0.0))
    return Points(x.astype(a.x.dtype), a.n + nb_used)


def moments(p: Points) -> tuple[jax.Array, jax.Array]:
    """Mean and MLE variance (divide by n) of each chain's filled slots, two-pass."""
    m = mask(p)
    safe_n = jnp.maximum(p.n, 1.0)
    mean = jnp.sum(jnp.where(m, p.x, 0.0), axis=1) / safe_n
    var = jnp.sum(jnp.where(m, jnp.square(p.x - mean[:, None]), 0.0), axis=1) / safe_n
    return mean, var
