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

std::shared_ptr<MappedFile> MappedFile::from_bytes(const void* bytes, size_t n, const std::string& name) {
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = name;
  f->size_ = n;
  if (n == 0) return f;
  f->owned_ = std::make_unique<uint8_t[]>(n);
  std::memcpy(f->owned_.get(), bytes, n);
  f->data_ = f->owned_.get();
  return f;
}

MappedFile::~MappedFile() {
  if (data_ && !owned_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void write_file_atomic(const std::string& path, const void* bytes, size_t n) {
  detail::write_file_atomic_parts(path, {{bytes, n}});
}

}  // namespace glassbox
