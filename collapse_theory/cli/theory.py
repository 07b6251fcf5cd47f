"""``collapse-theory theory list|eval``: the registry of closed forms."""

from __future__ import annotations

import json

from collapse_theory.config import ConfigError

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    """Register the ``theory`` subcommand."""
    p = sub.add_parser("theory", help="list or evaluate the registered closed forms")
    tsub = p.add_subparsers(dest="theory_command", required=True)
    pl = tsub.add_parser("list", help="list every registered result")
    pl.add_argument("--format", choices=["table", "json"], default="table")
    pl.set_defaults(run=run_list)
    pe = tsub.add_parser("eval", help="evaluate one result: theory eval ID name=value ...")
    pe.add_argument("id")
    pe.add_argument("values", nargs="*", help="name=value pairs")
    pe.add_argument("--format", choices=["table", "json"], default="table")
    pe.set_defaults(run=run_eval)


def run_list(a) -> int:
    """Print the registry."""
    from collapse_theory.theory.cli import list_rows

    rows = list_rows()
    if a.format == "json":
        print(json.dumps(rows))
        return 0
    for r in rows:
        params = ",".join(r["params"])
        print(f"{r['id']:<52} {r['kind']:<13} [{params}]  {r['title']}")
    print(f"# {len(rows)} results")
    return 0


def run_eval(a) -> int:
    """Evaluate one registered result at the given parameter values."""
    from collapse_theory.theory.cli import eval_json

    values = {}
    for item in a.values:
        if "=" not in item:
            raise ConfigError(f"expected name=value, got {item!r}")
        k, v = item.split("=", 1)
        try:
            values[k.strip()] = float(v)
        except ValueError:
            raise ConfigError(f"value of {k!r} must be a number, got {v!r}") from None
    out = eval_json(a.id, values)
    if a.format == "json":
        print(json.dumps(out))
    else:
        print(f"{out['id']} = {out['value']!r}")
        print(f"  {out['statement']}")
    return 0
