"""Registry structure, evaluation against independent reference numbers, citations, and error handling.

The reference values are the closed-form values computed when the results were derived (not by
the registry code, and not Monte Carlo estimates), as tabulated in ``docs/derivations.md`` to a
fixed number of decimals. A value agrees when it rounds to the printed digits:
``|value - printed| <= 0.5 * 10^-decimals`` (plus 1e-12 for the floating-point evaluation itself).
"""

from __future__ import annotations

import ast
import dataclasses
import math
import pathlib
import re

import numpy as np
import pytest
import sympy as sp

from collapse_theory.theory import cli, numeric, registry
from proofs._core import resolve

RESULTS = registry.all_results()
P0 = [0.4, 0.3, 0.15, 0.1, 0.05]


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _agrees(value: float, printed: str) -> bool:
    return abs(value - float(printed)) <= 0.5 * 10.0 ** (-_decimals(printed)) + 1e-12


def test_count_and_unique_ids():
    ids = [r.id for r in RESULTS]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 45


@pytest.mark.parametrize("res", RESULTS, ids=lambda r: r.id)
def test_fields_complete(res: registry.Result):
    for field in ("id", "title", "statement", "assumptions", "citation", "tag", "proof"):
        assert getattr(res, field).strip(), field
    assert res.kind in registry.KINDS
    assert res.params and all(meaning.strip() for _, meaning in res.params)
    assert res.expr is not None or res.numeric is not None
    if res.expr is not None:
        assert isinstance(res.expr, sp.Basic)
    fn = resolve(res.proof)
    assert fn.result_id == res.id


def test_get_unknown_id_lists_close_ids():
    with pytest.raises(KeyError, match="gaussian.replace.unbiased.mean_w2sq"):
        registry.get("gaussian.replace.unbiased.mean_w2")


def test_bad_parameters_raise():
    rid = "gaussian.replace.unbiased.mean_w2sq"
    with pytest.raises(ValueError, match="unknown parameter"):
        registry.evaluate(rid, M=10, n=5, sigma0=1.0, sigma=1.0)
    with pytest.raises(ValueError, match="missing parameter"):
        registry.evaluate(rid, M=10, n=5)
    with pytest.raises(ValueError, match="integer"):
        registry.evaluate(rid, M=10, n=2.5, sigma0=1.0)
    with pytest.raises(ValueError, match="number"):
        registry.evaluate(rid, M="10", n=5, sigma0=1.0)
    with pytest.raises(ValueError, match="sequence"):
        registry.evaluate("wf.one_step.mean_support", M=20, p=0.5)
    with pytest.raises(ValueError, match=r"parameter n must be integer >= 1, got 0"):
        registry.evaluate("accumulate.unbiased.mean_sigma2", M=10, n=0, sigma0=1.0)


