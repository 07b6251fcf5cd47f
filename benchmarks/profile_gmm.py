"""Where a GMM-by-EM generation spends its time (K = 2, M = 1000, 64 chains, float32).

Times each piece jitted on its own (best of a few calls, so absolute numbers move with the
machine's load; compare pieces of one run only): the draw, the quantile init, one EM pass per
iteration at 64 and 8 lanes, whole fits along a 200-generation chain (and their iteration
counts against the numpy EM of ``bench_families``), the metrics, and the fixed cost of one
``simulate`` (G = 1 against G = 20).

Usage: python benchmarks/profile_gmm.py
"""

from __future__ import annotations

import inspect
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_families as bf  # noqa: E402

import collapse_theory as ct  # noqa: E402
from collapse_theory.families import gmm_em as ge  # noqa: E402
from collapse_theory.families.gmm import gmm  # noqa: E402
from collapse_theory.metrics import mixture, quantile  # noqa: E402
from collapse_theory.random import bits  # noqa: E402

C, M = 64, 1000


def ms(f, *a, n=30):
    """Best per-call milliseconds of ``f(*a)`` over ``n`` calls (after one warm-up)."""
    jax.block_until_ready(f(*a))
    best = np.inf
    for _ in range(n):
        t0 = time.perf_counter()
        jax.block_until_ready(f(*a))
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def numpy_iterations(x):
    """Per-chain iteration counts of ``bench_families._numpy_em`` (its loop, instrumented)."""
    its = np.zeros(x.shape[0])
    src = inspect.getsource(bf._numpy_em).replace(
        "still = ~(ll_new - ll < tol)", "still = ~(ll_new - ll < tol); ITS[act] += 1"
    )
    ns = dict(bf.__dict__, ITS=its)
    exec(src, ns)
    ns["_numpy_em"](x, 2, 100, 1e-6, 1e-6)
    return its


def main():
    fam = gmm()
    chains = jnp.arange(C, dtype=jnp.uint32)
    pw = jnp.full((C, M), 1.0 / M, jnp.float32)
    draw = jax.jit(lambda k, p: fam.draw(k, chains, p, M, M))
    fit = jax.jit(fam.fit)
    key = bits.fold(bits.key_from_seed(0), 1)
    p = fam.truth(C)
    pts = draw(key, p)
    y = (pts.x - pts.x.mean(1, keepdims=True)) / pts.x.std(1, keepdims=True)
    print(f"load {os.getloadavg()[0]:.2f}")
    print(f"draw (64 x 1000 points)        {ms(draw, key, p):7.3f} ms")
    print(
        f"draw + fit (one jit)           {ms(jax.jit(lambda k, p: fam.fit(fam.draw(k, chains, p, M, M))), key, p):7.3f} ms"
    )
    print(f"fit at the truth               {ms(fit, pts):7.3f} ms")
    print(f"init_quantile                  {ms(jax.jit(lambda y: ge.init_quantile(y, pw, 2, jnp.float32)), y):7.3f} ms")
    for lanes in (64, 8):

        def loop(n, lanes=lanes):
            def f(y):
                w = jnp.full((lanes, 2), 0.5)
                m = jnp.tile(jnp.asarray([[-0.5, 0.5]]), (lanes, 1))
                s0 = (0, jnp.zeros(lanes), w, m, jnp.full((lanes, 2), 0.25))

                def body(s):
                    return (s[0] + 1, *ge._em_pass(y, pw[:lanes], *s[2:], 1e-6))

                return jax.lax.while_loop(lambda s: s[0] < n, body, s0)

            return jax.jit(f)

        per = (ms(loop(50), y[:lanes]) - ms(loop(10), y[:lanes])) / 40
        print(f"EM pass, {lanes:2d} lanes, per iteration {per * 1e3:7.1f} us")
    times, its, its_np = [], [], []
    q = p
    for g in range(200):
        d = draw(bits.fold(key, g), q)
        times.append(ms(fit, d, n=3))
        q = fit(d)
        its.append(np.asarray(q.iters))
        if g % 20 == 19:
            its_np.append((np.asarray(q.iters).mean(), numpy_iterations(np.asarray(d.x)).mean()))
    times, its = np.asarray(times), np.asarray(its)
    print(f"fit per generation: first 20 {times[:20].mean():.3f} ms, last 100 {times[100:].mean():.3f} ms")
    print(f"iterations per fit: mean {its.mean():.2f}, mean of the per-generation max {its.max(1).mean():.1f}")
    print("mean iterations (project, numpy EM) every 20th generation:", [(round(a, 2), round(b, 2)) for a, b in its_np])
    with jax.enable_x64(True):
        w, m, s = (jnp.asarray(a, jnp.float64) for a in (q.weights, q.means, jnp.exp(q.log_sds)))
        t = (jnp.asarray([[0.5, 0.5]]), jnp.asarray([[-3.0, 3.0]]), jnp.asarray([[1.0, 1.0]]))
        print(
            f"metric w2_sq (float64, 64 chains) {ms(jax.jit(lambda w, m, s: quantile.w2_sq(*t, w, m, s)), w, m, s, n=5):7.2f} ms"
        )
        print(
            f"metric nll (float64, 64 chains)   {ms(jax.jit(lambda w, m, s: mixture.cross_entropy(*t, w, m, s)), w, m, s, n=5):7.2f} ms"
        )
    for g in (1, 20):
        cfg = ct.SimConfig(family="gmm", generations=g, chains=C, seed=0, record=(g,), samples=M, components=2)
        ct.simulate(cfg, progress=False)
        best = min(ct.simulate(cfg, progress=False).timing.run_seconds for _ in range(3))
        print(f"simulate, {g:2d} generations: run_seconds {best * 1e3:7.1f} ms")
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
