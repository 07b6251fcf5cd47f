"""Per-chain summaries of fitted models (the metric contract) and their reductions."""
