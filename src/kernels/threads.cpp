// One thread count for both pools: OpenMP runs the hand-written kernels,
// OpenBLAS (pthreads build) its GEMMs; left unset, each would size itself to
// the machine and the two pools would oversubscribe the cores between them.
#include <cblas.h>
#include <omp.h>
#include <unistd.h>

#include <cstdlib>

#include "glassbox/threads.h"

namespace glassbox {

void ensure_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  // OpenBLAS's own (pthread) workers spin on sched_yield for 2^28 cycles
  // after each GEMM by default, through our OpenMP norm / softmax / attention
  // loops; 2^4 puts them to sleep at once. On 2 cores: GPT-2-small forward
  // 0.76x the time, the tour 0.84x the time and half the CPU.
  setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
  execv("/proc/self/exe", argv);
}

void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace glassbox
