"""Every registered result has a passing machine-checked proof; wrong entries make proofs fail."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from collapse_theory.theory import registry
from collapse_theory.theory.symbols import M, i, j, sigma0
from proofs import _core
from proofs.__main__ import main

RESULTS = registry.all_results()


@pytest.mark.parametrize("res", RESULTS, ids=lambda r: r.id)
def test_proof_passes(res: registry.Result):
    proof = _core.resolve(res.proof)()
    assert proof.result_id == res.id
    assert proof.method
    assert proof.verdict, proof.details


def test_no_orphan_proofs():
    referenced = {res.proof for res in RESULTS}
    assert set(_core.all_proofs()) == referenced


def _patch(monkeypatch, rid: str, **fields) -> registry.Result:
    res = registry.get(rid)
    monkeypatch.setitem(registry._table(), rid, dataclasses.replace(res, **fields))
    return res


def _wrong_expr(rid: str) -> sp.Expr:
    expr = registry.get(rid).expr
    wrong = {
        "gaussian.replace.mle.var_sigma2": lambda e: e.subs(M + 1, M + 2),
        "accumulate.unbiased.mean_sigma2": lambda e: e.replace(
            lambda x: isinstance(x, sp.Product), lambda x: sp.Product(1 - 1 / (j * j * M), x.limits[0])
        ),
        "fresh.split.v_star": lambda e: e * (1 + 1 / M**2),
        "regression.accumulate.test_error": lambda e: e.replace(
            lambda x: isinstance(x, sp.Sum), lambda x: sp.Sum(1 / i, x.limits[0])
        ),
        "wf.mixture.h_star": lambda e: e.subs(1 - 1 / M, 1 - 2 / M),
        "accumulate.mle.limit_sigma2": lambda e: sigma0**2 * sp.cos(sp.pi / sp.sqrt(M)),
        "gaussian.replace.unbiased.mean_log_sigma2_series": lambda e: e + sigma0**0 / M**2,
        "kde.replace.mean_spread": lambda e: e.subs(1 - 1 / M, 1 - 1 / (M + 1)),
    }[rid]
    out = wrong(expr)
    assert out != expr
    return out


NEGATIVE = [
    "gaussian.replace.mle.var_sigma2",
    "accumulate.unbiased.mean_sigma2",
    "fresh.split.v_star",
    "regression.accumulate.test_error",
    "wf.mixture.h_star",
    "accumulate.mle.limit_sigma2",
    "gaussian.replace.unbiased.mean_log_sigma2_series",
    "kde.replace.mean_spread",
]


@pytest.mark.parametrize("rid", NEGATIVE)
def test_wrong_expression_fails_its_proof(monkeypatch, rid):
    res = _patch(monkeypatch, rid, expr=_wrong_expr(rid))
    proof = _core.resolve(res.proof)()
    assert not proof.verdict
    assert "FAILED" in proof.details


@pytest.mark.parametrize(
    "rid",
    [
        "wf.k3.absorption_time_exact",
        "gaussian.replace.unbiased.prob_sigma2_below",
        "poisson.extinction_probability",
        "accumulate.unbiased.limit_mean_sq_mean_error",
    ],
)
def test_wrong_numeric_fails_its_proof(monkeypatch, rid):
    good = registry.get(rid).numeric
    res = _patch(monkeypatch, rid, numeric=lambda **kw: good(**kw) * (1 + 1e-6))
    assert not _core.resolve(res.proof)().verdict


def test_report_exit_status(capsys, monkeypatch):
    assert main(["poisson."]) == 0
    assert "4/4 proofs passed" in capsys.readouterr().out
    _patch(monkeypatch, "poisson.var_rate", expr=registry.get("poisson.var_rate").expr * 2)
    assert main(["poisson.var_rate"]) == 1
    assert "FAIL" in capsys.readouterr().out
