"""``collapse-theory verify``: Monte Carlo against every registered closed form."""

from __future__ import annotations

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    """Register the ``verify`` subcommand."""
    p = sub.add_parser("verify", help="check simulations against the closed forms")
    p.add_argument("--quick", action="store_true", help="fewer chains (CI)")
    p.add_argument("--thorough", action="store_true", help="more chains")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--output", default="verify-report", help="folder for the Markdown report and figures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=run)


def run(a) -> int:
    """Run the verifier."""
    from collapse_theory.verify.runner import main

    return main(a)
