"""Lane-wise linear algebra (collapse_theory.families.lanewise) against float64 numpy.

Tolerances are worst-case rounding bounds (Higham, Accuracy and Stability of Numerical
Algorithms, 2002: gamma_n = n u / (1 - n u), Lemma 3.1; inner products Sec. 3.1; Cholesky
Thm 10.3 and the solve Thm 10.4), u = 2^-24, so a correct implementation never fails them; a
wrong entry, a dropped or extra row breaks them by orders of magnitude.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from collapse_theory.families import lanewise

U, U64 = 2.0**-24, 2.0**-53


def gamma(n: int, u: float = U) -> float:
    return n * u / (1.0 - n * u)


@pytest.mark.parametrize("rows", [1, 5, 64, 65, 100, 130])
def test_gram_matches_numpy_and_is_lane_independent(rows):
    """Rows beyond 2 * BLOCK take the blocked loop; chain c's sum does not depend on C."""
    rng = np.random.default_rng(rows)
    p, C = 4, 192
    z = rng.standard_normal((rows, p, C)).astype(np.float32)
    keep = rng.random((rows, C)) < 0.8
    got = np.asarray(lanewise.gram(jnp.asarray(z), jnp.asarray(keep)), np.float64)
    zm = np.where(keep[:, None, :], z, 0.0).astype(np.float64)
    ref = np.einsum("tic,tjc->ijc", zm, zm)
    bound = gamma(rows) * np.einsum("tic,tjc->ijc", np.abs(zm), np.abs(zm))
    assert np.all(np.abs(got - ref) <= bound)
    np.testing.assert_array_equal(got, np.swapaxes(got, 0, 1))
    part = np.asarray(lanewise.gram(jnp.asarray(z[..., :64]), jnp.asarray(keep[:, :64])), np.float64)
    np.testing.assert_array_equal(part, got[..., :64])
    # Negative control: the same sum over one row fewer is outside the bound somewhere.
    if rows > 1:
        short = np.einsum("tic,tjc->ijc", zm[:-1], zm[:-1])
        assert np.any(np.abs(got - short) > bound)


def test_cholesky_and_solve_within_higham_bounds():
    rng = np.random.default_rng(0)
    d, C = 10, 128
    x = rng.standard_normal((C, 40, d))
    G = np.einsum("cti,ctj->cij", x, x).astype(np.float32)
    b = rng.standard_normal((C, d)).astype(np.float32)
    L = np.asarray(lanewise.from_lanes(lanewise.cholesky(lanewise.to_lanes(jnp.asarray(G)))), np.float64)
    w = np.asarray(lanewise.from_lanes(lanewise.spd_solve(lanewise.to_lanes(jnp.asarray(G)), jnp.asarray(b).T)))
    G64, b64 = G.astype(np.float64), b.astype(np.float64)
    absLLt = np.abs(L) @ np.abs(np.swapaxes(L, 1, 2))
    assert np.all(np.triu(L, 1) == 0)
    assert np.all(np.abs(L @ np.swapaxes(L, 1, 2) - G64) <= (gamma(d + 1) + gamma(d + 1, U64)) * absLLt)
    ref = np.stack([scipy.linalg.cho_solve(scipy.linalg.cho_factor(G64[c], lower=True), b64[c]) for c in range(C)])
    for c in range(C):
        # (G + dG) w^ = b with ||dG||_2 <= gamma_{3d+1} || |L||L^T| ||_2 (Thm 10.4), so
        # ||w^ - w|| <= ||G^-1|| ||dG|| ||w^||; the float64 Cholesky reference, the same with u = 2^-53.
        inv, nl = 1.0 / np.linalg.eigvalsh(G64[c])[0], np.linalg.norm(absLLt[c], 2)
        tol = inv * nl * (gamma(3 * d + 1) * np.linalg.norm(w[c]) + gamma(3 * d + 1, U64) * np.linalg.norm(ref[c]))
        assert np.linalg.norm(w[c] - ref[c]) <= tol, c
    # Not positive definite: NaN, as LAPACK's potrf reports failure.
    bad = np.asarray(lanewise.spd_solve(jnp.asarray(-G[:2]).transpose(1, 2, 0), jnp.asarray(b[:2]).T))
    assert np.all(np.isnan(bad))