# (id, parameters, printed closed-form value in docs/derivations.md)
REFERENCE_VALUES = [
    # Gaussian, replace, fixed M; sigma0 = 1
    ("gaussian.replace.unbiased.mean_sigma2", dict(M=10, n=5), "1"),
    ("gaussian.replace.unbiased.var_sigma2", dict(M=10, n=5), "1.727413"),
    ("gaussian.replace.unbiased.mean_sigma", dict(M=10, n=5), "0.870570"),
    ("gaussian.replace.unbiased.mean_log_sigma2", dict(M=10, n=5), "-0.576032"),
    ("gaussian.replace.unbiased.var_log_sigma2", dict(M=10, n=5), "1.243626"),
    ("gaussian.replace.unbiased.mean_sq_mean_error", dict(M=10, n=5), "0.5"),
    ("gaussian.replace.unbiased.mean_w2sq", dict(M=10, n=5), "0.758860"),
    ("gaussian.replace.unbiased.mean_sigma", dict(M=10, n=20), "0.574400"),
    ("gaussian.replace.unbiased.mean_w2sq", dict(M=10, n=20), "2.851199"),
    ("gaussian.replace.unbiased.mean_log_sigma2", dict(M=10, n=100), "-11.520647"),
    ("gaussian.replace.unbiased.var_log_sigma2", dict(M=10, n=100), "24.872510"),
    ("gaussian.replace.unbiased.mean_sigma", dict(M=10, n=100), "0.062528"),
    ("gaussian.replace.unbiased.mean_sigma", dict(M=100, n=100), "0.776840"),
    ("gaussian.replace.unbiased.mean_sq_mean_error", dict(M=100, n=100), "1"),
    ("gaussian.replace.unbiased.mean_w2sq", dict(M=100, n=100), "1.446320"),
    ("gaussian.replace.unbiased.mean_w2sq", dict(M=10, n=200), "21.99"),
    ("gaussian.replace.mle.mean_sigma2", dict(M=10, n=20), "0.121577"),
    ("gaussian.replace.mle.mean_sq_mean_error", dict(M=10, n=20), "0.878423"),
    ("gaussian.replace.mle.mean_w2sq", dict(M=10, n=20), "1.599438"),
    ("gaussian.replace.mle.mean_sq_mean_error", dict(M=10, n=100), "0.999973"),
    ("gaussian.replace.mle.mean_w2sq", dict(M=10, n=100), "1.999355"),
    ("gaussian.replace.mle.mean_sigma2", dict(M=100, n=100), "0.366032"),
    ("gaussian.replace.mle.mean_sigma", dict(M=100, n=100), "0.469993"),
    ("gaussian.replace.mle.mean_w2sq", dict(M=100, n=100), "1.060014"),
    ("gaussian.replace.mle.mean_sigma2", dict(M=10, n=100), "0.000027"),
    ("gaussian.replace.unbiased.mean_sigma", dict(M=10, n=1), "0.972659"),
    # Collapse probability
    ("gaussian.replace.unbiased.prob_sigma2_below", dict(M=10, n=5, eps=0.1), "0.066109"),
    ("gaussian.replace.unbiased.prob_sigma2_below", dict(M=10, n=5, eps=0.01), "0.000606"),
    ("gaussian.replace.unbiased.prob_sigma2_below", dict(M=10, n=20, eps=0.1), "0.492910"),
    ("gaussian.replace.unbiased.prob_sigma2_below", dict(M=10, n=100, eps=0.01), "0.918438"),
    ("gaussian.replace.unbiased.prob_sigma2_below", dict(M=100, n=100, eps=0.1), "0.183308"),
    ("gaussian.replace.unbiased.prob_sigma2_below", dict(M=100, n=400, eps=0.01), "0.423066"),
    ("gaussian.replace.mle.prob_sigma2_below", dict(M=10, n=20, eps=0.01), "0.458073"),
    ("gaussian.replace.mle.prob_sigma2_below", dict(M=100, n=100, eps=0.01), "0.035513"),
    ("gaussian.replace.unbiased.prob_sigma2_below_clt", dict(M=10, n=5, eps=0.1), "0.060784"),
    ("gaussian.replace.unbiased.prob_sigma2_below_clt", dict(M=10, n=5, eps=0.01), "0.000151"),
    ("gaussian.replace.unbiased.prob_sigma2_below_clt", dict(M=10, n=20, eps=0.1), "0.500276"),
    ("gaussian.replace.unbiased.prob_sigma2_below_clt", dict(M=10, n=100, eps=0.01), "0.917224"),
    ("gaussian.replace.unbiased.prob_sigma2_below_clt", dict(M=100, n=100, eps=0.1), "0.183429"),
    ("gaussian.replace.unbiased.prob_sigma2_below_clt", dict(M=100, n=400, eps=0.01), "0.423515"),
    ("gaussian.replace.mle.prob_sigma2_below_clt", dict(M=10, n=20, eps=0.01), "0.465373"),
    ("gaussian.replace.mle.prob_sigma2_below_clt", dict(M=100, n=100, eps=0.01), "0.035096"),
    ("gaussian.replace.unbiased.cramer_exponent", dict(M=10), "0.027731"),
    ("gaussian.replace.mle.cramer_exponent", dict(M=10), "0.105367"),
    # d-dimensional Gaussian (log det Sigma_0 = 0, tr Sigma_0 = 3)
    ("multivariate.replace.mean_log_det", dict(M=10, n=5, d=3, logdet0=0.0), "-3.820435"),
    ("multivariate.replace.mean_log_det", dict(M=10, n=20, d=3, logdet0=0.0), "-15.281739"),
    ("multivariate.replace.mean_trace", dict(tr0=3.0), "3"),
    ("multivariate.replace.mean_sq_mean_error", dict(M=10, n=20, tr0=3.0), "6"),
    # Growing sample sizes, M_i = 10 (i+1)^growth
    ("schedules.power.mean_w2sq", dict(M0=10, growth=1, n=10), "0.441788"),
    ("schedules.power.mean_w2sq", dict(M0=10, growth=1, n=200), "0.868650"),
    ("schedules.power.mean_w2sq", dict(M0=10, growth=2, n=10), "0.236613"),
    ("schedules.power.mean_w2sq", dict(M0=10, growth=2, n=200), "0.249952"),
    # Gaussian, accumulate
    ("accumulate.unbiased.mean_sigma2", dict(M=5, n=2), "0.944444"),
    ("accumulate.unbiased.mean_sq_mean_error", dict(M=5, n=2), "0.25"),
    ("accumulate.unbiased.mean_sigma2", dict(M=5, n=10), "0.886366"),
    ("accumulate.unbiased.mean_sq_mean_error", dict(M=5, n=10), "0.305231"),
    ("accumulate.unbiased.mean_sigma2", dict(M=5, n=50), "0.872948"),
    ("accumulate.unbiased.mean_sq_mean_error", dict(M=5, n=50), "0.318495"),
    ("accumulate.mle.mean_sigma2", dict(M=5, n=10), "0.715491"),
    ("accumulate.mle.mean_sq_mean_error", dict(M=5, n=10), "0.284509"),
    ("accumulate.unbiased.mean_sigma2", dict(M=20, n=50), "0.968623"),
    ("accumulate.unbiased.mean_sq_mean_error", dict(M=20, n=50), "0.080866"),
    ("accumulate.mle.mean_sigma2", dict(M=20, n=50), "0.920670"),
    ("accumulate.mle.mean_sq_mean_error", dict(M=20, n=50), "0.079330"),
    ("accumulate.mean_sq_mean_error_bound", dict(M=5), "0.328987"),
    ("accumulate.unbiased.limit_sigma2", dict(M=2), "0.666667"),
    ("accumulate.unbiased.limit_sigma2", dict(M=5), "0.869491"),
    ("accumulate.unbiased.limit_sigma2", dict(M=10), "0.935141"),
    ("accumulate.unbiased.limit_sigma2", dict(M=100), "0.993547"),
    ("accumulate.mle.limit_sigma2", dict(M=2), "0.358188"),
    ("accumulate.mle.limit_sigma2", dict(M=5), "0.701998"),
    ("accumulate.mle.limit_sigma2", dict(M=10), "0.843436"),
    ("accumulate.mle.limit_sigma2", dict(M=100), "0.983632"),
    # Fresh real data
    ("fresh.split.e_star", dict(M=10, alpha=0.3), "0.219512"),
    ("fresh.split.v_star", dict(M=10, alpha=0.3), "1.170732"),
    ("fresh.split.e_star", dict(M=20, alpha=0.5), "0.067857"),
    ("fresh.split.v_star", dict(M=20, alpha=0.5), "1.035714"),
    ("fresh.weighted.stationary_mse", dict(sigma=1.0, nreal=10, kappa=1, w=1.0), "0.1"),
    ("fresh.weighted.stationary_mse", dict(sigma=1.0, nreal=10, kappa=1, w=0.618), "0.061803"),
    ("fresh.weighted.stationary_mse", dict(sigma=1.0, nreal=10, kappa=1, w=0.3), "0.113725"),
    ("fresh.weighted.stationary_mse", dict(sigma=1.0, nreal=10, kappa=4, w=0.3904), "0.039039"),
    ("fresh.weighted.stationary_mse", dict(sigma=1.0, nreal=10, kappa=4, w=0.3), "0.041667"),
    ("fresh.weighted.optimal_weight", dict(kappa=4), "0.3904"),
    ("fresh.weighted.optimal_mse", dict(sigma=1.0, nreal=10, kappa=1), "0.061803"),
    # Wright-Fisher (categorical) and exact chain; p0 = (0.4, 0.3, 0.15, 0.1, 0.05), M = 20, H0 = 0.715
    ("wf.one_step.loss_probability", dict(q=0.05, M=20), "0.358486"),
    ("wf.one_step.loss_probability", dict(q=0.15, M=20), "0.038760"),
    ("wf.one_step.mean_support", dict(M=20, p=P0), "4.480343"),
    ("wf.replace.mean_heterozygosity", dict(H0=0.715, M=20, n=20), "0.256317"),
    ("wf.replace.mean_heterozygosity", dict(H0=0.715, M=20, n=50), "0.055016"),
    ("wf.accumulate.mean_heterozygosity", dict(H0=0.715, M=20, n=50), "0.658279"),
    ("wf.accumulate.limit_heterozygosity", dict(H0=0.715, M=20), "0.657628"),
    ("wf.mixture.h_star", dict(H0=0.715, M=20, alpha=0.05), "0.464343"),
    ("wf.mixture.h_star", dict(H0=0.715, M=20, alpha=0.2), "0.623801"),
    ("wf.mixture.h_star", dict(H0=0.715, M=20, alpha=0.5), "0.668115"),
    ("wf.split.h_star", dict(H0=0.715, M=20, alpha=0.05), "0.468448"),
    ("wf.split.h_star", dict(H0=0.715, M=20, alpha=0.2), "0.625625"),
    ("wf.split.h_star", dict(H0=0.715, M=20, alpha=0.5), "0.668871"),
    ("wf.fixation_probability", dict(q=0.5), "0.5"),
    ("wf.k3.absorption_time_exact", dict(M=20, x1=10, x2=6, x3=4), "29.428848"),
    ("wf.absorption_time_littler", dict(M=20, p=[0.5, 0.3, 0.2]), "30.99"),
    ("wf.eventual_loss_probability", dict(q=0.001), "0.999"),
    ("wf.eventual_loss_probability", dict(q=0.005), "0.995"),
    ("wf.eventual_loss_probability", dict(q=0.02), "0.98"),
    ("wf.k2.conditional_loss_time_exact", dict(M=1000, k=1), "13.184"),
    ("wf.k2.conditional_loss_time_exact", dict(M=1000, k=5), "51.997"),
    ("wf.k2.conditional_loss_time_exact", dict(M=1000, k=20), "157.955"),
    ("wf.k2.conditional_loss_time_diffusion", dict(M=1000, q=0.001), "13.829"),
    ("wf.k2.conditional_loss_time_diffusion", dict(M=1000, q=0.005), "53.249"),
    ("wf.k2.conditional_loss_time_diffusion", dict(M=1000, q=0.02), "159.674"),
    ("wf.k2.median_loss_time_exact", dict(M=1000, k=1), "2"),
    ("wf.k2.median_loss_time_exact", dict(M=1000, k=5), "13"),
    ("wf.k2.median_loss_time_exact", dict(M=1000, k=20), "55"),
    ("wf.k2.median_loss_time_feller", dict(k=1), "2.89"),
    ("wf.k2.median_loss_time_feller", dict(k=5), "14.43"),
    ("wf.k2.median_loss_time_feller", dict(k=20), "57.71"),
    # Poisson, N0 = 10
    ("poisson.extinction_probability", dict(N0=10, t=5), "0.044122"),
    ("poisson.extinction_probability", dict(N0=10, t=20), "0.399936"),
    ("poisson.extinction_probability", dict(N0=10, t=100), "0.822484"),
    ("poisson.extinction_probability", dict(N0=10, t=400), "0.951560"),
    ("poisson.extinction_kolmogorov", dict(N0=10, t=5), "0.0183"),
    ("poisson.extinction_kolmogorov", dict(N0=10, t=20), "0.3679"),
    ("poisson.extinction_kolmogorov", dict(N0=10, t=100), "0.8187"),
    ("poisson.extinction_kolmogorov", dict(N0=10, t=400), "0.9512"),
    # Linear regression, d = 10, T = 40, sigma = 1
    ("regression.replace.test_error", dict(n=1), "0.34483"),
    ("regression.replace.test_error", dict(n=2), "0.68966"),
    ("regression.replace.test_error", dict(n=5), "1.72414"),
    ("regression.replace.test_error", dict(n=10), "3.44828"),
    ("regression.accumulate.test_error", dict(n=1), "0.34483"),
    ("regression.accumulate.test_error", dict(n=2), "0.43103"),
    ("regression.accumulate.test_error", dict(n=5), "0.50469"),
    ("regression.accumulate.test_error", dict(n=10), "0.53440"),
    ("regression.accumulate.bound", dict(), "0.56722"),
    ("regression.inverse_wishart_trace", dict(d=10, T=40), "0.344828"),
    # KDE, M = 50, h = 0.3, v0 = E v_0 = (M-1)/M sigma0^2 = 0.98
    ("kde.replace.mean_spread", dict(M=50, h=0.3, v0=0.98, t=10), "1.60744"),
    ("kde.replace.mean_spread", dict(M=50, h=0.3, v0=0.98, t=50), "3.16090"),
    ("kde.replace.mean_spread", dict(M=50, h=0.3, v0=0.98, t=300), "4.40200"),
    ("kde.replace.spread_fixed_point", dict(M=50, h=0.3), "4.41"),
]

