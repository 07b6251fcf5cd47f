"""The EM-fitted Gaussian-mixture family: recovery, monotone EM, convergence flags, collapse."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import quadrature_reference as ref
from budget import ALPHA
from harness import run
from scipy import integrate, special, stats

from collapse_theory.families.gmm import METRICS, Params, gmm
from collapse_theory.families.gmm_em import em, init_quantile
from collapse_theory.random import bits
from collapse_theory.testing.assertions import assert_ks, assert_mean, assert_variance


def _sample(family, chains, n, seed, dtype=jnp.float32):
    ch = jnp.arange(chains, dtype=jnp.uint32)
    return family.draw(bits.key_from_seed(seed), ch, family.truth(chains), jnp.asarray(n, dtype), n)


def _fisher_cov(w, m1, m2, s1, s2):
    """Inverse Fisher information per point of (w, m1, m2, s1, s2), by a fine trapezoid rule."""
    x = np.linspace(min(m1 - 15 * s1, m2 - 15 * s2), max(m1 + 15 * s1, m2 + 15 * s2), 200001)
    f1, f2 = stats.norm.pdf(x, m1, s1), stats.norm.pdf(x, m2, s2)
    p = w * f1 + (1 - w) * f2
    score = np.stack(
        [
            (f1 - f2) / p,
            w * f1 * (x - m1) / s1**2 / p,
            (1 - w) * f2 * (x - m2) / s2**2 / p,
            w * f1 * ((x - m1) ** 2 / s1**3 - 1 / s1) / p,
            (1 - w) * f2 * ((x - m2) ** 2 / s2**3 - 1 / s2) / p,
        ]
    )
    info = integrate.trapezoid(score[:, None] * score[None] * p, x, axis=-1)
    return np.linalg.inv(info)


def test_em_recovers_parameters_at_fisher_rate():
    """n = 5000, 200 chains: fitted means unbiased with the asymptotic (Fisher) variance."""
    n, chains = 5000, 200
    fam = gmm((0.5, 0.5), (-3.0, 3.0), (1.0, 1.0), size=n)
    p = jax.jit(fam.fit)(_sample(fam, chains, n, seed=1))
    assert np.all(np.asarray(p.converged) == 1.0)
    cov = _fisher_cov(0.5, -3.0, 3.0, 1.0, 1.0) / n
    # Fisher variance is close to the no-overlap value sd^2 / (n w) for this separation
    np.testing.assert_allclose(cov[1, 1], 1.0 / (n * 0.5), rtol=0.05)
    k = 5
    means = np.asarray(p.means, np.float64)
    assert_mean(means[:, 0], -3.0, ALPHA, k, "m1")
    assert_mean(means[:, 1], 3.0, ALPHA, k, "m2")
    assert_mean(np.asarray(p.weights)[:, 0], 0.5, ALPHA, k, "w1")
    assert_variance(means[:, 0], cov[1, 1], ALPHA, k, "var m1")
    assert_variance(means[:, 1], cov[2, 2], ALPHA, k, "var m2")


def test_draw_matches_truth_law():
    fam = gmm((0.3, 0.7), (-1.0, 2.0), (1.0, 0.5), size=500)
    pts = _sample(fam, 8, 500, seed=2)
    assert pts.x.shape == (8, 500)

    def cdf(x):
        return 0.3 * special.ndtr(x + 1.0) + 0.7 * special.ndtr((x - 2.0) / 0.5)

    assert_ks(np.asarray(pts.x), cdf, ALPHA)


def _loglik(p, x):
    w, m, s = (np.asarray(a, np.float64) for a in (p.weights, p.means, np.exp(p.log_sds)))
    lp = special.logsumexp(
        np.log(w)[:, None, :] + stats.norm.logpdf(x[:, :, None], m[:, None, :], s[:, None, :]), axis=-1
    )
    return lp.mean(axis=1)


def test_em_loglik_non_decreasing_float64():
    """EM's ascent property, in float64: fixed iteration counts k and k + 1 (tol=None)."""
    with jax.enable_x64(True):
        lls = []
        for it in (1, 2, 3):
            fam = gmm((0.4, 0.6), (-1.0, 1.0), (1.0, 1.0), iterations=it, tol=None, size=400, dtype=jnp.float64)
            pts = _sample(fam, 6, 400, seed=3, dtype=jnp.float64)
            p = jax.jit(fam.fit)(pts)
            assert p.means.dtype == jnp.float64
            assert np.all(np.isnan(np.asarray(p.converged)))
            np.testing.assert_array_equal(np.asarray(p.iters), it)
            lls.append(_loglik(p, np.asarray(pts.x)))
        m = jax.jit(fam.metrics)(p)
        assert all(m[name].dtype == jnp.float64 for name in METRICS)
    lls = np.array(lls)
    assert np.all(np.diff(lls, axis=0) >= -1e-12)
    assert np.all(lls[-1] - lls[0] > 0)


