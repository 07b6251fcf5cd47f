"""Print the README's speed table from the JSON lines of ``bench_workloads.py`` (worst ratio first).

The table is generated, never typed: ``python benchmarks/speed_table.py run.jsonl``. Each row is
one workload: the package's and numpy's chain-generations per second (best of the interleaved
repeats), the ratio of best times, the median ratio of the interleaved pairs, the target and the
spread of the JAX side; the header line gives the date, the machine and the load average.
"""

from __future__ import annotations

import json
import sys


def table(lines: list[dict]) -> str:
    """The markdown table (and a one-line summary naming the worst and the best workload)."""
    head = next((d for d in lines if d.get("benchmark") == "header"), {})
    rows = {}
    base = {}
    for d in lines:
        if d.get("benchmark") == "header" or d.get("impl") is None:
            continue
        if d.get("baseline") is None:
            base[d["benchmark"]] = d
        else:
            rows[d["benchmark"]] = d
    order = sorted(rows, key=lambda k: rows[k]["ratio"])
    out = [
        f"Measured {head.get('date', '?')} on {head.get('cpu_count', '?')} CPUs ({head.get('platform', '?')}), "
        f"jax {head.get('jax', '?')}, numpy {head.get('numpy', '?')}, {head.get('repeats', '?')} interleaved repeats"
        f"{' (SMOKE: meaningless)' if head.get('smoke') else ''}.",
        "",
        "| workload | package cg/s | numpy cg/s | ratio (best) | ratio (median of pairs) | target | met | load avg | JAX spread |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for k in order:
        r, b = rows[k], base.get(k, {})
        load = r.get("loadavg_1min") or [float("nan")] * 2
        out.append(
            f"| {k} | {r['cg_per_s']:.3g} | {b.get('cg_per_s', float('nan')):.3g} | **{r['ratio']:.2f}x** | "
            f"{r.get('ratio_median_pairs', float('nan')):.2f}x | {r.get('target')}x | "
            f"{'yes' if r.get('meets_target') else 'no'} | {load[0]:.1f}-{load[1]:.1f} | {r.get('spread', float('nan')):.2f} |"
        )
    if order:
        out += [
            "",
            f"Worst: {order[0]} at {rows[order[0]]['ratio']:.2f}x; best: {order[-1]} at {rows[order[-1]]['ratio']:.2f}x.",
        ]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python benchmarks/speed_table.py RUN.jsonl", file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        lines = [json.loads(s) for s in f if s.strip()]
    print(table(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
