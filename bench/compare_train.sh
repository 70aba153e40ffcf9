#!/usr/bin/env bash
# Training benchmark: glassbox vs a plain PyTorch GPT-2 (bench/reference_train.py),
# side by side, A/B alternated (the order flips every run), medians over RUNS.
#  - train: tokens/s of AdamW training of the tiny-lm shape (4 layers, d_model
#    128, 4 heads, ctx 128, vocab 2048) on TRAIN_BATCH x TRAIN_TOKENS random tokens.
#  - fwd / fwdbwd: random-weight GPT-2-small (124M), FB_BATCH x FB_TOKENS tokens:
#    one forward (logits + loss) vs forward + backward with weight gradients.
# Prints each JSON line, then the ratios: training tokens/s glassbox/torch
# (issue target >= 1.5x) and fwdbwd/fwd on each side (target <= 3x).
#   bench/compare_train.sh [THREADS=2] [RUNS=3] [STEPS=20] [FB_TOKENS=1024]
#   env: TRAIN_BATCH=16 TRAIN_TOKENS=128 TRAIN_WARMUP=3 FB_BATCH=1 FB_REPEAT=3
# Needs: scripts/install-deps.sh --reference (python3-torch), a built tree (build/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GLASSBOX_BUILD_DIR:-$ROOT/build}"
THREADS="${1:-2}" RUNS="${2:-3}" STEPS="${3:-20}" FB_TOKENS="${4:-1024}"
TRAIN_BATCH="${TRAIN_BATCH:-16}" TRAIN_TOKENS="${TRAIN_TOKENS:-128}" TRAIN_WARMUP="${TRAIN_WARMUP:-3}"
FB_BATCH="${FB_BATCH:-1}" FB_REPEAT="${FB_REPEAT:-3}"
MODEL="$ROOT/out/bench/gpt2-small"
[[ -s "$MODEL/model.safetensors" ]] || /usr/bin/python3 "$ROOT/bench/make_gpt2_small.py" "$MODEL" >&2
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

run_one() {  # impl mode
  local args
  if [[ $2 == train ]]; then
    args=(--mode train --batch "$TRAIN_BATCH" --tokens "$TRAIN_TOKENS" --repeat "$STEPS" --warmup "$TRAIN_WARMUP")
  else
    args=(--mode "$2" --model "$MODEL" --batch "$FB_BATCH" --tokens "$FB_TOKENS" --repeat "$FB_REPEAT")
  fi
  if [[ $1 == glassbox ]]; then
    "$BUILD/bench/bench_train" "${args[@]}" --threads "$THREADS"
  else
    /usr/bin/python3 "$ROOT/bench/reference_train.py" "${args[@]}" --threads "$THREADS"
  fi | tee -a "$OUT/$1.$2.jsonl"
}

for ((r = 1; r <= RUNS; ++r)); do
  for mode in train fwd fwdbwd; do
    if ((r % 2)); then run_one glassbox "$mode"; run_one torch "$mode"
    else run_one torch "$mode"; run_one glassbox "$mode"; fi
  done
done

/usr/bin/python3 - "$OUT" <<'EOF'
import json, statistics, sys
d = sys.argv[1]
def med(impl, mode, key):
    with open(f"{d}/{impl}.{mode}.jsonl") as f:
        return statistics.median(json.loads(l)[key] for l in f if l.strip())
g, t = "glassbox", "torch"
n = sum(1 for _ in open(f"{d}/{g}.train.jsonl"))
print(f"--- medians of {n} runs")
gt, tt = med(g, "train", "tokens_per_s"), med(t, "train", "tokens_per_s")
print(f"train tokens/s: glassbox {gt:.0f}  torch {tt:.0f}  glassbox/torch = {gt / tt:.2f}x  (target >= 1.5x)")
print(f"train s/step:   glassbox {med(g, 'train', 'seconds'):.4f}  torch {med(t, 'train', 'seconds'):.4f}"
      f"  peak RSS MB glassbox {med(g, 'train', 'peak_rss_mb'):.0f}  torch {med(t, 'train', 'peak_rss_mb'):.0f}")
for impl in (g, t):
    f, fb = med(impl, "fwd", "seconds"), med(impl, "fwdbwd", "seconds")
    print(f"{impl:8s} fwd {f:.3f}s  fwdbwd {fb:.3f}s (forward {med(impl, 'fwdbwd', 'forward_seconds'):.3f}"
          f" + backward {med(impl, 'fwdbwd', 'backward_seconds'):.3f})  fwdbwd/fwd = {fb / f:.2f}x"
          f"{'  (target <= 3x)' if impl == g else ''}  peak RSS MB fwd {med(impl, 'fwd', 'peak_rss_mb'):.0f}"
          f" fwdbwd {med(impl, 'fwdbwd', 'peak_rss_mb'):.0f}")
print(f"fwdbwd glassbox/torch time = {med(g, 'fwdbwd', 'seconds') / med(t, 'fwdbwd', 'seconds'):.2f}x")
lg, lt = med(g, "fwd", "loss"), med(t, "fwd", "loss")  # same model, same tokens: must agree
print(f"check: GPT-2-small loss glassbox {lg:.4f} torch {lt:.4f}  {'ok' if abs(lg - lt) < 1e-3 else 'MISMATCH'}")
EOF
