// One thread count for both pools: OpenMP runs the hand-written kernels,
// OpenBLAS (pthreads build) its GEMMs; left unset, each would size itself to
// the machine and the two pools would oversubscribe the cores between them.
#include <cblas.h>
#include <omp.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "glassbox/threads.h"

namespace glassbox {

namespace {

// True when the CPU has the AVX-512 subsets OpenBLAS's SkylakeX kernels use
// AND the OS saves the zmm / opmask registers (XCR0 bits 1,2,5,6,7): the
// CPUID bits alone would let a kernel without AVX-512 support crash us.
bool avx512_usable() {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
    return false;
  uint32_t lo = 0, hi = 0;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0xE6u) == 0xE6u;
#else
  return false;
#endif
}

// OpenBLAS 0.3.21 (Debian 12) predates AMD's AVX-512 cores (Zen 4, Zen 5) and
// runs them on its AVX2 "Haswell" / "Zen" kernels. Its SkylakeX sgemm kernel
// runs there too, and on Zen 5 (full-width 512-bit units) it does GPT-2's
// projection GEMMs in about 0.6x the time. Newer OpenBLAS releases pick an
// AVX-512 kernel themselves; this only upgrades the two AVX2 choices.
bool openblas_avx2_on_avx512_cpu() {
  const char* core = openblas_get_corename();
  if (!core) return false;
  return (std::strcmp(core, "Haswell") == 0 || std::strcmp(core, "Zen") == 0) && avx512_usable();
}

}  // namespace

void ensure_passive_openmp(char** argv) {
  // Each variable is set only when the user has not set it, and the program
  // re-executes only when one was set: the second run finds them all set.
  bool changed = false;
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    changed = true;
  }
  // OpenBLAS's own (pthread) workers spin on sched_yield for 2^28 cycles
  // after each GEMM by default, through our OpenMP norm / softmax / attention
  // loops; 2^4 puts them to sleep at once. On 2 cores: GPT-2-small forward
  // 0.76x the time, the tour 0.84x the time and half the CPU.
  if (!std::getenv("OPENBLAS_THREAD_TIMEOUT")) {
    setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
    changed = true;
  }
  // OpenBLAS picks its kernels when the library loads, so the choice can only
  // be changed for the re-executed program.
  if (!std::getenv("OPENBLAS_CORETYPE") && openblas_avx2_on_avx512_cpu()) {
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    changed = true;
  }
  if (changed) execv("/proc/self/exe", argv);  // on failure: carry on as we are
}

void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace glassbox
