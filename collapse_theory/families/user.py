"""Users' own estimators: write the single chain, the library batches it.

:func:`estimator` turns three single-chain functions into a family spec that ``ct.run`` takes
under every scenario, like blackjax kernels are written for one chain and vmapped by the caller::

    def sample(key, params, n):     # a jax.random key, the params pytree, a static int n
        mu, sigma = params
        return mu + sigma * jax.random.normal(key, (n,))        # points, shape (n, ...)

    def fit(points, weights):       # points (N, ...); weights (N,), 0 marks an empty slot
        w = weights / jnp.sum(weights)
        mu = jnp.sum(w * points)
        return (mu, jnp.sqrt(jnp.sum(w * (points - mu) ** 2)))

    mine = ct.estimator(sample=sample, fit=fit, truth=(0.0, 1.0), name="my-mle",
                        metrics=lambda p: {"mu": p[0], "sigma2": p[1] ** 2})

How the engine runs it (one generic path, exact in law, slower than the built-in kernels):

* Data are kept as a point pool per chain: a fixed buffer of ``S`` slots with a weight per slot
  (0 = empty), ``S`` = one sample's capacity, or the whole run's points under ``accumulate``.
  ``fit`` sees the buffer and the weights; the filled slots come first.
* Weights are frequency weights: 1 per point, except with a real-data weight w
  (``real_weight=``) where the real points share ``w N`` and the synthetic ones ``(1 - w) N``
  (``N`` points in all), so the weights always sum to the number of points.
* ``sample`` is called with ``n`` = the capacity (the largest sample size of the run); the engine
  keeps the first ``n_t`` points of generation ``t``. Its key is a standard ``jax.random`` key
  (threefry2x32) that depends only on (seed, chain, generation, purpose): results do not depend
  on chunking or the number of chains, and a longer run extends a shorter one exactly.
* The single-chain functions are batched over the chunk's chains with ``jax.vmap``
  (``batching="vmap"``, the default). An estimator whose float results change with the batch
  under ``vmap`` breaks the engine's chunk invariance (chain ``c``'s values bit-identical whatever
  ``chunk_size``): XLA:CPU picks a matmul's (``jnp.dot``, ``@``) and a long reduction's loop order
  from the whole batched shape, so a vmapped matmul can move a chain's last bit when the chunk
  size changes. Elementwise code, gathers, scatters and short sums are safe. ``batching="map"``
  runs the chains one after another (``jax.lax.map``): every chain's operations then have the
  same shapes whatever the chunk, so matmuls are safe; it suits estimators whose per-chain work
  is already large (a neural network's training), where vectorizing over chains gains little.
  ``ct.testing.check_estimator`` checks chunk invariance either way.
* ``fit`` may return ``(params, info)`` (``fit_info=True``): ``info`` is a dict of scalar
  diagnostics (e.g. a convergence flag), recorded beside the metrics in
  ``SimulationResult.diagnostics``; ``warn(diagnostics, generations)`` turns them into warnings.

References:
    Cabezas et al., "BlackJAX: composable Bayesian inference in JAX", 2024 (single-chain kernels
    batched by the caller); the optax ``GradientTransformation`` pattern.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from collapse_theory.families import user_pool as pools
from collapse_theory.families.base import Family
from collapse_theory.families.spec import BuildContext, ConfigError, FamilySpec, RunContext
from collapse_theory.families.user_pool import Pool
from collapse_theory.random import bits
from collapse_theory.random import purposes as tags

__all__ = ["Estimator", "Pool", "UserParams", "estimator", "chain_keys", "BATCHING"]

BATCHING = ("vmap", "map")
"""How the single-chain functions run over a chunk's chains: vectorized, or one chain after another."""


class UserParams(NamedTuple):
    """The fitted parameters (the user's pytree, batched) and the fit's diagnostics (a dict)."""

    params: Any
    info: Any


def chain_keys(key, chains: jax.Array) -> jax.Array:
    """Chain ``c``'s standard JAX key: ``threefry(fold(key, USER_SAMPLE), (c, 0))``, typed threefry2x32."""
    k = bits.fold(key, tags.USER_SAMPLE)
    c = chains.astype(jnp.uint32)
    a, b = bits.threefry2x32(k, c, jnp.zeros_like(c))
    return jax.random.wrap_key_data(jnp.stack([a, b], axis=-1), impl="threefry2x32")


def _leaf_dtype(a, dtype):
    a = jnp.asarray(a)
    return a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a


