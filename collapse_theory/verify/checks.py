"""The verifier's checks: registry id + parameters -> engine config, metric and statistic.

Choices follow the closed forms of ``docs/derivations.md``, the conventions of ``README.md`` in this
folder and ``docs/derivations.md``, 'Heavy tails of the raw moments': raw moments E σ^{2p} only
while n·ψ1((M−1)/2)·p² ≲ 3, log-moments, probabilities and the exact law otherwise. Fresh-data
fixed points are read after a burn-in of at least 10/(1−(1−α)²) generations
(``docs/derivations.md``, 'Fresh real data').
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["Check", "CHECKS", "CONTROLS", "closed_form"]

H0 = 1.0 - (0.5**2 + 0.3**2 + 0.2**2)  # heterozygosity of probs (0.5, 0.3, 0.2)
PROBS = (0.5, 0.3, 0.2)

# Engine configurations (chains/seed/record are added by the runner; one compile per entry).
CFG = {
    "g_unb": dict(family="gaussian", estimator="unbiased", scenario="replace", samples=10, generations=100),
    "g_mle": dict(family="gaussian", estimator="mle", scenario="replace", samples=10, generations=100),
    "acc_unb": dict(family="gaussian", estimator="unbiased", scenario="accumulate", samples=5, generations=10),
    "acc_mle": dict(family="gaussian", estimator="mle", scenario="accumulate", samples=5, generations=10),
    "fresh_split": dict(
        family="gaussian",
        estimator="unbiased",
        scenario="fresh",
        samples=20,
        generations=60,
        real_fraction=0.2,
        mixing="split",
    ),
    "fresh_mix": dict(
        family="gaussian",
        estimator="unbiased",
        scenario="fresh",
        samples=20,
        generations=60,
        real_fraction=0.2,
        mixing="mixture",
    ),
    "mv": dict(
        family="gaussian",
        estimator="unbiased",
        scenario="replace",
        samples=10,
        generations=5,
        dim=3,
        cov_diag=(1.0, 2.0, 0.5),
    ),
    "sched": dict(
        family="gaussian",
        estimator="unbiased",
        scenario="replace",
        generations=20,
        samples_schedule="10*(t+1)",
    ),
    "wf_rep": dict(family="categorical", scenario="replace", probs=PROBS, samples=20, generations=10),
    "wf_acc": dict(family="categorical", scenario="accumulate", probs=PROBS, samples=20, generations=10),
    "wf_mix": dict(
        family="categorical",
        scenario="fresh",
        probs=PROBS,
        samples=20,
        generations=60,
        real_fraction=0.2,
        mixing="mixture",
    ),
    "wf_split": dict(
        family="categorical",
        scenario="fresh",
        probs=PROBS,
        samples=20,
        generations=60,
        real_fraction=0.2,
        mixing="split",
    ),
    "g_lam": dict(
        family="gaussian", estimator="unbiased", scenario="replace", samples=20, generations=10, sampling_variance=0.8
    ),
    "fresh_lam": dict(
        family="gaussian",
        estimator="unbiased",
        scenario="fresh",
        samples=20,
        generations=80,
        real_fraction=0.2,
        mixing="split",
        sampling_variance=0.7,
    ),
    "wf_fix": dict(family="categorical", scenario="replace", probs=PROBS, samples=10, generations=200),
    "kde": dict(family="kde", scenario="replace", samples=50, generations=51, bandwidth=0.3),
    "reg_fixed": dict(family="regression", scenario="replace", dim=10, samples=40, generations=10, design="fixed"),
    "reg_fresh": dict(family="regression", scenario="replace", dim=10, samples=40, generations=10, design="fresh"),
    "reg_acc": dict(family="regression", scenario="accumulate", dim=10, samples=40, generations=10, design="fixed"),
    "pois": dict(family="poisson", scenario="replace", samples=10, generations=100, rate=1.0),
    "dir": dict(
        family="categorical",
        estimator="laplace",
        scenario="replace",
        probs=PROBS,
        samples=20,
        generations=120,
        smoothing=0.5,
    ),
    "nig": dict(
        family="gaussian",
        estimator="bayes",
        kernel="sample",
        scenario="replace",
        prior=(0.0, 1.0, 5.0, 1.0),
        mean=(1.0,),
        samples=10,
        generations=40,
    ),
}


@dataclass(frozen=True)
class Check:
    """One comparison of a Monte Carlo statistic with a registered closed form.

    Attributes:
        id: registry id of the closed form.
        params: parameters passed to ``registry.evaluate``.
        cfg: key into ``CFG`` (the engine configuration).
        gen: generation (model index) at which the metric is read.
        metric: engine metric name.
        kind: ``mean`` | ``var`` | ``prob`` (σ² < eps) | ``ks`` (chi-square law) | ``fix`` (fixation).
        extra: kind-specific settings (``eps``; ``dof``; ``tv`` for the fixed state).
        scale: multiplier of the closed form (1 except for perturbed negative controls).
        note: why a control is wrong (empty for real checks).
        gen_param, gen_offset: the closed form's generation parameter is ``gen + gen_offset``
            (used to draw the closed form over all recorded generations).

    """

    id: str
    params: dict
    cfg: str
    gen: int
    metric: str
    kind: str = "mean"
    extra: dict = field(default_factory=dict)
    scale: float = 1.0
    note: str = ""
    gen_param: str = "n"
    gen_offset: int = 0

    @property
    def config(self) -> dict:
        """The engine configuration of this check."""
        return CFG[self.cfg]

    def summary(self) -> str:
        """A short description of the simulated configuration."""
        c = self.config
        m = c.get("samples_schedule") or f"M={c.get('samples')}"
        bits = [c["family"][:3], c["scenario"], c.get("estimator") or "", m, f"n={self.gen}", self.metric]
        if c["scenario"] == "fresh":
            bits.insert(2, f"{c['mixing']} a={c['real_fraction']}")
        if c.get("dim", 1) > 1:
            bits.insert(2, f"d={c['dim']}")
        if c.get("sampling_variance", 1.0) != 1.0:
            bits.insert(2, f"lambda={c['sampling_variance']}")
        return " ".join(b for b in bits if b)


def closed_form(check: Check) -> float:
    """The closed form of a check (times its ``scale``) from the theory registry."""
    if check.kind == "ks":
        return 0.0  # the KS distance under the null
    from collapse_theory.theory import registry

    return float(registry.evaluate(check.id, **check.params)) * check.scale


def sample_statistic(check: Check, values: dict, gens: np.ndarray) -> np.ndarray:
    """Per-chain values entering the statistic of ``check`` (from ``SimulationResult.values``)."""
    row = int(np.flatnonzero(gens == check.gen)[0])
    if check.kind == "prob":
        return values["sigma2"][row] < check.extra["eps"]
    if check.kind == "ks":
        m = check.config["samples"]
        c = m - 1 if check.config["estimator"] == "unbiased" else m
        return c * np.exp(values["log_sigma2"][row])  # (M−1)σ₁²/σ₀² ~ chi2(M−1) (Cochran)
    if check.kind == "fix":
        return (values["support"][row] == 1) & (np.abs(values["tv"][row] - check.extra["tv"]) < 1e-3)
    return values[check.metric][row]


def _g(i, n, est="unbiased", metric="", kind="mean", cfg=None, **kw):
    extra = kw.pop("extra", {})
    p = dict(M=10, n=n, sigma0=1.0) | kw
    return Check(
        f"gaussian.replace.{est}.{i}", p, cfg or ("g_unb" if est == "unbiased" else "g_mle"), n, metric, kind, extra
    )


_SIG = dict(M=5, sigma0=1.0)
_FR = dict(M=20, alpha=0.2, sigma0=1.0)
_MV = dict(M=10, d=3)
_SC = dict(M0=10, growth=1.0, n=20, sigma0=1.0)
_KDE = dict(M=50, h=0.3, v0=1.0 - 1.0 / 50)
_REG = dict(sigma=1.0, d=10, T=40)
_DIR = dict(M=20, K=3, a=0.5)
_NIG = dict(M=10, kappa0=1.0, alpha0=5.0, beta0=1.0, var0=1.0, d0=1.0)

CHECKS: list[Check] = [
    # Gaussian, replace, fixed M (docs/derivations.md): unbiased, M = 10 (raw moments only at n·ψ1·p² ≲ 3)
    _g("mean_log_sigma2", 5, metric="log_sigma2"),
    _g("mean_log_sigma2", 100, metric="log_sigma2"),
    _g("var_log_sigma2", 5, metric="log_sigma2", kind="var"),
    _g("var_log_sigma2", 100, metric="log_sigma2", kind="var"),
    _g("mean_sq_mean_error", 5, metric="mu_err2"),
    _g("mean_w2sq", 2, metric="w2_sq"),
    _g("mean_sigma2", 5, metric="sigma2"),
    _g("mean_sigma", 20, metric="sigma"),
    # Collapse probability (docs/derivations.md): exact law (Cochran at n = 1) and Gil-Pelaez P(σ_n² < ε)
    _g("prob_sigma2_below", 1, metric="log_sigma2", kind="ks", extra={"dof": 9}),
    _g("prob_sigma2_below", 5, metric="sigma2", kind="prob", eps=0.1, extra={"eps": 0.1}),
    _g("prob_sigma2_below", 20, metric="sigma2", kind="prob", eps=0.1, extra={"eps": 0.1}),
    _g("prob_sigma2_below", 100, metric="sigma2", kind="prob", eps=0.01, extra={"eps": 0.01}),
    # Gaussian, replace, fixed M: MLE
    _g("mean_log_sigma2", 20, "mle", "log_sigma2"),
    _g("var_log_sigma2", 20, "mle", "log_sigma2", kind="var"),
    _g("mean_sigma2", 5, "mle", "sigma2"),
    _g("mean_sq_mean_error", 20, "mle", "mu_err2"),
    _g("mean_w2sq", 20, "mle", "w2_sq"),
    _g("mean_sigma", 20, "mle", "sigma"),
    _g("prob_sigma2_below", 20, "mle", "sigma2", kind="prob", eps=0.01, extra={"eps": 0.01}),
    # Gaussian, accumulate
    Check("accumulate.unbiased.mean_sigma2", _SIG | {"n": 10}, "acc_unb", 10, "sigma2"),
    Check("accumulate.unbiased.mean_sq_mean_error", _SIG | {"n": 10}, "acc_unb", 10, "mu_err2"),
    Check("accumulate.mle.mean_sigma2", _SIG | {"n": 10}, "acc_mle", 10, "sigma2"),
    Check("accumulate.mle.mean_sq_mean_error", _SIG | {"n": 10}, "acc_mle", 10, "mu_err2"),
    # Fresh real data (burn-in 60 ≥ 10/(1 − 0.8²) ≈ 28)
    Check("fresh.split.e_star", _FR, "fresh_split", 60, "mu_err2"),
    Check("fresh.split.v_star", _FR, "fresh_split", 60, "sigma2"),
    Check("fresh.mixture.e_star", _FR, "fresh_mix", 60, "mu_err2"),
    Check("fresh.mixture.v_star", _FR, "fresh_mix", 60, "sigma2"),
    # d-dimensional Gaussian
    Check("multivariate.replace.mean_log_det", _MV | {"n": 5, "logdet0": 0.0}, "mv", 5, "log_det"),
    Check("multivariate.replace.mean_trace", {"tr0": 3.5}, "mv", 5, "trace"),
    Check("multivariate.replace.mean_sq_mean_error", {"M": 10, "n": 5, "tr0": 3.5}, "mv", 5, "mu_err2"),
    # Growing sample sizes M_i = 10 (i + 1)
    Check("schedules.power.mean_w2sq", _SC, "sched", 20, "w2_sq"),
    Check("schedules.power.mean_sq_mean_error", _SC, "sched", 20, "mu_err2"),
    Check("schedules.power.mean_sigma", _SC, "sched", 20, "sigma"),
    # Biased sampling: model 1 is fit to real data, so E sigma_n^2 = lam^(n-1) sigma0^2
    Check(
        "gaussian.replace.unbiased.biased_sampling_mean_sigma2",
        {"M": 20, "n": 9, "sigma0": 1.0, "lam": 0.8},
        "g_lam",
        10,
        "sigma2",
    ),
    Check("fresh.split.biased.e_star", _FR | {"lam": 0.7}, "fresh_lam", 80, "mu_err2"),
    Check("fresh.split.biased.v_star", _FR | {"lam": 0.7}, "fresh_lam", 80, "sigma2"),
    # Wright-Fisher (categorical)
    Check("wf.replace.mean_heterozygosity", {"H0": H0, "M": 20, "n": 10}, "wf_rep", 10, "heterozygosity"),
    Check("wf.one_step.mean_support", {"M": 20, "p": PROBS}, "wf_rep", 1, "support"),
    Check("wf.accumulate.mean_heterozygosity", {"H0": H0, "M": 20, "n": 10}, "wf_acc", 10, "heterozygosity"),
    Check("wf.mixture.h_star", {"H0": H0, "M": 20, "alpha": 0.2}, "wf_mix", 60, "heterozygosity"),
    Check("wf.split.h_star", {"H0": H0, "M": 20, "alpha": 0.2}, "wf_split", 60, "heterozygosity"),
    Check("wf.fixation_probability", {"q": 0.5}, "wf_fix", 200, "support", kind="fix", extra={"tv": 0.5}),
    # KDE replace: model g >= 1 holds the points of generation g - 1, E v_0 = (1 - 1/M) sigma0^2
    *(
        Check("kde.replace.mean_spread", _KDE | {"t": g - 1}, "kde", g, "spread", gen_param="t", gen_offset=-1)
        for g in (11, 51)
    ),
    # Linear regression, d = 10, T = 40, sigma = 1
    Check("regression.replace.test_error", _REG | {"n": 10}, "reg_fixed", 10, "test_error"),
    Check("regression.replace.test_error", _REG | {"n": 10}, "reg_fresh", 10, "test_error"),
    Check("regression.accumulate.test_error", _REG | {"n": 10}, "reg_acc", 10, "test_error"),
    # Poisson: P(lambda_t = 0) = q_t^{N0}, N0 = M lambda_0 = 10
    *(
        Check("poisson.extinction_probability", {"N0": 10, "t": t}, "pois", t, "extinct", gen_param="t")
        for t in (20, 100)
    ),
    # Dirichlet(a) learner = Wright-Fisher with mutation (bayes.dirichlet), a = 0.5, burn-in 120 >= 10/(1 - A)
    Check("bayes.dirichlet.mean_heterozygosity", _DIR | {"H0": H0, "n": 5}, "dir", 5, "heterozygosity"),
    Check("bayes.dirichlet.stationary_heterozygosity", _DIR, "dir", 120, "heterozygosity"),
    # Normal-Inverse-Gamma learner, alpha0 = 5 (finite fourth moment of V): exact mean recursion
    Check("bayes.nig.mean_predictive_variance", _NIG | {"n": 5}, "nig", 5, "sigma2"),
    Check(
        "bayes.nig.stationary_predictive_variance",
        {k: _NIG[k] for k in ("M", "kappa0", "alpha0", "beta0")},
        "nig",
        40,
        "sigma2",
    ),
]

CONTROLS: list[Check] = [
    replace(CHECKS[1], scale=1.05, note="perturbed closed form: E log σ² × 1.05"),
    replace(CHECKS[12], id="gaussian.replace.unbiased.mean_log_sigma2", note="biased estimator: MLE vs unbiased form"),
    Check(
        "accumulate.unbiased.mean_sq_mean_error",
        {"M": 10, "n": 10, "sigma0": 1.0},
        "g_unb",
        10,
        "mu_err2",
        note="wrong workflow: replace vs accumulate form",
    ),
]


def records() -> dict[str, tuple[int, ...]]:
    """Generations to record per engine configuration (all the checks' plus a few for the figures)."""
    out: dict[str, set[int]] = {}
    for c in CHECKS + CONTROLS:
        out.setdefault(c.cfg, {1}).add(c.gen)
    for k, cfg in CFG.items():
        g = int(cfg["generations"])  # type: ignore[call-overload]
        out.setdefault(k, {1}).update({max(1, g // 4), max(1, g // 2), g})
    return {k: tuple(sorted(v)) for k, v in out.items()}
