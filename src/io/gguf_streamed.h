// Internal: a GGUF file larger than memory (a random 8B-shaped model), its
// tensor data produced chunk by chunk instead of read from caller buffers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "glassbox/gguf.h"

namespace glassbox::detail {

// fill(i, offset, dst, n) writes bytes [offset, offset + n) of tensor i into
// dst. It is called in file order, in chunks of a few MiB that end on the
// tensor's block boundaries. w.tensors' data may be null; everything else
// is checked as GgufWriter::save checks it, and the file is written
// atomically: a throwing fill leaves the old file (or none).
using GgufFill = std::function<void(size_t tensor, uint64_t offset, uint8_t* dst, size_t n)>;
void save_gguf_streamed(const GgufWriter& w, const std::string& path, const GgufFill& fill, uint32_t version = 3,
                        size_t alignment = 32);

}  // namespace glassbox::detail
