"""One-dimensional Gaussian kernel density estimate (KDE) refitted on its own samples.

The second setting of Kazdan et al.: the model fitted to a sample ``x_1..x_n`` is the KDE
``p(x) = sum_i w_i N(x; x_i, h^2)`` itself, so the statistics are the points (a
:class:`~collapse_theory.families.pointset.Points` buffer of static size ``S`` per chain) and
drawing ``n`` points from a fitted KDE is a weighted bootstrap of its centres plus ``h N(0, 1)``
noise (``docs/derivations.md``, 'KDE'). The truth ``N(mean, var)`` is the one-point KDE with centre ``mean``
and bandwidth ``sqrt(var)``, so real data need no special case.

Weights have a two-group structure: slots ``[0, k)`` carry total weight ``omega`` and slots
``[k, n)`` carry ``1 - omega``, uniformly within a group. An unweighted fit is ``k = n``,
``omega = 1``; :func:`fit_weighted` (real weight ``w``, He, Xu & Cheng 2025) puts the real points
first. The bootstrap index is then drawn exactly (a Bernoulli(omega) group, then a uniform slot
of the group) without a cumulative sum over the buffer, whose float32 rounding would bias slot
probabilities of large pools; the per-slot weights are :func:`slot_weights`. The slot among ``k``
is ``floor(w k / 2^32)`` of a 32-bit word ``w`` in float32 (an exact integer product; the word
and the noise's uniform are the two words of one Threefry block per point) and ``floor(u k)`` of
a 52-bit uniform in float64, so slot probabilities err by at most ``k 2^-32`` (``k 2^-52``)
relatively: 1.2e-8 at ``k = 50``, 2.3e-5 for a pool of ``10^5`` points. When every chain of a
batch has ``omega = 1`` (every unweighted fit) the Bernoulli, true for every uniform below 1, is
not drawn: the points are bit-identical to the grouped draw's.

Bandwidth: a fixed positive ``h``, or a rule of thumb from the (weighted) sample, with ``n`` the
Kish effective size ``1 / sum w_i^2`` (``= n`` for an unweighted fit):

* ``"scott"``: ``h = 1.059 sd n^(-1/5)`` (Scott 1992, eq. 6.42);
* ``"silverman"``: ``h = 0.9 min(sd, IQR / 1.34) n^(-1/5)`` (Silverman 1986, eq. 3.31),

where ``sd`` is the sample standard deviation (``ddof = 1``; reliability-weighted,
``m2 / (1 - sum w_i^2)``, for weighted fits) and the quartiles interpolate linearly between order
statistics at plotting positions ``(C_i - w_i) / (C_last - w_last)`` (``C`` = cumulative weight),
which is numpy's default ``"linear"`` method ``i / (n - 1)`` for equal weights, over the points
of positive weight only (a point of weight 0 has no influence, as for the weighted moments).
Rules need two distinct points; a single point gives ``h = 0``, a degenerate KDE.

Metrics (:data:`METRICS`):

* ``spread``: the weighted MLE variance ``sum w_i (x_i - xbar)^2`` of the centres (the MLE
  variance, divide by ``n``, for an unweighted fit). Generation ``g >= 1`` of the replace chain has
  the registry's ``v_{g-1}`` (``kde.replace.mean_spread``: ``v0`` is the spread of the first, real,
  sample of ``M`` points and ``t`` counts refits after it), so ``E spread_g`` is that result at
  ``t = g - 1`` and ``v0 = (1 - 1/M) var``. A one-point KDE (the truth) has no sample spread and
  reports its kernel variance ``h^2 = var``, the truth's variance, as the Gaussian family does.
* ``mu_err2``: ``(xbar - mean)^2``; under replace it is the registry's
  ``kde.replace.mean_sq_mean_drift`` plus the first sample's ``var / M`` (the mean is a martingale).
* ``h``: the bandwidth. Generation 0 (the truth) has no fitted bandwidth; it reports
  ``sqrt(var)``, the kernel width of the truth's exact representation as the one-point KDE
  above (the parameters generation 1's real sample is drawn from, and the value that makes
  ``spread = h^2 = var`` there). It is a value of the truth, not a placeholder: NaN would be
  counted as non-finite chains by the summaries (:mod:`collapse_theory.summaries`), which have
  no "not defined" state, and a fixed ``h`` would claim a smoothing the truth does not have.
  Read generation 0's ``h`` as "the truth's own width", not as a bandwidth rule's output.
* ``nll``: the cross-entropy ``E_{x ~ N(mean, var)}[-log p(x)]``, the population limit of the
  held-out negative log-likelihood on real data, by the panelled Gauss-Legendre rule of
  :mod:`collapse_theory.metrics.kde_nll`: relative error <= 1e-7 against adaptive quadrature
  (worst 1.5e-8, tests/metrics/test_kde_nll.py: fitted, weighted, bimodal, partial and pool
  KDEs up to 20000 centres, ``h`` from 0.05 to 1 truth sds, fixed and rule bandwidths) when
  ``h >= t_d sd`` and the centres' coverage (``+- 6 h``) is at most 12 truth sds wide, with
  ``t_d = h / sd`` for a fixed ``h`` and ``0.8`` times the rule at ``size`` standard normal
  points (``1.059`` or ``0.9`` times ``size^(-1/5)``) for a rule. Cost per chain: ``nodes *
  size`` exponentials, ``nodes`` 744 at ``h = 0.3``, 2440 at ``h = 0.05`` (that module's
  ``plan``). ``nll_nodes = n`` selects the former cheap rule instead, the trapezoid on ``n``
  equispaced ``z`` in ``[-8, 8]`` (at 256 nodes up to 1e-4 relative error at ``h = 0.1 sd``,
  2e-3 at ``0.05 sd``). float32 adds the log-sum-exp rounding, about 1e-6 relative.

References:
    Kazdan et al., "Collapse or Thrive? Perils and Promises of Synthetic Data in a
    Self-Generating World", arXiv 2410.16713 (KDE setting).
    Scott, "Multivariate Density Estimation", Wiley 1992, eq. (6.42).
    Silverman, "Density Estimation for Statistics and Data Analysis", Chapman & Hall 1986,
    eq. (3.31).
    He, Xu & Cheng, "Recursive learning without collapse", arXiv 2502.18049 (real-data weight).

"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from collapse_theory.families import pointset
from collapse_theory.families.base import Family
from collapse_theory.families.kde_bandwidth import rule_bandwidth
from collapse_theory.families.spec import (
    BuildContext,
    ConfigError,
    FamilySpec,
    RunContext,
    check_choice,
    check_in_precision,
    check_real,
    check_reals,
    check_resolution,
    parse_floats,
    setting,
)
from collapse_theory.metrics import kde_nll
from collapse_theory.random import bits, blocks
from collapse_theory.random import purposes as tags

__all__ = ["KDESpec", "METRICS", "RULES", "Params", "kde", "slot_weights"]

METRICS = ("spread", "mu_err2", "h", "nll")
RULES = ("scott", "silverman")

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_NLL_RANGE = 8.0


class Params(NamedTuple):
    """A fitted KDE per chain.

    Attributes:
        points: kernel centres, ``x[C, S]`` with ``n[C]`` filled slots.
        h: bandwidth ``[C]``.
        n_first: ``[C]`` size ``k`` of the first weight group (slots ``[0, k)``).
        w_first: ``[C]`` total weight ``omega`` of the first group; the rest has ``1 - omega``.

    """

    points: pointset.Points
    h: jax.Array
    n_first: jax.Array
    w_first: jax.Array


def slot_weights(p: Params) -> jax.Array:
    """Mixture weight of each slot, ``[C, S]``: zero on empty slots, summing to 1 per chain."""
    j = jnp.arange(p.points.x.shape[1])[None, :]
    n, k, w = p.points.n[:, None], p.n_first[:, None], p.w_first[:, None]
    wa = w / jnp.maximum(k, 1.0)
    wb = (1.0 - w) / jnp.maximum(n - k, 1.0)
    return jnp.where(j < n, jnp.where(j < k, wa, wb), 0.0).astype(p.points.x.dtype)


def kde(
    mean: float = 0.0,
    var: float = 1.0,
    bandwidth: float | str = 0.3,
    *,
    size: int,
    dtype=jnp.float32,
    nll_nodes: int | None = None,
) -> Family:
    """Build the Gaussian KDE family.

    Args:
        mean: true mean mu_0.
        var: true variance sigma_0^2 (> 0).
        bandwidth: a fixed bandwidth ``h > 0``, or ``"scott"`` / ``"silverman"`` (module doc).
        size: slots ``S`` of every point buffer (keyword only, no default: buffers never grow and
            points that do not fit are dropped). ``M`` for replace and fresh; the pool size
            ``M G`` for accumulate; at least ``M`` for accumulate-subsample.
        dtype: float32 or float64.
        nll_nodes: ``None`` for the accurate ``nll`` rule, or the node count of the cheap
            trapezoidal one (module docstring).

    Returns:
        A :class:`~collapse_theory.families.base.Family` named ``"kde"``; Params are
        :class:`Params`, Stats are :class:`~collapse_theory.families.pointset.Points`.

    Raises:
        ValueError: bandwidth not positive and finite or an unknown rule name; var not positive
            and finite; mean not finite; size not a positive integer; nll_nodes not None or an
            integer >= 2.

    """
    if isinstance(bandwidth, str):
        if bandwidth not in RULES:
            raise ValueError(
                f"unknown bandwidth rule {bandwidth!r}; choose a positive number or one of {', '.join(RULES)}"
            )
    elif isinstance(bandwidth, bool) or not (math.isfinite(bandwidth) and bandwidth > 0):
        raise ValueError(f"bandwidth must be a positive finite number or a rule name, got {bandwidth!r}")
    if not (math.isfinite(var) and var > 0):
        raise ValueError(f"var must be positive and finite, got {var!r}")
    if not math.isfinite(mean):
        raise ValueError(f"mean must be finite, got {mean!r}")
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    if nll_nodes is not None and (
        isinstance(nll_nodes, bool) or not isinstance(nll_nodes, int | np.integer) or nll_nodes < 2
    ):
        raise ValueError(f"nll_nodes must be None or an integer >= 2, got {nll_nodes!r}")
    size, mu0, sd0 = int(size), float(mean), math.sqrt(float(var))
    if isinstance(bandwidth, str):
        t_design = 0.8 * (1.059 if bandwidth == "scott" else 0.9) * size**-0.2
    else:
        t_design = float(bandwidth) / sd0
    nll_plan = kde_nll.plan(t_design, size)
    nodes = np.linspace(-_NLL_RANGE, _NLL_RANGE, int(nll_nodes or 2))
    phi = np.exp(-0.5 * nodes**2)
    q_y = jnp.asarray(mu0 + sd0 * nodes, dtype)
    q_w = jnp.asarray(phi / phi.sum(), dtype)  # = spacing * phi(z) up to the tails' 1e-15

    def truth(c):
        pts = pointset.Points(jnp.zeros((c, size), dtype).at[:, 0].set(mu0), jnp.ones((c,), dtype))
        ones = jnp.ones((c,), dtype)
        return Params(pts, jnp.full((c,), sd0, dtype), ones, ones)

    def empty(c):
        return pointset.empty(c, size, dtype)

    wide = jnp.dtype(dtype) == jnp.float64

    def centres(key, chains, p, capacity, grouped, w):
        n, k, omega = p.points.n[:, None], p.n_first[:, None], p.w_first[:, None]
        if wide:
            u = bits.uniform(bits.fold(key, tags.KDE_INDEX), chains, capacity, dtype)
            in_first = jnp.clip(jnp.minimum(jnp.floor(u * k), k - 1.0), 0.0, n - 1.0)
            in_rest = jnp.clip(k + jnp.floor(u * (n - k)), 0.0, n - 1.0)
        else:
            ki, ni = k.astype(jnp.uint32), n.astype(jnp.uint32)
            last = jnp.maximum(ni, 1) - 1
            in_first = jnp.minimum(blocks.mul_hi(w, ki), last)
            in_rest = jnp.minimum(ki + blocks.mul_hi(w, ni - ki), last)
        idx = in_first
        if grouped:
            if wide:
                g = bits.uniform(bits.fold(key, tags.KDE_GROUP), chains, capacity, dtype)
            else:
                g = bits._to_unit(blocks.blocks(bits.fold(key, tags.KDE_GROUP), chains, capacity)[0], dtype)
            idx = jnp.where(g < omega, in_first, in_rest)
        return jnp.take_along_axis(p.points.x, idx.astype(jnp.int32), axis=1)

    def points(key, chains, p, capacity):
        if wide:
            w, z = None, bits.normal(bits.fold(key, tags.KDE_NOISE), chains, capacity, dtype)
        else:
            w, noise_word = blocks.blocks(bits.fold(key, tags.KDE_POINT), chains, capacity)
            z = bits.to_normal(bits._to_unit(noise_word, dtype))
        # omega = 1: the Bernoulli u < omega is always true, so it is skipped (bit-identical in any
        # batch). The cond also keeps the gather out of the noise's fusion: XLA:CPU emits a fusion
        # holding a gather as a scalar loop (the fused erf_inv and Threefry ran 3-4x slower).
        c = jax.lax.cond(
            jnp.all(p.w_first >= 1.0),
            lambda: centres(key, chains, p, capacity, False, w),
            lambda: centres(key, chains, p, capacity, True, w),
        )
        return c + p.h[:, None] * z

    def draw(key, chains, p, n, capacity):
        x = points(key, chains, p, capacity)
        x = x[:, :size] if capacity >= size else jnp.pad(x, ((0, 0), (0, size - capacity)))
        n = jnp.minimum(jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape), float(min(size, capacity)))
        return pointset.Points(jnp.where(jnp.arange(size)[None, :] < n[:, None], x, 0.0), n)

    def points_stats(x, mask):
        return pointset.from_points(x, mask, size)

    def bandwidth_of(s: pointset.Points, w):
        if isinstance(bandwidth, str):
            return rule_bandwidth(bandwidth, s.x, pointset.mask(s), w).astype(dtype)
        return jnp.full(s.n.shape, bandwidth, dtype)

    def fit(s):
        one = jnp.ones_like(s.n)
        p = Params(s, one, s.n, one)
        return p._replace(h=bandwidth_of(s, slot_weights(p)))

    def fit_weighted(real, synth, w):
        s = pointset.merge(real, synth)
        omega = jnp.where(real.n == 0, 0.0, jnp.where(synth.n == 0, 1.0, w)).astype(dtype)
        p = Params(s, jnp.ones_like(s.n), jnp.minimum(real.n, s.n), omega)
        return p._replace(h=bandwidth_of(s, slot_weights(p)))

    def metrics(p):
        w = slot_weights(p)
        x = p.points.x
        xbar = jnp.sum(w * x, axis=1)
        v = jnp.sum(w * jnp.square(x - xbar[:, None]), axis=1)
        if nll_nodes is None:
            nll = kde_nll.cross_entropy(x, w, p.h, mu0, sd0, nll_plan)
        else:
            logw = jnp.where(w > 0, jnp.log(jnp.where(w > 0, w, 1.0)), -jnp.inf)
            inv_h = 1.0 / p.h[:, None]

            def node(acc, yw):
                y, gw = yw
                z = (y - x) * inv_h
                lp = jax.nn.logsumexp(logw - 0.5 * jnp.square(z), axis=1)
                return acc + gw * lp, None

            lp, _ = jax.lax.scan(node, jnp.zeros_like(xbar), (q_y, q_w))
            nll = jnp.log(p.h) + _LOG_SQRT_2PI - lp
        return {
            "spread": jnp.where(p.points.n == 1, jnp.square(p.h), v),
            "mu_err2": jnp.square(xbar - mu0),
            "h": p.h,
            "nll": nll,
        }

    def distribution(p):
        return dist.MixtureSameFamily(dist.Categorical(probs=slot_weights(p)), dist.Normal(p.points.x, p.h[:, None]))

    return Family(
        name="kde",
        truth=truth,
        draw=draw,
        points=points,
        points_stats=points_stats,
        empty=empty,
        merge=pointset.merge,
        fit=fit,
        fit_weighted=fit_weighted,
        metrics=metrics,
        metric_names=METRICS,
        distribution=distribution,
    )


def _bandwidth(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


@dataclasses.dataclass(frozen=True)
class KDESpec(FamilySpec):
    """Settings of the KDE family (``ct.family("kde", bandwidth=0.3)``): a 1-D Gaussian truth."""

    name = "kde"
    summary = "1-D Gaussian kernel density estimate refitted on its own samples (Kazdan et al.)"
    legacy: ClassVar[dict] = {"kernel": "sample"}

    bandwidth: float | str | None = setting(
        help="h > 0, or scott / silverman (recomputed from each fitted sample); required",
        parse=_bandwidth,
        metavar="H",
    )
    mean: tuple[float, ...] | None = setting(help="true mean (one entry; default 0)", parse=parse_floats, metavar="M")
    cov_diag: tuple[float, ...] | None = setting(
        help="true variance (one entry; default 1)", parse=parse_floats, metavar="V"
    )
    estimator: str = setting("kde", help="kde (the only estimator)", metavar="NAME")

    def validated(self, run: RunContext) -> KDESpec:
        """A positive finite bandwidth or a rule name; a 1-D Gaussian truth."""
        err = ConfigError
        check_choice(self.estimator, "estimator", ("kde",))
        h = self.bandwidth
        if h is None:
            raise err("the kde family needs --bandwidth h (> 0), scott or silverman")
        if isinstance(h, str):
            try:
                h = float(h)
            except ValueError:
                if h not in RULES:
                    raise err(f"--bandwidth must be a positive number, scott or silverman, got {h!r}") from None
        if not isinstance(h, str):
            h = check_real(h, "bandwidth", lo=0.0)
        mean = check_reals(self.mean, "mean", 1) if self.mean is not None else (0.0,)
        var = check_reals(self.cov_diag, "cov_diag", 1) if self.cov_diag is not None else (1.0,)
        if not var[0] > 0:
            raise err(f"covariance must be positive definite (smallest eigenvalue {var[0]:.3g})")
        fmt = "float64" if run.precision == "float64" else "float32"
        check_in_precision(var[0], "cov_diag", fmt)
        check_in_precision(mean[0], "mean", fmt, scale=math.sqrt(var[0]))
        sd = math.sqrt(var[0])
        check_resolution(sd / math.sqrt(float(run.sizes.max())), mean[0], "the first sample's change of the mean", fmt)
        if not isinstance(h, str):
            check_in_precision(h, "bandwidth", fmt)
            check_resolution(h, abs(mean[0]) + 8.0 * sd, "the bandwidth h (the noise added to every centre)", fmt)
        return dataclasses.replace(self, bandwidth=h, mean=mean, cov_diag=var)

    def min_samples(self) -> int:
        """Two points (a rule bandwidth needs two distinct points)."""
        return 2

    def metric_names(self) -> tuple[str, ...]:
        """:data:`METRICS`."""
        return METRICS

    def build(self, ctx: BuildContext) -> Family:
        """Point buffers of ``ctx.pool`` slots: the whole pool under accumulate."""
        assert self.mean is not None and self.cov_diag is not None and self.bandwidth is not None
        return kde(self.mean[0], self.cov_diag[0], self.bandwidth, size=ctx.pool, dtype=ctx.dtype)

    def bytes_per_chain(self, ctx: BuildContext) -> int:
        """The point buffer (centres and weights) plus a sample's draws."""
        return max(64, 8 * jnp.dtype(ctx.dtype).itemsize * (2 * ctx.pool + 4 * ctx.capacity))