def test_label_invariance():
    a = gmm((0.3, 0.7), (-1.0, 2.0), (1.0, 0.5), size=300)
    b = gmm((0.7, 0.3), (2.0, -1.0), (0.5, 1.0), size=300)
    for x, y in zip(a.truth(4), b.truth(4), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    p = jax.jit(a.fit)(_sample(a, 16, 300, seed=4))
    q = jax.jit(b.fit)(_sample(b, 16, 300, seed=4))
    metrics = jax.jit(a.metrics)
    ma, mb = metrics(p), metrics(q)
    flipped = Params(p.weights[:, ::-1], p.means[:, ::-1], p.log_sds[:, ::-1], p.converged, p.iters)
    mf = metrics(flipped)
    for name in METRICS:
        np.testing.assert_array_equal(np.asarray(ma[name]), np.asarray(mb[name]))
        np.testing.assert_allclose(np.asarray(mf[name]), np.asarray(ma[name]), rtol=1e-5)


def test_metrics_at_truth():
    fam = gmm((0.5, 0.5), (-3.0, 3.0), (1.0, 1.0), size=10)
    m = jax.jit(fam.metrics)(fam.truth(3))
    assert fam.metric_names == METRICS and sorted(m) == sorted(METRICS)
    np.testing.assert_array_equal(np.asarray(m["w2_sq"]), 0.0)  # the truth itself: exactly 0
    np.testing.assert_allclose(np.asarray(m["tail_mass"]), 0.002, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(m["separation"]), 6.0 / np.sqrt(2.0), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(m["sigma2"]), 10.0, rtol=1e-6)
    # nll at the truth is its entropy (scipy quad reference); float32 rounding bounds the match
    h, _ = ref.cross_entropy(ref.mix((0.5, 0.5), (-3.0, 3.0), (1.0, 1.0)), ref.mix((0.5, 0.5), (-3.0, 3.0), (1.0, 1.0)))
    np.testing.assert_allclose(np.asarray(m["nll"]), h, rtol=1e-6)


def test_nll_and_w2_on_fitted_states_against_adaptive_quadrature():
    """The stated accuracies on EM fits: nll relative error <= 1e-11, w2_sq <= 1e-9 (float64).

    Fits to n = 12 points (poor fits: displaced, narrow and wide components) and two collapsed
    states (a component's sd 1e-3 and 1e-6 of the truth's), against scipy ``quad`` references.
    The former per-component Gauss-Hermite nll erred by up to 1e-2 on collapsed components.
    """
    truth = ((0.5, 0.5), (-3.0, 3.0), (1.0, 1.0))
    with jax.enable_x64(True):
        fam = gmm(*truth, size=12, dtype=jnp.float64)
        p = jax.jit(fam.fit)(_sample(fam, 6, 12, seed=11, dtype=jnp.float64))
        collapsed = Params(
            jnp.asarray([[0.5, 0.5], [0.3, 0.7]]),
            jnp.asarray([[-3.0, 3.2], [-2.9, 3.0]]),
            jnp.log(jnp.asarray([[1e-3, 1.0], [1.0, 1e-6]])),
            jnp.ones(2),
            jnp.zeros(2),
        )
        p = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), p, collapsed)
        m = jax.jit(fam.metrics)(p)
    g = ref.mix(*truth)
    for i in range(p.means.shape[0]):
        fit = ref.mix(np.asarray(p.weights[i]), np.asarray(p.means[i]), np.exp(np.asarray(p.log_sds[i])))
        r_nll, _ = ref.cross_entropy(g, fit)
        assert abs(float(m["nll"][i]) - r_nll) <= 1e-11 * abs(r_nll), (i, float(m["nll"][i]), r_nll)
        r_w2, e_w2 = ref.w2_sq(g, fit)
        assert e_w2 < 1e-10 * r_w2
        assert abs(float(m["w2_sq"][i]) - r_w2) <= 1e-9 * r_w2, (i, float(m["w2_sq"][i]), r_w2)


