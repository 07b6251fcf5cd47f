"""Shared sympy symbols of the closed forms.

A registry parameter is looked up by the *name* of its symbol, so every name here is a valid
Python identifier that does not shadow a function the numeric bridge prints (``gamma``, ``pi``,
``lambda`` are avoided: the schedule exponent is ``growth``, the sampling bias is ``lam``).

Integer symbols (generations, dimensions, counts) are declared ``integer=True``: the numeric
bridge then insists on integral values for them.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "H0",
    "K",
    "M",
    "M0",
    "N0",
    "T",
    "alpha",
    "d",
    "eps",
    "growth",
    "h",
    "i",
    "j",
    "k",
    "kappa",
    "lam",
    "lam0",
    "logdet0",
    "m",
    "n",
    "nreal",
    "p",
    "q",
    "r",
    "sigma",
    "sigma0",
    "t",
    "theta",
    "tr0",
    "u",
    "v0",
    "w",
    "x",
]

M = sp.Symbol("M", positive=True)
M0 = sp.Symbol("M0", positive=True)
growth = sp.Symbol("growth", positive=True)
n = sp.Symbol("n", integer=True, nonnegative=True)
t = sp.Symbol("t", integer=True, nonnegative=True)
d = sp.Symbol("d", integer=True, positive=True)
K = sp.Symbol("K", integer=True, positive=True)
N0 = sp.Symbol("N0", integer=True, nonnegative=True)
T = sp.Symbol("T", positive=True)
nreal = sp.Symbol("nreal", positive=True)

sigma0 = sp.Symbol("sigma0", positive=True)
sigma = sp.Symbol("sigma", positive=True)
r = sp.Symbol("r", real=True)
theta = sp.Symbol("theta", positive=True)
eps = sp.Symbol("eps", positive=True)
lam = sp.Symbol("lam", positive=True)
lam0 = sp.Symbol("lam0", positive=True)
alpha = sp.Symbol("alpha", positive=True)
kappa = sp.Symbol("kappa", positive=True)
w = sp.Symbol("w", positive=True)
h = sp.Symbol("h", positive=True)
v0 = sp.Symbol("v0", nonnegative=True)
H0 = sp.Symbol("H0", nonnegative=True)
q = sp.Symbol("q", nonnegative=True)
logdet0 = sp.Symbol("logdet0", real=True)
tr0 = sp.Symbol("tr0", positive=True)
x = sp.Symbol("x", real=True)
u = sp.Symbol("u", positive=True)

# Bound (dummy) indices of sums and products.
i = sp.Symbol("i", integer=True)
j = sp.Symbol("j", integer=True)
m = sp.Symbol("m", integer=True)

# Vector parameter: state probabilities p[0], ..., p[K-1].
p = sp.IndexedBase("p")
k = sp.Symbol("k", integer=True, nonnegative=True)
