// One thread count for both pools: OpenMP runs the hand-written kernels,
// OpenBLAS (pthreads build) its GEMMs; left unset, each would size itself to
// the machine and the two pools would oversubscribe the cores between them.
#include <cblas.h>
#include <omp.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "glassbox/threads.h"
#include "kernels/detail.h"

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

namespace {

// OpenBLAS's count has one owner: what set_num_threads() asked for (0: not
// asked; OpenBLAS's own until then), applied unless a BlasOnCallerThread
// holds it at 1, in which case the last one out applies it.
struct BlasThreads {
  std::mutex mutex;
  int wanted = 0;
  int single_depth = 0;
};

BlasThreads& blas_threads() {
  static BlasThreads b;
  return b;
}

}  // namespace

void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  BlasThreads& b = blas_threads();
  const std::lock_guard<std::mutex> lock(b.mutex);
  b.wanted = n;
  if (b.single_depth == 0) openblas_set_num_threads(n);
}

namespace kernels::detail {

BlasOnCallerThread::BlasOnCallerThread() {
  BlasThreads& b = blas_threads();
  const std::lock_guard<std::mutex> lock(b.mutex);
  if (b.single_depth++ > 0) return;
  if (b.wanted == 0) b.wanted = openblas_get_num_threads();
  openblas_set_num_threads(1);
}

BlasOnCallerThread::~BlasOnCallerThread() {
  BlasThreads& b = blas_threads();
  const std::lock_guard<std::mutex> lock(b.mutex);
  if (--b.single_depth == 0) openblas_set_num_threads(b.wanted);
}

}  // namespace kernels::detail

int num_threads() { return omp_get_max_threads(); }

}  // namespace glassbox
