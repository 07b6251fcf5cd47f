"""Linear regression learned by ordinary least squares, retrained on its own labels.

Model: ``y = x . w + eps`` with rows ``x ~ N(0, I_d)`` and ``eps ~ N(0, noise_sd^2)``. The sample
size ``n`` passed to ``draw`` is the design size ``T`` (rows); OLS needs ``T >= d`` (and
``T >= d + 2`` for a finite expected test error ``sigma^2 d / (T - d - 1)``).

Designs. ``"fixed"``: one design ``X`` per chain, drawn at generation 0 with the real labels
(from the generation-0 key, because the truth carries no design yet) and carried in the
parameters as the lower Cholesky factor ``L`` of ``X^T X``; every later generation relabels the
same rows (Gerstgrasser et al. 2024; Dohmatob et al. 2024). A fixed design keeps the row count of
generation 0. ``"fresh"``: a new design every generation.

Statistics are ``G = X^T X``, ``b = X^T y`` and ``n``, plus the design factor. Given ``X``,
``X^T y = G w + X^T eps`` with ``X^T eps ~ N(0, sigma^2 G)``, so ``X^T y = G w + sigma L z`` with
``z ~ N(0, I_d)`` is exact in law. Exact kernel: ``X^T X ~ Wishart_d(T, I)`` by the Bartlett
decomposition (``L`` lower triangular, ``L_ii^2 ~ chi2_{T-i}``, ``L_ij ~ N(0, 1)`` below the
diagonal). Sample kernel: explicit rows ``X[C, capacity, d]`` and noise (the streams of
:func:`rows`, drawn chain-minor), rows ``>= n`` masked, summed into ``G`` and ``X^T eps`` lane-wise
(:mod:`collapse_theory.families.lanewise`), ``X^T y = G w + sigma X^T eps``; a reused fixed design
is not stored row by row, so its labels use the exact identity above. Fits solve by an unrolled
Cholesky: float32 relative error ~ kappa(G) d gamma_{3d+1} (kappa ~ 9 for T = 40, d = 10).

``points`` returns rows ``[x, y]`` of shape ``[C, capacity, d + 1]`` with a fresh design; the
accumulate-subsample workflow therefore needs ``design="fresh"`` (a fixed design's rows are not
kept as points).

References:
    Gerstgrasser et al., "Is Model Collapse Inevitable? Breaking the Curse of Recursion by
    Accumulating Real and Synthetic Data", COLM 2024 (linear regression section).
    Dohmatob, Feng, Kempe, "Model Collapse Demystified: The Case of Regression", NeurIPS 2024.
    Bartlett, "On the theory of statistical regression", Proc. R. Soc. Edinburgh 53 (1933).

"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from collapse_theory.families import lanewise
from collapse_theory.families.base import Family
from collapse_theory.families.spec import (
    BuildContext,
    ConfigError,
    FamilySpec,
    RunContext,
    check_choice,
    check_in_precision,
    check_int,
    check_real,
    check_reals,
    parse_float,
    parse_floats,
    parse_int,
    setting,
)
from collapse_theory.random import bits, gamma
from collapse_theory.random import purposes as tags

__all__ = ["RegressionSpec", "Params", "Stats", "regression", "METRICS"]

METRICS = ("test_error", "log_test_error")
DESIGNS = ("fixed", "fresh")
KERNELS = ("exact", "sample")


class Params(NamedTuple):
    """Fitted weights ``w[C, d]`` and the design: factor ``chol[C, d, d]``, ``drawn[C]``.

    ``drawn`` is 1 once a fixed design exists (0 for the truth and for the fresh design); it comes
    first so that the last leaf, which workflows read the dtype from, is a float array.
    """

    drawn: jax.Array
    chol: jax.Array
    w: jax.Array


class Stats(NamedTuple):
    """``G[C, d, d] = X^T X``, ``b[C, d] = X^T y``, rows ``n[C]``, and the design factor."""

    n: jax.Array
    G: jax.Array
    b: jax.Array
    drawn: jax.Array
    chol: jax.Array


def merge(a: Stats, b: Stats) -> Stats:
    """Statistics of the union of two samples; the design factor of the first that has one."""
    keep_a = a.drawn > 0
    chol = jnp.where(keep_a[:, None, None], a.chol, b.chol)
    return Stats(a.n + b.n, a.G + b.G, a.b + b.b, jnp.maximum(a.drawn, b.drawn), chol)


def _solve(G, b):
    """``G^{-1} b`` for ``G[C, d, d]``, ``b[C, d]`` by Cholesky, unrolled lane-wise (:mod:`.lanewise`)."""
    return lanewise.from_lanes(lanewise.spd_solve(lanewise.to_lanes(G), lanewise.to_lanes(b)))


def regression(
    dim: int,
    noise_sd: float = 1.0,
    design: str = "fixed",
    w_star: Sequence[float] | None = None,
    kernel: str = "exact",
    dtype=jnp.float32,
) -> Family:
    """Build the OLS linear-regression family.

    Args:
        dim: dimension ``d >= 1``.
        noise_sd: label noise standard deviation sigma (finite, > 0).
        design: ``"fixed"`` (one design per chain, drawn at generation 0) or ``"fresh"``.
        w_star: true weights, length ``dim``; default ``(1, ..., 1) / sqrt(d)``.
        kernel: ``"exact"`` (Wishart / Bartlett) or ``"sample"`` (explicit rows).
        dtype: float32 or float64.

    Returns:
        A :class:`~collapse_theory.families.base.Family` named ``"regression"`` with metrics
        ``test_error = ||w - w*||^2`` (the Sigma-norm, Sigma = I) and ``log_test_error``.

    Raises:
        ValueError: on an invalid argument.

    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
    if (
        isinstance(noise_sd, bool)
        or not isinstance(noise_sd, (int, float))
        or not (math.isfinite(noise_sd) and noise_sd > 0)
    ):
        raise ValueError(f"noise_sd must be a finite number > 0, got {noise_sd!r}")
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; choose from {', '.join(DESIGNS)}")
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; choose from {', '.join(KERNELS)}")
    d = dim
    w0 = np.full(d, 1.0 / math.sqrt(d)) if w_star is None else np.asarray(w_star, np.float64)
    if w0.shape != (d,) or not np.all(np.isfinite(w0)):
        raise ValueError(f"w_star must be {d} finite numbers, got {w_star!r}")
    sigma, fixed = float(noise_sd), design == "fixed"

    def truth(c):
        w = jnp.broadcast_to(jnp.asarray(w0, dtype), (c, d))
        return Params(jnp.zeros((c,), dtype), jnp.zeros((c, d, d), dtype), w)

    def empty(c):
        z = jnp.zeros((c,), dtype)
        return Stats(z, jnp.zeros((c, d, d), dtype), jnp.zeros((c, d), dtype), z, jnp.zeros((c, d, d), dtype))

    def bartlett(key, chains, n):
        """Lower factor ``A`` with ``A A^T ~ Wishart_d(n, I)``; lane ``(c, i)`` is virtual chain ``c d + i``."""
        dof = jnp.maximum(n[:, None] - jnp.arange(d, dtype=dtype)[None, :], 0.0)
        virtual = (chains.astype(jnp.uint32)[:, None] * jnp.uint32(d) + jnp.arange(d, dtype=jnp.uint32)).reshape(-1)
        log_chi = gamma.log_chi2(bits.fold(key, tags.REGRESSION_CHI2), virtual, dof.reshape(-1), dtype).reshape(-1, d)
        off = bits.normal(bits.fold(key, tags.REGRESSION_OFFDIAG), chains, d * d, dtype).reshape(-1, d, d)
        return jnp.tril(off, -1) + jnp.exp(0.5 * log_chi)[:, :, None] * jnp.eye(d, dtype=dtype)

    def labels(key, chains, L, w):
        """``X^T y = G w + sigma L z`` for the design ``G = L L^T``."""
        z = bits.normal(bits.fold(key, tags.REGRESSION_LABEL), chains, d, dtype)
        G = L @ jnp.swapaxes(L, -1, -2)
        return G, jnp.einsum("cij,cj->ci", G, w) + sigma * jnp.einsum("cij,cj->ci", L, z)

    def rows(key, chains, w, capacity):
        x = bits.normal(bits.fold(key, tags.REGRESSION_ROWS), chains, capacity * d, dtype).reshape(-1, capacity, d)
        eps = bits.normal(bits.fold(key, tags.REGRESSION_NOISE), chains, capacity, dtype)
        return x, jnp.einsum("ctj,cj->ct", x, w) + sigma * eps

    def rows_lanes(key, chains, capacity):
        """The rows and noise of :func:`rows`, chain-minor: ``[capacity, d + 1, C]`` (``[x_t, eps_t]``).

        Each entry is one normal of its own word, so XLA computes each once however many
        statistics read it (labels ``y = X w + sigma eps`` formed here would recompute the row's
        normals inside the same fusion).
        """
        x = bits.normal_lanes(bits.fold(key, tags.REGRESSION_ROWS), chains, capacity * d, dtype)
        eps = bits.normal_lanes(bits.fold(key, tags.REGRESSION_NOISE), chains, capacity, dtype)
        return jnp.concatenate([x.reshape(capacity, d, -1), eps[:, None]], axis=1)

    def new_design(key, chains, p, n, capacity):
        """``(G, b, L)`` for a newly drawn design (``L`` only needed for the fixed design)."""
        if kernel == "exact":
            L = bartlett(key, chains, n)
            return (*labels(key, chains, L, p.w), L)
        # X^T y = G w + sigma X^T eps, from the Gram matrix of the rows [x_t, eps_t] (rows >= n dropped).
        M = lanewise.gram(rows_lanes(key, chains, capacity), jnp.arange(capacity)[:, None] < n[None, :])
        G, wl = M[:d, :d], lanewise.to_lanes(p.w)
        b = []
        for i in range(d):
            bi = G[i, 0] * wl[0]
            for j in range(1, d):
                bi = bi + G[i, j] * wl[j]
            b.append(bi + sigma * M[d, i])
        L = lanewise.from_lanes(lanewise.cholesky(G)) if fixed else jnp.zeros((chains.shape[0], d, d), dtype)
        return lanewise.from_lanes(G), lanewise.from_lanes(jnp.stack(b)), L

    def draw(key, chains, p, n, capacity):
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        if not fixed:
            G, b, L = new_design(key, chains, p, n, capacity)
            return Stats(n, G, b, jnp.zeros_like(n), L)
        reused = p.drawn > 0

        def reuse():
            return (*labels(key, chains, p.chol, p.w), p.chol)

        def mixed():
            new, old = new_design(key, chains, p, n, capacity), reuse()
            return tuple(
                jnp.where(reused.reshape((-1,) + (1,) * (a.ndim - 1)), o, a) for a, o in zip(new, old, strict=True)
            )

        G, b, L = jax.lax.cond(jnp.all(reused), reuse, mixed)
        return Stats(n, G, b, jnp.ones_like(n), L)

    def points(key, chains, p, capacity):
        x, y = rows(key, chains, p.w, capacity)
        return jnp.concatenate([x, y[..., None]], axis=-1)

    def points_stats(pts, mask):
        n = jnp.sum(mask, axis=1).astype(dtype)
        M = lanewise.gram(jnp.transpose(pts, (1, 2, 0)), mask.T)
        G = lanewise.from_lanes(M[:d, :d])
        return Stats(n, G, lanewise.from_lanes(M[d, :d]), jnp.zeros_like(n), jnp.zeros_like(G))

    def fit(s):
        return Params(s.drawn, s.chol, _solve(s.G, s.b))

    def fit_weighted(real, synth, w):
        w = jnp.where(real.n == 0, 0.0, jnp.where(synth.n == 0, 1.0, w))
        wr = (w / jnp.maximum(real.n, 1.0))[:, None]
        ws = ((1.0 - w) / jnp.maximum(synth.n, 1.0))[:, None]
        G = wr[..., None] * real.G + ws[..., None] * synth.G
        pooled = merge(real, synth)
        return Params(pooled.drawn, pooled.chol, _solve(G, wr * real.b + ws * synth.b))

    def metrics(p):
        err = jnp.sum(jnp.square(p.w - jnp.asarray(w0, p.w.dtype)), axis=-1)
        return {"test_error": err, "log_test_error": jnp.log(err)}

    def distribution(p):
        return dist.Delta(p.w, event_dim=1)

    return Family(
        name="regression",
        truth=truth,
        draw=draw,
        points=points,
        points_stats=points_stats,
        empty=empty,
        merge=merge,
        fit=fit,
        fit_weighted=fit_weighted,
        metrics=metrics,
        metric_names=METRICS,
        distribution=distribution,
    )


