#include "glassbox/tensor.h"

#include <cstring>

#include "glassbox/error.h"

namespace glassbox {

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.data, 0, t.nbytes());
  return t;
}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  Tensor t;
  t.dtype = dtype;
  t.shape = shape;
  const size_t n = dtype_nbytes(dtype, glassbox::numel(shape));
  // 64-byte aligned so SIMD loads and BLAS see aligned rows.
  void* p = ::operator new[](n ? n : 1, std::align_val_t(64));
  t.storage = std::shared_ptr<void>(p, [](void* q) { ::operator delete[](q, std::align_val_t(64)); });
  t.data = p;
  return t;
}

Tensor Tensor::from_f32(const float* src, const Shape& shape, DType dtype) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
    fail("tensor: storage dtype must be F32, F16 or BF16, got ", dtype_name(dtype));
  Tensor t = empty(shape, dtype);  // from_f32 writes every element
  glassbox::from_f32(t.data, src, dtype, t.numel());
  return t;
}

float* Tensor::f32() const {
  if (dtype != DType::F32) fail("tensor: expected F32 storage, got ", dtype_name(dtype));
  return static_cast<float*>(data);
}

std::vector<float> Tensor::to_f32_vector() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  to_f32(out.data(), data, dtype, numel());
  return out;
}

}  // namespace glassbox
