"""Categorical family over K states: MLE (empirical frequencies) or additive (Laplace) smoothing.

With the MLE, recursive fitting is exactly the neutral haploid Wright-Fisher model with population
size M: the counts of generation n + 1 are Multinomial(M, p_n). The exact kernel draws those
counts directly (conditional binomials, :mod:`collapse_theory.random.binomial`); from
``LIVE_MIN_STATES`` states on, only the nodes of the binary tree that split live states are drawn,
so its cost follows the surviving alleles (:func:`_live_multinomial`). The sample kernel draws M
categorical labels by inversion and counts them.

References:
    Shumailov et al., Nature 631 (2024), "Discrete distributions with exact approximation";
    Fisher (1930) and Wright (1931); Ewens, "Mathematical Population Genetics" (2004), ch. 3.

"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from collapse_theory.families.base import Family
from collapse_theory.families.spec import (
    BuildContext,
    ConfigError,
    FamilySpec,
    RunContext,
    check_choice,
    check_real,
    parse_float,
    parse_floats,
    setting,
)
from collapse_theory.metrics import categorical as cm
from collapse_theory.random import binomial as _binomial
from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.random.binomial import _prefix_count
from collapse_theory.random.multinomial import multinomial

__all__ = ["CategoricalSpec", "PROB_TOLERANCE", "Params", "Stats", "categorical"]

PROB_TOLERANCE = 1e-6
"""Probabilities must sum to 1 within this absolute tolerance; they are then renormalised in float64."""
ESTIMATORS = ("mle", "laplace")
KERNELS = ("exact", "sample")
LIVE_MIN_STATES = 17
"""From this many states the exact kernel draws only the live support (:func:`_live_multinomial`,
compiled once per tree depth); below, the fixed binary tree of
:func:`collapse_theory.random.multinomial.multinomial` (one compiled binomial) is cheaper."""


class Params(NamedTuple):
    """Fitted probabilities ``probs[C, K]``."""

    probs: jax.Array


class Stats(NamedTuple):
    """Sample size ``n[C]`` and per-state counts ``counts[C, K]`` (floats holding integers)."""

    n: jax.Array
    counts: jax.Array


def _labels(key, chains, probs, capacity, dtype):
    u = bits.uniform(bits.fold(key, tags.CATEGORICAL_POINTS), chains, capacity, dtype)
    cdf = jnp.cumsum(probs, axis=-1)
    cdf = cdf / cdf[:, -1:]
    cdf = cdf.at[:, -1].set(1.0)
    # side="left": u in (cdf[k-1], cdf[k]] maps to k, so states with p = 0 are never drawn.
    return jax.vmap(lambda c, x: jnp.searchsorted(c, x, side="left"))(cdf, u)


def categorical(
    probs, estimator: str = "mle", smoothing: float = 1.0, kernel: str = "exact", dtype=jnp.float32
) -> Family:
    """Build the categorical family.

    Args:
        probs: true probabilities, length K (validated and renormalised in float64 by the caller).
        estimator: ``"mle"`` (frequencies) or ``"laplace"`` ((counts + a) / (n + K a)).
        smoothing: the pseudo-count ``a`` of the Laplace estimator.
        kernel: ``"exact"`` (multinomial counts) or ``"sample"`` (draw labels and count).
        dtype: float32 or float64.

    """
    p0 = np.asarray(probs, dtype=np.float64)
    k = p0.shape[0]
    a = float(smoothing) if estimator == "laplace" else 0.0

    def truth(c):
        return Params(jnp.broadcast_to(jnp.asarray(p0, dtype), (c, k)))

    def empty(c):
        return Stats(jnp.zeros((c,), dtype), jnp.zeros((c, k), dtype))

    def draw_exact(key, chains, p, n, capacity):
        del capacity
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        sampler = _live_multinomial if k >= LIVE_MIN_STATES else multinomial
        counts = sampler(bits.fold(key, tags.CATEGORICAL_COUNTS), chains, n, p.probs, dtype)
        return Stats(n, counts.astype(dtype))

    def points(key, chains, p, capacity):
        return _labels(key, chains, p.probs, capacity, dtype)

    def points_stats(labels, mask):
        onehot = (labels[..., None] == jnp.arange(k)) & mask[..., None]
        counts = jnp.sum(onehot, axis=1).astype(dtype)
        return Stats(jnp.sum(mask, axis=1).astype(dtype), counts)

    def draw_sample(key, chains, p, n, capacity):
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        labels = _labels(key, chains, p.probs, capacity, dtype)
        mask = jnp.arange(capacity)[None, :] < n[:, None]
        rows = jnp.broadcast_to(jnp.arange(labels.shape[0])[:, None], labels.shape)
        counts = jnp.zeros((labels.shape[0], k), dtype).at[rows, labels].add(mask.astype(dtype))
        return Stats(n, counts)

    def merge(x, y):
        return Stats(x.n + y.n, x.counts + y.counts)

    def fit(s):
        return Params((s.counts + a) / (s.n + k * a)[:, None])

    def fit_weighted(real, synth, w):
        w = jnp.where(real.n == 0, 0.0, jnp.where(synth.n == 0, 1.0, w))
        fr = real.counts / jnp.maximum(real.n, 1.0)[:, None]
        fs = synth.counts / jnp.maximum(synth.n, 1.0)[:, None]
        pw = w[:, None] * fr + (1.0 - w)[:, None] * fs
        n = (real.n + synth.n)[:, None]
        return Params((pw * n + a) / (n + k * a))

    def metrics(p):
        return cm.metrics(p.probs, jnp.asarray(p0, dtype))

    def distribution(p):
        return dist.Categorical(probs=p.probs)

    return Family(
        name="categorical",
        truth=truth,
        draw=draw_exact if kernel == "exact" else draw_sample,
        points=points,
        points_stats=points_stats,
        empty=empty,
        merge=merge,
        fit=fit,
        fit_weighted=lambda r, s, w: fit_weighted(r, s, jnp.broadcast_to(jnp.asarray(w, dtype), r.n.shape)),
        metrics=metrics,
        metric_names=cm.METRICS,
        distribution=distribution,
    )


# ---------------------------------------------------------------- the exact kernel's sampler


_INV_MEAN = 10.0  # n q below this: inversion; BTRS (valid for n q >= 10) above
_INV_STEPS = 32  # unrolled inversion steps; P(X >= 32 | n q < 10) < 3e-8
_INV_BOUND = 128.0  # a search past this restarts (only after round-off), as in random.binomial


def _inversion_tail(key, c, j, n, q, u, x, dtype):
    """Lanes with ``x < 0`` (past the unrolled steps, probability < 3e-8) search again from 0, one
    step per pass, with the same uniform; past ``_INV_BOUND`` with the first uniform of their next
    attempt (the truncation of :mod:`collapse_theory.random.binomial`).
    """
    r = q / (1.0 - q)
    f0 = jnp.exp(n * jnp.log1p(-q))

    def body(s):
        x, k, f, cdf, u, att = s
        f = jnp.where(k < 0.0, f0, jnp.maximum(f * (n - k) * r / (k + 1.0), 0.0))
        cdf = jnp.where(k < 0.0, 0.0, cdf) + f
        k = k + 1.0
        x = jnp.where((x < 0.0) & ((u <= cdf) | (k >= n)), k, x)
        restart = (x < 0.0) & (k >= jnp.minimum(n, _INV_BOUND))
        att = att + restart.astype(jnp.uint32)
        u = jnp.where(restart, _binomial._uniforms(key, c, j, att, dtype)[0], u)
        return x, jnp.where(restart, -1.0, k), f, cdf, u, att

    k = jnp.full_like(n, -1.0)
    init = (x, k, k, k, u, jnp.zeros(n.shape, jnp.uint32))
    return jax.lax.while_loop(lambda s: jnp.any(s[0] < 0.0), body, init)[0]


def _binomial_flat(key, c, j, n, p, dtype):
    """Binomial(n, p) on 1-D lanes with chain ``c`` and stream slot ``j`` each (``0 < p < 1``, or
    ``n = 0``), on the lane streams of :mod:`collapse_theory.random.binomial` (attempt ``r`` reads
    the block at counter ``(c, r * 2**16 + j)``), so a lane's value depends only on ``(key, c, j, n,
    p)``. Only ``q = min(p, 1 - p)`` is sampled; ``n q < 10``: inversion (Devroye 1986, X.4.3),
    unrolled; else Hörmann's BTRS (valid for ``n q >= 10``), retried until every lane accepts.
    A lean variant of ``binomial_lanes`` (one attempt per pass, no compacted retries): it is
    compiled once per tree depth, so its size is compile time.
    """
    flip = p > 0.5
    q = jnp.where(flip, 1.0 - p, p)
    mean = n * q
    small = mean < _INV_MEAN
    u, v = _binomial._uniforms(key, c, j, 0, dtype)
    qi = jnp.where(small, q, 0.0)
    nb, qb = jnp.where(small, 1e4, n), jnp.where(small, 0.5, q)
    big = ~small & (n > 0.0)

    def invert():
        cnt = _binomial._inversion_steps(jnp.where(small, n, 0.0), qi, u, _INV_STEPS)
        return jnp.where((cnt >= _INV_STEPS) & (n >= _INV_STEPS), -1.0, jnp.minimum(cnt, n))

    zeros = jnp.zeros_like(n)
    x_inv = jax.lax.cond(jnp.any(small & (n > 0.0)), invert, lambda: zeros)
    x_btrs = jax.lax.cond(jnp.any(big), lambda: _binomial._btrs_try(u, v, nb, qb), lambda: zeros)
    x = jnp.where(small, x_inv, x_btrs)
    L = n.shape[0]
    size = min(L, max(64, L // 4))

    def attempts(c, j, nb, qb, x, live):
        def body(s):
            r, x = s
            k = _binomial._btrs_try(*_binomial._uniforms(key, c, j, r, dtype), nb, qb)
            return r + 1, jnp.where(live & (x < 0.0), k, x)

        return jax.lax.while_loop(lambda s: jnp.any(live & (s[1] < 0.0)), body, (jnp.uint32(1), x))[1]

    def retry(x):
        # Rejected BTRS lanes (about 1 in 6) retry on a compacted buffer, the overflow at full width.
        pending = big & (x < 0.0)
        rank = _prefix_count(pending.astype(jnp.float32)).astype(jnp.int32)
        idx = (
            jnp.full((size,), L, jnp.int32)
            .at[jnp.where(pending, rank - 1, size)]
            .set(jnp.arange(L, dtype=jnp.int32), mode="drop")
        )
        ok = idx < L
        safe = jnp.minimum(idx, L - 1)
        sub = _binomial._materialize((c[safe], j[safe], nb[safe], qb[safe]), n[0] < 0.0)
        x = x.at[idx].set(attempts(*sub, jnp.where(ok, -1.0, 0.0), ok), mode="drop")
        x = jax.lax.cond(jnp.any(big & (x < 0.0)), lambda: attempts(c, j, nb, qb, x, big), lambda: x)
        tail = small & (x < 0.0)

        def finish():
            return jnp.where(tail, _inversion_tail(key, c, j, n, qi, u, jnp.where(tail, -1.0, 0.0), dtype), x)

        return jax.lax.cond(jnp.any(tail), finish, lambda: x)

    x = jax.lax.cond(jnp.any(x < 0.0), retry, lambda x: x, x)
    return jnp.where(flip, n - x, x)


def _page_size(lanes: int) -> int:
    """Lanes per page of a tree depth with ``lanes`` candidate nodes: the depth when it is small,
    else a 32nd of it (at most 32 pages when every node is live, one small page late).
    """
    return min(lanes, max(1024, lanes // 32))


def _live_multinomial(key, chains, n, probs, dtype):
    """Multinomial(n, probs) per chain whose cost follows the live support.

    The K states are split down a fixed binary tree (states padded to ``2**D``): node ``i`` of depth
    ``d`` covers states ``[i 2**(D-d), (i+1) 2**(D-d))`` and sends ``Bin(m, a / (a + b))`` of its
    ``m`` draws to its left child (children masses ``a``, ``b``). A node whose draws or one of whose
    children's masses is 0 is decided without randomness, so a chain with ``L`` live states has
    exactly ``L - 1`` random nodes. At each depth those nodes, over all chains, are compacted and
    drawn in pages, as many as they fill: the work follows the live support, as numpy's sequential
    multinomial does when states die out. Node ``(d, i)`` of chain ``c`` draws from the lane
    stream ``(threefry(key, d, MULTINOMIAL_TREE), c, i)``, so a chain's counts depend only on the
    key, its index and its probabilities (not on the batch or on which page served a node).

    References:
        L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986, section XI.1.4
        (multinomial by conditional binomials).
    """
    C, K = probs.shape
    n = jnp.broadcast_to(jnp.asarray(n, dtype).reshape(-1), (C,))
    if K == 1:
        return n[:, None]
    D = max(1, math.ceil(math.log2(K)))
    masses = [jnp.pad(jnp.maximum(jnp.asarray(probs, dtype), 0.0), ((0, 0), (0, 2**D - K)))]
    for _ in range(D):
        masses.append(masses[-1][:, 0::2] + masses[-1][:, 1::2])
    masses = masses[::-1]  # masses[d]: the 2**d nodes of depth d
    need = [-(-K // 2 ** (D - d)) for d in range(D + 1)]
    m = n[:, None]
    for d in range(D):
        w = need[d]
        a, b = masses[d + 1][:, 0 : 2 * w : 2], masses[d + 1][:, 1 : 2 * w : 2]
        m = m[:, :w]
        random = (m > 0.0) & (a > 0.0) & (b > 0.0)
        fixed = jnp.where(b > 0.0, 0.0, m)  # all draws go where the mass is
        p = jnp.where(random, a / jnp.where(random, a + b, 1.0), 0.0)
        lane_key = jnp.stack(bits.threefry2x32(key, jnp.uint32(d), jnp.uint32(tags.MULTINOMIAL_TREE)))
        x = _paged_nodes(lane_key, chains, random, m, p, dtype)
        x = jnp.where(random, x, fixed)
        m = jnp.stack([x, m - x], axis=2).reshape(C, 2 * w)
    return m[:, :K]


def _paged_nodes(key, chains, random, m, p, dtype):
    """Binomial(m, p) on the nodes ``random[C, W]`` (0 elsewhere), compacted into pages."""
    C, W = m.shape
    L = C * W
    page = _page_size(L)
    slots = -(-L // page) * page
    flat = random.reshape(-1)
    rank = _prefix_count(flat.astype(jnp.float32)).astype(jnp.int32)
    order = (
        jnp.full((slots,), L, jnp.int32)
        .at[jnp.where(flat, rank - 1, slots)]
        .set(jnp.arange(L, dtype=jnp.int32), mode="drop")
    )
    pages = (rank[-1] + page - 1) // page
    mf, pf = m.reshape(-1), p.reshape(-1)
    cf = jnp.repeat(chains.astype(jnp.uint32), W)
    jf = jnp.tile(jnp.arange(W, dtype=jnp.uint32), C)

    def body(i, out):
        idx = jax.lax.dynamic_slice_in_dim(order, i * page, page)
        ok = idx < L
        safe = jnp.minimum(idx, L - 1)
        # Materialised: a gather inside the sampler's fusions would slow them several-fold.
        lanes = _binomial._materialize(
            (cf[safe], jf[safe], jnp.where(ok, mf[safe], 0.0), jnp.where(ok, pf[safe], 0.0)), i < 0
        )
        return out.at[idx].set(_binomial_flat(key, *lanes, dtype), mode="drop")

    return jax.lax.fori_loop(0, pages, body, jnp.zeros((L,), dtype)).reshape(C, W)


@dataclasses.dataclass(frozen=True)
class CategoricalSpec(FamilySpec):
    """Settings of the categorical family (``ct.family("categorical", probs=...)``).

    Biased sampling of synthetic data: ``temperature`` T draws from p^(1/T) renormalised,
    ``top_p`` q from the top-q nucleus (:mod:`collapse_theory.errors.sampling`).
    """

    name = "categorical"
    summary = "categorical over K states: MLE (= neutral Wright-Fisher) or Laplace / Dirichlet(a) learner"

    probs: tuple[float, ...] | None = setting(
        help="true probabilities, comma list summing to 1 (required)", parse=parse_floats, metavar="LIST"
    )
    estimator: str = setting("mle", help="mle (frequencies) or laplace ((counts + a) / (n + K a))", metavar="NAME")
    kernel: str = setting("exact", help="exact (multinomial counts) or sample (draw labels and count)", metavar="NAME")
    smoothing: float | None = setting(
        help="Laplace pseudo-count a > 0 (--estimator laplace; default 1)", parse=parse_float, metavar="A"
    )
    temperature: float = setting(1.0, help="T: synthetic draws from p^(1/T)", parse=parse_float, metavar="T")
    top_p: float = setting(1.0, help="q: synthetic draws from the top-q nucleus", parse=parse_float, metavar="Q")

    @classmethod
    def from_legacy(cls, settings: dict) -> dict:
        """Old results stored a smoothing for every estimator; only laplace reads it."""
        if settings.get("estimator", "mle") != "laplace":
            settings = {k: v for k, v in settings.items() if k != "smoothing"}
        return settings

    def validated(self, run: RunContext) -> CategoricalSpec:
        """Probabilities finite, non-negative, summing to 1; representable in the precision."""
        err = ConfigError
        check_choice(self.estimator, "estimator", ESTIMATORS)
        check_choice(self.kernel, "kernel", KERNELS)
        if self.probs is None:
            raise err("--probs is required for the categorical family")
        if isinstance(self.probs, (str, bytes)):
            raise err(f"--probs must be a sequence of numbers, got {self.probs!r}")
        try:
            p = np.asarray(self.probs, dtype=np.float64)
        except (TypeError, ValueError):
            raise err(f"--probs must be a sequence of numbers, got {self.probs!r}") from None
        if p.ndim != 1 or p.size < 2:
            raise err("--probs needs at least 2 states")
        if not np.all(np.isfinite(p)):
            raise err("--probs must be finite")
        if np.any(p < 0):
            raise err(f"--probs must be non-negative, got {p[p < 0][0]}")
        tiny = float(np.finfo(np.float32 if run.precision == "float32" else np.float64).tiny)
        if np.any((p > 0) & (p < tiny)):
            raise err(
                f"--probs has a positive probability below the smallest normal {run.precision} ({tiny:.3g}); set it to 0 or use --precision float64"
            )
        if abs(p.sum() - 1.0) > PROB_TOLERANCE:
            raise err(f"--probs must sum to 1 within {PROB_TOLERANCE}, sum is {p.sum():.9g}")
        smoothing = self.smoothing
        if self.estimator == "laplace":
            smoothing = 1.0 if smoothing is None else check_real(smoothing, "smoothing", lo=0.0)
        elif smoothing is not None:
            raise err("--smoothing is for --estimator laplace")
        temperature = check_real(self.temperature, "temperature", lo=0.0)
        top_p = check_real(self.top_p, "top_p", lo=0.0, hi=1.0, hi_closed=True)
        return dataclasses.replace(
            self, probs=tuple(float(x) for x in p / p.sum()), smoothing=smoothing, temperature=temperature, top_p=top_p
        )

    def capacity_free(self, run: RunContext) -> bool:
        """The exact multinomial kernel takes the sample size at run time."""
        return self.kernel == "exact" and run.scenario != "accumulate-subsample"

    def metric_names(self) -> tuple[str, ...]:
        """:data:`collapse_theory.metrics.categorical.METRICS`."""
        return cm.METRICS

    def build(self, ctx: BuildContext) -> Family:
        """The family, with its biased sampler under a temperature or nucleus."""
        assert self.probs is not None, "validate the spec first"
        smoothing = self.smoothing if self.smoothing is not None else 1.0
        fam = categorical(self.probs, self.estimator, smoothing, self.kernel, ctx.dtype)
        if self.temperature == 1.0 and self.top_p == 1.0:
            return fam
        from collapse_theory.errors.sampling import biased_sampler, temperature_probs, top_p_probs

        temperature, top_p = self.temperature, self.top_p

        def transform(params):
            p = params.probs
            if temperature != 1.0:
                p = temperature_probs(p, temperature)
            if top_p < 1.0:
                p = top_p_probs(p, top_p)
            return params._replace(probs=p)

        return fam._replace(sampler=biased_sampler(fam, transform))

    def bytes_per_chain(self, ctx: BuildContext) -> int:
        """K floats per chain and generation (counts and probabilities)."""
        assert self.probs is not None
        return max(64, 8 * jnp.dtype(ctx.dtype).itemsize * len(self.probs))
