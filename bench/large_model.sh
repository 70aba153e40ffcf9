#!/usr/bin/env bash
# The large-model path: a random-weight model with Llama-3-8B's shapes (32
# layers, d_model 4096, 32 heads / 8 KV heads, d_mlp 14336, vocab 128256,
# RoPE theta 500000) written by `glassbox convert --random llama3-8b` straight
# to a Q4_K_M GGUF (~4.9 GB, random blocks, nothing full-precision), then,
# each step a fresh process under /usr/bin/time -v (wall time, peak RSS):
#   write    glassbox convert --random llama3-8b
#   load     glassbox info (open, tokenizer, weight views; pages not yet read)
#   cache    one forward on a short prompt, caching blocks.{0,15,31}.hook_resid_post
#   patch    activation patching, resid_pre x position x the last 3 layers, on a token pair
#   generate greedy tokens with a steering vector added at blocks.15.hook_resid_post,
#            and the same without it (the steering must change the continuation)
#   llama    llama.cpp's llama-bench -p 64 on the same file (when built)
# Peak RSS is compared with the file size (issue 18: <= 1.1x). The file is
# deleted at the end. Not a ctest: minutes, 5 GB of disk.
#
#   bench/large_model.sh [THREADS=2] [NEW_TOKENS=2]
# GLASSBOX_LARGE_SPEC (default llama3-8b) takes convert --random's overrides,
# e.g. "llama3-8b,layers=2,d_model=256,heads=4,kv_heads=2,d_mlp=512,vocab=1024"
# for a seconds-long run of the script itself. GLASSBOX_LARGE_STEPS (default
# "write load cache patch generate steer llama") runs some steps only; without
# "write" the file from an earlier run is reused, and kept.
# GLASSBOX_BUILD_DIR (default build/) holds the glassbox binary; outputs go to
# GLASSBOX_LARGE_DIR (default out/bench/large-model): large_model.json + logs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GLASSBOX_BUILD_DIR:-$ROOT/build}"
THREADS="${1:-2}" NEW="${2:-2}"
PY=/usr/bin/python3
GB="$BUILD/glassbox"
OUT="${GLASSBOX_LARGE_DIR:-$ROOT/out/bench/large-model}"
LLAMA_BIN="${GLASSBOX_LLAMA_CPP:-$ROOT/out/llama.cpp/build/bin}"
[[ -x "$LLAMA_BIN/llama-bench" ]] || LLAMA_BIN="$LLAMA_BIN/bin"
mkdir -p "$OUT"
SPEC="${GLASSBOX_LARGE_SPEC:-llama3-8b}"
D_MODEL=$(sed -n 's/.*d_model=\([0-9]*\).*/\1/p' <<<"$SPEC"); D_MODEL="${D_MODEL:-4096}"
LAST=$(sed -n 's/.*layers=\([0-9]*\).*/\1/p' <<<"$SPEC"); LAST=$(( ${LAST:-32} - 1 ))
MID=$(( (LAST + 1) / 2 - 1 ))
MODEL="$OUT/random-Q4_K_M.gguf"
STEPS=" ${GLASSBOX_LARGE_STEPS:-write load cache patch generate steer llama} "
want() { [[ "$STEPS" == *" $1 "* ]]; }
if want write; then
  trap 'rm -f "$MODEL"' EXIT
else
  [[ -s "$MODEL" ]] || { echo "large_model: no $MODEL to reuse (add 'write' to GLASSBOX_LARGE_STEPS)" >&2; exit 1; }
fi
avail_gb=$(df -Pk "$OUT" | awk 'NR==2 {print int($4 / 1048576)}')
! want write || ((avail_gb >= 7)) || { echo "large_model: $avail_gb GB free under $OUT, need 7" >&2; exit 1; }

