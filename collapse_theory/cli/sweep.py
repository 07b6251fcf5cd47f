"""``collapse-theory sweep SPEC.toml --cache DIR``: a cached product grid, exported as a tidy table.

The TOML file has a ``[base]`` table (``SimConfig`` settings, family settings flat; top-level
keys count as base settings too) and a ``[grid]`` table (setting -> list of values); settings
varied together go in ``[[zip]]`` tables of equal-length lists::

    [base]
    family = "gaussian"
    estimator = "unbiased"
    generations = 100
    chains = 2000

    [grid]
    samples = [10, 100, 1000]
    scenario = ["replace", "accumulate"]
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

__all__ = ["add_parser", "read_spec"]


def add_parser(sub) -> None:
    """Register the ``sweep`` subcommand."""
    p = sub.add_parser(
        "sweep",
        help="run a cached grid of configurations and export a tidy table",
        description="Runs the product grid of SPEC.toml ([base] + [grid], optional [[zip]]); finished cells "
        "in --cache are skipped, so an interrupted sweep resumes. --output writes the combined tidy table "
        "(.csv, or .parquet with pyarrow).",
    )
    p.add_argument("spec", help="TOML file with [base] and [grid]")
    p.add_argument("--cache", required=True, help="folder of cached cells")
    p.add_argument("--output", default=None, help="tidy table file: .csv or .parquet")
    p.add_argument("--csv", default=None, metavar="FILE", help="write the tidy table as CSV")
    p.add_argument("--parquet", default=None, metavar="FILE", help="write the tidy table as parquet (needs pyarrow)")
    p.add_argument("--metrics", default=None, help="comma-separated metrics for the table (default all)")
    p.add_argument("--workers", type=int, default=0, help="run cells in N worker processes (default: in-process)")
    p.add_argument("--rerun", action="store_true", help="run every cell again")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(run=run)


def read_spec(path: str | Path) -> tuple[dict, dict]:
    """(base, grid) of a sweep TOML file; ``[[zip]]`` tables become tuple-keyed axes."""
    from collapse_theory.cli import CliError

    try:
        spec = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise CliError(f"{path}: not valid TOML ({e})") from None
    tables = {
        k for k, v in spec.items() if isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict))
    }
    unknown = tables - {"base", "grid", "zip"}
    if unknown:
        raise CliError(f"{path}: unknown table {sorted(unknown)[0]!r} (use [base], [grid], [[zip]])")
    base = {k: v for k, v in spec.items() if k not in tables} | dict(
        spec.get("base", {})
    )  # top-level keys are base settings too
    grid: dict = dict(spec.get("grid", {}))
    for z in spec.get("zip", []):
        names = tuple(z)
        lengths = {len(v) for v in z.values()}
        if len(lengths) != 1:
            raise CliError(
                f"{path}: a [[zip]] table needs lists of equal length, got {dict((k, len(v)) for k, v in z.items())}"
            )
        grid[names] = list(zip(*(z[n] for n in names), strict=True))
    if "samples" in base and base["samples"] == "inf":
        base["samples"] = float("inf")
    return base, grid


def run(a) -> int:
    """Run the sweep, print its summary, write the table."""
    from collapse_theory.sweeps import sweep
    from collapse_theory.tables import write_table

    base, grid = read_spec(a.spec)
    executor = None
    if a.workers and a.workers > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(a.workers, mp_context=mp.get_context("spawn"))
    try:
        s = sweep(base, grid, cache=a.cache, executor=executor, progress=not a.quiet, rerun=a.rerun)
    finally:
        if executor is not None:
            executor.shutdown()
    n_cached = sum(c.cached for c in s.cells)
    print(f"{len(s)} cells ({n_cached} from the cache, {len(s) - n_cached} run) in {a.cache}", file=sys.stderr)
    targets = [t for t in (a.output, a.csv) if t] + ([a.parquet] if a.parquet else [])
    if a.csv and not str(a.csv).endswith(".csv"):
        targets[targets.index(a.csv)] = str(Path(a.csv).with_suffix(".csv"))
    if a.parquet and not str(a.parquet).endswith((".parquet", ".pq")):
        targets[-1] = str(Path(a.parquet).with_suffix(".parquet"))
    if targets:
        metrics = [m.strip() for m in a.metrics.split(",")] if a.metrics else None
        df = s.to_dataframe(metrics)
        for target in targets:
            try:
                path = write_table(df, target)
            except (ImportError, ValueError) as e:
                from collapse_theory.cli import CliError

                raise CliError(str(e)) from None
            print(f"wrote {path} ({len(df)} rows)", file=sys.stderr)
    return 0
