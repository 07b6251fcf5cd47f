"""Wright-Fisher chains with many states, where the MLE under replace keeps its states in slot
order (families.categorical, ``slots``): the closed forms of docs/derivations.md, 'Wright-Fisher
(categorical)', the identity of the absorbing state (the metrics read the slots back in state
order), and chunk invariance across the prefix / live tree switch."""

import numpy as np
from budget import ALPHA

import collapse_theory as ct
from collapse_theory.families.categorical import LIVE_MIN_STATES, PREFIX_MAX_SPAN
from collapse_theory.testing import assert_mean

_R = np.random.default_rng(8).random(24) * (np.arange(24) % 5 != 3)  # dead states between live ones
P24 = tuple(float(x) for x in _R / _R.sum())
H24 = 1 - sum(p * p for p in P24)


def sim(**kw):
    base = dict(family="categorical", probs=P24, samples=30, generations=40, chains=20_000, seed=6)
    base.update(kw)
    return ct.simulate(ct.SimConfig(**base), progress=False)


def test_slot_order_is_used_from_this_many_states():
    assert len(P24) >= LIVE_MIN_STATES


def test_replace_heterozygosity_and_support_with_many_states():
    M = 30
    r = sim(record=(1, 20, 40))
    assert_mean(r.values["heterozygosity"][1], H24 * (1 - 1 / M) ** 20, ALPHA, 3, "E H_20")
    assert_mean(r.values["heterozygosity"][2], H24 * (1 - 1 / M) ** 40, ALPHA, 3, "E H_40")
    assert_mean(r.values["support"][0], sum(1 - (1 - p) ** M for p in P24), ALPHA, 3, "E support_1")
    # E KL(p_1 || p0) is not closed, but TV and KL are >= 0 and vanish only at the truth
    assert np.all(r.values["tv"][0] > 0) and np.all(r.values["kl"][0] > -1e-6)
    # every chain: 0 <= entropy <= log(support), heterozygosity <= 1 - 1/support,
    # up to the float32 carrier: each p off by <= u = 2^-24 relative moves the entropy by at most
    # u sum p (|log p| + 1) <= u (log K + 1) and the heterozygosity by at most 2 u
    u = 2.0**-24
    ent, sup, het = (r.values[k] for k in ("entropy", "support", "heterozygosity"))
    assert np.all(ent >= -u) and np.all(ent <= np.log(sup) + u * (np.log(len(P24)) + 1))
    assert np.all(het <= 1 - 1 / sup + 2 * u)


def test_absorbing_state_is_state_i_with_probability_p0_i():
    """Every chain absorbs (M = 3, 40 generations); it ends in state i with probability
    p0[i], read from the metrics in state order: tv = 1 - p0[i] names the state (distinct p0)."""
    r = sim(samples=3, record=(40,))
    tv = r.values["tv"][0]
    absorbed = r.values["support"][0] == 1
    assert absorbed.mean() > 0.999
    live = [i for i, p in enumerate(P24) if p > 0]
    hits = np.zeros(tv.shape, int)
    for i in live:
        hit = absorbed & np.isclose(tv, 1 - P24[i], atol=2e-6)
        hits += hit
        assert_mean(hit.astype(float), P24[i], ALPHA, len(live), f"P(fix at state {i})")
    assert hits.max() <= 1  # the probabilities are distinct enough to name one state


def test_chunks_give_the_same_chains_across_the_tree_switch():
    """Uniform over 70 states (M = 200): spans start above PREFIX_MAX_SPAN and fall below it at
    different generations in different chunks, so chunks take the live and the prefix tree at
    different times; every chain's values are bit-identical whatever the chunk."""
    probs = tuple([1 / 70] * 70)
    kw = dict(probs=probs, samples=200, generations=30, chains=192, record=(1, 4, 8, 16, 30))
    whole = sim(**kw)
    parts = sim(**kw, chunk_size=64)
    for k in whole.values:
        np.testing.assert_array_equal(parts.values[k], whole.values[k], err_msg=k)
    support = whole.values["support"]
    assert support[0].max() > PREFIX_MAX_SPAN > support[-1].max()


def test_accumulate_with_many_states_keeps_state_order():
    """Accumulate uses the state-order kernel: the closed product form of E H_n holds."""
    M, n = 30, 20
    r = sim(scenario="accumulate", generations=n, record=(n,), chains=20_000)
    closed = H24 * (1 - 1 / M) * np.prod([1 - 1 / (j * j * M) for j in range(2, n + 1)])
    assert_mean(r.values["heterozygosity"][0], closed, ALPHA, 1, "accumulate E H_20 (24 states)")
