"""Error sources beyond the statistical one: biased sampling (functional approximation error)."""
