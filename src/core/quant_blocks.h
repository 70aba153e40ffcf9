// Internal: dequantisation of ggml block-quantised data, bit for bit as
// ggml-quants.c's dequantize_row_* (the reference code llama.cpp's own
// `llama-quantize ... F32` runs). Callers go through to_f32 (glassbox/dtype.h)
// or, for tiles of a quantised matrix, through these directly.
#pragma once
#include <cstdint>

#include "glassbox/dtype.h"

namespace glassbox::detail {

// dst[0 .. nblocks * dtype_block_size(t)) = the values of nblocks consecutive
// blocks at src. t must be one of the block-quantised DTypes.
void dequantize_blocks(float* dst, const uint8_t* src, DType t, int64_t nblocks);

// Per family (quant_legacy.cpp: 32-value blocks; quant_k.cpp: 256-value super-blocks).
void dequantize_legacy(float* dst, const uint8_t* src, DType t, int64_t nblocks);
void dequantize_k(float* dst, const uint8_t* src, DType t, int64_t nblocks);

}  // namespace glassbox::detail