_DEFAULTS = {"sigma0": 1.0, "sigma": 1.0, "d": 10, "T": 40}


@pytest.mark.parametrize(
    ("rid", "params", "printed"), REFERENCE_VALUES, ids=[f"{r}{p}" for r, p, _ in REFERENCE_VALUES]
)
def test_reference_closed_form_values(rid, params, printed):
    res = registry.get(rid)
    kw = {k: v for k, v in _DEFAULTS.items() if k in res.param_names and k not in params}
    value = registry.evaluate(rid, **params, **kw)
    assert _agrees(value, printed), f"{rid}: {value!r} vs reference {printed}"


def test_reference_accumulate_mean_error_limits_differ_by_truncation():
    """The reference M lim E(mu - mu0)^2 values are 3-5e-6 low: the series truncated at 2e5 terms.

    Our limit adds the tail ``s_inf psi1(N + 1)`` (proved against mpmath ``nsum`` in
    ``proofs.accumulate``); dropping it reproduces every printed digit.
    """
    printed = {
        ("unbiased", 2): "1.548308", ("unbiased", 5): "1.609721", ("unbiased", 10): "1.627805",
        ("unbiased", 100): "1.643257", ("mle", 2): "1.283623", ("mle", 5): "1.490007",
        ("mle", 10): "1.565637", ("mle", 100): "1.636831",
    }  # fmt: skip
    for (est, size), text in printed.items():
        ours = size * registry.evaluate(f"accumulate.{est}.limit_mean_sq_mean_error", M=size, sigma0=1.0)
        lim = registry.evaluate(f"accumulate.{est}.limit_sigma2", M=size, sigma0=1.0)
        truncated = ours - lim / 200_000  # tail of sum_{m > N} s_{m-1}/m^2 ~ s_inf / N
        assert abs(ours - float(text)) < 6e-6
        assert _agrees(truncated, text), (est, size, truncated, text)
        assert ours < math.pi**2 / 6


