#!/usr/bin/env bash
# Fetches the JavaScript that HTML reports inline (so a report opens offline)
# into third_party/web/ (gitignored): the minified browser builds of
# vega, vega-lite and vega-embed, from the npm registry.
#
# Idempotent and quiet: exits 0 at once when everything is already present.
# The report library looks here unless GLASSBOX_WEB_ASSETS points elsewhere.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/third_party/web"
# Pinned: vega-embed@6 wants vega@5 and vega-lite@5; bump together.
PACKAGES=(vega@5.33.1 vega-lite@5.23.0 vega-embed@6.29.0)
FILES=(vega.min.js vega-lite.min.js vega-embed.min.js)
STAMP="$DEST/VERSIONS"

have_all() {
  local f
  for f in "${FILES[@]}"; do [[ -s "$DEST/$f" ]] || return 1; done
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "${PACKAGES[*]}" ]]
}

if have_all; then
  exit 0
fi

for tool in npm tar; do
  command -v "$tool" >/dev/null || { echo "fetch-web-assets: '$tool' is required" >&2; exit 1; }
done

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$DEST"

for i in "${!PACKAGES[@]}"; do
  pkg="${PACKAGES[$i]}" file="${FILES[$i]}"
  tgz="$(cd "$TMP" && npm pack "$pkg" --silent 2>/dev/null | tail -n1)"
  [[ -n "$tgz" && -f "$TMP/$tgz" ]] || { echo "fetch-web-assets: npm pack $pkg failed" >&2; exit 1; }
  mkdir -p "$TMP/$i"
  tar -xzf "$TMP/$tgz" -C "$TMP/$i" "package/build/$file"
  # Copy then rename, so an interrupted run never leaves a truncated file.
  cp "$TMP/$i/package/build/$file" "$DEST/$file.tmp"
  mv "$DEST/$file.tmp" "$DEST/$file"
done
echo "${PACKAGES[*]}" > "$STAMP"
