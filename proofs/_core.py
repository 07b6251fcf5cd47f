"""Proof objects, the step recorder and the equality tests shared by all proof modules.

A proof function ``prove_xxx() -> Proof`` records named steps; its verdict is True iff every
step passed. Each proof reads the expression (or numeric callable) it checks from
:mod:`collapse_theory.theory.registry` at call time, so a wrong registry entry fails its proof.
Equality is first tried symbolically (``cancel``, ``expand``, ``gammasimp``, ...); a step that
needs a numerical check says so in the proof's method.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping

import mpmath
import sympy as sp

from collapse_theory.theory import registry

__all__ = [
    "Proof",
    "Steps",
    "all_proofs",
    "expr_of",
    "is_zero",
    "numeric_of",
    "numerically_equal",
    "proves",
    "unroll",
]

NUMERIC_DPS = 30


@dataclasses.dataclass(frozen=True)
class Proof:
    """Outcome of one machine-checked derivation.

    Attributes:
        result_id: The registry id the proof establishes.
        method: How it was established (symbolic induction, limit, numerical check, ...).
        verdict: True iff every step passed.
        details: One line per step, ``ok`` or ``FAILED`` with the evidence.
    """

    result_id: str
    method: str
    verdict: bool
    details: str


class Steps:
    """Recorder of the checked steps of one proof."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bool, str]] = []
        self.numeric = False

    def check(self, name: str, ok: object, detail: str = "") -> bool:
        """Record a step; ``ok`` is converted with ``bool``."""
        passed = bool(ok)
        self.items.append((name, passed, detail))
        return passed

    def equal(self, name: str, lhs: sp.Expr, rhs: sp.Expr, *, points=None, simplify=False) -> bool:
        """Record ``lhs == rhs``: symbolically, else numerically at ``points`` if given."""
        if is_zero(lhs - rhs, simplify=simplify):
            return self.check(name, True, "symbolic")
        if points:
            self.numeric = True
            ok, worst = numerically_equal(lhs, rhs, points)
            return self.check(name, ok, f"numerical check, {NUMERIC_DPS} digits, max diff {worst}")
        return self.check(name, False, f"not shown equal: {sp.sstr(lhs)[:120]} vs {sp.sstr(rhs)[:120]}")

    def close(self, name: str, value: float, reference: float, rel: float) -> bool:
        """Record ``|value - reference| <= rel |reference|`` (a numerical check)."""
        self.numeric = True
        err = abs(value - reference) / max(abs(reference), 1e-300)
        return self.check(name, err <= rel, f"{value:.12g} vs {reference:.12g}, rel {err:.2e}")

    def proof(self, result_id: str, method: str) -> Proof:
        """The :class:`Proof` of the recorded steps (False if no step was recorded)."""
        verdict = bool(self.items) and all(ok for _, ok, _ in self.items)
        if self.numeric and "numerical" not in method:
            method += "; includes numerical checks"
        lines = [f"{'ok' if ok else 'FAILED'}: {name}" + (f" [{d}]" if d else "") for name, ok, d in self.items]
        return Proof(result_id, method, verdict, "\n".join(lines))


def proves(result_id: str, method: str) -> Callable[[Callable[[Steps], None]], Callable[[], Proof]]:
    """Decorator turning ``body(steps)`` into ``prove_xxx() -> Proof``; exceptions fail it."""

    def decorate(body: Callable[[Steps], None]) -> Callable[[], Proof]:
        @functools.wraps(body)
        def prove() -> Proof:
            steps = Steps()
            try:
                body(steps)
            except Exception as err:  # noqa: BLE001 - a crash is a failed proof, reported
                steps.check("proof raised", False, f"{type(err).__name__}: {err}")
            return steps.proof(result_id, method)

        prove.result_id = result_id  # type: ignore[attr-defined]
        prove.method = method  # type: ignore[attr-defined]
        return prove

    return decorate


def expr_of(result_id: str) -> sp.Expr:
    """The registry expression under proof."""
    expr = registry.get(result_id).expr
    if expr is None:
        raise ValueError(f"{result_id} has no expression")
    return expr


def numeric_of(result_id: str) -> Callable[..., float]:
    """``f(**params)`` evaluating the registry entry (its numeric callable or expression)."""
    return functools.partial(registry.evaluate, result_id)


