#!/usr/bin/env bash
# Load test of `glassbox serve` on the loopback address: starts the server
# over tiny-lm-chat (with a named steering profile), runs autocannon
# (bench/serve_load.mjs) and prints throughput, p50 / p99 latency and the
# error counts, which must all be zero: no non-2xx, no connection errors or
# timeouts, no response body different from what the same request gets alone.
#
#   bench/serve_load.sh [AMOUNT (5000)] [CONNECTIONS (8)]
# GLASSBOX_BIN (default build/glassbox) picks the binary; the Node packages
# come from scripts/fetch-node-tools.sh. Exit status 77: node or autocannon missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AMOUNT="${1:-5000}"
CONNECTIONS="${2:-8}"
BIN="${GLASSBOX_BIN:-$ROOT/build/glassbox}"
if ! command -v node >/dev/null || [[ ! -d "$ROOT/third_party/node/node_modules/autocannon" ]]; then
  echo "skipped: node or autocannon missing (scripts/fetch-node-tools.sh)"
  exit 77
fi
[[ -x "$BIN" ]] || { echo "serve_load: no glassbox binary at $BIN (set GLASSBOX_BIN)" >&2; exit 1; }

TMP="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT

# The same steering profile as tests/server: add a vector at blocks.1, flag every token.
node -e 'const v = Array.from({length: 128}, (_, i) => Math.sin(1.3 * (i + 1)));
  console.log(JSON.stringify({interventions: [{type: "add_vector", hook: "blocks.1.hook_resid_post", vector: v, alpha: 3}],
                              monitors: [{name: "any", type: "entropy", threshold: 0}]}))' > "$TMP/steer.json"
# One kernel thread per request: CONNECTIONS requests share the cores.
"$BIN" serve --model "$ROOT/models/tiny-lm-chat" --port 0 --threads 1 --max-concurrent "$CONNECTIONS" \
  --profile "steer=$TMP/steer.json" > "$TMP/server.out" 2> "$TMP/server.err" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 300); do
  URL="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/server.out" || true)"
  [[ -n "$URL" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.err" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$URL" ]] || { echo "serve_load: the server did not start" >&2; exit 1; }
node "$ROOT/bench/serve_load.mjs" "$URL" "$AMOUNT" "$CONNECTIONS"
