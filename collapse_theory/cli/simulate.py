"""``collapse-theory simulate <family>``: run the engine, print a table or JSON."""

from __future__ import annotations

import json
import math
import sys

from collapse_theory.config import ConfigError, SimConfig

__all__ = ["add_parser", "config_from_args"]


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"{what} must be a comma-separated list of numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in vals):
        raise ConfigError(f"{what} must be finite, got {text!r}")
    return vals


def _ints(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"{what} must be a comma-separated list of integers, got {text!r}") from None


FAMILY_CHOICES = ["gaussian", "categorical", "kde", "regression", "poisson", "gmm"]


def add_parser(sub) -> None:
    """Register the ``simulate`` subcommand."""
    p = sub.add_parser("simulate", help="run recursive-training chains and summarise them")
    add_options(p)
    p.set_defaults(run=run)


def add_options(p, families: list[str] | None = None, metric_help: str = "comma list of metrics to keep") -> None:
    """Add the simulation options to parser ``p`` (``families``: a positional family choice, or fixed)."""
    families = families or FAMILY_CHOICES
    if len(families) > 1:
        p.add_argument("family", choices=families)
    else:
        p.set_defaults(family=families[0])
    p.add_argument(
        "--estimator",
        help="gaussian: unbiased|mle|bayes (required); categorical: mle|laplace (Dirichlet); others: their one estimator",
    )
    p.add_argument("--scenario", default="replace", help="replace|accumulate|accumulate-subsample|fresh")
    p.add_argument("--samples", default="100", help="M, samples per generation; inf = population fit (1-D Gaussian)")
    p.add_argument("--design-size", type=int, help="regression: T rows per generation (same as --samples)")
    p.add_argument("--samples-schedule", help="M_t as an expression in t, e.g. '3*(t+1)**2'")
    p.add_argument("--generations", type=int, default=100)
    p.add_argument("--chains", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--record", help="comma list of generations to record (default: log-spaced)")
    p.add_argument("--kernel", default="exact", help="exact|sample|naive-sample")
    p.add_argument("--dim", type=int, default=1)
    p.add_argument("--mean", help="true mean, comma list of length dim")
    p.add_argument("--cov-diag", help="true covariance diagonal, comma list of length dim")
    p.add_argument("--probs", help="categorical truth, comma list summing to 1")
    p.add_argument("--smoothing", type=float, default=1.0, help="Laplace pseudo-count")
    p.add_argument("--real-fraction", type=float, default=0.5, help="alpha, fresh real fraction")
    p.add_argument("--mixing", default="split", help="split|mixture")
    p.add_argument("--real-weight", type=float, help="total weight w of real data in the fit")
    p.add_argument(
        "--sampling-variance", type=float, default=1.0, help="lambda: synthetic draws from N(mu, lambda sigma^2)"
    )
    p.add_argument("--truncate", type=float, help="k: synthetic draws within mu +- k sigma (1-D, --kernel sample)")
    p.add_argument("--temperature", type=float, default=1.0, help="T: synthetic draws from p^(1/T) (categorical)")
    p.add_argument("--top-p", type=float, default=1.0, help="q: synthetic draws from the top-q nucleus (categorical)")
    p.add_argument(
        "--precision", default="float32", help="float32|float64; float16|bfloat16 with --kernel naive-sample"
    )
    p.add_argument("--rounding", default="nearest", help="naive-sample: nearest|stochastic")
    p.add_argument("--accumulation", default="naive", help="naive-sample: naive|pairwise|kahan|welford")
    p.add_argument("--truth", help="gaussian/gmm truth: 'mixture:w,m,s;w,m,s' or 'student-t:df[,loc,scale]'")
    p.add_argument("--bandwidth", help="kde: h > 0, scott or silverman")
    p.add_argument("--noise-sd", type=float, default=1.0, help="regression: label noise sd")
    p.add_argument("--design", default="fixed", help="regression: fixed|fresh")
    p.add_argument("--rate", type=float, default=1.0, help="poisson: true rate")
    p.add_argument("--components", type=int, default=2, help="gmm: mixture components")
    p.add_argument("--em-iterations", type=int, default=100, help="gmm: EM iteration cap")
    p.add_argument("--em-tol", default="1e-6", help="gmm: per-point log-likelihood gain to stop at, or none")
    p.add_argument("--em-init", default="quantile", help="gmm: quantile|kmeans++")
    p.add_argument("--var-floor", type=float, default=1e-6, help="gmm: variance floor")
    p.add_argument("--prior", help="gaussian bayes: NIG prior mu0,kappa0,alpha0,beta0")
    p.add_argument("--chunk-size", type=int, help="chains per compiled batch")
    p.add_argument("--metrics", help=metric_help)
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--output", help="save the full result (.npz) here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def config_from_args(a) -> SimConfig:
    """Build the configuration from parsed arguments (validation happens in the library)."""
    return SimConfig(
        family=a.family,
        scenario=a.scenario,
        estimator=a.estimator,
        samples=_samples(a),
        generations=a.generations,
        chains=a.chains,
        seed=a.seed,
        record=_ints(a.record, "--record") if a.record else None,
        kernel=a.kernel,
        dim=a.dim,
        mean=_floats(a.mean, "--mean") if a.mean else None,
        cov_diag=_floats(a.cov_diag, "--cov-diag") if a.cov_diag else None,
        probs=_floats(a.probs, "--probs") if a.probs else None,
        smoothing=a.smoothing,
        real_fraction=a.real_fraction,
        mixing=a.mixing,
        real_weight=a.real_weight,
        samples_schedule=a.samples_schedule,
        precision=a.precision,
        chunk_size=a.chunk_size,
        metrics=tuple(m.strip() for m in a.metrics.split(",")) if a.metrics else None,
        sampling_variance=a.sampling_variance,
        truncate=a.truncate,
        temperature=a.temperature,
        top_p=a.top_p,
        rounding=a.rounding,
        accumulation=a.accumulation,
        truth=a.truth,
        bandwidth=a.bandwidth,
        noise_sd=a.noise_sd,
        design=a.design,
        rate=a.rate,
        components=a.components,
        em_iterations=a.em_iterations,
        em_tol=None if a.em_tol.lower() == "none" else _floats(a.em_tol, "--em-tol")[0],
        em_init=a.em_init,
        var_floor=a.var_floor,
        prior=_floats(a.prior, "--prior") if a.prior else None,
    )


def _samples(a) -> int | float:
    text = str(a.samples).strip().lower()
    if text in ("inf", "infinity"):
        value: int | float = math.inf
    else:
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"--samples must be an integer or inf, got {a.samples!r}") from None
    if a.design_size is not None:
        if a.family != "regression":
            raise ConfigError("--design-size is for the regression family (elsewhere use --samples)")
        if text != "100" and value != a.design_size:
            raise ConfigError("give either --design-size or --samples, not both")
        value = a.design_size
    return value


def run(a) -> int:
    """Run the simulation and print the result."""
    from collapse_theory.engine import simulate

    config = config_from_args(a).validated()
    result = simulate(config, progress=False if a.quiet else None)
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if a.output:
        path = result.save(a.output)
        print(f"saved {path}", file=sys.stderr)
    if a.format == "json":
        json.dump(result.to_json(), sys.stdout)
        sys.stdout.write("\n")
        return 0
    names = list(result.values)
    print(
        f"# {config.family} {config.scenario} estimator={config.estimator} kernel={config.kernel} "
        f"chains={config.chains} seed={config.seed}"
    )
    print("gen".rjust(7) + "".join(f"{n:>24}" for n in names))
    for i, g in enumerate(result.generations):
        cells = []
        for n in names:
            s = result.summary(n)
            cells.append(f"{s.mean[i]:>12.5g} ±{s.se[i]:<10.2g}")
        print(f"{int(g):>7}" + "".join(f"{c:>24}" for c in cells))
    t = result.timing
    print(
        f"# compile {t.compile_seconds:.2f}s, run {t.run_seconds:.2f}s, {t.chain_generations_per_second:.3g} chain-generations/s"
    )
    return 0