def gsimp(expr: sp.Expr) -> sp.Expr:
    """Rewrite every ``Gamma(b + k)`` (integer ``k > 0``) as ``(b)_k Gamma(b)`` with a common base.

    ``gammasimp`` misses ratios such as ``Gamma(M/2 + 1/2)/Gamma(M/2 - 1/2)``; after this
    rewrite they cancel as rational functions.
    """
    args = {g.args[0] for g in expr.atoms(sp.gamma)}
    repl = {}
    for a in args:
        best, shift = a, 0
        for b in args:
            diff = sp.expand(a - b)
            if diff.is_Integer and diff > shift:
                best, shift = b, int(diff)
        if shift:
            repl[sp.gamma(a)] = sp.gamma(best) * sp.Mul(*[best + i for i in range(shift)])
    return expr.xreplace(repl) if repl else expr


def canonical_powers(expr: sp.Expr) -> sp.Expr:
    """Factor the bases of symbolic powers and split them, so equal geometric terms match."""

    def fix(e: sp.Pow) -> sp.Expr:
        base = sp.factor(sp.cancel(gsimp(e.base)))
        return sp.expand_power_base(sp.Pow(base, sp.expand(e.exp)), force=True)

    expr = gsimp(expr)
    expr = expr.replace(lambda e: e.is_Pow and bool(e.exp.free_symbols), fix)
    expr = sp.expand_power_exp(sp.expand(expr))
    return sp.expand_power_base(expr, force=True)


def unroll(expr: sp.Expr) -> sp.Expr:
    """Replace sums/products with integer limits by explicit ``Add``/``Mul`` (recursively).

    Unlike ``doit()`` this never searches for a closed form, so nested products with a
    symbolic parameter stay cheap.
    """
    if isinstance(expr, (sp.Sum, sp.Product)):
        (index, lo, hi), body = expr.limits[0], expr.function
        lo, hi = int(lo), int(hi)
        if hi < lo - 1:
            raise ValueError(f"range {lo}..{hi} is outside the domain")
        terms = [unroll(body.subs(index, v)) for v in range(lo, hi + 1)]
        return sp.Add(*terms) if isinstance(expr, sp.Sum) else sp.Mul(*terms)
    if not expr.args:
        return expr
    return expr.func(*[unroll(a) for a in expr.args])


def is_zero(expr: sp.Expr, simplify: bool = False) -> bool:
    """True if ``expr`` is shown to be identically zero by targeted simplifiers."""
    steps = (
        lambda e: e,
        sp.cancel,
        sp.expand,
        lambda e: sp.cancel(gsimp(e)),
        lambda e: sp.cancel(sp.expand(canonical_powers(e))),
        lambda e: sp.cancel(sp.gammasimp(e)),
        lambda e: sp.expand(sp.expand_log(e, force=True)),
        lambda e: sp.radsimp(sp.cancel(e)),
    )
    for step in steps:
        try:
            if step(expr) == 0:
                return True
        except (TypeError, ValueError, NotImplementedError, RecursionError):
            continue
    if simplify:
        try:
            return sp.simplify(expr) == 0
        except (TypeError, ValueError, NotImplementedError, RecursionError):
            return False
    return False


def numerically_equal(
    lhs: sp.Expr, rhs: sp.Expr, points: Iterable[Mapping[sp.Symbol, object]], tol: float = 1e-20
) -> tuple[bool, str]:
    """Compare ``lhs`` and ``rhs`` at ``points`` with mpmath at :data:`NUMERIC_DPS` digits."""
    worst = mpmath.mpf(0)
    with mpmath.workdps(NUMERIC_DPS):
        for point in points:
            a = sp.N(lhs.subs(point).doit(), NUMERIC_DPS)
            b = sp.N(rhs.subs(point).doit(), NUMERIC_DPS)
            diff = abs(complex(a - b)) / max(1.0, abs(complex(b)))
            worst = max(worst, mpmath.mpf(diff))
    return worst <= tol, mpmath.nstr(worst, 3)


def proof_modules() -> list[str]:
    """Names of the ``proofs.*`` modules that hold ``prove_*`` functions."""
    import proofs

    return sorted(f"proofs.{m.name}" for m in pkgutil.iter_modules(proofs.__path__) if not m.name.startswith("_"))


def all_proofs() -> dict[str, Callable[[], Proof]]:
    """Every ``proofs.module:prove_xxx`` function, keyed by that reference."""
    found: dict[str, Callable[[], Proof]] = {}
    for name in proof_modules():
        module = importlib.import_module(name)
        for attr in sorted(dir(module)):
            fn = getattr(module, attr)
            if attr.startswith("prove_") and callable(fn):
                found[f"{name}:{attr}"] = fn
    return found


def resolve(reference: str) -> Callable[[], Proof]:
    """The proof function named by ``"proofs.module:function"``."""
    module_name, _, func = reference.partition(":")
    return getattr(importlib.import_module(module_name), func)
