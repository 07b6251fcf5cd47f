"""The registry: built-in names, register_family, the entry-point group, and what it feeds
(ct.family, SimConfig, from_dict, the CLI); one compiled program across sample sizes."""

import json
import math
from importlib import metadata

import numpy as np
import pytest
from budget import ALPHA
from scipy import special

import collapse_theory as ct
from collapse_theory import engine
from collapse_theory.cli import main
from collapse_theory.families import registry
from collapse_theory.testing import assert_mean


def test_builtin_families_and_their_settings():
    assert ct.family_names()[:6] == ("gaussian", "categorical", "kde", "regression", "poisson", "gmm")
    spec = ct.family("gaussian", estimator="mle", dim=2)
    assert spec.name == "gaussian" and spec.estimator == "mle" and spec.dim == 2
    with pytest.raises(ct.ConfigError, match="--bandwidth is not a setting of the gaussian family"):
        ct.family("gaussian", bandwidth=0.3)
    with pytest.raises(ct.ConfigError, match="unknown family 'nope'"):
        ct.family("nope")


@pytest.mark.parametrize(
    "kw, message",
    [
        (
            dict(family="gaussian", estimator="unbiased", em_iterations=5),
            "--em-iterations is not a setting of the gaussian",
        ),
        (dict(family="poisson", smoothing=0.3), "--smoothing is not a setting of the poisson"),
        (dict(family="kde", bandwidth=0.3, components=3), "--components is not a setting of the kde"),
        (dict(family="categorical", probs=(0.5, 0.5), smoothing=0.3), "--smoothing is for --estimator laplace"),
    ],
)
def test_foreign_settings_are_errors_by_construction(kw, message):
    with pytest.raises(ct.ConfigError, match=message):
        ct.SimConfig(**kw).validated()


def test_simconfig_holds_the_spec_and_reads_flat():
    c = ct.SimConfig(family="gaussian", estimator="mle", samples=20, dim=2).validated()
    assert c.spec == ct.family("gaussian", estimator="mle", dim=2).validated(c.context())
    assert c.estimator == "mle" and c.dim == 2 and c.mean == (0.0, 0.0)
    d = c.to_dict()
    assert d["family"] == "gaussian" and d["estimator"] == "mle" and d["samples"] == 20
    assert ct.SimConfig.from_dict(json.loads(json.dumps(d))) == c
    assert c.replace(seed=3, dim=1, mean=None, cov_diag=None).validated().dim == 1


def test_results_saved_by_version_0_1_0_load(tmp_path):
    # The flat 40-field configuration of 0.1.0 (every family's defaults present).
    old = dict(
        family="categorical",
        scenario="replace",
        estimator="mle",
        samples=20,
        generations=10,
        chains=64,
        seed=0,
        record=[0, 10],
        kernel="exact",
        dim=1,
        mean=None,
        cov_diag=None,
        cov=None,
        probs=[0.5, 0.3, 0.2],
        smoothing=1.0,
        real_fraction=0.5,
        mixing="split",
        real_weight=None,
        samples_schedule=None,
        precision="float32",
        chunk_size=None,
        metrics=None,
        sampling_variance=1.0,
        truncate=None,
        temperature=1.0,
        top_p=1.0,
        rounding="nearest",
        accumulation="naive",
        truth=None,
        bandwidth=None,
        noise_sd=1.0,
        design="fixed",
        rate=1.0,
        components=2,
        em_iterations=100,
        em_tol=1e-6,
        em_init="quantile",
        var_floor=1e-6,
        prior=None,
    )
    c = ct.SimConfig.from_dict(old).validated()
    assert c.family == "categorical" and c.probs == (0.5, 0.3, 0.2) and c.real_fraction is None
    kde = ct.SimConfig.from_dict(old | dict(family="kde", estimator="kde", kernel="sample", probs=None, bandwidth=0.3))
    assert kde.validated().bandwidth == 0.3
    with pytest.raises(ct.ConfigError, match="--bandwidth is not a setting of the categorical"):
        ct.SimConfig.from_dict(old | dict(bandwidth=0.3))


@pytest.fixture
def toy_entry_point(monkeypatch):
    ep = metadata.EntryPoint(
        name="toy-exponential", value="toy_family:ExponentialSpec", group=registry.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(registry, "_entry_points", lambda: {ep.name: ep})
    return ep


def test_entry_point_family_runs_everywhere(toy_entry_point, capsys):
    assert "toy-exponential" in ct.family_names()
    M, n = 10, 6
    r = ct.run(
        ct.family("toy-exponential", rate=2.0), "replace", samples=M, generations=n, chains=20000, seed=1, record=(n,)
    )
    # log rate_n = log 2 + sum of n i.i.d. log(M / Gamma(M, 1)): mean n (log M - psi(M)).
    assert_mean(r.values["log_rate"][0], math.log(2.0) + n * (math.log(M) - special.digamma(M)), ALPHA)
    cfg = ct.SimConfig(family="toy-exponential", rate=3.0, samples=5, generations=2, chains=64).validated()
    assert ct.SimConfig.from_dict(cfg.to_dict()).rate == 3.0
    assert (
        main(
            [
                "simulate",
                "toy-exponential",
                "--rate",
                "2",
                "--samples",
                "5",
                "--generations",
                "2",
                "--chains",
                "64",
                "--quiet",
                "--format",
                "json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["family"] == "toy-exponential" and "log_rate" in out["metrics"]


def test_register_family(monkeypatch):
    from toy_family import ExponentialSpec

    monkeypatch.setattr(registry, "_registered", {})

    class Renamed(ExponentialSpec):
        name = "toy-registered"

    ct.register_family(Renamed)
    assert ct.family("toy-registered").name == "toy-registered"
    with pytest.raises(ValueError, match="already registered"):
        ct.register_family(Renamed)
    with pytest.raises(ValueError, match="already registered"):
        ct.register_family(type("G", (ExponentialSpec,), {"name": "gaussian"}))
    with pytest.raises(ValueError, match="FamilySpec subclass"):
        ct.register_family(dict)


def test_exact_kernels_compile_once_across_sample_sizes_seeds_and_chain_counts():
    spec = ct.family("gaussian", estimator="unbiased")
    ct.run(spec, samples=7, generations=5, chains=1000, record=(5,))
    before = engine._program.cache_info().misses
    for i, m in enumerate((5, 10, 20, 50, 100, 200, 1000, 10**5)):
        ct.run(spec, samples=m, generations=5, chains=1000 - i, seed=i, record=(5,))
    ct.run(spec, samples_schedule="3*(t+1)", generations=5, chains=990, record=(5,))
    assert engine._program.cache_info().misses == before


def test_user_estimators_do_not_recompile_per_seed_or_chain_count():
    import jax

    def sample(key, p, n):
        return p[0] + p[1] * jax.random.normal(key, (n,))

    MLE = ct.estimator(sample=sample, fit=lambda x, w: (x.mean(), x.std()), truth=(0.0, 1.0))
    ct.run(MLE, samples=5, generations=3, chains=1000, record=(3,))
    before = engine._program.cache_info().misses
    for seed, chains in ((1, 1000), (2, 990), (3, 970)):
        r = ct.run(MLE, samples=5, generations=3, chains=chains, seed=seed, record=(3,))
        assert np.isfinite(r.values["param[1]"]).all()
    assert engine._program.cache_info().misses == before
