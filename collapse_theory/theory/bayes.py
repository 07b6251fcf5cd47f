"""Bayesian (conjugate posterior-predictive) learners under recursive training."""

from __future__ import annotations

from collapse_theory.theory.registry import Result

__all__ = ["results"]


def results() -> list[Result]:
    """The registered results of this topic."""
    return []
