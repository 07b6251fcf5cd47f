"""One simulation from a validated configuration to its result: plan, compile, run, merge.

:func:`execute` is what :func:`collapse_theory.simulate` calls: it lays the run out
(:mod:`collapse_theory.runtime.plan`), resumes from a checkpoint if there is one, compiles (or loads)
the program, runs the host loop (:mod:`collapse_theory.runtime.driver`) and, with several processes,
merges every process's part on process 0 (:mod:`collapse_theory.runtime.distributed`).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from collapse_theory.config import SimConfig
from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.results import SimulationResult, Timing, summary_warnings
from collapse_theory.runtime import distributed
from collapse_theory.runtime.checkpoint import Checkpointer, signals_save
from collapse_theory.runtime.driver import Collector, drive
from collapse_theory.runtime.plan import Plan, make_plan
from collapse_theory.runtime.progress import Progress
from collapse_theory.summaries import MetricSummary, summarize, summarize_streamed
from collapse_theory.summaries.streaming import merge_packed, pack, unpack

__all__ = ["execute"]


def _identity(config: SimConfig, plan: Plan) -> dict:
    from collapse_theory import __version__

    cfg = {k: v for k, v in config.to_dict().items() if k not in ("devices", "keep_chains")}
    return {"config": cfg, "version": __version__, "keep": plan.keep, "chains": [plan.first, plan.stop]}


def execute(config: SimConfig, dtype, progress: bool | None, checkpoint, every) -> SimulationResult:
    """Run ``config`` (validated) and return its result (see :func:`collapse_theory.simulate`)."""
    from collapse_theory import __version__
    from collapse_theory.engine import _graph, _program, _working_set

    pid, nproc = distributed.process_info()
    run_tag = distributed.next_run() if nproc > 1 else 0
    state_bytes, step_bytes, measure_rows = _working_set(config, dtype)
    kw: dict[str, Any] = dict(state_bytes=state_bytes, step_bytes=step_bytes, measure_rows=measure_rows)
    kw |= dict(devices=config.devices, keep_chains=config.keep_chains, process=pid, processes=nproc)
    plan = make_plan(config, **kw)
    ckpt = resume = None
    if checkpoint is not None:
        ckpt = Checkpointer(Path(checkpoint), _identity(config, plan), every=every, process=pid, processes=nproc)
        resume = ckpt.load()
        if resume is not None and resume.lanes != plan.lanes:
            plan = make_plan(config, **kw, lanes=resume.lanes)
        ckpt.check_writable()
    t0 = time.perf_counter()
    prog = _program(_graph(config), plan.chunk, dtype, plan.devices, config.metrics)
    compile_seconds = time.perf_counter() - t0
    all_names = prog.names + prog.diagnostics
    names = config.metrics if config.metrics is not None else prog.names
    rows = [all_names.index(k) for k in (*names, *prog.diagnostics)]
    record = np.asarray(config.record, dtype=np.int64)
    collector = Collector(plan, names, prog.diagnostics, record, prog.warnings)
    if resume is not None:
        collector.restore(resume.arrays, resume.warnings)
    run_key = prog.put(bits.fold(bits.key_from_seed(config.seed), tags.GENERATIONS))
    sizes_dev = prog.put(np.asarray(config.sizes(), dtype=jnp.dtype(dtype)))
    gens = int(record[-1])
    bar = Progress(total=plan.steps * gens * plan.lanes, enabled=progress, stream=sys.stderr)
    before = resume.elapsed if resume is not None else 0.0
    if resume is not None:
        bar.resumed((resume.step * gens + resume.generation) * plan.lanes)
    t1 = time.perf_counter()

    def elapsed() -> float:
        return before + time.perf_counter() - t1

    with signals_save() if ckpt is not None else contextlib.nullcontext():
        drive(
            prog,
            plan,
            record,
            rows,
            collector,
            (run_key, sizes_dev),
            lambda u: bar.update(u * plan.lanes),
            ckpt,
            resume,
            elapsed,
        )
    collector.close()
    run_seconds = elapsed()
    bar.close()
    timing = dict(compile_seconds=compile_seconds, run_seconds=run_seconds, devices=len(plan.devices))
    if nproc > 1:
        result = _merge(config, plan, collector, names, record, timing, run_tag, __version__)
    else:
        result = _result(config, plan, collector, names, record, timing, __version__)
    if ckpt is not None:
        ckpt.remove()
    return result


def _warnings(config, plan, names, record, values, summaries, diagnostics, family_warnings, warn) -> list[str]:
    out: list[str] = []
    if plan.auto_streamed:
        out.append(
            f"per-chain values not kept (they would need {plan.kept_bytes / 2**30:.3g} GiB): summaries streamed, "
            "quantiles within the stated rank error (keep_chains=True / --keep-chains to keep them)"
        )
    if diagnostics and warn is not None:
        out += list(warn(diagnostics, record))
    out += family_warnings
    out += summary_warnings(values or summaries, record)
    return out


def _result(config, plan, collector, names, record, timing, version) -> SimulationResult:
    """A single process's result."""
    values: dict[str, np.ndarray] = {}
    diagnostics: dict[str, np.ndarray] = {}
    summaries: dict[str, MetricSummary] = {}
    if plan.keep:
        values = {k: collector.out[i] for i, k in enumerate(names)}
        diagnostics = {k: collector.out[len(names) + i] for i, k in enumerate(collector.diag)}
    else:
        summaries = _streamed(collector.cells, names, record)
    warns = _warnings(
        config, plan, names, record, values, summaries, diagnostics, collector.all_warnings(), collector.warn
    )
    return _build(config, record, values, summaries, diagnostics, warns, timing, 1, version)


