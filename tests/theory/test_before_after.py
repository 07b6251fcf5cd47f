"""Values of the registry before parameter domains existed, still returned (within 1e-12 relative).

``data_pre_domain_values.json`` holds points of the before/after survey (issue 9): evaluations
at commit d23f016 that are still valid and whose value did not change. Points where the old
value changed are the cancellation fixes, checked against mpmath in ``test_accuracy.py``.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from collapse_theory.theory import registry

ROWS = json.loads((pathlib.Path(__file__).parent / "data_pre_domain_values.json").read_text())["rows"]


def test_every_result_is_covered():
    assert {row["id"] for row in ROWS} == {res.id for res in registry.all_results()}


@pytest.mark.parametrize("topic", sorted({row["id"].split(".")[0] for row in ROWS}))
def test_old_values_are_kept(topic):
    for row in (r for r in ROWS if r["id"].split(".")[0] == topic):
        value = registry.evaluate(row["id"], **row["params"])
        assert value == pytest.approx(row["value"], rel=1e-12, abs=1e-300), row
