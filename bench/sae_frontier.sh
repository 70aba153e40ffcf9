#!/usr/bin/env bash
# The L0 - CE-loss-recovered frontier of every SAE type on tiny-lm (issue 11,
# ground truth): each architecture at several sparsities, trained on
# blocks.2.hook_resid_post streamed live over the fortunes tiny-lm learned
# from (all files but `wisdom`), evaluated on `wisdom` (text no SAE saw) by
# splicing the reconstruction into the forward pass (glassbox sae eval).
#
#   bench/sae_frontier.sh [OUT]    (default out/sae-frontier; ~10 min on 2 cores)
#
# Writes OUT/<arch>-<setting>/ (SAELens directories), OUT/frontier.json and
# OUT/frontier.md (the table in the README). Environment: GLASSBOX (the
# binary, default build-dev/glassbox), TOKENS (training tokens per SAE,
# default 300K), EVAL_TOKENS (held-out tokens, default 16384).
set -euo pipefail
cd "$(dirname "$0")/.."
GB=${GLASSBOX:-build-dev/glassbox}
OUT=${1:-out/sae-frontier}
TOKENS=${TOKENS:-300K}
EVAL_TOKENS=${EVAL_TOKENS:-16384}
MODEL=models/tiny-lm
HOOK=blocks.2.hook_resid_post
FORTUNES=data/zoo-src/fortunes
HELDOUT=$FORTUNES/wisdom
mkdir -p "$OUT"
TRAIN_TEXT=$OUT/train.txt
ls "$FORTUNES" | grep -vx wisdom | sed "s|^|$FORTUNES/|" | xargs cat > "$TRAIN_TEXT"

# arch, name, flags: 3 sparsities per architecture (JumpReLU starts at threshold 0.1 on
# normalised inputs: its log-threshold moves ~lr per step, too little from 1e-3 in 300 steps).
RUNS=(
  "topk k8 --k 8"
  "topk k16 --k 16"
  "topk k32 --k 32"
  "batchtopk k8 --k 8"
  "batchtopk k16 --k 16"
  "batchtopk k32 --k 32"
  "relu l1-0.5 --l1 0.5 --normalize"
  "relu l1-2 --l1 2 --normalize"
  "relu l1-5 --l1 5 --normalize"
  "jumprelu l0-0.01 --l0 0.01 --threshold-init 0.1 --bandwidth 0.05 --normalize"
  "jumprelu l0-0.1 --l0 0.1 --threshold-init 0.1 --bandwidth 0.05 --normalize"
  "jumprelu l0-1 --l0 1 --threshold-init 0.1 --bandwidth 0.05 --normalize"
)
echo "[" > "$OUT/frontier.json.tmp"
first=1
for run in "${RUNS[@]}"; do
  read -r arch name flags <<< "$run"
  dir=$OUT/$arch-$name
  # shellcheck disable=SC2086
  "$GB" sae train --model "$MODEL" --hook "$HOOK" --corpus "$TRAIN_TEXT" --arch "$arch" $flags \
    --expansion 16 --tokens "$TOKENS" --batch 1024 --lr 2e-3 --warmup-steps 20 --decay cosine \
    --min-lr-ratio 0.1 --shuffle-rows 32768 --out "$dir" --no-resume > /dev/null
  "$GB" sae eval "$dir" --model "$MODEL" --corpus "$HELDOUT" --max-tokens "$EVAL_TOKENS" --json > "$dir/eval.json"
  [ $first = 1 ] || echo "," >> "$OUT/frontier.json.tmp"
  first=0
  python3 - "$arch" "$name" "$dir/eval.json" >> "$OUT/frontier.json.tmp" <<'EOF'
import json, sys
arch, name, path = sys.argv[1:]
e = json.load(open(path))
s = e["splice"]
print(json.dumps({"arch": arch, "setting": name, "dir": path.rsplit("/", 1)[0], "l0": e["l0"],
                  "explained_variance": e["explained_variance"], "dead_fraction": e["dead_fraction"],
                  "ce_loss_recovered": s["ce_loss_recovered"], "kl": s["kl_spliced"],
                  "ce_clean": s["ce_clean"], "ce_spliced": s["ce_spliced"], "ce_ablated": s["ce_ablated"]}))
EOF
  echo "$arch $name done" >&2
done
echo "]" >> "$OUT/frontier.json.tmp"
mv "$OUT/frontier.json.tmp" "$OUT/frontier.json"
python3 - "$OUT/frontier.json" > "$OUT/frontier.md" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
print("| SAE | setting | L0 | CE loss recovered | KL (nats) | explained variance | dead |")
print("|---|---|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['arch']} | {r['setting']} | {r['l0']:.1f} | {r['ce_loss_recovered']:.3f} | {r['kl']:.3f} | "
          f"{r['explained_variance']:.3f} | {100 * r['dead_fraction']:.1f}% |")
EOF
cat "$OUT/frontier.md"
