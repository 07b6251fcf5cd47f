"""Per-family validation of a :class:`~collapse_theory.config.SimConfig`.

Each ``_<family>`` function checks the settings its family reads and returns the defaults it
fills in; every error is a :class:`ConfigError` with a one-line message naming the setting.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["ConfigError", "PROB_TOLERANCE", "validate_family", "min_samples", "check_precision", "check_population"]

PROB_TOLERANCE = 1e-6
"""Probabilities must sum to 1 within this absolute tolerance; they are then renormalised in float64."""

ROUNDINGS = ("nearest", "stochastic")
ACCUMULATIONS = ("naive", "pairwise", "kahan", "welford")
DEFAULT_GMM_TRUTH = "mixture:0.5,-3.0,1.0;0.5,3.0,1.0"


class ConfigError(ValueError):
    """An invalid simulation setting."""


def _positive(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 < value < math.inf):
        raise ConfigError(f"{name} must be positive and finite, got {value!r}")


def _only(c, family: str, **defaults) -> None:
    """Settings of other families must keep their defaults."""
    for name, default in defaults.items():
        if getattr(c, name) != default:
            raise ConfigError(f"--{name.replace('_', '-')} is not used by the {family} family")


def check_population(c) -> None:
    """``samples = inf``: the population fit (1-D Gaussian, replace or accumulate)."""
    if c.family != "gaussian" or c.dim != 1:
        raise ConfigError("--samples inf (the population fit) is available for the 1-D Gaussian family")
    if c.scenario not in ("replace", "accumulate"):
        raise ConfigError(f"--samples inf works with replace or accumulate, not {c.scenario}")
    if c.samples_schedule is not None or c.kernel != "exact" or c.truncate is not None or c.estimator == "bayes":
        raise ConfigError(
            "--samples inf excludes --samples-schedule, --truncate, --estimator bayes and non-exact kernels"
        )
    if c.real_weight is not None:
        raise ConfigError("--samples inf does not take --real-weight")


def check_precision(c) -> None:
    """The naive-sample kernel and its precision policy."""
    err = ConfigError
    if c.rounding not in ROUNDINGS:
        raise err(f"unknown rounding {c.rounding!r}; choose from {', '.join(ROUNDINGS)}")
    if c.accumulation not in ACCUMULATIONS:
        raise err(f"unknown accumulation {c.accumulation!r}; choose from {', '.join(ACCUMULATIONS)}")
    if c.kernel == "naive-sample":
        if c.family != "gaussian" or c.dim != 1 or c.estimator not in ("unbiased", "mle"):
            raise err("--kernel naive-sample is for the 1-D Gaussian with --estimator unbiased or mle")
        if c.scenario not in ("replace", "accumulate", "fresh") or c.real_weight is not None or c.truncate is not None:
            raise err(
                "--kernel naive-sample works with replace, accumulate or fresh, without --real-weight or --truncate"
            )
        if c.sampling_variance != 1.0:
            raise err("--kernel naive-sample does not take --sampling-variance")
        if c.precision == "float64" and c.rounding == "stochastic":
            raise err(
                "--rounding stochastic needs a format narrower than the float64 carrier: float32, float16 or bfloat16"
            )
        return
    if c.precision not in ("float32", "float64"):
        raise err(
            f"--precision {c.precision} needs --kernel naive-sample (the exact kernels compute in float32 or float64)"
        )
    if c.rounding != "nearest" or c.accumulation != "naive":
        raise err("--rounding and --accumulation apply to --kernel naive-sample")


def min_samples(c, estimator) -> int:
    """The smallest sample size the family's estimator accepts."""
    if c.family == "gaussian":
        if estimator == "bayes":
            return 1
        base = 2 if estimator == "unbiased" else 1
        return max(base, c.dim + 1) if c.dim > 1 else base
    if c.family == "regression":
        return c.dim + 2
    if c.family == "gmm":
        return 2 * c.components
    if c.family == "kde":
        return 2
    return 1