RES="$OUT/steps.txt"
if want write; then : >"$RES"; fi
step() {  # NAME CMD... : runs it under time -v, appends "NAME wall_s peak_kb"
  local name="$1"; shift
  want "$name" || return 0
  echo "== $name: $*" >&2
  /usr/bin/time -v -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" ||
    { echo "large_model: step $name failed:" >&2; tail -n 20 "$OUT/$name.err" >&2; exit 1; }
  $PY - "$name" "$OUT/$name.time" >>"$RES" <<'PYEOF'
import sys
name, path = sys.argv[1], sys.argv[2]
wall = rss = None
for line in open(path):
    line = line.strip()
    if line.startswith("Elapsed (wall clock) time"):
        parts = [float(p) for p in line.rsplit(" ", 1)[1].split(":")]
        wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    elif line.startswith("Maximum resident set size"):
        rss = int(line.rsplit(" ", 1)[1])
print(name, wall, rss)
PYEOF
}

step write "$GB" convert --random "$SPEC" "$MODEL"
step load "$GB" --threads "$THREADS" info -m "$MODEL"
step cache "$GB" --threads "$THREADS" cache -m "$MODEL" "The quick brown fox jumps over the lazy dog" \
  --names "blocks.0.hook_resid_post,blocks.$MID.hook_resid_post,blocks.$LAST.hook_resid_post" -o "$OUT/cache.safetensors"
# Token ids (below every vocabulary size the spec allows), so the pair has
# equal lengths whatever the synthetic vocabulary makes of text.
step patch "$GB" --threads "$THREADS" patch -m "$MODEL" --clean-tokens 291,306,415,333,598,374 \
  --corrupt-tokens 291,306,415,333,704,374 --answer '#366' --wrong '#478' --sites resid_pre --first-layer $((LAST - 2)) --json
want steer && $PY - "$OUT/steer.json" "$D_MODEL" "blocks.$MID.hook_resid_post" <<'PYEOF'
import json, math, random, sys
random.seed(0)
v = [random.gauss(0, 1) for _ in range(int(sys.argv[2]))]
n = math.sqrt(sum(x * x for x in v))
# A unit direction at 8x the residual stream's typical per-position norm (~30 here).
json.dump([{"type": "add_vector", "hook": sys.argv[3], "vector": [x / n for x in v], "alpha": 250.0}],
          open(sys.argv[1], "w"))
PYEOF
PROMPT="Once upon a time"
step generate "$GB" --threads "$THREADS" generate -m "$MODEL" "$PROMPT" -n "$NEW" --greedy --ignore-eos --json
step steer "$GB" --threads "$THREADS" generate -m "$MODEL" "$PROMPT" -n "$NEW" --greedy --ignore-eos --json \
  --intervene "$OUT/steer.json"
if [[ -x "$LLAMA_BIN/llama-bench" ]]; then
  step llama "$LLAMA_BIN/llama-bench" -m "$MODEL" -p 64 -n 0 -t "$THREADS" -r 1 -o json
fi

$PY - "$RES" "$OUT" "$(stat -c %s "$MODEL")" "$THREADS" "$(uptime)" <<'PYEOF'
import json, os, sys
res, out, size, threads, load = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
steps = {}
for line in open(res):
    name, wall, rss = line.split()
    steps[name] = {"wall_s": round(float(wall), 1), "peak_rss_mb": round(int(rss) / 1024),
                   "peak_rss_over_file": round(int(rss) * 1024 / size, 3)}
def js(name):
    try:
        return json.load(open(os.path.join(out, name + ".out")))
    except Exception:
        return None
gen, steer, patch, llama = js("generate"), js("steer"), js("patch"), js("llama")
r = {"spec": os.environ.get("GLASSBOX_LARGE_SPEC", "llama3-8b"), "file_bytes": size, "threads": threads, "load_at_start": load.strip(), "steps": steps}
if gen and steer:
    r["unsteered"], r["steered"] = gen["tokens"], steer["tokens"]
    r["steering_changed_output"] = r["unsteered"] != r["steered"]
if patch:
    g = patch["grids"][0]
    r["patch"] = {k: g.get(k) for k in ("hook", "first_layer", "n_layers", "n_cols", "clean", "corrupt", "forward_runs")}
if llama:
    j = llama[0]
    r["llama_bench_pp64_tok_s"] = round(j["avg_ts"], 2)
json.dump(r, open(os.path.join(out, "large_model.json"), "w"), indent=1)
print(json.dumps(r, indent=1))
PYEOF
