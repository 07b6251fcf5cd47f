"""From a validated configuration to the family (and biased sampler) the engine runs.

One function per concern: :func:`build_family` picks the family module and passes it the
settings it reads; :func:`build_sampler` wraps it for biased synthetic sampling;
:func:`bytes_per_chain` estimates the working set that sets the chunk size.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from collapse_theory.config import SimConfig
from collapse_theory.families.base import Family

__all__ = ["build_family", "build_sampler", "bytes_per_chain", "carrier_dtype", "point_buffer"]


def carrier_dtype(config: SimConfig):
    """The dtype arrays are carried in: float64 for ``precision="float64"``, else float32.

    The naive-sample kernel always carries float64 and rounds to its ``precision``: stochastic
    rounding and the measured rounding error (against a wider reference) are then available for
    float32 too, double rounding through the carrier is negligible, and runs that differ only in
    precision draw the same standard normals (``decompose`` pairs them).
    """
    if config.precision == "float64" or config.kernel == "naive-sample":
        return jnp.float64
    return jnp.float32


def point_buffer(config: SimConfig) -> int:
    """Slots per chain of a point-set family's model: the whole pool under accumulate."""
    sizes = config.sizes()
    return int(sizes.sum()) if config.scenario == "accumulate" else int(sizes.max())


def build_family(config: SimConfig, dtype) -> Family:
    """The family of a validated configuration."""
    assert config.estimator is not None, "validate the configuration first"
    f = config.family
    if f == "gaussian":
        return _gaussian(config, dtype)
    if f == "categorical":
        from collapse_theory.families.categorical import categorical

        assert config.probs is not None
        return categorical(config.probs, config.estimator, config.smoothing, config.kernel, dtype)
    if f == "kde":
        from collapse_theory.families.kde import kde

        assert config.mean is not None and config.cov_diag is not None and config.bandwidth is not None
        return kde(config.mean[0], config.cov_diag[0], config.bandwidth, size=point_buffer(config), dtype=dtype)
    if f == "regression":
        from collapse_theory.families.regression import regression

        return regression(config.dim, config.noise_sd, config.design, config.mean, config.kernel, dtype)
    if f == "poisson":
        from collapse_theory.families.poisson import poisson

        return poisson(config.rate, config.kernel, dtype)
    if f == "gmm":
        from collapse_theory.families.gmm import gmm
        from collapse_theory.families.truths import parse_truth

        assert config.truth is not None
        t = parse_truth(config.truth)
        return gmm(
            t.weights,
            t.means,
            t.sds,
            components=config.components,
            iterations=config.em_iterations,
            tol=config.em_tol,
            init=config.em_init,
            var_floor=config.var_floor,
            size=point_buffer(config),
            dtype=dtype,
        )
    raise ValueError(f"unknown family {f!r}")


def _gaussian(config: SimConfig, dtype) -> Family:
    assert config.mean is not None and (config.cov is not None or config.cov_diag is not None)
    assert config.estimator is not None
    var = config.cov[0][0] if config.cov is not None else config.cov_diag[0]  # type: ignore[index]
    from collapse_theory.families.truths import parse_truth

    truth = parse_truth(config.truth) if config.truth is not None else None
    if config.estimator == "bayes":
        from collapse_theory.families.gaussian_bayes import gaussian_bayes

        assert config.prior is not None
        mu0, kappa0, alpha0, beta0 = config.prior
        return gaussian_bayes(config.mean[0], var, (mu0, kappa0, alpha0, beta0), dtype=dtype)
    if config.kernel == "naive-sample":
        from collapse_theory.families.gaussian_naive import gaussian_naive

        return gaussian_naive(
            config.mean[0],
            var,
            config.estimator,
            precision=config.precision,
            rounding=config.rounding,
            accumulation=config.accumulation,
            dtype=dtype,
            truth=truth,
        )
    if config.dim == 1:
        from collapse_theory.families.gaussian import gaussian

        kernel = "population" if config.population() else config.kernel
        return gaussian(config.mean[0], var, config.estimator, kernel, dtype, truth=truth)
    from collapse_theory.families.gaussian_nd import gaussian_nd

    cov = np.asarray(config.cov) if config.cov is not None else np.diag(np.asarray(config.cov_diag))
    return gaussian_nd(config.mean, cov, config.estimator, config.kernel, dtype)


def build_sampler(config: SimConfig, family: Family, dtype) -> Family | None:
    """The biased sampler for synthetic data, or None when sampling is unbiased."""
    if not config.biased():
        return None
    from collapse_theory.errors.sampling import biased_sampler

    truncated = None
    if config.truncate is not None:
        from collapse_theory.families.gaussian import gaussian

        assert config.mean is not None and config.cov_diag is not None and config.estimator is not None
        truncated = gaussian(config.mean[0], config.cov_diag[0], config.estimator, "sample", dtype, config.truncate)
    return biased_sampler(
        family,
        variance=config.sampling_variance,
        temperature=config.temperature,
        top_p=config.top_p,
        truncated=truncated,
    )


def bytes_per_chain(config: SimConfig, capacity: int, itemsize: int) -> int:
    """Approximate working set per chain of one generation (sets the automatic chunk size)."""
    f = config.family
    d = config.dim
    if f == "categorical":
        width = len(config.probs or ())
    elif f == "regression":
        width = d * d + (capacity * (d + 1) if config.kernel == "sample" else 0)
    elif f in ("kde", "gmm"):
        width = point_buffer(config) * (2 if f == "kde" else 2 + 2 * config.components)
        width += capacity * (4 if f == "kde" else 2 + 2 * config.components)
    elif d > 1:
        width = d * d + (capacity * d if config.kernel == "sample" else d)
    else:
        width = 1 + (capacity if config.kernel in ("sample", "naive-sample") or config.truth else 1)
    return max(64, 8 * itemsize * width)
