"""Tests of the verifier (collapse_theory.verify): Holm, always-yes detection, wrong closed form, JSON shape."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from collapse_theory.verify import runner, stats
from collapse_theory.verify.checks import CHECKS, CONTROLS, closed_form

SUBSET = [CHECKS[0], CHECKS[1], CHECKS[4]]  # all on the "g_unb" engine config (one compile)
CTRL = [CONTROLS[0]]  # perturbed closed form, same config

KEYS = {"id", "source", "config", "closed_form", "estimate", "se", "z", "p_value", "power_rel", "passed"}


def test_holm_known_pvalues():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: .005 <= .05/4, .01 <= .05/3, .03 > .05/2 -> stop
    assert stats.holm(p, 0.05).tolist() == [True, False, False, True]
    assert stats.holm([0.2, 0.3], 0.05).tolist() == [False, False]
    assert stats.holm([0.001, 0.001], 0.01).tolist() == [True, True]


def test_mean_test_and_power():
    x = np.random.default_rng(0).normal(1.0, 1.0, 10000)
    est, se, z, p = stats.mean_test(x, 1.0)
    assert abs(z) < 4 and p > 1e-4 and se == pytest.approx(0.01, rel=0.05)
    assert stats.power_rel(0.01, 1.0, 0.05) == pytest.approx((1.959964 + 0.841621) * 0.01, rel=1e-4)


@pytest.fixture(scope="module")
def quick_results():
    return runner.simulate_all(SUBSET + CTRL, chains=2000, seed=3)


def test_quick_subset_passes_and_json_shape(quick_results):
    out = runner.run(SUBSET, CTRL, chains=2000, seed=3, results=quick_results)
    assert out["ok"], runner.table(out)
    js = json.loads(json.dumps(runner.to_json(out)))
    assert js["alpha_total"] == 0.01 and js["method"] == "holm"
    assert len(js["checks"]) == 3 and len(js["negative_controls"]) == 1
    for r in js["checks"]:
        assert KEYS <= set(r)
    assert KEYS | {"caught"} <= set(js["negative_controls"][0])
    assert js["negative_controls"][0]["caught"] is True


def test_always_yes_verifier_is_detected(quick_results):
    """A verifier whose 'simulation' returns the closed form itself misses the negative controls."""

    def oracle(check, result):
        cf = closed_form(check)
        se = 0.01 * abs(cf) + 1e-9
        return cf, se, 0.0, 1.0

    out = runner.run(SUBSET, CTRL, chains=2000, seed=3, meas=oracle, results=quick_results)
    assert all(r["passed"] for r in out["checks"])
    assert not any(r["caught"] for r in out["negative_controls"])
    assert out["ok"] is False


def test_wrong_closed_form_fails(quick_results):
    bad = replace(SUBSET[1], scale=0.9)
    out = runner.run([SUBSET[0], bad], [], chains=2000, seed=3, results=quick_results)
    assert out["checks"][0]["passed"] and not out["checks"][1]["passed"]
    assert out["ok"] is False


def test_report_written(quick_results, tmp_path):
    from collapse_theory.verify.report import write_report

    out = runner.run(SUBSET, CTRL, chains=2000, seed=3, results=quick_results)
    p = write_report(out, tmp_path)
    assert "Negative controls" in p.read_text()
    assert list(tmp_path.glob("*.png"))


def test_main_quick_on_subset(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(runner, "CHECKS", SUBSET)
    monkeypatch.setattr(runner, "CONTROLS", CTRL)
    orig = runner.run
    monkeypatch.setattr(runner, "run", lambda checks, chains, seed: orig(checks, CTRL, chains=chains, seed=seed))
    args = SimpleNamespace(quick=True, thorough=False, format="json", output=str(tmp_path), seed=1, quiet=True)
    assert runner.main(args) == 0
    js = json.loads(capsys.readouterr().out)
    assert len(js["checks"]) == 3 and math.isclose(js["alpha_total"], 0.01)


def test_import_does_not_load_matplotlib():
    import subprocess
    import sys

    code = "import sys, collapse_theory, collapse_theory.verify.runner; print('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
