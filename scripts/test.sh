#!/usr/bin/env bash
# The whole test suite: install dependencies, fetch external test data, build, run ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/fetch-test-data.sh"
"$ROOT/scripts/zoo-data.sh"
"$ROOT/scripts/label-data.sh"
"$ROOT/scripts/build.sh"
cd "${GLASSBOX_BUILD_DIR:-$ROOT/build}"
ctest --output-on-failure -j"$(nproc)" --timeout 600
