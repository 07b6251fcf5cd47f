"""Command-line interface: ``collapse-theory`` and ``python -m collapse_theory``.

Subcommands: ``simulate`` (:mod:`.simulate`), ``theory`` (:mod:`.theory`), ``verify``
(:mod:`.verify`), ``decompose`` (:mod:`.decompose`). The CLI calls the library only. It changes no global JAX setting; float64 runs
enable x64 locally inside the simulation.
"""

from __future__ import annotations

import argparse
import os
import sys

from collapse_theory.config import ConfigError

__all__ = ["main", "CliError"]


class CliError(Exception):
    """A user error to be printed as one line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        if message.startswith("unrecognized arguments:"):
            message += _belongs_to(message.split(":", 1)[1].split())
        raise CliError(f"{self.prog}: {message}")


def _belongs_to(args: list[str]) -> str:
    """Name the families an unrecognized option belongs to."""
    from collapse_theory.cli.simulate import family_flags

    flags = family_flags()
    for a in args:
        name = a.split("=", 1)[0]
        if name in flags:
            fams = flags[name]
            return f" ({name} is an option of the {', '.join(fams)} {'family' if len(fams) == 1 else 'families'})"
    return ""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    from collapse_theory import __version__
    from collapse_theory.cli import decompose, figures, simulate, sweep, theory, verify

    p = _Parser(prog="collapse-theory", description="Exact simulation of model collapse, checked against theory.")
    p.add_argument("--version", action="version", version=f"collapse-theory {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    simulate.add_parser(sub)
    theory.add_parser(sub)
    verify.add_parser(sub)
    decompose.add_parser(sub)
    sweep.add_parser(sub)
    figures.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.run(args) or 0)
    except (CliError, ConfigError, KeyError) as e:
        msg = e.args[0] if e.args else str(e)
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as the Python docs recommend.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