def _build(config, record, values, summaries, diagnostics, warns, timing, processes, version) -> SimulationResult:
    gens = int(record[-1])
    run_seconds = timing["run_seconds"]
    cgps = config.chains * gens / run_seconds if run_seconds > 0 else float("inf")
    return SimulationResult(
        config=config,
        generations=record,
        values=values,
        timing=Timing(timing["compile_seconds"], run_seconds, cgps, timing["devices"], processes),
        version=version,
        diagnostics=diagnostics,
        warnings=warns,
        summaries=summaries,
    )


def _streamed(cells, names, record) -> dict[str, MetricSummary]:
    key = Collector.key
    return {
        k: summarize_streamed([cells[key(i, ri)].result() for ri in range(len(record))]) for i, k in enumerate(names)
    }


def _npz(arrays: dict[str, np.ndarray], meta: dict) -> bytes:
    bio = io.BytesIO()
    np.savez(bio, meta=np.array(json.dumps(meta)), **arrays)  # type: ignore[arg-type]
    return bio.getvalue()


def _unnpz(data: bytes) -> tuple[dict[str, np.ndarray], dict]:
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return arrays, json.loads(str(arrays.pop("meta")))


def _merge(config, plan, collector, names, record, timing, run_tag, version) -> SimulationResult:
    """Send this process's part to process 0, which merges exactly; everyone gets the merged summaries."""
    meta = dict(timing=timing, warnings=collector.all_warnings())
    part = {"kept": collector.out} if plan.keep else {"cells": np.frombuffer(pack(collector.cells), np.uint8)}
    parts = distributed.gather(run_tag, _npz(part, meta))
    values: dict[str, np.ndarray] = {}
    diagnostics: dict[str, np.ndarray] = {}
    if parts is not None:  # process 0
        decoded = [_unnpz(p) for p in parts]
        metas = [m for _, m in decoded]
        timing = dict(
            compile_seconds=max(m["timing"]["compile_seconds"] for m in metas),
            run_seconds=max(m["timing"]["run_seconds"] for m in metas),
            devices=sum(m["timing"]["devices"] for m in metas),
        )
        family_warnings = [w for m in metas for w in m["warnings"]]
        if plan.keep:
            out = np.concatenate([a["kept"] for a, _ in decoded], axis=2)
            values = {k: out[i] for i, k in enumerate(names)}
            diagnostics = {k: out[len(names) + i] for i, k in enumerate(collector.diag)}
            summaries = {k: summarize(v) for k, v in values.items()}
        else:
            keys = list(collector.cells)
            cells = merge_packed([unpack(a["cells"].tobytes(), keys) for a, _ in decoded])
            summaries = _streamed(cells, names, record)
        warns = _warnings(config, plan, names, record, values, summaries, diagnostics, family_warnings, collector.warn)
        arrays = {f"{k}/{f}": np.asarray(v) for k, s in summaries.items() for f, v in s._asdict().items()}
        merged = distributed.broadcast(run_tag, _npz(arrays, dict(timing=timing, warnings=warns)))
    else:
        merged = distributed.broadcast(run_tag, None)
    arrays, meta = _unnpz(merged)
    summaries = {k: MetricSummary(**{f: arrays[f"{k}/{f}"] for f in MetricSummary._fields}) for k in names}
    return _build(
        config,
        record,
        values,
        {} if values else summaries,
        diagnostics,
        meta["warnings"],
        meta["timing"],
        plan.processes,
        version,
    )
