"""The prefix multinomial (random.prefix_multinomial) and the categorical family's slot order.

Exactness: marginal laws of single states and of sets of states (Binomial(n, sum p)) by the
exact-law KS test; identity: the prefix tree draws the same counts as the paged live tree for
slot-ordered probabilities (so a batch may take either path); the slot partition keeps the counts
of every state and the order of the survivors.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats as st
from budget import ALPHA

from collapse_theory.families.categorical import _in_state_order, _repack
from collapse_theory.random import bits
from collapse_theory.random.live_multinomial import live_multinomial
from collapse_theory.random.prefix_multinomial import prefix_multinomial
from collapse_theory.testing.laws import assert_exact_law

K, SPAN, N_DRAWS, CHAINS = 37, 21, 60, 20_000
_W = np.random.default_rng(4).random(SPAN) * (np.arange(SPAN) % 4 != 2)  # dead states inside the span
P_SLOTS = np.concatenate([_W / _W.sum(), np.zeros(K - SPAN)])
SETS = ((0,), (3,), (20,), (0, 1), tuple(range(0, 8)), tuple(range(8, 16)), tuple(range(1, 21, 2)))

_prefix = jax.jit(prefix_multinomial, static_argnums=5)
_live = jax.jit(live_multinomial, static_argnums=4)


@functools.cache
def _counts():
    probs = jnp.broadcast_to(jnp.asarray(P_SLOTS, jnp.float32), (CHAINS, K))
    chains = jnp.arange(CHAINS, dtype=jnp.uint32)
    span = jnp.full((CHAINS,), SPAN, jnp.int32)
    return np.asarray(_prefix(bits.key_from_seed(11), chains, jnp.float32(N_DRAWS), probs, span, jnp.float32))


def test_prefix_multinomial_exact_marginal_laws():
    x = _counts()
    for s in SETS:
        assert_exact_law(
            x[:, list(s)].sum(axis=1),
            st.binom(N_DRAWS, P_SLOTS[list(s)].sum()),
            false_fail_rate=ALPHA / len(SETS),
            what=f"counts of slots {s}",
        )
    wrong = assert_exact_law(x[:, :8].sum(axis=1), st.binom(N_DRAWS, 1.05 * P_SLOTS[:8].sum()), raise_on_failure=False)
    assert not wrong.passed  # negative control: a 5 % error in one node's share is seen


def test_prefix_multinomial_counts_are_integers_summing_to_n_with_dead_slots_empty():
    x = _counts()
    np.testing.assert_array_equal(x.sum(axis=1), N_DRAWS)
    np.testing.assert_array_equal(x[:, P_SLOTS == 0], 0.0)
    assert np.array_equal(x, np.round(x)) and x.min() >= 0


NARROW = 41  # chains 1..40 keep their mass in at most 3 slots


def _ragged(rng, C, top, k=100):
    """Slot-ordered probabilities: chain c's mass in its first span[c] <= top slots, some dead."""
    span = rng.integers(1, top + 1, C)
    span[0] = top
    span[1:NARROW] = np.minimum(span[1:NARROW], 3)
    p = np.zeros((C, k), np.float32)
    for c in range(C):
        w = rng.random(span[c]) * (rng.random(span[c]) > 0.2)
        w[0] += 0.5
        p[c, : span[c]] = w / w.sum()
    return jnp.asarray(p), jnp.asarray(span, jnp.int32)


