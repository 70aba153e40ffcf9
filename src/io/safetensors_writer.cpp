// safetensors writer: JSON header padded with spaces so the data section starts
// 8-byte aligned (as the reference writer does), tensors packed in the given order.
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_write.h"
#include "glassbox/error.h"
#include "glassbox/safetensors.h"
#include "glassbox/tensor.h"
#include "io/bytes.h"

namespace glassbox {

void save_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // ordered_json keeps "__metadata__" first and tensors in the caller's order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::set<std::string> seen;
  std::vector<detail::ByteSpan> parts(1);  // parts[0] = length + header, filled below
  uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    const std::string where = path + ": tensor '" + t.name + "'";
    if (t.name.empty() || t.name == "__metadata__") fail(path, ": invalid tensor name '", t.name, "'");
    if (!seen.insert(t.name).second) fail(where, ": duplicate tensor name");
    DType check;
    if (!dtype_from_safetensors(dtype_name(t.dtype), &check))
      fail(where, ": dtype ", dtype_name(t.dtype), " cannot be stored in safetensors");
    int64_t numel;
    if (!detail::checked_numel(t.shape, &numel))
      fail(where, ": invalid shape ", shape_str(t.shape));
    const size_t need = dtype_nbytes(t.dtype, numel);
    if (t.nbytes != need)
      fail(where, ": has ", t.nbytes, " bytes, need ", need, " for ", dtype_name(t.dtype), " ",
           shape_str(t.shape));
    if (need && !t.data) fail(where, ": data is null");
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + need}}};
    offset += need;
    parts.push_back({t.data, need});
  }

  std::string json = header.dump();
  json.append(detail::align_up(json.size(), 8) - json.size(), ' ');
  std::vector<uint8_t> head;
  head.reserve(8 + json.size());
  detail::append_le<uint64_t>(head, json.size());
  head.insert(head.end(), json.begin(), json.end());
  parts[0] = {head.data(), head.size()};
  detail::write_file_atomic_parts(path, parts);
}

}  // namespace glassbox
