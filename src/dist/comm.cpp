// The only file that includes mpi.h (GLASSBOX_MPI: CMake found MPI).
#include "glassbox/dist.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>

#include "glassbox/error.h"

#ifdef GLASSBOX_MPI
// The C API only: OpenMPI's deprecated C++ bindings would come along otherwise.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace glassbox::dist {

namespace {

// The launcher's environment: OpenMPI's mpirun, PMIx (OpenMPI 5, Slurm's
// srun --mpi=pmix) or PMI (MPICH's Hydra, Slurm). A count of 1 is a plain run.
int launcher_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"}) {
    if (std::strcmp(v, "SLURM_NTASKS") == 0 && !std::getenv("PMI_RANK") && !std::getenv("PMIX_RANK")) continue;
    if (const char* s = std::getenv(v)) {
      const int n = std::atoi(s);
      if (n > 0) return n;
    }
  }
  // PMIx does not always export a size; a rank means a launcher started us.
  if (std::getenv("PMIX_RANK") || std::getenv("PMI_RANK")) return 2;
  return 1;
}

#ifdef GLASSBOX_MPI
// MPI counts are int: large buffers go in chunks.
constexpr size_t kChunk = size_t(1) << 30;

template <class T>
void allreduce(T* x, size_t n, MPI_Datatype type, MPI_Op op) {
  for (size_t off = 0; off < n; off += kChunk) {
    const int c = int(std::min(kChunk, n - off));
    MPI_Allreduce(MPI_IN_PLACE, x + off, c, type, op, MPI_COMM_WORLD);
  }
}

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}
#endif

}  // namespace

const Comm& Comm::self() {
  static const Comm c;
  return c;
}

const Comm& world() {
  static Comm c;
  static std::once_flag once;
  std::call_once(once, [] {
    if (launcher_size() <= 1) return;
#ifdef GLASSBOX_MPI
    int provided = 0;
    // Only the calling thread talks to MPI; OpenMP workers never do.
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    std::atexit(finalize_at_exit);
    MPI_Comm_rank(MPI_COMM_WORLD, &c.rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &c.size_);
    c.mpi_ = c.size_ > 1;
#else
    fail("glassbox runs under mpirun with ", launcher_size(),
         " ranks but was built without MPI (install libopenmpi-dev: scripts/install-deps.sh, and rebuild); "
         "run it without mpirun");
#endif
  });
  return c;
}

bool built_with_mpi() {
#ifdef GLASSBOX_MPI
  return true;
#else
  return false;
#endif
}

std::pair<int64_t, int64_t> share(int64_t n, int rank, int size) {
  if (size <= 0 || rank < 0 || rank >= size) fail("dist::share: rank ", rank, " is not in [0, ", size, ")");
  const int64_t base = n / size, extra = n % size;
  const int64_t first = rank * base + std::min<int64_t>(rank, extra);
  return {first, first + base + (rank < extra ? 1 : 0)};
}

#ifdef GLASSBOX_MPI

void Comm::allreduce_sum(float* x, size_t n) const {
  if (mpi_) allreduce(x, n, MPI_FLOAT, MPI_SUM);
}
void Comm::allreduce_sum(double* x, size_t n) const {
  if (mpi_) allreduce(x, n, MPI_DOUBLE, MPI_SUM);
}
void Comm::allreduce_sum(int64_t* x, size_t n) const {
  if (mpi_) allreduce(x, n, MPI_INT64_T, MPI_SUM);
}
void Comm::allreduce_max(int64_t* x, size_t n) const {
  if (mpi_) allreduce(x, n, MPI_INT64_T, MPI_MAX);
}

std::vector<std::string> Comm::gather(const std::string& bytes) const {
  if (!mpi_) return {bytes};
  if (bytes.size() > size_t(std::numeric_limits<int>::max()))
    fail("dist: gather of ", bytes.size(), " bytes from rank ", rank_, " (at most 2 GiB per rank)");
  const int len = int(bytes.size());
  std::vector<int> lens(root() ? size_t(size_) : 0), displs(lens.size());
  MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string all;
  if (root()) {
    int64_t total = 0;
    for (int r = 0; r < size_; ++r) displs[size_t(r)] = int(total), total += lens[size_t(r)];
    if (total > std::numeric_limits<int>::max()) fail("dist: gather of ", total, " bytes (at most 2 GiB in all)");
    all.resize(size_t(total));
  }
  MPI_Gatherv(bytes.data(), len, MPI_BYTE, all.data(), lens.data(), displs.data(), MPI_BYTE, 0, MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (int r = 0; root() && r < size_; ++r) out.push_back(all.substr(size_t(displs[size_t(r)]), size_t(lens[size_t(r)])));
  return out;
}

std::string Comm::broadcast(const std::string& bytes) const {
  if (!mpi_) return bytes;
  int64_t len = int64_t(bytes.size());
  MPI_Bcast(&len, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  std::string out = root() ? bytes : std::string(size_t(len), '\0');
  for (int64_t off = 0; off < len; off += int64_t(kChunk))
    MPI_Bcast(out.data() + off, int(std::min<int64_t>(int64_t(kChunk), len - off)), MPI_BYTE, 0, MPI_COMM_WORLD);
  return out;
}

void Comm::barrier() const {
  if (mpi_) MPI_Barrier(MPI_COMM_WORLD);
}

void abort_others(int code) {
  const Comm& c = world();
  if (c.size() <= 1) return;
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
}

#else  // one process: every collective is the identity

void Comm::allreduce_sum(float*, size_t) const {}
void Comm::allreduce_sum(double*, size_t) const {}
void Comm::allreduce_sum(int64_t*, size_t) const {}
void Comm::allreduce_max(int64_t*, size_t) const {}
std::vector<std::string> Comm::gather(const std::string& bytes) const { return {bytes}; }
std::string Comm::broadcast(const std::string& bytes) const { return bytes; }
void Comm::barrier() const {}
void abort_others(int) {}

#endif

}  // namespace glassbox::dist
