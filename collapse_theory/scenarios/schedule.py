"""Sample-size schedules: a safe arithmetic expression in ``t`` evaluated on the host.

``t = 0`` is the sample that fits model 1. The expression is parsed with :mod:`ast` and only
numbers, ``t``, ``+ - * / // % **``, unary signs and a few named functions are accepted, so user
text is never passed to ``eval``.

Example: ``3*(t+1)**2`` (quadratic growth, for which sum 1/M_t converges and E W2^2 stays bounded;
Xu, He & Cheng, arXiv 2505.13947; derivation in ``docs/derivations.md``, 'Growing sample sizes').
"""

from __future__ import annotations

import ast
import operator

import numpy as np

__all__ = ["ScheduleError", "evaluate_schedule", "MAX_SAMPLES"]

MAX_SAMPLES = 10**8

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCS = {
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.round,
    "sqrt": np.sqrt,
    "log": np.log,
    "log2": np.log2,
    "exp": np.exp,
    "abs": np.abs,
    "min": np.minimum,
    "max": np.maximum,
}


class ScheduleError(ValueError):
    """A schedule expression that is not allowed or does not give valid sample sizes."""


def _eval(node, t):
    if isinstance(node, ast.Expression):
        return _eval(node.body, t)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return np.float64(node.value)
    if isinstance(node, ast.Name):
        if node.id != "t":
            raise ScheduleError(f"unknown name {node.id!r} in schedule (only 't' is allowed)")
        return t
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_eval(node.left, t), _eval(node.right, t))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, t))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords:
        args = [_eval(a, t) for a in node.args]
        try:
            return _FUNCS[node.func.id](*args)
        except TypeError as e:
            raise ScheduleError(f"bad arguments to {node.func.id}(): {e}") from None
    raise ScheduleError(f"unsupported syntax in schedule: {ast.dump(node)[:60]}")


def evaluate_schedule(expr: str, generations: int, minimum: int = 2) -> np.ndarray:
    """Sample sizes M_t for t = 0..generations-1.

    Args:
        expr: arithmetic expression in ``t``.
        generations: number of generations (length of the result).
        minimum: smallest allowed sample size (2 for the unbiased Gaussian estimator, d + 1 in d
            dimensions, 1 otherwise).

    Returns:
        ``int64[generations]``.

    Raises:
        ScheduleError: on disallowed syntax, non-integer, too small, too large or non-finite values.

    """
    if len(expr) > 200:
        raise ScheduleError("schedule expression longer than 200 characters")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        raise ScheduleError(f"cannot parse schedule {expr!r}") from None
    t = np.arange(generations, dtype=np.float64)
    with np.errstate(all="ignore"):
        vals = np.broadcast_to(np.asarray(_eval(tree, t), dtype=np.float64), t.shape)
    if not np.all(np.isfinite(vals)):
        bad = int(np.argmax(~np.isfinite(vals)))
        raise ScheduleError(f"schedule {expr!r} is not finite at t={bad}")
    rounded = np.round(vals)
    if not np.all(np.abs(vals - rounded) <= 1e-9 * np.maximum(1.0, np.abs(vals))):
        bad = int(np.argmax(np.abs(vals - rounded) > 1e-9 * np.maximum(1.0, np.abs(vals))))
        raise ScheduleError(
            f"schedule {expr!r} gives a non-integer {vals[bad]!r} at t={bad} (wrap it in floor() or round())"
        )
    if np.any(rounded < minimum):
        bad = int(np.argmax(rounded < minimum))
        raise ScheduleError(f"schedule {expr!r} gives {int(rounded[bad])} < {minimum} samples at t={bad}")
    if np.any(rounded > MAX_SAMPLES):
        bad = int(np.argmax(rounded > MAX_SAMPLES))
        raise ScheduleError(f"schedule {expr!r} gives more than {MAX_SAMPLES} samples at t={bad}")
    return rounded.astype(np.int64)
