#!/usr/bin/env bash
# Quantised GGUF files side by side: glassbox (weights kept quantised in
# memory, matmuls over dequantised tiles; and, for reference, the same file
# dequantised to F32 at load) vs llama.cpp on the SAME files: prompt
# processing 1 x 512 tokens and peak resident memory.
# The files are bench/make_llama_small.py's model (out/bench/llama-small.gguf,
# F32, made by compare_llama.sh) quantised by llama.cpp's own llama-quantize
# to Q4_K_M and Q8_0 (cached under GLASSBOX_QUANT_DIR, default out/bench/quant,
# with the results as compare_quant-<OpenBLAS core type>.json).
#   glassbox:  bench_forward --tokens 512 --logits last (median of passes after a warm-up;
#              --dequantize for the F32 reference)
#   llama.cpp: llama-bench -p 512 -n 0 (median of its repetitions)
# Peak memory: glassbox's VmHWM; llama-bench's max RSS from /usr/bin/time.
# The tools alternate RUNS times each; figures are medians. The table's header
# names the OpenBLAS kernels glassbox ran with (OPENBLAS_CORETYPE, or the
# CPU's own when unset: `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
# bench/compare_quant.sh`) and the load average at the start and the end.
#
#   bench/compare_quant.sh [THREADS=2] [RUNS=3]
# Needs GLASSBOX_BUILD_DIR (default build/) with bench_forward, and llama.cpp
# (GLASSBOX_LLAMA_CPP, default out/llama.cpp/build/bin; scripts/build-llama-cpp.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GLASSBOX_BUILD_DIR:-$ROOT/build}"
THREADS="${1:-2}" RUNS="${2:-3}" REPEAT=3 TOKENS=512
PY=/usr/bin/python3
LLAMA_BIN="${GLASSBOX_LLAMA_CPP:-$ROOT/out/llama.cpp/build/bin}"
[[ -x "$LLAMA_BIN/llama-quantize" ]] || LLAMA_BIN="$("$ROOT/scripts/build-llama-cpp.sh" | tail -n1)"
SRC="$ROOT/out/bench/llama-small.gguf"
[[ -s "$SRC" ]] || { echo "compare_quant: $SRC is missing (run bench/compare_llama.sh once)" >&2; exit 1; }
Q="${GLASSBOX_QUANT_DIR:-$ROOT/out/bench/quant}"
mkdir -p "$Q"
for t in Q4_K_M Q8_0; do
  [[ -s "$Q/llama-small-$t.gguf" ]] || "$LLAMA_BIN/llama-quantize" "$SRC" "$Q/llama-small-$t.gguf" "$t" "$THREADS" >"$Q/quantize-$t.log" 2>&1
done

glassbox_run() {  # GGUF [--dequantize] -> "tok/s peak_MB"
  "$BUILD/bench/bench_forward" --model "$1" --tokens "$TOKENS" --mode plain --logits last \
    --threads "$THREADS" --repeat "$REPEAT" ${2:-} |
    $PY -c 'import json,sys; j=json.loads(sys.stdin.read()); print(j["tokens"]/j["seconds"], j["peak_rss_mb"])'
}
llama_run() {  # GGUF -> "tok/s peak_MB"
  local tf; tf="$(mktemp)"
  /usr/bin/time -f "%M" -o "$tf" "$LLAMA_BIN/llama-bench" -m "$1" -p "$TOKENS" -n 0 -t "$THREADS" -r "$REPEAT" -o json 2>/dev/null |
    $PY -c 'import json,sys,statistics as s; j=json.load(sys.stdin)[0]; print(1e9*j["n_prompt"]/s.median(j["samples_ns"]), end=" ")'
  echo "$(( $(tail -n1 "$tf") / 1024 ))"
  rm -f "$tf"
}

RAW="$(mktemp)"
trap 'rm -f "$RAW"' EXIT
LOAD_START="$(cut -d' ' -f1 /proc/loadavg)"
for t in Q4_K_M Q8_0; do
  f="$Q/llama-small-$t.gguf"
  for ((r = 0; r < RUNS; ++r)); do  # alternated, so drifts in machine load hit all three
    echo "$t $(stat -c %s "$f") kept $(glassbox_run "$f")" >>"$RAW"
    echo "$t $(stat -c %s "$f") f32 $(glassbox_run "$f" --dequantize)" >>"$RAW"
    echo "$t $(stat -c %s "$f") llama $(llama_run "$f")" >>"$RAW"
  done
done
$PY - "$RAW" "$Q/compare_quant-${OPENBLAS_CORETYPE:-native}.json" "$THREADS" "$RUNS" "${OPENBLAS_CORETYPE:-native}" "$LOAD_START" \
  "$(cut -d' ' -f1 /proc/loadavg)" <<'PYEOF'
import json, os, statistics, sys
raw, out, threads, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
coretype, load = sys.argv[5], f"{sys.argv[6]} -> {sys.argv[7]}"
print(f"OpenBLAS kernels: {coretype}; load average {load}; {threads} threads, {runs} runs")
d = {}
for line in open(raw):
    t, size, impl, tps, mb = line.split()
    d.setdefault((t, int(size)), {}).setdefault(impl, []).append((float(tps), float(mb)))
rows = []
print(f"{'file':8} {'MB':>6} {'kept tok/s':>10} {'f32 tok/s':>10} {'llama tok/s':>11} {'kept/llama':>10} "
      f"{'kept peak MB':>12} {'f32 peak MB':>11} {'llama peak MB':>13}")
for (t, size), v in d.items():
    med = {k: (statistics.median(x[0] for x in r), max(x[1] for x in r)) for k, r in v.items()}
    row = {"file": t, "file_mb": round(size / 2**20, 1), "threads": threads, "runs": runs, "tokens": 512,
           "glassbox_kept_tok_s": round(med["kept"][0], 1), "glassbox_f32_tok_s": round(med["f32"][0], 1),
           "llama_cpp_tok_s": round(med["llama"][0], 1), "ratio_kept_llama": round(med["kept"][0] / med["llama"][0], 3),
           "glassbox_kept_peak_mb": med["kept"][1], "glassbox_f32_peak_mb": med["f32"][1], "llama_cpp_peak_mb": med["llama"][1],
           "openblas_coretype": coretype, "load_average": load}
    rows.append(row)
    print(f"{t:8} {row['file_mb']:6.0f} {row['glassbox_kept_tok_s']:10.0f} {row['glassbox_f32_tok_s']:10.0f} "
          f"{row['llama_cpp_tok_s']:11.0f} {row['ratio_kept_llama']:9.2f}x {row['glassbox_kept_peak_mb']:12.0f} "
          f"{row['glassbox_f32_peak_mb']:11.0f} {row['llama_cpp_peak_mb']:13.0f}")
with open(out + ".tmp", "w") as f:
    json.dump(rows, f, indent=1)
    f.write("\n")
os.replace(out + ".tmp", out)
PYEOF
