"""Data the figures need beyond recorded metrics, cached beside the sweep cells.

* :func:`chain_params`: the fitted parameters of the first chains at chosen generations. It
  runs the engine's own compiled scenario step with the engine's stream key (seed, chain,
  generation), so chain c here is chain c of ``ct.simulate(config)``. (The engine records
  metrics only; a public ``record_params`` there would make this helper unnecessary.)
* :func:`cached_json`: a JSON payload (a verify run, a decomposition) keyed like a sweep cell.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from collapse_theory.config import SimConfig

__all__ = ["chain_params", "cached_json", "cached_npz"]


def _key(kind: str, payload: dict) -> str:
    from collapse_theory import __version__

    blob = json.dumps({"kind": kind, "payload": payload, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def cached_json(cache: str | Path | None, kind: str, payload: dict, compute: Callable[[], dict]) -> dict:
    """``compute()`` once per (kind, payload, package version); later calls read ``cache``."""
    if cache is None:
        return compute()
    path = Path(cache) / f"{kind}-{_key(kind, payload)}.json"
    if path.is_file():
        return json.loads(path.read_text())
    out = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(out, allow_nan=False))
    os.replace(tmp, path)
    return out


def cached_npz(
    cache: str | Path | None, kind: str, payload: dict, compute: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Like :func:`cached_json` for a dict of arrays."""
    if cache is None:
        return compute()
    path = Path(cache) / f"{kind}-{_key(kind, payload)}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    out = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **out)  # type: ignore[arg-type]
    os.replace(tmp, path)
    return out


def chain_params(config: SimConfig, generations: Sequence[int], chains: int = 4) -> dict[int, tuple]:
    """The fitted parameters of chains ``0..chains-1`` at each generation in ``generations``.

    Args:
        config: a replace-workflow configuration (any family).
        generations: the generations to keep (0 = the truth).
        chains: how many chains (the first ones of ``ct.simulate(config)``).

    Returns:
        generation -> the family's params pytree as a tuple of ``float64`` numpy arrays.

    """
    import jax
    import jax.numpy as jnp

    from collapse_theory import engine
    from collapse_theory.random import bits
    from collapse_theory.random import purposes as tags

    cfg = config.validated()
    dtype = jnp.float64 if cfg.precision == "float64" else jnp.float32
    g = engine._graph(cfg)
    _, scenario = engine._build(g, dtype)
    run_key = bits.fold(bits.key_from_seed(cfg.seed), tags.GENERATIONS)
    sizes = jnp.asarray(cfg.sizes(), dtype)
    ids = jnp.arange(chains, dtype=jnp.uint32)

    @jax.jit
    def advance(state, start, stop):
        return jax.lax.fori_loop(
            start, stop, lambda t, s: scenario.step(bits.fold(run_key, t), ids, s, t, sizes[t]), state
        )

    def grab(state) -> tuple:
        leaves = jax.tree_util.tree_leaves(scenario.params(state))
        return tuple(np.asarray(x, dtype=np.float64) for x in leaves)

    state = scenario.init(chains)
    out: dict[int, tuple] = {}
    now = 0
    for target in sorted(set(int(x) for x in generations)):
        if target > now:
            state = advance(state, jnp.asarray(now, jnp.int32), jnp.asarray(target, jnp.int32))
            now = target
        out[target] = grab(state)
    return out
