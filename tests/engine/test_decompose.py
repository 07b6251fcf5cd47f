"""``decompose``: the five runs are the configurations they claim to be.

* ``none`` (population fit of the matched Gaussian in float64) has W2 = 0 to rounding;
* ``no_statistical`` is the functional error alone: W2 of the truth to its moment-matched
  Gaussian, checked against an independent scipy quantile integral;
* ``no_functional`` at n = 1 follows the registered E W2^2 of the Gaussian replace chain
  (float32 rounding is ~1e-7 relative, far below the z-test's resolution): z-test at ALPHA.
"""

import json

import numpy as np
import pytest
from budget import ALPHA
from scipy import integrate, optimize, stats

import collapse_theory as ct
from collapse_theory.cli import main
from collapse_theory.config import ConfigError
from collapse_theory.decompose import decompose, variants
from collapse_theory.testing import z_threshold
from collapse_theory.theory import registry

MIX = "mixture:0.5,-2,1;0.5,2,1"


def base(**kw):
    cfg = dict(
        family="gaussian",
        estimator="unbiased",
        truth=MIX,
        samples=20,
        kernel="naive-sample",
        precision="float32",
        generations=2,
        chains=20_000,
        seed=11,
        record=(1, 2),
    )
    return ct.SimConfig(**(cfg | kw))


def reference_w2() -> float:
    def cdf(x):
        return 0.5 * stats.norm.cdf(x + 2) + 0.5 * stats.norm.cdf(x - 2)

    def q(u):
        return optimize.brentq(lambda x: cdf(x) - u, -30, 30, xtol=1e-14)

    return integrate.quad(lambda u: (q(u) - 5**0.5 * stats.norm.ppf(u)) ** 2, 0, 1, limit=400, epsabs=1e-11)[0]


def test_runs_are_what_they_claim():
    d = decompose(base(), "w2_sq")
    assert list(d.runs) == ["all", "no_statistical", "no_functional", "no_numerical", "none"]
    assert list(d.contributions) == ["statistical", "functional", "numerical", "interaction"]
    np.testing.assert_allclose(d.runs["none"][0], 0.0, atol=1e-12)
    np.testing.assert_allclose(d.runs["no_statistical"][0], reference_w2(), atol=1e-5)
    expected = registry.evaluate("gaussian.replace.unbiased.mean_w2sq", M=20, n=1, sigma0=5**0.5)
    mean, se = d.runs["no_functional"][0][0], d.runs["no_functional"][1][0]
    assert abs(mean - expected) <= z_threshold(ALPHA) * se, (mean, expected, se)
    # The identity that defines the interaction, and finite standard errors of paired differences.
    total = d.runs["none"][0] + sum(d.contributions[s][0] for s in ("statistical", "functional", "numerical"))
    np.testing.assert_allclose(total + d.contributions["interaction"][0], d.runs["all"][0], rtol=1e-9, atol=1e-12)
    assert all(np.isfinite(se).all() and (se > 0).all() for _, se in d.contributions.values())


def test_variants_switch_one_source_each():
    v = variants(base())
    assert v["no_statistical"].population() and v["no_statistical"].kernel == "exact"
    assert v["no_functional"].truth is None and v["no_functional"].kernel == "naive-sample"
    assert v["no_functional"].cov_diag == (5.0,)
    assert v["no_numerical"].precision == "float64" and v["no_numerical"].kernel == "naive-sample"
    assert not v["no_numerical"].population()


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(truth=None), "misspecified --truth"),
        (dict(kernel="exact", precision="float32"), "naive-sample"),
        (dict(samples=None, samples_schedule="10*(t+1)"), "finite, fixed --samples"),
        (dict(scenario="fresh"), "replace or accumulate"),
    ],
)
def test_bad_decompositions(kw, message):
    with pytest.raises(ConfigError, match=message):
        variants(base(**kw))


def test_unknown_metric():
    with pytest.raises(ConfigError, match="unknown metric"):
        decompose(base(), "spread")


def test_cli_writes_table_json_and_figure(tmp_path, capsys):
    argv = ["decompose", "--estimator", "unbiased", "--truth", MIX, "--samples", "10", "--kernel", "naive-sample"]
    argv += ["--precision", "bfloat16", "--generations", "2", "--chains", "64", "--quiet", "--format", "json"]
    assert main([*argv, "--output", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metric"] == "w2_sq" and out["generations"][-1] == 2
    assert (tmp_path / "decompose_w2_sq.png").stat().st_size > 0
    assert json.loads((tmp_path / "decompose.json").read_text())["runs"].keys() == out["runs"].keys()
