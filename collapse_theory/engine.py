"""The engine: one compiled generation loop, chains batched and chunked, summaries streamed.

``simulate(config)`` builds the family and scenario, compiles two functions once per
configuration and chunk shape:

* ``advance(state, chains, start, stop)``: a ``fori_loop`` over generations ``start..stop-1``
  (dynamic bounds, so one compilation serves every segment);
* ``measure(state)``: the per-chain metrics of the current model.

The host walks the recorded generations segment by segment (a progress bar moves between
segments; there is no host sync inside the generation loop), keeping only the per-chain metrics
at recorded generations: memory is O(chains x recorded x metrics), never the whole
chains x generations x samples cube.

Randomness: generation t of chain c uses the key ``fold(fold(seed), t)`` and counters indexed by
the global chain index c, so results do not depend on the chunk size, and a run of G generations
is a prefix of a run of G' > G generations (tested).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from collapse_theory.build import build_family, build_sampler, bytes_per_chain, carrier_dtype
from collapse_theory.config import ConfigError, SimConfig
from collapse_theory.progress import Progress
from collapse_theory.random import bits
from collapse_theory.results import SimulationResult, Timing
from collapse_theory.scenarios import build_scenario

__all__ = ["simulate", "build_family", "MEMORY_BUDGET_BYTES"]

MEMORY_BUDGET_BYTES = 512 * 2**20
"""Approximate per-chunk working-set budget used to choose the automatic chunk size."""

_GEN_PURPOSE = 0x5EED


LANE_MULTIPLE = 64
"""Compiled chunks hold a multiple of this many chains (padding chains are computed and dropped).

XLA picks different vectorisation for tiny batches, which changes results in the last ulp; with
every chunk a multiple of 64 lanes, chain c's values are bit-identical whatever the chunk size."""


