"""Plain functions behind the ``theory`` commands of the command-line interface."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from collapse_theory.theory import registry

__all__ = ["eval_json", "list_rows"]


def list_rows() -> list[dict]:
    """One row per registered result: id, title, kind, tag, citation and parameters.

    Returns:
        Rows in registry order; ``params`` maps each parameter name to its meaning.

    """
    return [
        {
            "id": res.id,
            "title": res.title,
            "kind": res.kind,
            "tag": res.tag,
            "citation": res.citation,
            "params": res.param_doc,
        }
        for res in registry.all_results()
    ]


def eval_json(id: str, values: Mapping[str, float | Sequence[float]]) -> dict:  # noqa: A002
    """Evaluate one result and return a JSON-ready record.

    Args:
        id: Result id.
        values: Parameter values (a list of floats for vector parameters such as ``p``).

    Returns:
        ``{"id", "title", "statement", "kind", "params", "value"}``.

    Raises:
        KeyError: Unknown id (the message lists close ids).
        ValueError: Unknown, missing or out-of-domain parameter values.

    """
    res = registry.get(id)
    value = registry.evaluate(id, **dict(values))
    params = {k: (list(v) if isinstance(v, Sequence) else v) for k, v in values.items()}
    return {
        "id": res.id,
        "title": res.title,
        "statement": res.statement,
        "kind": res.kind,
        "params": params,
        "value": value,
    }
