"""Run the checks, apply Holm–Bonferroni, print a table or JSON and write the Markdown report.

Budget: α_total = 0.01 per run, Holm (1979) across checks; negative controls must fail at the
per-check Bonferroni threshold α_total / n_checks (see README.md, "Budget" and "Conventions").
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable

import numpy as np

from collapse_theory.verify import stats
from collapse_theory.verify.checks import CHECKS, CONTROLS, Check, closed_form, records, sample_statistic

__all__ = ["main", "run", "measure", "simulate_all", "CHAINS"]

ALPHA_TOTAL = 0.01
CHAINS = {"quick": 4000, "default": 20000, "thorough": 80000}


def simulate_all(checks: list[Check], chains: int, seed: int) -> dict:
    """Simulate each engine configuration used by ``checks`` once; returns cfg key -> result."""
    import collapse_theory as ct

    rec = records()
    out = {}
    for i, key in enumerate(sorted({c.cfg for c in checks})):
        cfg = next(c.config for c in checks if c.cfg == key)
        sc = ct.SimConfig(**cfg, chains=chains, seed=seed * 1000 + i, record=rec[key])
        out[key] = ct.simulate(sc, progress=False)
    return out


def measure(check: Check, result) -> tuple[float, float, float, float]:
    """The statistic of one check on a simulation result: (estimate, se, z, p)."""
    x = sample_statistic(check, result.values, np.asarray(result.generations))
    cf = closed_form(check)
    if check.kind == "var":
        return stats.var_test(x, cf)
    if check.kind in ("prob", "fix"):
        return stats.prop_test(x, cf)
    if check.kind == "ks":
        return stats.ks_chi2_test(x, check.extra["dof"])
    return stats.mean_test(x, cf)


def _row(check: Check, res, alpha_i: float, meas: Callable) -> dict:
    from collapse_theory.theory import registry

    cf = closed_form(check)
    est, se, z, p = meas(check, res)
    if check.kind == "ks":  # detectable sup-CDF distance at 80% power (asymptotic Kolmogorov)
        pw = (math.sqrt(-0.5 * math.log(alpha_i / 2)) + 0.5 * stats.Z80) * se
    else:
        pw = stats.power_rel(se, cf, alpha_i)
    return {
        "id": check.id,
        "source": registry.get(check.id).citation,
        "config": check.summary() + (f" [{check.note}]" if check.note else ""),
        "closed_form": cf,
        "estimate": est,
        "se": se,
        "z": z,
        "p_value": p,
        "power_rel": pw,
        "kind": check.kind,
    }


def run(
    checks=None,
    controls=None,
    chains: int = CHAINS["default"],
    seed: int = 0,
    meas: Callable = measure,
    results: dict | None = None,
) -> dict:
    """Run checks and negative controls.

    Args:
        checks: the checks (default: all of ``CHECKS``).
        controls: the negative controls (default: ``CONTROLS``).
        chains: chains per engine configuration.
        seed: base seed.
        meas: the statistic function ``(check, result) -> (estimate, se, z, p)``; tests replace it.
        results: pre-computed simulation results (cfg key -> result), simulated if None.

    Returns:
        The JSON object described in README.md, plus ``ok`` and ``results`` (not serialised).

    """
    checks = CHECKS if checks is None else checks
    controls = CONTROLS if controls is None else controls
    if results is None:
        results = simulate_all(list(checks) + list(controls), chains, seed)
    alpha_i = ALPHA_TOTAL / max(len(checks), 1)
    rows = [_row(c, results[c.cfg], alpha_i, meas) for c in checks]
    rej = stats.holm([r["p_value"] for r in rows], ALPHA_TOTAL)
    for r, j in zip(rows, rej, strict=True):
        r["passed"] = bool(not j)
    ctrl = [_row(c, results[c.cfg], alpha_i, meas) for c in controls]
    for r in ctrl:
        r["passed"] = bool(r["p_value"] > alpha_i)
        r["caught"] = not r["passed"]
    ok = all(r["passed"] for r in rows) and all(r["caught"] for r in ctrl)
    return {
        "checks": rows,
        "negative_controls": ctrl,
        "alpha_total": ALPHA_TOTAL,
        "method": "holm",
        "chains": chains,
        "seed": seed,
        "ok": ok,
        "results": results,
    }


def _fmt(x: float) -> str:
    return f"{x:.4g}" if isinstance(x, (int, float)) and math.isfinite(x) else str(x)


def table(out: dict) -> str:
    """The terminal table."""
    head = f"{'id':44} {'config':44} {'closed':>10} {'estimate ± se':>22} {'z':>7} {'p':>9} {'power':>7} result"
    lines = [head, "-" * len(head)]

    def line(r, verdict):
        est = f"{_fmt(r['estimate'])} ± {_fmt(r['se'])}"
        return (
            f"{r['id'][:44]:44} {r['config'][:44]:44} {_fmt(r['closed_form']):>10} {est:>22} "
            f"{r['z']:7.2f} {r['p_value']:9.2e} {_fmt(r['power_rel']):>7} {verdict}"
        )

    for r in out["checks"]:
        lines.append(line(r, "PASS" if r["passed"] else "FAIL"))
    lines.append("negative controls (must be caught):")
    for r in out["negative_controls"]:
        lines.append(line(r, "caught" if r["caught"] else "MISSED"))
    n_pass = sum(r["passed"] for r in out["checks"])
    n_c = sum(r["caught"] for r in out["negative_controls"])
    lines.append(
        f"{n_pass}/{len(out['checks'])} checks pass (Holm, alpha_total={out['alpha_total']}); "
        f"{n_c}/{len(out['negative_controls'])} controls caught; chains={out['chains']}"
    )
    return "\n".join(lines)


def to_json(out: dict) -> dict:
    """The serialisable part of ``run``'s output."""

    def clean(r):
        return {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in r.items()}

    return {
        "checks": [clean(r) for r in out["checks"]],
        "negative_controls": [clean(r) for r in out["negative_controls"]],
        "alpha_total": out["alpha_total"],
        "method": out["method"],
        "chains": out["chains"],
        "seed": out["seed"],
        "ok": out["ok"],
    }


def main(args) -> int:
    """Entry point of ``collapse-theory verify``; returns the exit code.

    0: all checks pass and all controls are caught; 1: some check failed or a control was missed;
    2: the report could not be written (the verdict is still printed).
    """
    mode = "quick" if getattr(args, "quick", False) else "thorough" if getattr(args, "thorough", False) else "default"
    t0 = time.perf_counter()
    out = run(list(CHECKS), chains=CHAINS[mode], seed=getattr(args, "seed", 0))
    elapsed = time.perf_counter() - t0
    report_failed = False
    if getattr(args, "output", None):
        try:
            from collapse_theory.verify.report import write_report

            write_report(out, args.output, elapsed=elapsed, mode=mode)
        except Exception as e:  # the report must never hide the verdict
            print(f"error: report not written: {e}", file=sys.stderr)
            report_failed = True
    if getattr(args, "format", "table") == "json":
        print(json.dumps(to_json(out), allow_nan=False))
    elif not getattr(args, "quiet", False):
        print(table(out))
        print(f"mode={mode}, {elapsed:.1f} s")
    if report_failed:
        return 2
    return 0 if out["ok"] else 1
