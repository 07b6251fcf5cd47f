"""Bounded memory and long runs, in process: the canonical merge tree, the quantile sketch's
rank-error bound, streamed summaries equal to the kept-chains ones, checkpoint/resume, memory
refusals, progress lines off a terminal, and float32 programs free of float64."""

import io
import json
import math
import os
import signal

import numpy as np
import pytest

import collapse_theory as ct
from collapse_theory import checkpoint as ckpt
from collapse_theory import plan as plan_mod
from collapse_theory.moments import BLOCK, Tree
from collapse_theory.progress import Progress
from collapse_theory.sketch import CAPACITY, Sketch
from collapse_theory.streaming import Cell, merge_packed, pack, unpack
from collapse_theory.summaries import quantile_interval_ranks, summarize

MOMENT_FIELDS = ("mean", "se", "ci_low", "ci_high", "kurtosis", "se_trustworthy", "n", "n_finite", "n_nan",
                 "n_posinf", "n_neginf", "finite_only", "mean_log", "mean_log_se")  # fmt: skip


def test_tree_is_independent_of_the_partition():
    """Any block-aligned split into ranges, merged in order, gives the single-range tree exactly."""
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 64, 100):
        whole = Tree(lambda a, b: (a, b))
        for i in range(n):
            whole.push(i, i)
        for _ in range(20):
            cuts = sorted(set(rng.integers(0, n + 1, size=rng.integers(1, 5))) | {0, n})
            parts = []
            for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
                t = Tree(lambda a, b: (a, b))
                for i in range(lo, hi):
                    t.push(i, i)
                parts.append(t)
            merged = parts[0]
            for t in parts[1:]:
                merged.extend(t.nodes)
            assert merged.result() == whole.result()


def _exact_rank_window(s, j, e):
    return s[max(j - e, 0)], s[min(j + e, s.size - 1)]


@pytest.mark.parametrize("data", ["normal", "sorted", "reversed", "ties"])
def test_sketch_order_statistics_within_the_stated_rank_error(data):
    rng = np.random.default_rng(1)
    n = 5 * BLOCK + 1234
    x = {
        "normal": rng.standard_normal(n),
        "sorted": np.sort(rng.standard_normal(n)),
        "reversed": -np.sort(rng.standard_normal(n)),
        "ties": np.round(rng.standard_normal(n), 1),
    }[data]
    cell = Cell(0)
    for lo in range(0, n, 10_007):  # chunks unrelated to blocks
        cell.feed(x[lo : lo + 10_007])
    cell.close()
    mom, sk = cell.result()
    e = sk.error
    assert 0 < e <= math.ceil(math.log2(n / BLOCK) + 3) * n / (2 * CAPACITY)  # the documented size
    assert sk.count == n
    s = np.sort(x)
    ranks = np.unique(np.linspace(0, n - 1, 400).astype(int))
    est = sk.order_statistics(ranks)
    for j, y in zip(ranks, est, strict=True):
        lo, hi = _exact_rank_window(s, j, e)
        assert lo <= y <= hi, (j, y, lo, hi, e)
    summ = summarize(x[None])  # kept: exact
    from collapse_theory.summaries import summarize_streamed

    st = summarize_streamed([(mom, sk)])
    for i, p in enumerate((0.05, 0.25, 0.5, 0.75, 0.95)):
        h = p * (n - 1)
        j = math.floor(h)
        lo, hi = s[max(j - e, 0)], s[min(j + 1 + e, n - 1)]
        assert lo <= st.quantiles[i, 0] <= hi
        # the widened interval contains the exact order-statistic interval
        assert st.quantile_ci_low[i, 0] <= summ.quantile_ci_low[i, 0]
        assert st.quantile_ci_high[i, 0] >= summ.quantile_ci_high[i, 0]
        rlo, rhi = quantile_interval_ranks(n, p)
        assert (
            st.quantile_ci_low[i, 0] >= s[max(rlo - 2 * e, 0)]
            and st.quantile_ci_high[i, 0] <= s[min(rhi + 2 * e, n - 1)]
        )
    for f in MOMENT_FIELDS:
        np.testing.assert_array_equal(getattr(st, f), getattr(summ, f), err_msg=f)


