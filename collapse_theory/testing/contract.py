"""The checks of :func:`~collapse_theory.testing.check_estimator` beyond check_family's (one function each).

Each takes a :class:`Harness` (float64 builds of the family, cached with their compiled functions
so that repeated checks compile once) and returns a
:class:`~collapse_theory.testing.conformance.CheckResult`. The statistical ones take their share of
the false-failure rate and book it in the ledger.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from collapse_theory.config import SimConfig
from collapse_theory.families.spec import BuildContext
from collapse_theory.random import bits
from collapse_theory.testing import power
from collapse_theory.testing.conformance import CheckResult, _close, cached
from collapse_theory.testing.laws import combine
from collapse_theory.testing.result import AssertionResult, finish

__all__ = [
    "Harness",
    "detail",
    "MAX_COINCIDENCES",
    "chains_check",
    "generations_check",
    "permutation_check",
    "weights_check",
    "merge_check",
    "equivariance_check",
    "compile_check",
]

MAX_COINCIDENCES = 0.01
"""The largest share of continuous points that may be equal under two keys or in two chains: draws
from a continuous law coincide in float32 with probability about 2**-24 per pair, a key reused
for part of the points makes that part equal."""


def _ranks(v: np.ndarray) -> np.ndarray:
    return stats.rankdata(v)


def _independence(x: np.ndarray, y: np.ndarray, rate: float, what: str) -> AssertionResult:
    """Spearman rank correlation of paired values, two-sided z-test of ``sqrt(n - 1) rho``."""
    rx, ry = _ranks(x), _ranks(y)
    rho = float(np.corrcoef(rx, ry)[0, 1]) if np.std(rx) > 0 and np.std(ry) > 0 else 0.0
    n = x.size
    z = rho * math.sqrt(n - 1)
    crit = float(stats.norm.isf(rate / 2))
    return AssertionResult(
        test="Spearman rank correlation",
        what=what,
        statistic=abs(z),
        threshold=crit,
        p_value=float(2 * stats.norm.sf(abs(z))),
        false_fail_rate=rate,
        detect=functools.partial(power.z_detectable, 1.0 / math.sqrt(n - 1), rate),
        discrepancy="rank correlation",
        n=n,
        passed=bool(abs(z) <= crit),
        estimate=rho,
        expected=0.0,
    )


def detail(res: AssertionResult) -> str:
    """The result's numbers and, when it failed, its failed items."""
    failed = [i.summary() for i in res.items if not i.passed][:3]
    return res.brief() + ("; " + "; ".join(failed) if failed else "")


