// Internal: atomic file writing from several buffers, so writers (safetensors,
// GGUF) can stream a header plus tensor data without first concatenating
// everything into one copy in memory.
#pragma once
#include <cstddef>
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

}  // namespace glassbox::detail
