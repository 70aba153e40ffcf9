// RawTensor helpers shared by the safetensors and GGUF readers.
#include "glassbox/safetensors.h"
#include "io/bytes.h"

namespace glassbox {

int64_t RawTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // loaders validated the product, so this cannot overflow
  return n;
}

namespace detail {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace detail
}  // namespace glassbox
