// Read-only memory mapping and atomic writes (POSIX).
#include "glassbox/mmap_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/atomic_write.h"
#include "glassbox/error.h"

namespace glassbox {
namespace {

std::string errno_text() { return std::strerror(errno); }

// Closes an fd on scope exit; errors from close() on a read-only fd carry no information.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, ": cannot open: ", errno_text());
  FdGuard guard{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) fail(path, ": cannot stat: ", errno_text());
  if (!S_ISREG(st.st_mode)) fail(path, ": not a regular file");

  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ == 0) return f;  // mmap rejects length 0; an empty file is a valid (empty) view
  // MAP_PRIVATE + PROT_READ: weights are views, nothing is ever written back.
  void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) fail(path, ": cannot mmap ", f->size_, " bytes: ", errno_text());
  f->data_ = static_cast<const uint8_t*>(p);
  return f;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

namespace detail {
namespace {

void write_all(int fd, const void* data, size_t n, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(path, ": write failed: ", errno_text());
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Makes the rename itself durable; failure here is not worth failing the write for
// (some filesystems do not support fsync on directories).
void fsync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomic_parts(const std::string& path, const std::vector<ByteSpan>& parts) {
  if (path.empty()) fail("write_file_atomic: empty path");
  // Same directory as the target so rename() is atomic (no cross-device move).
  std::string tmpl = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) fail(path, ": cannot create temp file ", tmpl, ": ", errno_text());
  bool closed = false;
  try {
    for (const ByteSpan& s : parts)
      if (s.size) write_all(fd, s.data, s.size, path);
    // mkstemp creates 0600; outputs are ordinary files others may read.
    if (::fchmod(fd, 0644) != 0) fail(path, ": chmod failed: ", errno_text());
    if (::fsync(fd) != 0) fail(path, ": fsync failed: ", errno_text());
    closed = true;  // even a failed close() releases the fd: never close it twice
    if (::close(fd) != 0) fail(path, ": close failed: ", errno_text());
  } catch (...) {
    if (!closed) ::close(fd);
    ::unlink(tmpl.c_str());
    throw;
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmpl.c_str());
    fail(path, ": cannot rename temp file into place: ", why);
  }
  fsync_dir(std::filesystem::path(path).parent_path());
}

}  // namespace detail

void write_file_atomic(const std::string& path, const void* bytes, size_t n) {
  detail::write_file_atomic_parts(path, {{bytes, n}});
}

}  // namespace glassbox
