"""Numeric bridge: the one module that turns sympy expressions into numbers.

Two paths, both cached per expression:

* :func:`evaluate_expr_mp` evaluates a scalar with mpmath under :func:`adaptive`: at a
  starting precision of 30 digits plus the decimal magnitude of the largest or smallest input,
  then 20 digits more, doubling the precision until the two agree to ``2^-62`` relative, so a
  form that cancels catastrophically (``1 - c4(M)^n`` at ``M = 1e40``) is evaluated at the
  precision it needs. ``1/Gamma(z)`` is evaluated as mpmath's ``rgamma`` (0 at the poles, the
  limit of the expression), ``sin(pi z)`` as ``sinpi`` (exact zeros), ``1 +- erf(z)`` as
  ``erfc`` (normal tails far below 1e-16 stay accurate) and ``x^n`` with a huge exponent as
  ``exp(n log x)``. ``Product``
  and ``Sum`` nodes with a finite (possibly symbolic) upper limit are replaced by placeholders;
  the outer expression is lambdified once, and each placeholder is computed term by term for
  the integer limits of the call (nested products inside sums work the same way).
  Empty ranges follow Karr's convention only for the empty case ``upper = lower - 1``;
  anything shorter is outside the domain.
* :func:`vectorized` returns a numpy/scipy function of the expression (no sums or products)
  for array-valued evaluation, e.g. by the Monte Carlo verification code. It works in
  float64: Gamma ratios overflow for arguments above ~170 (``M`` above ~340), where
  :func:`evaluate_expr_mp` (mpmath) is the reliable path.

References:
    sympy ``lambdify`` documentation (modules ``"mpmath"`` and ``["scipy", "numpy"]``).

"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import mpmath
import sympy as sp

__all__ = ["DPS", "GUARD", "MAX_DPS", "adaptive", "evaluate_expr", "evaluate_expr_mp", "start_dps", "vectorized"]

DPS = 30
"""Working precision (decimal digits) before the inputs' magnitudes are added."""
GUARD = 20
"""Extra digits of the second evaluation at each level of :func:`adaptive`."""
MAX_DPS = 2000
"""Highest precision :func:`adaptive` tries before giving up."""
_AGREE = mpmath.mpf(2) ** -62
_LOOP_TYPES = (sp.Product, sp.Sum)


class rgamma(sp.Function):  # noqa: N801 - printed as mpmath's function name
    """``1/Gamma(z)`` for the numeric bridge (mpmath ``rgamma``: 0 at the poles)."""


class sinpi(sp.Function):  # noqa: N801
    """``sin(pi z)`` for the numeric bridge (mpmath ``sinpi``: exact at integers)."""


class erfc(sp.Function):  # noqa: N801
    """``1 - erf(z)`` for the numeric bridge (mpmath ``erfc``; sympy's would rewrite ``erfc(-z)``)."""


class powr(sp.Function):  # noqa: N801
    """``x^y`` with a symbolic exponent, as ``exp(y log x)`` for huge exponents (:func:`_powr`)."""


_HUGE_EXPONENT = mpmath.mpf(2) ** 64


def _powr(base: Any, exponent: Any) -> Any:
    """``base ** exponent``; for ``|exponent| > 2^64`` and ``base > 0`` as ``exp(exponent log base)``.

    mpmath raises to an integer power by repeated squaring, about ``log2(exponent)`` products
    at full precision (a thousand at ``n = 1e300``); ``exp(y log x)`` costs two functions and
    is as accurate under :func:`adaptive`, whose starting precision covers ``log10 |y|``.
    """
    if base > 0 and abs(exponent) > _HUGE_EXPONENT:
        return mpmath.exp(exponent * mpmath.log(base))
    return base**exponent


_MODULES = [{"rgamma": mpmath.rgamma, "sinpi": mpmath.sinpi, "erfc": mpmath.erfc, "powr": _powr}, "mpmath"]


def _erf_complement(e: sp.Basic) -> sp.Basic:
    """``c + c erf(w) -> c erfc(-w)`` and ``c - c erf(w) -> c erfc(w)`` inside one sum."""
    const, terms = e.as_coeff_add()
    if const == 0:
        return e
    for term in terms:
        ratio = term / const
        for sign in (1, -1):
            if isinstance(sign * ratio, sp.erf):
                rest = [x for x in terms if x is not term]
                return sp.Add(const * erfc(-sign * (sign * ratio).args[0]), *rest)
    return e


def _stable_forms(expr: sp.Basic) -> sp.Basic:
    """Rewrite ``Gamma(z)^-k`` as ``rgamma(z)^k``, ``sin(pi z)`` as ``sinpi(z)``, ``1 +- erf`` as
    ``erfc`` and powers with a symbolic exponent as :func:`_powr`.
    """
    expr = expr.replace(lambda e: e.is_Add and e.has(sp.erf), _erf_complement)
    expr = expr.replace(lambda e: e.is_Pow and bool(e.exp.free_symbols), lambda e: powr(e.base, e.exp))
    expr = expr.replace(
        lambda e: e.is_Pow and isinstance(e.base, sp.gamma) and e.exp.is_negative,
        lambda e: rgamma(e.base.args[0]) ** (-e.exp),
    )
    return expr.replace(
        lambda e: isinstance(e, sp.sin) and not (e.args[0] / sp.pi).has(sp.pi),
        lambda e: sinpi(e.args[0] / sp.pi),
    )


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
    fn = sp.lambdify([*args, *placeholders], _stable_forms(outer), modules=_MODULES)
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
        return mpmath.mpmathify(sp.N(expr, mpmath.mp.dps + 5))
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