def _reference_em(x, pw, k, iterations, tol, floor):
    """Textbook two-pass EM in float64 numpy (logsumexp E-step; M-step about the new means).

    Same standardisation, quantile init (sorted cumulative weights), variance floor and stopping
    rule as ``gmm_em.em``; returns (weights, means, sds) sorted by mean, and the M-steps used.
    """
    out = []
    for xc, wc in zip(x, pw, strict=True):
        centre = np.sum(wc * xc)
        scale = np.sqrt(np.sum(wc * (xc - centre) ** 2))
        y = (xc - centre) / scale
        o = np.argsort(np.where(wc > 0, y, np.inf))
        cum = np.cumsum(wc[o])
        m = np.array([y[o][np.argmax(cum >= (j + 0.5) / k)] for j in range(k)])
        w, var = np.full(k, 1.0 / k), np.full(k, 1.0 / k**2)

        def e_step(w, m, var, y=y, wc=wc):
            lj = np.log(w) + stats.norm.logpdf(y[:, None], m, np.sqrt(var))
            lse = special.logsumexp(lj, axis=1)
            return np.sum(wc * lse), np.exp(lj - lse[:, None])

        ll, resp = e_step(w, m, var)
        used = 0
        for _ in range(iterations):
            r = wc[:, None] * resp
            nk = r.sum(0)
            m = (r * y[:, None]).sum(0) / nk
            var = np.maximum((r * (y[:, None] - m) ** 2).sum(0) / nk, floor)
            w = nk
            used += 1
            ll_new, resp = e_step(w, m, var)
            gain, ll = ll_new - ll, ll_new
            if tol is not None and gain < tol:
                break
        order = np.argsort(m)
        out.append((w[order], centre + scale * m[order], scale * np.sqrt(var[order]), used))
    return out


@pytest.mark.parametrize("k", [2, 3])
def test_em_matches_two_pass_reference_float64(k):
    """The fused one-pass EM (shifted sums, K = 2 one-exp form) is the textbook EM, to rounding.

    Non-uniform weights with empty slots; tol=None (exact iteration count) and tol=1e-7 (the
    stopping iteration must agree). Relative agreement 1e-8: float64 rounding of the two
    algebraically identical M-steps, propagated through at most 60 contracting EM steps.
    """
    rng = np.random.default_rng(21)
    chains, n = 6, 300
    means = np.array([-2.0, 0.5, 2.5])[:k]
    x = means[rng.integers(0, k, (chains, n))] + rng.standard_normal((chains, n))
    pw = rng.uniform(0.5, 1.5, (chains, n)) * (np.arange(n) < n - 20)
    pw /= pw.sum(1, keepdims=True)
    x = np.where(pw > 0, x, 0.0)
    with jax.enable_x64(True):
        for iterations, tol in ((7, None), (60, 1e-7)):
            p = jax.jit(
                lambda x, pw, it=iterations, tol=tol: em(
                    x, pw, k=k, init="quantile", iterations=it, tol=tol, floor=1e-6, dtype=jnp.float64
                )
            )(jnp.asarray(x), jnp.asarray(pw))
            ref = _reference_em(x, pw, k, iterations, tol, 1e-6)
            for c, (w, m, s, used) in enumerate(ref):
                np.testing.assert_allclose(np.asarray(p.weights[c]), w, rtol=1e-8)
                np.testing.assert_allclose(np.asarray(p.means[c]), m, rtol=1e-8, atol=1e-10)
                np.testing.assert_allclose(np.exp(np.asarray(p.log_sds[c])), s, rtol=1e-8)
                assert float(p.iters[c]) == used, (c, float(p.iters[c]), used)


def test_init_quantile_is_the_weighted_quantile():
    """Bisection on ordered keys = the smallest point whose cumulative weight reaches q.

    Against sorted cumulative weights in float64; points whose cumulative weight lies within
    1e-5 of q are skipped (the bisection sums in float32, so a near-tie may go either way).
    Signed values around 0 (including -0.0 and +0.0), empty slots, and a chain without points.
    """
    rng = np.random.default_rng(22)
    chains, n, k = 40, 257, 3
    y = (rng.standard_normal((chains, n)) * 10.0 ** rng.integers(-30, 3, (chains, n))).astype(np.float32)
    y[:, :2] = [-0.0, 0.0]
    pw = (rng.uniform(0.0, 1.0, (chains, n)) * (rng.uniform(size=(chains, n)) > 0.2)).astype(np.float32)
    pw[-1] = 0.0
    pw[:-1] /= pw[:-1].sum(1, keepdims=True)
    got = np.asarray(jax.jit(lambda y, pw: init_quantile(y, pw, k, jnp.float32))(y, pw))
    assert np.all(got[-1] == 0.0)
    checked = 0
    for c in range(chains - 1):
        keep = pw[c] > 0
        o = np.argsort(y[c][keep], kind="stable")
        ys, cum = y[c][keep][o], np.cumsum(pw[c][keep][o].astype(np.float64))
        for j in range(k):
            q = (j + 0.5) / k
            i = int(np.argmax(cum >= q))
            if min(abs(cum[i] - q), abs(cum[i - 1] - q) if i else 1.0) < 1e-5:
                continue
            assert got[c, j] == ys[i], (c, j, got[c, j], ys[i])
            checked += 1
    assert checked > 0.9 * (chains - 1) * k


