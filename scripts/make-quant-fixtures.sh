#!/usr/bin/env bash
# Regenerates tests/data/quant: golden blocks written by llama.cpp's own
# llama-quantize (every type with --pure, and the Q4_K_M / Q5_K_M mixtures)
# and their dequantisation by `llama-quantize --allow-requantize ... F32`.
# The work is done by the QuantGolden.Regenerate test (tests/io/quant_golden_test.cpp):
# it writes a small random F32 llama GGUF with glassbox's GGUF writer, runs
# llama-quantize on it, checks glassbox's dequantisation of the whole files
# bit for bit against llama.cpp's, and rewrites the fixtures. llama.cpp is
# built from the npm node-llama-cpp snapshot by scripts/build-llama-cpp.sh.
#
#   scripts/make-quant-fixtures.sh [BUILD_DIR]   (default build-dev, else build)
# Env: GLASSBOX_LLAMA_CPP = llama.cpp's bin dir (default: build it under out/llama.cpp).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-}"
if [[ -z "$BUILD" ]]; then
  BUILD="$ROOT/build-dev"
  [[ -d "$BUILD" ]] || BUILD="$ROOT/build"
fi
BIN="${GLASSBOX_LLAMA_CPP:-}"
[[ -n "$BIN" && -x "$BIN/llama-quantize" ]] || BIN="$("$ROOT/scripts/build-llama-cpp.sh" | tail -n1)"
cmake --build "$BUILD" --target test_io -j"${JOBS:-2}" >/dev/null
GLASSBOX_LLAMA_CPP="$BIN" "$BUILD/tests/test_io" --gtest_filter='QuantGolden.*'
du -ch "$ROOT/tests/data/quant"/*.gguf | tail -n1
