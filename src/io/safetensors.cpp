// safetensors reader. Layout: u64 LE header length N, N bytes of JSON, data.
// Nothing in the data section is touched until the whole header is validated.
#include "glassbox/safetensors.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "glassbox/error.h"
#include "glassbox/tensor.h"
#include "io/bytes.h"

namespace glassbox {
namespace {

using nlohmann::json;

// The reference implementation refuses headers above 100 MB; a real one is a few hundred KB.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct Entry {
  RawTensor t;
  uint64_t begin = 0, end = 0;
};

std::map<std::string, std::string> parse_metadata(const json& m, const std::string& path) {
  if (!m.is_object()) fail(path, ": \"__metadata__\" must be an object of strings, got ", m.type_name());
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : m.items()) {
    if (!v.is_string())
      fail(path, ": \"__metadata__\" value for '", k, "' must be a string, got ", v.type_name());
    out[k] = v.get<std::string>();
  }
  return out;
}

// Non-negative integer that fits int64 (JSON integers above that are rejected, not wrapped).
bool as_index(const json& j, uint64_t* out) {
  if (!j.is_number_unsigned()) return false;
  *out = j.get<uint64_t>();
  return *out <= static_cast<uint64_t>(INT64_MAX);
}

Entry parse_entry(const std::string& name, const json& j, const std::string& path, uint64_t data_size) {
  const std::string where = path + ": tensor '" + name + "'";
  if (!j.is_object()) fail(where, ": expected an object with dtype, shape, data_offsets, got ", j.type_name());
  Entry e;
  e.t.name = name;
  e.t.file = path;

  const auto dt = j.find("dtype");
  if (dt == j.end() || !dt->is_string()) fail(where, ": missing string field \"dtype\"");
  if (!dtype_from_safetensors(dt->get<std::string>(), &e.t.dtype))
    fail(where, ": unknown dtype '", dt->get<std::string>(),
         "' (expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");

  const auto sh = j.find("shape");
  if (sh == j.end() || !sh->is_array()) fail(where, ": missing array field \"shape\"");
  for (const json& d : *sh) {
    uint64_t v;
    if (!as_index(d, &v)) fail(where, ": shape ", sh->dump(), " must hold non-negative integers");
    e.t.shape.push_back(static_cast<int64_t>(v));
  }
  int64_t numel;
  if (!detail::checked_numel(e.t.shape, &numel))
    fail(where, ": shape ", shape_str(e.t.shape), " has too many elements");
  uint64_t need;
  if (detail::mul_overflows(static_cast<uint64_t>(numel), dtype_nbytes(e.t.dtype, 1), &need))
    fail(where, ": shape ", shape_str(e.t.shape), " is too large");

  const auto off = j.find("data_offsets");
  if (off == j.end() || !off->is_array() || off->size() != 2 || !as_index((*off)[0], &e.begin) ||
      !as_index((*off)[1], &e.end))
    fail(where, ": \"data_offsets\" must be [begin, end] with non-negative integers");
  const std::string offs = "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
  if (e.begin > e.end) fail(where, ": ", offs, " has begin > end");
  if (e.end > data_size)
    fail(where, ": ", offs, " end past the data section (", data_size, " bytes; file truncated?)");
  if (e.end - e.begin != need)
    fail(where, ": ", offs, " hold ", e.end - e.begin, " bytes, need ", need, " for ",
         dtype_name(e.t.dtype), " ", shape_str(e.t.shape));
  e.t.nbytes = static_cast<size_t>(need);
  return e;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) { return open(MappedFile::open(path)); }

SafetensorsFile SafetensorsFile::open(std::shared_ptr<MappedFile> file) {
  SafetensorsFile f;
  f.path_ = file->path();
  f.file_ = std::move(file);
  const std::string& path = f.path_;
  const uint64_t size = f.file_->size();
  if (size < 8) fail(path, ": file is ", size, " bytes, too short for the 8-byte safetensors header length");
  const uint64_t hlen = detail::load_le<uint64_t>(f.file_->data());
  if (hlen > size - 8)
    fail(path, ": header length ", hlen, " runs past end of file (", size, " bytes; truncated or not safetensors?)");
  if (hlen > kMaxHeaderBytes) fail(path, ": header length ", hlen, " exceeds the ", kMaxHeaderBytes, "-byte limit");
  if (hlen < 2) fail(path, ": header length ", hlen, " is too short to hold a JSON object");

  const auto* hbeg = reinterpret_cast<const char*>(f.file_->data() + 8);
  json header;
  try {
    header = json::parse(hbeg, hbeg + hlen);
  } catch (const json::exception& e) {
    fail(path, ": malformed header JSON: ", e.what());
  }
  if (!header.is_object()) fail(path, ": header must be a JSON object, got ", header.type_name());

  const uint64_t data_start = 8 + hlen;
  const uint64_t data_size = size - data_start;
  std::vector<Entry> entries;
  for (const auto& [name, val] : header.items()) {
    if (name == "__metadata__") {
      f.metadata_ = parse_metadata(val, path);
      continue;
    }
    entries.push_back(parse_entry(name, val, path, data_size));
  }

  // File order (then name) makes overlap a neighbour check and tensors() follow the data layout.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.t.name < b.t.name;
  });
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;  // empty tensors occupy no bytes and cannot overlap
    if (prev && e.begin < prev->end)
      fail(path, ": tensors '", prev->t.name, "' [", prev->begin, ", ", prev->end, ") and '", e.t.name, "' [",
           e.begin, ", ", e.end, ") overlap");
    prev = &e;
  }

  const uint8_t* data = f.file_->data() + data_start;
  f.tensors_.reserve(entries.size());
  for (Entry& e : entries) {
    e.t.data = data + e.begin;
    f.tensors_.push_back(std::move(e.t));
  }
  return f;
}

const RawTensor* SafetensorsFile::find(const std::string& name) const {
  for (const RawTensor& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace glassbox
