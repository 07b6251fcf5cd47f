"""Regression tests of the "honest numbers and clean errors" issue: each example it lists.

Root causes and fixes: summaries (collapse_theory/summaries.py) are over finite chains with
counts; metrics are computed in float64 from the carried log-space state; every family spec
checks that its settings are held faithfully by the precision; scenario settings are errors
outside their scenario; output paths and memory are checked before a run; files are validated.
"""

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest

import collapse_theory as ct
from collapse_theory.cli import main
from collapse_theory.results import ResultFileError
from collapse_theory.summaries import quantile_interval_ranks, summarize


def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def test_readme_decompose_example_reports_non_finite_chains_instead_of_nan():
    from collapse_theory.decompose import decompose

    cfg = ct.SimConfig(family="gaussian", estimator="unbiased", truth="student-t:5", samples=20,
                       kernel="naive-sample", precision="float16", generations=50, chains=5000)  # fmt: skip
    d = decompose(cfg, metric="w2_sq")
    for mean, _se in [*d.runs.values(), *d.contributions.values()]:
        assert np.all(np.isfinite(mean))
    assert any("not finite" in w for w in d.warnings)
    json.dumps(d.to_json(), allow_nan=False)


def test_sigma2_does_not_underflow_where_float64_holds_it():
    r = ct.simulate(ct.SimConfig(family="gaussian", estimator="unbiased", samples=10, generations=2000,
                                 chains=2000, record=(1000, 2000)), progress=False)  # fmt: skip
    log_s2 = r.values["log_sigma2"]
    holdable = log_s2 > math.log(np.finfo(np.float64).tiny)
    assert holdable.mean() > 0.99
    assert np.all(r.values["sigma2"][holdable] > 0) and np.all(r.values["sigma"][holdable] > 0)
    np.testing.assert_allclose(np.log(r.values["sigma2"][holdable]), log_s2[holdable], rtol=1e-12)


def test_json_is_standard_with_counts_and_warnings_for_non_finite_values():
    rc, out, err = cli("simulate", "gaussian", "--estimator", "unbiased", "--kernel", "naive-sample", "--precision",
                       "float16", "--mean", "1", "--samples", "10", "--generations", "300", "--record", "0,10,100,300",
                       "--chains", "256", "--format", "json", "--quiet")  # fmt: skip
    assert rc == 0
    obj = json.loads(out)
    json.dumps(obj, allow_nan=False)
    m = obj["metrics"]["log_sigma2"]
    assert m["n_neginf"][-1] > 0 and m["finite_only"][-1]  # chains collapsed onto the floor sigma = 0
    assert m["n_finite"][-1] + m["n_neginf"][-1] + m["n_nan"][-1] + m["n_posinf"][-1] == 256
    assert any(w.startswith("log_sigma2: not finite") for w in obj["warnings"])
    assert "1e308" not in out and "1e+308" not in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["gaussian", "--estimator", "mle", "--mean", "1e300"], "overflows float32"),
        (["gaussian", "--estimator", "mle", "--cov-diag", "1e-300"], "underflows float32"),
        (["poisson", "--rate", "1e-300"], "underflows float32"),
        (["categorical", "--probs", "0.5,0.5", "--estimator", "laplace", "--smoothing", "inf"], "must be finite"),
        (["gaussian", "--estimator", "mle", "--sampling-variance", "1e30"], "beyond what float32 holds"),
        (["gaussian", "--estimator", "mle", "--mean", "1e5"], "units in the last place"),
        (["gaussian", "--estimator", "mle", "--kernel", "naive-sample", "--precision", "float16", "--mean", "1e5"],
         "overflows float16"),
        (["gaussian", "--estimator", "mle", "--mixing", "mixture"], "--mixing is for --scenario fresh"),
        (["gaussian", "--estimator", "mle", "--real-fraction", "0.3"], "--real-fraction is for --scenario fresh"),
        (["gaussian", "--estimator", "mle", "--samples-schedule", "5+t", "--samples", "10"], "not both"),
        (["regression", "--dim", "2", "--design-size", "12", "--samples", "100"], "not both"),
        (["gaussian", "--estimator", "mle", "--samples", "100000000000000000000"], "--samples must be at most"),
        (["gaussian", "--estimator", "mle", "--output", "/nonexistent/dir/out.npz"], "--output: cannot write"),
        (["gaussian", "--estimator", "mle", "--chains", "2000000000", "--keep-chains"], "GiB"),
        (["gaussian", "--estimator", "mle", "--bandwidth", "0.3"], "option of the kde family"),
    ],
)  # fmt: skip
def test_bad_command_lines_are_one_error_line(argv, message):
    rc, out, err = cli("simulate", argv[0], "--generations", "3", "--chains", "64", "--quiet", *argv[1:])
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], err


def test_design_size_alone_and_samples_alone_both_work():
    for size in (["--design-size", "12"], ["--samples", "12"]):
        rc, out, _ = cli("simulate", "regression", "--dim", "2", *size, "--generations", "2", "--chains", "64",
                         "--quiet", "--format", "json")  # fmt: skip
        assert rc == 0 and json.loads(out)["config"]["samples"] == 12


