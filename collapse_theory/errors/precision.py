"""Precision policies: emulated low-precision rounding and accumulation, to study numerical error.

Values live in a *carrier* array (float32 or float64) but are kept exactly representable in a
narrower *format* (float16, bfloat16, float32): after every arithmetic operation the carrier
result is rounded to the format by :func:`round_to`. The carrier computes the operation first
(round to nearest), so the emulation is a double rounding; with float32 carrying float16 or
bfloat16 this changes a rounding decision only for results within 2^-24 (relative) of a tie or a
stochastic threshold, far below the format's own unit roundoff.

* ``"nearest"``: round to nearest, ties to even (IEEE 754 default), by a cast.
* ``"stochastic"``: round up with probability equal to the distance to the lower neighbour over
  the spacing, so ``E round(x) = x``; the uniforms come from :func:`bits.uniform` under the
  caller's key and global chain indices (per-chain streams). Probabilities are resolved to the
  uniform grid (2^-23 in float32, 2^-52 in float64).

Overflow follows the format: round to nearest gives +-inf beyond the largest finite value plus
half a spacing; stochastic rounding treats ``2^(emax+1)`` as the virtual neighbour above the
largest finite value and returns +-inf when it is chosen. float16 / bfloat16 subnormals are
handled by the casts and the bit-level neighbour steps. XLA on CPU flushes *float32* subnormal
arithmetic results to zero, so float32-in-float64 emulation is exact only in the normal range.

Accumulations over the sample axis (``x[C, n]`` with a boolean ``mask[C, n]``), each
intermediate rounded: recursive (:func:`sum_naive`, a ``lax.scan``), pairwise (:func:`sum_pairwise`,
``ceil(log2 n)`` levels), compensated (:func:`sum_kahan`), and :func:`mean_var` with a two-pass
or Welford one-pass variance.

References:
    N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM (2002), ch. 2-4.
    M. P. Connolly, N. J. Higham & T. Mary, "Stochastic rounding and its probabilistic backward
    error analysis", SIAM J. Sci. Comput. 43 (2021).
    B. P. Welford, "Note on a method for calculating corrected sums of squares and products",
    Technometrics 4 (1962).
    W. Kahan, "Further remarks on reducing truncation errors", Comm. ACM 8 (1965).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from collapse_theory.random import bits
from collapse_theory.random import purposes as tags

__all__ = [
    "summation_constant",
    "mean_error_bound",
    "ACCUMULATIONS",
    "FORMATS",
    "ROUNDINGS",
    "UNIT_ROUNDOFF",
    "format_dtype",
    "mean_var",
    "round_to",
    "rounder",
    "sum_kahan",
    "sum_naive",
    "sum_pairwise",
    "ulp",
]

FORMATS = ("float64", "float32", "float16", "bfloat16")
ROUNDINGS = ("nearest", "stochastic")
ACCUMULATIONS = ("naive", "pairwise", "kahan", "welford")
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8}
_UINT = {"float64": jnp.uint64, "float32": jnp.uint32, "float16": jnp.uint16, "bfloat16": jnp.uint16}
_BITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}

Rounder = Callable[[jax.Array, jax.typing.ArrayLike], jax.Array]


def format_dtype(fmt: str):
    """The numpy/JAX dtype of a format name."""
    _check_format(fmt)
    return jnp.dtype(fmt)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} not in {FORMATS}")


def _check_carrier(fmt: str, dtype, mode: str) -> None:
    _check_format(fmt)
    if mode not in ROUNDINGS:
        raise ValueError(f"rounding mode {mode!r} not in {ROUNDINGS}")
    carrier = jnp.dtype(dtype)
    if carrier not in (jnp.float32, jnp.float64):
        raise ValueError(f"carrier dtype must be float32 or float64, got {carrier}")
    if _BITS[fmt] > jnp.finfo(carrier).nmant + 1:
        raise ValueError(f"format {fmt} is wider than the carrier dtype {carrier}")
    if mode == "stochastic" and _BITS[fmt] == jnp.finfo(carrier).nmant + 1:
        raise ValueError(f"stochastic rounding to {fmt} needs a wider carrier than {carrier}")


def _step(r: jax.Array, fmt: str, up: bool) -> jax.Array:
    """The format neighbour of non-negative ``r`` (in the format dtype) above or below it."""
    ui = jax.lax.bitcast_convert_type(r, _UINT[fmt])
    one = jnp.asarray(1, _UINT[fmt])
    return jax.lax.bitcast_convert_type(ui + one if up else ui - one, r.dtype)


def _odd_float32(x: jax.Array) -> jax.Array:
    """float64 -> float32 with round-to-odd: truncate, and set the last bit if inexact.

    Rounding to odd at 24 bits and then to nearest at <= 22 bits equals a single correct rounding
    (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using
    rounding to odd", IEEE TC 57 (2008), Theorem 1; it needs 2 extra bits). XLA's direct
    float64 -> float16/bfloat16 conversion goes through float32 with round-to-nearest twice and
    is wrong near ties (1 + 2^-11 + 2^-40 becomes 1, not 1 + 2^-10).
    """
    r = x.astype(jnp.float32)
    back = r.astype(x.dtype)
    inexact = (back != x) & jnp.isfinite(x)
    ui = jax.lax.bitcast_convert_type(r, jnp.uint32)
    over = inexact & (jnp.abs(back) > jnp.abs(x)) & (ui & jnp.uint32(0x7FFFFFFF) != 0)
    ui = jnp.where(over, ui - jnp.uint32(1), ui)  # one step toward zero (sign-magnitude bits)
    ui = jnp.where(inexact, ui | jnp.uint32(1), ui)
    return jax.lax.bitcast_convert_type(ui, jnp.float32)


def ulp(x: jax.Array, fmt: str) -> jax.Array:
    """The format's spacing above ``|round(x)|``, in the carrier dtype (ulp(1) = 2u in float32)."""
    r = jnp.abs(x).astype(format_dtype(fmt))
    return (_step(r, fmt, True).astype(x.dtype) - r.astype(x.dtype)).astype(x.dtype)


def round_to(
    x: jax.Array,
    fmt: str,
    mode: str = "nearest",
    key: bits.KeyPair | None = None,
    chains: jax.Array | None = None,
) -> jax.Array:
    """Round a float32/float64 array to ``fmt`` and back (the result is representable in ``fmt``).

    Args:
        x: carrier array ``[C, ...]`` (float32 or float64).
        fmt: one of :data:`FORMATS`, no wider than the carrier.
        mode: ``"nearest"`` (ties to even) or ``"stochastic"``.
        key: ``uint32[2]`` key for stochastic rounding (one key per rounding operation).
        chains: ``uint32[C]`` global chain indices for stochastic rounding.

    Returns:
        Array of ``x``'s shape and dtype.

    Raises:
        ValueError: unknown format or mode, a format wider than the carrier, or stochastic rounding
            without a key and chains (or to the carrier's own format, which cannot be emulated).

    """
    _check_carrier(fmt, x.dtype, mode)
    target = format_dtype(fmt)
    if mode == "nearest":
        if target == x.dtype:
            return x
        if x.dtype == jnp.float64 and fmt in ("float16", "bfloat16"):
            return _odd_float32(x).astype(target).astype(x.dtype)
        return x.astype(target).astype(x.dtype)
    if key is None or chains is None:
        raise ValueError("stochastic rounding needs key and chains")
    a = jnp.abs(x)
    r = a.astype(target)
    below = r.astype(x.dtype) > a
    lo = jnp.where(below, _step(r, fmt, False), r)
    hi = jnp.where(below, r, _step(r, fmt, True))
    lo_c, hi_c = lo.astype(x.dtype), hi.astype(x.dtype)
    # Above the largest finite value the virtual neighbour is 2^(emax+1): spacing = ulp(max).
    top = jnp.isinf(hi_c)
    spacing = jnp.where(top, lo_c - _step(lo, fmt, False).astype(x.dtype), hi_c - lo_c)
    p_up = (a - lo_c) / spacing
    size = x.size // max(x.shape[0], 1) if x.ndim else 1
    u = bits.uniform(key, chains, size, x.dtype).reshape(x.shape)
    out = jnp.where(u < p_up, hi_c, lo_c)
    out = jnp.where(jnp.isinf(a), a, out)
    return jnp.where(jnp.isnan(x), x, jnp.copysign(out, x))


def rounder(fmt: str, mode: str, key: bits.KeyPair | None, chains: jax.Array | None) -> Rounder:
    """``rnd(v, tag)``: :func:`round_to` with the key folded by ``tag`` (one tag per operation)."""
    _check_format(fmt)
    if mode == "nearest":
        return lambda v, tag: round_to(v, fmt)
    if key is None or chains is None:
        raise ValueError("stochastic rounding needs key and chains")
    return lambda v, tag: round_to(v, fmt, mode, bits.fold(key, tag), chains)


def summation_constant(method: str, n: jax.Array, fmt: str, mode: str = "nearest") -> jax.Array:
    """``c`` in Higham's ``|s_hat - s| <= c * sum |x_i|`` for ``n`` summands, or NaN (Welford).

    ``gamma_{n-1}`` (recursive, Higham 2002 eq. 4.4), ``gamma_{ceil(log2 n)}`` (pairwise, §4.2) and
    ``2u + n u^2`` (Kahan, eq. 4.8 with the O(n u^2) term's constant taken as 1), with
    ``gamma_k = k u / (1 - k u)``. Stochastic rounding errs by less than one ulp (not half), so
    ``u`` is doubled there. The registry's ``rounding.sum.*`` hold the same forms. Where
    ``k u >= 1`` the bound says nothing and NaN is returned.
    """
    u = UNIT_ROUNDOFF[fmt] * (2.0 if mode == "stochastic" else 1.0)

    def gamma(k):  # defined for k u < 1 only: NaN (no bound) beyond
        return jnp.where(k * u < 1.0, k * u / (1.0 - k * u), jnp.nan)

    n = jnp.maximum(n, 1.0)
    if method == "naive":
        return gamma(n - 1.0)
    if method == "pairwise":
        return gamma(jnp.ceil(jnp.log2(n) - 1e-9))
    if method == "kahan":
        return 2.0 * u + n * u * u
    return jnp.full_like(n, jnp.nan)


def mean_error_bound(method: str, x: jax.Array, mask: jax.Array, fmt: str, mode: str = "nearest") -> jax.Array:
    """Bound on ``|mean_hat - mean|`` of :func:`mean_var`'s mean, per chain (NaN for Welford).

    ``mean_hat = fl(s_hat / fl(n))``: with ``|s_hat - s| <= c sum|x|`` and ``|delta|, |eta| <= u``
    for the division and the rounded count, ``|mean_hat - s/n| <= (c sum|x| / n)(1 + u)/(1 - u)
    + |s/n| 2u/(1 - u)``.
    """
    u = UNIT_ROUNDOFF[fmt] * (2.0 if mode == "stochastic" else 1.0)
    n = jnp.sum(mask, axis=1).astype(x.dtype)
    safe = jnp.maximum(n, 1.0)
    abs_sum = jnp.sum(jnp.where(mask, jnp.abs(x), 0.0), axis=1)
    mean = jnp.sum(jnp.where(mask, x, 0.0), axis=1) / safe
    c = summation_constant(method, n, fmt, mode)
    return c * abs_sum / safe * (1.0 + u) / (1.0 - u) + jnp.abs(mean) * 2.0 * u / (1.0 - u)


def _masked(x: jax.Array, mask: jax.Array) -> jax.Array:
    return jnp.where(mask, x, jnp.zeros((), x.dtype))


def sum_naive(x, mask, fmt: str, mode: str = "nearest", key=None, chains=None) -> jax.Array:
    """Recursive summation ``s_j = round(s_{j-1} + x_j)`` over axis 1 (Higham 2002, §4.1).

    Args:
        x: ``[C, n]`` carrier values representable in ``fmt``.
        mask: ``[C, n]`` booleans; masked entries contribute an exact zero.
        fmt: format of every intermediate (:data:`FORMATS`).
        mode: ``"nearest"`` or ``"stochastic"``.
        key: key of stochastic rounding (folded with the operation index).
        chains: ``uint32[C]`` global chain indices.

    Returns:
        ``[C]`` sums.

    """
    rnd = rounder(fmt, mode, key, chains)
    xs = _masked(x, mask).T

    def body(s, item):
        j, xj = item
        return rnd(s + xj, j), None

    s0 = jnp.zeros(x.shape[:1], x.dtype)
    s, _ = jax.lax.scan(body, s0, (jnp.arange(x.shape[1], dtype=jnp.uint32), xs))
    return s


def sum_pairwise(x, mask, fmt: str, mode: str = "nearest", key=None, chains=None) -> jax.Array:
    """Pairwise (cascade) summation over axis 1: ``ceil(log2 n)`` levels of rounded pair sums.

    The row is zero-padded to a power of two (padding adds exact zeros). Higham (2002), §4.2.
    """
    rnd = rounder(fmt, mode, key, chains)
    v = _masked(x, mask)
    n = v.shape[1]
    width = 1 << max(n - 1, 0).bit_length()
    v = jnp.pad(v, ((0, 0), (0, width - n)))
    level = 0
    while v.shape[1] > 1:
        v = rnd(v[:, 0::2] + v[:, 1::2], 0x10000 + level)
        level += 1
    return v[:, 0]


def sum_kahan(x, mask, fmt: str, mode: str = "nearest", key=None, chains=None) -> jax.Array:
    """Compensated (Kahan 1965) summation over axis 1, every operation rounded (Higham §4.3)."""
    rnd = rounder(fmt, mode, key, chains)
    xs = _masked(x, mask).T

    def body(carry, item):
        s, c = carry
        j, xj = item
        y = rnd(xj - c, 4 * j)
        t = rnd(s + y, 4 * j + 1)
        c = rnd(rnd(t - s, 4 * j + 2) - y, 4 * j + 3)
        return (t, c), None

    zero = jnp.zeros(x.shape[:1], x.dtype)
    (s, _), _ = jax.lax.scan(body, (zero, zero), (jnp.arange(x.shape[1], dtype=jnp.uint32), xs))
    return s


_SUMS = {"naive": sum_naive, "pairwise": sum_pairwise, "kahan": sum_kahan}


def _welford(x, mask, rnd: Rounder):
    """Welford's update: d = x - m, m += d / k, M2 += d (x - m_new); masked points are skipped."""
    xs, ms = x.T, mask.T

    def body(carry, item):
        k, m, m2 = carry
        j, xj, keep = item
        k1 = k + keep.astype(x.dtype)
        d = rnd(xj - m, 4 * j)
        m_new = rnd(m + rnd(d / rnd(jnp.maximum(k1, 1.0), 0x40000 + j), 4 * j + 1), 4 * j + 2)
        m2_new = rnd(m2 + rnd(d * rnd(xj - m_new, 4 * j + 3), 0x20000 + j), 0x30000 + j)
        return (k1, jnp.where(keep, m_new, m), jnp.where(keep, m2_new, m2)), None

    zero = jnp.zeros(x.shape[:1], x.dtype)
    (k, m, m2), _ = jax.lax.scan(body, (zero, zero, zero), (jnp.arange(x.shape[1], dtype=jnp.uint32), xs, ms))
    return k, m, m2


def mean_var(
    x: jax.Array,
    mask: jax.Array,
    fmt: str,
    mode: str = "nearest",
    method: str = "naive",
    ddof: float = 1.0,
    key: bits.KeyPair | None = None,
    chains: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Sample mean and variance over axis 1 with every intermediate rounded to ``fmt``.

    ``naive``/``pairwise``/``kahan``: two-pass (mean = round(S / n), then the sum of rounded
    squared deviations, Chan, Golub & LeVeque 1983) with that summation; ``welford``: Welford's
    one-pass update. The count ``n`` and ``n - ddof`` are rounded to ``fmt`` before dividing.

    Args:
        x: ``[C, n]`` carrier values representable in ``fmt``.
        mask: ``[C, n]`` booleans.
        fmt: one of :data:`FORMATS`.
        mode: ``"nearest"`` or ``"stochastic"``.
        method: one of :data:`ACCUMULATIONS`.
        ddof: 1 for the unbiased variance, 0 for the MLE.
        key: key of stochastic rounding (``None`` for round to nearest).
        chains: ``uint32[C]`` global chain indices (stochastic rounding).

    Returns:
        ``(mean[C], var[C])``; ``var`` is ``nan`` when ``n - ddof <= 0`` and ``n = 0`` (0/0).

    """
    if method not in ACCUMULATIONS:
        raise ValueError(f"accumulation {method!r} not in {ACCUMULATIONS}")
    rnd = rounder(fmt, mode, key, chains)
    count = jnp.sum(mask, axis=1).astype(x.dtype)
    n_f = rnd(count, 1)
    denom = rnd(count - ddof, 2)
    if method == "welford":
        sub_rnd = rounder(fmt, mode, None if key is None else bits.fold(key, tags.ROUND_WELFORD), chains)
        _, mean, m2 = _welford(x, mask, sub_rnd)
        return mean, rnd(m2 / denom, tags.ROUND_VAR)
    total = _SUMS[method]
    sub = None if key is None else bits.fold(key, tags.ROUND_SUM_MEAN)
    mean = rnd(total(x, mask, fmt, mode, sub, chains) / n_f, tags.ROUND_MEAN)
    dev = rnd(x - mean[:, None], tags.ROUND_DEV)
    sq = rnd(dev * dev, tags.ROUND_SQ)
    sub = None if key is None else bits.fold(key, tags.ROUND_SS)
    ss = total(sq, mask, fmt, mode, sub, chains)
    return mean, rnd(ss / denom, tags.ROUND_VAR)
