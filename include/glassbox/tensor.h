// Plain tensors: a float view (no ownership) and an owned, typed tensor.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "glassbox/dtype.h"

namespace glassbox {

using Shape = std::vector<int64_t>;
int64_t numel(const Shape& s);
std::string shape_str(const Shape& s);  // "[2, 7, 64]"

// A contiguous row-major f32 view: what a hook receives. Writing through it
// (a replace hook) changes the activation the model continues with.
struct TensorView {
  float* data = nullptr;
  Shape shape;
  int64_t numel() const { return glassbox::numel(shape); }
  float& operator[](int64_t i) const { return data[i]; }
};

// An owned tensor of any storage dtype (F32 / F16 / BF16 for caches).
// Storage is shared so copies are cheap; the engine hands kept activations
// out as Tensors and reuses their memory once every holder lets go.
struct Tensor {
  DType dtype = DType::F32;
  Shape shape;
  std::shared_ptr<void> storage;
  void* data = nullptr;

  static Tensor zeros(const Shape& shape, DType dtype = DType::F32);
  // Uninitialised: for buffers the caller overwrites completely (cached activations).
  static Tensor empty(const Shape& shape, DType dtype = DType::F32);
  static Tensor from_f32(const float* src, const Shape& shape, DType dtype = DType::F32);
  int64_t numel() const { return glassbox::numel(shape); }
  size_t nbytes() const { return dtype_nbytes(dtype, numel()); }
  float* f32() const;                    // Error unless dtype == F32
  std::vector<float> to_f32_vector() const;  // converts F16/BF16
};

}  // namespace glassbox
