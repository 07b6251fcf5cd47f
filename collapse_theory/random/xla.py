"""XLA (CPU) scheduling helpers shared by the batched samplers."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["materialize"]


def materialize(xs, never):
    """``xs`` computed once into memory: a ``while_loop`` that never runs (``never`` is a traced
    False). Its body changes every value, so XLA can neither drop the loop nor hoist ``xs`` out of
    it (a loop whose body is the identity is removed and its operands fused into their readers, which
    then recompute them: a gather or a scatter inside such a fusion runs several times slower).
    """

    def body(s):
        return s[0], jax.tree_util.tree_map(lambda a: ~a if a.dtype == jnp.bool_ else a + a, s[1])

    return jax.lax.while_loop(lambda s: s[0], body, (never, xs))[1]
