"""``collapse-theory theory list|eval``: the registry of closed forms.

Errors are one ``error: ...`` line with exit status 2 (parameter errors are
:class:`~collapse_theory.config.ConfigError`, which the CLI's ``main`` prints; an evaluation
failure is re-raised as :class:`~collapse_theory.cli.CliError`). Output into a pipe that closes
early (``theory list | head -1``) ends quietly with status 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator

__all__ = ["add_parser", "run_eval", "run_list"]


def add_parser(sub) -> None:
    """Register the ``theory`` subcommand."""
    p = sub.add_parser("theory", help="list or evaluate the registered closed forms")
    tsub = p.add_subparsers(dest="theory_command", required=True)
    pl = tsub.add_parser("list", help="list every registered result with its parameters' domains")
    pl.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    pl.set_defaults(run=run_list)
    pe = tsub.add_parser(
        "eval",
        help="evaluate one result: theory eval ID name=value ... (vectors as p=0.5,0.3,0.2)",
    )
    pe.add_argument("id", help="result id (see theory list)")
    pe.add_argument("values", nargs="*", help="name=value pairs; a vector parameter as comma-separated numbers")
    pe.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    pe.set_defaults(run=run_eval)


@contextlib.contextmanager
def _closed_pipe_is_quiet() -> Iterator[None]:
    """Swallow ``BrokenPipeError`` from stdout (Python docs, 'Note on SIGPIPE')."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again


def _emit(write: Callable[[], None]) -> int:
    with _closed_pipe_is_quiet():
        write()
    return 0


def run_list(a) -> int:
    """Print the registry: id, kind, title and every parameter's domain."""
    from collapse_theory.theory.cli import domain_text, list_rows
    from collapse_theory.theory.registry import all_results

    if a.format == "json":
        rows = list_rows()
        return _emit(lambda: print(json.dumps(rows, allow_nan=False)))
    results = all_results()

    def write() -> None:
        for res in results:
            print(f"{res.id:<52} {res.kind:<13} {res.title}  [{domain_text(res)}]")
        print(f"# {len(results)} results")

    return _emit(write)


def run_eval(a) -> int:
    """Evaluate one registered result at the given parameter values."""
    from collapse_theory.cli import CliError
    from collapse_theory.theory import registry
    from collapse_theory.theory.cli import eval_json, parse_values

    res = registry.get(a.id)
    values = parse_values(a.values, res.vector_params)
    try:
        out = eval_json(a.id, values)
    except registry.EvaluationError as err:
        raise CliError(str(err)) from None
    if a.format == "json":
        return _emit(lambda: print(json.dumps(out, allow_nan=False)))

    def write() -> None:
        if out.get("value_text") is None:
            print(f"{out['id']} = {out['value']!r}")
        else:
            print(f"{out['id']} = {out['value_text']} ({out['note']})")
        print(f"  {out['statement']}")

    return _emit(write)