def _varying(met: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Metrics that vary across chains (finite chains only)."""
    out = {}
    for k, v in met.items():
        f = v[np.isfinite(v)]
        if f.size > 3 and np.unique(f).size > 1:
            out[k] = v
    return out


def _pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]


class Harness:
    """Float64 builds of the family: at the run's shapes, and with room for two samples (accumulate)."""

    def __init__(self, config: SimConfig, chains: int, seed: int):
        self.spec, self.m = config.spec, int(config.samples or 1)
        sizes = config.sizes()
        cap = int(sizes.max())
        self.ctx = BuildContext(jnp.float64, config.scenario, cap, int(sizes.sum()), config.precision, False)
        self.cap2 = 2 * self.m + 3
        self.ctx2 = BuildContext(jnp.float64, "accumulate", self.cap2, self.cap2, config.precision, False)
        self.c = -(-chains // 64) * 64
        self.root = bits.fold(bits.key_from_seed(seed), 0xE57)

    def key(self, i: int):
        """A key of its own for each check."""
        return bits.fold(self.root, i)

    def build(self, ctx):
        """The family built for ``ctx``, its chains and its truth."""

        def make():
            fam = self.spec.build(ctx)
            return fam, jnp.arange(self.c, dtype=jnp.uint32), fam.truth(self.c)

        return cached(("build", self.spec, ctx, self.c), make)

    def jit(self, name: str, ctx, make):
        """``jax.jit(make(fam, chains, truth))`` for the build at ``ctx``, compiled once per family and shapes."""
        return cached((name, self.spec, ctx, self.c, self.m), lambda: jax.jit(make(*self.build(ctx))))

    @staticmethod
    def host(met) -> dict[str, np.ndarray]:
        """Device metrics as float64 numpy arrays."""
        return {k: np.asarray(v, np.float64) for k, v in met.items()}

    def prefix(self, n: int, cap: int):
        """The mask of the first ``n`` of ``cap`` slots, every chain."""
        return jnp.broadcast_to(jnp.arange(cap)[None, :] < n, (self.c, cap))

    def halves(self, fam, ch, truth, k):
        """The points of ``2m + 3`` draws from the truth and the statistics of the first ``m`` and the rest."""
        x = fam.points(k, ch, truth, self.cap2)
        first = self.prefix(self.m, self.cap2)
        return x, fam.points_stats(x, first), fam.points_stats(x, ~first)


def chains_check(h: Harness, rate: float) -> CheckResult:
    """Independent chains: no shared points, no rank correlation of the fits of chains 2i/2i+1 and i/i+C/2."""
    name = "sampler uses its key: independent chains"
    cap = h.ctx.capacity

    def make(fam, ch, truth):
        return lambda k: (fam.metrics(fam.fit(fam.draw(k, ch, truth, h.m, cap))), fam.points(k, ch, truth, cap))

    met, x = h.jit("chains", h.ctx, make)(h.key(1))
    for leaf in jax.tree_util.tree_leaves(x):
        a = np.asarray(leaf)
        share = _coincidences(a[0::2], a[1::2])
        if share > MAX_COINCIDENCES:
            return CheckResult(name, False, f"points: {share:.1%} of the points are equal in chains 2i and 2i+1")
    vary = _varying(h.host(met))
    if not vary:
        return CheckResult(name, False, "every metric is equal in every chain: the draws do not depend on the chain")
    half = h.c // 2
    items = []
    for k, v in vary.items():
        items.append(_independence(*_pairs(v[0::2], v[1::2]), rate / (2 * len(vary)), f"{k}: chains 2i vs 2i+1"))
        items.append(_independence(*_pairs(v[:half], v[half:]), rate / (2 * len(vary)), f"{k}: chains i vs i+C/2"))
    res = finish(combine(items, name), raise_on_failure=False)
    return CheckResult(name, res.passed, detail(res))


def _coincidences(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of equal entries of two float arrays of points, or 0 for discrete-valued points."""
    if not np.issubdtype(a.dtype, np.floating) or np.unique(a).size < 0.5 * a.size:
        return 0.0
    return float(np.mean(a == b))


def generations_check(h: Harness, rate: float) -> CheckResult:
    """Fresh draws for a fresh key: no shared points, no identical or correlated fits under two keys."""
    name = "fresh draws for a fresh key (each generation)"
    cap = h.ctx.capacity

    def make(fam, ch, truth):
        def both(k):
            x = fam.points(k, ch, truth, cap)
            via_draw = fam.metrics(fam.fit(fam.draw(k, ch, truth, h.m, cap)))
            via_points = fam.metrics(fam.fit(fam.points_stats(x, h.prefix(h.m, cap))))
            return via_draw, via_points, x

        return both

    fn = h.jit("generations", h.ctx, make)
    (d1, p1, x1), (d2, p2, x2) = fn(h.key(11)), fn(h.key(12))
    for a, b in zip(jax.tree_util.tree_leaves(x1), jax.tree_util.tree_leaves(x2), strict=True):
        a, b = np.asarray(a), np.asarray(b)
        for what, share in (
            ("under two keys", _coincidences(a, b)),
            ("in chains 2i and 2i+1", _coincidences(a[0::2], a[1::2])),
        ):
            if share > MAX_COINCIDENCES:
                return CheckResult(name, False, f"points: {share:.1%} of the points are equal {what} (a reused key)")
    paths = {"draw": (h.host(d1), h.host(d2)), "points": (h.host(p1), h.host(p2))}
    tests = [(p, k, a[k], b[k]) for p, (a, b) in paths.items() for k in _varying(a)]
    for path, k, a, b in tests:
        f = a[np.isfinite(a)]
        if np.unique(f).size >= 0.5 * f.size and np.mean(a == b) > 0.5:
            return CheckResult(
                name, False, f"{path}: {k} is identical under two keys in {np.mean(a == b):.0%} of the chains"
            )
    if not tests:
        return CheckResult(name, False, "no metric varies across chains")
    items = [_independence(*_pairs(a, b), rate / len(tests), f"{p}: {k} under keys 1 and 2") for p, k, a, b in tests]
    res = finish(combine(items, name), raise_on_failure=False)
    return CheckResult(name, res.passed, detail(res))


def permutation_check(h: Harness) -> CheckResult:
    """Reordering the filled points leaves the fitted metrics unchanged (float64, up to rounding)."""
    name = "fit is invariant to the order of the points"
    cap = h.ctx.capacity

    def make(fam, ch, truth):
        def pair(k):
            x = fam.points(k, ch, truth, cap)
            mask = h.prefix(h.m, cap)
            j = jnp.arange(cap)[None, :]
            u = bits.uniform(bits.fold(k, 1), ch, cap, jnp.float64)
            perm = jnp.argsort(jnp.where(j < h.m, u, 2.0 + j), axis=1)

            def take(a):
                return jnp.take_along_axis(a, perm.reshape(perm.shape + (1,) * (a.ndim - 2)), axis=1)

            xp = jax.tree_util.tree_map(take, x)
            return fam.metrics(fam.fit(fam.points_stats(x, mask))), fam.metrics(fam.fit(fam.points_stats(xp, mask)))

        return pair

    a, b = (h.host(v) for v in h.jit("permutation", h.ctx, make)(h.key(20)))
    ok, err = _close(a, b)
    return CheckResult(name, ok, f"filled points permuted per chain: largest relative difference {err:.3g}")


def _user_weights(h: Harness) -> tuple[bool, str]:
    """Frequency weights of a user ``fit``: duplicates = weight 2; slots of weight 0 are ignored."""
    from collapse_theory.families.user import chain_keys

    spec, m, c = h.spec, h.m, h.c
    j = max(1, m // 2)

    def make(fam, ch, truth):
        del fam, truth
        truth1 = spec._truth(jnp.float64)
        fit, met = spec.over_chains(spec.fit), spec.over_chains(spec._metrics_fn())

        def three(k):
            pts = spec.over_chains(lambda kc: spec.sample(kc, truth1, 2 * m))(chain_keys(k, ch))
            pts = jax.tree_util.tree_map(
                lambda a: a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a, pts
            )

            def cat(*parts):
                return jax.tree_util.tree_map(lambda *leaves: jnp.concatenate(leaves, axis=1), *parts)

            def sl(lo, hi):
                return jax.tree_util.tree_map(lambda a: a[:, lo:hi], pts)

            def zeros(n):
                return jax.tree_util.tree_map(lambda a: jnp.zeros_like(a[:, :n]), pts)

            def run(x, w):
                out = fit(x, w)
                return met(out[0] if spec.fit_info else out)

            w_dup = jnp.concatenate([jnp.ones((c, m + j)), jnp.zeros((c, m - j))], axis=1)
            w_two = jnp.concatenate([2 * jnp.ones((c, j)), jnp.ones((c, m - j)), jnp.zeros((c, m))], axis=1)
            dup = run(cat(sl(0, m), sl(0, j), zeros(m - j)), w_dup)
            two = run(cat(sl(0, m), zeros(m)), w_two)
            junk = run(cat(sl(0, m), sl(m, 2 * m)), w_two)
            return dup, two, junk

        return three

    dup, two, junk = (h.host(v) for v in h.jit("user-weights", h.ctx, make)(h.key(30)))
    ok1, e1 = _close(dup, two)
    ok2, e2 = _close(two, junk)
    detail = f"duplicated points vs weight 2: {e1:.3g}; points at weight 0 vs empty slots: {e2:.3g} (largest relative differences)"
    return ok1 and ok2, detail


def weights_check(h: Harness) -> CheckResult:
    """Frequency weights (user fits) and the fit_weighted identities (every family)."""
    name = "fit honours the weights"
    details: list[str] = []
    ok = True
    if getattr(h.spec, "user", False) and hasattr(h.spec, "_metrics_fn"):
        good, d = _user_weights(h)
        ok, details = ok and good, details + [d]
    na, nb = h.m, h.cap2 - h.m

    def make(fam, ch, truth):
        def fits(k):
            _, a, b = h.halves(fam, ch, truth, k)
            _, _, other = h.halves(fam, ch, truth, bits.fold(k, 1))
            ps = (fam.fit_weighted(a, b, na / (na + nb)), fam.fit(fam.merge(a, b)))
            ps += (fam.fit_weighted(a, b, 1.0), fam.fit_weighted(a, other, 1.0))
            return tuple(fam.metrics(p) for p in ps)

        return fits

    try:
        out = [h.host(v) for v in h.jit("weights", h.ctx2, make)(h.key(40))]
    except NotImplementedError as e:
        return CheckResult(name, ok, "; ".join(details + [f"fit_weighted not supported: {e}"]))
    prop, full = _close(out[0], out[1]), _close(out[2], out[3])
    details.append(
        f"fit_weighted at w = n_a/n vs fit of the union: {prop[1]:.3g}; at w = 1 with two synthetic samples: {full[1]:.3g}"
    )
    return CheckResult(name, ok and prop[0] and full[0], "; ".join(details))


def merge_check(h: Harness) -> CheckResult:
    """merge(a, b) and merge(b, a) fit like the union of the points."""
    name = "merge is the union of the samples"

    def make(fam, ch, truth):
        def fits(k):
            x, a, b = h.halves(fam, ch, truth, k)
            whole = fam.points_stats(x, jnp.ones((h.c, h.cap2), bool))
            return tuple(fam.metrics(fam.fit(s)) for s in (fam.merge(a, b), fam.merge(b, a), whole))

        return fits

    ab_m, ba_m, whole = (h.host(v) for v in h.jit("merge", h.ctx2, make)(h.key(50)))
    ab, ba = _close(ab_m, whole), _close(ba_m, whole)
    detail = f"{h.m} + {h.cap2 - h.m} points: merge(a, b) {ab[1]:.3g}, merge(b, a) {ba[1]:.3g} vs the union"
    return CheckResult(name, ab[0] and ba[0], detail)


def equivariance_check(h: Harness, prop) -> CheckResult:
    """A declared :class:`~collapse_theory.testing.Equivariance`, at every group element."""
    cap, worst, ok = h.ctx.capacity, 0.0, True
    user = getattr(h.spec, "user", False) and hasattr(h.spec, "_metrics_fn")

    def make(fam, ch, truth):
        def pair(k, g):
            x = fam.points(k, ch, truth, cap)
            mask = h.prefix(h.m, cap)
            xg = jax.vmap(lambda xc: prop.points(xc, g))(x)
            fx, fg = fam.fit(fam.points_stats(x, mask)), fam.fit(fam.points_stats(xg, mask))
            if user:
                fx, fg = fx.params, fg.params
            return fg, jax.vmap(lambda p: prop.params(p, g))(fx)

        return pair

    fn = h.jit(f"equivariance {id(prop)}", h.ctx, make)
    for g in prop.group:
        g64 = jax.tree_util.tree_map(lambda v: jnp.asarray(v, jnp.float64), g)
        good, err = _close(*fn(h.key(60), g64))
        ok, worst = ok and good, max(worst, err)
    return CheckResult(prop.name, ok, f"{len(prop.group)} transformations: largest relative difference {worst:.3g}")


def compile_check(config: SimConfig, seed: int) -> CheckResult:
    """Two new seeds compile no engine program and no XLA executable."""
    from collapse_theory.engine import simulate
    from collapse_theory.testing.compiles import count_compilations

    name = "no recompilation per seed"
    run = config.replace(chains=150, generations=5, record=(1, 3, 5))  # check_family's program: compiled once
    simulate(run, progress=False)
    with count_compilations() as c:
        for s in (seed + 11, seed + 12):
            simulate(run.replace(seed=s), progress=False)
    ok = c.programs == 0 and c.backend == 0
    return CheckResult(name, ok, f"2 new seeds: {c.programs} engine programs, {c.backend} XLA compilations")
