#include "arch/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "glassbox/error.h"
#include "glassbox/json_file.h"

namespace fs = std::filesystem;

namespace glassbox::detail {

void Checkpoint::add_file(const SafetensorsFile& f) {
  mappings_.push_back(f.mapping());
  for (const RawTensor& t : f.tensors()) {
    if (!tensors_.emplace(t.name, t).second)
      fail(f.path(), ": tensor '", t.name, "' also appears in ", tensors_.at(t.name).file);
  }
}

Checkpoint Checkpoint::open_safetensors(const std::string& path) {
  Checkpoint c;
  c.where_ = path;
  if (!fs::is_directory(path)) {
    c.add_file(SafetensorsFile::open(path));
    return c;
  }
  const fs::path dir(path);
  if (fs::exists(dir / "model.safetensors.index.json")) {
    // Sharded HF checkpoint: the index maps every tensor to its shard.
    const std::string index = (dir / "model.safetensors.index.json").string();
    const nlohmann::json j = read_json_file(index);
    if (!j.contains("weight_map") || !j["weight_map"].is_object())
      fail(index, ": expected an object \"weight_map\" {tensor name: shard file}");
    std::set<std::string> shards;
    for (auto& [name, file] : j["weight_map"].items()) {
      if (!file.is_string()) fail(index, ": weight_map['", name, "'] must be a file name");
      const std::string shard = file.get<std::string>();
      if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos)
        fail(index, ": weight_map['", name, "'] = '", shard, "' must be a file in the same directory");
      shards.insert(shard);
    }
    for (const std::string& s : shards) c.add_file(SafetensorsFile::open((dir / s).string()));
    for (auto& [name, file] : j["weight_map"].items())
      if (!c.tensors_.count(name))
        fail(index, ": tensor '", name, "' is listed for ", file.get<std::string>(), " but not in it");
    return c;
  }
  if (fs::exists(dir / "model.safetensors")) {
    c.add_file(SafetensorsFile::open((dir / "model.safetensors").string()));
    return c;
  }
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
  if (files.empty())
    fail(path, ": no model.safetensors, model.safetensors.index.json or *.safetensors found");
  std::sort(files.begin(), files.end());
  for (const auto& f : files) c.add_file(SafetensorsFile::open(f));
  return c;
}

Checkpoint Checkpoint::from_gguf(const GgufFile& f) {
  Checkpoint c;
  c.where_ = f.path();
  c.mappings_.push_back(f.mapping());
  for (const RawTensor& t : f.tensors()) c.tensors_.emplace(t.name, t);
  return c;
}

Checkpoint Checkpoint::from_tensors(const std::map<std::string, Tensor>& ts, const std::string& where) {
  Checkpoint c;
  c.where_ = where;
  for (const auto& [name, t] : ts) {
    RawTensor r;
    r.name = name;
    r.dtype = t.dtype;
    r.shape = t.shape;
    r.data = t.data;
    r.nbytes = t.nbytes();
    r.file = where;
    c.tensors_.emplace(name, r);
  }
  return c;
}

const RawTensor* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const RawTensor& WeightLoader::checked(const std::string& name, const Shape& expected) const {
  const RawTensor* t = ckpt_.find(name);
  if (!t) fail(ckpt_.where(), ": tensor '", name, "' is missing (expected shape ", shape_str(expected), ")");
  if (t->shape != expected)
    fail(t->file, ": tensor '", name, "' has shape ", shape_str(t->shape), " but the config implies ",
         shape_str(expected));
  return *t;
}

const float* WeightLoader::get(const std::string& name, const Shape& expected) {
  if (create_ && !ckpt_.find(name)) {
    auto& t = (*create_)[name];
    if (!t.data) t = Tensor::zeros(expected);
    if (t.shape != expected) fail("tensor '", name, "' requested with shapes ", shape_str(t.shape), " and ", shape_str(expected));
    if (used_.insert(name).second) n_params_ += t.numel();
    zero_copy_[name] = true;
    return t.f32();
  }
  const RawTensor& t = checked(name, expected);
  if (used_.insert(name).second) n_params_ += t.numel();
  // F32 data that is 4-byte aligned is served straight from the mapping.
  if (t.dtype == DType::F32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
    zero_copy_[name] = true;
    return static_cast<const float*>(t.data);
  }
  zero_copy_[name] = false;
  float* dst = alloc(size_t(t.numel()));
  to_f32(dst, t.data, t.dtype, t.numel());
  return dst;
}

const float* WeightLoader::get_opt(const std::string& name, const Shape& expected) {
  if (create_ && create_optional_) return get(name, expected);
  return has(name) ? get(name, expected) : nullptr;
}

float* WeightLoader::get_copy(const std::string& name, const Shape& expected) {
  const RawTensor& t = checked(name, expected);
  if (used_.insert(name).second) n_params_ += t.numel();
  zero_copy_[name] = false;
  float* dst = alloc(size_t(t.numel()));
  to_f32(dst, t.data, t.dtype, t.numel());
  return dst;
}

const QuantMat* WeightLoader::quant(const std::string& name, const Shape& expected, const int32_t* row_map) {
  if (!keep_quantized || create_ || !ckpt_.find(name)) return nullptr;
  const RawTensor& t = checked(name, expected);
  if (!dtype_is_quantized(t.dtype) || t.shape.size() != 2) return nullptr;
  if (used_.insert(name).second) n_params_ += t.numel();
  zero_copy_[name] = true;
  auto q = std::make_unique<QuantMat>();
  q->base = static_cast<const uint8_t*>(t.data);
  q->dtype = t.dtype;
  q->n_rows = t.shape[0];
  q->row_len = t.shape[1];
  q->row_bytes = dtype_nbytes(t.dtype, t.shape[1]);
  if (row_map) {
    st_.row_maps.push_back(std::make_unique<int32_t[]>(size_t(q->n_rows)));
    std::copy(row_map, row_map + q->n_rows, st_.row_maps.back().get());
    q->row_map = st_.row_maps.back().get();
  }
  st_.quant.push_back(std::move(q));
  return st_.quant.back().get();
}

float* WeightLoader::alloc(size_t n) {
  st_.owned.push_back(std::make_unique<float[]>(n));
  st_.owned_bytes += n * sizeof(float);
  return st_.owned.back().get();
}

std::vector<StoredTensorInfo> WeightLoader::stored() const {
  std::vector<StoredTensorInfo> out;
  for (const auto& [name, t] : ckpt_.tensors()) {
    auto it = zero_copy_.find(name);
    out.push_back({name, t.dtype, t.shape, it != zero_copy_.end() && it->second});
  }
  return out;
}

std::vector<std::string> WeightLoader::unused(const std::vector<std::string>& ignorable) const {
  std::vector<std::string> out;
  for (const auto& entry : ckpt_.tensors()) {
    const std::string& name = entry.first;  // not a structured binding: clang < 16 cannot capture one
    if (used_.count(name)) continue;
    bool ignore = std::any_of(ignorable.begin(), ignorable.end(), [&](const std::string& s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    });
    if (!ignore) out.push_back(name);
  }
  return out;
}

}  // namespace glassbox::detail
