"""Poisson family refitted by the sample mean (the MLE).

Parameters are ``(rate,)`` and statistics ``(n, total)``: the number of draws and their sum.
Exact kernel: the sum of ``n`` i.i.d. Poisson(rate) draws is Poisson(n rate), one draw per
chain-generation. Sample kernel: ``n`` individual draws (``capacity`` slots, masked), summed.
Under the replace workflow the total ``N_t = M rate_t`` is a critical Galton-Watson process with
Poisson(1) offspring, so the rate goes extinct (``rate_t = 0``, absorbing) with probability
``q_t^{N_0}`` (:mod:`collapse_theory.theory.poisson`).

Counts are integer-valued floats of ``dtype``: float32 holds integers exactly up to ``2**24``, so
``n * rate`` must stay well below about 1.6e7 there (float64: ``2**53``).

References:
    Suresh, Thangaraj, Khandavally, "Rate of Model Collapse in Recursive Training",
    AISTATS 2025 (Poisson family).
    W. Hörmann, Insurance: Mathematics and Economics 12 (1993) (the PTRS sampler used here).

"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from collapse_theory.families.base import Family
from collapse_theory.families.spec import (
    BuildContext,
    ConfigError,
    FamilySpec,
    RunContext,
    check_choice,
    check_in_precision,
    check_real,
    parse_float,
    setting,
)
from collapse_theory.random import bits
from collapse_theory.random import poisson as sampler
from collapse_theory.random import purposes as tags
from collapse_theory.random.binomial import _materialize, _prefix_count
from collapse_theory.random.poisson import _ptrs_try, _uniform_pair

__all__ = ["PoissonSpec", "Params", "Stats", "poisson", "METRICS"]

METRICS = ("rate", "rate_err2", "extinct")
KERNELS = ("exact", "sample")


class Params(NamedTuple):
    """Fitted Poisson rate per chain: ``rate[C]``."""

    rate: jax.Array


class Stats(NamedTuple):
    """Sufficient statistics per chain: number of draws ``n[C]`` and their sum ``total[C]``."""

    n: jax.Array
    total: jax.Array


def merge(a: Stats, b: Stats) -> Stats:
    """Statistics of the union of two samples."""
    return Stats(a.n + b.n, a.total + b.total)


def poisson(rate: float, kernel: str = "exact", dtype=jnp.float32) -> Family:
    """Build the Poisson family.

    Args:
        rate: true rate lambda_0 (finite, > 0).
        kernel: ``"exact"`` (total ~ Poisson(n rate)) or ``"sample"`` (draw and sum n points).
        dtype: float32 or float64.

    Returns:
        A :class:`~collapse_theory.families.base.Family` named ``"poisson"`` whose metrics are
        ``rate``, ``rate_err2 = (rate - rate0)^2`` and ``extinct`` (1 where ``rate == 0``).

    Raises:
        ValueError: ``rate`` is not finite and positive, or ``kernel`` is unknown.

    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"rate must be a finite number > 0, got {rate!r}")
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; choose from {', '.join(KERNELS)}")
    rate0 = float(rate)

    def truth(c):
        return Params(jnp.full((c,), rate0, dtype))

    def empty(c):
        return Stats(jnp.zeros((c,), dtype), jnp.zeros((c,), dtype))

    def draw_exact(key, chains, p, n, capacity):
        del capacity
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        return Stats(n, poisson_total(bits.fold(key, tags.POISSON_TOTAL), chains, n * p.rate, dtype))

    def _draws(key, chains, lam):
        return sampler.poisson_slots(bits.fold(key, tags.POISSON_POINTS), chains, lam, dtype)

    def draw_sample(key, chains, p, n, capacity):
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        mask = jnp.arange(capacity)[None, :] < n[:, None]
        # Slots past n are not needed: rate 0 draws cost nothing and give 0.
        x = _draws(key, chains, jnp.where(mask, p.rate[:, None], 0.0))
        return Stats(n, jnp.sum(x, axis=1))

    def points(key, chains, p, capacity):
        return _draws(key, chains, jnp.broadcast_to(p.rate[:, None], (chains.shape[0], capacity)))

    def points_stats(x, mask):
        return Stats(jnp.sum(mask, axis=1).astype(dtype), jnp.sum(jnp.where(mask, x, 0.0), axis=1))

    def fit(s):
        return Params(s.total / jnp.maximum(s.n, 1.0))

    def fit_weighted(real, synth, w):
        w = jnp.where(real.n == 0, 0.0, jnp.where(synth.n == 0, 1.0, w))
        mean_real = real.total / jnp.maximum(real.n, 1.0)
        mean_synth = synth.total / jnp.maximum(synth.n, 1.0)
        return Params(w * mean_real + (1.0 - w) * mean_synth)

    def metrics(p):
        return {
            "rate": p.rate,
            "rate_err2": jnp.square(p.rate - rate0),
            "extinct": (p.rate == 0.0).astype(p.rate.dtype),
        }

    def distribution(p):
        return dist.Poisson(p.rate)

    return Family(
        name="poisson",
        truth=truth,
        draw=draw_exact if kernel == "exact" else draw_sample,
        points=points,
        points_stats=points_stats,
        empty=empty,
        merge=merge,
        fit=fit,
        fit_weighted=fit_weighted,
        metrics=metrics,
        metric_names=METRICS,
        distribution=distribution,
    )


