"""The batched model-family interface: a bundle of pure functions, like optax's GradientTransformation.

A :class:`Family` is what the engine runs. It is built by a family spec
(:class:`collapse_theory.families.spec.FamilySpec`, e.g. ``ct.family("gaussian", ...)`` or a user's
``ct.estimator(...)``), which captures the static configuration (estimator, dimension, precision,
buffer sizes) by closure. Parameters and sufficient statistics are NamedTuple pytrees with a
leading chain axis ``C``. The scenarios in :mod:`collapse_theory.scenarios` only ever call these
functions, so a new family is one new module.

Sizes ``n`` are per-chain float arrays: the fresh-data mixture workflow draws a random number of
real points per chain. ``capacity`` is the static upper bound of ``n`` that sample-level kernels
need for their buffers; exact kernels ignore it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

__all__ = ["Family"]

Params = Any
Stats = Any


class Family(NamedTuple):
    """Pure functions that define one model family.

    Attributes:
        name: family name used in configurations and results.
        truth: ``(C,) -> Params``; the true model (model 0), broadcast over ``C`` chains.
        draw: ``(key, chains, params, n, capacity) -> Stats``; the sufficient statistics of ``n``
            samples from ``params``, exact in law (by the family's chosen kernel).
        points: ``(key, chains, params, capacity) -> Array[C, capacity, ...]``; explicit samples,
            for workflows that must keep individual points (accumulate-subsample).
        points_stats: ``(points, mask) -> Stats``; statistics of the points where ``mask`` holds.
        empty: ``(C,) -> Stats``; statistics of an empty sample.
        merge: ``(Stats, Stats) -> Stats``; statistics of the union of two samples.
        fit: ``Stats -> Params``; the estimator.
        fit_weighted: ``(real, synthetic, w) -> Params``; the estimator with total weight ``w`` on
            the real points and ``1 - w`` on the synthetic ones (He, Xu & Cheng 2025).
        metrics: ``Params -> dict[str, Array[C]]``; per-chain summaries, by their contract names.
        metric_names: the names :attr:`metrics` returns, in order.
        distribution: ``Params -> numpyro.distributions.Distribution`` for densities and KLs, or
            ``None`` where the family has no numpyro form (user estimators).
        real: ``(key, chains, n, capacity) -> Stats``; statistics of ``n`` draws from the truth
            when the truth is not a member of the family (a misspecified fit); ``None`` draws
            real data with :attr:`draw` at :attr:`truth`.
        real_points: ``(key, chains, capacity) -> Array``; explicit real points, likewise.
        sampler: the family whose ``draw`` and ``points`` produce *synthetic* data when the fitted
            model is sampled with a bias (:mod:`collapse_theory.errors.sampling`); ``None``
            samples the fitted law itself. Real data never go through it.
        diagnostics: ``Params -> dict[str, Array[C]]``; per-chain diagnostics of the fit (e.g. EM
            convergence), recorded beside the metrics, or ``None``.
        warnings: host function ``(diagnostics, generations) -> list[str]`` turning the recorded
            diagnostics (name -> ``float64[R, C]``) into the run's warnings, or ``None``.

    """

    name: str
    truth: Callable[[int], Params]
    draw: Callable[..., Stats]
    points: Callable[..., jax.Array]
    points_stats: Callable[[jax.Array, jax.Array], Stats]
    empty: Callable[[int], Stats]
    merge: Callable[[Stats, Stats], Stats]
    fit: Callable[[Stats], Params]
    fit_weighted: Callable[[Stats, Stats, float], Params]
    metrics: Callable[[Params], dict[str, jax.Array]]
    metric_names: tuple[str, ...]
    distribution: Callable[[Params], Any] | None = None
    real: Callable[..., Stats] | None = None
    real_points: Callable[..., jax.Array] | None = None
    sampler: Family | None = None
    diagnostics: Callable[[Params], dict[str, jax.Array]] | None = None
    warnings: Callable[[dict, Any], list[str]] | None = None
