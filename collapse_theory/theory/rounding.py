"""Rounding-error bounds of summation and variance algorithms (Higham)."""

from __future__ import annotations

from collapse_theory.theory.registry import Result

__all__ = ["results"]


def results() -> list[Result]:
    """The registered results of this topic."""
    return []
