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

The host walks the recorded generations segment by segment (a progress bar moves between
segments; there is no host sync inside the generation loop), keeping only the per-chain metrics
at recorded generations: memory is O(chains x recorded x metrics), never the whole
chains x generations x samples cube.

Randomness: generation t of chain c uses the key ``fold(run_key, t)`` with
``run_key = fold(key_from_seed(seed), GENERATIONS)`` (:mod:`collapse_theory.random.purposes`)
and counters indexed by the global chain index c, so results do not depend on the chunk size,
and a run of G generations is a prefix of a run of G' > G generations (tested).
"""

from __future__ import annotations

import functools
import math
import os
import sys
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from collapse_theory.config import SCENARIO_SETTINGS, ConfigError, SimConfig
from collapse_theory.families.spec import BuildContext, FamilySpec
from collapse_theory.progress import Progress
from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.results import SimulationResult, Timing, summary_warnings
from collapse_theory.scenarios import build_scenario

__all__ = ["run", "simulate", "MEMORY_BUDGET_BYTES", "LANE_MULTIPLE"]

MEMORY_BUDGET_BYTES = 512 * 2**20
"""Approximate per-chunk working-set budget used to choose the automatic chunk size."""

LANE_MULTIPLE = 64
"""Compiled chunks hold a multiple of this many chains (padding chains are computed and dropped).

XLA picks different vectorisation for tiny batches, which changes results in the last ulp; with
every chunk a multiple of 64 lanes, chain c's values are bit-identical whatever the chunk size."""


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
        metrics: subset of metric names to keep.
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
        **scenario_settings,
    )
    return simulate(config, progress=progress)


def simulate(config: SimConfig, *, progress: bool | None = None) -> SimulationResult:
    """Run the simulation a configuration describes (a thin front end of :func:`run`'s engine).

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
    if not isinstance(config, SimConfig):
        raise ConfigError(f"simulate needs a SimConfig, got {type(config).__name__}")
    config = config.validated()
    dtype = config.spec.carrier_dtype(config.precision)
    with jax.enable_x64(dtype == jnp.float64):
        return _simulate(config, dtype, progress)


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


@functools.lru_cache(maxsize=32)
def _program(g: _Graph, chunk: int, dtype) -> _Program:
    """Compile (init, advance, measure) once per program shape and chunk size."""
    family, scenario = _build(g, dtype)
    names = family.metric_names
    state0_shape = jax.eval_shape(lambda: scenario.init(chunk))
    diag_names: tuple[str, ...] = ()
    if family.diagnostics is not None:
        diag_names = tuple(jax.eval_shape(lambda s: family.diagnostics(scenario.params(s)), state0_shape))

    def advance(state, chains, run_key, sizes_dev, start, stop):
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

    chains0 = jnp.arange(chunk, dtype=jnp.uint32)
    key0 = bits.key_from_seed(0)
    sizes0 = jnp.zeros((g.generations,), dtype)
    init_c = jax.jit(scenario.init, static_argnums=0).lower(chunk).compile()
    state0 = init_c()
    i0 = jnp.asarray(0, jnp.int32)
    advance_c = jax.jit(advance).lower(state0, chains0, key0, sizes0, i0, i0).compile()
    with jax.enable_x64(True):
        measure_c = jax.jit(measure).lower(state0).compile()
        truth_c = jax.jit(measure_truth).lower().compile()
    return _Program(init_c, advance_c, measure_c, truth_c, names, diag_names, family.warnings)


def _round_lanes(n: int) -> int:
    """Lanes of a chunk of ``n`` chains: a multiple of 64 up to 512, then 8 sizes per octave.

    Chunks come in few sizes so that runs with different chain counts share compiled programs
    (padding lanes are computed and dropped: at most 1/8 of the work above 512 chains).
    """
    n = max(int(n), 1)
    if n <= 8 * LANE_MULTIPLE:
        return -(-n // LANE_MULTIPLE) * LANE_MULTIPLE
    step = 2 ** (n.bit_length() - 1) // 8
    return -(-n // step) * step


def _working_set(config: SimConfig, dtype) -> tuple[int, int]:
    """Bytes per chain of the state that persists across generations and of one generation's work."""
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
    return state_bytes, max(64, per_step)


