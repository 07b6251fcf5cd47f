"""Closed forms of model-collapse theory (sympy) and their registry.

Importing this package imports sympy; the rest of ``collapse_theory`` does not need it. The
numeric bridge is :mod:`collapse_theory.theory.numeric`; every parameter's domain is declared
with its result (:mod:`collapse_theory.theory.domains`) and checked by :func:`evaluate`, which
raises :class:`ParameterError` (a ``ValueError``) with a one-line message.
"""

from collapse_theory.theory.domains import ParameterError as ParameterError
from collapse_theory.theory.registry import EvaluationError as EvaluationError
from collapse_theory.theory.registry import Result as Result
from collapse_theory.theory.registry import all_results as all_results
from collapse_theory.theory.registry import check_params as check_params
from collapse_theory.theory.registry import evaluate as evaluate
from collapse_theory.theory.registry import evaluate_mp as evaluate_mp
from collapse_theory.theory.registry import get as get

__all__ = [
    "EvaluationError",
    "ParameterError",
    "Result",
    "all_results",
    "check_params",
    "evaluate",
    "evaluate_mp",
    "get",
]
