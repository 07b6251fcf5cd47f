"""``collapse-theory simulate FAMILY``: run the engine, print a table or JSON.

Each family is a sub-command whose options are generated from its spec's settings
(:func:`collapse_theory.families.spec.setting`): ``simulate kde --help`` lists exactly the kde
settings, and an option of another family is an error naming the families that take it. Every
option is passed to the library only when given, so an explicit value is never confused with
a default.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys

from collapse_theory.cli.paths import writable_file
from collapse_theory.config import MIXINGS, PRECISIONS, SCENARIOS, SimConfig
from collapse_theory.families import registry
from collapse_theory.families.spec import ConfigError, flag, parse_float, parse_int

__all__ = ["add_parser", "add_options", "config_from_args", "family_flags"]

_ALIASES = {"regression": {"--design-size": ("samples", "regression: T rows per generation (same as --samples)")}}
"""Family-specific spellings of run-level options."""


def _samples(text: str) -> int | float:
    t = text.strip().lower()
    if t in ("inf", "infinity"):
        return math.inf
    try:
        return int(t)
    except ValueError:
        raise ConfigError(f"--samples must be an integer or inf, got {text!r}") from None


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"expected a comma-separated list of integers, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


# Run-level options: (flag, parser, help with default). All default to None ("not given").
RUN_OPTIONS: dict[str, tuple] = {
    "scenario": (str, f"data workflow: {' | '.join(SCENARIOS)} (default: replace)", "NAME"),
    "samples": (_samples, "M, samples per generation, or inf = population fit (default: 100)", "M"),
    "samples_schedule": (str, "M_t as an expression in t, e.g. '3*(t+1)**2' (instead of --samples)", "EXPR"),
    "generations": (parse_int, "number of generations (default: 100)", "G"),
    "chains": (parse_int, "independent chains (default: 1000)", "C"),
    "seed": (parse_int, "seed; chain c's stream depends only on (seed, c, generation) (default: 0)", "S"),
    "record": (_ints, "comma list of generations to record (default: 0, 1, 2, 5, 10, 20, 50, ...)", "LIST"),
    "precision": (str, f"{' | '.join(PRECISIONS)} (default: float32; float64 is enabled locally)", "NAME"),
    "chunk_size": (parse_int, "chains per compiled batch (default: from a 512 MiB budget)", "N"),
    "metrics": (_names, "comma list of metrics to keep (default: all)", "LIST"),
    "real_fraction": (parse_float, "alpha, fraction of fresh real data (--scenario fresh; default: 0.5)", "ALPHA"),
    "mixing": (str, f"fresh mixing: {' | '.join(MIXINGS)} (default: split = exactly round(alpha M))", "NAME"),
    "real_weight": (parse_float, "total weight w in (0, 1) of the real data in the fit (accumulate, fresh)", "W"),
    "devices": (parse_int, "local devices to shard the chains over; results do not depend on it (default: all)", "N"),
}


def _help(f: dataclasses.Field) -> str:
    h = f.metadata["help"]
    unit = f.metadata.get("unit")
    if unit:
        h += f" [{unit}]"
    if f.default is not None and "default" not in h:
        d = f.default
        h += f" (default: {','.join(map(str, d)) if isinstance(d, tuple) else d})"
    return h.replace("%", "%%")


def family_flags() -> dict[str, list[str]]:
    """Every family option's flag -> the families that take it (for error messages)."""
    out: dict[str, list[str]] = {}
    for name in registry.family_names():
        for f in dataclasses.fields(registry.spec_class(name)):
            if f.metadata.get("cli", False):
                out.setdefault(flag(f.name), []).append(name)
        for alias in _ALIASES.get(name, {}):
            out.setdefault(alias, []).append(name)
    return out


def add_options(
    p: argparse.ArgumentParser,
    family: str,
    *,
    metrics: bool = True,
    output_help: str = "save the full result (.npz) here",
) -> None:
    """Add the run-level options and ``family``'s own options to parser ``p``."""
    p.set_defaults(family=family)
    run = p.add_argument_group("run")
    for name, (_, text, metavar) in RUN_OPTIONS.items():
        if name == "metrics" and not metrics:
            continue
        run.add_argument(flag(name), dest=f"run_{name}", default=None, metavar=metavar, help=text)
    for alias, (target, text) in _ALIASES.get(family, {}).items():
        run.add_argument(alias, dest=f"alias_{target}", default=None, metavar="T", help=text)
    spec = registry.spec_class(family)
    own = p.add_argument_group(f"{family} family")
    for f in dataclasses.fields(spec):
        if not f.metadata.get("cli", False):
            continue
        own.add_argument(
            flag(f.name), dest=f"fam_{f.name}", default=None, metavar=f.metadata.get("metavar"), help=_help(f)
        )
    out = p.add_argument_group("output")
    out.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    out.add_argument("--output", help=output_help)
    out.add_argument("--quiet", action="store_true", help="no progress bar")


