"""Fuzz tests of the input contract, for every family.

Python: ``ct.simulate(ct.SimConfig(**kwargs))`` returns a result whose JSON is standard and honest,
or raises ``ConfigError`` with a one-line message; nothing else. Command line: ``simulate FAMILY
...`` exits 0 with standard, honest JSON on stdout, or exits 2 with exactly one ``error:`` line on
stderr. Inputs mix valid settings with wrong types, NaN/inf, huge and tiny values, unknown names,
options of other families and conflicting options. Sizes stay small (64 chains, <= 3 generations)
so that the valid examples run in seconds; hypothesis runs derandomized (the ``ci`` profile of
``tests/conftest.py``).
"""

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import collapse_theory as ct
from collapse_theory.cli import main
from collapse_theory.families.spec import flag

FAMILIES = ("gaussian", "categorical", "kde", "regression", "poisson", "gmm")
GARBAGE = [None, "", "abc", "1e3", -1, 0, 1, 2.5, 1e300, -1e300, 1e-300, math.nan, math.inf, -math.inf, True,
           [1, 2], (0.5, 0.5), {"a": 1}, 10**20, "nan"]  # fmt: skip
PLAUSIBLE = {
    "estimator": ["unbiased", "mle", "bayes", "laplace", "kde", "ols", "em"],
    "kernel": ["exact", "sample", "naive-sample"],
    "dim": [1, 2, 3],
    "mean": [(0.0,), (1.0,), (0.0, 0.0)],
    "cov_diag": [(1.0,), (2.0,), (1.0, 1.0)],
    "cov": [((1.0, 0.2), (0.2, 1.0))],
    "truth": ["mixture:0.5,-2,1;0.5,2,1", "student-t:5", "mixture:1,0,1"],
    "prior": [(0.0, 1.0, 2.0, 1.0)],
    "sampling_variance": [0.9, 1.0],
    "truncate": [2.0],
    "rounding": ["nearest", "stochastic"],
    "accumulation": ["naive", "kahan"],
    "probs": [(0.5, 0.5), (0.2, 0.3, 0.5)],
    "smoothing": [0.5],
    "temperature": [0.7],
    "top_p": [0.9],
    "bandwidth": [0.3, "scott", "silverman"],
    "noise_sd": [0.5],
    "design": ["fixed", "fresh"],
    "rate": [1.0, 2.0],
    "components": [2, 3],
    "em_iterations": [5],
    "em_tol": [1e-6, None],
    "em_init": ["quantile", "kmeans++"],
    "var_floor": [1e-6],
    "scenario": ["replace", "accumulate", "accumulate-subsample", "fresh"],
    "samples": [5, 12, math.inf],
    "samples_schedule": ["5+t"],
    "record": [(0, 1), (1, 2)],
    "precision": ["float32", "float64", "float16"],
    "real_fraction": [0.25],
    "mixing": ["split", "mixture"],
    "real_weight": [0.3],
    "chunk_size": [64],
    "metrics": [("sigma2",), ("heterozygosity",)],
}
BASE = {
    "gaussian": dict(estimator="unbiased"),
    "categorical": dict(probs=(0.5, 0.3, 0.2)),
    "kde": dict(bandwidth=0.3),
    "regression": dict(dim=2),
    "poisson": dict(),
    "gmm": dict(em_iterations=5),
}


def _standard_and_honest(obj: dict, chains: int) -> None:
    json.loads(json.dumps(obj, allow_nan=False))  # no NaN / Infinity tokens
    for name, m in obj["metrics"].items():
        for i, mean in enumerate(m["mean"]):
            counts = m["n_finite"][i] + m["n_nan"][i] + m["n_posinf"][i] + m["n_neginf"][i]
            assert counts == chains, (name, i)
            assert (mean is None) == (m["n_finite"][i] == 0), (name, i, mean)


def _settings():
    names = set(PLAUSIBLE)
    for f in FAMILIES:
        names |= set(type(ct.family(f, **BASE[f])).setting_names())
    pick = st.lists(st.sampled_from(sorted(names)), max_size=4, unique=True)
    return pick.flatmap(
        lambda ks: st.fixed_dictionaries(
            {k: st.one_of(st.sampled_from(PLAUSIBLE.get(k, [0.5])), st.sampled_from(GARBAGE)) for k in ks}
        )
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_python_api_gives_a_result_or_a_config_error(family):
    @settings(max_examples=14, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(_settings())
    def check(extra):
        kw = dict(family=family, generations=2, chains=64, samples=8) | BASE[family] | extra
        try:
            r = ct.simulate(ct.SimConfig(**kw), progress=False)
        except ct.ConfigError as e:
            assert str(e) and "\n" not in str(e)
            return
        _standard_and_honest(r.to_json(), 64)

    check()


TOKENS = ["nan", "inf", "-inf", "-1", "0", "1", "2.5", "1e400", "1e-300", "abc", "", "1,2", "100000000000000000000",
          "none", "0.3", "5"]  # fmt: skip


def _argv(family: str):
    own = [flag(n) for n in type(ct.family(family, **BASE[family])).setting_names()]
    run = ["--scenario", "--samples", "--samples-schedule", "--record", "--precision", "--chunk-size", "--metrics",
           "--real-fraction", "--mixing", "--real-weight", "--seed"]  # fmt: skip
    foreign = ["--bandwidth", "--probs", "--rate", "--components", "--prior", "--design-size", "--nope"]
    option = st.sampled_from(own + run + foreign)
    token = st.one_of(st.sampled_from(TOKENS), st.sampled_from([str(v) for vs in PLAUSIBLE.values() for v in vs]))
    return st.lists(st.tuples(option, token), max_size=4)


@pytest.mark.parametrize("family", FAMILIES)
def test_cli_exits_0_with_json_or_2_with_one_error_line(family):
    base = ["simulate", family, "--generations", "2", "--chains", "64", "--samples", "8", "--format", "json", "--quiet"]
    for k, v in BASE[family].items():
        base += [flag(k), ",".join(map(str, v)) if isinstance(v, tuple) else str(v)]

    @settings(max_examples=14, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(_argv(family))
    def check(pairs):
        argv = base + [x for pair in pairs for x in pair]
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = main(argv)
        lines = [x for x in err.getvalue().splitlines() if not x.startswith("warning:")]
        if rc == 0:
            _standard_and_honest(json.loads(out.getvalue()), 64)
            assert lines == [], lines
        else:
            assert rc == 2 and len(lines) == 1 and lines[0].startswith("error:"), (argv, rc, err.getvalue())

    check()
