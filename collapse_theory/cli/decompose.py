"""``collapse-theory decompose``: each error source's contribution to a metric over generations."""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    """Register the ``decompose`` subcommand (it takes ``simulate gaussian``'s options)."""
    from collapse_theory.cli import simulate

    p = sub.add_parser(
        "decompose",
        help="switch the statistical, functional and numerical error sources off in turn",
        description=(
            "Runs a 1-D Gaussian configuration with --truth (functional), finite --samples "
            "(statistical) and --kernel naive-sample --precision P (numerical), then with each "
            "source off, and reports each one's contribution with paired standard errors."
        ),
    )
    simulate.add_options(p, "gaussian", metrics=False, output_help="folder for decompose.json and the figure")
    p.add_argument("--metric", default="w2_sq", help="metric to decompose (default: w2_sq)")
    p.set_defaults(run=run)


def run(a) -> int:
    """Run the decomposition and print a table or JSON; write the figure under --output."""
    from collapse_theory.cli.paths import writable_folder
    from collapse_theory.cli.simulate import config_from_args
    from collapse_theory.decompose import decompose

    config = config_from_args(a)
    if a.output:
        writable_folder(a.output)
    d = decompose(config, a.metric, progress=False if a.quiet else None)
    for w in d.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if a.output:
        out = Path(a.output)
        out.mkdir(parents=True, exist_ok=True)
        d.figure(out / f"decompose_{a.metric}.png")
        (out / "decompose.json").write_text(json.dumps(d.to_json(), indent=1))
        print(f"wrote {out / f'decompose_{a.metric}.png'} and {out / 'decompose.json'}", file=sys.stderr)
    if a.format == "json":
        json.dump(d.to_json(), sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(d.table())
    return 0
