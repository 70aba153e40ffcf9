// Internal: the byte layout of a safetensors file, shared by the in-memory
// writer (save_safetensors) and the streaming one (SafetensorsStreamWriter),
// so both produce the same bytes for the same tensors.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "glassbox/safetensors.h"

namespace glassbox::detail {

struct SafetensorsLayout {
  std::vector<uint8_t> head;      // 8-byte header length + JSON header padded to 8 bytes
  std::vector<uint64_t> offsets;  // where each tensor's data starts in the file
  std::vector<uint64_t> nbytes;   // each tensor's data size
  uint64_t file_size = 0;
};

// Checks names (non-empty, unique), dtypes and shapes; `with_data` also checks
// t.nbytes and t.data (a streamed file gets its data later). Error naming
// `path` and the tensor.
SafetensorsLayout safetensors_layout(const std::string& path, const std::vector<TensorToWrite>& tensors,
                                     const std::map<std::string, std::string>& metadata, bool with_data);

}  // namespace glassbox::detail
