// Reads "<general.architecture>.<key>" hyper-parameters from a GGUF file.
#pragma once
#include <cstdint>
#include <string>

#include "arch/gguf_names.h"
#include "glassbox/error.h"
#include "glassbox/gguf.h"

namespace glassbox::detail {

class GgufKeys {
 public:
  explicit GgufKeys(const GgufFile& f)
      : f_(f), arch_(f.kv("general.architecture").as_string("general.architecture")) {}
  int u(const std::string& key) const {
    const std::string k = arch_ + "." + key;
    return as_int(f_.kv(k), k);
  }
  int u_opt(const std::string& key, int dflt) const {
    const std::string k = arch_ + "." + key;
    const GgufValue* v = f_.find_kv(k);
    return v ? as_int(*v, k) : dflt;
  }
  double f_opt(const std::string& key, double dflt) const {
    const std::string k = arch_ + "." + key;
    const GgufValue* v = f_.find_kv(k);
    return v ? v->as_float(k) : dflt;
  }
  // Vocabulary size: from the token list if present, else from token_embd's shape.
  int vocab_size() const {
    if (const GgufValue* v = f_.find_kv("tokenizer.ggml.tokens"))
      return int(v->as_array("tokenizer.ggml.tokens").size());
    const std::string name = gguf_name(GgufTensor::TokenEmbd);
    const RawTensor* t = f_.find(name);
    if (!t || t->shape.size() != 2) fail(f_.path(), ": tensor '", name, "' is missing or not 2-D");
    return int(t->shape[0]);
  }

 private:
  // A count that fits int; a wrapped 2^32 + 2 layers would be a silent wrong model.
  int as_int(const GgufValue& v, const std::string& k) const {
    const uint64_t x = v.as_uint(k);
    if (x > uint64_t(INT32_MAX)) fail(f_.path(), ": ", k, " = ", x, " is out of range");
    return int(x);
  }
  const GgufFile& f_;
  std::string arch_;
};

}  // namespace glassbox::detail
