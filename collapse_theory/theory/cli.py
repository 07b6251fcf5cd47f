"""Plain functions behind the ``theory`` commands of the command-line interface."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import mpmath

from collapse_theory.theory import registry
from collapse_theory.theory.domains import ParameterError

__all__ = ["domain_text", "eval_json", "list_rows", "parse_value", "parse_values"]

_INT = re.compile(r"[+-]?\d+")


def domain_text(res: registry.Result) -> str:
    """``M: integer >= 2, n: integer >= 0; M >= d + 1``: every parameter's domain and the constraints."""
    text = ", ".join(f"{name}: {dom.describe()}" for name, dom in res.domains)
    if res.constraints:
        text += "; " + "; ".join(c.text for c in res.constraints)
    return text


def list_rows() -> list[dict]:
    """One row per registered result: id, title, kind, tag, citation, parameters and domains.

    Returns:
        Rows in registry order; ``params`` maps each parameter name to its meaning,
        ``domains`` to its domain (``Domain.to_json``), ``constraints`` lists the conditions
        across parameters.

    """
    return [
        {
            "id": res.id,
            "title": res.title,
            "kind": res.kind,
            "tag": res.tag,
            "citation": res.citation,
            "params": res.param_doc,
            "domains": {name: dom.to_json() for name, dom in res.domains},
            "constraints": [c.text for c in res.constraints],
        }
        for res in registry.all_results()
    ]


def parse_value(name: str, text: str) -> int | float | list[float]:
    """A command-line value: an int literal as ``int``, else a ``float``, ``a,b,c`` as a list.

    Raises:
        ParameterError: A value (or an entry of a list) that is not a number.

    """
    if "," in text:
        items = [item.strip() for item in text.split(",")]
        try:
            return [float(item) for item in items]
        except ValueError:
            raise ParameterError(f"value of {name} must be numbers separated by commas, got {text!r}") from None
    text = text.strip()
    if _INT.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        raise ParameterError(f"value of {name} must be a number, got {text!r}") from None


def parse_values(items: Sequence[str], vector_params: Sequence[str] = ()) -> dict[str, Any]:
    """``name=value`` strings to a dict; names in ``vector_params`` always become lists.

    Raises:
        ParameterError: A malformed item, an empty or repeated name, or a non-numeric value.

    """
    values: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"expected name=value, got {item!r}")
        name, text = (part.strip() for part in item.split("=", 1))
        if not name:
            raise ParameterError(f"expected name=value, got {item!r}")
        if name in values:
            raise ParameterError(f"parameter {name} given twice")
        value = parse_value(name, text)
        if name in vector_params and not isinstance(value, list):
            value = [float(value)]
        values[name] = value
    return values


def _json_number(value: mpmath.mpf) -> tuple[float | None, str | None, str | None]:
    as_float = float(value)
    if not math.isfinite(as_float):
        return None, mpmath.nstr(value, 17), "the exact value lies beyond the float64 range"
    if as_float == 0.0 and value != 0:
        return 0.0, mpmath.nstr(value, 17), "the exact value lies below the float64 range (rounded to 0)"
    return as_float, None, None


def eval_json(id: str, values: Mapping[str, float | Sequence[float]]) -> dict:  # noqa: A002
    """Evaluate one result and return a JSON-ready record (standard JSON: no NaN or Infinity).

    Args:
        id: Result id.
        values: Parameter values (a list of floats for vector parameters such as ``p``).

    Returns:
        ``{"id", "title", "statement", "kind", "params", "domains", "value"}``; ``value`` is
        the float64 value, or ``None`` when the exact value lies beyond the float64 range;
        then, and when a nonzero value rounds to 0, ``value_text`` gives it in decimal
        (17 digits) and ``note`` says why.

    Raises:
        KeyError: Unknown id (the message lists close ids).
        ParameterError: Unknown, missing, wrong-typed or out-of-domain parameter values.
        registry.EvaluationError: The evaluation failed at valid values.

    """
    res = registry.get(id)
    canonical = registry.check_params(id, **dict(values))
    value, text, note = _json_number(registry.evaluate_mp(id, **canonical))
    out = {
        "id": res.id,
        "title": res.title,
        "statement": res.statement,
        "kind": res.kind,
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in canonical.items()},
        "domains": {name: dom.describe() for name, dom in res.domains},
        "value": value,
    }
    if text is not None:
        out["value_text"] = text
        out["note"] = note
    return out
