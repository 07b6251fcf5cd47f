"""Closed forms of model-collapse theory (sympy) and their registry.

Importing this package imports sympy; the rest of ``collapse_theory`` does not need it. The
numeric bridge is :mod:`collapse_theory.theory.numeric`.
"""

from collapse_theory.theory.registry import Result as Result
from collapse_theory.theory.registry import all_results as all_results
from collapse_theory.theory.registry import evaluate as evaluate
from collapse_theory.theory.registry import get as get

__all__ = ["Result", "all_results", "evaluate", "get"]
