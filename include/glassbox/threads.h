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
// speed of the passive policy. Programs call this first thing in main():
// unless the user set OMP_WAIT_POLICY, it re-executes the program once with
// it set to passive (on failure it carries on with the default policy), and
// with OPENBLAS_THREAD_TIMEOUT=4 unless set (OpenBLAS's idle workers sleep
// instead of spinning through the OpenMP kernels between GEMMs). Library
// users get the same speed by setting both variables themselves.
void ensure_passive_openmp(char** argv);

}  // namespace glassbox
