"""Mathematical axis labels of the metrics (mathtext, so they render without LaTeX)."""

from __future__ import annotations

__all__ = ["LABELS", "label", "GENERATION"]

GENERATION = r"generation $n$"
"""The x label of every figure over generations."""

LABELS: dict[str, str] = {
    "mu_err2": r"$\|\hat\mu_n-\mu_0\|^2$",
    "sigma2": r"$\hat\sigma_n^2$",
    "sigma": r"$\hat\sigma_n$",
    "log_sigma2": r"$\log\hat\sigma_n^2$",
    "w2_sq": r"$W_2^2(\hat p_n, p_0)$",
    "kl": r"$\mathrm{KL}(\hat p_n\,\|\,p_0)$",
    "tail_mass": r"$\hat P_n(|X-\mu_0|>3\sigma_0)$",
    "trace": r"$\mathrm{tr}\,\hat\Sigma_n$",
    "log_det": r"$\log\det\hat\Sigma_n$",
    "heterozygosity": r"$1-\sum_k \hat p_{n,k}^2$",
    "support": r"$|\mathrm{supp}\,\hat p_n|$",
    "entropy": r"$\mathcal{H}(\hat p_n)$ (nats)",
    "tv": r"$\mathrm{TV}(\hat p_n, p_0)$",
    "spread": r"spread $\hat v_n$",
    "nll": r"$\mathbb{E}_{p_0}[-\log\hat p_n(X)]$",
    "h": r"bandwidth $h_n$",
    "test_error": r"$\|\hat w_n-w^\ast\|^2$",
    "log_test_error": r"$\log\|\hat w_n-w^\ast\|^2$",
    "rate": r"$\hat\lambda_n$",
    "rate_err2": r"$(\hat\lambda_n-\lambda_0)^2$",
    "extinct": r"$P(\hat\lambda_n=0)$",
    "separation": r"mode separation $\Delta_n$",
    "converged": "EM converged",
    "iterations": "EM iterations",
}


def label(metric: str) -> str:
    """The axis label of ``metric`` (its name where none is defined, e.g. a user family's metric)."""
    return LABELS.get(metric, metric.replace("_", " "))
