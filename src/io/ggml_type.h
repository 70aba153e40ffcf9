// Internal: mapping between ggml tensor type ids and glassbox DTypes.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "glassbox/dtype.h"

namespace glassbox::detail {

// "Q4_K" for 12, ... "unknown" for ids ggml does not define.
std::string_view ggml_type_name(uint32_t id);
// False for ggml types glassbox does not read (IQ*, TQ*, Q8_1, Q8_K, MXFP4, integer types).
bool dtype_from_ggml(uint32_t id, DType* out);
// "F32, F16, BF16, Q8_0, ..." : the types dtype_from_ggml accepts, for error messages.
std::string ggml_readable_types();
// False for DTypes with no GGUF tensor type glassbox writes.
bool ggml_from_dtype(DType t, uint32_t* out);

}  // namespace glassbox::detail
