"""Cross-entropy and KL of 1-D Gaussian mixtures (metrics/mixture.py) against adaptive quadrature.

The module states: relative error <= 1e-11 for the cross-entropy and <= 1e-9 for
``KL = cross-entropy - entropy`` (float64), over separated and overlapping mixtures, skewed
and heavy-tailed ones, and fitted components from 1e-3 to 1e3 times the truth's sds. Each case
is checked at that stated bound against ``quadrature_reference`` (scipy ``quad`` on pieces at
the features, whose own error estimate must be 100 times smaller than the bound).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import quadrature_reference as ref

from collapse_theory.metrics import mixture

M = ref.mix
CE_BOUND, KL_BOUND = 1e-11, 1e-9

# (G, P): G the weight (the truth), P the model.
CASES = {
    "separated": (M([0.5, 0.5], [-3, 3], [1, 1]), M([0.45, 0.55], [-2.9, 3.1], [1.05, 0.95])),
    "overlapping": (M([0.5, 0.5], [-0.5, 0.5], [1, 1]), M([0.3, 0.7], [-0.2, 0.4], [0.9, 1.2])),
    "skewed": (M([0.9, 0.1], [0, 4], [1, 0.5]), M([0.85, 0.15], [0.1, 3.8], [1.1, 0.6])),
    "heavy-ish tail": (M([0.9, 0.1], [0, 0], [1, 5]), M([0.5, 0.5], [-0.3, 0.3], [1, 2])),
    "collapsed component": (M([0.5, 0.5], [-3, 3], [1, 1]), M([0.5, 0.5], [-3, 3.2], [1e-3, 1])),
    "wide component": (M([0.5, 0.5], [-2, 2], [1, 1]), M([0.5, 0.5], [-2, 2.5], [1e3, 1])),
    "gaussian vs mixture": (M([1.0], [0.3], [1.7]), M([0.5, 0.5], [-2, 2], [1, 1])),
    "three vs two": (M([0.2, 0.5, 0.3], [-4, 0, 5], [1, 0.7, 1.2]), M([0.45, 0.55], [-2, 2.1], [1.05, 0.95])),
    "gmm default vs moment gaussian": (M([0.5, 0.5], [-3, 3], [1, 1]), M([1.0], [0.0], [10**0.5])),
}


_CE = jax.jit(mixture.cross_entropy, static_argnames="order")


def _pad(x, k=3):
    """Zero-weight copies of the first component up to ``k`` (ignored; one compiled shape)."""
    n = k - len(x[0])
    return tuple(np.concatenate([v, np.full(n, 0.0 if i == 0 else v[0])]) for i, v in enumerate(x))


def _ce(g, p):
    with jax.enable_x64(True):
        return float(_CE(*(jnp.asarray(v)[None] for v in _pad(g) + _pad(p)))[0])


@pytest.mark.parametrize("name", list(CASES))
def test_cross_entropy_and_kl_against_adaptive_quadrature(name):
    g, p = CASES[name]
    r_ce, e_ce = ref.cross_entropy(g, p)
    r_kl, e_kl = ref.kl(g, p)
    assert e_ce < 1e-2 * CE_BOUND * abs(r_ce) and e_kl < 1e-2 * KL_BOUND * r_kl
    ce = _ce(g, p)
    assert abs(ce - r_ce) <= CE_BOUND * abs(r_ce), (ce, r_ce)
    kl = ce - _ce(g, g)
    assert abs(kl - r_kl) <= KL_BOUND * r_kl, (kl, r_kl)


def test_single_gaussian_model_is_closed_form_and_batched():
    """P a Gaussian: the closed form exactly, batched over chains, in float32 too."""
    rng = np.random.default_rng(0)
    gm, pm = rng.normal(0, 2, (2, 20))
    gs, ps = np.exp(rng.normal(0, 1, (2, 20)))
    exact = 0.5 * np.log(2 * np.pi * ps**2) + ((gm - pm) ** 2 + gs**2) / (2 * ps**2)
    one = np.ones((20, 1))
    with jax.enable_x64(True):
        got = mixture.cross_entropy(
            *(jnp.asarray(v) for v in (one, gm[:, None], gs[:, None], one, pm[:, None], ps[:, None]))
        )
    np.testing.assert_allclose(np.asarray(got), exact, rtol=1e-14)
    got32 = mixture.cross_entropy(
        *(jnp.asarray(v, jnp.float32) for v in (one, gm[:, None], gs[:, None], one, pm[:, None], ps[:, None]))
    )
    assert got32.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(got32), exact, rtol=1e-5)


def test_point_mass_weight_is_the_limit():
    """A zero-sd component of G gives -log P at its mean (the limit), not a loss of the nodes."""
    p = M([0.3, 0.7], [-1, 2], [0.5, 1.5])
    with jax.enable_x64(True):
        got = float(mixture.cross_entropy(*(jnp.asarray(v)[None] for v in (*M([1.0], [0.7], [0.0]), *p)))[0])
    assert got == pytest.approx(-ref.log_pdf(0.7, p), rel=1e-14)


def test_zero_weight_components_are_ignored():
    g, p = CASES["skewed"]
    padded = M([*p[0], 0.0], [*p[1], 50.0], [*p[2], 1e-4])
    with jax.enable_x64(True):
        got = float(mixture.cross_entropy(*(jnp.asarray(v)[None] for v in g + padded))[0])
    assert got == pytest.approx(_ce(g, p), rel=1e-14)


def test_too_few_nodes_miss_the_bound():
    """Negative control: the check above detects a coarse rule (2 nodes a panel)."""
    g, p = CASES["collapsed component"]
    r_ce, _ = ref.cross_entropy(g, p)
    with jax.enable_x64(True):
        coarse = float(mixture.cross_entropy(*(jnp.asarray(v)[None] for v in g + p), order=2)[0])
    assert abs(coarse - r_ce) > CE_BOUND * abs(r_ce)
