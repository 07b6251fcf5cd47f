"""Numeric bridge: the one module that turns sympy expressions into numbers.

Two paths, both cached per expression:

* :func:`evaluate_expr` evaluates a scalar at 30 significant digits with mpmath. ``Product``
  and ``Sum`` nodes with a finite (possibly symbolic) upper limit are replaced by placeholders;
  the outer expression is lambdified once, and each placeholder is computed term by term for
  the integer limits of the call (nested products inside sums work the same way).
  Empty ranges follow Karr's convention only for the empty case ``upper = lower - 1``;
  anything shorter is outside the domain.
* :func:`vectorized` returns a numpy/scipy function of the expression (no sums or products)
  for array-valued evaluation, e.g. by the Monte Carlo verification code. It works in
  float64: Gamma ratios overflow for arguments above ~170 (``M`` above ~340), where
  :func:`evaluate_expr` (mpmath) is the reliable path.

References:
    sympy ``lambdify`` documentation (modules ``"mpmath"`` and ``["scipy", "numpy"]``).

"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import mpmath
import sympy as sp

__all__ = ["DPS", "evaluate_expr", "vectorized"]

DPS = 30
_LOOP_TYPES = (sp.Product, sp.Sum)


@dataclasses.dataclass(frozen=True)
class _Loop:
    is_product: bool
    index: sp.Symbol
    body: sp.Expr
    lower: sp.Expr
    upper: sp.Expr


@dataclasses.dataclass(frozen=True)
class _Compiled:
    fn: Callable[..., Any]
    arg_names: tuple[str, ...]
    loops: tuple[_Loop, ...]


def _outer_loops(expr: sp.Basic) -> list[sp.Basic]:
    if isinstance(expr, _LOOP_TYPES):
        return [expr]
    found: list[sp.Basic] = []
    for arg in expr.args:
        found.extend(x for x in _outer_loops(arg) if x not in found)
    return found


def _arguments(expr: sp.Basic) -> list[sp.Basic]:
    bases = sorted({ix.base for ix in expr.atoms(sp.Indexed)}, key=str)
    labels = {str(b.label) for b in bases}
    symbols = sorted(
        (s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s.name not in labels),
        key=lambda s: s.name,
    )
    return [*symbols, *bases]


@functools.cache
def _compile(expr: sp.Basic) -> _Compiled:
    loops = _outer_loops(expr)
    placeholders = [sp.Dummy(f"loop{i}") for i in range(len(loops))]
    outer = expr.xreplace(dict(zip(loops, placeholders, strict=True)))
    args = [a for a in _arguments(outer) if a not in placeholders]
    fn = sp.lambdify([*args, *placeholders], outer, modules="mpmath")
    compiled_loops = []
    for loop in loops:
        if len(loop.limits) != 1:
            raise ValueError(f"only single-index products/sums are supported: {loop}")
        index, lower, upper = loop.limits[0]
        compiled_loops.append(_Loop(isinstance(loop, sp.Product), index, loop.function, lower, upper))
    names = tuple(str(a.label) if isinstance(a, sp.IndexedBase) else a.name for a in args)
    return _Compiled(fn, names, tuple(compiled_loops))


def _as_index(value: Any, what: str) -> int:
    if isinstance(value, int):
        return value
    nearest = int(mpmath.nint(value))
    if abs(value - nearest) > 1e-9:
        raise ValueError(f"{what} must be an integer, got {value}")
    return nearest


def _run_loop(loop: _Loop, env: dict[str, Any]) -> Any:
    if loop.upper.has(sp.oo) or loop.lower.has(sp.oo):
        raise ValueError("infinite sum/product: evaluate the registered limit result instead")
    lo = _as_index(_eval(loop.lower, env), "lower limit")
    hi = _as_index(_eval(loop.upper, env), "upper limit")
    if hi < lo - 1:
        raise ValueError(f"empty range {lo}..{hi} is outside the domain")
    acc = mpmath.mpf(1) if loop.is_product else mpmath.mpf(0)
    integer_index = bool(loop.body.atoms(sp.Indexed))
    inner = dict(env)
    for value in range(lo, hi + 1):
        inner[loop.index.name] = value if integer_index else mpmath.mpf(value)
        term = _eval(loop.body, inner)
        acc = acc * term if loop.is_product else acc + term
    return acc


def _eval(expr: sp.Basic, env: dict[str, Any]) -> Any:
    if expr.is_Number:
        return mpmath.mpmathify(sp.N(expr, DPS + 5))
    compiled = _compile(expr)
    try:
        args = [env[name] for name in compiled.arg_names]
    except KeyError as err:
        raise ValueError(f"no value for symbol {err.args[0]}") from None
    loops = [_run_loop(loop, env) for loop in compiled.loops]
    return compiled.fn(*args, *loops)


def _prepare(expr: sp.Basic, values: Mapping[str, Any]) -> dict[str, Any]:
    integer_names = {s.name for s in expr.free_symbols if isinstance(s, sp.Symbol) and s.is_integer}
    env: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, (list, tuple)) or hasattr(value, "__len__"):
            env[name] = [mpmath.mpf(float(v)) for v in value]
        else:
            if name in integer_names:
                _as_index(value, f"parameter {name}")
            env[name] = mpmath.mpf(value)
    return env


def evaluate_expr(expr: sp.Basic, values: Mapping[str, Any], context: str = "") -> float:
    """Evaluate ``expr`` at ``values`` with mpmath at :data:`DPS` digits.

    Args:
        expr: A sympy expression whose free symbols are named by ``values``.
        values: Parameter name to number (or sequence, for an ``IndexedBase``).
        context: Result id used in error messages.

    Returns:
        The value as a float.

    Raises:
        ValueError: Non-integral value for an integer symbol, an out-of-domain range, or a
            complex or non-finite value.

    """
    prefix = f"{context}: " if context else ""
    with mpmath.workdps(DPS):
        try:
            value = _eval(expr, _prepare(expr, values))
        except ValueError as err:
            raise ValueError(f"{prefix}{err}") from None
        except (ZeroDivisionError, OverflowError) as err:
            raise ValueError(f"{prefix}outside the domain ({err})") from None
        value = mpmath.mpmathify(value)
        if isinstance(value, mpmath.mpc):
            if abs(value.imag) > 1e-20 * max(1, abs(value.real)):
                raise ValueError(f"{prefix}complex value {value}: outside the domain")
            value = value.real
        if not mpmath.isfinite(value):
            raise ValueError(f"{prefix}non-finite value {value}: outside the domain")
        return float(value)


@functools.cache
def vectorized(expr: sp.Basic) -> tuple[Callable[..., Any], tuple[str, ...]]:
    """A numpy/scipy function of ``expr`` and the names of its positional arguments.

    Args:
        expr: An expression without ``Product``/``Sum``/``Integral`` nodes.

    Returns:
        ``(f, names)``: ``f(*arrays)`` broadcasts over numpy arrays given in ``names`` order.

    Raises:
        ValueError: If ``expr`` contains a sum, product or integral.

    """
    if expr.has(sp.Product, sp.Sum, sp.Integral):
        raise ValueError("vectorized() needs an expression without sums/products/integrals")
    args = _arguments(expr)
    names = tuple(str(a.label) if isinstance(a, sp.IndexedBase) else a.name for a in args)
    return sp.lambdify(args, expr, modules=["scipy", "numpy"]), names
