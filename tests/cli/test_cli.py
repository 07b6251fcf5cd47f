"""The CLI contract: JSON on stdout, one-line errors with a non-zero exit for every bad input."""

import json
import subprocess
import sys

import pytest

from collapse_theory.cli import main

JSON_ARGS = [
    "simulate",
    "gaussian",
    "--estimator",
    "unbiased",
    "--samples",
    "10",
    "--generations",
    "20",
    "--chains",
    "200",
    "--seed",
    "0",
    "--record",
    "1,10,20",
    "--format",
    "json",
    "--quiet",
]


def test_json_contract(capsys):
    assert main(JSON_ARGS) == 0
    out = capsys.readouterr().out
    obj = json.loads(out)
    assert set(obj) >= {"config", "generations", "metrics", "timing"}
    assert obj["generations"] == [1, 10, 20]
    assert obj["config"]["seed"] == 0 and obj["config"]["samples"] == 10
    for name in ("mu_err2", "sigma2", "sigma", "log_sigma2", "w2_sq", "kl", "tail_mass"):
        assert len(obj["metrics"][name]["mean"]) == 3 and len(obj["metrics"][name]["se"]) == 3
    assert set(obj["timing"]) == {
        "compile_seconds",
        "run_seconds",
        "chain_generations_per_second",
        "devices",
        "processes",
    }
    # same seed, same numbers
    assert main(JSON_ARGS) == 0
    assert json.loads(capsys.readouterr().out)["metrics"] == obj["metrics"]


def test_categorical_table(capsys):
    assert (
        main(
            [
                "simulate",
                "categorical",
                "--probs",
                "0.5,0.2,0.1,0.1,0.05,0.05",
                "--scenario",
                "accumulate",
                "--samples",
                "30",
                "--generations",
                "5",
                "--chains",
                "100",
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "heterozygosity" in out and "chain-generations/s" in out


BAD = {
    "m<2 unbiased": ["simulate", "gaussian", "--estimator", "unbiased", "--samples", "1"],
    "no estimator": ["simulate", "gaussian"],
    "negative probs": ["simulate", "categorical", "--probs", "0.5,-0.1,0.6"],
    "probs sum": ["simulate", "categorical", "--probs", "0.5,0.2"],
    "probs text": ["simulate", "categorical", "--probs", "a,b"],
    "probs below float32": ["simulate", "categorical", "--probs", "1e-45,1"],
    "non-pd cov": ["simulate", "gaussian", "--estimator", "mle", "--dim", "2", "--cov-diag", "1,0"],
    "cov length": ["simulate", "gaussian", "--estimator", "mle", "--dim", "2", "--cov-diag", "1,1,1"],
    "real fraction": ["simulate", "gaussian", "--estimator", "mle", "--scenario", "fresh", "--real-fraction", "1.5"],
    "schedule non-integer": ["simulate", "gaussian", "--estimator", "mle", "--samples-schedule", "t/2+2"],
    "schedule small": ["simulate", "gaussian", "--estimator", "unbiased", "--samples-schedule", "t+1"],
    "schedule unsafe": ["simulate", "gaussian", "--estimator", "mle", "--samples-schedule", "__import__('os')"],
    "schedule name": ["simulate", "gaussian", "--estimator", "mle", "--samples-schedule", "x+2"],
    "zero chains": ["simulate", "gaussian", "--estimator", "mle", "--chains", "0"],
    "unknown metric": ["simulate", "gaussian", "--estimator", "mle", "--metrics", "sigma2,bogus"],
    "unknown scenario": ["simulate", "gaussian", "--estimator", "mle", "--scenario", "keep"],
    "unknown kernel": ["simulate", "gaussian", "--estimator", "mle", "--kernel", "fast"],
    "record range": ["simulate", "gaussian", "--estimator", "mle", "--generations", "5", "--record", "7"],
    "weight replace": ["simulate", "gaussian", "--estimator", "mle", "--real-weight", "0.5"],
    "bad int": ["simulate", "gaussian", "--estimator", "mle", "--samples", "ten"],
    "d-D too few samples": ["simulate", "gaussian", "--estimator", "unbiased", "--dim", "4", "--samples", "3"],
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_one_line_error(case, capsys):
    rc = main(BAD[case] + ["--quiet"] if BAD[case][0] == "simulate" and case != "bad int" else BAD[case])
    err = capsys.readouterr()
    assert rc == 2, case
    assert err.out == ""
    lines = err.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err.err
    assert "Traceback" not in err.err


def test_module_entry_point():
    p = subprocess.run(
        [sys.executable, "-m", "collapse_theory", "simulate", "gaussian", "--samples", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and p.stderr.startswith("error:") and p.stdout == ""
