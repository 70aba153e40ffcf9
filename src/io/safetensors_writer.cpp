// safetensors writer: JSON header padded with spaces so the data section starts
// 8-byte aligned (as the reference writer does), tensors packed in the given order.
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_write.h"
#include "glassbox/error.h"
#include "glassbox/safetensors.h"
#include "glassbox/tensor.h"
#include "io/bytes.h"
#include "io/safetensors_layout.h"

namespace glassbox {

namespace detail {

SafetensorsLayout safetensors_layout(const std::string& path, const std::vector<TensorToWrite>& tensors,
                                     const std::map<std::string, std::string>& metadata, bool with_data) {
  // ordered_json keeps "__metadata__" first and tensors in the caller's order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;

  SafetensorsLayout out;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    const std::string where = path + ": tensor '" + t.name + "'";
    if (t.name.empty() || t.name == "__metadata__") fail(path, ": invalid tensor name '", t.name, "'");
    if (!seen.insert(t.name).second) fail(where, ": duplicate tensor name");
    DType check;
    if (!dtype_from_safetensors(dtype_name(t.dtype), &check))
      fail(where, ": dtype ", dtype_name(t.dtype), " cannot be stored in safetensors");
    int64_t numel;
    if (!checked_numel(t.shape, &numel)) fail(where, ": invalid shape ", shape_str(t.shape));
    const size_t need = dtype_nbytes(t.dtype, numel);
    if (with_data && t.nbytes != need)
      fail(where, ": has ", t.nbytes, " bytes, need ", need, " for ", dtype_name(t.dtype), " ", shape_str(t.shape));
    if (with_data && need && !t.data) fail(where, ": data is null");
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + need}}};
    out.offsets.push_back(offset);
    out.nbytes.push_back(need);
    offset += need;
  }

  std::string json = header.dump();
  json.append(align_up(json.size(), 8) - json.size(), ' ');
  out.head.reserve(8 + json.size());
  append_le<uint64_t>(out.head, json.size());
  out.head.insert(out.head.end(), json.begin(), json.end());
  for (uint64_t& o : out.offsets) o += out.head.size();
  out.file_size = out.head.size() + offset;
  return out;
}

}  // namespace detail

void save_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const detail::SafetensorsLayout layout = detail::safetensors_layout(path, tensors, metadata, true);
  std::vector<detail::ByteSpan> parts = {{layout.head.data(), layout.head.size()}};
  for (const TensorToWrite& t : tensors) parts.push_back({t.data, t.nbytes});
  detail::write_file_atomic_parts(path, parts);
}

}  // namespace glassbox
