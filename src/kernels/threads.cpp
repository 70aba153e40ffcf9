// One thread count for both pools: OpenMP runs the hand-written kernels,
// OpenBLAS (pthreads build) its GEMMs; left unset, each would size itself to
// the machine and the two pools would oversubscribe the cores between them.
#include <cblas.h>
#include <omp.h>
#include <unistd.h>

#include <cstdlib>

#include "kernels/kernels.h"

namespace glassbox::kernels {

void ensure_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);
}

void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace glassbox::kernels