@dataclasses.dataclass(frozen=True)
class RegressionSpec(FamilySpec):
    """Settings of the regression family; the run's ``samples`` is the design size T (rows)."""

    name = "regression"
    summary = "linear regression by OLS retrained on its own labels (Gerstgrasser et al.; Dohmatob et al.)"

    dim: int = setting(1, help="number of features d", parse=parse_int, metavar="D")
    noise_sd: float = setting(1.0, help="label noise standard deviation sigma", parse=parse_float, metavar="S")
    design: str = setting(
        "fixed", help="fixed (one design per chain, drawn at generation 0) or fresh (new rows each generation)"
    )
    mean: tuple[float, ...] | None = setting(
        help="the true weights w*, comma list of length dim (default 0)", parse=parse_floats, metavar="LIST"
    )
    kernel: str = setting("exact", help="exact (Wishart / Bartlett) or sample (explicit rows)", metavar="NAME")
    estimator: str = setting("ols", help="ols (the only estimator)", metavar="NAME")

    def validated(self, run: RunContext) -> RegressionSpec:
        """T > d + 1 rows; a fixed design only under replace/accumulate with a fixed size."""
        err = ConfigError
        check_choice(self.estimator, "estimator", ("ols",))
        check_choice(self.kernel, "kernel", KERNELS)
        check_choice(self.design, "design", DESIGNS)
        d = check_int(self.dim, "dim", lo=1)
        noise = check_real(self.noise_sd, "noise_sd", lo=0.0)
        if run.samples_schedule is None and isinstance(run.samples, (int, float)) and run.samples <= d + 1:
            raise err(
                f"--design-size T must exceed dim + 1 = {d + 1} (E tr (X^T X)^-1 is finite only for T > d + 1), got {run.samples}"
            )
        if self.design == "fixed" and (
            run.samples_schedule is not None
            or run.scenario not in ("replace", "accumulate")
            or run.real_weight is not None
        ):
            raise err(
                "--design fixed reuses one design: use replace or accumulate with a fixed size, or --design fresh"
            )
        w = check_reals(self.mean, "mean", d) if self.mean is not None else (0.0,) * d
        fmt = "float64" if run.precision == "float64" else "float32"
        check_in_precision(noise, "noise_sd", fmt)
        for x in w:
            check_in_precision(x, "mean", fmt, headroom=float(run.sizes.max()) * 16.0, scale=noise)
        return dataclasses.replace(self, dim=d, noise_sd=noise, mean=w)

    def min_samples(self) -> int:
        """D + 2 rows (a finite expected test error)."""
        return self.dim + 2

    def capacity_free(self, run: RunContext) -> bool:
        """The exact kernel draws X^T X by Bartlett: no rows, any T at run time."""
        return self.kernel == "exact" and run.scenario != "accumulate-subsample"

    def metric_names(self) -> tuple[str, ...]:
        """:data:`METRICS`."""
        return METRICS

    def build(self, ctx: BuildContext) -> Family:
        """The OLS family."""
        return regression(self.dim, self.noise_sd, self.design, self.mean, self.kernel, ctx.dtype)

    def bytes_per_chain(self, ctx: BuildContext) -> int:
        """The Gram matrix, plus the rows of the sample kernel."""
        d = self.dim
        width = d * d + (ctx.capacity * (d + 1) if self.kernel == "sample" else 0)
        return max(64, 8 * jnp.dtype(ctx.dtype).itemsize * width)
