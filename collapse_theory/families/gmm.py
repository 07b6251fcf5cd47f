"""One-dimensional Gaussian mixtures fitted by EM: the Curse of Recursion GMM experiment.

Model t + 1 is a K-component Gaussian mixture fitted by expectation-maximisation to the points
drawn from model t (Shumailov et al. 2024: K = 2, 1000 samples per generation, 2000+
generations). A mixture has no finite sufficient statistic, so the statistics are the points
themselves in a fixed-capacity buffer (:mod:`collapse_theory.families.pointset`), and ``fit``
runs EM for every chain at once in ``lax.while_loop``s
(:func:`collapse_theory.families.gmm_em.em`).

The EM fit (standardisation, initialisation, variance floor, stopping rule and convergence
flags) is :mod:`collapse_theory.families.gmm_em`.

Metrics (:data:`METRICS`): ``w2_sq`` to the truth (:func:`collapse_theory.metrics.quantile.w2_sq`
in its transport form; relative error <= 1e-9 in float64, stated and measured there; exactly 0
when the fitted parameters are the truth's);
``nll`` = E_{x ~ truth}[-log p_hat(x)], the population limit of the held-out NLL of real data,
by :func:`collapse_theory.metrics.mixture.cross_entropy` (the widest fitted component's
quadratic in closed form, the rest by Gauss-Legendre panels at the features of both mixtures:
relative error <= 1e-11, stated there and met on fitted EM states, including collapsed
components with sds 1e-6 of the truth's, where the former per-component Gauss-Hermite rule
erred by up to 1e-2;
``tests/families/test_gmm.py``);
``tail_mass`` = P_hat(X < q_0.001) + P_hat(X > q_0.999) at the truth's quantiles (0.002 at the
truth); ``separation`` = min over adjacent (by mean) components of |m_{k+1} - m_k| /
sqrt(s_k^2 + s_{k+1}^2) (inf for K = 1); ``sigma2``, the fitted mixture's variance;
``converged``; ``iterations``.

Components are returned sorted by mean (a canonical labelling); all metrics are invariant under
relabelling anyway.

References:
    Shumailov et al., "AI models collapse when trained on recursively generated data",
    Nature 631 (2024) (the GMM experiment); Dempster, Laird & Rubin, JRSS B 39 (1977) (EM);
    Arthur & Vassilvitskii, "k-means++", SODA 2007.

"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from jax.scipy.special import ndtr
from scipy import optimize, special

from collapse_theory.families import pointset
from collapse_theory.families.base import Family
from collapse_theory.families.gmm_em import INITS, Params, em, sort_components
from collapse_theory.families.spec import (
    BuildContext,
    ConfigError,
    FamilySpec,
    RunContext,
    check_choice,
    check_in_precision,
    check_int,
    check_real,
    check_resolution,
    parse_float,
    parse_int,
    parse_optional_float,
    setting,
)
from collapse_theory.metrics import mixture, quantile
from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.random.xla import materialize

__all__ = ["DEFAULT_TRUTH", "GMMSpec", "INITS", "METRICS", "Params", "gmm", "convergence_warnings"]

METRICS = ("w2_sq", "nll", "tail_mass", "separation", "sigma2", "converged", "iterations")
DEFAULT_TRUTH = "mixture:0.5,-3.0,1.0;0.5,3.0,1.0"


def _truth_quantile(w, m, s, u):
    def f(x):
        return float(np.sum(w * special.ndtr((x - m) / s))) - u

    z = special.ndtri(u)
    return optimize.brentq(f, float(np.min(m + s * z)) - 1.0, float(np.max(m + s * z)) + 1.0, xtol=1e-14)


def _validate(weights, means, sds, components, iterations, tol, init, var_floor, size):
    w, m, s = (np.asarray(a, np.float64).ravel() for a in (weights, means, sds))
    if not (isinstance(components, int) and components >= 1):
        raise ValueError(f"components must be an integer >= 1, got {components!r}")
    if not (w.size == m.size == s.size == components):
        raise ValueError(f"weights, means and sds need {components} entries each, got {w.size}, {m.size}, {s.size}")
    if np.any(w < 0) or abs(w.sum() - 1.0) > 1e-9:
        raise ValueError(f"weights must be non-negative and sum to 1, got {w.tolist()}")
    if not np.all(np.isfinite(m)):
        raise ValueError("means must be finite")
    if not np.all(s > 0) or not np.all(np.isfinite(s)):
        raise ValueError(f"sds must be positive and finite, got {s.tolist()}")
    if not (isinstance(iterations, int) and iterations >= 1):
        raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}")
    if tol is not None and not tol > 0:
        raise ValueError(f"tol must be positive or None, got {tol!r}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose from {', '.join(INITS)}")
    if not var_floor >= 0:
        raise ValueError(f"var_floor must be >= 0, got {var_floor!r}")
    if not (isinstance(size, int) and size >= 1):
        raise ValueError(f"size must be an integer >= 1, got {size!r}")
    o = np.argsort(m, kind="stable")
    return w[o], m[o], s[o]


_BLOCK = 64


def _in_blocks(fn, *arrays):
    """``fn`` over the chain axis in fixed blocks of :data:`_BLOCK` chains (``lax.map``).

    The transport-form W2 is heavy enough that XLA:CPU compiles it differently for different
    batch sizes, and its last bit then changed with the chunk size (2 of 600 values in the
    engine's chunk-invariance test). Every block has the same shape whatever the chunk, so
    per-chain values do not depend on it. The chain axis is padded (with copies of chain 0) to
    a multiple of the block and the padding dropped.
    """
    c = arrays[0].shape[0]
    nb = -(-c // _BLOCK)
    pad = nb * _BLOCK - c

    def blocks(a):
        a = jnp.concatenate([a, jnp.broadcast_to(a[:1], (pad,) + a.shape[1:])]) if pad else a
        return a.reshape((nb, _BLOCK) + a.shape[1:])

    out = jax.lax.map(lambda xs: fn(*xs), tuple(blocks(a) for a in arrays))
    return out.reshape((nb * _BLOCK,) + out.shape[2:])[:c]


def gmm(
    weights=(0.5, 0.5),
    means=(-3.0, 3.0),
    sds=(1.0, 1.0),
    components: int = 2,
    iterations: int = 100,
    tol: float | None = 1e-6,
    init: str = "quantile",
    var_floor: float = 1e-6,
    size: int = 1000,
    nodes: int = quantile.NODES,
    dtype=jnp.float32,
) -> Family:
    """Build the 1-D Gaussian-mixture family fitted by EM.

    Args:
        weights: true mixture weights (K entries, >= 0, summing to 1).
        means: true component means.
        sds: true component standard deviations (> 0).
        components: K, the number of fitted components (= the truth's).
        iterations: the cap on EM iterations per fit (>= 1).
        tol: stop a chain once an iteration gains less than ``tol`` nats per point; ``None``
            runs exactly ``iterations`` steps.
        init: ``"quantile"`` or ``"kmeans++"`` (module docstring).
        var_floor: relative variance floor, s_k^2 >= var_floor * sample variance (>= 0).
        size: slots of the point buffer per chain: ``M`` for replace, the whole pool for
            accumulate.
        nodes: Gauss-Legendre nodes per panel of ``w2_sq`` and ``nll``.
        dtype: float32 or float64.

    Returns:
        A :class:`~collapse_theory.families.base.Family` named ``"gmm"``.

    """
    w0, m0, s0 = _validate(weights, means, sds, components, iterations, tol, init, var_floor, size)
    k = components
    q_lo, q_hi = _truth_quantile(w0, m0, s0, 1e-3), _truth_quantile(w0, m0, s0, 1 - 1e-3)
    # The truth's parameters as truth() stores them (log sds): fitted parameters equal to them in
    # the run's dtype are the truth, w2_sq = 0 exactly (exp(log s) need not round back to s).
    truth_rep = tuple(np.asarray(a, np.float64) for a in (w0, m0, np.log(s0)))
    floor = max(float(var_floor), float(jnp.finfo(dtype).tiny))

    def truth(c):
        def full(a):
            return jnp.broadcast_to(jnp.asarray(a, dtype), (c, k))

        one = jnp.ones((c,), dtype)
        return Params(full(w0), full(m0), full(np.log(s0)), one, 0.0 * one)

    def points(key, chains, p, capacity):
        u = bits.uniform(bits.fold(key, tags.GMM_COMPONENT), chains, capacity, dtype)
        z = bits.normal(bits.fold(key, tags.GMM_NORMAL), chains, capacity, dtype)
        # Computed once into memory: fused into the gathers below, XLA recomputed the hashes per
        # read (measured 2.4-2.7 ms against 0.73-0.76 ms at 64 x 1000 points, the same values).
        u, z = materialize((u, z), u[0, 0] < 0.0)
        cw = jnp.cumsum(p.weights, axis=1)[:, :-1]
        comp = jnp.sum(u[:, :, None] > cw[:, None, :], axis=-1)
        mean = jnp.take_along_axis(p.means, comp, axis=1)
        return mean + jnp.exp(jnp.take_along_axis(p.log_sds, comp, axis=1)) * z

    def draw(key, chains, p, n, capacity):
        if capacity > size:
            raise ValueError(f"capacity {capacity} exceeds the buffer size {size}")
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        x = points(key, chains, p, capacity)
        x = jnp.where(jnp.arange(capacity)[None, :] < n[:, None], x, 0.0)
        return pointset.Points(jnp.pad(x, ((0, 0), (0, size - capacity))), n)

    def points_stats(x, mask):
        return pointset.from_points(x.astype(dtype), mask, size)

    settings = dict(k=k, init=init, iterations=iterations, tol=tol, floor=floor, dtype=dtype)

    def fit(p):
        msk = pointset.mask(p)
        return em(p.x, jnp.where(msk, 1.0 / jnp.maximum(p.n, 1.0)[:, None], 0.0).astype(dtype), **settings)

    def fit_weighted(real, synth, w):
        w = jnp.where(real.n == 0, 0.0, jnp.where(synth.n == 0, 1.0, jnp.asarray(w, dtype)))
        pool = pointset.merge(real, synth)
        j = jnp.arange(size)[None, :]
        pw = jnp.where(
            j < real.n[:, None],
            (w / jnp.maximum(real.n, 1.0))[:, None],
            jnp.where(j < pool.n[:, None], ((1.0 - w) / jnp.maximum(synth.n, 1.0))[:, None], 0.0),
        )
        return em(pool.x, pw.astype(dtype), **settings)

    def metrics(p):
        w, m, ls = sort_components(p.weights, p.means, p.log_sds)
        s = jnp.exp(ls)
        t = (jnp.asarray(w0, dtype)[None], jnp.asarray(m0, dtype)[None], jnp.asarray(s0, dtype)[None])
        same = [jnp.all(a == jnp.asarray(b, dtype)[None], axis=1) for a, b in zip((w, m, ls), truth_rep, strict=True)]
        at_truth = same[0] & same[1] & same[2]
        w2 = jnp.where(at_truth, 0.0, _in_blocks(lambda a, b, c: quantile.w2_sq(*t, a, b, c, nodes=nodes), w, m, s))
        nll = mixture.cross_entropy(*t, w, m, s, order=nodes)
        tail = jnp.sum(w * (ndtr((q_lo - m) / s) + ndtr((m - q_hi) / s)), axis=1)
        gap = jnp.diff(m, axis=1) / jnp.sqrt(jnp.square(s[:, 1:]) + jnp.square(s[:, :-1]))
        sep = jnp.min(gap, axis=1) if k > 1 else jnp.full(w.shape[:1], jnp.inf, dtype)
        mbar = jnp.sum(w * m, 1)
        sigma2 = jnp.sum(w * (jnp.square(s) + jnp.square(m - mbar[:, None])), 1)
        return {
            "w2_sq": w2,
            "nll": nll,
            "tail_mass": tail,
            "separation": sep,
            "sigma2": sigma2,
            "converged": p.converged,
            "iterations": p.iters,
        }

    def distribution(p):
        return dist.MixtureSameFamily(dist.Categorical(probs=p.weights), dist.Normal(p.means, jnp.exp(p.log_sds)))

    return Family(
        name="gmm",
        truth=truth,
        draw=draw,
        points=points,
        points_stats=points_stats,
        empty=lambda c: pointset.empty(c, size, dtype),
        merge=pointset.merge,
        fit=fit,
        fit_weighted=fit_weighted,
        metrics=metrics,
        metric_names=METRICS,
        distribution=distribution,
        diagnostics=lambda p: {"converged": p.converged, "iterations": p.iters},
        warnings=convergence_warnings,
    )


def convergence_warnings(diagnostics: dict, generations) -> list[str]:
    """One warning per recorded generation at which some chain's EM stopped at the iteration cap."""
    bad = np.asarray(diagnostics["converged"]) < 0.5  # NaN (tol=None: not assessed) is not a failure
    out = []
    for i, g in enumerate(generations):
        if g > 0 and bad[i].any():
            out.append(
                f"EM did not converge for {int(bad[i].sum())} of {bad.shape[1]} chains at generation {int(g)}"
                " (raise --em-iterations or --em-tol)"
            )
    return out


@dataclasses.dataclass(frozen=True)
class GMMSpec(FamilySpec):
    """Settings of the GMM family (``ct.family("gmm", truth="mixture:...")``)."""

    name = "gmm"
    summary = "1-D Gaussian mixtures fitted by EM (the Curse of Recursion GMM experiment)"
    legacy: ClassVar[dict] = {"kernel": "sample"}

    truth: str | None = setting(
        help=f"the true mixture 'mixture:w,m,s;w,m,s' (default {DEFAULT_TRUTH})", metavar="SPEC"
    )
    components: int = setting(2, help="K, mixture components (= the truth's)", parse=parse_int, metavar="K")
    em_iterations: int = setting(100, help="EM iteration cap per fit", parse=parse_int, metavar="N")
    em_tol: float | None = setting(
        1e-6,
        help="stop once an EM step gains less than this per point, or none",
        parse=parse_optional_float,
        metavar="TOL",
        unit="nats",
    )
    em_init: str = setting("quantile", help="EM initialisation: quantile or kmeans++", metavar="NAME")
    var_floor: float = setting(
        1e-6, help="relative variance floor (times the sample variance)", parse=parse_float, metavar="F"
    )
    estimator: str = setting("em", help="em (the only estimator)", metavar="NAME")

    def validated(self, run: RunContext) -> GMMSpec:
        """A mixture truth with ``components`` components; EM settings in range."""
        from collapse_theory.truths import parse_truth

        err = ConfigError
        check_choice(self.estimator, "estimator", ("em",))
        if self.truth is not None and not isinstance(self.truth, str):
            raise err(f"--truth must be a spec string 'mixture:w,m,s;...', got {self.truth!r}")
        try:
            truth = parse_truth(self.truth or DEFAULT_TRUTH)
        except ValueError as e:
            raise err(str(e)) from None
        if truth.kind != "mixture":
            raise err("the gmm family needs a mixture truth (--truth mixture:w,m,s;...)")
        k = check_int(self.components, "components", lo=1)
        if len(truth.weights) != k:
            raise err(f"--truth has {len(truth.weights)} components but --components is {k}")
        iters = check_int(self.em_iterations, "em_iterations", lo=1)
        tol = None if self.em_tol is None else check_real(self.em_tol, "em_tol", lo=0.0)
        check_choice(self.em_init, "em_init", INITS)
        floor = check_real(self.var_floor, "var_floor", lo=0.0, lo_closed=True)
        fmt = "float64" if run.precision == "float64" else "float32"
        for m, s in zip(truth.means, truth.sds, strict=True):
            check_in_precision(s * s, "truth", fmt)
            check_in_precision(m, "truth", fmt, scale=s)
        check_resolution(
            min(truth.sds) / math.sqrt(float(run.sizes.max())),
            max(abs(m) for m in truth.means),
            "the smallest component's sd / sqrt(M)",
            fmt,
        )
        return dataclasses.replace(
            self, truth=truth.spec(), components=k, em_iterations=iters, em_tol=tol, var_floor=floor
        )

    def min_samples(self) -> int:
        """Two points per component."""
        return 2 * self.components

    def metric_names(self) -> tuple[str, ...]:
        """:data:`METRICS`."""
        return METRICS

    def build(self, ctx: BuildContext) -> Family:
        """Point buffers of ``ctx.pool`` slots: the whole pool under accumulate."""
        from collapse_theory.truths import parse_truth

        assert self.truth is not None, "validate the spec first"
        t = parse_truth(self.truth)
        return gmm(
            t.weights,
            t.means,
            t.sds,
            components=self.components,
            iterations=self.em_iterations,
            tol=self.em_tol,
            init=self.em_init,
            var_floor=self.var_floor,
            size=ctx.pool,
            dtype=ctx.dtype,
        )

    def bytes_per_chain(self, ctx: BuildContext) -> int:
        """The point buffer with its responsibilities, plus a sample's draws."""
        k = self.components
        width = ctx.pool * (2 + 2 * k) + ctx.capacity * (2 + 2 * k)
        return max(64, 8 * jnp.dtype(ctx.dtype).itemsize * width)
