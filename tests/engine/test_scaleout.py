"""Scale-out in separate processes: device-count invariance (4 forced CPU devices), two-process
``jax.distributed`` runs equal to one process, and compiled programs reused across processes.

XLA_FLAGS and jax.distributed must be set before JAX starts, hence the subprocesses; each runs a
few small configurations (compilation dominates: ~10-30 s each on 2 cores).
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import collapse_theory as ct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLLAPSE_THEORY_", "JAX_", "XLA_"))}
    env |= {"COLLAPSE_THEORY_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": ROOT, "JAX_PLATFORMS": "cpu"}
    return env | extra


def _python(code, env, timeout=300):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=timeout
    )


DEVICES = """
import numpy as np, jax, collapse_theory as ct
assert len(jax.devices()) == 4, jax.devices()
# (settings, the single-device reference's chunk size). accumulate-subsample (lax.top_k) is not
# chunk-invariant across 256 -> 512 lanes on one device either, so its reference runs 192 lanes.
cases = {
    "gauss-exact": (dict(family="gaussian", estimator="unbiased"), None),
    "gauss-accumulate-sample": (dict(family="gaussian", estimator="mle", scenario="accumulate", kernel="sample"), None),
    "cat-fresh-mixture": (dict(family="categorical", probs=(0.5, 0.3, 0.2), scenario="fresh", mixing="mixture",
                               real_fraction=0.2, kernel="sample"), None),
    "gauss-subsample": (dict(family="gaussian", estimator="unbiased", scenario="accumulate-subsample"), 192),
}
base = dict(samples=8, generations=12, seed=3, record=(0, 1, 5, 12), chains=700)
for name, (kw, ref_chunk) in cases.items():
    one = ct.simulate(ct.SimConfig(**base, **kw, devices=1, chunk_size=ref_chunk), progress=False)
    # 4 devices x 192 lanes in one step, and 4 x 64 lanes in three steps (the last mostly padding)
    four = ct.simulate(ct.SimConfig(**base, **kw), progress=False)
    small = ct.simulate(ct.SimConfig(**base, **kw, devices=4, chunk_size=64, keep_chains=False), progress=False)
    assert (one.timing.devices, four.timing.devices, small.timing.devices) == (1, 4, 4)
    for k in one.values:
        np.testing.assert_array_equal(one.values[k], four.values[k], err_msg=f"{name} {k}")
        a, b = one.summary(k), small.summary(k)
        for f in ("mean", "se", "kurtosis", "n_finite", "mean_log", "mean_log_se"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f"{name} {k} {f}")
print("ok")
"""


def test_device_count_invariance_4_forced_cpu_devices(tmp_path):
    env = _env(tmp_path, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    p = _python(DEVICES, env)
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), p.stdout + p.stderr


WORKER = """
import sys, numpy as np, collapse_theory as ct
from collapse_theory import distributed
pid = int(sys.argv[1])
assert distributed.initialize("127.0.0.1:" + sys.argv[2], 2, pid) == (pid, 2)
cfg = ct.SimConfig(**{kw})
kept = ct.simulate(cfg, progress=False, keep_chains=True)
streamed = ct.simulate(cfg, progress=False, keep_chains=False)
if pid == 0:
    kept.save(sys.argv[3] + "/kept.npz")
    streamed.save(sys.argv[3] + "/streamed.npz")
else:  # every process gets the merged summaries; per-chain values only on process 0
    assert not kept.values and np.array_equal(kept.summary("sigma2").mean, streamed.summary("sigma2").mean)
print("done", pid)
"""

# 150 000 chains: process 0 runs blocks 0-1 (131 072 chains), process 1 the rest.
TWO = dict(family="gaussian", estimator="unbiased", samples=10, generations=4, chains=150_000, seed=5, record=(0, 1, 4))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_equal_one(tmp_path):
    env = _env(tmp_path)
    code = textwrap.dedent(WORKER).replace("{kw}", repr(TWO))
    port = str(_free_port())
    args = [sys.executable, "-c", code]
    procs = [subprocess.Popen([*args, str(i), port, str(tmp_path)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in (0, 1)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    kept, streamed = ct.load(tmp_path / "kept.npz"), ct.load(tmp_path / "streamed.npz")
    assert (kept.timing.processes, kept.timing.devices, streamed.chains_kept) == (2, 2, False)
    single = ct.simulate(ct.SimConfig(**TWO), progress=False, keep_chains=True)
    single_streamed = ct.simulate(ct.SimConfig(**TWO), progress=False, keep_chains=False)
    for k in single.values:
        np.testing.assert_array_equal(kept.values[k], single.values[k], err_msg=k)
        a, b = single_streamed.summary(k), streamed.summary(k)
        for f in a._fields:  # every streamed summary, quantiles included, exactly
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f"{k} {f}")


CACHE = """
import json, jax, collapse_theory as ct
from jax._src import compilation_cache as cc
r = ct.run(ct.family("poisson", rate=2.0), samples=20, generations=5, chains=100, progress=False)
# the library changed no global JAX setting and left JAX's cache object pristine
assert jax.config.jax_compilation_cache_dir is None and cc._cache is None
print(json.dumps({"compile": r.timing.compile_seconds, "mean": r.summary("rate").mean.tolist()}))
"""


def test_second_process_loads_compiled_programs(tmp_path):
    env = _env(tmp_path)
    programs = tmp_path / "cache" / "programs"

    def run():
        p = _python(CACHE, env)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout.strip().splitlines()[-1])

    def entries():
        return {f.name: f.stat().st_mtime_ns for f in programs.iterdir()}

    first = run()
    stored = entries()
    assert stored
    second = run()
    assert first["mean"] == second["mean"]
    # Loaded, not recompiled: an entry that fails to load or to run is deleted and rewritten.
    assert entries() == stored
    # Programs stored after JAX's own cache is warm load too (they once serialized without their
    # functions and failed with NOT_FOUND in the next process).
    for f in programs.iterdir():
        f.unlink()
    run()
    rewritten = entries()
    assert run()["mean"] == first["mean"] and entries() == rewritten
    off = _python(
        CACHE, env | {"COLLAPSE_THEORY_NO_COMPILE_CACHE": "1", "COLLAPSE_THEORY_CACHE_DIR": str(tmp_path / "off")}
    )
    assert off.returncode == 0 and not (tmp_path / "off").exists(), off.stderr


@pytest.mark.parametrize("argv", [["--no-keep-chains"], ["--devices", "1"]])
def test_cli_scale_flags(capsys, argv):
    from collapse_theory.cli import main

    rc = main(
        [
            "simulate",
            "gaussian",
            "--estimator",
            "mle",
            "--chains",
            "200",
            "--generations",
            "3",
            "--format",
            "json",
            "--quiet",
            *argv,
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["timing"]["devices"] == 1 and out["timing"]["processes"] == 1
    assert out["chains_kept"] is (argv[0] != "--no-keep-chains")
    assert out["metrics"]["sigma2"]["quantile_rank_error"] == [0, 0, 0, 0]  # 200 chains: the sketch is exact
