"""A character n-gram language model, recursively trained: the Curse of Recursion's language-model chain.

The seed paper fine-tunes OPT-125m on wikitext-2, generation after generation, on text the
previous generation wrote. Here the model is an order-``n`` character n-gram over
:data:`~collapse_theory.neural.data.ALPHABET` (29 symbols) fitted by counting, and the data are
sequences of 64 characters of the standard library's docstrings
(:func:`~collapse_theory.neural.data.corpus`). :func:`ngram_estimator` writes the single chain
with the public :func:`collapse_theory.estimator` API.

* ``fit(points, weights)``: the weighted counts ``c[ctx, w]`` of every (n-1)-character context
  and next character, each sequence starting from ``n - 1`` begin-of-sequence symbols (the
  parameters are the counts; the smoothing is applied when the model is used);
* smoothing: ``"laplace"`` (add-``alpha``) or ``"kneser-ney"`` (interpolated, absolute
  discount ``discount``, continuation counts below the top order, uniform at the bottom);
* ``sample(key, params, n)``: ``n`` sequences drawn character by character by a ``lax.scan``.

Generation 0 (the truth) is the model counted on all training sequences; ``real(key, n)`` draws
``n`` training sequences without replacement. Metrics (per chain):

* ``heldout_ppl``: perplexity per character on the held-out real sequences;
* ``gen_log_ppl`` and ``gen_log_ppl_sd``: mean and standard deviation over ``eval_samples``
  sequences sampled from the model (fixed key) of their log-perplexity under the generation-0
  model (the paper's histograms, Fig. 4);
* ``support_lost``: the fraction of the n-grams of the real training text that the model has
  never seen (count 0), and ``vocab_lost``, the same for single characters.

References:
    Shumailov et al., "AI models collapse when trained on recursively generated data",
    Nature 631 (2024), Fig. 4 (perplexity histograms; 10 % of the original data kept).
    Chen & Goodman, "An empirical study of smoothing techniques for language modeling", 1999
    (interpolated Kneser-Ney).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from collapse_theory.families.spec import ConfigError
from collapse_theory.families.user import Estimator, estimator
from collapse_theory.neural import data
from collapse_theory.neural._reduce import ordered_sum

__all__ = ["NgramParams", "ngram_estimator", "counts", "log_probs", "sample", "sequence_log_probs", "SMOOTHING"]

V = len(data.ALPHABET)
BOS = V
SMOOTHING = ("laplace", "kneser-ney")


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class NgramParams:
    """Weighted counts ``c[ctx, w]``, shape ``[(V + 1)^(n - 1), V]``; ``ctx`` packs the context base ``V + 1``."""

    counts: Any

    def __repr__(self) -> str:
        return f"NgramParams(counts {list(self.counts.shape)})"


def _contexts(seqs: jax.Array, order: int) -> jax.Array:
    """The packed context ``[N, L]`` of every position (begin-of-sequence symbols before the start)."""
    pad = jnp.concatenate([jnp.full(seqs.shape[:-1] + (order - 1,), BOS, seqs.dtype), seqs], axis=-1)
    length = seqs.shape[-1]
    ctx = jnp.zeros(seqs.shape, jnp.int32)
    for j in range(order - 1):  # oldest symbol first: ctx = sum_j pad[t + j] (V + 1)^(n - 2 - j)
        ctx = ctx * (V + 1) + pad[..., j : j + length].astype(jnp.int32)
    return ctx


def counts(points: jax.Array, weights: jax.Array, order: int) -> jax.Array:
    """Weighted n-gram counts ``[(V + 1)^(n - 1), V]`` of sequences ``points [N, L]`` (weights ``[N]``)."""
    ctx = _contexts(points, order)
    w = jnp.broadcast_to(weights[:, None], points.shape)
    flat = jnp.zeros(((V + 1) ** (order - 1) * V,), weights.dtype)
    return flat.at[(ctx * V + points.astype(jnp.int32)).ravel()].add(w.ravel()).reshape(-1, V)


def _kneser_ney(c: jax.Array, order: int, discount: float) -> jax.Array:
    """Interpolated Kneser-Ney conditional probabilities ``[(V + 1)^(n - 1), V]`` from top-order counts."""
    top = c.reshape((V + 1,) * (order - 1) + (V,))
    tables = [top]  # tables[k]: counts at order n - k (raw at the top, continuation counts below)
    for _ in range(order - 1):
        tables.append(jnp.sum(tables[-1] > 0, axis=0).astype(c.dtype))
    p = jnp.full((V,), 1.0 / V, c.dtype)
    for a in reversed(tables):
        total = jnp.sum(a, axis=-1, keepdims=True)
        types = jnp.sum(a > 0, axis=-1, keepdims=True).astype(c.dtype)
        safe = jnp.where(total > 0, total, 1.0)
        mixed = jnp.maximum(a - discount, 0.0) / safe + discount * types / safe * p
        p = jnp.where(total > 0, mixed, jnp.broadcast_to(p, a.shape))
    return p.reshape(-1, V)


def log_probs(params: NgramParams, order: int, smoothing: str, alpha: float, discount: float) -> jax.Array:
    """Log conditional probabilities ``[(V + 1)^(n - 1), V]`` of the next character given each context."""
    c = params.counts
    if smoothing == "laplace":
        return jnp.log(c + alpha) - jnp.log(jnp.sum(c, axis=-1, keepdims=True) + alpha * V)
    return jnp.log(_kneser_ney(c, order, discount))


def sequence_log_probs(logp: jax.Array, seqs: jax.Array, order: int) -> jax.Array:
    """Log-probabilities ``[N, L]`` of each character of ``seqs [N, L]`` under the table ``logp``."""
    return logp[_contexts(seqs, order), seqs.astype(jnp.int32)]


def sample(key, logp: jax.Array, n: int, length: int, order: int) -> jax.Array:
    """``n`` sequences ``int32[n, length]`` drawn character by character (a ``lax.scan`` over positions).

    Each character is an inverse-CDF draw: one uniform per character against the cumulative row
    of its context (29 comparisons; a Gumbel-max draw would cost 29 random numbers).
    """
    cdf = jnp.cumsum(jnp.exp(logp), axis=-1)
    cdf = cdf / cdf[:, -1:]
    u = jax.random.uniform(key, (length, n), cdf.dtype)
    width = (V + 1) ** (order - 2) if order > 1 else 1

    def step(ctx, u_t):
        tok = jnp.minimum(jnp.sum(cdf[ctx] <= u_t[:, None], axis=-1), V - 1).astype(jnp.int32)
        nxt = (ctx % width) * (V + 1) + tok if order > 1 else ctx
        return nxt, tok

    start = jnp.full((n,), sum(BOS * (V + 1) ** j for j in range(order - 1)), jnp.int32)
    _, toks = jax.lax.scan(step, start, u)
    return toks.T


@functools.lru_cache(maxsize=8)
def ngram_estimator(
    *,
    order: int = 3,
    smoothing: str = "laplace",
    alpha: float = 0.1,
    discount: float = 0.75,
    length: int = 64,
    eval_samples: int = 128,
) -> Estimator:
    """The recursive character n-gram model as a user estimator (module docstring); one object per setting.

    Args:
        order: n (1 = unigram; the table has ``(V + 1)^(n - 1) V`` entries, V = 29).
        smoothing: one of :data:`SMOOTHING`.
        alpha: Laplace's pseudo-count.
        discount: Kneser-Ney's absolute discount, in (0, 1).
        length: characters per sequence (a data point).
        eval_samples: sequences sampled for ``gen_log_ppl``.

    Returns:
        An :class:`~collapse_theory.families.user.Estimator` for ``ct.run``.

    Raises:
        ConfigError: a setting out of range.

    """
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= 4:
        raise ConfigError(f"ngram_estimator: order must be 1, 2, 3 or 4, got {order!r}")
    if smoothing not in SMOOTHING:
        raise ConfigError(f"ngram_estimator: smoothing must be one of {', '.join(SMOOTHING)}, got {smoothing!r}")
    if not alpha > 0:
        raise ConfigError(f"ngram_estimator: alpha must be positive, got {alpha!r}")
    if not 0 < discount < 1:
        raise ConfigError(f"ngram_estimator: discount must be in (0, 1), got {discount!r}")
    corp = data.corpus(length)
    train, held = jnp.asarray(corp.train), jnp.asarray(corp.heldout)
    truth = NgramParams(np.asarray(counts(train, jnp.ones(train.shape[0], jnp.float32), order), np.float32))
    held_index, held_counts = np.unique(np.asarray(_contexts(held, order) * V + held).ravel(), return_counts=True)
    real_types = np.asarray(truth.counts > 0)
    real_chars = np.asarray(truth.counts.sum(axis=0) > 0)
    eval_key = jax.random.key(5)

    def table(p):
        return log_probs(p, order, smoothing, alpha, discount)

    def fit(points, weights):
        return NgramParams(counts(points, weights, order))

    def draw(key, params, n):
        return sample(key, table(params), n, length, order)

    def real(key, n):
        if n > train.shape[0]:
            raise ConfigError(f"the n-gram chain draws real sequences without replacement: samples <= {train.shape[0]}")
        return train[jax.random.permutation(key, train.shape[0])[:n]]

    def metrics(p):
        logp = table(p)
        dtype = logp.dtype
        logp0 = table(NgramParams(jnp.asarray(truth.counts, dtype)))
        gen = sample(eval_key, logp, eval_samples, length, order)
        gen_lp = -jnp.mean(sequence_log_probs(logp0, gen, order), axis=-1)
        seen = p.counts > 0
        return {
            "heldout_ppl": jnp.exp(-ordered_sum(held_counts * logp.ravel()[held_index]) / held.size),
            "gen_log_ppl": jnp.mean(gen_lp),
            "gen_log_ppl_sd": jnp.std(gen_lp),
            "support_lost": jnp.sum(real_types & ~seen) / real_types.sum(),
            "vocab_lost": jnp.sum(real_chars & ~jnp.any(seen, axis=0)) / real_chars.sum(),
        }

    settings = dict(order=order, smoothing=smoothing, alpha=alpha, discount=discount, length=length)
    return estimator(
        sample=draw,
        fit=fit,
        truth=truth,
        metrics=metrics,
        name=f"ngram-{order}-{smoothing}",
        real=real,
        details={
            **settings,
            "eval_samples": eval_samples,
            "corpus": f"docstrings of {len(data.MODULES)} stdlib modules, Python {corp.python}, sha256 {corp.sha256[:16]}",
        },
    )