def validate_family(c) -> dict:
    """Validate the settings of ``c.family``; return the defaults to fill in."""
    return {
        "gaussian": _gaussian,
        "categorical": _categorical,
        "kde": _kde,
        "regression": _regression,
        "poisson": _poisson,
        "gmm": _gmm,
    }[c.family](c)


def _gaussian(c) -> dict:
    """The Gaussian family: estimator, truth (Gaussian, mixture or Student-t), Bayesian prior."""
    err = ConfigError
    _only(c, "gaussian", bandwidth=None, noise_sd=1.0, design="fixed", rate=1.0, components=2)
    if c.estimator not in ("unbiased", "mle", "bayes"):
        raise err(
            f"--estimator must be chosen explicitly for the Gaussian: unbiased, mle or bayes, got {c.estimator!r}"
        )
    out: dict = {}
    if c.estimator == "bayes":
        if c.prior is None or len(c.prior) != 4:
            raise err("--estimator bayes needs --prior mu0,kappa0,alpha0,beta0")
        mu0, kappa0, alpha0, beta0 = (float(x) for x in c.prior)
        if not math.isfinite(mu0):
            raise err(f"--prior mu0 must be finite, got {mu0}")
        for name, v in (("kappa0", kappa0), ("alpha0", alpha0), ("beta0", beta0)):
            _positive(v, f"--prior {name}")
        if c.dim != 1 or c.kernel != "sample" or c.scenario not in ("replace", "accumulate", "fresh"):
            raise err("--estimator bayes needs a 1-D Gaussian, --kernel sample and replace, accumulate or fresh")
        if c.real_weight is not None or c.sampling_variance != 1.0 or c.truncate is not None or c.truth is not None:
            raise err("--estimator bayes does not take --real-weight, --sampling-variance, --truncate or --truth")
        out["prior"] = (mu0, kappa0, alpha0, beta0)
    elif c.prior is not None:
        raise err("--prior is for --estimator bayes")
    if c.truth is not None:
        from collapse_theory.families.truths import moments, parse_truth

        try:
            truth = parse_truth(c.truth)
        except ValueError as e:
            raise err(str(e)) from None
        m, v = moments(truth)
        # mean/cov_diag hold the truth's moments (the population Gaussian fit) once validated.
        if c.dim != 1 or c.cov is not None or c.mean not in (None, (m,)) or c.cov_diag not in (None, (v,)):
            raise err("--truth replaces --mean/--cov-diag and needs a 1-D Gaussian (--dim 1)")
        if c.truncate is not None:
            raise err("--truth does not combine with --truncate")
        out["truth"] = truth.spec()
        return out | _gaussian_truth(dataclasses.replace(c, mean=(m,), cov_diag=(v,)))
    out.update(_gaussian_truth(c))
    return out


def _kde(c) -> dict:
    """Kernel density estimation (Kazdan et al. 2024): bandwidth and a 1-D Gaussian truth."""
    err = ConfigError
    _only(c, "kde", truth=None, noise_sd=1.0, design="fixed", rate=1.0, prior=None)
    if c.estimator not in (None, "kde"):
        raise err(f"the kde family has one estimator (kde), got {c.estimator!r}")
    if c.dim != 1:
        raise err("the kde family is 1-D")
    h = c.bandwidth
    if h is None:
        raise err("the kde family needs --bandwidth h (> 0), scott or silverman")
    if isinstance(h, str):
        try:
            h = float(h)
        except ValueError:
            if h not in ("scott", "silverman"):
                raise err(f"--bandwidth must be a positive number, scott or silverman, got {h!r}") from None
    if not isinstance(h, str) and not (0.0 < h < math.inf):
        raise err(f"--bandwidth must be positive and finite, got {h}")
    return {"estimator": "kde", "kernel": "sample", "bandwidth": h} | _gaussian_truth(c)


