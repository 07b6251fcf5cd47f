"""Parameter domains: every result declares them, ``evaluate`` checks them, the CLI reports them.

The regression tests are the failures reported in issue 9 ('theory eval' bullet), run as a new
user would: in Python and through ``collapse-theory theory ...``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from collapse_theory.cli import main
from collapse_theory.config import ConfigError
from collapse_theory.theory import domains, registry
from collapse_theory.theory.domains import ParameterError

RESULTS = registry.all_results()
W2 = "gaussian.replace.unbiased.mean_w2sq"


@pytest.mark.parametrize("res", RESULTS, ids=lambda r: r.id)
def test_every_parameter_has_a_domain(res: registry.Result):
    assert [name for name, _ in res.domains] == list(res.param_names)
    for name, dom in res.domains:
        assert isinstance(dom, domains.Domain), name
        assert dom.describe() and dom.to_json()["text"] == dom.describe()
        assert dom.examples(), f"{res.id}: domain of {name} has no valid example"
    for con in res.constraints:
        assert set(con.names) <= set(res.param_names)


def test_result_without_a_domain_is_refused():
    import sympy as sp

    x = sp.Symbol("x")
    common = dict(
        id="t.x", title="t", statement="s", expr=x, params={"x": "x"}, assumptions="a", citation="c", tag="DER"
    )
    with pytest.raises(ValueError, match="domains"):
        registry.result(**common, kind="exact", proof="proofs.t:p", domains={})
    with pytest.raises(TypeError):
        registry.result(**common, kind="exact", proof="proofs.t:p")  # type: ignore[call-arg]


def test_parameter_error_is_a_value_error_and_a_config_error():
    assert issubclass(ParameterError, ValueError) and issubclass(ParameterError, ConfigError)


def _one_line_error(id_: str, **params) -> str:
    with pytest.raises(ParameterError) as info:
        registry.evaluate(id_, **params)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{id_}: ")
    return msg


@pytest.mark.parametrize(
    ("params", "pattern"),
    [
        (dict(M=10), r"missing parameter n \(integer >= 0: .*\); missing parameter sigma0 \(real > 0"),
        (dict(M=10, n=5, sigma0=1.0, sigma=1.0), r"unknown parameter sigma \(did you mean sigma0\?\)"),
        (dict(M=10, n=5, sigm0=1.0), r"unknown parameter sigm0 \(did you mean sigma0\?\); missing parameter sigma0"),
        (dict(M=1, n=5, sigma0=1.0), r"parameter M must be integer >= 2, got 1$"),
        (dict(M=-3, n=5, sigma0=1.0), r"parameter M must be integer >= 2, got -3$"),
        (dict(M=10, n=2.5, sigma0=1.0), r"parameter n must be integer >= 0, got 2.5 \(not an integer\)"),
        (dict(M=math.nan, n=5, sigma0=1.0), r"parameter M must be integer >= 2, got nan \(not finite\)"),
        (dict(M=10, n=-5, sigma0=1.0), r"parameter n must be integer >= 0, got -5$"),
        (dict(M="10", n=5, sigma0=1.0), r"got '10' \(not a number: str\)"),
        (dict(M=10, n=5, sigma0=math.inf), r"parameter sigma0 must be real > 0, got inf \(not finite\)"),
        (dict(M=10, n=True, sigma0=1.0), r"parameter n must be integer >= 0, got True \(not a number: bool\)"),
        (dict(M=2**1100, n=5, sigma0=1.0), r"beyond the float64 range"),
    ],
)
def test_issue_examples_raise_one_line(params, pattern):
    import re

    assert re.search(pattern, _one_line_error(W2, **params))


def test_issue_examples_domain_violations():
    assert "must be real in [0, 1], got 1.5" in _one_line_error("wf.fixation_probability", q=1.5)
    msg = _one_line_error("multivariate.replace.mean_log_det", M=3, n=5, d=3, logdet0=0.0)
    assert "parameters M=3, d=3 violate M >= d + 1" in msg
    msg = _one_line_error("gaussian.replace.unbiased.moment_sigma_r", M=5, n=2, sigma0=1.0, r=-4.0)
    assert "violate r > 1 - M" in msg
    msg = _one_line_error("wf.k3.absorption_time_exact", M=10, x1=5, x2=3, x3=1)
    assert "violate x1 + x2 + x3 = M" in msg
    assert "sum 0.95" in _one_line_error("wf.one_step.mean_support", M=20, p=[0.4, 0.3, 0.15, 0.1])
    assert "not a sequence" in _one_line_error("wf.one_step.mean_support", M=20, p=0.5)


def test_accepts_numpy_scalars_and_integral_floats():
    ref = registry.evaluate(W2, M=10, n=5, sigma0=1.0)
    assert registry.evaluate(W2, M=np.int64(10), n=np.int64(5), sigma0=np.float64(1.0)) == ref
    assert registry.evaluate(W2, M=10.0, n=np.float64(5.0), sigma0=np.float32(1.0)) == ref
    assert registry.evaluate(W2, M=np.int32(10), n=np.uint8(5), sigma0=1) == ref
    gens = np.arange(0, 60, 10)  # the natural loop over r.generations (numpy int64)
    values = [registry.evaluate(W2, M=10, n=g, sigma0=1.0) for g in gens]
    assert values[0] == 0.0 and all(b > a for a, b in zip(values, values[1:], strict=False))
    out = registry.evaluate("wf.one_step.mean_support", M=20, p=np.array([0.5, 0.3, 0.2]))
    assert out == registry.evaluate("wf.one_step.mean_support", M=20, p=(0.5, 0.3, 0.2))


def test_canonical_values():
    got = registry.check_params(W2, M=np.float64(1e40), n=np.int64(5), sigma0=2)
    assert got == {"M": 10**40 + 303786028427003666890752, "n": 5, "sigma0": 2.0}
    assert type(got["n"]) is int and type(got["sigma0"]) is float


def test_large_m_no_cancellation():
    """1 - c4(M)^n at M = 1e40: the old evaluation returned 2.0; the value is n/M + 2n/(4M) + O(n/M^2)."""
    m_float = 1e40
    for est, leading in (("unbiased", 7.5e-40), ("mle", 7.5e-40)):
        got = registry.evaluate(f"gaussian.replace.{est}.mean_w2sq", M=m_float, n=5, sigma0=1.0)
        assert got == pytest.approx(leading * 1e40 / m_float, rel=1e-12)


def test_poisson_extinction_is_fast_at_huge_t():
    import time

    start = time.perf_counter()
    value = registry.evaluate("poisson.extinction_probability", N0=10, t=10**9)
    assert time.perf_counter() - start < 1.0
    # 1 - q_t = 2/(t + (1/3) log t + O(1)) (Kolmogorov with its log correction)
    assert value == pytest.approx(math.exp(-20 / (1e9 + math.log(1e9) / 3)), rel=1e-9)


# --- the command line -----------------------------------------------------------------


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["theory", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "args",
    [
        (W2, "M=10"),
        (W2, "M=10", "n=5", "sigma0=1", "sigma=1"),
        (W2, "M=1", "n=5", "sigma0=1"),
        (W2, "M=-3", "n=5", "sigma0=1"),
        (W2, "M=10", "n=2.5", "sigma0=1"),
        (W2, "M=nan", "n=5", "sigma0=1"),
        (W2, "M=10", "n=-5", "sigma0=1"),
        (W2, "M=10", "n=5", "sigma0=x"),
        (W2, "M=10", "n=5", "n=6", "sigma0=1"),
        (W2, "M10"),
        ("wf.fixation_probability", "q=1.5"),
        ("wf.one_step.mean_support", "M=20", "p=0.5,0.3,x"),
        ("wf.one_step.mean_support", "M=20", "p=0.5,0.3"),
        ("gaussian.replace.unbiased.mean_w2", "M=10"),
    ],
)
def test_cli_errors_are_one_line_exit_2(capsys, args):
    code, out, err = _cli(capsys, "eval", *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err


def test_cli_values(capsys):
    code, out, _ = _cli(capsys, "eval", W2, "M=1e40", "n=5", "sigma0=1", "--format", "json")
    rec = json.loads(out)
    assert code == 0 and rec["value"] == pytest.approx(7.5e-40, rel=1e-12)
    assert rec["params"] == {"M": 10**40 + 303786028427003666890752, "n": 5, "sigma0": 1.0}
    assert rec["domains"] == {"M": "integer >= 2", "n": "integer >= 0", "sigma0": "real > 0"}
    code, out, _ = _cli(capsys, "eval", "wf.one_step.mean_support", "M=20", "p=0.4,0.3,0.15,0.1,0.05")
    assert code == 0 and out.startswith("wf.one_step.mean_support = 4.48034")
    code, out, _ = _cli(capsys, "eval", "wf.absorption_time_littler", "M=20", "p=0.5,0.3,0.2", "--format", "json")
    assert code == 0 and json.loads(out)["params"]["p"] == [0.5, 0.3, 0.2]


def test_cli_value_beyond_float64_is_reported_not_inf(capsys):
    args = ("gaussian.replace.unbiased.mean_sigma2", "M=10", "n=5", "sigma0=1e200")
    code, out, _ = _cli(capsys, "eval", *args, "--format", "json")
    rec = json.loads(out)  # standard JSON: no Infinity token
    assert code == 0 and rec["value"] is None and rec["value_text"].startswith("9.99999999999999")
    assert rec["value_text"].endswith("e+399") and "beyond the float64 range" in rec["note"]
    code, out, _ = _cli(capsys, "eval", *args)
    assert code == 0 and "e+399 (the exact value lies beyond the float64 range)" in out
    assert registry.evaluate(args[0], M=10, n=5, sigma0=1e200) == math.inf


def test_cli_list_shows_domains(capsys):
    code, out, _ = _cli(capsys, "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(RESULTS) + 1
    line = next(x for x in lines if x.startswith(W2 + " "))
    assert "[M: integer >= 2, n: integer >= 0, sigma0: real > 0]" in line
    line = next(x for x in lines if x.startswith("multivariate.replace.mean_log_det "))
    assert line.endswith("; M >= d + 1]")
    code, out, _ = _cli(capsys, "list", "--format", "json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows[W2]["domains"]["M"] == {"type": "integer", "min": 2, "max": None, "text": "integer >= 2"}
    assert rows["multivariate.replace.mean_log_det"]["constraints"] == ["M >= d + 1"]
    assert rows["wf.one_step.mean_support"]["domains"]["p"]["type"] == "probability_vector"


@pytest.mark.parametrize("args", [["list"], ["list", "--format", "json"], ["eval", W2, "M=10", "n=5", "sigma0=1"]])
def test_cli_survives_a_closed_pipe(args):
    """``collapse-theory theory list | head -1``: the reader is gone before the output is written."""
    with subprocess.Popen(
        [sys.executable, "-m", "collapse_theory", "theory", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # closed before the interpreter has even started writing
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert code == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err
