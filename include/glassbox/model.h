// A loaded model: Config + canonical Weights (views into mapped files) and,
// when one sits beside the checkpoint, its tokenizer.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "glassbox/config.h"
#include "glassbox/dtype.h"
#include "glassbox/tensor.h"
#include "glassbox/weights.h"

namespace glassbox {

class Tokenizer;
struct ModelFactory;  // internal (src/arch): the loaders and Trainable, the only places a Model is made

// One tensor of the checkpoint as stored (for `glassbox info`).
struct StoredTensorInfo {
  std::string name;
  DType dtype;
  Shape shape;
  bool zero_copy;  // served straight from the mapping
};

class Model {
 public:
  // `path` is a directory holding config.json + model.safetensors (or a
  // sharded model.safetensors.index.json), a .safetensors file with a
  // config.json beside it, or a .gguf file. Throws Error naming the file and
  // the tensor / field at fault.
  static Model load(const std::string& path);
  // keep_quantized (GGUF, the default): block-quantised matrices and the
  // embedding stay in the mapped file's blocks and every matmul dequantises
  // cache-sized tiles, so memory stays near the file's size (an 8B Q4_K_M
  // model in ~5 GB, not 32). Forward, hooks, caches, interventions and
  // gradients w.r.t. activations work as on F32 weights (equal up to the
  // GEMM's rounding); weight gradients are an Error, and code that reads
  // weights as floats must handle MatRef::q / Weights::W_E_q (W_E is null).
  // false: every weight dequantised to F32 at load (4 bytes a parameter).
  struct LoadOptions {
    bool keep_quantized = true;
  };
  static Model load(const std::string& path, const LoadOptions& opt);

  const Config& config() const { return cfg_; }
  const Weights& weights() const { return w_; }
  const std::string& source() const { return source_; }
  int64_t n_params() const { return n_params_; }
  const std::vector<StoredTensorInfo>& stored_tensors() const { return stored_; }
  size_t converted_bytes() const;   // bytes of weights converted at load (not mapped)
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }  // null if none found

  struct Storage;  // what the weights point into (mappings, converted buffers); internal

 private:
  friend struct ModelFactory;
  Model(Config cfg, Weights w, std::shared_ptr<Storage> storage, std::string source,
        int64_t n_params, std::vector<StoredTensorInfo> stored);
  void set_tokenizer(std::shared_ptr<const Tokenizer> t) { tokenizer_ = std::move(t); }

  Config cfg_;
  Weights w_;
  std::shared_ptr<Storage> storage_;
  std::string source_;
  int64_t n_params_ = 0;
  std::vector<StoredTensorInfo> stored_;
  std::shared_ptr<const Tokenizer> tokenizer_;
};

}  // namespace glassbox