def _regression(c) -> dict:
    """Linear regression by OLS (Gerstgrasser et al. 2024; Dohmatob et al. 2024)."""
    err = ConfigError
    _only(c, "regression", truth=None, bandwidth=None, rate=1.0, prior=None, cov_diag=None, cov=None)
    if c.estimator not in (None, "ols"):
        raise err(f"the regression family has one estimator (ols), got {c.estimator!r}")
    if c.dim < 1:
        raise err(f"--dim must be at least 1, got {c.dim}")
    _positive(c.noise_sd, "--noise-sd")
    if c.design not in ("fixed", "fresh"):
        raise err(f"unknown design {c.design!r}; choose fixed or fresh")
    if c.samples_schedule is None and c.samples <= c.dim + 1:
        raise err(
            f"--design-size T must exceed dim + 1 = {c.dim + 1} (E tr (X^T X)^-1 is finite only for T > d + 1), got {c.samples}"
        )
    if c.design == "fixed":
        if c.samples_schedule is not None or c.scenario not in ("replace", "accumulate") or c.real_weight is not None:
            raise err(
                "--design fixed reuses one design: use replace or accumulate with a fixed size, or --design fresh"
            )
    w = tuple(float(x) for x in (c.mean if c.mean is not None else (0.0,) * c.dim))
    if len(w) != c.dim or not all(math.isfinite(x) for x in w):
        raise err(f"--mean (the true weights w*) needs {c.dim} finite entries")
    return {"estimator": "ols", "mean": w}


def _poisson(c) -> dict:
    """The Poisson family refitted by its sample mean (a critical Galton-Watson chain)."""
    err = ConfigError
    _only(c, "poisson", truth=None, bandwidth=None, noise_sd=1.0, design="fixed", prior=None)
    if c.estimator not in (None, "mle"):
        raise err(f"the poisson family has one estimator (mle), got {c.estimator!r}")
    if c.dim != 1 or c.mean is not None or c.cov_diag is not None or c.cov is not None or c.probs is not None:
        raise err("the poisson family takes --rate, not --dim/--mean/--cov-diag/--probs")
    _positive(c.rate, "--rate")
    limit = 2.0**24 if c.precision == "float32" else 2.0**53
    sizes = c.sizes() if c.samples_schedule is None else None
    top = float(
        sizes.sum() if (sizes is not None and c.scenario in ("accumulate", "accumulate-subsample")) else c.samples
    )
    if c.rate * top > limit / 64:
        raise err(f"counts near {c.rate * top:.3g} lose integer exactness in {c.precision}; use --precision float64")
    return {"estimator": "mle"}


def _gmm(c) -> dict:
    """Gaussian mixtures fitted by EM (Shumailov et al. 2024, GMM experiment)."""
    from collapse_theory.families.truths import parse_truth

    err = ConfigError
    _only(c, "gmm", bandwidth=None, noise_sd=1.0, design="fixed", rate=1.0, prior=None)
    if c.estimator not in (None, "em"):
        raise err(f"the gmm family has one estimator (em), got {c.estimator!r}")
    if c.dim != 1 or c.mean is not None or c.cov_diag is not None or c.cov is not None:
        raise err("the gmm family is 1-D; give its truth with --truth mixture:w,m,s;w,m,s")
    try:
        truth = parse_truth(c.truth or DEFAULT_GMM_TRUTH)
    except ValueError as e:
        raise err(str(e)) from None
    if truth.kind != "mixture":
        raise err("the gmm family needs a mixture truth (--truth mixture:w,m,s;...)")
    if isinstance(c.components, bool) or not isinstance(c.components, int) or c.components < 1:
        raise err(f"--components must be a positive integer, got {c.components!r}")
    if len(truth.weights) != c.components:
        raise err(f"--truth has {len(truth.weights)} components but --components is {c.components}")
    if isinstance(c.em_iterations, bool) or not isinstance(c.em_iterations, int) or c.em_iterations < 1:
        raise err(f"--em-iterations must be a positive integer, got {c.em_iterations!r}")
    if c.em_tol is not None:
        _positive(c.em_tol, "--em-tol")
    if c.em_init not in ("quantile", "kmeans++"):
        raise err(f"unknown --em-init {c.em_init!r}; choose quantile or kmeans++")
    if not (0.0 <= c.var_floor < math.inf):
        raise err(f"--var-floor must be non-negative and finite, got {c.var_floor}")
    return {"estimator": "em", "kernel": "sample", "truth": truth.spec()}


