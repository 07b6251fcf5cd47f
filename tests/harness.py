"""Run a family through a scenario without the configuration layer (unit tests of families).

The engine's loop in miniature: the same key derivation (``fold(fold(seed), 0x5EED)`` per run,
``fold(., t)`` per generation), one jitted step, the model recorded before the step of each
recorded generation (generation 0 is the truth).
"""

import jax
import jax.numpy as jnp
import numpy as np

from collapse_theory.random import bits
from collapse_theory.scenarios import build_scenario


def run_params(family, scenario, M, G, chains, seed, record, total=None, dtype=jnp.float32):
    """Model parameters at the recorded generations: ``{t: Params}``."""
    sc = build_scenario(scenario, family, capacity=M, total=total or M * G)
    ch = jnp.arange(chains, dtype=jnp.uint32)
    key = bits.fold(bits.key_from_seed(seed), 0x5EED)
    step = jax.jit(lambda k, s, t: sc.step(k, ch, s, t, jnp.asarray(M, dtype)))
    state, out = sc.init(chains), {}
    for t in range(G):
        if t in record:
            out[t] = sc.params(state)
        state = step(bits.fold(key, t), state, t)
    if G in record:
        out[G] = sc.params(state)
    return out


def run(family, scenario, M, G, chains, seed, record, total=None, dtype=jnp.float32):
    """Family metrics at the recorded generations: ``{t: {name: float64[C]}}``."""
    metrics = jax.jit(family.metrics)
    params = run_params(family, scenario, M, G, chains, seed, record, total, dtype)
    return {t: {k: np.asarray(v, np.float64) for k, v in metrics(p).items()} for t, p in params.items()}