def _describe(tree) -> str:
    return str(jax.tree_util.tree_map(lambda a: f"{a.dtype}{list(a.shape)}", tree))


def _jsonable(tree):
    """Lists, dicts and numbers for JSON (a leaf that is not numeric becomes its repr)."""
    if isinstance(tree, Mapping):
        return {str(k): _jsonable(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_jsonable(v) for v in tree]
    try:
        return np.asarray(tree, dtype=np.float64).tolist()
    except (TypeError, ValueError):
        return repr(tree)


@dataclasses.dataclass(frozen=True, eq=False)
class Estimator(FamilySpec):
    """A user's estimator as a family spec (build it with :func:`estimator`).

    Compared and hashed by identity: the engine keeps one compiled program per estimator
    object, so reuse the object across runs (seeds and chain counts never recompile).
    """

    user = True
    # Identity, not the (field-less) comparison inherited from FamilySpec: two estimators are the
    # same family only if they are the same object, and the engine's program cache relies on it.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    sample: Callable = None  # type: ignore[assignment]
    fit: Callable = None  # type: ignore[assignment]
    truth: Any = None
    metrics: Callable | None = None
    name: str = "user-estimator"  # type: ignore[misc]
    real: Callable | None = None
    fit_info: bool = False
    warn: Callable | None = None
    minimum_samples: int = 1
    details: Mapping | None = None
    batching: str = "vmap"

    def over_chains(self, fn: Callable) -> Callable:
        """``fn`` of one chain as a function of arrays with a leading chain axis, by ``batching``."""
        if self.batching == "vmap":
            return jax.vmap(fn)
        return lambda *args: jax.lax.map(lambda a: fn(*a), args)

    def settings(self) -> dict:
        """What ran: a user family, its name, its truth and the details the user recorded."""
        return {
            "user_family": True,
            "estimator": self.name,
            "truth": _jsonable(self.truth),
            "details": dict(self.details) if self.details else None,
            **({"batching": self.batching} if self.batching != "vmap" else {}),
        }

    def label(self) -> str:
        """The name, marked as a user family."""
        return f"{self.name} (user estimator)"

    # --- validation: trace the user's functions abstractly, so mistakes are one-line errors ---
    def _truth(self, dtype=jnp.float32):
        return jax.tree_util.tree_map(lambda a: _leaf_dtype(a, dtype), self.truth)

    def _shapes(self):
        """Abstract shapes of a point, the fit's info and the metric names (traced once)."""
        return self._traced

    @functools.cached_property
    def _traced(self):
        """Abstract shapes of a point, the fit, its info and the metrics (ConfigError on mismatch)."""
        key = jax.random.key(0, impl="threefry2x32")
        truth = self._truth()
        try:
            pts, pts4 = (jax.eval_shape(lambda k, p, n=n: self.sample(k, p, n), key, truth) for n in (3, 4))
        except Exception as e:
            raise ConfigError(f"sample(key, params, n) failed on the truth: {type(e).__name__}: {e}") from None
        for n, got in ((3, pts), (4, pts4)):
            for leaf in jax.tree_util.tree_leaves(got):
                if leaf.ndim < 1 or leaf.shape[0] != n:
                    raise ConfigError(
                        f"sample(key, params, n) must return points with leading axis n, got {_describe(got)} for n={n}"
                    )
        weights = jax.ShapeDtypeStruct((3,), jnp.float32)
        try:
            out = jax.eval_shape(self.fit, pts, weights)
        except Exception as e:
            raise ConfigError(f"fit(points, weights) failed: {type(e).__name__}: {e}") from None
        params, info = out if self.fit_info else (out, {})
        if self.fit_info and not (isinstance(out, tuple) and len(out) == 2 and isinstance(info, Mapping)):
            raise ConfigError("with fit_info=True, fit must return (params, info) with info a dict of scalars")
        want = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(jnp.shape(a), jnp.asarray(a).dtype), truth)
        if jax.tree_util.tree_structure(params) != jax.tree_util.tree_structure(want) or any(
            a.shape != b.shape
            for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(want), strict=True)
        ):
            raise ConfigError(
                f"fit must return params shaped like truth: got {_describe(params)}, truth is {_describe(want)}"
            )
        for k, v in info.items():
            if jnp.shape(v) != ():
                raise ConfigError(f"fit's info[{k!r}] must be a scalar, got shape {jnp.shape(v)}")
        try:
            m = jax.eval_shape(self._metrics_fn(), truth)
        except Exception as e:
            raise ConfigError(f"metrics(params) failed on the truth: {type(e).__name__}: {e}") from None
        if not isinstance(m, Mapping) or not m:
            raise ConfigError("metrics(params) must return a non-empty dict of scalars")
        for k, v in m.items():
            if not isinstance(k, str) or jnp.shape(v) != ():
                raise ConfigError(f"metrics(params)[{k!r}] must be a scalar under a string name")
        return pts, info, tuple(m)

    def _metrics_fn(self) -> Callable:
        if self.metrics is not None:
            return self.metrics

        def leaves(params):
            out = {}
            for path, v in jax.tree_util.tree_flatten_with_path(params)[0]:
                v = jnp.asarray(v)
                name = f"param{jax.tree_util.keystr(path)}"
                if v.ndim == 0:
                    out[name] = v
                for idx in np.ndindex(v.shape) if v.ndim else ():
                    out[name + "".join(f"[{i}]" for i in idx)] = v[idx]
            return out

        return leaves

    def validated(self, run: RunContext) -> Estimator:
        """Check the functions by tracing them once on abstract values."""
        for what in ("sample", "fit"):
            if not callable(getattr(self, what)):
                raise ConfigError(f"ct.estimator needs a callable {what}")
        if self.metrics is not None and not callable(self.metrics):
            raise ConfigError("metrics must be a callable params -> dict of scalars")
        if self.real is not None and not callable(self.real):
            raise ConfigError("real must be a callable (key, n) -> points drawn from the truth")
        if self.truth is None:
            raise ConfigError("ct.estimator needs truth: the parameters of model 0 (a pytree)")
        if run.population:
            raise ConfigError("--samples inf (the population fit) is available for the 1-D Gaussian family")
        self._shapes()
        return self

    def min_samples(self) -> int:
        """``minimum_samples`` as given to :func:`estimator`."""
        return self.minimum_samples

    def metric_names(self) -> tuple[str, ...]:
        """The keys of ``metrics(truth)``, in order."""
        return self._shapes()[2]

    # --- the generic batched family ---
    def build(self, ctx: BuildContext) -> Family:
        """Batch the single-chain functions over chains (``batching``); keep the data in a weighted point pool."""
        dtype, size = ctx.dtype, ctx.pool
        truth1 = self._truth(dtype)
        sample, user_fit, user_metrics, real = self.sample, self.fit, self._metrics_fn(), self.real
        over = self.over_chains
        pts_shape, info_shape, _ = self._shapes()
        info0 = {k: jnp.asarray(jnp.nan, dtype) for k in info_shape}
        point_leaves = jax.tree_util.tree_map(
            lambda a: (a.shape[1:], _leaf_dtype(jnp.zeros((), a.dtype), dtype).dtype), pts_shape
        )

        def bcast(tree, c):
            return jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (c, *jnp.shape(a))), tree)

        def truth(c):
            return UserParams(bcast(truth1, c), bcast(info0, c))

        def empty(c):
            return pools.empty(point_leaves, c, size, dtype)

        def pack(x, keep):
            return pools.pack(x, keep, size, dtype)

        def cast_points(x):
            return jax.tree_util.tree_map(lambda a: _leaf_dtype(a, dtype), x)

        def points(key, chains, p, capacity):
            keys = chain_keys(key, chains)
            return cast_points(over(lambda k, q: sample(k, q, capacity))(keys, p.params))

        def prefix(n, capacity, c):
            n = jnp.broadcast_to(jnp.asarray(n, dtype), (c,))
            return jnp.arange(capacity)[None, :] < n[:, None]

        def draw(key, chains, p, n, capacity):
            return pack(points(key, chains, p, capacity), prefix(n, capacity, chains.shape[0]))

        def merge(a, b):
            return pools.merge(a, b, size, dtype)

        def fit_pool(pool):
            out = over(user_fit)(pool.x, pool.w)
            params, info = out if self.fit_info else (out, {})
            params = jax.tree_util.tree_map(lambda new, ref: jnp.asarray(new).astype(ref.dtype), params, truth1)
            return UserParams(params, {k: jnp.asarray(info[k]).astype(dtype) for k in info_shape})

        def fit_weighted(rpool, spool, w):
            total = rpool.n + spool.n
            w = jnp.where(rpool.n == 0, 0.0, jnp.where(spool.n == 0, 1.0, jnp.asarray(w, dtype)))
            scale_r = w * total / jnp.maximum(jnp.sum(rpool.w, axis=1), 1e-30)
            scale_s = (1.0 - w) * total / jnp.maximum(jnp.sum(spool.w, axis=1), 1e-30)
            merged = merge(rpool._replace(w=rpool.w * scale_r[:, None]), spool._replace(w=spool.w * scale_s[:, None]))
            return fit_pool(merged)

        def metrics(p):
            m = over(user_metrics)(p.params)
            return {k: jnp.asarray(v) for k, v in m.items()}

        names = self.metric_names()
        fam = Family(
            name=self.name,
            truth=truth,
            draw=draw,
            points=points,
            points_stats=lambda x, mask: pack(x, mask),
            empty=empty,
            merge=merge,
            fit=fit_pool,
            fit_weighted=fit_weighted,
            metrics=metrics,
            metric_names=names,
            diagnostics=(lambda p: dict(p.info)) if info_shape else None,
            warnings=self.warn,
        )
        if real is None:
            return fam

        def real_points(key, chains, capacity):
            keys = chain_keys(key, chains)
            return cast_points(over(lambda k: real(k, capacity))(keys))

        def real_stats(key, chains, n, capacity):
            return pack(real_points(key, chains, capacity), prefix(n, capacity, chains.shape[0]))

        return fam._replace(real=real_stats, real_points=real_points)

    def bytes_per_chain(self, ctx: BuildContext) -> int:
        """The pool, a sample's points and their weights (from the traced point shape)."""
        pts, _, _ = self._shapes()
        per_point = sum(math.prod(a.shape[1:]) * 8 for a in jax.tree_util.tree_leaves(pts)) + 8
        return max(64, 2 * per_point * (ctx.pool + 2 * ctx.capacity))