def _round_lanes(n: int) -> int:
    return max(LANE_MULTIPLE, -(-n // LANE_MULTIPLE) * LANE_MULTIPLE)


def _chunk_size(config: SimConfig, capacity: int, state_bytes: int, itemsize: int) -> int:
    if config.chunk_size is not None:
        return _round_lanes(min(config.chunk_size, config.chains))
    per_chain = state_bytes + bytes_per_chain(config, capacity, itemsize)
    budget_chunk = max(1, MEMORY_BUDGET_BYTES // per_chain)
    return _round_lanes(int(min(config.chains, budget_chunk, 65536)))


def simulate(config: SimConfig, *, progress: bool | None = None) -> SimulationResult:
    """Run a recursive-training simulation.

    Args:
        config: the settings (validated here; invalid ones raise :class:`ConfigError`).
        progress: show a progress bar on stderr; ``None`` shows it only when stderr is a terminal.

    Returns:
        A :class:`~collapse_theory.results.SimulationResult` with per-chain metrics at every
        recorded generation.

    Example:
        >>> import collapse_theory as ct
        >>> r = ct.simulate(ct.SimConfig(family="gaussian", estimator="unbiased", samples=100,
        ...                              generations=1000, chains=2000, record=(1, 10, 100, 1000)))
        >>> r.summary("log_sigma2").mean  # ~ n [psi(49.5) + log(2/99)]            # doctest: +SKIP

    """
    config = config.validated()
    dtype = carrier_dtype(config)
    with jax.enable_x64(dtype == jnp.float64):
        return _simulate(config, dtype, progress)


def _graph_key(config: SimConfig) -> SimConfig:
    """The part of a configuration that shapes the compiled program (not seed, chains, record)."""
    return dataclasses.replace(config, seed=0, chains=1, record=(0,), chunk_size=None, metrics=None)


@functools.lru_cache(maxsize=32)
def _program(key: SimConfig, chunk: int):
    """Compile (init, advance, measure) once per graph-shaping configuration and chunk size."""
    dtype = carrier_dtype(key)
    family = build_family(key, dtype)
    sampler = build_sampler(key, family, dtype)
    sizes = key.sizes()
    capacity = int(sizes.max())
    scenario = build_scenario(
        key.scenario,
        family,
        capacity=capacity,
        total=int(sizes.sum()),
        alpha=key.real_fraction,
        mixing=key.mixing,
        weight=key.real_weight,
        sampler=sampler,
    )
    names = family.metric_names

    def advance(state, chains, run_key, sizes_dev, start, stop):
        def body(t, s):
            return scenario.step(bits.fold(run_key, t), chains, s, t, sizes_dev[t])

        return jax.lax.fori_loop(start, stop, body, state)

    def measure(state):
        m = family.metrics(scenario.params(state))
        return jnp.stack([m[k].astype(dtype) for k in names])

    chains0 = jnp.arange(chunk, dtype=jnp.uint32)
    key0 = bits.key_from_seed(0)
    sizes0 = jnp.asarray(sizes, dtype)
    init_c = jax.jit(scenario.init, static_argnums=0).lower(chunk).compile()
    state0 = init_c()
    i0 = jnp.asarray(0, jnp.int32)
    advance_c = jax.jit(advance).lower(state0, chains0, key0, sizes0, i0, i0).compile()
    measure_c = jax.jit(measure).lower(state0).compile()
    return init_c, advance_c, measure_c, names, sizes0


def _scenario_bytes(config: SimConfig, capacity: int, total: int, itemsize: int) -> int:
    if config.scenario != "accumulate-subsample":
        return 0
    width = {"gaussian": config.dim, "regression": config.dim + 1}.get(config.family, 1)
    return (total + capacity) * (itemsize * width + 4)


def _simulate(config: SimConfig, dtype, progress: bool | None) -> SimulationResult:
    from collapse_theory import __version__

    family_names = build_family(config, dtype).metric_names
    names = family_names
    if config.metrics is not None:
        unknown = [m for m in config.metrics if m not in family_names]
        if unknown:
            raise ConfigError(
                f"unknown metric {unknown[0]!r} for {config.family}; choose from {', '.join(family_names)}"
            )
        names = tuple(config.metrics)
    sizes = config.sizes()
    capacity = int(sizes.max())
    itemsize = jnp.dtype(dtype).itemsize
    state_bytes = _scenario_bytes(config, capacity, int(sizes.sum()), itemsize)
    chunk = _chunk_size(config, capacity, state_bytes, itemsize)
    if state_bytes * chunk > 4 * MEMORY_BUDGET_BYTES:
        raise ConfigError(
            f"accumulate-subsample needs {state_bytes / 2**20:.0f} MiB per chain for its pool; "
            "reduce --generations or --samples"
        )
    t0 = time.perf_counter()
    init_c, advance_c, measure_c, all_names, sizes_dev = _program(_graph_key(config), chunk)
    compile_seconds = time.perf_counter() - t0
    rows = [all_names.index(k) for k in names]
    run_key = bits.fold(bits.key_from_seed(config.seed), _GEN_PURPOSE)

    record = np.asarray(config.record, dtype=np.int64)
    n_chunks = math.ceil(config.chains / chunk)
    out = np.empty((len(names), len(record), config.chains), dtype=np.float64)
    # Segments of at most ~1/50 of the horizon, so the progress bar moves on long runs.
    seg = max(1, math.ceil(config.generations / 50))
    bar = Progress(total=n_chunks * int(record[-1]), enabled=progress, stream=sys.stderr)
    t1 = time.perf_counter()
    for ci in range(n_chunks):
        lo = ci * chunk
        chains = jnp.arange(lo, lo + chunk, dtype=jnp.uint32)
        state = init_c()
        g = 0
        for ri, r in enumerate(record):
            while g < r:
                nxt = int(min(r, g + seg))
                state = advance_c(
                    state, chains, run_key, sizes_dev, jnp.asarray(g, jnp.int32), jnp.asarray(nxt, jnp.int32)
                )
                bar.update(nxt - g)
                g = nxt
            vals = np.asarray(measure_c(state), dtype=np.float64)[rows]
            hi = min(chunk, config.chains - lo)
            out[:, ri, lo : lo + hi] = vals[:, :hi]
    run_seconds = time.perf_counter() - t1
    bar.close()
    cgps = config.chains * int(record[-1]) / run_seconds if run_seconds > 0 else float("inf")
    return SimulationResult(
        config=config,
        generations=record,
        values={k: out[i] for i, k in enumerate(names)},
        timing=Timing(compile_seconds, run_seconds, cgps),
        version=__version__,
    )
