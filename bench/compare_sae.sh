#!/usr/bin/env bash
# SAE training benchmark: glassbox (bench/bench_sae) vs a plain PyTorch SAE
# (bench/sae_torch.py) on the same activations from a file, the same initial
# weights and the same batches: d_in 768, d_sae 16 x 768 = 12288, TopK (k 32)
# and ReLU (L1 weighted by decoder norms), Adam, constant lr. Three cases:
#   topk         TopK from the dense init (k rows of W_dec per token);
#   relu         ReLU from the dense init: half the latents fire, both sides run
#                the same dense GEMMs (the first phase of a ReLU run);
#   relu-sparse  ReLU once trained to L0 ~ 1% of d_sae (b_enc set per latent,
#                see sae_torch.py make), where a ReLU run spends nearly all its
#                steps: glassbox's decode and backward touch active latents only.
# Runs alternate A/B (the order flips each run). Prints each run's JSON summary, the
# tokens/s ratio (issue target >= 2x) and how far the two loss curves are
# apart over all steps (the same curve: relative difference ~1e-6).
#   bench/compare_sae.sh [THREADS=2] [RUNS=1] [STEPS=50] [BATCH=1024]
# Needs python3-torch (Debian's /usr/bin/python3) and a built tree
# (GLASSBOX_BUILD_DIR, default build/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GLASSBOX_BUILD_DIR:-$ROOT/build}"
THREADS="${1:-2}" RUNS="${2:-1}" STEPS="${3:-50}" BATCH="${4:-1024}"
DATA="$ROOT/out/bench/sae"
[[ -s "$DATA/init-relu-sparse/cfg.json" ]] || /usr/bin/python3 "$ROOT/bench/sae_torch.py" make --out "$DATA" >&2
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

run_one() {  # impl case (arch[-init])
  local args=(--dir "$DATA" --arch "${2%%-*}" --init "$2" --steps "$STEPS" --batch "$BATCH" --threads "$THREADS")
  if [[ $1 == glassbox ]]; then "$BUILD/bench/bench_sae" "${args[@]}"
  else /usr/bin/python3 "$ROOT/bench/sae_torch.py" train "${args[@]}"; fi >> "$OUT/$1.$2.jsonl"
  tail -n1 "$OUT/$1.$2.jsonl" | /usr/bin/python3 -c \
    'import json,sys; j=json.load(sys.stdin); j.pop("losses"); print(json.dumps(j))'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= RUNS; ++r)); do
  for arch in topk relu relu-sparse; do
    if ((r % 2)); then run_one glassbox "$arch"; run_one torch "$arch"
    else run_one torch "$arch"; run_one glassbox "$arch"; fi
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$OUT" <<'PY'
import json, statistics, sys
d = sys.argv[1]
def runs(impl, arch):
    with open(f"{d}/{impl}.{arch}.jsonl") as f:
        return [json.loads(l) for l in f if l.strip()]
for arch in ("topk", "relu", "relu-sparse"):
    g, t = runs("glassbox", arch), runs("torch", arch)
    gt = statistics.median(r["tokens_per_s"] for r in g)
    tt = statistics.median(r["tokens_per_s"] for r in t)
    lg, lt = g[0]["losses"], t[0]["losses"]
    rel = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(lg, lt))
    print(f"{arch}: tokens/s glassbox {gt:.0f}  torch {tt:.0f}  glassbox/torch = {gt / tt:.2f}x (target >= 2x)"
          f"  | loss step 1 {lt[0]:.4f} -> step {len(lt)} torch {lt[-1]:.4f} glassbox {lg[-1]:.4f},"
          f" max relative difference over {len(lt)} steps {rel:.2e}")
PY
