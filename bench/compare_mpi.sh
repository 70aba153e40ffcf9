#!/usr/bin/env bash
# Data parallelism 1 -> N ranks (mpirun), side by side in one run, for
# `glassbox harvest` and `glassbox sae train`: wall time, CPU time (user +
# sys of every rank) and the speed-up, each configuration run REPEAT times
# in alternation (the best time of each is reported: on a loaded machine the
# others measure the neighbours). Each rank runs one OpenMP thread, so the
# comparison is process parallelism alone. Model: tiny-lm (d_model 128),
# random token ids; SAE: topk k=32, 16x (2048 latents), 4096 tokens a step.
#   bench/compare_mpi.sh [TOKENS=300000] [RANKS=2] [REPEAT=2] [SAE_TOKENS=409600]
# Needs a tree built with MPI (build/, or GLASSBOX_BUILD_DIR) and mpirun.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GLASSBOX_BUILD_DIR:-$ROOT/build}"
TOKENS="${1:-300000}" RANKS="${2:-2}" REPEAT="${3:-2}" SAE_TOKENS="${4:-409600}"
GB="$BUILD/glassbox"
OUT="$ROOT/out/bench/mpi"
rm -rf "$OUT" && mkdir -p "$OUT"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
export OMPI_MCA_btl_vader_single_copy_mechanism=none
/usr/bin/python3 - "$OUT/tokens.bin" "$TOKENS" <<'PY'
import random, struct, sys
random.seed(1)
n = int(sys.argv[2])
open(sys.argv[1], "wb").write(struct.pack(f"<{n}H", *(random.randrange(2048) for _ in range(n))))
PY

# run NAME RANKS CMD...: one timed run; prints "wall cpu" seconds.
run() {
  local ranks=$1; shift
  local launcher=()
  ((ranks > 1)) && launcher=(mpirun -np "$ranks" --oversubscribe --bind-to none)
  /usr/bin/time -f "%e %U %S" -o "$OUT/time" "${launcher[@]}" "$GB" --threads 1 "$@" >/dev/null 2>"$OUT/err" ||
    { cat "$OUT/err" >&2; exit 1; }
  awk '{printf "%.2f %.2f\n", $1, $2 + $3}' "$OUT/time"
}

harvest() { run "$1" harvest --model "$ROOT/models/tiny-lm" --hooks blocks.2.hook_resid_post --tokens "$OUT/tokens.bin" \
  --context 128 --batch 8 --dtype f32 --shard-tokens 16384 --quiet --out "$OUT/harvest-$1-$2"; }
sae() { run "$1" sae train --harvest "$OUT/harvest-1-0" --hook blocks.2.hook_resid_post --arch topk --k 32 \
  --expansion 16 --batch 4096 --tokens "$SAE_TOKENS" --shuffle-rows 0 --no-resume --out "$OUT/sae-$1-$2"; }

declare -A best_wall best_cpu
for job in harvest sae; do
  for ((i = 0; i < REPEAT; ++i)); do
    for n in 1 "$RANKS"; do
      read -r wall cpu < <($job "$n" "$i")
      key="$job-$n"
      if [[ -z "${best_wall[$key]:-}" ]] || awk "BEGIN{exit !($wall < ${best_wall[$key]})}"; then
        best_wall[$key]=$wall best_cpu[$key]=$cpu
      fi
    done
  done
done
printf "%-8s %5s %9s %9s %9s\n" job ranks wall_s cpu_s speedup
for job in harvest sae; do
  for n in 1 "$RANKS"; do
    printf "%-8s %5d %9.2f %9.2f %9.2f\n" "$job" "$n" "${best_wall[$job-$n]}" "${best_cpu[$job-$n]}" \
      "$(awk "BEGIN{print ${best_wall[$job-1]} / ${best_wall[$job-$n]}}")"
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