def estimator(
    *,
    sample: Callable,
    fit: Callable,
    truth: Any,
    metrics: Callable | None = None,
    name: str = "user-estimator",
    real: Callable | None = None,
    fit_info: bool = False,
    warn: Callable | None = None,
    min_samples: int = 1,
    details: Mapping | None = None,
    batching: str = "vmap",
) -> Estimator:
    """A user's estimator as a family that :func:`collapse_theory.run` takes (module docstring).

    Args:
        sample: ``sample(key, params, n) -> points`` for ONE chain: a standard JAX key, the
            parameters pytree, a static int ``n``; points have leading axis ``n`` (any pytree).
        fit: ``fit(points, weights) -> params`` for ONE chain: points with leading axis ``N``,
            weights ``(N,)`` (frequency weights; 0 marks an empty slot). Returns ``params`` shaped
            like ``truth``, or ``(params, info)`` with ``fit_info=True``.
        truth: the parameters of model 0 (the truth), a pytree of numbers or arrays.
        metrics: ``metrics(params) -> dict[str, scalar]`` for ONE chain (default: every leaf of
            the parameters).
        name: recorded in results (``config["family"]``), which also say it is a user family.
        real: ``real(key, n) -> points``: real data from a truth outside the model family
            (a misspecified fit); default ``sample(key, truth, n)``.
        fit_info: whether ``fit`` returns ``(params, info)`` (diagnostics beside the params).
        warn: ``warn(diagnostics, generations) -> list[str]``: warnings from the recorded
            diagnostics (name -> ``float64[R, chains]``).
        min_samples: the smallest sample size ``fit`` accepts.
        details: the estimator's own settings, recorded in results (JSON-ready values).
        batching: ``"vmap"`` (default) vectorizes the single-chain functions over a chunk's
            chains; ``"map"`` runs them one chain after another (``jax.lax.map``). Use ``"map"``
            when the functions use matmuls (``jnp.dot``, ``@``, ``einsum``) or long reductions
            whose last bit XLA:CPU lets depend on the batched shape: under ``vmap`` they can make
            chain ``c``'s results change with ``chunk_size`` (module docstring), which
            ``ct.testing.check_estimator`` reports as a chunk-invariance failure.

    Returns:
        An :class:`Estimator`.

    Raises:
        ConfigError: a function or the truth is missing or has the wrong form (checked when
            the run starts, by tracing the functions on abstract values).

    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"name must be a non-empty string, got {name!r}")
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
        raise ConfigError(f"min_samples must be a positive integer, got {min_samples!r}")
    if batching not in BATCHING:
        raise ConfigError(f"batching must be one of {', '.join(BATCHING)}, got {batching!r}")
    return Estimator(
        sample=sample,
        fit=fit,
        truth=truth,
        metrics=metrics,
        name=name,
        real=real,
        fit_info=bool(fit_info),
        warn=warn,
        minimum_samples=min_samples,
        details=details,
        batching=batching,
    )