def test_reference_chernoff_slopes():
    """Exact slopes of log P(sigma_n^2 >= sigma0^2), M = 10 ('Collapse probability': -0.0329, -0.0306, -0.0293)."""

    def tail(gens: int) -> float:
        rid = "gaussian.replace.unbiased.prob_sigma2_below"
        return 1 - registry.evaluate(rid, M=10, n=gens, eps=1.0, sigma0=1.0)

    slopes = [(math.log(tail(b)) - math.log(tail(a))) / (b - a) for a, b in ((50, 100), (100, 200), (200, 400))]
    for value, text in zip(slopes, ("-0.0329", "-0.0306", "-0.0293"), strict=True):
        assert _agrees(value, text)
    assert all(s < -registry.evaluate("gaussian.replace.unbiased.cramer_exponent", M=10) for s in slopes)


def test_reference_fresh_transient_values_at_alpha_point_one():
    """'Fresh real data' (M = 10, alpha = 0.1) quotes 0.9998 / 1.99966: the t = 200 iterates, fixed point 1 / 2."""
    e, v = 0.0, 1.0
    for _ in range(200):
        e, v = 0.81 * e + (0.1 + 0.9 * v) / 10, 0.1 + 0.9 * v + 0.09 * 10 * e / 9
    assert _agrees(e, "0.9998") and _agrees(v, "1.99966")
    assert registry.evaluate("fresh.split.e_star", M=10, alpha=0.1, sigma0=1.0) == pytest.approx(1.0, rel=1e-12)
    assert registry.evaluate("fresh.split.v_star", M=10, alpha=0.1, sigma0=1.0) == pytest.approx(2.0, rel=1e-12)