# ---------------------------------------------------------------- the exact kernel's sampler

_INV_MEAN = 10.0  # rates below this: inversion; PTRS (valid for rate >= 10) above
_INV_STEPS = 32  # unrolled inversion steps; P(X >= 32 | lam < 10) < 2.5e-8
_INV_BOUND = 64.0  # a search past this restarts (only after round-off); P(X >= 64 | lam < 10) < 5e-30
_FLUSH = 1e-30  # pmf terms below this are 0 (x86 subnormal arithmetic is ~100x slower)
_PAGE = 64  # the smallest page of lanes (live lanes are processed in pages of L / 4 or L / 16)


def _inversion(key, c, lam, u, dtype):
    """``min{k : F(k) >= u}``: ``_INV_STEPS`` unrolled steps on every lane, then a loop over the rare
    lanes left open (continuing the same search; past ``_INV_BOUND`` a lane restarts with the first
    uniform of its next attempt, as in :mod:`collapse_theory.random.poisson`).
    """
    f = jnp.exp(-lam)
    cdf = f
    cnt = (u > cdf).astype(dtype)
    for k in range(1, _INV_STEPS):
        f = f * lam * (1.0 / k)
        f = jnp.where(f < _FLUSH, 0.0, f)
        cdf = cdf + f
        cnt = cnt + (u > cdf).astype(dtype)
    x = jnp.where(cnt >= _INV_STEPS, -1.0, cnt)

    def body(s):
        x, k, f, cdf, u, att = s
        k = k + 1.0
        f = jnp.where(f * lam / k < _FLUSH, 0.0, f * lam / k)
        cdf = cdf + f
        x = jnp.where((x < 0.0) & (u <= cdf), k, x)
        restart = (x < 0.0) & (k >= _INV_BOUND)
        att = att + restart.astype(jnp.uint32)
        u = jnp.where(restart, _uniform_pair(key, c, att, dtype)[0], u)
        f0 = jnp.exp(-lam)
        k, f, cdf = (jnp.where(restart, a, b) for a, b in ((jnp.zeros_like(k), k), (f0, f), (f0, cdf)))
        x = jnp.where(restart & (u <= cdf), 0.0, x)
        return x, k, f, cdf, u, att

    init = (x, jnp.full_like(lam, _INV_STEPS - 1.0), f, cdf, u, jnp.zeros(lam.shape, jnp.uint32))
    return jax.lax.cond(
        jnp.any(x < 0.0), lambda: jax.lax.while_loop(lambda s: jnp.any(s[0] < 0.0), body, init)[0], lambda: x
    )


def _ptrs_retry(key, c, lam, x, dtype):
    """PTRS attempts 1, 2, ... on the lanes with ``x < 0`` until all accept."""

    def body(s):
        r, x = s
        return r + 1, jnp.where(x < 0.0, _ptrs_try(*_uniform_pair(key, c, r, dtype), lam), x)

    # The cond keeps XLA from paying for the loop (its carried copies) when no lane is pending.
    return jax.lax.cond(
        jnp.any(x < 0.0),
        lambda x: jax.lax.while_loop(lambda s: jnp.any(s[1] < 0.0), body, (jnp.uint32(1), x))[1],
        lambda x: x,
        x,
    )


