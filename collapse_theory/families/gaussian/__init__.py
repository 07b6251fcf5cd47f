"""The Gaussian family: 1-D and d-D fits by unbiased or MLE covariance, or a Bayesian learner.

One family, four kernels, each in its own module:

* :mod:`.univariate`: 1-D, exact (mean + log-chi-square), sample (standardised draws) and
  population (``samples = inf``) kernels, misspecified truths;
* :mod:`.multivariate`: d-D with full covariance (Bartlett exact kernel, sample kernel);
* :mod:`.bayes`: the Normal-Inverse-Gamma posterior-predictive learner (``estimator="bayes"``);
* :mod:`.naive`: ``x = mu + sigma z`` in a chosen precision (``kernel="naive-sample"``), to study
  numerical error on purpose.

:class:`GaussianSpec` owns the settings, their validation and the choice of kernel. Biased
sampling of synthetic data (``sampling_variance`` lambda: draws from N(mu, lambda Sigma);
``truncate`` k: draws within mu +- k sigma) goes through the family's ``sampler``.

References:
    Shumailov et al., "AI models collapse when trained on recursively generated data",
    Nature 631 (2024), Theorem 3.1; Alemohammad et al., "Self-consuming generative models go
    MAD", ICLR 2024 (sampling bias).

"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from collapse_theory.errors.precision import ACCUMULATIONS, FORMATS, ROUNDINGS
from collapse_theory.families.gaussian.univariate import Params, Stats, gaussian, merge
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
    check_resolution,
    format_info,
    parse_float,
    parse_floats,
    parse_int,
    setting,
)

__all__ = ["GaussianSpec", "Params", "Stats", "gaussian", "merge"]

ESTIMATORS = ("unbiased", "mle", "bayes")
KERNELS = ("exact", "sample", "naive-sample")


@dataclasses.dataclass(frozen=True)
class GaussianSpec(FamilySpec):
    """Settings of the Gaussian family (``ct.family("gaussian", estimator=..., ...)``)."""

    name = "gaussian"
    summary = "Gaussian fits: 1-D or d-D, unbiased or MLE covariance, NIG Bayesian learner, naive arithmetic"

    estimator: str | None = setting(
        help="unbiased (ddof = 1), mle (ddof = 0) or bayes (NIG posterior predictive; with --prior, --kernel sample); "
        "required",
        metavar="NAME",
    )
    kernel: str = setting(
        "exact",
        help="exact (sufficient statistics), sample (draw and fit points) or naive-sample (x = mu + sigma z in "
        "--precision; 1-D)",
        metavar="NAME",
    )
    dim: int = setting(1, help="dimension d of the Gaussian", parse=parse_int, metavar="D")
    mean: tuple[float, ...] | None = setting(
        help="true mean, comma list of length dim (default 0)", parse=parse_floats, metavar="LIST"
    )
    cov_diag: tuple[float, ...] | None = setting(
        help="true covariance diagonal, comma list of length dim (default 1)", parse=parse_floats, metavar="LIST"
    )
    cov: tuple[tuple[float, ...], ...] | None = setting(
        help="full true covariance, a tuple of rows (Python only; overrides cov_diag)", cli=False
    )
    truth: str | None = setting(
        help="a non-Gaussian truth for a 1-D fit: 'mixture:w,m,s;w,m,s' or 'student-t:df[,loc,scale]'",
        metavar="SPEC",
    )
    prior: tuple[float, ...] | None = setting(
        help="NIG prior mu0,kappa0,alpha0,beta0 of --estimator bayes", parse=parse_floats, metavar="LIST"
    )
    sampling_variance: float = setting(
        1.0, help="lambda: synthetic draws from N(mu, lambda Sigma)", parse=parse_float, metavar="LAMBDA"
    )
    truncate: float | None = setting(
        help="k: synthetic draws within mu +- k sigma (1-D, --kernel sample)",
        parse=parse_float,
        metavar="K",
        unit="sigma",
    )
    rounding: str = setting("nearest", help="naive-sample rounding: nearest or stochastic", metavar="MODE")
    accumulation: str = setting(
        "naive", help="naive-sample summation: naive, pairwise, kahan or welford", metavar="METHOD"
    )

    # --- validation ---
    def validated(self, run: RunContext) -> GaussianSpec:
        """Check the settings against the run (module docstring); fill the truth's moments."""
        err = ConfigError
        if self.estimator is None:
            raise err("--estimator must be chosen explicitly for the Gaussian: unbiased, mle or bayes")
        check_choice(self.estimator, "estimator", ESTIMATORS)
        check_choice(self.kernel, "kernel", KERNELS)
        check_choice(self.rounding, "rounding", ROUNDINGS)
        check_choice(self.accumulation, "accumulation", ACCUMULATIONS)
        dim = check_int(self.dim, "dim", lo=1)
        lam = check_real(self.sampling_variance, "sampling_variance", lo=0.0)
        k = None if self.truncate is None else check_real(self.truncate, "truncate", lo=0.0)
        out: dict = {"dim": dim, "sampling_variance": lam, "truncate": k}
        if k is not None and (dim != 1 or self.kernel != "sample"):
            raise err(
                "--truncate needs a 1-D Gaussian and --kernel sample (truncated draws have no exact statistics kernel)"
            )
        if run.population:
            self._check_population(run)
        if self.estimator == "bayes":
            out["prior"] = self._check_bayes(run)
        elif self.prior is not None:
            raise err("--prior is for --estimator bayes")
        self._check_naive(run)
        if self.truth is not None:
            from collapse_theory.truths import moments, parse_truth

            if not isinstance(self.truth, str):
                raise err(f"--truth must be a spec string such as 'student-t:5', got {self.truth!r}")
            try:
                t = parse_truth(self.truth)
            except ValueError as e:
                raise err(str(e)) from None
            m, v = moments(t)
            # mean/cov_diag hold the truth's moments (the population Gaussian fit) once validated.
            if dim != 1 or self.cov is not None or self.mean not in (None, (m,)) or self.cov_diag not in (None, (v,)):
                raise err("--truth replaces --mean/--cov-diag and needs a 1-D Gaussian (--dim 1)")
            if k is not None:
                raise err("--truth does not combine with --truncate")
            out |= {"truth": t.spec(), "mean": (m,), "cov_diag": (v,), "cov": None}
            comps = [(mm, ss * ss) for mm, ss in zip(t.means, t.sds, strict=True)] if t.kind == "mixture" else []
        else:
            out |= self._truth_moments(dim)
            comps = []
        spec = dataclasses.replace(self, **out)
        spec._check_precision(run, comps)
        return spec

    def _check_precision(self, run: RunContext, components: list[tuple[float, float]]) -> None:
        """Every setting is held faithfully by the arithmetic the kernel uses (module docstring)."""
        assert self.mean is not None
        fmt = (
            run.precision if self.kernel == "naive-sample" else ("float64" if run.precision == "float64" else "float32")
        )
        cov = np.asarray(self.cov) if self.cov is not None else np.diag(np.asarray(self.cov_diag, dtype=np.float64))
        variances = np.linalg.eigvalsh(cov)
        for v in (*variances, *(c[1] for c in components)):
            check_in_precision(float(v), "cov_diag", fmt)
            check_in_precision(math.sqrt(float(v)), "cov_diag", fmt)
        spread = math.sqrt(float(min([variances.min(), *(c[1] for c in components)])))
        for m in (*self.mean, *(c[0] for c in components)):
            check_in_precision(m, "mean", fmt, scale=spread)
        if self.prior is not None:
            for name, v in zip(("mu0", "kappa0", "alpha0", "beta0"), self.prior, strict=True):
                check_in_precision(v, f"prior_{name}", fmt)
        sd = math.sqrt(float(variances.min()))
        if self.kernel != "naive-sample" and not run.population:
            loc = max(abs(x) for x in self.mean)
            step = sd / math.sqrt(float(run.sizes.max()))
            check_resolution(step, loc, "the first generation's change of the mean, sd / sqrt(M),", fmt)
        if self.sampling_variance != 1.0:
            fi = format_info(fmt)
            growth = 0.5 * (run.generations - 1) * abs(math.log(self.sampling_variance))
            limit = 0.5 * math.log(float(fi.max)) - abs(math.log(sd)) - math.log(16.0)
            if growth > limit:
                raise ConfigError(
                    f"--sampling-variance {self.sampling_variance:g} scales sigma by {math.exp(growth):.3g} over "
                    f"{run.generations} generations, beyond what {fmt} holds; use fewer generations or --precision float64"
                )

    def _check_population(self, run: RunContext) -> None:
        if self.dim != 1:
            raise ConfigError("--samples inf (the population fit) is available for the 1-D Gaussian family")
        if run.scenario not in ("replace", "accumulate"):
            raise ConfigError(f"--samples inf works with replace or accumulate, not {run.scenario}")
        if self.kernel != "exact" or self.truncate is not None or self.estimator == "bayes":
            raise ConfigError("--samples inf excludes --truncate, --estimator bayes and non-exact kernels")
        if run.real_weight is not None:
            raise ConfigError("--samples inf does not take --real-weight")

    def _check_bayes(self, run: RunContext) -> tuple[float, ...]:
        err = ConfigError
        if self.prior is None:
            raise err("--estimator bayes needs --prior mu0,kappa0,alpha0,beta0")
        prior = check_reals(self.prior, "prior", 4)
        for name, v in zip(("kappa0", "alpha0", "beta0"), prior[1:], strict=True):
            check_real(v, f"prior_{name}", lo=0.0)
        if self.dim != 1 or self.kernel != "sample" or run.scenario not in ("replace", "accumulate", "fresh"):
            raise err("--estimator bayes needs a 1-D Gaussian, --kernel sample and replace, accumulate or fresh")
        if run.real_weight is not None or self.sampling_variance != 1.0 or self.truncate is not None or self.truth:
            raise err("--estimator bayes does not take --real-weight, --sampling-variance, --truncate or --truth")
        return prior

    def _check_naive(self, run: RunContext) -> None:
        err = ConfigError
        if self.kernel != "naive-sample":
            if run.precision not in ("float32", "float64"):
                raise err(
                    f"--precision {run.precision} needs --kernel naive-sample (the exact kernels compute in float32 or float64)"
                )
            if self.rounding != "nearest" or self.accumulation != "naive":
                raise err("--rounding and --accumulation apply to --kernel naive-sample")
            return
        if self.dim != 1 or self.estimator not in ("unbiased", "mle"):
            raise err("--kernel naive-sample is for the 1-D Gaussian with --estimator unbiased or mle")
        if run.scenario not in ("replace", "accumulate", "fresh") or run.real_weight is not None or self.truncate:
            raise err(
                "--kernel naive-sample works with replace, accumulate or fresh, without --real-weight or --truncate"
            )
        if self.sampling_variance != 1.0:
            raise err("--kernel naive-sample does not take --sampling-variance")
        if run.precision == "float64" and self.rounding == "stochastic":
            raise err(
                "--rounding stochastic needs a format narrower than the float64 carrier: float32, float16 or bfloat16"
            )

    def _truth_moments(self, d: int) -> dict:
        """Validate the Gaussian truth N(mean, cov) and fill its defaults."""
        err = ConfigError
        mean = check_reals(self.mean, "mean") if self.mean is not None else (0.0,) * d
        if len(mean) != d:
            raise err(f"--mean has {len(mean)} entries but --dim is {d}")
        if self.cov is not None:
            try:
                cov = np.asarray(self.cov, dtype=np.float64)
            except (TypeError, ValueError):
                raise err(f"covariance must be a {d}x{d} matrix of numbers, got {self.cov!r}") from None
            if cov.shape != (d, d):
                raise err(f"covariance must be {d}x{d}, got shape {cov.shape}")
            if not np.all(np.isfinite(cov)):
                raise err("covariance must be finite")
            if not np.allclose(cov, cov.T, rtol=1e-12, atol=0):
                raise err("covariance must be symmetric")
            cov_t = tuple(tuple(float(x) for x in row) for row in cov)
            diag = None
        else:
            diag = check_reals(self.cov_diag, "cov_diag") if self.cov_diag is not None else (1.0,) * d
            if len(diag) != d:
                raise err(f"--cov-diag has {len(diag)} entries but --dim is {d}")
            cov = np.diag(diag)
            cov_t = None
        eig = np.linalg.eigvalsh(cov)
        if eig[0] <= 0:
            raise err(f"covariance must be positive definite (smallest eigenvalue {eig[0]:.3g})")
        return {"mean": mean, "cov_diag": diag, "cov": cov_t}

    # --- capabilities ---
    def min_samples(self) -> int:
        """unbiased: 2 (1-D) or d + 1; mle: 1 (1-D) or d + 1; bayes: 1."""
        if self.estimator == "bayes":
            return 1
        base = 2 if self.estimator == "unbiased" else 1
        return max(base, self.dim + 1) if self.dim > 1 else base

    def precisions(self) -> tuple[str, ...]:
        """float32/float64; naive-sample also float16 and bfloat16."""
        if self.kernel == "naive-sample":
            return FORMATS
        return ("float32", "float64")

    def carrier_dtype(self, precision: str):
        """float64 for ``precision="float64"``; the naive-sample kernel always carries float64.

        In a float64 carrier the naive kernel rounds to its ``precision``, so stochastic
        rounding and the measured rounding error (against a wider reference) exist for float32
        too, and runs that differ only in precision draw the same standard normals
        (``decompose`` pairs them).
        """
        if precision == "float64" or self.kernel == "naive-sample":
            return jnp.float64
        return jnp.float32

    def supports_population(self) -> bool:
        """The 1-D moment-matched population fit."""
        return True

    def capacity_free(self, run: RunContext) -> bool:
        """Exact kernels drawn from the family itself never look at the sample's capacity."""
        return (
            self.kernel == "exact"
            and self.estimator != "bayes"
            and self.truth is None
            and self.truncate is None
            and run.scenario != "accumulate-subsample"
        )

    def metric_names(self) -> tuple[str, ...]:
        """1-D: :data:`~collapse_theory.metrics.gaussian.METRICS_1D` (+ ``mean_rounding_ratio`` for naive-sample)."""
        from collapse_theory.metrics import gaussian as gm

        if self.dim > 1:
            return gm.METRICS_ND
        if self.kernel == "naive-sample":
            return (*gm.METRICS_1D, "mean_rounding_ratio")
        return gm.METRICS_1D

    def error_switches(self, run: RunContext) -> dict[str, dict]:
        """Statistical: the population fit in exact float64; functional: the truth's matched
        Gaussian; numerical: the same naive kernel in float64 (same normals, paired).
        """
        if self.dim != 1 or self.truth is None:
            raise ConfigError("decompose needs a 1-D Gaussian with a misspecified --truth (the functional source)")
        if run.population or run.samples_schedule is not None:
            raise ConfigError("decompose needs a finite, fixed --samples (the statistical source)")
        if self.kernel != "naive-sample":
            raise ConfigError("decompose needs --kernel naive-sample with a --precision (the numerical source)")
        if run.scenario not in ("replace", "accumulate"):
            raise ConfigError("decompose works with replace or accumulate (the population fit needs one of them)")
        exact = {"kernel": "exact", "precision": "float64", "rounding": "nearest", "accumulation": "naive"}
        # truth=None leaves the matched Gaussian: mean/cov_diag already hold the truth's moments.
        return {
            "statistical": exact | {"samples": math.inf},
            "functional": {"truth": None},
            "numerical": {"precision": "float64", "rounding": "nearest"},
        }

    # --- building ---
    def _var(self) -> float:
        assert self.mean is not None and (self.cov is not None or self.cov_diag is not None)
        return self.cov[0][0] if self.cov is not None else self.cov_diag[0]  # type: ignore[index]

    def build(self, ctx: BuildContext):
        """The kernel the settings choose, with its biased sampler when sampling is biased."""
        from collapse_theory.truths import parse_truth

        assert self.mean is not None and self.estimator is not None, "validate the spec first"
        dtype = ctx.dtype
        truth = parse_truth(self.truth) if self.truth is not None else None
        if self.estimator == "bayes":
            from collapse_theory.families.gaussian.bayes import gaussian_bayes

            assert self.prior is not None
            mu0, kappa0, alpha0, beta0 = self.prior
            return gaussian_bayes(self.mean[0], self._var(), (mu0, kappa0, alpha0, beta0), dtype=dtype)
        if self.kernel == "naive-sample":
            from collapse_theory.families.gaussian.naive import gaussian_naive

            return gaussian_naive(
                self.mean[0],
                self._var(),
                self.estimator,
                precision=ctx.precision,
                rounding=self.rounding,
                accumulation=self.accumulation,
                dtype=dtype,
                truth=truth,
            )
        if self.dim == 1:
            kernel = "population" if ctx.population else self.kernel
            fam = gaussian(self.mean[0], self._var(), self.estimator, kernel, dtype, truth=truth)
            truncated = None
            if self.truncate is not None:
                truncated = gaussian(self.mean[0], self._var(), self.estimator, "sample", dtype, self.truncate)
        else:
            from collapse_theory.families.gaussian.multivariate import gaussian_nd

            cov = np.asarray(self.cov) if self.cov is not None else np.diag(np.asarray(self.cov_diag))
            fam = gaussian_nd(self.mean, cov, self.estimator, self.kernel, dtype)
            truncated = None
        if self.sampling_variance == 1.0 and truncated is None:
            return fam
        from collapse_theory.errors.sampling import biased_sampler, scale_variance

        transform = scale_variance(self.sampling_variance) if self.sampling_variance != 1.0 else None
        return fam._replace(sampler=biased_sampler(fam, transform, base=truncated))

    def bytes_per_chain(self, ctx: BuildContext) -> int:
        """Working set of one generation: the sample kernels hold ``capacity`` points per chain."""
        itemsize = jnp.dtype(ctx.dtype).itemsize
        d = self.dim
        if d > 1:
            width = d * d + (ctx.capacity * d if self.kernel == "sample" else d)
        else:
            width = 1 + (ctx.capacity if self.kernel in ("sample", "naive-sample") or self.truth else 1)
        return max(64, 8 * itemsize * width)
