// AtomicFile: a temp file next to the target, renamed over it on commit.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/atomic_write.h"
#include "glassbox/error.h"

namespace glassbox::detail {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

// Makes the rename itself durable; failure here is not worth failing the write for
// (some filesystems do not support fsync on directories).
void fsync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  if (path.empty()) fail("write_file_atomic: empty path");
  // Same directory as the target so rename() is atomic (no cross-device move).
  tmp_ = path + ".tmp.XXXXXX";
  fd_ = ::mkstemp(tmp_.data());
  if (fd_ < 0) fail(path, ": cannot create temp file ", tmp_, ": ", errno_text(errno));
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(tmp_.c_str());
}

void AtomicFile::reserve(uint64_t size) {
  if (size == 0) return;
  // fallocate, not posix_fallocate: where the filesystem cannot reserve
  // space, glibc would emulate it by writing every block.
  if (::fallocate(fd_, 0, 0, off_t(size)) == 0) return;
  const int e = errno;
  if (e == ENOSPC || e == EFBIG || e == EDQUOT)
    fail(path_, ": cannot reserve ", size, " bytes for the file: ", errno_text(e));
  if (::ftruncate(fd_, off_t(size)) != 0) fail(path_, ": cannot size the file to ", size, " bytes: ", errno_text(errno));
}

void AtomicFile::write_at(uint64_t offset, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::pwrite(fd_, p, n, off_t(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(path_, ": write failed: ", errno_text(errno));
    }
    if (w == 0) fail(path_, ": write failed: no progress at offset ", offset);
    p += w;
    offset += uint64_t(w);
    n -= size_t(w);
  }
}

void AtomicFile::append(const void* data, size_t n) {
  write_at(end_, data, n);
  end_ += n;
}

void AtomicFile::start_writeback(uint64_t offset, size_t n) {
  (void)::sync_file_range(fd_, off_t(offset), off_t(n), SYNC_FILE_RANGE_WRITE);
}

void AtomicFile::commit() {
  // mkstemp creates 0600; outputs are ordinary files others may read.
  if (::fchmod(fd_, 0644) != 0) fail(path_, ": chmod failed: ", errno_text(errno));
  if (::fsync(fd_) != 0) fail(path_, ": fsync failed: ", errno_text(errno));
  const int fd = fd_;
  fd_ = -1;  // even a failed close() releases the fd: never close it twice
  if (::close(fd) != 0) fail(path_, ": close failed: ", errno_text(errno));
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail(path_, ": cannot rename temp file into place: ", errno_text(errno));
  committed_ = true;
  fsync_dir(std::filesystem::path(path_).parent_path());
}

void write_file_atomic_parts(const std::string& path, const std::vector<ByteSpan>& parts) {
  AtomicFile f(path);
  for (const ByteSpan& s : parts)
    if (s.size) f.append(s.data, s.size);
  f.commit();
}

}  // namespace glassbox::detail
