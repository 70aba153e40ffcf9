// A read-only memory-mapped file. Weights are views into it; the shared_ptr
// keeps the mapping alive as long as any view does.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace glassbox {

class MappedFile {
 public:
  // Throws Error naming the path if it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  // The same view over a heap copy of `n` bytes, named `name` in messages:
  // readers parse bytes from memory (fuzzing, embedded files) through the one
  // code path that reads files, and a read past the end is an ASan report
  // instead of a silent read of the page's zero padding.
  static std::shared_ptr<MappedFile> from_bytes(const void* bytes, size_t n, const std::string& name);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
  std::unique_ptr<uint8_t[]> owned_;  // from_bytes: the copy (nothing to munmap)
};

// Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename.
void write_file_atomic(const std::string& path, const void* bytes, size_t n);

}  // namespace glassbox