def start_dps(values: Mapping[str, Any]) -> int:
    """:data:`DPS` plus the largest ``|log10 |x||`` over the values, rounded up to 10 digits (capped).

    A value ``x`` far from 1 makes forms like ``1 - 1/x`` or ``1 - (1 - x)^n`` cancel about
    ``|log10 x|`` digits; starting there keeps the first level from agreeing on a rounded zero.
    """
    extra = 0.0
    for value in values.values():
        items = value if isinstance(value, (tuple, list)) else (value,)
        for x in items:
            if x:
                extra = max(extra, abs(math.log10(abs(x))))
    # Rounded up to a multiple of 10 digits: mpmath caches its Bernoulli and Stirling
    # coefficients per precision (in steps of 32 bits), so a coarse ladder reuses them.
    return min(DPS + 10 * math.ceil(extra / 10), MAX_DPS)


def _real(value: Any) -> Any:
    value = mpmath.mpmathify(value)
    if isinstance(value, mpmath.mpc):
        if abs(value.imag) > mpmath.mpf(10) ** (-(mpmath.mp.dps // 2)) * max(1, abs(value.real)):
            raise ValueError(f"complex value {mpmath.nstr(value, 8)}: outside the domain")
        value = value.real
    return +value


def _float(value: Any) -> float:
    return float(value)


def _agree(a: Any, b: Any) -> bool:
    if a == b:
        return True
    fa, fb = _float(a), _float(b)
    if fa == fb and (fa == 0.0 or math.isinf(fa)):
        return True  # both under- or overflow float64 the same way
    return bool(abs(a - b) <= _AGREE * max(abs(a), abs(b)))


def adaptive(fn: Callable[..., Any], values: Mapping[str, Any], dps: int | None = None) -> Any:
    """``fn(**values)`` in mpmath, at a precision raised until it is good to float64 accuracy.

    Each level evaluates at ``dps`` and ``dps + GUARD`` digits; when the two agree to
    ``2^-62`` relative (or round to the same float64 zero or infinity) the second is returned,
    else ``dps`` doubles. Cancellation of ``L`` digits leaves ``dps - L`` correct digits at the
    first evaluation, so agreement means ``dps - L >= 18`` and the second value is good to
    ``dps + GUARD - L`` digits. An exact zero at both is confirmed once at ``dps + 3 GUARD``
    digits (a cancellation that rounds to zero at both precisions of the level).

    Args:
        fn: Callable of the values that computes with mpmath at the current precision.
        values: Its keyword arguments.
        dps: Starting precision; default :func:`start_dps` of the values.

    Returns:
        The mpmath value (real).

    Raises:
        ValueError: No agreement up to :data:`MAX_DPS` digits, or a complex value.

    """
    dps = start_dps(values) if dps is None else dps
    zero_checked = False
    while True:
        with mpmath.workdps(dps):
            first = _real(fn(**values))
        with mpmath.workdps(dps + GUARD):
            second = _real(fn(**values))
        if first == second == 0 and not zero_checked:
            zero_checked = True
            with mpmath.workdps(dps + 3 * GUARD):
                if _real(fn(**values)) == 0:
                    return second
            dps *= 2
            continue
        if _agree(first, second):
            return second
        if dps >= MAX_DPS:
            raise ValueError(f"no two evaluations agreed up to {MAX_DPS} digits")
        dps = min(2 * dps, MAX_DPS)


def evaluate_expr_mp(expr: sp.Basic, values: Mapping[str, Any]) -> Any:
    """Evaluate ``expr`` at ``values`` with mpmath under :func:`adaptive`.

    Args:
        expr: A sympy expression whose free symbols are named by ``values``.
        values: Parameter name to number (or sequence, for an ``IndexedBase``).

    Returns:
        The mpmath value.

    Raises:
        ValueError: Non-integral value for an integer symbol, an out-of-domain range, a
            complex value, a pole, or no convergence.

    """

    def run(**kw: Any) -> Any:
        try:
            return _eval(expr, _prepare(expr, kw))
        except (ZeroDivisionError, OverflowError) as err:
            raise ValueError(f"outside the domain ({type(err).__name__}: {err})") from None

    return adaptive(run, values)


def evaluate_expr(expr: sp.Basic, values: Mapping[str, Any], context: str = "") -> float:
    """Evaluate ``expr`` at ``values`` (:func:`evaluate_expr_mp`), as a float.

    Args:
        expr: A sympy expression whose free symbols are named by ``values``.
        values: Parameter name to number (or sequence, for an ``IndexedBase``).
        context: Result id used in error messages.

    Returns:
        The value as a float.

    Raises:
        ValueError: As :func:`evaluate_expr_mp`, or a non-finite value.

    """
    prefix = f"{context}: " if context else ""
    try:
        value = evaluate_expr_mp(expr, values)
    except ValueError as err:
        raise ValueError(f"{prefix}{err}") from None
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