def test_verify_flags_conflict_and_unwritable_output_fail_before_running(monkeypatch):
    import collapse_theory.verify.runner as runner

    monkeypatch.setattr(runner, "run", lambda *a, **k: pytest.fail("verify ran"))
    rc, _, err = cli("verify", "--quick", "--thorough")
    assert rc == 2 and "not allowed with" in err
    rc, _, err = cli("verify", "--quick", "--output", "/proc/no/such/folder")
    assert rc == 2 and err.startswith("error: --output")


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(real_fraction="0.5", scenario="fresh"), "--real-fraction"),
        (dict(truth=5), "--truth"),
        (dict(chunk_size="a"), "--chunk-size"),
        (dict(dim=2, mean="12"), "--mean"),
        (dict(record=(1.7, 3)), "--record"),
        (dict(samples=10.5), "--samples"),
        (dict(seed=-1), "--seed"),
        (dict(generations=True), "--generations"),
        (dict(metrics="sigma2"), "--metrics"),
        (dict(sampling_variance=[2]), "--sampling-variance"),
    ],
)
def test_wrong_python_types_raise_config_error_naming_the_setting(kw, name):
    with pytest.raises(ct.ConfigError, match=name) as e:
        ct.SimConfig(**(dict(family="gaussian", estimator="mle") | kw)).validated()
    assert "\n" not in str(e.value)


def test_heavy_tailed_means_are_flagged_and_light_tailed_ones_are_not():
    # The README's first command: M = 100, 1000 generations, 20 000 chains (unbiased replace chain).
    r = ct.simulate(ct.SimConfig(family="gaussian", estimator="unbiased", samples=100, generations=1000,
                                 chains=20000, record=(10, 1000)), progress=False)  # fmt: skip
    for name in ("w2_sq", "sigma2"):
        s = r.summary(name)
        assert s.se_trustworthy[0] and not s.se_trustworthy[1], name
        assert any(w.startswith(f"{name}: the standard error") for w in r.warnings)
    assert r.summary("log_sigma2").se_trustworthy.all()
    assert not any(w.startswith("log_sigma2") for w in r.warnings)
    # The robust summaries are there instead, and honest: the median of sigma2_1000 is tiny, E sigma2 = 1.
    s = r.summary("sigma2")
    assert s.median[1] < 1e-3 and s.median_ci_low[1] <= s.median[1] <= s.median_ci_high[1]


def test_summaries_light_tails_at_many_sizes_stay_quiet():
    rng = np.random.default_rng(0)
    for n in (64, 500, 20000):
        x = rng.standard_normal((5, n))
        assert summarize(x).se_trustworthy.all()
        assert summarize(rng.chisquare(5, (5, n))).se_trustworthy.all()


def test_order_statistic_interval_covers_the_median():
    # Coverage of the rank interval is >= 95% by construction; check it by simulation (binomial
    # tolerance at 1e-4: 400 repetitions, coverage below 0.91 would be a 4-sigma miss).
    rng = np.random.default_rng(1)
    lo, hi = quantile_interval_ranks(101, 0.5)
    cover = np.mean([np.sort(x)[lo] <= 0 <= np.sort(x)[hi] for x in rng.standard_normal((400, 101))])
    assert cover >= 0.91


def test_generation_zero_is_the_truth():
    cases = [
        dict(family="gaussian", estimator="unbiased", dim=3, cov_diag=(1.0, 2.0, 0.5)),
        dict(family="categorical", probs=(0.5, 0.3, 0.2)),
        dict(family="regression", dim=3),
    ]
    for c in cases:
        r = ct.simulate(ct.SimConfig(**c, generations=1, chains=64, record=(0, 1)), progress=False)
        for k in ("w2_sq", "tv", "kl", "test_error", "mu_err2"):
            if k in r.values:
                assert np.all(r.values[k][0] == 0.0), (c, k)
    s = r.summary("log_test_error")  # log 0 = -inf in every chain: exact, not "-inf ± nan"
    assert s.mean[0] == -np.inf and s.se[0] == 0 and s.n_neginf[0] == 64
    assert not any("generation 0" in w for w in r.warnings)


def test_load_rejects_corrupt_empty_foreign_and_tampered_files(tmp_path):
    r = ct.simulate(ct.SimConfig(family="gaussian", estimator="mle", generations=2, chains=64), progress=False)
    good = r.save(tmp_path / "good.npz")
    assert ct.load(good).values.keys() == r.values.keys()
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not a zip")
    np.savez(tmp_path / "foreign.npz", x=np.arange(3))
    tampered = tmp_path / "tampered.npz"
    with np.load(good) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["values/sigma2"] = arrays["values/sigma2"] * 2
    np.savez(tampered, **arrays)
    for name, message in [("empty.npz", "not a readable"), ("junk.npz", "not a readable"),
                          ("foreign.npz", "not a collapse_theory result"), ("tampered.npz", "checksum mismatch"),
                          ("missing.npz", "no such file")]:  # fmt: skip
        with pytest.raises(ResultFileError, match=message):
            ct.load(tmp_path / name)


def test_every_option_has_help_with_its_default_and_there_is_a_version(capsys):
    import argparse

    from collapse_theory.cli import build_parser

    def walk(p):
        yield p
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sub in a.choices.values():
                    yield from walk(sub)

    for parser in walk(build_parser()):
        if parser.prog.startswith("collapse-theory theory"):
            continue  # the theory sub-commands' options: tests/theory
        for a in parser._actions:
            if a.option_strings and a.dest not in ("help", "version"):
                assert a.help, (parser.prog, a.option_strings)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("collapse-theory ")


def test_a_location_below_the_smallest_normal_is_held_as_zero_not_refused():
    """A mean of 1e-300 in float32 is flushed to zero, an error far below one ulp of the spread: it
    runs (and matches the run at mean 0 exactly); a spread that small is still refused (above)."""
    tiny = ct.simulate(
        ct.SimConfig(family="gaussian", estimator="mle", mean=(1e-300,), generations=3, chains=64), progress=False
    )
    zero = ct.simulate(
        ct.SimConfig(family="gaussian", estimator="mle", mean=(0.0,), generations=3, chains=64), progress=False
    )
    np.testing.assert_array_equal(tiny.values["log_sigma2"], zero.values["log_sigma2"])
