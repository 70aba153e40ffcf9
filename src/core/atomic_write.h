// Internal: atomic file writing. A file appears under its name complete or
// not at all: it is written to a temp file in the same directory, then
// fsync'ed and renamed over the target. Writers (safetensors, GGUF) stream a
// header plus tensor data from several buffers without first concatenating
// everything into one copy in memory; the streaming cache writer fills the
// file at offsets as the forward produces each tensor.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace glassbox::detail {

struct ByteSpan {
  const void* data;
  size_t size;
};

// Writes the concatenation of `parts` to `path`: temp file in the same
// directory, fsync, rename, fsync of the directory. On any failure the temp
// file is removed, `path` is untouched, and an Error naming `path` is thrown.
void write_file_atomic_parts(const std::string& path, const std::vector<ByteSpan>& parts);

// The temp file behind write_file_atomic_parts, for writers that fill a file
// at offsets. Every failure throws an Error naming `path` (the target, not
// the temp name); destroyed without commit() it removes the temp file, so an
// error or an exception anywhere leaves no partial file behind.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);  // creates the temp file
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Allocates the file's final size up front, so a full disk or a file-size
  // limit fails now, before any work, rather than midway.
  void reserve(uint64_t size);
  void write_at(uint64_t offset, const void* data, size_t n);
  void append(const void* data, size_t n);  // at the end of what append wrote so far
  // Asks the kernel to start writing [offset, offset+n) to disk now, so the
  // final fsync does not wait for gigabytes at once. Advice: never fails.
  void start_writeback(uint64_t offset, size_t n);
  // chmod 0644, fsync, close, rename over the target, fsync of the directory.
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  uint64_t end_ = 0;
  bool committed_ = false;
};

}  // namespace glassbox::detail
