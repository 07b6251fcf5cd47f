"""Categorical family over K states: MLE (empirical frequencies) or additive (Laplace) smoothing.

With the MLE, recursive fitting is exactly the neutral haploid Wright-Fisher model with population
size M: the counts of generation n + 1 are Multinomial(M, p_n). The exact kernel draws those
counts directly (conditional binomials, :mod:`collapse_theory.random.binomial`); from
``LIVE_MIN_STATES`` states on, only the nodes of the binary tree that split live states are drawn,
so its cost follows the surviving alleles (:func:`~collapse_theory.random.live_multinomial.live_multinomial`). Under replace the
MLE also keeps its states in slot order, survivors first (dead states stay dead), so the tree is
walked only over the occupied slots
(:func:`~collapse_theory.random.prefix_multinomial.prefix_multinomial`). The sample kernel draws M
categorical labels by inversion and counts them.

References:
    Shumailov et al., Nature 631 (2024), "Discrete distributions with exact approximation";
    Fisher (1930) and Wright (1931); Ewens, "Mathematical Population Genetics" (2004), ch. 3.

"""

from __future__ import annotations

import dataclasses
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
from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.random.live_multinomial import live_multinomial
from collapse_theory.random.multinomial import multinomial
from collapse_theory.random.prefix_multinomial import prefix_multinomial, subtree_height, tree_height

__all__ = ["CategoricalSpec", "PROB_TOLERANCE", "Params", "Stats", "categorical", "state_probs"]

PROB_TOLERANCE = 1e-6
"""Probabilities must sum to 1 within this absolute tolerance; they are then renormalised in float64."""
ESTIMATORS = ("mle", "laplace")
KERNELS = ("exact", "sample")
LIVE_MIN_STATES = 17
"""From this many states the exact kernel draws only the live support (:func:`~collapse_theory.random.live_multinomial.live_multinomial`,
compiled once per tree depth); below, the fixed binary tree of
:func:`collapse_theory.random.multinomial.multinomial` (one compiled binomial) is cheaper. From
this many states the MLE under replace also keeps its states in slot order
(:func:`~collapse_theory.random.prefix_multinomial.prefix_multinomial`)."""
PREFIX_MAX_SPAN = 64
"""In slot order, batches whose survivors fit in this many slots draw by the prefix tree (its split
nodes listed once per generation, at most ``C (PREFIX_MAX_SPAN - 1)``); wider ones by the paged live tree. Both key a node by
its height and index, so a chain's counts do not depend on which serves its batch (tested)."""
REPACK_EVERY = 8
"""Generations between the moves of the surviving states to the front of the slots (a partition
costs about a draw at full width); the same generations for every chain."""
_ONEHOT_WIDTH = 16
"""Slot partitions up to this width permute by one-hot sums (fused), wider ones by a scatter."""


class Params(NamedTuple):
    """Fitted probabilities ``probs[C, K]``.

    In slot order (``states`` given; the exact MLE kernel under replace) ``probs[c, j]`` is the
    probability of state ``states[c, j]`` and slots from ``span[c]`` on have probability 0; every
    ``REPACK_EVERY`` generations (``age`` counts them) the surviving states move to the front
    (:func:`state_probs` gives the probabilities in state order).
    """

    probs: jax.Array
    states: jax.Array | None = None
    span: jax.Array | None = None
    age: jax.Array | None = None


class Stats(NamedTuple):
    """Sample size ``n[C]`` and per-state counts ``counts[C, K]`` (floats holding integers), in
    slot order when ``states`` is given (as :class:`Params`).
    """

    n: jax.Array
    counts: jax.Array
    states: jax.Array | None = None
    span: jax.Array | None = None
    age: jax.Array | None = None


def state_probs(p: Params) -> jax.Array:
    """``p.probs`` in state order (``[C, K]``), whatever the layout."""
    return _in_state_order(p.probs, p.states)


def _in_state_order(x, states):
    if states is None:
        return x
    rows = jnp.arange(x.shape[0])[:, None]
    return jnp.zeros_like(x).at[rows, states].set(x)


