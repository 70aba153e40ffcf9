// Data parallelism across processes: the ranks of an `mpirun -np N glassbox ...`
// run, or this process alone. Built on MPI (OpenMPI) when CMake finds it; the
// same interface is a one-process no-op otherwise, so nothing else in glassbox
// includes mpi.h or needs a second code path.
//
// A plain run (no mpirun, detected from its environment) is rank 0 of 1 and
// never initialises MPI. Under mpirun, world() initialises MPI on first use
// and finalises it at exit. Every collective must be called by every rank in
// the same order; a rank that fails must call abort_others() (the CLI does,
// for any error), or the others would wait for it forever.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace glassbox::dist {

class Comm {
 public:
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }

  // x[i] = sum over ranks of x[i], on every rank. OpenMPI computes each
  // element once and sends it out (ring), or combines partial sums pairwise
  // in the same order everywhere (recursive doubling): every rank holds the
  // same bits, so replicas updated from them stay identical.
  void allreduce_sum(float* x, size_t n) const;
  void allreduce_sum(double* x, size_t n) const;
  void allreduce_sum(int64_t* x, size_t n) const;
  // x[i] = max over ranks.
  void allreduce_max(int64_t* x, size_t n) const;
  // On rank 0: every rank's bytes, in rank order; elsewhere empty.
  std::vector<std::string> gather(const std::string& bytes) const;
  // Rank 0's bytes, on every rank.
  std::string broadcast(const std::string& bytes) const;
  void barrier() const;

  // This process alone.
  static const Comm& self();

 private:
  friend const Comm& world();
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
};

// All of mpirun's ranks, or self() outside mpirun. Error when glassbox runs
// under mpirun with several ranks but was built without MPI (every rank would
// otherwise do, and write, the whole job).
const Comm& world();

// Whether this build has MPI support (CMake found MPI).
bool built_with_mpi();

// Rows [first, last) of n that `rank` of `size` takes: contiguous, in rank
// order, sizes differing by at most one.
std::pair<int64_t, int64_t> share(int64_t n, int rank, int size);

// After an error on this rank, while others may wait in a collective: ends
// every rank of the run (MPI_Abort) with `code`. Does nothing with one rank.
void abort_others(int code);

}  // namespace glassbox::dist
