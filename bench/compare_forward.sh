#!/usr/bin/env bash
# Forward-pass benchmark: glassbox vs a TransformerLens-style PyTorch reference
# on a random-weight GPT-2-small (124M), 1 x TOKENS tokens, side by side in one
# run. Prints each implementation's JSON line and the ratios. Last, the whole
# process of `glassbox cache --out` (every hook, f32, streamed to a file)
# against the reference's caching run (one pass), timed by /usr/bin/time.
#   bench/compare_forward.sh [TOKENS=1024] [THREADS=2] [REPEAT=3]
# Needs: scripts/install-deps.sh --reference (python3-torch), a built tree (build/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GLASSBOX_BUILD_DIR:-$ROOT/build}"
TOKENS="${1:-1024}" THREADS="${2:-2}" REPEAT="${3:-3}"
MODEL="$ROOT/out/bench/gpt2-small"
[[ -s "$MODEL/model.safetensors" ]] || /usr/bin/python3 "$ROOT/bench/make_gpt2_small.py" "$MODEL" >&2

ratio() { /usr/bin/python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); k=sys.argv[3]; print(f'{k}: glassbox {a[k]:.3f}  torch {b[k]:.3f}  torch/glassbox = {b[k]/a[k]:.2f}x')" "$@"; }

for mode in load plain cache; do
  g=$("$BUILD/bench/bench_forward" --model "$MODEL" --tokens "$TOKENS" --mode "$mode" --threads "$THREADS" --repeat "$REPEAT")
  t=$(/usr/bin/python3 "$ROOT/bench/reference_hooked_gpt2.py" --model "$MODEL" --tokens "$TOKENS" --mode "$mode" --threads "$THREADS" --repeat "$REPEAT")
  echo "$g"; echo "$t"
  ratio "$g" "$t" seconds
  ratio "$g" "$t" peak_rss_mb
done
# The same cache stored as bf16 (glassbox cache --dtype bf16), against the reference's f32 cache:
# the memory a user saves by asking for it (TransformerLens has no such option).
g=$("$BUILD/bench/bench_forward" --model "$MODEL" --tokens "$TOKENS" --mode cache --threads "$THREADS" --repeat "$REPEAT" --dtype bf16)
echo "$g"
ratio "$g" "$t" seconds
ratio "$g" "$t" peak_rss_mb

# Whole process: `glassbox cache --out FILE` (every hook, f32, streamed to disk as
# the forward runs) vs the reference's run_with_cache held in memory (one pass).
# Wall seconds and peak RSS from /usr/bin/time; the file is removed after each run.
if [[ -x /usr/bin/time ]]; then
  IDS=$(/usr/bin/python3 -c "import random; random.seed(0); print(','.join(str(random.randrange(50257)) for _ in range($TOKENS)))")
  OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT
  whole() { /usr/bin/time -f '{"seconds": %e, "peak_rss_mb": %M}' "$@" 2>&1 >/dev/null | tail -1 |
            /usr/bin/python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d['peak_rss_mb']/=1024; print(json.dumps(d))"; }
  g=$(whole "$BUILD/glassbox" --threads "$THREADS" cache --model "$MODEL" --tokens "$IDS" --out "$OUT/cache.safetensors")
  rm -f "$OUT/cache.safetensors"
  t=$(whole /usr/bin/python3 "$ROOT/bench/reference_hooked_gpt2.py" --model "$MODEL" --tokens "$TOKENS" --mode cache --threads "$THREADS" --repeat 1)
  echo "glassbox cache --out (whole process): $g"; echo "reference cache (whole process): $t"
  ratio "$g" "$t" seconds
  ratio "$g" "$t" peak_rss_mb
fi