@pytest.mark.parametrize("n", [400, 1000])
def test_fit_does_not_depend_on_the_batch(n):
    """A chain's fit is bit-identical in batches of 64, 128 and 192 chains, in any lane.

    The engine's chunks are multiples of 64 lanes and the running chains are compacted into
    fixed batches of 32, 16 and 8 lanes as they converge; this is what keeps a chain's values
    independent of the chunk size. Overlapping components, so that iteration counts spread and
    every compaction level runs.
    """
    chains = 192
    fam = gmm((0.5, 0.5), (-1.5, 1.5), (1.0, 1.0), size=n)
    pts = _sample(fam, chains, n, seed=23)
    fit = jax.jit(fam.fit)
    whole = fit(pts)
    its = np.asarray(whole.iters)
    assert its.max() > 2 * np.median(its)
    perm = np.random.default_rng(0).permutation(chains)
    for batch in (64, 128):
        idx = perm[:batch]
        part = fit(jax.tree_util.tree_map(lambda a, idx=idx: a[idx], pts))
        for name, a, b in zip(whole._fields, part, whole, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b)[idx], name)


def test_unconvergeable_setting_is_reported():
    fam = gmm((0.5, 0.5), (-1.0, 1.0), (1.0, 1.0), iterations=1, tol=1e-12, size=200)
    p = jax.jit(fam.fit)(_sample(fam, 32, 200, seed=5))
    np.testing.assert_array_equal(np.asarray(p.converged), 0.0)
    np.testing.assert_array_equal(np.asarray(p.iters), 1.0)
    sep = gmm((0.5, 0.5), (-3.0, 3.0), (1.0, 1.0), size=200)
    ok = jax.jit(sep.fit)(_sample(sep, 32, 200, seed=5))
    assert np.all(np.asarray(ok.converged) == 1.0)
    assert np.all(np.asarray(ok.iters) < 100)


def test_kmeanspp_deterministic_and_recovers():
    fam = gmm((0.5, 0.5), (-3.0, 3.0), (1.0, 1.0), init="kmeans++", size=1000)
    pts = _sample(fam, 16, 1000, seed=6)
    fit = jax.jit(fam.fit)
    p, p2 = fit(pts), fit(pts)
    np.testing.assert_array_equal(np.asarray(p.means), np.asarray(p2.means))
    # a well-separated mixture is found from any seeding: |m_hat - m| within 6 SEs of 1/sqrt(500)
    assert np.all(np.abs(np.asarray(p.means) - np.array([-3.0, 3.0])) < 6.0 / np.sqrt(500.0))


def test_fit_weighted_full_real_weight_equals_fit():
    fam = gmm(size=400)
    real = _sample(fam, 8, 200, seed=7)
    synth = _sample(fam, 8, 200, seed=8)
    fit_w = jax.jit(fam.fit_weighted)
    a, b = jax.jit(fam.fit)(real), fit_w(real, synth, 1.0)
    np.testing.assert_allclose(np.asarray(a.means), np.asarray(b.means), rtol=1e-4, atol=1e-4)
    c = fit_w(real, synth, 0.5)
    assert np.all(np.isfinite(np.asarray(c.means)))


def test_replace_chain_w2_grows():
    """M = 1000, 256 chains: W2^2 to the truth at generation 20 exceeds generation 1 (paired z)."""
    fam = gmm((0.5, 0.5), (-3.0, 3.0), (1.0, 1.0), size=1000)
    out = run(fam, "replace", 1000, 20, 256, seed=9, record={1, 20})
    d = np.asarray(out[20]["w2_sq"], np.float64) - np.asarray(out[1]["w2_sq"], np.float64)
    z = d.mean() / (d.std(ddof=1) / np.sqrt(d.size))
    assert z > stats.norm.isf(ALPHA), z
    assert np.mean(np.asarray(out[20]["converged"])) > 0.9


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"weights": (0.6, 0.6)}, "sum to 1"),
        ({"weights": (1.2, -0.2)}, "non-negative"),
        ({"sds": (1.0, 0.0)}, "sds"),
        ({"components": 3}, "entries"),
        ({"iterations": 0}, "iterations"),
        ({"tol": 0.0}, "tol"),
        ({"init": "random"}, "init"),
        ({"var_floor": -1.0}, "var_floor"),
        ({"size": 0}, "size"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gmm(**kwargs)


def test_capacity_above_size_rejected():
    fam = gmm(size=10)
    with pytest.raises(ValueError, match="capacity"):
        _sample(fam, 2, 20, seed=0)