def _chunk_size(config: SimConfig, state_bytes: int, step_bytes: int) -> int:
    if config.chunk_size is not None:
        return _round_lanes(min(config.chunk_size, config.chains))
    budget_chunk = max(1, MEMORY_BUDGET_BYTES // (state_bytes + step_bytes))
    return _round_lanes(int(min(config.chains, budget_chunk, 65536)))


HOST_MEMORY_FRACTION = 0.5
"""Refuse a run whose kept per-chain values would exceed this fraction of the machine's memory."""


def _physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX: no refusal
        return 2**62


def _check_host_memory(config: SimConfig) -> None:
    """Per-chain values are kept for every metric and recorded generation: refuse, up front, what cannot fit."""
    rows = len(config.metrics) if config.metrics is not None else len(config.spec.metric_names())
    need = 8 * (rows + 2) * len(config.record or ()) * config.chains
    have = _physical_memory()
    if need > HOST_MEMORY_FRACTION * have:
        raise ConfigError(
            f"keeping every chain's values needs about {need / 2**30:.3g} GiB ({rows} metrics x "
            f"{len(config.record or ())} recorded generations x {config.chains} chains x 8 bytes), more than half "
            f"of this machine's {have / 2**30:.3g} GiB; record fewer generations (--record), fewer metrics "
            "(--metrics) or fewer chains"
        )


def _simulate(config: SimConfig, dtype, progress: bool | None) -> SimulationResult:
    from collapse_theory import __version__

    state_bytes, step_bytes = _working_set(config, dtype)
    chunk = _chunk_size(config, state_bytes, step_bytes)
    if state_bytes * chunk > 4 * MEMORY_BUDGET_BYTES:
        raise ConfigError(
            f"the {config.scenario} pool needs {state_bytes / 2**20:.0f} MiB per chain; "
            "reduce --generations or --samples"
        )
    _check_host_memory(config)
    t0 = time.perf_counter()
    prog = _program(_graph(config), chunk, dtype)
    compile_seconds = time.perf_counter() - t0
    all_names = prog.names + prog.diagnostics
    names = config.metrics if config.metrics is not None else prog.names
    rows = [all_names.index(k) for k in (*names, *prog.diagnostics)]
    run_key = bits.fold(bits.key_from_seed(config.seed), tags.GENERATIONS)
    sizes_dev = jnp.asarray(config.sizes(), dtype)

    record = np.asarray(config.record, dtype=np.int64)
    n_chunks = math.ceil(config.chains / chunk)
    out = np.empty((len(rows), len(record), config.chains), dtype=np.float64)
    # Segments of at most ~1/50 of the horizon, so the progress bar moves on long runs.
    seg = max(1, math.ceil(config.generations / 50))
    bar = Progress(total=n_chunks * int(record[-1]), enabled=progress, stream=sys.stderr)
    t1 = time.perf_counter()
    for ci in range(n_chunks):
        lo = ci * chunk
        chains = jnp.arange(lo, lo + chunk, dtype=jnp.uint32)
        state = prog.init()
        g = 0
        for ri, r in enumerate(record):
            while g < r:
                nxt = int(min(r, g + seg))
                state = prog.advance(
                    state, chains, run_key, sizes_dev, jnp.asarray(g, jnp.int32), jnp.asarray(nxt, jnp.int32)
                )
                bar.update(nxt - g)
                g = nxt
            vals = np.asarray(prog.measure_truth() if r == 0 else prog.measure(state), dtype=np.float64)[rows]
            hi = min(chunk, config.chains - lo)
            out[:, ri, lo : lo + hi] = vals[:, :hi]
    run_seconds = time.perf_counter() - t1
    bar.close()
    cgps = config.chains * int(record[-1]) / run_seconds if run_seconds > 0 else float("inf")
    values = {k: out[i] for i, k in enumerate(names)}
    diagnostics = {k: out[len(names) + i] for i, k in enumerate(prog.diagnostics)}
    warnings = list(prog.warnings(diagnostics, record)) if prog.warnings is not None and diagnostics else []
    warnings += summary_warnings(values, record)
    return SimulationResult(
        config=config,
        generations=record,
        values=values,
        timing=Timing(compile_seconds, run_seconds, cgps),
        version=__version__,
        diagnostics=diagnostics,
        warnings=warnings,
    )
