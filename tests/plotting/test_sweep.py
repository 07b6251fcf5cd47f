"""Sweeps: cells keyed by configuration + version, cached, skipped, resumed; tidy tables; the CLI."""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import collapse_theory as ct
from collapse_theory import sweeps as sweep_mod
from collapse_theory.cli import main

BASE = dict(family="gaussian", estimator="unbiased", generations=4, chains=64, seed=5, record=(0, 1, 4))
GRID = {"samples": [10, 20], "scenario": ["replace", "accumulate"]}


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    d = tmp_path_factory.mktemp("cells")
    return d, ct.sweep(BASE, GRID, cache=d, progress=False)


def test_grid_order_cells_and_cache_files(cached):
    d, s = cached
    assert [c.settings for c in s] == [
        {"samples": 10, "scenario": "replace"},
        {"samples": 10, "scenario": "accumulate"},
        {"samples": 20, "scenario": "replace"},
        {"samples": 20, "scenario": "accumulate"},
    ]
    assert len({c.key for c in s}) == 4 and not any(c.cached for c in s)
    for c in s:
        meta = json.loads((d / f"{c.key}.json").read_text())
        assert meta["config"]["samples"] == c.settings["samples"]
        assert {"collapse_theory", "jax", "numpy", "python"} <= set(meta["versions"])
        assert meta["device"] and meta["started"] and meta["seconds"] >= 0
    r = s.get(samples=20, scenario="accumulate")
    assert r.config.samples == 20 and r.values["sigma2"].shape == (3, 64)


def test_finished_cells_are_skipped(cached, monkeypatch):
    d, s = cached

    def boom(*a, **k):
        raise AssertionError("a finished cell was run again")

    monkeypatch.setattr(sweep_mod, "run_cell", boom)
    again = ct.sweep(BASE, GRID, cache=d, progress=False)
    assert all(c.cached for c in again)
    np.testing.assert_array_equal(
        again.get(samples=10, scenario="replace").values["mu_err2"],
        s.get(samples=10, scenario="replace").values["mu_err2"],
    )


def test_resume_runs_only_unfinished_cells(cached, tmp_path):
    d, s = cached
    import shutil

    part = tmp_path / "part"
    shutil.copytree(d, part)
    victim = s.cells[1].key
    (part / f"{victim}.json").unlink()  # interrupted before the cell was marked finished
    (part / f".{victim}.123.tmp.npz").write_bytes(b"partial")
    ran = []
    orig = sweep_mod.run_cell

    def spy(cfg, cache, key):
        ran.append(key)
        return orig(cfg, cache, key)

    sweep_mod_run = sweep_mod.run_cell
    try:
        sweep_mod.run_cell = spy
        again = ct.sweep(BASE, GRID, cache=part, progress=False)
    finally:
        sweep_mod.run_cell = sweep_mod_run
    assert ran == [victim]
    np.testing.assert_array_equal(again.cells[1].result.values["sigma2"], s.cells[1].result.values["sigma2"])


def test_key_depends_on_config_and_version():
    a = ct.SimConfig(**BASE, samples=10)
    assert sweep_mod.cell_key(a) == sweep_mod.cell_key(ct.SimConfig(**BASE, samples=10))
    assert sweep_mod.cell_key(a) != sweep_mod.cell_key(a.replace(seed=6))
    assert sweep_mod.cell_key(a) != sweep_mod.cell_key(a, version="9.9.9")
    # defaults filled in: the same validated configuration gives the same key
    assert sweep_mod.cell_key(a) == sweep_mod.cell_key(a.validated())


def test_executor_and_zipped_axes(tmp_path):
    grid = {("samples", "seed"): [(10, 1), (20, 2)]}
    with ThreadPoolExecutor(2) as ex:
        s = ct.sweep(BASE, grid, cache=tmp_path, executor=ex, progress=False)
    assert [(c.config.samples, c.config.seed) for c in s] == [(10, 1), (20, 2)]
    assert all((tmp_path / f"{c.key}.json").is_file() for c in s)


def test_bad_grid_is_one_line():
    with pytest.raises(ct.ConfigError, match="needs a list"):
        ct.sweep(BASE, {"samples": 10})
    with pytest.raises(ct.ConfigError, match="does not give 2 values"):
        ct.sweep(BASE, {("samples", "seed"): [(10,)]})


def test_tidy_tables(cached):
    _, s = cached
    r = s.get(samples=10, scenario="replace")
    df = r.to_dataframe()
    assert len(df) == 3 * len(r.values)
    for col in (
        "family",
        "scenario",
        "samples",
        "estimator",
        "generation",
        "metric",
        "mean",
        "se",
        "q05",
        "q50",
        "q95",
        "median",
        "se_trustworthy",
    ):
        assert col in df.columns, col
    row = df[(df.metric == "sigma2") & (df.generation == 4)].iloc[0]
    summ = r.summary("sigma2")
    assert row["mean"] == summ.mean[2] and row["q95"] == summ.quantiles[-1][2]
    big = s.to_dataframe(metrics=["sigma2"])
    assert list(big.columns[:3]) == ["cell", "samples", "scenario"] and len(big) == 4 * 3


SPEC = """
[base]
family = "gaussian"
estimator = "unbiased"
generations = 4
chains = 64
seed = 5
record = [0, 1, 4]

[grid]
samples = [10, 20]
scenario = ["replace", "accumulate"]
"""


def test_cli_sweep_csv_parquet_and_cache(cached, tmp_path, capsys):
    d, s = cached
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    assert main(["sweep", str(spec), "--cache", str(d), "--output", str(tmp_path / "t.csv"), "--quiet"]) == 0
    assert "4 from the cache" in capsys.readouterr().err
    import pandas as pd

    t = pd.read_csv(tmp_path / "t.csv")
    assert set(t["cell"]) == {c.key for c in s} and {"metric", "mean", "q05"} <= set(t.columns)
    pytest.importorskip("pyarrow")
    assert (
        main(
            [
                "sweep",
                str(spec),
                "--cache",
                str(d),
                "--output",
                str(tmp_path / "t.parquet"),
                "--quiet",
                "--metrics",
                "sigma2",
            ]
        )
        == 0
    )
    assert set(pd.read_parquet(tmp_path / "t.parquet")["metric"]) == {"sigma2"}


def test_parquet_without_pyarrow_is_a_clear_error(cached, tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pyarrow(name, *a, **k):
        if name == "pyarrow":
            raise ImportError("no pyarrow")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    from collapse_theory.tables import write_table

    with pytest.raises(ImportError, match=r"pip install 'collapse-theory\[parquet\]'"):
        write_table(cached[1].to_dataframe(), tmp_path / "x.parquet")


def test_cli_sweep_bad_spec(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text("[base]\nfamily = 'gaussian'\n[grids]\n")
    assert main(["sweep", str(p), "--cache", str(tmp_path)]) == 2
    assert "unknown table 'grids'" in capsys.readouterr().err


def test_cli_sweep_top_level_base_and_csv_flag(cached, tmp_path, capsys):
    d, s = cached
    spec = tmp_path / "flat.toml"
    spec.write_text(SPEC.replace("[base]\n", ""))  # base settings at the top level
    assert main(["sweep", str(spec), "--cache", str(d), "--csv", str(tmp_path / "flat.csv"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "4 from the cache" in err and "flat.csv" in err
