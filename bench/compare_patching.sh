#!/usr/bin/env bash
# Patching benchmark: glassbox vs TransformerLens-style PyTorch
# (bench/reference_patching.py) on a random-weight GPT-2-small (124M), one
# clean / corrupted prompt pair of TOKENS tokens differing in CORRUPT positions,
# side by side, A/B alternated (the order flips every run), medians over RUNS.
#  - act:  activation patching of hook_resid_pre by layer x position
#          (get_act_patch_resid_pre: 12 x TOKENS cells). glassbox starts each
#          patched run at the patched layer and position, runs a layer's cells
#          as the rows of a few batches, unembeds only the metric's logits and
#          skips cells whose patch changes nothing (positions before the
#          corrupted one); the reference runs a full forward per cell, as
#          TransformerLens does.
#  - act_noreuse (glassbox only): every cell a full forward, so
#          act_noreuse / act is the speed-up of reusing the unaffected prefix.
#  - attr: attribution patching of hook_resid_pre, hook_attn_out, hook_mlp_out
#          (one clean forward, one corrupted forward + backward).
# Prints each JSON line, then the ratios torch/glassbox, and checks that both
# sides' grid checksums (sum of every value: same weights, same tokens) agree.
# At the default size the reference's act sweep is 770 GPT-2-small forwards of
# 64 tokens: minutes per run.
#   bench/compare_patching.sh [TOKENS=64] [THREADS=2] [RUNS=3]
#   env: CORRUPT=1 REPEAT=1 REF_ARGS="" (e.g. REF_ARGS="--logits last" to unembed
#        only the last position on the torch side, as glassbox does)
#        GB_ARGS="" (glassbox act, e.g. "--no-skip" to run cells whose patch
#        changes nothing, "--batch-overhead 100000" for one batch per layer)
# Needs: scripts/install-deps.sh --reference (python3-torch), a built tree (build/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GLASSBOX_BUILD_DIR:-$ROOT/build}"
TOKENS="${1:-64}" THREADS="${2:-2}" RUNS="${3:-3}"
CORRUPT="${CORRUPT:-1}" REPEAT="${REPEAT:-1}" REF_ARGS="${REF_ARGS:-}" GB_ARGS="${GB_ARGS:-}"
MODEL="$ROOT/out/bench/gpt2-small"
[[ -s "$MODEL/model.safetensors" ]] || /usr/bin/python3 "$ROOT/bench/make_gpt2_small.py" "$MODEL" >&2
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

run_one() {  # impl mode
  local args=(--model "$MODEL" --tokens "$TOKENS" --mode "$2" --corrupt "$CORRUPT" --threads "$THREADS" --repeat "$REPEAT")
  if [[ $1 == glassbox ]]; then
    # shellcheck disable=SC2086  # GB_ARGS is a list of flags
    if [[ $2 == act ]]; then "$BUILD/bench/bench_patching" "${args[@]}" $GB_ARGS
    else "$BUILD/bench/bench_patching" "${args[@]}"; fi
  else
    # shellcheck disable=SC2086  # REF_ARGS is a list of flags
    /usr/bin/python3 "$ROOT/bench/reference_patching.py" "${args[@]}" $REF_ARGS
  fi | tee -a "$OUT/$1.$2.jsonl"
}

for ((r = 1; r <= RUNS; ++r)); do
  for mode in act attr; do
    if ((r % 2)); then run_one glassbox "$mode"; run_one torch "$mode"
    else run_one torch "$mode"; run_one glassbox "$mode"; fi
  done
  run_one glassbox act_noreuse
done

/usr/bin/python3 - "$OUT" <<'EOF'
import json, statistics, sys
d = sys.argv[1]
def rows(impl, mode):
    with open(f"{d}/{impl}.{mode}.jsonl") as f:
        return [json.loads(l) for l in f if l.strip()]
def med(impl, mode, key):
    return statistics.median(r[key] for r in rows(impl, mode))
g, t = "glassbox", "torch"
n = len(rows(g, "act"))
print(f"--- medians of {n} runs")
for mode in ("act", "attr"):
    gs, ts = med(g, mode, "seconds"), med(t, mode, "seconds")
    print(f"{mode:5s} seconds: glassbox {gs:.3f}  torch {ts:.3f}  torch/glassbox = {ts / gs:.2f}x"
          f"   forward runs glassbox {med(g, mode, 'forward_runs'):.0f} torch {med(t, mode, 'forward_runs'):.0f}"
          f"   peak RSS MB glassbox {med(g, mode, 'peak_rss_mb'):.0f} torch {med(t, mode, 'peak_rss_mb'):.0f}")
a, nr = med(g, "act", "seconds"), med(g, "act_noreuse", "seconds")
print(f"glassbox prefix reuse: act_noreuse {nr:.3f}s / act {a:.3f}s = {nr / a:.2f}x"
      f"   (torch act / glassbox act_noreuse = {med(t, 'act', 'seconds') / nr:.2f}x)")
ok = True
for gm, tm in (("act", "act"), ("act_noreuse", "act"), ("attr", "attr")):
    G, T = rows(g, gm)[-1], rows(t, tm)[-1]
    diff = abs(G["checksum"] - T["checksum"])
    rel = diff / max(abs(G["checksum"]), abs(T["checksum"]), 1e-30)
    # a sum can cancel: also accept a difference small against the sum of |values|
    good = rel < 1e-3 or diff < 1e-4 * T["abs_sum"]
    ok &= good
    print(f"check {gm:11s} checksum glassbox {G['checksum']:.6f} torch {T['checksum']:.6f}  rel diff {rel:.1e}"
          f"  {'ok' if good else 'MISMATCH'}")
sys.exit(0 if ok else 1)
EOF
