// A safetensors file written while its tensors are still being produced.
// The header (names, dtypes, shapes) is fixed up front, so every tensor's
// offset is known; each tensor's values are then appended in order, in any
// interleaving across tensors, and a writer thread copies them to the file
// while the producer (a forward pass) goes on computing. Memory is a fixed
// pool of chunk buffers, reused: when every chunk is in flight, append waits
// (back-pressure) instead of allocating. Values given as f32 are converted to
// the tensor's dtype (F16 / BF16) on the writer thread.
//
// The file is byte-identical to save_safetensors() of the same tensors and
// metadata, and atomic: it appears on finish() or not at all. Any error
// (disk full, file too large, a bad path, a tensor left incomplete) throws
// an Error naming the path and leaves no partial file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "glassbox/safetensors.h"

namespace glassbox {

struct StreamWriterOptions {
  size_t chunk_bytes = size_t(16) << 20;  // one buffer of f32 values or raw bytes
  int n_chunks = 4;                        // buffers in flight (at least 2: one filling, one writing)
  bool writeback = true;                   // start writing each chunk to disk at once (see AtomicFile)
};

class SafetensorsStreamWriter {
 public:
  // `tensors`: names, dtypes and shapes in file order; data and nbytes are ignored.
  // Creates the temp file and reserves the file's size (a full disk fails here).
  SafetensorsStreamWriter(const std::string& path, std::vector<TensorToWrite> tensors,
                          const std::map<std::string, std::string>& metadata = {}, StreamWriterOptions opt = {});
  ~SafetensorsStreamWriter();  // without finish(): stops the writer thread, removes the temp file
  SafetensorsStreamWriter(const SafetensorsStreamWriter&) = delete;
  SafetensorsStreamWriter& operator=(const SafetensorsStreamWriter&) = delete;

  size_t index(const std::string& name) const;  // Error naming the tensor when absent
  const std::vector<TensorToWrite>& tensors() const;

  // The next n values of tensor i as f32, stored in its dtype (F32, F16, BF16).
  void append_f32(size_t i, const float* values, size_t n);
  // The next n bytes of tensor i, already in its dtype (I32 token ids, ...).
  void append_bytes(size_t i, const void* bytes, size_t n);
  // Waits for the writer, checks every tensor is complete, fsyncs and renames.
  void finish();

  // Bytes of buffers a writer with these options holds (chunks + the conversion buffer).
  static size_t pool_bytes(const StreamWriterOptions& opt);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace glassbox