def _gaussian_truth(c) -> dict:
    """Validate the Gaussian truth N(mean, cov) and fill its defaults."""
    err = ConfigError
    if c.probs is not None:
        raise err("--probs is for the categorical family")
    d = c.dim
    if d < 1:
        raise err(f"--dim must be at least 1, got {d}")
    mean = tuple(float(x) for x in (c.mean if c.mean is not None else (0.0,) * d))
    if len(mean) != d:
        raise err(f"--mean has {len(mean)} entries but --dim is {d}")
    if not all(math.isfinite(x) for x in mean):
        raise err("--mean must be finite")
    if c.cov is not None:
        cov = np.asarray(c.cov, dtype=np.float64)
        if cov.shape != (d, d):
            raise err(f"covariance must be {d}x{d}, got shape {cov.shape}")
        if not np.allclose(cov, cov.T, rtol=1e-12, atol=0):
            raise err("covariance must be symmetric")
        cov_t = tuple(tuple(float(x) for x in row) for row in cov)
        diag = None
    else:
        diag = tuple(float(x) for x in (c.cov_diag if c.cov_diag is not None else (1.0,) * d))
        if len(diag) != d:
            raise err(f"--cov-diag has {len(diag)} entries but --dim is {d}")
        cov = np.diag(diag)
        cov_t = None
    if not np.all(np.isfinite(cov)):
        raise err("covariance must be finite")
    eig = np.linalg.eigvalsh(cov)
    if eig[0] <= 0:
        raise err(f"covariance must be positive definite (smallest eigenvalue {eig[0]:.3g})")
    return {"mean": mean, "cov_diag": diag, "cov": cov_t}


def _categorical(c) -> dict:
    """Validate the categorical truth and estimator."""
    err = ConfigError
    _only(c, "categorical", truth=None, bandwidth=None, noise_sd=1.0, design="fixed", rate=1.0, prior=None)
    est = c.estimator if c.estimator is not None else "mle"
    if est not in ("mle", "laplace"):
        raise err(f"--estimator for categorical must be mle or laplace, got {est!r}")
    if c.probs is None:
        raise err("--probs is required for the categorical family")
    if c.mean is not None or c.cov_diag is not None or c.cov is not None or c.dim != 1:
        raise err("--dim/--mean/--cov-diag are for the Gaussian family")
    p = np.asarray(c.probs, dtype=np.float64)
    if p.ndim != 1 or p.size < 2:
        raise err("--probs needs at least 2 states")
    if not np.all(np.isfinite(p)):
        raise err("--probs must be finite")
    if np.any(p < 0):
        raise err(f"--probs must be non-negative, got {p[p < 0][0]}")
    tiny = float(np.finfo(np.float32 if c.precision == "float32" else np.float64).tiny)
    if np.any((p > 0) & (p < tiny)):
        raise err(
            f"--probs has a positive probability below the smallest normal {c.precision} ({tiny:.3g}); set it to 0 or use --precision float64"
        )
    if abs(p.sum() - 1.0) > PROB_TOLERANCE:
        raise err(f"--probs must sum to 1 within {PROB_TOLERANCE}, sum is {p.sum():.9g}")
    if est == "laplace" and not (c.smoothing > 0):
        raise err(f"--smoothing must be positive, got {c.smoothing}")
    return {"estimator": est, "probs": tuple(float(x) for x in p / p.sum())}
