"""Registry of the model-collapse closed forms.

Every closed form, limit, bound and approximation of the theory package is a :class:`Result`
with a stable dotted id (``gaussian.replace.unbiased.mean_sigma2``), a sympy expression, the
meaning of each parameter, its assumptions, its citation and trust tag (defined in
``docs/derivations.md``, 'Trust tags'), and the ``proofs`` function that derives it. Results
derived in this project cite the section of ``docs/derivations.md`` that derives them. Results are
collected lazily from the topic modules listed in :data:`TOPICS`.

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
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sympy as sp

__all__ = ["KINDS", "TOPICS", "Result", "all_results", "evaluate", "get", "result"]

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
    numeric: Callable[..., float] | None = None
    vector_params: tuple[str, ...] = ()

    @property
    def param_names(self) -> tuple[str, ...]:
        """Parameter names in declaration order."""
        return tuple(name for name, _ in self.params)

    @property
    def param_doc(self) -> dict[str, str]:
        """Mapping from parameter name to its one-line meaning."""
        return dict(self.params)


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
    numeric: Callable[..., float] | None = None,
    vector_params: Sequence[str] = (),
) -> Result:
    """Build a :class:`Result`, checking kind, parameter names and the proof reference format.

    Raises:
        ValueError: On an unknown kind, a symbol of ``expr`` missing from ``params``, or a
            malformed proof reference.

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


def evaluate(id: str, **params: Any) -> float:  # noqa: A002
    """Evaluate a result at the given parameter values.

    Products and sums whose upper limit is a generation count are evaluated term by term
    for the given integer; everything else goes through the lambdified expression
    (:mod:`collapse_theory.theory.numeric`) or the result's ``numeric`` callable.

    Args:
        id: Result id.
        **params: One value per parameter of the result (a sequence for vector parameters).

    Returns:
        The value as a float.

    Raises:
        KeyError: Unknown id.
        ValueError: Unknown or missing parameter names, or values outside the domain.

    """
    res = get(id)
    names = set(res.param_names)
    unknown = sorted(set(params) - names)
    missing = sorted(names - set(params))
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown parameter(s) {', '.join(unknown)}")
        if missing:
            parts.append(f"missing parameter(s) {', '.join(missing)}")
        raise ValueError(f"{id}: {'; '.join(parts)} (expected: {', '.join(res.param_names)})")
    for name, value in params.items():
        if name in res.vector_params:
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise ValueError(f"{id}: parameter {name} takes a sequence of floats")
        elif isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{id}: parameter {name} must be a number, got {value!r}")
        elif not math.isfinite(value):
            raise ValueError(f"{id}: parameter {name} must be finite, got {value!r}")
    if res.numeric is not None:
        return float(res.numeric(**params))
    from collapse_theory.theory import numeric

    values = dict(params)
    if res.vector_params:
        lengths = {len(params[name]) for name in res.vector_params}
        if len(lengths) != 1 or 0 in lengths:
            raise ValueError(f"{id}: vector parameters must be non-empty and of equal length")
        values["K"] = lengths.pop()
    return numeric.evaluate_expr(res.expr, values, context=id)
