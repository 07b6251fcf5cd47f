"""Fingerprints of built-in configurations: a SHA-256 of every metric's per-chain float64 values.

Run it on two commits to show that a refactor left every built-in configuration bit-identical:

    python benchmarks/fingerprint.py --out before.json          # on the old commit
    python benchmarks/fingerprint.py --compare before.json      # on the new one; exit 1 on any difference

The configurations are flat ``SimConfig`` keyword dictionaries (the form every version of the
package accepts) covering each family, kernel, scenario, schedule, error source and precision.
Bit-identity holds for one machine and one jax/jaxlib version; compare on the same machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

import numpy as np

MIX = "mixture:0.5,-2,1;0.5,2,1"

BASE = dict(chains=130, seed=3)
CONFIGS: dict[str, dict] = {
    # 1-D Gaussian: estimators, kernels, every scenario
    "g_unb_replace": dict(family="gaussian", estimator="unbiased", samples=10, generations=30),
    "g_mle_replace_f64": dict(family="gaussian", estimator="mle", samples=10, generations=30, precision="float64"),
    "g_unb_sample": dict(family="gaussian", estimator="unbiased", kernel="sample", samples=10, generations=20),
    "g_unb_acc": dict(family="gaussian", estimator="unbiased", scenario="accumulate", samples=5, generations=20),
    "g_mle_accsub": dict(
        family="gaussian", estimator="mle", scenario="accumulate-subsample", samples=6, generations=12
    ),
    "g_fresh_split": dict(
        family="gaussian", estimator="unbiased", scenario="fresh", samples=20, generations=15, real_fraction=0.2
    ),
    "g_fresh_mix": dict(
        family="gaussian",
        estimator="unbiased",
        scenario="fresh",
        samples=20,
        generations=15,
        real_fraction=0.3,
        mixing="mixture",
    ),
    "g_acc_weight": dict(
        family="gaussian", estimator="unbiased", scenario="accumulate", samples=8, generations=10, real_weight=0.3
    ),
    "g_fresh_weight": dict(
        family="gaussian",
        estimator="mle",
        scenario="fresh",
        samples=10,
        generations=10,
        real_fraction=0.5,
        real_weight=0.7,
    ),
    "g_schedule": dict(family="gaussian", estimator="unbiased", samples_schedule="5*(t+1)", generations=10),
    "g_schedule_sample": dict(
        family="gaussian", estimator="mle", kernel="sample", samples_schedule="3+t", generations=8
    ),
    "g_mean_var": dict(family="gaussian", estimator="unbiased", mean=(2.5,), cov_diag=(0.3,), generations=10),
    # biased sampling
    "g_lambda": dict(family="gaussian", estimator="unbiased", samples=10, generations=10, sampling_variance=0.8),
    "g_truncate": dict(family="gaussian", estimator="mle", kernel="sample", samples=10, generations=10, truncate=1.5),
    # misspecified truths and the population fit
    "g_truth_mix": dict(family="gaussian", estimator="unbiased", truth=MIX, samples=20, generations=10),
    "g_truth_t_sample": dict(
        family="gaussian", estimator="mle", truth="student-t:5", kernel="sample", samples=20, generations=10
    ),
    "g_truth_fresh": dict(
        family="gaussian", estimator="unbiased", truth=MIX, scenario="fresh", samples=20, generations=10
    ),
    "g_population": dict(family="gaussian", estimator="unbiased", truth=MIX, samples=float("inf"), generations=10),
    "g_population_acc": dict(
        family="gaussian", estimator="mle", scenario="accumulate", samples=float("inf"), generations=10
    ),
    # d-D Gaussian
    "gnd_exact": dict(family="gaussian", estimator="unbiased", dim=3, cov_diag=(1.0, 2.0, 0.5), generations=10),
    "gnd_sample_acc": dict(
        family="gaussian", estimator="mle", dim=2, kernel="sample", scenario="accumulate", samples=10, generations=8
    ),
    "gnd_cov_fresh": dict(
        family="gaussian",
        estimator="mle",
        dim=2,
        cov=((2.0, 0.5), (0.5, 1.0)),
        scenario="fresh",
        mixing="mixture",
        real_fraction=0.2,
        samples=20,
        generations=8,
    ),
    "gnd_lambda": dict(family="gaussian", estimator="unbiased", dim=2, sampling_variance=0.9, generations=8),
    # naive-sample precision policy
    "naive_f32": dict(
        family="gaussian", estimator="unbiased", kernel="naive-sample", mean=(1.0,), samples=10, generations=20
    ),
    "naive_f16_stoch": dict(
        family="gaussian",
        estimator="unbiased",
        kernel="naive-sample",
        precision="float16",
        rounding="stochastic",
        mean=(1.0,),
        samples=10,
        generations=20,
    ),
    "naive_bf16_kahan_truth": dict(
        family="gaussian",
        estimator="mle",
        kernel="naive-sample",
        precision="bfloat16",
        accumulation="kahan",
        truth=MIX,
        samples=12,
        generations=10,
    ),
    "naive_f16_pairwise_acc": dict(
        family="gaussian",
        estimator="unbiased",
        kernel="naive-sample",
        precision="float16",
        accumulation="pairwise",
        scenario="accumulate",
        samples=8,
        generations=8,
    ),
    "naive_welford_fresh": dict(
        family="gaussian",
        estimator="unbiased",
        kernel="naive-sample",
        precision="float32",
        accumulation="welford",
        scenario="fresh",
        samples=10,
        generations=8,
    ),
    # Bayesian Gaussian learner
    "nig": dict(
        family="gaussian", estimator="bayes", prior=(0.0, 1.0, 2.0, 1.0), kernel="sample", samples=10, generations=20
    ),
    "nig_acc": dict(
        family="gaussian",
        estimator="bayes",
        prior=(0.5, 2.0, 3.0, 1.0),
        kernel="sample",
        scenario="accumulate",
        samples=6,
        generations=10,
    ),
    # categorical
    "cat_replace": dict(family="categorical", probs=(0.5, 0.2, 0.1, 0.1, 0.05, 0.05), samples=30, generations=30),
    "cat_sample_f64": dict(
        family="categorical",
        probs=(0.4, 0.3, 0.2, 0.1),
        kernel="sample",
        samples=25,
        generations=15,
        precision="float64",
    ),
    "cat_acc": dict(family="categorical", scenario="accumulate", probs=(0.5, 0.3, 0.2), samples=20, generations=20),
    "cat_accsub": dict(
        family="categorical", scenario="accumulate-subsample", probs=(0.5, 0.3, 0.2), samples=10, generations=10
    ),
    "cat_fresh_mix": dict(
        family="categorical",
        scenario="fresh",
        probs=(0.5, 0.3, 0.2),
        samples=20,
        generations=20,
        real_fraction=0.2,
        mixing="mixture",
    ),
    "cat_laplace": dict(
        family="categorical", estimator="laplace", smoothing=0.5, probs=(0.5, 0.3, 0.2), samples=20, generations=20
    ),
    "cat_temperature": dict(family="categorical", probs=(0.4, 0.3, 0.2, 0.1), temperature=0.7, generations=10),
    "cat_top_p": dict(family="categorical", probs=(0.4, 0.3, 0.2, 0.1), top_p=0.8, samples=20, generations=10),
    "cat_weight": dict(
        family="categorical",
        scenario="accumulate",
        probs=(0.4, 0.3, 0.2, 0.1),
        real_weight=0.5,
        samples=10,
        generations=10,
    ),
    "cat_big": dict(family="categorical", probs=tuple([0.01] * 100), samples=1000, generations=10),
    # kde
    "kde_fixed": dict(family="kde", bandwidth=0.3, samples=20, generations=10),
    "kde_scott_acc": dict(family="kde", bandwidth="scott", scenario="accumulate", samples=10, generations=8),
    "kde_silverman_fresh": dict(
        family="kde", bandwidth="silverman", scenario="fresh", samples=20, generations=8, real_weight=0.6
    ),
    "kde_accsub": dict(family="kde", bandwidth=0.5, scenario="accumulate-subsample", samples=10, generations=8),
    # regression
    "reg_fixed": dict(family="regression", dim=4, samples=12, generations=10, design="fixed"),
    "reg_fresh_sample": dict(
        family="regression", dim=3, samples=10, generations=8, design="fresh", kernel="sample", noise_sd=0.5
    ),
    "reg_acc": dict(
        family="regression", dim=3, samples=10, generations=8, scenario="accumulate", mean=(1.0, -1.0, 0.5)
    ),
    "reg_fresh_scenario": dict(
        family="regression", dim=2, samples=10, generations=8, design="fresh", scenario="fresh", real_fraction=0.4
    ),
    # poisson
    "pois_exact": dict(family="poisson", rate=1.0, samples=10, generations=40),
    "pois_sample_acc": dict(
        family="poisson", rate=2.0, kernel="sample", scenario="accumulate", samples=8, generations=10
    ),
    "pois_fresh": dict(family="poisson", rate=0.5, scenario="fresh", samples=10, generations=10, mixing="mixture"),
    # gmm
    "gmm_quantile": dict(family="gmm", samples=40, generations=5, em_iterations=30),
    "gmm_kmeans_acc": dict(
        family="gmm",
        truth="mixture:0.3,-2,0.5;0.7,1,1",
        em_init="kmeans++",
        scenario="accumulate",
        samples=30,
        generations=4,
        em_iterations=20,
    ),
    "gmm_notol": dict(family="gmm", samples=30, generations=3, em_iterations=10, em_tol=None, var_floor=1e-3),
}


def digest(values: dict) -> dict:
    """SHA-256 of each metric's per-chain values (float64, C order)."""
    return {
        k: hashlib.sha256(np.ascontiguousarray(v, dtype=np.float64).tobytes()).hexdigest() for k, v in values.items()
    }


