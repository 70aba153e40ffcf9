#!/usr/bin/env bash
# Fetches the Node packages the server's tests and benchmarks use into
# third_party/node/ (gitignored): the official `openai` client (a real client
# for tests/server/openai_client.mjs), `autocannon` (bench/serve_load.sh and
# its short ctest variant) and `puppeteer-core` (driving Debian's chromium in
# the explorer page's test), from the npm registry.
#
# Idempotent and quiet: exits 0 at once when the pinned versions are there.
# Without npm it says so and exits 0: the tests that need these skip.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/third_party/node"
# Pinned for Node 20 (Debian / nodesource): openai 7 and puppeteer-core 25 need Node 22.
PACKAGES=(openai@6.30.1 autocannon@9.0.0 puppeteer-core@24.40.0)
STAMP="$DEST/VERSIONS"

have_all() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "${PACKAGES[*]}" ]] || return 1
  local p
  for p in "${PACKAGES[@]}"; do [[ -f "$DEST/node_modules/${p%@*}/package.json" ]] || return 1; done
}

if have_all; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "fetch-node-tools: npm not found; the Node client and load tests will be skipped" >&2
  exit 0
fi

mkdir -p "$DEST"
[[ -f "$DEST/package.json" ]] || echo '{"name": "glassbox-node-tools", "private": true}' > "$DEST/package.json"
rm -f "$STAMP"
(cd "$DEST" && npm install --no-audit --no-fund --silent --save-exact "${PACKAGES[@]}" >/dev/null) || {
  echo "fetch-node-tools: npm install ${PACKAGES[*]} failed" >&2
  exit 1
}
echo "${PACKAGES[*]}" > "$STAMP"
