#!/usr/bin/env bash
# The main job: install dependencies, build, and run the guided tour.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/zoo-data.sh"
"$ROOT/scripts/label-data.sh"
# Only the CLI: the tour needs neither the tests nor the benchmarks.
GLASSBOX_BUILD_TARGET=glassbox_cli "$ROOT/scripts/build.sh"
cd "$ROOT"
"${GLASSBOX_BUILD_DIR:-$ROOT/build}/glassbox" tour --out out/tour "$@"
