"""Bad input for the families and options of the functional/numerical error issue.

Each case is a one-line error naming the setting (exit status 2 on the command line).
"""

import json
import math

import pytest

import collapse_theory as ct
from collapse_theory.cli import main
from collapse_theory.config import ConfigError

BAD = [
    (dict(family="kde", bandwidth=0.0), "--bandwidth must be positive"),
    (dict(family="kde", bandwidth=-1.0), "--bandwidth must be positive"),
    (dict(family="kde", bandwidth="wide"), "scott or silverman"),
    (dict(family="kde"), "needs --bandwidth"),
    (dict(family="regression", dim=10, samples=11), "must exceed dim \\+ 1"),
    (dict(family="regression", dim=3, samples=10, noise_sd=0.0), "--noise-sd must be positive"),
    (dict(family="regression", dim=3, samples=10, design="random"), "unknown design"),
    (dict(family="regression", dim=3, samples=10, scenario="fresh"), "--design fixed"),
    (dict(family="poisson", rate=0.0), "--rate must be positive"),
    (dict(family="poisson", rate=1e6, samples=100), "integer exactness"),
    (dict(family="gmm", truth="mixture:1,0,1", components=2), "components"),
    (dict(family="gmm", truth="student-t:5"), "mixture truth"),
    (dict(family="gmm", em_tol=0.0), "--em-tol must be positive"),
    (dict(family="gmm", em_iterations=0), "--em-iterations"),
    (dict(family="gmm", em_init="random"), "unknown em init"),
    (dict(family="gaussian", estimator="unbiased", precision="float8"), "unknown precision"),
    (dict(family="gaussian", estimator="unbiased", precision="float16"), "needs --kernel naive-sample"),
    (dict(family="gaussian", estimator="unbiased", rounding="stochastic"), "apply to --kernel naive-sample"),
    (dict(family="gaussian", estimator="unbiased", kernel="naive-sample", rounding="up"), "unknown rounding"),
    (dict(family="gaussian", estimator="unbiased", kernel="naive-sample", accumulation="fma"), "unknown accumulation"),
    (dict(family="gaussian", estimator="unbiased", samples=math.inf, scenario="fresh"), "replace or accumulate"),
    (dict(family="categorical", probs=(0.5, 0.5), samples=math.inf), "not available for the categorical family"),
    (dict(family="gaussian", estimator="unbiased", truth="mixture:1,0,1", dim=2), "--dim 1"),
    (dict(family="gaussian", estimator="unbiased", truth="student-t:1"), "df > 2"),
    (dict(family="gaussian", estimator="bayes"), "needs --prior"),
    (dict(family="gaussian", estimator="bayes", prior=(0, 1, -2, 1), kernel="sample"), "alpha0 must be positive"),
    (dict(family="gaussian", estimator="unbiased", prior=(0, 1, 2, 1)), "--prior is for"),
    (dict(family="gaussian", estimator="unbiased", bandwidth=0.3), "not a setting of the gaussian family"),
]


@pytest.mark.parametrize("kw, message", BAD)
def test_bad_settings_are_one_line_errors(kw, message):
    with pytest.raises(ConfigError, match=message) as e:
        ct.SimConfig(**kw).validated()
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["simulate", "kde", "--bandwidth", "0"], "--bandwidth"),
        (["simulate", "regression", "--dim", "5", "--design-size", "6"], "dim + 1"),
        (["simulate", "gaussian", "--estimator", "mle", "--precision", "half"], "unknown precision"),
        (["simulate", "gaussian", "--estimator", "mle", "--samples", "many"], "integer or inf"),
        (["simulate", "poisson", "--design-size", "5"], "regression family"),
    ],
)
def test_cli_errors(capsys, argv, message):
    assert main(argv + ["--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


@pytest.mark.parametrize(
    "argv, metrics",
    [
        (["kde", "--bandwidth", "scott", "--samples", "20"], ["spread", "mu_err2", "h", "nll"]),
        (["regression", "--dim", "3", "--design-size", "10", "--design", "fresh"], ["test_error", "log_test_error"]),
        (["poisson", "--rate", "2", "--samples", "10"], ["rate", "rate_err2", "extinct"]),
        (
            ["gaussian", "--estimator", "unbiased", "--truth", "student-t:5", "--samples", "inf"],
            ["mu_err2", "sigma2", "sigma", "log_sigma2", "w2_sq", "kl", "tail_mass"],
        ),
        (
            ["gaussian", "--estimator", "mle", "--kernel", "naive-sample", "--precision", "float16", "--mean", "1"],
            ["mu_err2", "sigma2", "sigma", "log_sigma2", "w2_sq", "kl", "tail_mass", "mean_rounding_ratio"],
        ),
    ],
)
def test_json_contract_for_new_families(capsys, argv, metrics):
    rc = main(["simulate", *argv, "--generations", "3", "--chains", "64", "--format", "json", "--quiet"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["metrics"]) == metrics
    # 64 chains: squared errors can have a sample kurtosis above 1 + n/4 (the SE rule); nothing else warns
    assert out["generations"][-1] == 3 and [w for w in out["warnings"] if "not trustworthy" not in w] == []
    assert set(out["timing"]) == {
        "compile_seconds",
        "run_seconds",
        "chain_generations_per_second",
        "devices",
        "processes",
    }


def test_em_non_convergence_is_reported(capsys):
    """An EM capped at one iteration with an unreachable tolerance: every chain is flagged."""
    argv = ["simulate", "gmm", "--samples", "50", "--em-iterations", "1", "--em-tol", "1e-12"]
    assert main(argv + ["--generations", "2", "--chains", "64", "--format", "json", "--quiet"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["metrics"]["converged"]["mean"][1:] == [0.0, 0.0]
    em = [w for w in out["warnings"] if w.startswith("EM")]
    assert len(em) == 2 and "did not converge for 64 of 64 chains" in em[0]
    assert cap.err.count("warning: EM did not converge") == 2