def _repack_width(counts, states, W: int):
    """Stable partition of slots ``[0, W)`` (the others hold no draws): occupied slots first."""
    C = counts.shape[0]
    c, s = counts[:, :W], states[:, :W]
    live = c > 0.0
    filled = jnp.sum(live, axis=1, dtype=jnp.int32)
    dst = jnp.where(
        live,
        jnp.cumsum(live, axis=1, dtype=jnp.int32) - 1,
        filled[:, None] + jnp.cumsum(~live, axis=1, dtype=jnp.int32) - 1,
    )
    if W <= _ONEHOT_WIDTH:  # a permutation by one-hot sums: fused, no scatter
        hit = dst[:, :, None] == jnp.arange(W, dtype=jnp.int32)
        c = jnp.sum(jnp.where(hit, c[:, :, None], 0.0), axis=1)
        s = jnp.sum(jnp.where(hit, s[:, :, None], 0), axis=1)
    else:
        rows = jnp.arange(C)[:, None]
        c = jnp.zeros_like(c).at[rows, dst].set(c, unique_indices=True)
        s = jnp.zeros_like(s).at[rows, dst].set(s, unique_indices=True)
    return counts.at[:, :W].set(c), states.at[:, :W].set(s), jnp.maximum(filled, 1)


def _repack(counts, states, span):
    """Move the occupied slots of ``counts`` (all below ``span``) to the front, keeping their order."""
    K = counts.shape[1]
    D = tree_height(K)
    b = subtree_height(span, D)
    branches = [lambda c, s, h=h: _repack_width(c, s, min(2**h, K)) for h in range(1, D + 1)]
    return jax.lax.switch(b - 1, branches, counts, states)


def _labels(key, chains, probs, capacity, dtype):
    u = bits.uniform(bits.fold(key, tags.CATEGORICAL_POINTS), chains, capacity, dtype)
    cdf = jnp.cumsum(probs, axis=-1)
    cdf = cdf / cdf[:, -1:]
    cdf = cdf.at[:, -1].set(1.0)
    # side="left": u in (cdf[k-1], cdf[k]] maps to k, so states with p = 0 are never drawn.
    return jax.vmap(lambda c, x: jnp.searchsorted(c, x, side="left"))(cdf, u)


