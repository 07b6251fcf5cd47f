"""Registry of the model-collapse closed forms.

Every closed form, limit, bound and approximation of the theory package is a :class:`Result`
with a stable dotted id (``gaussian.replace.unbiased.mean_sigma2``), a sympy expression, the
meaning of each parameter, its assumptions, its citation and trust tag (defined in
``docs/derivations.md``, 'Trust tags'), and the ``proofs`` function that derives it. Results
derived in this project cite the section of ``docs/derivations.md`` that derives them. Results are
collected lazily from the topic modules listed in :data:`TOPICS`.

:func:`evaluate` checks every value against its declared domain
(:mod:`collapse_theory.theory.domains`) before computing anything, and raises
:class:`~collapse_theory.theory.domains.ParameterError` (a ``ValueError``) with a one-line message
otherwise.

Example:
    >>> from collapse_theory.theory import registry
    >>> registry.evaluate("gaussian.replace.unbiased.mean_w2sq", M=10, n=5, sigma0=1.0)
    0.7588...

"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import mpmath
import sympy as sp

from collapse_theory.theory.domains import Constraint, Domain, ParameterError, ProbVector

__all__ = [
    "KINDS",
    "TOPICS",
    "EvaluationError",
    "ParameterError",
    "Result",
    "all_results",
    "check_params",
    "evaluate",
    "evaluate_mp",
    "get",
    "result",
]

KINDS = ("exact", "limit", "bound", "approximation")
TOPICS = (
    "gaussian",
    "gaussian_series",
    "collapse_probability",
    "multivariate",
    "schedules",
    "accumulate",
    "fresh",
    "wright_fisher",
    "wright_fisher_chain",
    "poisson",
    "regression",
    "kde",
    "rounding",
    "bayes",
)


@dataclasses.dataclass(frozen=True)
class Result:
    """One registered closed form.

    Attributes:
        id: Stable dotted identifier, ``topic.workflow[.estimator].quantity``.
        title: Short human title.
        statement: The claim in words, with the formula.
        expr: The sympy expression (may contain ``Product``/``Sum``/``Integral``); ``None``
            only for purely algorithmic results, which then have ``numeric``.
        params: ``(name, meaning)`` pairs; names are the symbol names in ``expr`` and the
            keyword arguments of :func:`evaluate`.
        assumptions: The setting under which the statement holds.
        citation: Paper and theorem/equation where known; for results derived in this
            project, the section of ``docs/derivations.md`` and the paper of the setting.
        tag: Trust tag (``"DER, SYM, MC"``, ``"SRC"``, ...; see ``docs/derivations.md``,
            'Trust tags').
        kind: One of :data:`KINDS`.
        proof: ``"proofs.module:function"`` that derives it.
        numeric: Optional callable ``f(**params) -> float`` used by :func:`evaluate` instead
            of the expression (characteristic-function inversion, chain solves, recursions).
        vector_params: Names of parameters that take a sequence of floats (state
            probabilities), indexed from 0 in ``expr``; their common length is the implied
            symbol ``K`` of ``expr``.
        domains: ``(name, domain)`` pairs, one per parameter, in the order of ``params``.
        constraints: Conditions across parameters (``M >= d + 1``), checked after the domains.
        numeric_mp: ``numeric`` works in mpmath at the current precision; :func:`evaluate`
            then runs it under the precision escalation of
            :func:`collapse_theory.theory.numeric.adaptive`.

    """

    id: str
    title: str
    statement: str
    expr: sp.Expr | None
    params: tuple[tuple[str, str], ...]
    assumptions: str
    citation: str
    tag: str
    kind: str
    proof: str
    numeric: Callable[..., Any] | None = None
    vector_params: tuple[str, ...] = ()
    domains: tuple[tuple[str, Domain], ...] = ()
    constraints: tuple[Constraint, ...] = ()
    numeric_mp: bool = False

    @property
    def param_names(self) -> tuple[str, ...]:
        """Parameter names in declaration order."""
        return tuple(name for name, _ in self.params)

    @property
    def param_doc(self) -> dict[str, str]:
        """Mapping from parameter name to its one-line meaning."""
        return dict(self.params)

    @property
    def domain_of(self) -> dict[str, Domain]:
        """Mapping from parameter name to its domain."""
        return dict(self.domains)


def result(
    id: str,  # noqa: A002 - the field is called id throughout the project
    title: str,
    statement: str,
    expr: sp.Expr | None,
    params: Mapping[str, str],
    assumptions: str,
    citation: str,
    tag: str,
    kind: str,
    proof: str,
    numeric: Callable[..., Any] | None = None,
    vector_params: Sequence[str] = (),
    *,
    domains: Mapping[str, Domain],
    constraints: Sequence[Constraint] = (),
    numeric_mp: bool = False,
) -> Result:
    """Build a :class:`Result`, checking kind, parameter names, domains and the proof reference.

    Raises:
        ValueError: On an unknown kind, a symbol of ``expr`` missing from ``params``, a
            parameter without a domain (or a domain without a parameter), a vector parameter
            without a vector domain, or a malformed proof reference.

    """
    if kind not in KINDS:
        raise ValueError(f"{id}: kind {kind!r} not in {KINDS}")
    if expr is None and numeric is None:
        raise ValueError(f"{id}: needs an expression or a numeric callable")
    if not proof.startswith("proofs.") or ":" not in proof:
        raise ValueError(f"{id}: proof reference {proof!r} must look like 'proofs.mod:func'")
    if expr is not None:
        implied = {"K"} if vector_params else set()
        missing = sorted(_expr_param_names(expr) - set(params) - implied)
        if missing:
            raise ValueError(f"{id}: symbols {missing} of the expression are not parameters")
    if set(domains) != set(params):
        raise ValueError(f"{id}: domains {sorted(domains)} do not match the parameters {sorted(params)}")
    for name, dom in domains.items():
        if isinstance(dom, ProbVector) != (name in vector_params):
            raise ValueError(f"{id}: parameter {name} needs a vector domain iff it is a vector parameter")
    for con in constraints:
        if not set(con.names) <= set(params):
            raise ValueError(f"{id}: constraint {con.text!r} names unknown parameters")
    return Result(
        id=id,
        title=title,
        statement=statement,
        expr=expr,
        params=tuple(params.items()),
        assumptions=assumptions,
        citation=citation,
        tag=tag,
        kind=kind,
        proof=proof,
        numeric=numeric,
        vector_params=tuple(vector_params),
        domains=tuple((name, domains[name]) for name in params),
        constraints=tuple(constraints),
        numeric_mp=numeric_mp,
    )


def _expr_param_names(expr: sp.Basic) -> set[str]:
    bound = {str(ix.base.label) for ix in expr.atoms(sp.Indexed)}
    return bound | {s.name for s in expr.free_symbols if isinstance(s, sp.Symbol)}


@functools.cache
def _table() -> dict[str, Result]:
    table: dict[str, Result] = {}
    for topic in TOPICS:
        module = importlib.import_module(f"collapse_theory.theory.{topic}")
        for res in module.results():
            if res.id in table:
                raise RuntimeError(f"duplicate result id {res.id!r} (topic {topic})")
            table[res.id] = res
    return table


def all_results() -> list[Result]:
    """All registered results, in topic order."""
    return list(_table().values())


def get(id: str) -> Result:  # noqa: A002
    """The result with this id.

    Raises:
        KeyError: With the closest registered ids when ``id`` is unknown.

    """
    table = _table()
    try:
        return table[id]
    except KeyError:
        close = difflib.get_close_matches(id, list(table), n=5, cutoff=0.4)
        close += [k for k in table if id and id in k and k not in close][:5]
        hint = ", ".join(close) if close else "see all_results()"
        raise KeyError(f"no result {id!r}; close ids: {hint}") from None


class EvaluationError(ValueError):
    """An in-domain evaluation that failed (a defect of the registry, to be reported)."""


def check_params(id: str, **params: Any) -> dict[str, Any]:  # noqa: A002
    """Validate parameter values against the result's domains and constraints.

    Args:
        id: Result id.
        **params: One value per parameter (a sequence for vector parameters).

    Returns:
        The canonical values: ``int`` for integer domains, ``float`` for real ones, a tuple of
        floats for probability vectors.

    Raises:
        KeyError: Unknown id.
        ParameterError: Missing or unknown names (with the closest names), wrong types,
            non-finite or out-of-domain values, violated constraints; the message is one line
            that starts with the result id.

    """
    res = get(id)
    names = res.param_names
    unknown = [k for k in params if k not in names]
    missing = [k for k in names if k not in params]
    if unknown or missing:
        parts = []
        for k in unknown:
            pool = [n for n in names if n not in params] or list(names)
            close = difflib.get_close_matches(k, pool, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]}?)" if close else ""
            parts.append(f"unknown parameter {k}{hint}")
        domains = res.domain_of
        parts += [f"missing parameter {k} ({domains[k].describe()}: {res.param_doc[k]})" for k in missing]
        expected = ", ".join(names) if names else "none"
        raise ParameterError(f"{id}: {'; '.join(parts)}; expected: {expected}")
    values: dict[str, Any] = {}
    try:
        for name, dom in res.domains:
            values[name] = dom.check(name, params[name])
        for con in res.constraints:
            con.check(values)
    except ParameterError as err:
        raise ParameterError(f"{id}: {err.args[0]}") from None
    return values


def evaluate_mp(id: str, **params: Any) -> mpmath.mpf:  # noqa: A002
    """Like :func:`evaluate`, but the value before rounding to float64 (an mpmath number).

    Values outside the float64 range are returned as they are (the command line shows them
    in decimal); results computed in float64 come back as the same float.
    """
    res = get(id)
    values = check_params(id, **params)
    from collapse_theory.theory import numeric

    try:
        if res.numeric is not None:
            if res.numeric_mp:
                value = numeric.adaptive(res.numeric, values)
            else:
                with mpmath.workdps(numeric.DPS):
                    value = +mpmath.mpf(res.numeric(**values))
        else:
            expr_values = dict(values)
            if res.vector_params:
                expr_values["K"] = len(values[res.vector_params[0]])
            value = numeric.evaluate_expr_mp(res.expr, expr_values)
    except (ValueError, ZeroDivisionError, OverflowError, ArithmeticError) as err:
        raise EvaluationError(f"{id}: evaluation failed at in-domain values ({type(err).__name__}: {err})") from None
    if mpmath.isnan(value) or mpmath.isinf(value):
        raise EvaluationError(f"{id}: evaluation gave {value} at in-domain values")
    return value


def evaluate(id: str, **params: Any) -> float:  # noqa: A002
    """Evaluate a result at the given parameter values.

    Every value is first checked against its domain (:func:`check_params`). Expressions are
    evaluated with mpmath at a precision raised until two evaluations agree to float64
    accuracy (:func:`collapse_theory.theory.numeric.evaluate_expr_mp`), so forms that cancel
    catastrophically (``1 - c4(M)^n`` at ``M = 1e40``) come out right; sums and products over
    a generation count use closed forms or stated recursions (the result's ``numeric``).

    Args:
        id: Result id.
        **params: One value per parameter (a sequence for vector parameters). Python and numpy
            ints and floats are accepted; integer parameters also take integral floats
            (``5.0``, ``1e40``) and reject non-integral ones.

    Returns:
        The value rounded to the nearest float64. A value beyond the float64 range comes back
        as ``inf`` or ``-inf`` and one below it as 0.0 or a subnormal (:func:`evaluate_mp`
        has the unrounded value).

    Raises:
        KeyError: Unknown id (the message lists close ids).
        ParameterError: Missing, unknown, wrong-typed, non-finite or out-of-domain values.
        EvaluationError: The evaluation failed at valid values (a defect; please report it).

    """
    value = evaluate_mp(id, **params)
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")
