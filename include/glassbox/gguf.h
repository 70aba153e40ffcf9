// GGUF v2/v3 reader and writer (llama.cpp's model file format).
// https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
// Every count, string length, offset and tensor extent is validated against the
// file size before use; a truncated or hostile file gives an Error.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "glassbox/dtype.h"
#include "glassbox/mmap_file.h"
#include "glassbox/enum_string.h"
#include "glassbox/safetensors.h"  // RawTensor

namespace glassbox {

enum class GgufType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
const char* to_string(GgufType t);  // "UINT8", ..., "FLOAT64"; "invalid" for an id outside the enum
template <> GgufType from_string<GgufType>(std::string_view s);

struct GgufValue;
using GgufArray = std::vector<GgufValue>;
struct GgufValue {
  GgufType type = GgufType::UINT32;
  GgufType elem_type = GgufType::UINT32;  // for ARRAY
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> v;
  // Accessors throw Error (naming `key`) when the stored type does not fit.
  uint64_t as_uint(const std::string& key) const;
  int64_t as_int(const std::string& key) const;
  double as_float(const std::string& key) const;
  bool as_bool(const std::string& key) const;
  const std::string& as_string(const std::string& key) const;
  const GgufArray& as_array(const std::string& key) const;
};

// ggml tensor type ids (subset glassbox reads).
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, BF16 = 30,
};
const char* to_string(GgmlType t);  // "F32", "F16", "Q4_0", "Q8_0", "Q4_K", "BF16"
template <> GgmlType from_string<GgmlType>(std::string_view s);

class GgufFile {
 public:
  static GgufFile open(const std::string& path);
  // The same checks over bytes already in memory (MappedFile::from_bytes);
  // messages name file->path().
  static GgufFile open(std::shared_ptr<MappedFile> file);

  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const GgufValue* find_kv(const std::string& key) const;  // nullptr if absent
  const GgufValue& kv(const std::string& key) const;       // Error naming path+key if absent

  // Tensors with shape converted to row-major outermost-first (ggml ne[] reversed),
  // so a llama.cpp [ne0=in, ne1=out] weight appears as [out, in] like nn.Linear.
  const std::vector<RawTensor>& tensors() const { return tensors_; }
  const RawTensor* find(const std::string& name) const;
  const std::string& path() const { return path_; }
  std::shared_ptr<MappedFile> mapping() const { return file_; }

 private:
  std::string path_;
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  std::map<std::string, GgufValue> kv_;
  std::vector<RawTensor> tensors_;
};

// Writer (used by tests, control-vector export and converters). Atomic.
struct GgufWriter {
  std::vector<std::pair<std::string, GgufValue>> kv;
  std::vector<TensorToWrite> tensors;  // shape row-major outermost-first; dtype F32/F16/BF16 or any block quant
  void set(const std::string& key, GgufValue v) { kv.emplace_back(key, std::move(v)); }
  void save(const std::string& path, uint32_t version = 3, size_t alignment = 32) const;
};

// Convenience constructors.
GgufValue gguf_u32(uint32_t x);
GgufValue gguf_i32(int32_t x);
GgufValue gguf_f32(float x);
GgufValue gguf_bool(bool x);
GgufValue gguf_str(std::string s);
GgufValue gguf_str_array(const std::vector<std::string>& xs);
GgufValue gguf_f32_array(const std::vector<float>& xs);
GgufValue gguf_i32_array(const std::vector<int32_t>& xs);

// Quantisers (reference rounding as in ggml's quantize_row_q8_0_ref / q4_0_ref).
std::vector<uint8_t> quantize_q8_0(const float* x, int64_t n);
std::vector<uint8_t> quantize_q4_0(const float* x, int64_t n);

}  // namespace glassbox
