"""``collapse-theory verify``: Monte Carlo against every registered closed form."""

from __future__ import annotations

from collapse_theory.cli.paths import writable_folder

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    """Register the ``verify`` subcommand."""
    from collapse_theory.verify.runner import CHAINS

    p = sub.add_parser("verify", help="check simulations against the closed forms")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help=f"{CHAINS['quick']} chains per configuration (CI)")
    mode.add_argument("--thorough", action="store_true", help=f"{CHAINS['thorough']} chains per configuration")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    p.add_argument(
        "--output",
        default="verify-report",
        help="folder for the Markdown report and figures, created if missing (default: verify-report)",
    )
    p.add_argument("--seed", type=int, default=0, help="base seed (default: 0)")
    p.add_argument("--quiet", action="store_true", help="no table")
    p.set_defaults(run=run)


def run(a) -> int:
    """Run the verifier (the output folder is checked first)."""
    from collapse_theory.verify.runner import main

    if a.output:
        writable_folder(a.output)
    return main(a)
