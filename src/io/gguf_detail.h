// Internal: GGUF value-type helpers shared by the reader and the writer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "glassbox/gguf.h"

namespace glassbox::detail {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr size_t kGgufDefaultAlignment = 32;
// Arrays of arrays are legal; a limit keeps a hostile file from recursing the stack away.
constexpr int kGgufMaxArrayDepth = 16;

bool gguf_type_known(uint32_t t);
// Encoded size of one scalar of type t (0 for STRING and ARRAY, which are variable).
size_t gguf_scalar_size(GgufType t);

}  // namespace glassbox::detail