def categorical(
    probs,
    estimator: str = "mle",
    smoothing: float = 1.0,
    kernel: str = "exact",
    dtype=jnp.float32,
    slots: bool = False,
) -> Family:
    """Build the categorical family.

    Args:
        probs: true probabilities, length K (validated and renormalised in float64 by the caller).
        estimator: ``"mle"`` (frequencies) or ``"laplace"`` ((counts + a) / (n + K a)).
        smoothing: the pseudo-count ``a`` of the Laplace estimator.
        kernel: ``"exact"`` (multinomial counts) or ``"sample"`` (draw labels and count).
        dtype: float32 or float64.
        slots: keep parameters and counts in slot order (:class:`Params`), surviving states first,
            so the exact kernel's cost follows the survivors
            (:func:`~collapse_theory.random.prefix_multinomial.prefix_multinomial`). For the MLE
            with the exact kernel, whose dead states stay dead; the results are the same law in
            another random stream. Merges and weighted fits work in state order.

    """
    p0 = np.asarray(probs, dtype=np.float64)
    k = p0.shape[0]
    a = float(smoothing) if estimator == "laplace" else 0.0
    if slots and (estimator != "mle" or kernel != "exact"):
        raise ValueError("slot order is for the MLE with the exact kernel")
    order0 = np.argsort(p0 <= 0.0, kind="stable").astype(np.int32)  # surviving states first
    span0 = int(np.sum(p0 > 0.0))
    identity = np.arange(k, dtype=np.int32)

    def layout(c, states, span):
        if not slots:
            return {}
        return dict(
            states=jnp.broadcast_to(jnp.asarray(states, jnp.int32), (c, k)),
            span=jnp.full((c,), span, jnp.int32),
            age=jnp.zeros((c,), jnp.int32),
        )

    def truth(c):
        p = p0[order0] if slots else p0
        return Params(jnp.broadcast_to(jnp.asarray(p, dtype), (c, k)), **layout(c, order0, span0))

    def empty(c):
        return Stats(jnp.zeros((c,), dtype), jnp.zeros((c, k), dtype), **layout(c, identity, k))

    def in_state_order(s):
        """Statistics in state order (the identity slot order when slots are kept)."""
        if not slots:
            return s
        c = s.n.shape[0]
        return Stats(s.n, _in_state_order(s.counts, s.states), **layout(c, identity, k))

    def draw_exact(key, chains, p, n, capacity):
        del capacity
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        if slots:
            key = bits.fold(key, tags.CATEGORICAL_SLOTS)
            counts = jax.lax.cond(
                jnp.max(p.span) <= PREFIX_MAX_SPAN,
                lambda: prefix_multinomial(key, chains, n, p.probs, p.span, dtype, max_span=PREFIX_MAX_SPAN),
                lambda: live_multinomial(key, chains, n, p.probs, dtype),
            ).astype(dtype)
            packed = jax.lax.cond(
                jnp.max(p.age) % REPACK_EVERY == 0,
                lambda: _repack(counts, p.states, p.span),
                lambda: (counts, p.states, p.span),
            )
            return Stats(n, *packed, age=p.age + 1)
        sampler = live_multinomial if k >= LIVE_MIN_STATES else multinomial
        counts = sampler(bits.fold(key, tags.CATEGORICAL_COUNTS), chains, n, p.probs, dtype)
        return Stats(n, counts.astype(dtype))

    def points(key, chains, p, capacity):
        labels = _labels(key, chains, p.probs, capacity, dtype)
        return labels if p.states is None else jnp.take_along_axis(p.states, labels, axis=1)

    def points_stats(labels, mask):
        onehot = (labels[..., None] == jnp.arange(k)) & mask[..., None]
        counts = jnp.sum(onehot, axis=1).astype(dtype)
        return Stats(jnp.sum(mask, axis=1).astype(dtype), counts, **layout(labels.shape[0], identity, k))

    def draw_sample(key, chains, p, n, capacity):
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        labels = _labels(key, chains, p.probs, capacity, dtype)
        mask = jnp.arange(capacity)[None, :] < n[:, None]
        rows = jnp.broadcast_to(jnp.arange(labels.shape[0])[:, None], labels.shape)
        counts = jnp.zeros((labels.shape[0], k), dtype).at[rows, labels].add(mask.astype(dtype))
        return Stats(n, counts)

    def merge(x, y):
        x, y = in_state_order(x), in_state_order(y)
        return x._replace(n=x.n + y.n, counts=x.counts + y.counts)

    def fit(s):
        return Params((s.counts + a) / (s.n + k * a)[:, None], s.states, s.span, s.age)

    def fit_weighted(real, synth, w):
        real, synth = in_state_order(real), in_state_order(synth)
        w = jnp.where(real.n == 0, 0.0, jnp.where(synth.n == 0, 1.0, w))
        fr = real.counts / jnp.maximum(real.n, 1.0)[:, None]
        fs = synth.counts / jnp.maximum(synth.n, 1.0)[:, None]
        pw = w[:, None] * fr + (1.0 - w)[:, None] * fs
        n = (real.n + synth.n)[:, None]
        return Params((pw * n + a) / (n + k * a), real.states, real.span, real.age)

    def metrics(p):
        return cm.metrics(state_probs(p), jnp.asarray(p0, dtype))

    def distribution(p):
        return dist.Categorical(probs=state_probs(p))

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
        plain = self.temperature == 1.0 and self.top_p == 1.0
        slots = (
            plain
            and ctx.scenario == "replace"
            and self.estimator == "mle"
            and self.kernel == "exact"
            and len(self.probs) >= LIVE_MIN_STATES
        )
        fam = categorical(self.probs, self.estimator, smoothing, self.kernel, ctx.dtype, slots=slots)
        if plain:
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
