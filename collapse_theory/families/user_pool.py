"""The weighted point pool of users' estimators: a fixed buffer of slots per chain, filled slots first.

:mod:`collapse_theory.families.user` keeps a user family's data here: points ``x`` (a pytree,
leaves ``[C, S, ...]``), a frequency weight per slot ``w[C, S]`` (0 = empty) and the filled
count ``n[C]``. Every function is batched over chains and keeps the order of the points.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Pool", "empty", "pack", "merge"]


class Pool(NamedTuple):
    """A user family's statistics: points ``x`` (pytree, leaves ``[C, S, ...]``), weights ``w[C, S]``,
    filled count ``n[C]`` (the first ``n`` slots are filled).
    """

    x: Any
    w: jax.Array
    n: jax.Array


def empty(point_leaves, c: int, size: int, dtype) -> Pool:
    """An empty pool of ``c`` chains and ``size`` slots; ``point_leaves`` holds ``(shape, dtype)`` per leaf."""
    x = jax.tree_util.tree_map(
        lambda sd: jnp.zeros((c, size, *sd[0]), sd[1]), point_leaves, is_leaf=lambda v: isinstance(v, tuple)
    )
    return Pool(x, jnp.zeros((c, size), dtype), jnp.zeros((c,), dtype))


def pack(x, keep: jax.Array, size: int, dtype) -> Pool:
    """The kept points (``keep[C, N]``) to the front, in order, in a pool of ``size`` slots of weight 1."""
    c = keep.shape[0]
    dest = jnp.where(keep, jnp.cumsum(keep, axis=1) - 1, size)
    rows = jnp.arange(c)[:, None]

    def one(a):
        out = jnp.zeros((c, size, *a.shape[2:]), a.dtype)
        return out.at[rows, dest].set(a, mode="drop")

    w = jnp.zeros((c, size), dtype).at[rows, dest].set(keep.astype(dtype), mode="drop")
    return Pool(jax.tree_util.tree_map(one, x), w, jnp.sum(keep, axis=1).astype(dtype))


def merge(a: Pool, b: Pool, size: int, dtype) -> Pool:
    """``a``'s points, then as many of ``b``'s as fit in ``size`` slots (with their weights)."""
    j = jnp.arange(size)[None, :]
    na = a.n.astype(jnp.int32)[:, None]
    src = jnp.clip(j - na, 0, b.w.shape[1] - 1)
    nb = jnp.minimum(b.n, size - a.n).astype(jnp.int32)[:, None]
    from_b = (j >= na) & (j - na < nb)

    def one(xa, xb):
        got = jnp.take_along_axis(xb, src.reshape(src.shape + (1,) * (xb.ndim - 2)), axis=1)
        sel = from_b.reshape(from_b.shape + (1,) * (xa.ndim - 2))
        keep_a = (j < na).reshape(sel.shape)
        return jnp.where(keep_a, xa, jnp.where(sel, got, jnp.zeros_like(xa)))

    x = jax.tree_util.tree_map(one, a.x, b.x)
    w = jnp.where(j < na, a.w, jnp.where(from_b, jnp.take_along_axis(b.w, src, axis=1), 0.0))
    return Pool(x, w, a.n + nb[:, 0].astype(dtype))
