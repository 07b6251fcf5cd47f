"""Exact finite-chain quantities of the neutral Wright-Fisher model (numeric).

The diffusion formulas of :mod:`collapse_theory.theory.wright_fisher` are approximations; the
reference values at small ``M`` come from the finite Markov chain itself. The mean absorption
time solves ``(I - Q) tau = 1`` on the transient states (first-step analysis); ``E[T; loss]``
solves ``(I - Q) u = h_0`` with ``h_0(x) = 1 - x/M`` the loss probability.

* ``K = 2``: the binomial chain on counts ``{0..M}``.
* ``K >= 3``: the multinomial chain on all compositions of ``M`` into ``K`` parts; absorbed
  when only one state is left (``binom(M+K-1, K-1)`` states, so ``M`` is capped).

References:
    J. G. Kemeny & J. L. Snell, *Finite Markov Chains* (1960), fundamental matrix
    ``N = (I - Q)^-1``.
    Method and reference numbers: ``docs/derivations.md``, 'Wright-Fisher exact chain' [DER, MC];
    independent recomputations in ``proofs/wright_fisher_chain.py``.

"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence

import numpy as np
import scipy.linalg
import scipy.special

from collapse_theory.theory.domains import INT_GE0, INT_GE1, Constraint, Integer
from collapse_theory.theory.registry import Result, result

__all__ = [
    "absorption_time",
    "binomial_matrix",
    "conditional_loss_time",
    "median_loss_time",
    "results",
]

_PROOF = "proofs.wright_fisher_chain"
_MAX_STATES = 4000
MAX_M_K2 = 1000
"""Cap on M for the two-state solves (a dense (M-1) x (M-1) system, about 0.1-0.5 s at the cap)."""
MAX_M_K3 = 40
"""Cap on M for three states (binom(M+2, 2) = 861 compositions at the cap, about 0.3 s of CPU)."""
MEDIAN_COST = 50_000_000
"""Cap on ``k M^2``: the median takes about ``2.9 k`` steps of an ``M x M`` product (Feller:
``2k/ln 2``), about 0.4 s of CPU at the cap for ``M = 1000``."""
_M1 = Integer(1, MAX_M_K2, why_high="cost cap: the exact solve is a dense (M-1) x (M-1) system")
_M2 = Integer(2, MAX_M_K2, why_high="cost cap: the exact solve is a dense (M-1) x (M-1) system")
_M3 = Integer(1, MAX_M_K3, why_high="cost cap: the chain has binom(M+2, 2) states")
_SUM3 = Constraint("x1 + x2 + x3 = M", lambda v: v["x1"] + v["x2"] + v["x3"] == v["M"], ("x1", "x2", "x3", "M"))
_TWO_LIVE = Constraint(
    "at least two of x1, x2, x3 positive (else the exact time is 0)",
    lambda v: sum(v[k] > 0 for k in ("x1", "x2", "x3")) >= 2,
    ("x1", "x2", "x3"),
)
_X_LE_M = Constraint("x <= M", lambda v: v["x"] <= v["M"], ("x", "M"))
_X_INSIDE = Constraint("0 < x < M", lambda v: 0 < v["x"] < v["M"], ("x", "M"))
_K_INSIDE = Constraint("k < M", lambda v: v["k"] < v["M"], ("k", "M"))
_MEDIAN_CAP = Constraint(
    f"k M^2 <= {MEDIAN_COST:.3g} (cost cap: about 2.9 k steps of M^2 operations)",
    lambda v: v["k"] * v["M"] ** 2 <= MEDIAN_COST,
    ("k", "M"),
)
_CITE = (
    "derived here (docs/derivations.md, 'Wright-Fisher exact chain'): exact chain solve (I - Q) tau = 1 "
    "(Kemeny & Snell, Finite Markov Chains, 1960)"
)


def _check_counts(counts: Sequence[float]) -> tuple[int, ...]:
    out = []
    for c in counts:
        if c != int(c) or c < 0:
            raise ValueError(f"counts must be non-negative integers, got {counts}")
        out.append(int(c))
    if sum(out) < 1:
        raise ValueError("counts must sum to M >= 1")
    return tuple(out)


@functools.cache
def binomial_matrix(size: int) -> np.ndarray:
    """Transition matrix ``P[x, y] = Bin(y; M, x/M)`` of the two-state count chain."""
    x = np.arange(size + 1)
    probs = x / size
    log_p = np.where(probs > 0, np.log(np.where(probs > 0, probs, 1.0)), -np.inf)
    log_q = np.where(probs < 1, np.log1p(-np.where(probs < 1, probs, 0.0)), -np.inf)
    log_binom = scipy.special.gammaln(size + 1) - scipy.special.gammaln(x + 1) - scipy.special.gammaln(size - x + 1)
    y = x[None, :]
    with np.errstate(invalid="ignore"):
        log_pmf = log_binom[None, :] + y * log_p[:, None] + (size - y) * log_q[:, None]
    log_pmf = np.where(np.isnan(log_pmf), -np.inf, log_pmf)
    mat = np.exp(log_pmf)
    mat[0] = 0.0
    mat[0, 0] = 1.0
    mat[size] = 0.0
    mat[size, size] = 1.0
    return mat


@functools.cache
def _composition_chain(size: int, states: int) -> tuple[tuple[tuple[int, ...], ...], np.ndarray]:
    comps = [c for c in itertools.product(range(size + 1), repeat=states) if sum(c) == size]
    if len(comps) > _MAX_STATES:
        raise ValueError(f"{len(comps)} compositions exceed the cap {_MAX_STATES}; lower M")
    arr = np.array(comps, dtype=np.float64)
    transient = (arr > 0).sum(axis=1) >= 2
    tr = arr[transient]
    probs = tr / size
    safe_log = np.log(np.where(probs > 0, probs, 1.0))
    log_coef = scipy.special.gammaln(size + 1) - scipy.special.gammaln(tr + 1).sum(axis=1)
    # log P(a -> b) = log multinomial(b) + sum_i b_i log p_i(a); impossible if b_i > 0 = p_i(a).
    log_q = log_coef[None, :] + safe_log @ tr.T
    impossible = ((probs == 0).astype(np.float64) @ (tr > 0).astype(np.float64).T) > 0
    log_q = np.where(impossible, -np.inf, log_q)
    q = np.exp(log_q)
    keys = tuple(tuple(int(v) for v in row) for row in tr)
    return keys, q


def absorption_time(counts: Sequence[float]) -> float:
    """Exact mean number of generations until only one state is left.

    Args:
        counts: Initial counts ``(x_1, ..., x_K)`` with ``sum = M``.

    Returns:
        ``E[T]``; 0 if at most one count is positive.

    """
    counts = _check_counts(counts)
    size = sum(counts)
    if sum(c > 0 for c in counts) <= 1:
        return 0.0
    live = tuple(c for c in counts if c > 0)
    if len(live) == 2:
        mat = binomial_matrix(size)[1:size, 1:size]
        tau = scipy.linalg.solve(np.eye(size - 1) - mat, np.ones(size - 1))
        return float(tau[live[0] - 1])
    keys, q = _composition_chain(size, len(live))
    tau = scipy.linalg.solve(np.eye(len(keys)) - q, np.ones(len(keys)))
    return float(tau[keys.index(live)])


def conditional_loss_time(size: int, count: int) -> float:
    """Exact ``E[T | loss]`` for a state with initial count ``count`` out of ``size``."""
    if size != int(size) or count != int(count):
        raise ValueError("M and the count must be integers")
    size, count = int(size), int(count)
    if not 0 < count < size:
        raise ValueError("need 0 < count < M")
    mat = binomial_matrix(size)[1:size, 1:size]
    h0 = 1 - np.arange(1, size) / size
    u = scipy.linalg.solve(np.eye(size - 1) - mat, h0)
    return float(u[count - 1] / h0[count - 1])


def median_loss_time(size: int, count: int, max_steps: int = 1_000_000) -> int:
    """Exact median of the loss time given loss: least ``t`` with ``P(X_t = 0) >= P(loss)/2``."""
    if size != int(size) or count != int(count):
        raise ValueError("M and the count must be integers")
    size, count = int(size), int(count)
    if not 0 < count < size:
        raise ValueError("need 0 < count < M")
    mat = binomial_matrix(size)
    dist = np.zeros(size + 1)
    dist[count] = 1.0
    target = 0.5 * (1 - count / size)
    for step in range(1, max_steps + 1):
        dist = dist @ mat
        if dist[0] >= target:
            return step
    raise ValueError("median not reached within max_steps")


def _littler(counts: Sequence[float]) -> float:
    size = sum(counts)
    return -2 * size * math.fsum((1 - c / size) * math.log1p(-c / size) for c in counts if c < size)


def _kimura_ohta(size: float, count: float) -> float:
    qv = count / size
    return -2 * size * (qv * math.log(qv) + (1 - qv) * math.log1p(-qv))


def _k2(M: float, x: float) -> float:  # noqa: N803
    return absorption_time((M - x, x))


def _k3(M: float, x1: float, x2: float, x3: float) -> float:  # noqa: N803
    if x1 + x2 + x3 != M:
        raise ValueError("x1 + x2 + x3 must equal M")
    return absorption_time((x1, x2, x3))


def _k3_rel(M: float, x1: float, x2: float, x3: float) -> float:  # noqa: N803
    exact = _k3(M, x1, x2, x3)
    return _littler((x1, x2, x3)) / exact - 1


def _k2_rel(M: float, x: float) -> float:  # noqa: N803
    return _kimura_ohta(M, x) / _k2(M, x) - 1


def _cond_loss(M: float, k: float) -> float:  # noqa: N803
    return conditional_loss_time(int(M), int(k))


def _median(M: float, k: float) -> float:  # noqa: N803
    return float(median_loss_time(int(M), int(k)))


def results() -> list[Result]:
    """The registered exact-chain Wright-Fisher results."""
    m2 = {"M": "samples per generation (population size)", "x": "initial count of one state"}
    m3 = {
        "M": "samples per generation (population size)",
        "x1": "initial count of state 1",
        "x2": "initial count of state 2",
        "x3": "initial count of state 3 (x1 + x2 + x3 = M)",
    }
    mk = {"M": "samples per generation (population size)", "k": "initial count of the state"}
    assume = "replace workflow, neutral Wright-Fisher chain, exact finite chain"
    rows = [
        (
            "wf.k2.absorption_time_exact",
            "Exact mean absorption time, two states",
            "E T = tau(x), (I - Q) tau = 1 on the binomial chain {1..M-1}",
            m2,
            _k2,
            "exact",
            {"M": _M1, "x": INT_GE0},
            (_X_LE_M,),
        ),
        (
            "wf.k3.absorption_time_exact",
            "Exact mean time until one of three states remains",
            "E T = tau(x1, x2, x3), (I - Q) tau = 1 on the compositions of M with >= 2 parts",
            m3,
            _k3,
            "exact",
            {"M": _M3, "x1": INT_GE0, "x2": INT_GE0, "x3": INT_GE0},
            (_SUM3,),
        ),
        (
            "wf.k2.conditional_loss_time_exact",
            "Exact mean time to loss given loss",
            "E[T | loss] = u(k)/h0(k), (I - Q) u = h0, h0(x) = 1 - x/M",
            mk,
            _cond_loss,
            "exact",
            {"M": _M2, "k": INT_GE1},
            (_K_INSIDE,),
        ),
        (
            "wf.k2.median_loss_time_exact",
            "Exact median time to loss given loss",
            "least t with P(X_t = 0) >= (1 - k/M)/2",
            mk,
            _median,
            "exact",
            {"M": _M2, "k": INT_GE1},
            (_K_INSIDE, _MEDIAN_CAP),
        ),
        (
            "wf.k3.littler_relative_error",
            "Relative error of Littler's diffusion time, K = 3",
            "t_Littler / t_exact - 1 (about +5% at M = 20, start (10, 6, 4))",
            m3,
            _k3_rel,
            "approximation",
            {"M": _M3, "x1": INT_GE0, "x2": INT_GE0, "x3": INT_GE0},
            (_SUM3, _TWO_LIVE),
        ),
        (
            "wf.k2.kimura_ohta_relative_error",
            "Relative error of Kimura-Ohta's time, K = 2",
            "t_Kimura-Ohta / t_exact - 1",
            m2,
            _k2_rel,
            "approximation",
            {"M": _M2, "x": INT_GE1},
            (_X_INSIDE,),
        ),
    ]
    return [
        result(
            id=rid,
            title=title,
            statement=statement,
            expr=None,
            params=params,
            assumptions=assume,
            citation=_CITE,
            tag="DER, MC",
            kind=kind,
            proof=f"{_PROOF}:prove_{rid.split('.', 1)[1].replace('.', '_')}",
            numeric=fn,  # type: ignore[arg-type]
            domains=doms,
            constraints=cons,
        )
        for rid, title, statement, params, fn, kind, doms, cons in rows
    ]
