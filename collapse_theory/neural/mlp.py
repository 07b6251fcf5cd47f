"""A multilayer perceptron as a tuple of ``(W, b)`` layers: plain arrays the engine can cast and batch."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

__all__ = ["init", "apply", "dense"]


def init(key, sizes: Sequence[int]) -> tuple[tuple[jax.Array, jax.Array], ...]:
    """Layers ``sizes[i] -> sizes[i + 1]``: weights ``N(0, 1 / fan_in)`` (LeCun), zero biases.

    Args:
        key: a JAX key.
        sizes: widths from input to output.

    Returns:
        ``((W0, b0), (W1, b1), ...)`` with ``W_i`` of shape ``[sizes[i], sizes[i + 1]]``.

    """
    keys = jax.random.split(key, len(sizes) - 1)
    return tuple(
        (jax.random.normal(k, (a, b)) / jnp.sqrt(a), jnp.zeros((b,)))
        for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)
    )


def dense(x: jax.Array, w: jax.Array, b: jax.Array) -> jax.Array:
    """``x @ w + b`` (``x [..., a]``, ``w [a, b]``, ``b [b]``).

    A plain matmul: its last bit may depend on the batched shape under ``vmap`` (XLA:CPU picks the
    loop order from the whole shape), so an estimator built on it runs its chains one after
    another (``ct.estimator(..., batching="map")``), where every chain's shapes are fixed.
    """
    return jnp.dot(x, w) + b


def apply(layers, x: jax.Array) -> jax.Array:
    """``x [..., sizes[0]] -> [..., sizes[-1]]``: tanh between layers, linear output."""
    for i, (w, b) in enumerate(layers):
        x = dense(x, w, b)
        if i < len(layers) - 1:
            x = jnp.tanh(x)
    return x