def test_reference_c4_series_value():
    """'Gaussian, large-M expansions': at M = 10 the series to order M^-3 is 0.972664 (exact 0.972659)."""
    assert _agrees(registry.evaluate("gaussian.c4.series", M=10), "0.972664")


def test_vectorized_bridge_matches_mpmath():
    res = registry.get("gaussian.replace.unbiased.mean_w2sq")
    fn, names = numeric.vectorized(res.expr)
    sizes = np.array([10.0, 100.0])
    values = dict(M=sizes, n=np.array([5.0, 100.0]), sigma0=np.ones(2))
    got = fn(*[values[name] for name in names])
    want = [registry.evaluate(res.id, M=10, n=5, sigma0=1.0), registry.evaluate(res.id, M=100, n=100, sigma0=1.0)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_large_arguments_do_not_overflow():
    assert registry.evaluate("gaussian.replace.unbiased.mean_sigma", M=10_000, n=10_000, sigma0=1.0) == pytest.approx(
        math.exp(10_000 * math.log(1 - 1 / 40_000 - 7 / 32 / 1e8)), rel=1e-6
    )


def test_perturbed_expression_is_caught(monkeypatch):
    rid = "gaussian.replace.unbiased.mean_w2sq"
    res = registry.get(rid)
    wrong = res.expr.subs(sp.Integer(2), sp.Integer(3))
    assert wrong != res.expr
    monkeypatch.setitem(registry._table(), rid, dataclasses.replace(res, expr=wrong))
    assert not resolve(res.proof)().verdict
    assert not _agrees(registry.evaluate(rid, M=10, n=5, sigma0=1.0), "0.758860")


def test_cli_rows_and_eval_json():
    rows = cli.list_rows()
    assert len(rows) == len(RESULTS)
    assert {"id", "title", "kind", "citation", "params"} <= set(rows[0])
    out = cli.eval_json("wf.one_step.mean_support", {"M": 20, "p": P0})
    assert out["id"] == "wf.one_step.mean_support" and _agrees(out["value"], "4.480343")
    assert out["statement"] and out["params"]["p"] == P0
    with pytest.raises(ValueError, match="unknown parameter"):
        cli.eval_json("wf.one_step.mean_support", {"M": 20, "p": P0, "K": 5})


ROOT = pathlib.Path(__file__).resolve().parents[2]
DERIVATIONS = ROOT / "docs" / "derivations.md"
# "docs/derivations.md, 'Section'" (or ``docs/derivations.md``, 'A' and 'B' in docstrings)
_SECTION_REF = re.compile(r"docs/derivations\.md(?:``)?, '([^']+)'((?: and '[^']+')*)")


def _named_sections(text: str) -> list[str]:
    text = " ".join(text.split())
    names = []
    for first, rest in _SECTION_REF.findall(text):
        names += [first, *re.findall(r"'([^']+)'", rest)]
    return names


def _headings() -> set[str]:
    return {m.group(1).strip() for m in re.finditer(r"^#{1,6} (.+)$", DERIVATIONS.read_text(), re.MULTILINE)}


def _registry_texts(res: registry.Result) -> list[str]:
    return [res.title, res.statement, res.assumptions, res.citation, res.tag, *(m for _, m in res.params)]


def _module_docstrings() -> dict[str, str]:
    out = {}
    for path in sorted((ROOT / "collapse_theory").rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text()), clean=False)
        if doc:
            out[str(path.relative_to(ROOT))] = doc
    return out


