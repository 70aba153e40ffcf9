#!/usr/bin/env bash
# Builds llama.cpp (CPU only) for the side-by-side benchmarks in bench/.
#
#   scripts/build-llama-cpp.sh [DEST]      (default DEST = out/llama.cpp)
#
# The source is the snapshot that npm node-llama-cpp@3.22.1 ships as a git
# bundle (package/llama/gitRelease.bundle), as scripts/fetch-test-data.sh
# uses for the tokenizer vocab files: a script that builds it, not a vendored
# copy. Only the tools the benchmarks and the logits checks need are built:
#   llama-bench           prompt-processing speed, 1 x N tokens (load excluded)
#   llama-batched-bench   B x N prompts processed as one batch
#   llama-eval-callback   runs one prompt and prints every tensor, the final
#                         logits ("result_output") included; it takes the
#                         common flags, --control-vector among them, so it can
#                         serve as llama.cpp's side of a logits comparison.
#   llama-quantize        writes the golden quant blocks of tests/data/quant
#                         (scripts/make-quant-fixtures.sh) and the Q4_K_M /
#                         Q8_0 files the quantized benchmarks run on.
#   llama-perplexity      the perplexity comparison of bench/.
# Idempotent: exits at once when the binaries are already built. Prints the
# bin directory on its last line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/out/llama.cpp}"
JOBS="${JOBS:-2}"
LLAMA_NPM="node-llama-cpp@3.22.1"
TARGETS=(llama-bench llama-batched-bench llama-eval-callback llama-quantize llama-perplexity)
BIN="$DEST/build/bin"

built() {
  local t
  for t in "${TARGETS[@]}"; do [[ -x "$BIN/$t" ]] || return 1; done
}
if built; then
  echo "$BIN"
  exit 0
fi

for tool in npm git tar cmake; do
  command -v "$tool" >/dev/null || { echo "build-llama-cpp: '$tool' is required (scripts/install-deps.sh)" >&2; exit 1; }
done
mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)"
BIN="$DEST/build/bin"

if [[ ! -f "$DEST/src/CMakeLists.txt" ]]; then
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  (
    cd "$TMP"
    tgz="$(npm pack "$LLAMA_NPM" --silent 2>/dev/null | tail -n1)"
    tar -xzf "$tgz" package/llama/gitRelease.bundle
  )
  rm -rf "$DEST/src.tmp"
  git -c advice.detachedHead=false clone -q "$TMP/package/llama/gitRelease.bundle" "$DEST/src.tmp"
  mv "$DEST/src.tmp" "$DEST/src"
fi

# CPU only, tuned for this machine; no network, server or tests.
cmake -S "$DEST/src" -B "$DEST/build" -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DGGML_BLAS=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF \
  -DBUILD_SHARED_LIBS=OFF >"$DEST/cmake-configure.log" 2>&1 \
  || { tail -n 30 "$DEST/cmake-configure.log" >&2; exit 1; }
cmake --build "$DEST/build" -j"$JOBS" --target "${TARGETS[@]}" >"$DEST/cmake-build.log" 2>&1 \
  || { tail -n 30 "$DEST/cmake-build.log" >&2; exit 1; }
built || { echo "build-llama-cpp: built, but a binary is missing under $BIN" >&2; exit 1; }
echo "$BIN"
