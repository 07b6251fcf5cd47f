#!/usr/bin/env bash
# Run the full engine and family benchmarks RUNS times (default 3) and print, per benchmark and
# implementation, the line of the run with the best ratio (or the best cg/s for baselines). Raw JSON
# lines are kept in benchmarks/results/{engine,families}-<UTC timestamp>-<run>.jsonl (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
out=benchmarks/results
mkdir -p "$out"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
status=0
files=()
for i in $(seq 1 "$runs"); do
    for name in engine families; do
        f="$out/$name-$stamp-$i.jsonl"
        files+=("$f")
        python "benchmarks/bench_$name.py" >"$f" || status=1
    done
done
python - "${files[@]}" <<'EOF'
import json
import sys

best = {}
for path in sys.argv[1:]:
    for raw in open(path):
        d = json.loads(raw)
        if d["benchmark"] == "header" or "error" in d:
            continue
        key = (d["benchmark"], d["impl"])
        score = d["ratio"] if d.get("ratio") is not None else d["cg_per_s"]
        if key not in best or score > best[key][0]:
            best[key] = (score, d, path)
for (bench, impl), (_, d, path) in best.items():
    ratio = "" if d.get("ratio") is None else f"  ratio {d['ratio']:.3g} (target {d.get('target')}, met {d.get('meets_target')})"
    print(f"{bench:18s} {impl:17s} {d['cg_per_s']:10.3g} cg/s{ratio}  [{path}]")
EOF
exit "$status"