def test_prefix_tree_draws_what_the_live_tree_draws_whatever_the_batch():
    """Both trees key node (height h, index i) of chain c alike, so for slot-ordered masses the
    counts are bit-identical, and a chain's counts do not change when the other chains of the
    batch need a taller subtree (spans 2..100 take 1..7 heights)."""
    rng = np.random.default_rng(5)
    C = 300
    chains = jnp.arange(C, dtype=jnp.uint32) + 1000
    n = jnp.full((C,), 500.0)
    key = bits.key_from_seed(12)
    for top in (2, 5, 16, 33, 64, 100):
        p, span = _ragged(rng, C, top)
        a = np.asarray(_prefix(key, chains, n, p, span, jnp.float32))
        b = np.asarray(_live(key, chains, n, p, jnp.float32))
        np.testing.assert_array_equal(a, b, err_msg=f"span {top}")
        np.testing.assert_array_equal(a.sum(axis=1), 500.0)
        # the narrow chains alone (a shorter subtree for the batch) draw the same counts
        sub = _prefix(key, chains[1:NARROW], n[1:NARROW], p[1:NARROW], span[1:NARROW], jnp.float32)
        np.testing.assert_array_equal(np.asarray(sub), a[1:NARROW], err_msg=f"span {top}, narrow chains")


def test_counts_do_not_depend_on_pages_retry_buffers_or_unrolled_steps(monkeypatch):
    """Each lane keeps its first accepted attempt, whichever path settles it: tiny pages and retry
    buffers (every depth overflows them, so lanes are served over several rounds) and 4 unrolled
    inversion steps (lanes past them finish by the one-step tail) draw the counts of the defaults,
    bit for bit, in both trees."""
    from collapse_theory.random import live_multinomial as live_mod
    from collapse_theory.random import prefix_multinomial as prefix_mod

    rng = np.random.default_rng(8)
    C = 120
    chains = jnp.arange(C, dtype=jnp.uint32) + 77
    key = bits.key_from_seed(13)
    p, span = _ragged(rng, C, 40, k=40)
    n = jnp.asarray(rng.choice([40.0, 500.0, 3000.0], C))  # inversion and BTRS nodes at every height

    def draw():  # fresh functions: traced anew under the patched settings
        a = jax.jit(lambda *a: prefix_multinomial(*a, jnp.float32))(key, chains, n, p, span)
        b = jax.jit(lambda *a: live_multinomial(*a, jnp.float32))(key, chains, n, p)
        return np.asarray(a), np.asarray(b)

    ref = draw()
    for mod, name, value in (
        (live_mod, "_PAGE", 64),
        (live_mod, "_SMALL_PAGE", 16),
        (live_mod, "_RETRY", 4),
        (live_mod, "_INV_STEPS", 4),
        (prefix_mod, "_PAGE", (16, 16)),
        (prefix_mod, "_RETRY", 4),
    ):
        monkeypatch.setattr(mod, name, value)
    np.testing.assert_array_equal(ref[0], ref[1])  # slot-ordered masses: the trees agree
    for a, b in zip(ref, draw(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ref[0].sum(axis=1), np.asarray(n))


def test_repack_keeps_every_state_count_and_the_survivors_order():
    rng = np.random.default_rng(6)
    C, k = 200, 100
    for top in (3, 16, 17, 40, 100):
        span = rng.integers(1, top + 1, C)
        counts = np.zeros((C, k), np.float32)
        for c in range(C):
            counts[c, : span[c]] = rng.integers(0, 3, span[c]) * (rng.random(span[c]) < 0.6)
            counts[c, 0] += 1
        states = np.stack([rng.permutation(k) for _ in range(C)]).astype(np.int32)
        c2, s2, sp2 = (
            np.asarray(a) for a in _repack(jnp.asarray(counts), jnp.asarray(states), jnp.asarray(span, jnp.int32))
        )
        assert all(sorted(row) == list(range(k)) for row in s2.tolist()), "slots hold a permutation"
        before = np.asarray(_in_state_order(jnp.asarray(counts), jnp.asarray(states)))
        after = np.asarray(_in_state_order(jnp.asarray(c2), jnp.asarray(s2)))
        np.testing.assert_array_equal(after, before)
        live = counts > 0
        np.testing.assert_array_equal(sp2, live.sum(axis=1))
        for c in range(0, C, 17):
            m = int(sp2[c])
            assert np.all(c2[c, :m] > 0) and np.all(c2[c, m:] == 0)
            np.testing.assert_array_equal(s2[c, :m], states[c][live[c]])  # survivors keep their order
