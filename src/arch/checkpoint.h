// A checkpoint as a name -> RawTensor dictionary over one or more files, and a
// loader that turns raw tensors into f32 views with their shapes checked.
#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "glassbox/gguf.h"
#include "glassbox/model.h"
#include "glassbox/safetensors.h"

namespace glassbox {

struct Model::Storage {
  std::vector<std::shared_ptr<MappedFile>> mappings;
  std::vector<std::unique_ptr<float[]>> owned;  // converted tensors
  size_t owned_bytes = 0;
  // keep_quantized loads: views of block-quantised tensors (into `mappings`)
  // and the row permutations some of them read through.
  std::vector<std::unique_ptr<QuantMat>> quant;
  std::vector<std::unique_ptr<int32_t[]>> row_maps;
  // A model whose weights this one's views also point into (an edited copy
  // keeps its original's mappings and converted buffers alive).
  std::shared_ptr<const Model::Storage> base;
};

// Model's constructor is private: a Model comes from Model::load or a Trainable.
struct ModelFactory {
  static Model make(Config cfg, Weights w, std::shared_ptr<Model::Storage> storage, std::string source,
                    int64_t n_params, std::vector<StoredTensorInfo> stored) {
    return Model(std::move(cfg), std::move(w), std::move(storage), std::move(source), n_params, std::move(stored));
  }
  // `base` with some weights replaced: `w` points into base's storage and
  // into `storage` (which keeps base's alive); the tokenizer is base's.
  static Model edited(const Model& base, Config cfg, Weights w, std::shared_ptr<Model::Storage> storage,
                      std::string source) {
    storage->base = base.storage_;
    Model m(std::move(cfg), std::move(w), std::move(storage), std::move(source), base.n_params_, base.stored_);
    m.tokenizer_ = base.tokenizer_;
    return m;
  }
};

namespace detail {

class Checkpoint {
 public:
  // A directory (model.safetensors, model.safetensors.index.json, or *.safetensors)
  // or a single .safetensors file.
  static Checkpoint open_safetensors(const std::string& path);
  static Checkpoint from_gguf(const GgufFile& f);
  // In-memory tensors (trainable models); the caller keeps them alive.
  static Checkpoint from_tensors(const std::map<std::string, Tensor>& ts, const std::string& where);

  const RawTensor* find(const std::string& name) const;
  const std::map<std::string, RawTensor>& tensors() const { return tensors_; }
  const std::vector<std::shared_ptr<MappedFile>>& mappings() const { return mappings_; }
  const std::string& where() const { return where_; }

 private:
  void add_file(const SafetensorsFile& f);
  std::map<std::string, RawTensor> tensors_;
  std::vector<std::shared_ptr<MappedFile>> mappings_;
  std::string where_;
};

// Hands out f32 views of checkpoint tensors, converting non-F32 ones once.
class WeightLoader {
 public:
  WeightLoader(const Checkpoint& ckpt, Model::Storage& storage) : ckpt_(ckpt), st_(storage) {}

  // Error "<file>: tensor '<name>' is missing" / "has shape [..] but the config implies [..]".
  const float* get(const std::string& name, const Shape& expected);
  const float* get_opt(const std::string& name, const Shape& expected);  // null if absent
  bool has(const std::string& name) const { return ckpt_.find(name) != nullptr; }
  // A tensor converted to a fresh owned buffer the caller may rearrange (e.g. un-permute).
  float* get_copy(const std::string& name, const Shape& expected);
  // An owned scratch buffer that lives as long as the model.
  float* alloc(size_t n);
  // keep_quantized loads (LoadOptions): a block-quantised [out, in] matrix as
  // a view of its blocks in the mapping, rows read through row_map (out
  // entries, copied; null = identity). Null when the tensor is not quantised
  // or keep_quantized is off: the caller then takes the F32 path (get).
  const QuantMat* quant(const std::string& name, const Shape& expected, const int32_t* row_map = nullptr);
  bool keep_quantized = false;
  // Create mode (fresh trainable models): a tensor absent from the checkpoint is
  // created zero-filled in `store` (optional ones only if create_optional).
  void create_into(std::map<std::string, Tensor>* store, bool create_optional) {
    create_ = store;
    create_optional_ = create_optional;
  }

  int64_t n_params() const { return n_params_; }
  std::vector<StoredTensorInfo> stored() const;
  // Names never requested (ignoring `ignorable` suffixes); loaders reject
  // unknown tensors to catch a wrong family.
  std::vector<std::string> unused(const std::vector<std::string>& ignorable_suffixes) const;

 private:
  const RawTensor& checked(const std::string& name, const Shape& expected) const;
  const Checkpoint& ckpt_;
  Model::Storage& st_;
  std::set<std::string> used_;
  std::map<std::string, bool> zero_copy_;
  int64_t n_params_ = 0;
  std::map<std::string, Tensor>* create_ = nullptr;
  bool create_optional_ = false;
};

}  // namespace detail
}  // namespace glassbox
