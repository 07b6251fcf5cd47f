"""Every purpose tag of the engine's random streams, in one place.

A random number is a pure function of (seed, generation, purpose, chain, position). The engine
derives the run key ``fold(key_from_seed(seed), GENERATIONS)`` and the generation key
``fold(run_key, t)``; a scenario folds in the purpose of each draw (synthetic data, real data, a
mixture count, a subsample); a family folds in the purpose of each variate it draws from that key
(a mean, a chi-square, points, ...). Tags need only be distinct among the keys folded into the
same parent key, so families may reuse small numbers, but a new tag must not collide with another
of its own level: add it here, never inline.

The values are part of the results' meaning (changing one changes every run that uses it), so
they never change; they were fixed when the streams were first defined.
"""

from __future__ import annotations

__all__ = [
    "GENERATIONS",
    "SYNTHETIC",
    "REAL",
    "MIXTURE_COUNT",
    "SUBSAMPLE",
    "USER_SAMPLE",
    "GAUSSIAN_NORMAL",
    "GAUSSIAN_CHI2",
    "GAUSSIAN_POINTS",
    "GAUSSIAN_ND_NORMAL",
    "GAUSSIAN_ND_CHI2",
    "GAUSSIAN_ND_OFFDIAG",
    "GAUSSIAN_ND_POINTS",
    "GAUSSIAN_ND_SMALL",
    "NIG_POINTS",
    "NIG_CHI2",
    "NAIVE_POINTS",
    "NAIVE_ROUND_X",
    "NAIVE_ROUND_STATS",
    "NAIVE_ROUND_MERGE",
    "NAIVE_ROUND_SUM",
    "CATEGORICAL_COUNTS",
    "CATEGORICAL_POINTS",
    "CATEGORICAL_SLOTS",
    "KDE_GROUP",
    "KDE_INDEX",
    "KDE_NOISE",
    "KDE_POINT",
    "REGRESSION_CHI2",
    "REGRESSION_OFFDIAG",
    "REGRESSION_LABEL",
    "REGRESSION_ROWS",
    "REGRESSION_NOISE",
    "POISSON_TOTAL",
    "POISSON_POINTS",
    "GMM_COMPONENT",
    "GMM_NORMAL",
    "GMM_KMEANS_SEED",
    "TRUTH_COMPONENT",
    "TRUTH_POINT",
    "TRUTH_SCALE",
    "GAMMA_ATTEMPT",
    "POISSON_INVERSION",
    "POISSON_PTRS",
    "MULTINOMIAL_TREE",
    "ROUND_MEAN",
    "ROUND_DEV",
    "ROUND_SQ",
    "ROUND_SS",
    "ROUND_VAR",
    "ROUND_WELFORD",
    "ROUND_SUM_MEAN",
]

# --- run level: folded into the seed's key ---
GENERATIONS = 0x5EED
"""The run key: ``fold(key_from_seed(seed), GENERATIONS)``; generation t uses ``fold(run_key, t)``."""

# --- scenario level: folded into the generation key ---
SYNTHETIC = 11
"""Data drawn from the current model (and the first, real, sample of generation 0)."""
REAL = 12
"""Fresh real data (the fresh workflow)."""
MIXTURE_COUNT = 13
"""The Binomial(n, alpha) number of real points of the fresh mixture workflow."""
SUBSAMPLE = 14
"""The uniform scores that choose the accumulate-subsample subset."""

# --- family level: folded into a scenario-level key ---
USER_SAMPLE = 0x05E4
"""User estimators (:func:`collapse_theory.estimator`): chain c's ``jax.random`` key is
``threefry(fold(key, USER_SAMPLE), (c, 0))``."""

GAUSSIAN_NORMAL, GAUSSIAN_CHI2, GAUSSIAN_POINTS = 1, 2, 3
GAUSSIAN_ND_NORMAL, GAUSSIAN_ND_CHI2, GAUSSIAN_ND_OFFDIAG, GAUSSIAN_ND_POINTS, GAUSSIAN_ND_SMALL = 1, 2, 3, 4, 5
NIG_POINTS, NIG_CHI2 = 3, 4
NAIVE_POINTS, NAIVE_ROUND_X, NAIVE_ROUND_STATS, NAIVE_ROUND_MERGE = 3, 21, 22, 23
NAIVE_ROUND_SUM = NAIVE_ROUND_X + 0x100
"""The rounding of ``mu + round(sigma z)`` (after ``NAIVE_ROUND_X`` rounded the product)."""
CATEGORICAL_COUNTS, CATEGORICAL_POINTS = 1, 2
CATEGORICAL_SLOTS = 3
"""Counts of the slot-ordered categorical kernel (:mod:`collapse_theory.random.prefix_multinomial`)."""
KDE_GROUP, KDE_INDEX, KDE_NOISE = 1, 2, 3
KDE_POINT = 4
"""float32 KDE draws: one Threefry block per point, word 0 the slot index, word 1 the noise (float64: KDE_INDEX, KDE_NOISE)."""
REGRESSION_CHI2, REGRESSION_OFFDIAG, REGRESSION_LABEL, REGRESSION_ROWS, REGRESSION_NOISE = 1, 2, 3, 4, 5
POISSON_TOTAL, POISSON_POINTS = 1, 2
GMM_COMPONENT, GMM_NORMAL = 1, 2
GMM_KMEANS_SEED = 0x6D6D
"""k-means++ seeding in ``fit`` (which has no key): a constant key hashed with the data."""

# misspecified truths (collapse_theory.truths), folded into the same key as the family's draws
TRUTH_COMPONENT, TRUTH_POINT, TRUTH_SCALE = 22, 23, 24

# --- sampler level: folded inside the exact samplers of collapse_theory.random ---
GAMMA_ATTEMPT = 0x6A09E667
POISSON_INVERSION, POISSON_PTRS = 0x9E3779B9, 0x7F4A7C15
MULTINOMIAL_TREE = 0x510E527F

# --- rounding streams of the precision policy (collapse_theory.errors.precision) ---
ROUND_MEAN, ROUND_DEV, ROUND_SQ, ROUND_SS, ROUND_VAR, ROUND_WELFORD, ROUND_SUM_MEAN = 101, 102, 103, 104, 105, 106, 107