def add_scale_options(p: argparse.ArgumentParser) -> None:
    """Bounded memory, checkpoints and multi-process runs (docs/scale-out.md)."""
    g = p.add_argument_group("scale-out")
    keep = g.add_mutually_exclusive_group()
    keep.add_argument(
        "--no-keep-chains",
        dest="keep_chains",
        action="store_const",
        const=False,
        default=None,
        help="stream the summaries in bounded memory instead of keeping every chain's values "
        "(default: kept when they fit in 2 GiB and an eighth of memory)",
    )
    keep.add_argument("--keep-chains", dest="keep_chains", action="store_const", const=True, help="always keep them")
    g.add_argument(
        "--checkpoint", metavar="PATH", help="checkpoint here and resume from it (removed when the run completes)"
    )
    g.add_argument("--checkpoint-every", type=float, metavar="S", help="seconds between checkpoints (default: 300)")
    g.add_argument("--coordinator-address", metavar="HOST:PORT", help="multi-process: process 0's coordinator")
    g.add_argument("--num-processes", type=int, metavar="N", help="multi-process: processes taking part")
    g.add_argument("--process-id", type=int, metavar="I", help="multi-process: this process's index")
    g.add_argument(
        "--distributed",
        action="store_true",
        help="multi-process with the rest from the environment or the cluster (e.g. srun under SLURM)",
    )


def add_parser(sub) -> None:
    """Register ``simulate`` with one sub-command per family."""
    p = sub.add_parser("simulate", help="run recursive-training chains and summarise them")
    fams = p.add_subparsers(dest="family_command", required=True, metavar="FAMILY", parser_class=type(p))
    for name in registry.family_names():
        spec = registry.spec_class(name)
        fp = fams.add_parser(name, help=spec.summary, description=spec.summary)
        add_options(fp, name)
        add_scale_options(fp)
        fp.set_defaults(run=run)


def config_from_args(a) -> SimConfig:
    """Build the configuration from the given options only (validation happens in the library)."""
    run: dict = {}
    for name, (parse, _, _) in RUN_OPTIONS.items():
        text = getattr(a, f"run_{name}", None)
        if text is not None:
            run[name] = parse(text)
    for alias, (target, _) in _ALIASES.get(a.family, {}).items():
        text = getattr(a, f"alias_{target}", None)
        if text is not None:
            if target in run:
                raise ConfigError(f"give either {alias} or {flag(target)}, not both")
            run[target] = RUN_OPTIONS[target][0](text)
    settings = {}
    for f in dataclasses.fields(registry.spec_class(a.family)):
        text = getattr(a, f"fam_{f.name}", None)
        if text is not None:
            parse = f.metadata.get("parse")
            try:
                settings[f.name] = parse(text) if parse else text
            except ConfigError as e:
                raise ConfigError(f"{flag(f.name)}: {e}") from None
    return SimConfig(family=a.family, **run, **settings)


def _join(a) -> int:
    """Join a multi-process run when asked (flags or environment); this process's index."""
    from collapse_theory import distributed

    env = any(os.environ.get(v) for v in distributed.ENV.values())
    if a.distributed or env or a.coordinator_address or a.num_processes is not None or a.process_id is not None:
        return distributed.initialize(a.coordinator_address, a.num_processes, a.process_id)[0]
    return 0


def run(a) -> int:
    """Run the simulation and print the result (with several processes, process 0 prints)."""
    from collapse_theory.checkpoint import RunInterrupted
    from collapse_theory.engine import simulate

    config = config_from_args(a)
    if a.keep_chains is not None:
        config = config.replace(keep_chains=a.keep_chains)
    config = config.validated()
    pid = _join(a)
    if a.output and pid == 0:
        writable_file(a.output if a.output.endswith(".npz") else a.output + ".npz")
    try:
        result = simulate(
            config, progress=False if a.quiet else None, checkpoint=a.checkpoint, checkpoint_every=a.checkpoint_every
        )
    except RunInterrupted as e:
        print(f"collapse-theory: {e}", file=sys.stderr)
        return 128 + e.signum if e.signum else 3
    if pid != 0:
        return 0
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if a.output:
        path = result.save(a.output)
        print(f"saved {path}", file=sys.stderr)
    if a.format == "json":
        json.dump(result.to_json(), sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    print_table(result)
    return 0


def print_table(result) -> None:
    """Mean ± SE per metric and recorded generation; ``†`` marks an untrustworthy SE (heavy tails),
    ``*`` a summary over the finite chains only.
    """
    config = result.config
    names = result.metric_names
    print(f"# {config.spec.label()} scenario={config.scenario} chains={config.chains} seed={config.seed}")
    print("gen".rjust(7) + "".join(f"{n:>24}" for n in names))
    summaries = {n: result.summary(n) for n in names}
    marks: set[str] = set()
    for i, g in enumerate(result.generations):
        cells = []
        for n in names:
            s = summaries[n]
            mark = ("†" if not s.se_trustworthy[i] and g > 0 else "") + ("*" if s.finite_only[i] else "")
            marks.update(mark)
            cells.append(f"{s.mean[i]:>12.5g} ±{s.se[i]:<8.2g}{mark:<2}")
        print(f"{int(g):>7}" + "".join(f"{c:>24}" for c in cells))
    if "†" in marks:
        print(
            "# † heavy tails: the standard error of the mean is not trustworthy (see the median and quantiles: --format json)"
        )
    if "*" in marks:
        print("# * some chains are not finite: the mean is over the finite ones (counts: --format json)")
    t = result.timing
    where = f" on {t.devices} device{'s' if t.devices > 1 else ''}" + (
        f", {t.processes} processes" if t.processes > 1 else ""
    )
    print(
        f"# compile {t.compile_seconds:.2f}s, run {t.run_seconds:.2f}s, {t.chain_generations_per_second:.3g} chain-generations/s{where}"
    )
    if not result.chains_kept:
        e = max((int(result.summary(n).rank_error.max()) for n in names), default=0)
        print(f"# chains not kept: summaries streamed; quantiles within {e} ranks of the exact ones")
