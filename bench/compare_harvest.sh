#!/usr/bin/env bash
# Harvesting vs the plain forward pass on a random-weight GPT-2-small (124M),
# the same tokens, side by side in one process (bench_harvest): one hook
# (resid_post at the middle layer) and twelve (every layer's resid_post).
#   bench/compare_harvest.sh [TOKENS=2048] [THREADS=2] [REPEAT=3] [DTYPE=bf16]
# Needs: a built tree (build/, or GLASSBOX_BUILD_DIR) and python3-numpy for the model.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GLASSBOX_BUILD_DIR:-$ROOT/build}"
TOKENS="${1:-2048}" THREADS="${2:-2}" REPEAT="${3:-3}" DTYPE="${4:-bf16}"
MODEL="$ROOT/out/bench/gpt2-small"
[[ -s "$MODEL/model.safetensors" ]] || /usr/bin/python3 "$ROOT/bench/make_gpt2_small.py" "$MODEL" >&2
for hooks in 'blocks.6.hook_resid_post' 'blocks.*.hook_resid_post'; do
  "$BUILD/bench/bench_harvest" --model "$MODEL" --tokens "$TOKENS" --threads "$THREADS" --repeat "$REPEAT" \
    --dtype "$DTYPE" --hooks "$hooks" --out "$ROOT/out/bench/harvest"
done
