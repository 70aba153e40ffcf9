#!/usr/bin/env bash
# The test suite under sanitizers.
#   scripts/sanitize.sh asan [ctest args]   ASan + UBSan (+ LeakSanitizer) in build-asan
#   scripts/sanitize.sh tsan [ctest args]   ThreadSanitizer in build-tsan
# ctest args select tests, e.g. `-L io`, `-R Tokenizer`. SANITIZE_TARGETS
# (default "all") names what to build, e.g. "test_io test_tokenizer".
#
# build-asan uses clang when it is installed (scripts/install-deps.sh --fuzz)
# and then also holds the libFuzzer targets (scripts/fuzz.sh): one build of the
# libraries serves both. Without clang it is a gcc build with the same
# sanitizers. Both are -O1 (what the sanitizers recommend; a Release build's -O3
# triples compile time and hides nothing they find). A UBSan report aborts the
# test (-fno-sanitize-recover), so it fails rather than scrolls by.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:-}"
shift || true
case "$mode" in
  asan) dir="$ROOT/build-asan" ;;
  tsan) dir="$ROOT/build-tsan" ;;
  *) echo "usage: scripts/sanitize.sh asan|tsan [ctest args]" >&2; exit 2 ;;
esac

flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
       "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DGLASSBOX_BUILD_BENCH=OFF
       -DGLASSBOX_BUILD_PYTHON=OFF)
command -v ccache >/dev/null && flags+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [[ "$mode" == asan ]]; then
  if command -v clang++ >/dev/null; then
    flags+=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DGLASSBOX_FUZZ=ON)
  else
    flags+=(-DGLASSBOX_SANITIZE=ON)
  fi
  # Leaks are findings too; an OpenBLAS / OpenMP thread pool lives until exit.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/scripts/lsan-suppressions.txt:print_suppressions=0}"
else
  # Without MPI: OpenMPI is not built with TSan (its progress threads would be
  # reported), no code under test here talks to it, and the build then checks
  # that the one-process src/dist (no mpi.h) compiles and links.
  flags+=(-DGLASSBOX_TSAN=ON -DGLASSBOX_MPI=OFF)
  # OpenMP's barriers are invisible to TSan unless the runtime reports them:
  # clang's libomp does, through the Archer tool (libomp-dev ships it); with
  # gcc's libgomp every parallel loop would be reported as a race. OpenBLAS
  # is not built with TSan either (see the suppressions file).
  archer="$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | tail -n 1 || true)"
  if command -v clang++ >/dev/null && [[ -n "$archer" ]]; then
    flags+=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
    export OMP_TOOL_LIBRARIES="$archer"
  else
    echo "sanitize.sh: no clang + libarcher: OpenMP regions will show false races" >&2
  fi
  export TSAN_OPTIONS="${TSAN_OPTIONS:-suppressions=$ROOT/scripts/tsan-suppressions.txt:halt_on_error=0:second_deadlock_stack=1}"
fi

cmake -S "$ROOT" -B "$dir" "${flags[@]}" >/dev/null
# shellcheck disable=SC2086
CCACHE_BASEDIR="$ROOT" cmake --build "$dir" -j"${JOBS:-$(nproc)}" --target ${SANITIZE_TARGETS:-all}
cd "$dir"
# Wall-clock bounds (the tokenizer's 1 s/MB throughput check) fail under
# 2-5x instrumentation and say nothing about memory or UB: left out unless
# SANITIZE_EXCLUDE says otherwise ("" runs everything).
exclude="${SANITIZE_EXCLUDE-ThroughputOnRealText}"
run_ctest() { ctest --output-on-failure -j"${JOBS:-$(nproc)}" --timeout 1800 ${exclude:+-E "$exclude"} "$@"; }
if [[ "$mode" == tsan ]]; then
  run_ctest "$@"
  exit
fi
# OpenMPI keeps what MPI_Init allocated past MPI_Finalize, and Debian's libmpi
# has no frame pointers: with ASan's fast unwinder those leaks' stacks stop at
# "<unknown module>" and no suppression can match them. The mpi label (whose
# tests start mpirun) runs on its own with the slow unwinder, which reaches
# libmpi's frames (scripts/lsan-suppressions.txt); the rest keeps the fast one.
rc=0
run_ctest -LE '^mpi$' "$@" || rc=$?
ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" run_ctest -L '^mpi$' "$@" || rc=$?
exit "$rc"