def fingerprints(only: list[str] | None = None) -> dict:
    """Run every configuration and fingerprint its values."""
    import collapse_theory as ct

    out = {}
    for name, cfg in CONFIGS.items():
        if only and name not in only:
            continue
        if cfg["family"] not in ct.family_names() if hasattr(ct, "family_names") else False:
            print(f"{name}: skipped (no family {cfg['family']!r} here)", file=sys.stderr)
            continue
        r = ct.simulate(ct.SimConfig(**(BASE | cfg)), progress=False)
        out[name] = digest(r.values)
        print(f"{name}: {len(out[name])} metrics", file=sys.stderr)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="write the fingerprints here (JSON)")
    p.add_argument("--compare", help="compare against fingerprints in this JSON file")
    p.add_argument("--only", nargs="*", help="configuration names")
    a = p.parse_args()
    fp = fingerprints(a.only)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(fp, f, indent=1, sort_keys=True)
    if a.compare:
        with open(a.compare) as f:
            ref = json.load(f)
        bad = 0
        for name, metrics in fp.items():
            old = ref.get(name)
            if old is None:
                print(f"{name}: not in {a.compare}")
                continue
            diff = sorted(k for k in set(old) | set(metrics) if old.get(k) != metrics.get(k))
            if diff:
                bad += 1
                print(f"{name}: DIFFERS in {', '.join(diff)}")
        print(f"{len(fp) - bad}/{len(fp)} configurations bit-identical")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
