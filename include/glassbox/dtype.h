// Element types that appear in checkpoint files and caches.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "glassbox/enum_string.h"

namespace glassbox {

enum class DType : uint8_t {
  F32, F16, BF16, F64, I8, I16, I32, I64, U8, BOOL,
  Q8_0,  // GGUF block quant: 32 values = f16 scale + 32 x int8
  Q4_0,  // GGUF block quant: 32 values = f16 scale + 16 bytes of nibbles
  // The other ggml block quants glassbox reads (layouts in src/core/quant_legacy.cpp
  // and quant_k.cpp); dequantised bit for bit as ggml-quants.c dequantises them.
  Q4_1, Q5_0, Q5_1,                  // 32 values per block
  Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,      // 256-value super-blocks
};
// True for the block-quantised types (Q8_0 ... Q6_K).
bool dtype_is_quantized(DType t);

std::string_view to_string(DType t);  // "F32", "BF16", "Q8_0" ...
// Any DType name, in either case ("F16" as in file headers, "f16" as on the CLI).
template <> DType from_string<DType>(std::string_view s);
inline std::string_view dtype_name(DType t) { return to_string(t); }  // the name most callers know
// Parses safetensors dtype strings ("F32", "F16", "BF16", "I64", ...).
// Returns false for unknown names.
bool dtype_from_safetensors(std::string_view s, DType* out);

// Bytes for `n` elements (n must be a multiple of the block size for block types).
size_t dtype_nbytes(DType t, int64_t n);
int64_t dtype_block_size(DType t);  // 1 for plain types, 32 for Q8_0/Q4_0/Q4_1/Q5_*, 256 for *_K

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);   // round to nearest even
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);  // round to nearest even

// Converts n f32 elements to t: F32, F16 or BF16 (round to nearest even;
// the BF16 loop vectorises). Error for any other t.
void from_f32(void* dst, const float* src, DType t, int64_t n);

// Converts n elements of type t at src to f32 (dequantises block types).
// Throws Error for types that have no float meaning (BOOL is allowed: 0/1).
void to_f32(float* dst, const void* src, DType t, int64_t n);

}  // namespace glassbox
