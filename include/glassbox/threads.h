// The worker threads of the kernels: one count for both pools (OpenMP runs
// the hand-written kernels, OpenBLAS its GEMMs), so programs and bindings
// size them without reaching into the kernels' internals.
#pragma once

namespace glassbox {

// OpenMP + OpenBLAS; n <= 0: the machine's processor count.
void set_num_threads(int n);
int num_threads();

// libgomp reads OMP_WAIT_POLICY once, before main: idle OpenMP workers that
// spin (the default) steal the cores OpenBLAS's threads need right after a
// norm or activation kernel — on 2 cores a training step ran at 0.4x the
// speed of the passive policy. Programs call this first thing in main(): it
// sets, each only where the user has not, OMP_WAIT_POLICY=passive,
// OPENBLAS_THREAD_TIMEOUT=4 (OpenBLAS's idle workers sleep instead of
// spinning through the OpenMP kernels between GEMMs) and, where OpenBLAS
// chose its AVX2 kernels on a CPU with usable AVX-512 (OpenBLAS 0.3.21 on
// AMD Zen 4/5), OPENBLAS_CORETYPE=SkylakeX; then, if it set any, it
// re-executes the program once (on failure it carries on as it is). Library
// users get the same speed by setting the variables themselves.
void ensure_passive_openmp(char** argv);

}  // namespace glassbox
