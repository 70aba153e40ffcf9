#!/usr/bin/env bash
# ACDC with its edge-ablated runs batched (CircuitOptions::batch_bytes, the
# default) vs one run per pass (--batch-mb 0), side by side on the same model
# and prompt pair (bench_patching --mode acdc: task-metric criterion, tau 0.02,
# resample ablation). The two alternate RUNS times; the figures are medians.
#
#   bench/compare_acdc.sh [MODEL=models/ioi] [TOKENS=24] [THREADS=2] [RUNS=3]
#
# Prints seconds, forward passes and the speed-up; fails when the two find
# different circuits (kept edges or circuit metric).
# Needs a built tree (GLASSBOX_BUILD_DIR, default build/: bench_patching).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GLASSBOX_BUILD_DIR:-$ROOT/build}"
MODEL="${1:-$ROOT/models/ioi}" TOKENS="${2:-24}" THREADS="${3:-2}" RUNS="${4:-3}"
EXE="$BUILD/bench/bench_patching"
[[ -x "$EXE" ]] || { echo "compare_acdc: $EXE is missing (build target bench_patching)" >&2; exit 1; }
RAW="$(mktemp)"
trap 'rm -f "$RAW"' EXIT
for ((r = 0; r < RUNS; ++r)); do
  for mb in 256 0; do
    echo "$mb $("$EXE" --model "$MODEL" --tokens "$TOKENS" --mode acdc --batch-mb "$mb" --threads "$THREADS" --repeat 1)" >>"$RAW"
  done
done
/usr/bin/python3 - "$RAW" "$MODEL" "$TOKENS" <<'PYEOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    mb, js = line.split(" ", 1)
    rows.setdefault(mb, []).append(json.loads(js))
b, u = rows["256"], rows["0"]
tb, tu = statistics.median(r["seconds"] for r in b), statistics.median(r["seconds"] for r in u)
print(f"ACDC on {sys.argv[2]}, {sys.argv[3]} tokens, {b[0]['n_edges']} edges, {b[0]['n_kept']} kept")
print(f"  batched:          {tb:8.3f} s  {b[0]['forward_runs']:5d} passes")
print(f"  one run per pass: {tu:8.3f} s  {u[0]['forward_runs']:5d} passes")
print(f"  speed-up:         {tu / tb:8.2f}x")
if b[0]["n_kept"] != u[0]["n_kept"] or abs(b[0]["circuit_metric"] - u[0]["circuit_metric"]) > 1e-4 * max(1, abs(u[0]["circuit_metric"])):
    sys.exit("compare_acdc: the batched and unbatched runs found different circuits")
PYEOF
