#include "glassbox/features/memory_stream.h"

#include <algorithm>

#include "glassbox/error.h"
#include "glassbox/safetensors.h"
#include "glassbox/tensor.h"

namespace glassbox::features {

MemoryStream::MemoryStream(std::vector<std::string> names, std::vector<int64_t> dims,
                           std::vector<std::vector<float>> sites)
    : names_(std::move(names)), dims_(std::move(dims)), sites_(std::move(sites)) {
  if (names_.empty() || names_.size() != dims_.size() || names_.size() != sites_.size())
    fail("MemoryStream: ", names_.size(), " names, ", dims_.size(), " dims and ", sites_.size(),
         " sites; need the same number, at least one");
  for (size_t s = 0; s < sites_.size(); ++s) {
    if (dims_[s] <= 0 || int64_t(sites_[s].size()) % dims_[s] != 0)
      fail("MemoryStream: site '", names_[s], "' has ", sites_[s].size(), " values, not a multiple of its width ",
           dims_[s]);
    const int64_t r = int64_t(sites_[s].size()) / dims_[s];
    if (s == 0) rows_ = r;
    else if (r != rows_)
      fail("MemoryStream: site '", names_[s], "' has ", r, " rows, site '", names_[0], "' has ", rows_);
  }
}

int64_t MemoryStream::next(ActivationBatch& out, int64_t max_rows) {
  const int64_t n = std::min(max_rows, rows_ - pos_);
  out.rows = std::max<int64_t>(n, 0);
  out.tokens.clear();
  out.sites.resize(sites_.size());
  for (size_t s = 0; s < sites_.size(); ++s) {
    const auto b = sites_[s].begin() + pos_ * dims_[s];
    out.sites[s].assign(b, b + out.rows * dims_[s]);
  }
  pos_ += out.rows;
  return out.rows;
}

MemoryStream load_activation_file(const std::string& path, const std::vector<std::string>& sites) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  std::vector<std::string> names = sites;
  if (names.empty())
    for (const RawTensor& t : f.tensors()) names.push_back(t.name);
  if (names.empty()) fail(path, ": no tensors");
  std::vector<int64_t> dims;
  std::vector<std::vector<float>> data;
  for (const std::string& n : names) {
    const RawTensor* t = f.find(n);
    if (!t) fail(path, ": no tensor '", n, "' (activations are stored under their hook name)");
    if (t->shape.empty() || t->shape.back() <= 0)
      fail(path, ": tensor '", n, "' has shape ", shape_str(t->shape), "; expected [rows, d]");
    if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16)
      fail(path, ": tensor '", n, "' is ", to_string(t->dtype), "; expected F32, F16 or BF16");
    dims.push_back(t->shape.back());
    Tensor tmp;
    tmp.dtype = t->dtype;
    tmp.shape = t->shape;
    tmp.data = const_cast<void*>(t->data);
    data.push_back(tmp.to_f32_vector());
  }
  return MemoryStream(names, dims, std::move(data));
}

}  // namespace glassbox::features
