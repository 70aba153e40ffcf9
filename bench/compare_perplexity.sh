#!/usr/bin/env bash
# Perplexity of glassbox and llama.cpp's llama-perplexity on the SAME GGUF
# files (issue 18 item 4), with llama-perplexity's protocol on both sides:
# the text tokenized once, disjoint chunks of N_CTX tokens (BOS at each
# chunk's start when the vocabulary adds one), the second half of each chunk
# scored (`glassbox run --text-file T --llama-ctx N_CTX --chunks CHUNKS`).
#
# Files: bench/make_llama_small.py's random-weight Llama (out/bench/llama-small.gguf,
# made by compare_llama.sh; d_model 768 and ffn 2048 are multiples of 256, as
# K-quants need) as F32 and quantised by llama-quantize to Q8_0, Q6_K and
# Q4_K_M; and the trained tiny-lm organism (GPT-2 layout, real text) as F32 and
# Q8_0 (its 128-wide rows admit no K-quant). Per file:
#   glassbox       on the file (quantised weights kept quantised for llama; gpt2 loads F32)
#   llama F32      llama-perplexity on the file dequantised by `llama-quantize
#                  --allow-requantize FILE OUT F32`: the same weights in float arithmetic;
#                  |glassbox - llama F32| must stay below 2e-3 nats
#   llama native   llama-perplexity on the quantised file itself (it quantises the
#                  activations too): the difference is reported, not bounded
# Values are mean negative log-likelihoods in nats (ln PPL).
#
#   bench/compare_perplexity.sh [N_CTX=256] [CHUNKS=6] [THREADS=2] [TEXT=data/zoo-src/fortunes/computers]
# Needs GLASSBOX_BUILD_DIR (default build/) with the glassbox CLI and llama.cpp
# (GLASSBOX_LLAMA_CPP, default out/llama.cpp/build/bin; scripts/build-llama-cpp.sh).
# Files are cached under GLASSBOX_QUANT_DIR (default out/bench/quant), the table also
# as compare_perplexity.json there. Exits 1 when a file disagrees by more than 2e-3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GLASSBOX_BUILD_DIR:-$ROOT/build}"
N_CTX="${1:-256}" CHUNKS="${2:-6}" THREADS="${3:-2}" TEXT="${4:-$ROOT/data/zoo-src/fortunes/computers}"
PY=/usr/bin/python3
GB="$BUILD/glassbox"
LLAMA_BIN="${GLASSBOX_LLAMA_CPP:-$ROOT/out/llama.cpp/build/bin}"
[[ -x "$LLAMA_BIN/llama-perplexity" ]] || LLAMA_BIN="$("$ROOT/scripts/build-llama-cpp.sh" | tail -n1)"
[[ -s "$TEXT" ]] || { echo "compare_perplexity: no text file $TEXT" >&2; exit 1; }
SRC="$ROOT/out/bench/llama-small.gguf"
[[ -s "$SRC" ]] || { echo "compare_perplexity: $SRC is missing (run bench/compare_llama.sh once)" >&2; exit 1; }
Q="${GLASSBOX_QUANT_DIR:-$ROOT/out/bench/quant}"
mkdir -p "$Q"

quantize() {  # IN OUT TYPE [--allow-requantize]
  [[ -s "$2" ]] || "$LLAMA_BIN/llama-quantize" ${4:-} "$1" "$2" "$3" "$THREADS" >"$2.log" 2>&1
}
glassbox_nll() {  # GGUF N_CTX -> mean NLL
  "$GB" run -m "$1" --text-file "$TEXT" --llama-ctx "$2" --chunks "$CHUNKS" --json 2>/dev/null |
    $PY -c 'import json,sys; print(json.load(sys.stdin)["loss"])'
}
# llama.cpp logs through an asynchronous thread that can lose its last lines
# at exit: a run without the final line is repeated (up to 5 times).
llama_nll() {  # GGUF N_CTX -> ln(final PPL)
  local i v
  for i in 1 2 3 4 5; do
    v="$("$LLAMA_BIN/llama-perplexity" -m "$1" -f "$TEXT" -c "$2" -b "$2" --chunks "$CHUNKS" -t "$THREADS" 2>&1 |
      $PY -c 'import math,re,sys; m=re.search(r"Final estimate: PPL = ([0-9.]+)", sys.stdin.read()); print(math.log(float(m[1])) if m else "nan")')"
    [[ "$v" != nan ]] && break
  done
  echo "$v"
}

ROWS="$(mktemp)"
trap 'rm -f "$ROWS"' EXIT
row() {  # MODEL TYPE FILE F32_FILE N_CTX
  echo "$1 $2 $5 $(glassbox_nll "$3" "$5") $(llama_nll "$4" "$5") $(llama_nll "$3" "$5")" >>"$ROWS"
}
row llama-small F32 "$SRC" "$SRC" "$N_CTX"
for t in Q8_0 Q6_K Q4_K_M; do
  f="$Q/llama-small-$t.gguf"
  quantize "$SRC" "$f" "$t"
  quantize "$f" "$Q/llama-small-$t-f32.gguf" F32 --allow-requantize
  row llama-small "$t" "$f" "$Q/llama-small-$t-f32.gguf" "$N_CTX"
done
TINY="$Q/tiny-lm-F32.gguf"
[[ -s "$TINY" ]] || "$GB" convert "$ROOT/models/tiny-lm" "$TINY" >/dev/null
quantize "$TINY" "$Q/tiny-lm-Q8_0.gguf" Q8_0
quantize "$Q/tiny-lm-Q8_0.gguf" "$Q/tiny-lm-Q8_0-f32.gguf" F32 --allow-requantize
TINY_CTX=$((N_CTX < 128 ? N_CTX : 64))  # tiny-lm's context is 128 tokens
row tiny-lm F32 "$TINY" "$TINY" "$TINY_CTX"
row tiny-lm Q8_0 "$Q/tiny-lm-Q8_0.gguf" "$Q/tiny-lm-Q8_0-f32.gguf" "$TINY_CTX"

$PY - "$ROWS" "$Q/compare_perplexity.json" "$CHUNKS" "$(basename "$TEXT")" <<'PYEOF'
import json, os, sys
rows_file, out, chunks, text = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rows, bad = [], 0
print(f"text {text}, {chunks} chunks; mean NLL in nats (ln PPL)")
print(f"{'model':12} {'file':7} {'n_ctx':>5} {'glassbox':>10} {'llama F32':>10} {'diff':>10} {'llama native':>12} {'native-gb':>10}")
for line in open(rows_file):
    model, t, n_ctx, gb, ref, nat = line.split()
    gb, ref, nat = float(gb), float(ref), float(nat)
    d = gb - ref
    ok = abs(d) <= 2e-3
    bad += not ok
    rows.append({"model": model, "file": t, "n_ctx": int(n_ctx), "chunks": chunks, "text": text,
                 "glassbox_nll": gb, "llama_f32_nll": ref, "diff": d, "llama_native_nll": nat,
                 "native_minus_glassbox": nat - gb, "within_2e-3": ok})
    print(f"{model:12} {t:7} {n_ctx:>5} {gb:10.5f} {ref:10.5f} {d:+10.6f} {nat:12.5f} {nat - gb:+10.5f}{'' if ok else '  > 2e-3'}")
with open(out + ".tmp", "w") as f:
    json.dump(rows, f, indent=1)
    f.write("\n")
os.replace(out + ".tmp", out)
sys.exit(1 if bad else 0)
PYEOF
