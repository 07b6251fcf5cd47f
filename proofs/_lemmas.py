"""Lemmas derived once and shared by several proofs (cached).

* :func:`chi2_mellin`: ``E[X^s]`` of ``X ~ chi2_k`` by direct integration of the density.
* :func:`expectation`: expectation of a polynomial in independent standard normals (and
  other independent factors whose moments are given), by expanding and replacing monomials.
* :func:`gamma_ratio_limit`: ``Gamma(N+a)Gamma(N+b)/(Gamma(N+c)Gamma(N+a+b-c)) -> 1``.
* :func:`euler_sinc`: Euler's product ``prod_{j>=1} (1 - x^2/j^2) = sin(pi x)/(pi x)``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import sympy as sp

__all__ = ["chi2_mellin", "euler_sinc", "expectation", "gamma_ratio_limit", "log_moments"]

_X = sp.Symbol("x_chi2", positive=True)
_K = sp.Symbol("k_chi2", positive=True)
_S = sp.Symbol("s_chi2", real=True)


@functools.cache
def _mellin_generic() -> sp.Expr:
    density = _X ** (_K / 2 - 1) * sp.exp(-_X / 2) / (2 ** (_K / 2) * sp.gamma(_K / 2))
    sp_pos = sp.Symbol("s_pos", positive=True)
    value = sp.integrate(_X**sp_pos * density, (_X, 0, sp.oo), conds="none")
    # Valid for s > -k/2 by analytic continuation in s of the same Gamma integral.
    return sp.gammasimp(value).subs(sp_pos, _S)


def chi2_mellin(s: sp.Expr, k: sp.Expr) -> sp.Expr:
    """``E[X^s]`` for ``X ~ chi2_k``, derived by integrating the chi-square density.

    Returns:
        ``2^s Gamma(k/2 + s) / Gamma(k/2)`` (as produced by ``sympy.integrate``).
    """
    return _mellin_generic().subs({_S: s, _K: k})


@functools.cache
def _log_moments_generic() -> tuple[sp.Expr, sp.Expr]:
    s = sp.Symbol("s_cgf", real=True)
    scale = sp.Symbol("scale_cgf", positive=True)
    cgf = sp.log(scale**s * chi2_mellin(s, _K))
    mean = sp.simplify(sp.expand_log(sp.diff(cgf, s).subs(s, 0), force=True))
    var = sp.simplify(sp.diff(cgf, s, 2).subs(s, 0))
    return mean, var, scale


def log_moments(k: sp.Expr, scale: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Mean and variance of ``log W`` for ``W = scale * chi2_k``.

    The cumulant generating function of ``log W`` is ``log E[W^s]``; its first two
    derivatives at ``s = 0`` are the mean and the variance (derived once for symbolic
    ``k`` and ``scale``, then substituted).
    """
    mean, var, sym = _log_moments_generic()
    return mean.subs({_K: k, sym: scale}), var.subs({_K: k, sym: scale})


def expectation(
    expr: sp.Expr, normals: tuple[sp.Symbol, ...], moments: Mapping[sp.Expr, sp.Expr] | None = None
) -> sp.Expr:
    """Expectation of a polynomial in independent ``N(0, 1)`` variables ``normals``.

    Monomials ``z^p`` are replaced by the normal moments ``E z^p`` (0 for odd ``p``,
    ``(p-1)!!`` for even); other symbols are treated as independent of the normals and are
    kept, or replaced through ``moments`` (e.g. ``{S**2: s_t}``) after the normals are gone.
    """
    poly = sp.Poly(sp.expand(expr), *normals)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        factor = sp.Integer(1)
        for p in powers:
            factor *= 0 if p % 2 else sp.factorial2(p - 1)
        total += factor * coeff
    total = sp.expand(total)
    if moments:
        total = sp.expand(total.subs(moments))
    return total


def gamma_ratio_limit(a: sp.Expr, b: sp.Expr, c: sp.Expr) -> sp.Expr:
    """Leading term of ``log[Gamma(N+a)Gamma(N+b)/(Gamma(N+c)Gamma(N+a+b-c))]`` as N -> oo.

    Returns:
        The constant term of the asymptotic series (0 means the ratio tends to 1); the next
        term is ``O(1/N)``.
    """
    big = sp.Symbol("N_big", positive=True)
    d = a + b - c
    expr = sp.loggamma(big + a) + sp.loggamma(big + b) - sp.loggamma(big + c) - sp.loggamma(big + d)
    series = sp.series(expr, big, sp.oo, 2).removeO()
    constant = series.subs(big, sp.oo) if not series.has(big) else sp.limit(series, big, sp.oo)
    return sp.simplify(sp.expand_log(constant, force=True))


@functools.cache
def euler_sinc() -> tuple[bool, str]:
    """Check Euler's product ``prod_{j=1}^N (1 - x^2/j^2) -> sin(pi x)/(pi x)``.

    Steps: (i) the finite product equals ``Gamma(N+1-x)Gamma(N+1+x)/(Gamma(1-x)Gamma(1+x)
    Gamma(N+1)^2)`` (telescoping ratio verified with ``gammasimp``); (ii) the ratio of the
    ``N``-dependent Gammas tends to 1 (:func:`gamma_ratio_limit`); (iii) the reflection formula
    ``Gamma(1-x)Gamma(1+x) = pi x / sin(pi x)`` (``gammasimp``).
    """
    x = sp.Symbol("x_e", positive=True)
    big = sp.Symbol("N_e", integer=True, positive=True)
    finite = (
        sp.gamma(big + 1 - x) * sp.gamma(big + 1 + x) / (sp.gamma(1 - x) * sp.gamma(1 + x) * sp.gamma(big + 1) ** 2)
    )
    ratio = sp.gammasimp(finite.subs(big, big + 1) / finite)
    step1 = sp.cancel(ratio - (1 - x**2 / (big + 1) ** 2)) == 0
    start = sp.gammasimp(finite.subs(big, 0)) == 1
    step2 = gamma_ratio_limit(1 - x, 1 + x, 1) == 0
    step3 = sp.simplify(sp.gammasimp(sp.gamma(1 - x) * sp.gamma(1 + x)) - sp.pi * x / sp.sin(sp.pi * x)) == 0
    ok = bool(step1 and start and step2 and step3)
    return ok, f"telescoping {step1}, N=0 {start}, Gamma-ratio limit {step2}, reflection {step3}"
