"""The character n-gram chain: exact counts, proper smoothing, the contract, collapse signatures."""

from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import collapse_theory as ct
from collapse_theory import testing as ctt
from collapse_theory.neural import data, ngram

RATE = 1e-6
"""Each statistical test's false-failure rate."""

V, BOS = ngram.V, ngram.BOS


def python_counts(seqs, weights, order):
    """The n-gram counts by a plain Python loop: ((context...), next) -> summed weight."""
    out = Counter()
    for s, w in zip(seqs.tolist(), weights.tolist(), strict=True):
        pad = [BOS] * (order - 1) + s
        for t in range(len(s)):
            out[(tuple(pad[t : t + order - 1]), pad[t + order - 1])] += w
    return out


@pytest.mark.parametrize("order", [1, 2, 3])
def test_counts_are_exact(order):
    rng = np.random.default_rng(0)
    seqs = rng.integers(0, V, (37, 11)).astype(np.int32)
    weights = rng.integers(0, 4, 37).astype(np.float32)
    got = np.asarray(ngram.counts(jnp.asarray(seqs), jnp.asarray(weights), order))
    want = np.zeros_like(got)
    for (ctx, w), c in python_counts(seqs, weights, order).items():
        idx = 0
        for a in ctx:
            idx = idx * (V + 1) + a
        want[idx, w] = c
    np.testing.assert_array_equal(got, want)  # integer weights: float32 sums are exact


def test_fit_is_the_counts_of_the_training_text():
    est = ngram.ngram_estimator()
    train = data.corpus().train
    c = python_counts(train, np.ones(train.shape[0]), 3)
    got = est.truth.counts
    assert got.sum() == train.size
    for (ctx, w), n in list(c.items())[:500]:
        assert got[(ctx[0] * (V + 1) + ctx[1]), w] == n


@pytest.mark.parametrize("smoothing", ngram.SMOOTHING)
def test_smoothed_rows_are_distributions(smoothing):
    est = ngram.ngram_estimator(smoothing=smoothing)
    with jax.enable_x64(True):
        p = jnp.exp(
            ngram.log_probs(ngram.NgramParams(jnp.asarray(est.truth.counts, jnp.float64)), 3, smoothing, 0.1, 0.75)
        )
        np.testing.assert_allclose(np.asarray(p.sum(axis=-1)), 1.0, rtol=0, atol=1e-12)
        assert float(p.min()) > 0


def test_corpus_is_deterministic():
    a = data.corpus.__wrapped__(64, 10)
    b = data.corpus.__wrapped__(64, 10)
    assert a.sha256 == b.sha256 and np.array_equal(a.train, b.train)
    assert data.decode(data.encode("the cat, sat.")) == "the cat, sat."


@pytest.mark.parametrize("smoothing", ngram.SMOOTHING)
def test_contract(smoothing):
    est = ngram.ngram_estimator(smoothing=smoothing)
    assert ctt.check_estimator(est, samples=8, chains=64, false_fail_rate=RATE).passed


def welch_greater(a, b, rate, what):
    """One-sided Welch test that E a > E b (t with Welch-Satterthwaite degrees of freedom)."""
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    t = (a.mean() - b.mean()) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    crit = stats.t.ppf(1 - rate, df)
    assert t > crit, f"{what}: t = {t:.2f} <= {crit:.2f}"


def test_collapse_signatures():
    """Replace: held-out perplexity grows, n-grams are lost; 10 % real data: at most 3/4 of replace's excess.

    The excess is each chain's log-perplexity at generation 8 over its own at generation 1 (the
    fit to real text); "much smaller" is claimed as at most 3/4, each one-sided test at a stated rate.
    """
    est = ngram.ngram_estimator()
    kw = dict(samples=500, generations=8, chains=64, seed=0, record=(1, 2, 4, 8))
    rep = ct.run(est, "replace", **kw)
    fr = ct.run(est, "fresh", real_fraction=0.1, **kw)
    ctt.assert_grows(rep, "heldout_ppl", log=True, false_fail_rate=RATE / 4)
    ctt.assert_grows(rep, "support_lost", false_fail_rate=RATE / 4)
    excess_r = np.log(rep.values["heldout_ppl"][-1] / rep.values["heldout_ppl"][0])
    excess_f = np.log(fr.values["heldout_ppl"][-1] / fr.values["heldout_ppl"][0])
    welch_greater(0.75 * excess_r, excess_f, RATE / 4, "3/4 of replace's excess log-perplexity over fresh-10 %'s")
    welch_greater(rep.values["support_lost"][-1], fr.values["support_lost"][-1], RATE / 4, "support lost")
