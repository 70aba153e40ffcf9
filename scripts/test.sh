#!/usr/bin/env bash
# The whole test suite: install dependencies, fetch external test data, build, run ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/fetch-test-data.sh"
"$ROOT/scripts/zoo-data.sh"
"$ROOT/scripts/label-data.sh"
"$ROOT/scripts/fetch-node-tools.sh"
"$ROOT/scripts/build.sh"
cd "${GLASSBOX_BUILD_DIR:-$ROOT/build}"
# ctest lists disabled and skipped tests after its summary; repeat the summary
# line last, so the output ends with it, and keep ctest's exit status.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
ctest --output-on-failure -j"$(nproc)" --timeout 600 "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1
exit "$rc"
