// RawTensor helpers shared by the safetensors and GGUF readers.
#include "glassbox/safetensors.h"

namespace glassbox {

int64_t RawTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // loaders validated the product, so this cannot overflow
  return n;
}

}  // namespace glassbox