def test_no_internal_digest_references():
    """Users have no internal theory notes: citations and docstrings point to papers or docs/derivations.md."""
    bad = [res.id for res in RESULTS if any("digest" in text.lower() for text in _registry_texts(res))]
    assert not bad, f"registry entries mentioning 'digest': {bad}"
    docs = _module_docstrings()
    assert len(docs) > 50
    bad = [name for name, doc in docs.items() if "digest" in doc.lower()]
    assert not bad, f"module docstrings mentioning 'digest': {bad}"
    assert "digest" not in DERIVATIONS.read_text().lower()
    assert "digest" not in (ROOT / "collapse_theory" / "verify" / "README.md").read_text().lower()


def test_named_derivation_sections_exist():
    """Every docs/derivations.md section that a citation or module docstring names is a heading there."""
    headings = _headings()
    cited = {name: res.id for res in RESULTS for name in _named_sections(res.citation)}
    assert len(set(cited)) >= 10
    named = dict(cited)
    for module, doc in _module_docstrings().items():
        named.update({name: module for name in _named_sections(doc)})
    missing = {name: where for name, where in named.items() if name not in headings}
    assert not missing, f"sections not in {DERIVATIONS.name}: {missing}"
    underived = [res.id for res in RESULTS if "DER" in res.tag and not _named_sections(res.citation)]
    assert not underived, f"results tagged DER that name no section of {DERIVATIONS.name}: {underived}"
