"""The engine: one compiled generation loop, chains batched and chunked, summaries streamed.

``run(family, scenario, ...)`` is handed a family spec (built-in: ``ct.family(...)``; a user's:
``ct.estimator(...)``) and runs it under any scenario; ``simulate(config)`` is the same engine
for a :class:`~collapse_theory.config.SimConfig`. Each builds the batched family and scenario and
compiles three functions once per program (family spec, scenario, shapes and chunk size):

* ``init()``: the model-0 state of a chunk;
* ``advance(state, chains, start, stop)``: a ``fori_loop`` over generations ``start..stop-1``
  (dynamic bounds, so one compilation serves every segment);
* ``measure(state)``: the per-chain metrics (and diagnostics) of the current model, computed in
  float64 from the carried state (parameters carried in log space, e.g. log sigma, then give
  sigma^2 without underflow wherever float64 can represent it).

The sample sizes M_t are a runtime argument. Families whose compiled program does not depend on
them (exact sufficient-statistic kernels, ``FamilySpec.capacity_free``) share one program across
sample sizes and schedules; programs are cached per process, so seeds and chain counts never
recompile.

Chains are sharded over the local devices (``jax.shard_map`` over a one-axis mesh; every
device runs the same per-device program on its own multiple of 64 lanes), and over processes
(:mod:`collapse_theory.runtime.distributed`). The host loop (:mod:`collapse_theory.runtime.driver`) walks the
recorded generations segment by segment with no host sync inside the generation loop, keeping
only the per-chain metrics at recorded generations (memory O(chains x recorded x metrics)), or,
for large runs, only streamed summaries (memory O(chunk); :mod:`collapse_theory.summaries.streaming`).
Runs can be checkpointed and resumed (:mod:`collapse_theory.runtime.checkpoint`), and compiled programs
are cached on disk across processes (:mod:`collapse_theory.runtime.compile_cache`).

Randomness: generation t of chain c uses the key ``fold(run_key, t)`` with
``run_key = fold(key_from_seed(seed), GENERATIONS)`` (:mod:`collapse_theory.random.purposes`)
and counters indexed by the global chain index c, so results do not depend on the chunk size,
device count or process count, and a run of G generations is a prefix of a run of G' > G generations (tested).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from collapse_theory.config import SCENARIO_SETTINGS, ConfigError, SimConfig
from collapse_theory.families.spec import BuildContext, FamilySpec
from collapse_theory.random import bits
from collapse_theory.results import SimulationResult
from collapse_theory.runtime import compile_cache
from collapse_theory.runtime.plan import LANE_MULTIPLE, MEMORY_BUDGET_BYTES, round_lanes
from collapse_theory.scenarios import build_scenario

__all__ = ["run", "simulate", "MEMORY_BUDGET_BYTES", "LANE_MULTIPLE"]


def run(
    family: FamilySpec,
    scenario: str = "replace",
    *,
    samples: int | float | None = None,
    samples_schedule: str | None = None,
    generations: int,
    chains: int,
    seed: int = 0,
    record: tuple[int, ...] | None = None,
    chunk_size: int | None = None,
    progress: bool | None = None,
    precision: str = "float32",
    metrics: tuple[str, ...] | None = None,
    devices: int | None = None,
    keep_chains: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: float | None = None,
    **scenario_settings,
) -> SimulationResult:
    """Run recursive training of ``family`` under ``scenario``.

    Args:
        family: a family spec: ``ct.family(name, **settings)`` or ``ct.estimator(...)``.
        scenario: ``"replace"``, ``"accumulate"``, ``"accumulate-subsample"`` or ``"fresh"``.
        samples: M, the sample size of every generation (default 100), or ``math.inf`` for the
            population fit where the family has one.
        samples_schedule: M_t as an expression in t (instead of ``samples``).
        generations: number of generations.
        chains: number of independent chains.
        seed: chain c's stream depends only on (seed, c, generation).
        record: generations at which to record the metrics (default log-spaced, 0 = the truth).
        chunk_size: chains per compiled batch (default: from a memory budget).
        progress: show a progress bar on stderr (None: only on a terminal).
        precision: ``"float32"`` or ``"float64"`` (the naive-sample Gaussian also ``"float16"``,
            ``"bfloat16"``).
        metrics: subset of metric names to compute and keep: the others are not computed (a
            measure program per subset, whose float64 arithmetic may round a metric 1 ulp
            differently from the full set's).
        devices: local devices to shard the chains over (default: all); results do not depend on it.
        keep_chains: keep every chain's values (True), stream the summaries in bounded memory
            (False), or keep them when they fit comfortably (None).
        checkpoint: file to checkpoint to and resume from (see :mod:`collapse_theory.runtime.checkpoint`).
        checkpoint_every: seconds between checkpoints (default 300).
        **scenario_settings: ``real_fraction`` and ``mixing`` (fresh), ``real_weight``
            (accumulate, fresh).

    Returns:
        A :class:`~collapse_theory.results.SimulationResult`; ``result.config`` says what ran.

    Raises:
        ConfigError: an invalid setting (one line naming it).

    Example:
        >>> import collapse_theory as ct
        >>> r = ct.run(ct.family("gaussian", estimator="mle"), "replace", samples=20,
        ...            generations=50, chains=2000)  # doctest: +SKIP

    """
    if not isinstance(family, FamilySpec):
        raise ConfigError(f"run needs a family: ct.family(name, ...) or ct.estimator(...), got {family!r}")
    for k in scenario_settings:
        if k not in SCENARIO_SETTINGS:
            raise ConfigError(
                f"unknown setting {k!r} for run (scenario settings: {', '.join(SCENARIO_SETTINGS)}); "
                "family settings go to ct.family(name, ...)"
            )
    config = SimConfig(
        family,
        scenario=scenario,
        samples=samples,
        samples_schedule=samples_schedule,
        generations=generations,
        chains=chains,
        seed=seed,
        record=record,
        chunk_size=chunk_size,
        precision=precision,
        metrics=metrics,
        devices=devices,
        keep_chains=keep_chains,
        **scenario_settings,
    )
    return simulate(config, progress=progress, checkpoint=checkpoint, checkpoint_every=checkpoint_every)


def simulate(
    config: SimConfig,
    *,
    progress: bool | None = None,
    devices: int | None = None,
    keep_chains: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: float | None = None,
) -> SimulationResult:
    """Run the simulation a configuration describes (a thin front end of :func:`run`'s engine).

    Args:
        config: the settings (validated here; invalid ones raise :class:`ConfigError`).
        progress: show progress on stderr: a bar on a terminal, else a log line every 5 %;
            ``None``: the bar on a terminal, log lines elsewhere once a run has taken 10 s.
        devices: local devices to use, overriding the configuration's (see :class:`SimConfig`).
        keep_chains: keep per-chain values, overriding the configuration's.
        checkpoint: file to checkpoint to and resume from (:mod:`collapse_theory.runtime.checkpoint`).
        checkpoint_every: seconds between checkpoints (default 300).

    Returns:
        A :class:`~collapse_theory.results.SimulationResult` with per-chain metrics at every
        recorded generation, or their streamed summaries when chains are not kept. With several
        processes (:mod:`collapse_theory.runtime.distributed`) every process gets the merged summaries
        and process 0 also the per-chain values.

    Raises:
        ConfigError: an invalid setting, or a run that cannot fit in memory.
        RunInterrupted: a checkpointed run stopped on a signal (its checkpoint is saved).

    Example:
        >>> import collapse_theory as ct
        >>> r = ct.simulate(ct.SimConfig(family="gaussian", estimator="unbiased", samples=100,
        ...                              generations=1000, chains=2000, record=(1, 10, 100, 1000)))
        >>> r.summary("log_sigma2").mean  # ~ n [psi(49.5) + log(2/99)]            # doctest: +SKIP

    """
    if not isinstance(config, SimConfig):
        raise ConfigError(f"simulate needs a SimConfig, got {type(config).__name__}")
    if devices is not None:
        config = config.replace(devices=devices)
    if keep_chains is not None:
        config = config.replace(keep_chains=keep_chains)
    config = config.validated()
    if checkpoint_every is not None and not (isinstance(checkpoint_every, (int, float)) and checkpoint_every > 0):
        raise ConfigError(f"--checkpoint-every must be a positive number of seconds, got {checkpoint_every!r}")
    dtype = config.spec.carrier_dtype(config.precision)
    from collapse_theory.runtime.execute import execute

    with jax.enable_x64(dtype == jnp.float64):
        return execute(config, dtype, progress, checkpoint, checkpoint_every)


class _Graph(NamedTuple):
    """What shapes a compiled program (not the seed, chain count, records or sample sizes' values)."""

    spec: FamilySpec
    scenario: str
    capacity: int
    total: int
    generations: int
    precision: str
    population: bool
    real_fraction: float | None
    mixing: str | None
    real_weight: float | None


def _graph(config: SimConfig) -> _Graph:
    sizes = config.sizes()
    capacity, total = int(sizes.max()), int(sizes.sum())
    if config.spec.capacity_free(config.context()):
        capacity = total = 1  # the program takes M_t at run time: one program for every M
    return _Graph(
        config.spec,
        config.scenario,
        capacity,
        total,
        config.generations,
        config.precision,
        config.population(),
        config.real_fraction,
        config.mixing,
        config.real_weight,
    )


def _build(g: _Graph, dtype):
    family = g.spec.build(BuildContext(dtype, g.scenario, g.capacity, g.total, g.precision, g.population))
    scenario = build_scenario(
        g.scenario,
        family,
        capacity=g.capacity,
        total=g.total,
        alpha=g.real_fraction or 0.0,
        mixing=g.mixing or "split",
        weight=g.real_weight,
        sampler=family.sampler,
    )
    return family, scenario


class _Program(NamedTuple):
    init: Any
    advance: Any
    measure: Any
    measure_truth: Any
    names: tuple[str, ...]
    diagnostics: tuple[str, ...]
    warnings: Any
    put: Any  # host value -> replicated on the mesh
    place_state: Any  # host leaves -> the sharded carried state


@functools.lru_cache(maxsize=32)
def _program(g: _Graph, chunk: int, dtype, devices: tuple, metrics: tuple[str, ...] | None = None) -> _Program:
    """Compile (init, advance, measure) once per program shape, per-device chunk and device set.

    ``metrics``: the metrics to measure (default all); the measure program computes only those,
    so an expensive metric that is not asked for costs nothing (a program per subset).
    Programs of built-in families are also cached on disk across processes (:mod:`collapse_theory.runtime.compile_cache`).
    """
    what: tuple = ("engine", repr(g), chunk, str(jnp.dtype(dtype)))
    if metrics is not None:
        what += (("metrics",) + tuple(metrics),)
    key = None if g.spec.user else compile_cache.program_key(what, devices)
    if key is not None:
        # Serialized to disk: compiled outside JAX's persistent cache, whose executables
        # re-serialize without their functions (they then fail when loaded and run).
        return _compile(g, chunk, dtype, devices, key, metrics)
    with compile_cache.scoped():
        return _compile(g, chunk, dtype, devices, key, metrics)


def _compile(
    g: _Graph, chunk: int, dtype, devices: tuple, key: str | None, metrics: tuple[str, ...] | None = None
) -> _Program:
    family, scenario = _build(g, dtype)
    names = tuple(metrics) if metrics is not None else family.metric_names
    mesh = Mesh(np.asarray(devices, dtype=object), ("c",))
    state0_shape = jax.eval_shape(lambda: scenario.init(chunk))
    # Leaves with a chain axis are sharded over the mesh; others (e.g. a pool's fill count) replicated.
    twice = jax.eval_shape(lambda: scenario.init(2 * chunk))
    spec = jax.tree_util.tree_map(lambda a, b: P("c") if a.shape[:1] != b.shape[:1] else P(), state0_shape, twice)
    diag_names: tuple[str, ...] = ()
    if family.diagnostics is not None:
        diag_names = tuple(jax.eval_shape(lambda s: family.diagnostics(scenario.params(s)), state0_shape))

    def advance(state, lo, run_key, sizes_dev, start, stop):
        # This device's global chain indices: lanes lo + i * chunk .. of device i.
        chains = lo + jax.lax.axis_index("c").astype(jnp.uint32) * jnp.uint32(chunk)
        chains = chains + jnp.arange(chunk, dtype=jnp.uint32)

        def body(t, s):
            return scenario.step(bits.fold(run_key, t), chains, s, t, sizes_dev[t])

        return jax.lax.fori_loop(start, stop, body, state)

    with jax.enable_x64(True):
        wide = family if dtype == jnp.float64 else _build(g, jnp.float64)[0]

    def measure(state):
        p = jax.tree_util.tree_map(
            lambda a: a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a, scenario.params(state)
        )
        return measure_params(p)

    def measure_truth():
        # Generation 0 is the truth: measured from the float64 truth itself, not its carrier rounding.
        return measure_params(wide.truth(chunk))

    def measure_params(p):
        m = wide.metrics(p)
        rows = [jnp.asarray(m[k], jnp.float64) for k in names]
        if diag_names:
            assert wide.diagnostics is not None
            d = wide.diagnostics(p)
            rows += [jnp.asarray(d[k], jnp.float64) for k in diag_names]
        return jnp.stack(rows)

    smap = functools.partial(jax.shard_map, mesh=mesh, check_vma=False)
    rep = NamedSharding(mesh, P())
    shardings = jax.tree_util.tree_map(lambda sp: NamedSharding(mesh, sp), spec)

    def put(x):
        return jax.device_put(np.asarray(x), rep)

    key0 = put(bits.key_from_seed(0))
    sizes0 = put(np.zeros((g.generations,), dtype))
    i0, lo0 = put(np.int32(0)), put(np.uint32(0))
    saved = compile_cache.load_programs(key, devices)
    if saved is not None:
        init_c, advance_c, measure_c, truth_c = (saved[k] for k in ("init", "advance", "measure", "truth"))
        try:  # a deserialized executable can fail only when run (missing symbols): run each once, cheaply
            state0 = init_c()
            jax.block_until_ready((advance_c(state0, lo0, key0, sizes0, i0, i0), measure_c(state0), truth_c()))
        except Exception:  # noqa: BLE001 - an unusable cache entry: drop it and compile
            compile_cache.discard_programs(key)
            saved = None
    if saved is None:
        init_c = jax.jit(smap(lambda: scenario.init(chunk), in_specs=(), out_specs=spec)).lower().compile()
        state0 = init_c()
        advance_s = smap(advance, in_specs=(spec, P(), P(), P(), P(), P()), out_specs=spec)
        advance_c = jax.jit(advance_s).lower(state0, lo0, key0, sizes0, i0, i0).compile()
        with jax.enable_x64(True):
            measure_c = jax.jit(smap(measure, in_specs=(spec,), out_specs=P(None, "c"))).lower(state0).compile()
            truth_c = jax.jit(smap(measure_truth, in_specs=(), out_specs=P(None, "c"))).lower().compile()
        compiled = {"init": init_c, "advance": advance_c, "measure": measure_c, "truth": truth_c}
        compile_cache.store_programs(key, compiled, {})
    treedef = jax.tree_util.tree_structure(state0_shape)

    def place_state(leaves):
        placed = [jax.device_put(a, sh) for a, sh in zip(leaves, jax.tree_util.tree_leaves(shardings), strict=True)]
        return jax.tree_util.tree_unflatten(treedef, placed)

    return _Program(init_c, advance_c, measure_c, truth_c, names, diag_names, family.warnings, put, place_state)


def _working_set(config: SimConfig, dtype) -> tuple[int, int, int]:
    """Bytes per chain of the persistent state and of one generation's work, and the measured rows."""
    sizes = config.sizes()
    ctx = BuildContext(
        dtype, config.scenario, int(sizes.max()), int(sizes.sum()), config.precision, config.population()
    )
    per_step = config.spec.bytes_per_chain(ctx)
    family, scenario = _build(_graph(config)._replace(capacity=ctx.capacity, total=ctx.total), dtype)
    state = jax.eval_shape(lambda: scenario.init(1))
    state_bytes = sum(math.prod(a.shape) * a.dtype.itemsize for a in jax.tree_util.tree_leaves(state))
    if per_step is None:
        probe = jax.eval_shape(
            lambda: family.draw(
                bits.key_from_seed(0), jnp.arange(1, dtype=jnp.uint32), family.truth(1), ctx.capacity, ctx.capacity
            )
        )
        per_step = 4 * sum(math.prod(a.shape) * a.dtype.itemsize for a in jax.tree_util.tree_leaves(probe))
    rows = len(family.metric_names)
    if family.diagnostics is not None:
        rows += len(jax.eval_shape(lambda s: family.diagnostics(scenario.params(s)), state))
    return state_bytes, max(64, per_step), rows


_round_lanes = round_lanes  # the chunk sizes of earlier versions' tests and benchmarks