def test_sketch_is_exact_below_its_capacity_and_merges_exactly():
    x = np.random.default_rng(2).standard_normal(CAPACITY + 1)
    sk = Sketch.of(x[:-1])
    assert sk.error == 0 and sk.quantile(0.3) == np.quantile(x[:-1], 0.3)
    assert Sketch.of(x).error == 1
    a, b = Sketch.of(x[:5]), Sketch.of(x[5:9])
    assert a.merge(b).error == 0 and np.array_equal(a.merge(b).levels[0], np.sort(x[:9]))


def test_cells_round_trip_and_merge_across_ranges():
    """Packed cells of two block-aligned ranges merge into the one-range summary exactly."""
    rng = np.random.default_rng(3)
    x = np.exp(rng.standard_normal(3 * BLOCK + 17))
    x[[5, BLOCK + 3]] = [np.nan, np.inf]
    one = Cell(0)
    one.feed(x)
    one.close()
    a, b = Cell(0), Cell(2 * BLOCK)
    a.feed(x[: 2 * BLOCK])
    b.feed(x[2 * BLOCK :])
    a.close()
    b.close()
    parts = [unpack(pack({"c": c}), ["c"]) for c in (a, b)]
    merged = merge_packed(parts)["c"].result()
    want = one.result()
    assert merged[0] == want[0]
    assert merged[1].error == want[1].error
    assert all(np.array_equal(u, v) for u, v in zip(merged[1].levels, want[1].levels, strict=True))


