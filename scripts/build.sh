#!/usr/bin/env bash
# Configures and builds glassbox (Release, -O3 -march=native) into build/.
# Extra arguments go to CMake's configure step, e.g. -DGLASSBOX_NATIVE=OFF.
# GLASSBOX_BUILD_TARGET builds one target (and what it needs) instead of all.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GLASSBOX_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/fetch-web-assets.sh"  # vega JS inlined into HTML reports
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target "${GLASSBOX_BUILD_TARGET:-all}"