def _paged_apply(mask, fn, args, pads, page):
    """``fn(*args)`` on the lanes where ``mask`` holds (0 elsewhere), in pages of ``page`` lanes.

    The lanes are compacted in order (a prefix count and one scatter) and a ``fori_loop`` runs
    ``fn`` on ``ceil(count / page)`` pages, so the work follows the number of lanes in ``mask``
    and ``fn`` is compiled once. Padding lanes of the last page carry ``pads`` (harmless arguments)
    and are dropped. ``fn`` must be lane-wise, so a lane's value never depends on its page.
    """
    L = mask.shape[0]
    page = min(L, page)
    return jax.lax.cond(
        jnp.any(mask), lambda: _pages(mask, fn, args, pads, page), lambda: jnp.zeros((L,), args[-1].dtype)
    )


def _pages(mask, fn, args, pads, page):
    L = mask.shape[0]
    slots = -(-L // page) * page
    rank = _prefix_count(mask.astype(jnp.float32)).astype(jnp.int32)
    order = (
        jnp.full((slots,), L, jnp.int32)
        .at[jnp.where(mask, rank - 1, slots)]
        .set(jnp.arange(L, dtype=jnp.int32), mode="drop")
    )
    count = rank[-1]
    pages = (count + page - 1) // page

    def body(i, out):
        idx = jax.lax.dynamic_slice_in_dim(order, i * page, page)
        safe = jnp.minimum(idx, L - 1)
        # Materialised: a gather inside the sampler's fusion would slow it several-fold.
        sub = _materialize(tuple(jnp.where(idx < L, a[safe], p) for a, p in zip(args, pads, strict=True)), i < 0)
        return out.at[idx].set(fn(*sub), mode="drop")

    def paged():
        return jax.lax.fori_loop(0, pages, body, jnp.zeros((L,), args[-1].dtype))

    def dense():  # nearly every lane in the mask: no compaction
        return jnp.where(mask, fn(*(jnp.where(mask, a, p) for a, p in zip(args, pads, strict=True))), 0.0)

    return jax.lax.cond(2 * count > L, dense, paged)


def _ptrs(key, c, lam, dtype):
    """PTRS on every lane (``lam >= 10``): attempt 0 everywhere, then the rejected lanes (12-25 %,
    measured at ``lam`` = 1000 to 10) retry on a compacted buffer of a quarter of the lanes, and a
    full-width loop catches the (very rare) overflow.
    """
    u, v = _uniform_pair(key, c, 0, dtype)
    # Materialised: XLA would otherwise recompute the attempt in each of its readers' fusions.
    x = _materialize(_ptrs_try(u, v, lam), lam[0] < 0.0)
    L = lam.shape[0]
    size = min(L, max(64, L // 4))
    pending = x < 0.0
    rank = _prefix_count(pending.astype(jnp.float32)).astype(jnp.int32)
    idx = (
        jnp.full((size,), L, jnp.int32)
        .at[jnp.where(pending, rank - 1, size)]
        .set(jnp.arange(L, dtype=jnp.int32), mode="drop")
    )
    valid = idx < L
    safe = jnp.minimum(idx, L - 1)
    sub = _ptrs_retry(key, c[safe], jnp.where(valid, lam[safe], 1e4), jnp.where(valid, -1.0, 0.0), dtype)
    x = x.at[idx].set(sub, mode="drop")
    return _ptrs_retry(key, c, lam, x, dtype)


def _invert(key, c, lam, dtype):
    """Inversion on every lane (``lam < 10``) with the first uniform of attempt 0."""
    return _inversion(key, c, lam, _uniform_pair(key, c, 0, dtype)[0], dtype)


def poisson_total(key: bits.KeyPair, chains: jax.Array, lam: jax.Array, dtype=jnp.float32) -> jax.Array:
    """One Poisson(lam) variate per chain, exact in law, at a cost that follows the live lanes.

    Lanes with ``lam = 0`` (extinct chains, absorbing) cost nothing. The lanes with ``lam >= 10``
    (Hörmann's PTRS) and those with ``0 < lam < 10`` (inversion, Devroye 1986, X.3.3) are each
    compacted and processed in pages (of ``lanes / 4`` and ``lanes / 16``), as many as they fill (full width when more than half the lanes are in the class). A
    lane's value depends only on ``(key, chain, lam)``: attempt ``r`` reads the Threefry block at
    counter ``(chain, r)`` and a lane keeps its first accepted attempt (inversion uses the first
    word of attempt 0). So the result does not depend on the batch, the buffer that served the
    lane, or other lanes.

    Args:
        key: ``uint32[2]`` key, already folded with generation and purpose.
        chains: ``uint32[C]`` global chain indices.
        lam: ``[C]`` means; ``0`` gives 0, NaN, negative or infinite give NaN. Results must stay
            below ``2**24`` in float32 to be exact integers.
        dtype: float32 or float64.

    Returns:
        ``dtype[C]`` counts (integer-valued floats).

    References:
        W. Hörmann, Insurance: Mathematics and Economics 12 (1993) 39-45 (PTRS);
        L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986, section X.3.3.
    """
    lam = jnp.broadcast_to(jnp.asarray(lam, dtype), chains.shape)
    c = chains.astype(jnp.uint32)
    invalid = jnp.isnan(lam) | (lam < 0.0) | jnp.isinf(lam)
    large = ~invalid & (lam >= _INV_MEAN)
    small = ~invalid & (lam > 0.0) & (lam < _INV_MEAN)
    L, one = lam.shape[0], jnp.ones((), dtype)
    x_large = _paged_apply(
        large, lambda c, lam: _ptrs(key, c, lam, dtype), (c, lam), (jnp.uint32(0), 1e4 * one), max(_PAGE, L // 4)
    )
    x_small = _paged_apply(
        small, lambda c, lam: _invert(key, c, lam, dtype), (c, lam), (jnp.uint32(0), 0.0 * one), max(_PAGE, L // 16)
    )
    return jnp.where(invalid, jnp.nan, x_large + x_small)


@dataclasses.dataclass(frozen=True)
class PoissonSpec(FamilySpec):
    """Settings of the Poisson family (``ct.family("poisson", rate=1.0)``)."""

    name = "poisson"
    summary = "Poisson refitted by its sample mean: a critical Galton-Watson chain (Suresh et al.)"

    rate: float = setting(1.0, help="the true rate lambda_0", parse=parse_float, metavar="LAMBDA")
    kernel: str = setting("exact", help="exact (total ~ Poisson(n rate)) or sample (n draws)", metavar="NAME")
    estimator: str = setting("mle", help="mle (the sample mean; the only estimator)", metavar="NAME")

    def validated(self, run: RunContext) -> PoissonSpec:
        """A positive finite rate whose counts stay integers in the precision."""
        check_choice(self.estimator, "estimator", ("mle",))
        check_choice(self.kernel, "kernel", KERNELS)
        rate = check_real(self.rate, "rate", lo=0.0)
        check_in_precision(rate, "rate", "float64" if run.precision == "float64" else "float32")
        limit = 2.0**24 if run.precision == "float32" else 2.0**53
        pooled = run.scenario in ("accumulate", "accumulate-subsample")
        top = float(run.sizes.sum() if pooled else run.sizes.max())
        if rate * top > limit / 64:
            raise ConfigError(
                f"counts near {rate * top:.3g} lose integer exactness in {run.precision}; use --precision float64"
            )
        return dataclasses.replace(self, rate=rate)

    def capacity_free(self, run: RunContext) -> bool:
        """The exact kernel draws the total as one Poisson(n rate) at run time."""
        return self.kernel == "exact" and run.scenario != "accumulate-subsample"

    def metric_names(self) -> tuple[str, ...]:
        """:data:`METRICS`."""
        return METRICS

    def build(self, ctx: BuildContext) -> Family:
        """The Poisson family."""
        return poisson(self.rate, self.kernel, ctx.dtype)

    def bytes_per_chain(self, ctx: BuildContext) -> int:
        """The sample kernel draws ``capacity`` variates per chain."""
        width = 2 + (ctx.capacity if self.kernel == "sample" else 1)
        return max(64, 8 * jnp.dtype(ctx.dtype).itemsize * width)