CASES = {
    "gauss-exact": dict(family="gaussian", estimator="unbiased", samples=10, generations=6),
    "reg-inf-at-truth": dict(family="regression", dim=2, samples=12, generations=4),
    "cat-sample": dict(family="categorical", probs=(0.5, 0.3, 0.2), kernel="sample", samples=20, generations=4),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_streamed_summaries_equal_the_kept_ones(case):
    """Moments and counts bit-identical for any chunking; quantiles within the sketch's bound."""
    kw = dict(CASES[case], chains=3 * BLOCK // 2 + 5, seed=4)
    kept = ct.simulate(ct.SimConfig(**kw), progress=False, keep_chains=True)
    for chunk in (None, 4608):
        st = ct.simulate(ct.SimConfig(**kw, chunk_size=chunk), progress=False, keep_chains=False)
        assert not st.chains_kept and not st.values and st.metric_names == list(kept.values)
        for k, v in kept.values.items():
            a, b = kept.summary(k), st.summary(k)
            for f in MOMENT_FIELDS:
                np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f"{k} {f}")
            for r in range(v.shape[0]):
                fin = np.sort(v[r][np.isfinite(v[r])])
                e = int(b.rank_error[r])
                if fin.size == 0:
                    continue
                for i, p in enumerate((0.05, 0.25, 0.5, 0.75, 0.95)):
                    j = math.floor(p * (fin.size - 1))
                    assert fin[max(j - e, 0)] <= b.quantiles[i, r] <= fin[min(j + 1 + e, fin.size - 1)]
    assert any("not finite" in w for w in kept.warnings) == any("not finite" in w for w in st.warnings)


def test_streamed_result_saves_loads_and_is_standard_json(tmp_path):
    r = ct.run(ct.family("gaussian", estimator="mle"), samples=10, generations=3, chains=300, keep_chains=False)
    back = ct.load(r.save(tmp_path / "s.npz"))
    assert not back.chains_kept and back.metric_names == r.metric_names
    for k in r.metric_names:
        for f, v in r.summary(k)._asdict().items():
            np.testing.assert_array_equal(v, getattr(back.summary(k), f), err_msg=f)
    out = json.loads(json.dumps(r.to_json(), allow_nan=False))
    assert out["chains_kept"] is False and out["timing"]["devices"] == 1
    assert set(out["metrics"]["sigma2"]) >= {"mean", "se", "quantiles", "quantile_rank_error"}


RESUME = dict(family="gaussian", estimator="unbiased", kernel="sample", samples=10, generations=100, chains=300,
              chunk_size=64, record=(0, 10, 50, 100), seed=7)  # fmt: skip


def _interrupting(monkeypatch, at, signum=None):
    """Make the at-th segment boundary request a stop (by a real signal when signum is given)."""
    calls = {"n": 0}
    due = ckpt.Checkpointer.due

    def fake(self):
        calls["n"] += 1
        if calls["n"] == at:
            if signum is None:
                ckpt.request_stop()
            else:
                os.kill(os.getpid(), signum)
        return due(self)

    monkeypatch.setattr(ckpt.Checkpointer, "due", fake)


@pytest.mark.parametrize(("keep", "at", "signum"), [(True, 30, None), (False, 130, signal.SIGTERM), (False, 270, None)])
def test_resume_is_bit_identical(tmp_path, monkeypatch, keep, at, signum):
    """Interrupted in step 0 (mid-record), step 2, or step 4 (the last); resumed = uninterrupted."""
    ref = ct.simulate(ct.SimConfig(**RESUME), progress=False, keep_chains=keep)
    path = tmp_path / "run.ckpt"
    with monkeypatch.context() as m:
        _interrupting(m, at, signum)
        with pytest.raises(ckpt.RunInterrupted) as info:
            ct.simulate(ct.SimConfig(**RESUME), progress=False, keep_chains=keep, checkpoint=path)
    assert info.value.signum == (signum or 0) and path.exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handlers were restored
    with pytest.raises(ct.ConfigError, match="different run"):
        ct.simulate(ct.SimConfig(**RESUME).replace(seed=8), progress=False, keep_chains=keep, checkpoint=path)
    res = ct.simulate(ct.SimConfig(**RESUME), progress=False, keep_chains=keep, checkpoint=path)
    assert not path.exists()
    for k in ref.metric_names:
        if keep:
            np.testing.assert_array_equal(ref.values[k], res.values[k], err_msg=k)
        for f, v in ref.summary(k)._asdict().items():
            np.testing.assert_array_equal(v, getattr(res.summary(k), f), err_msg=f"{k} {f}")


def test_memory_refusals_and_the_automatic_switch(monkeypatch):
    cfg = ct.SimConfig(family="gaussian", estimator="mle", samples=10, generations=3, chains=1000)
    monkeypatch.setattr(plan_mod, "physical_memory", lambda: 100_000)
    with pytest.raises(ct.ConfigError, match=r"keeping every chain's values needs about .* --no-keep-chains"):
        ct.simulate(cfg, progress=False, keep_chains=True)
    monkeypatch.setattr(plan_mod, "physical_memory", lambda: 2**40)
    monkeypatch.setattr(plan_mod, "KEEP_CHAINS_AUTO_BYTES", 1000)
    r = ct.simulate(cfg, progress=False)
    assert not r.chains_kept and any("per-chain values not kept" in w for w in r.warnings)
    huge = cfg.replace(generations=10**5, record=tuple(range(0, 10**5, 2)), chains=10**9)
    monkeypatch.setattr(plan_mod, "physical_memory", lambda: 2**34)
    with pytest.raises(ct.ConfigError, match=r"streaming the summaries needs about .* GiB"):
        ct.simulate(huge, progress=False)


def test_progress_logs_lines_off_a_terminal():
    out = io.StringIO()
    p = Progress(total=1000, enabled=True, stream=out)
    for _ in range(100):
        p.update(10)
    p.close()
    lines = out.getvalue().splitlines()
    assert 15 <= len(lines) <= 22 and all(ln.startswith("progress: ") and "eta" in ln for ln in lines)
    quiet = io.StringIO()
    q = Progress(total=10, enabled=None, stream=quiet)  # default: silent for short runs
    q.update(10)
    assert quiet.getvalue() == ""


def test_float32_programs_carry_no_float64():
    """Only the recorded-generation metrics are float64 (a deliberate, cheap step): never the loop."""
    import jax
    import jax.numpy as jnp

    from collapse_theory import engine

    for kw in (dict(family="gaussian", estimator="unbiased"), dict(family="categorical", probs=(0.5, 0.5))):
        c = ct.SimConfig(**kw, samples=10, generations=3, chains=64).validated()
        prog = engine._program(engine._graph(c), 64, jnp.float32, tuple(jax.local_devices()[:1]))
        assert "f64" not in prog.advance.as_text() and "f64" not in prog.init.as_text()
        assert "f64" in prog.measure.as_text()
