// GGUF writer (v2/v3 share one little-endian layout). Tensor data is padded to
// the alignment after every tensor, as ggml's gguf_write does, and is streamed
// from the caller's buffers rather than copied.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <set>

#include "core/atomic_write.h"
#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "glassbox/tensor.h"
#include "io/bytes.h"
#include "io/ggml_type.h"
#include "io/gguf_detail.h"
#include "io/gguf_streamed.h"

namespace glassbox {
namespace {

class Encoder {
 public:
  explicit Encoder(const std::string& path) : path_(path) {}
  std::vector<uint8_t> out;

  void str(const std::string& s) {
    detail::append_le<uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
  }

  void value(const GgufValue& v, const std::string& key, int depth) {
    switch (v.type) {
      case GgufType::UINT8: detail::append_le<uint8_t>(out, uint_in(v, key, UINT8_MAX)); return;
      case GgufType::UINT16: detail::append_le<uint16_t>(out, uint_in(v, key, UINT16_MAX)); return;
      case GgufType::UINT32: detail::append_le<uint32_t>(out, uint_in(v, key, UINT32_MAX)); return;
      case GgufType::UINT64: detail::append_le<uint64_t>(out, uint_in(v, key, UINT64_MAX)); return;
      case GgufType::INT8: detail::append_le<int8_t>(out, int_in(v, key, INT8_MIN, INT8_MAX)); return;
      case GgufType::INT16: detail::append_le<int16_t>(out, int_in(v, key, INT16_MIN, INT16_MAX)); return;
      case GgufType::INT32: detail::append_le<int32_t>(out, int_in(v, key, INT32_MIN, INT32_MAX)); return;
      case GgufType::INT64: detail::append_le<int64_t>(out, int_in(v, key, INT64_MIN, INT64_MAX)); return;
      case GgufType::FLOAT32:
        detail::append_le<uint32_t>(out, std::bit_cast<uint32_t>(static_cast<float>(v.as_float(key))));
        return;
      case GgufType::FLOAT64: detail::append_le<uint64_t>(out, std::bit_cast<uint64_t>(v.as_float(key))); return;
      case GgufType::BOOL: detail::append_le<uint8_t>(out, v.as_bool(key) ? 1 : 0); return;
      case GgufType::STRING: str(v.as_string(key)); return;
      case GgufType::ARRAY: array(v, key, depth); return;
    }
    fail(path_, ": key '", key, "': invalid GGUF value type ", static_cast<uint32_t>(v.type));
  }

 private:
  uint64_t uint_in(const GgufValue& v, const std::string& key, uint64_t max) {
    const uint64_t x = v.as_uint(key);
    if (x > max) fail(path_, ": key '", key, "': value ", x, " does not fit ", to_string(v.type));
    return x;
  }
  int64_t int_in(const GgufValue& v, const std::string& key, int64_t min, int64_t max) {
    const int64_t x = v.as_int(key);
    if (x < min || x > max) fail(path_, ": key '", key, "': value ", x, " does not fit ", to_string(v.type));
    return x;
  }
  void array(const GgufValue& v, const std::string& key, int depth) {
    if (depth >= detail::kGgufMaxArrayDepth)
      fail(path_, ": key '", key, "': arrays nested deeper than ", detail::kGgufMaxArrayDepth);
    if (!detail::gguf_type_known(static_cast<uint32_t>(v.elem_type)))
      fail(path_, ": key '", key, "': invalid array element type ", static_cast<uint32_t>(v.elem_type));
    const GgufArray& a = v.as_array(key);
    detail::append_le<uint32_t>(out, static_cast<uint32_t>(v.elem_type));
    detail::append_le<uint64_t>(out, a.size());
    for (const GgufValue& e : a) {
      // GGUF arrays are homogeneous: one element type is written for all of them.
      if (e.type != v.elem_type)
        fail(path_, ": key '", key, "': array of ", to_string(v.elem_type), " holds a ",
             to_string(e.type), " element");
      value(e, key, depth + 1);
    }
  }
  const std::string& path_;
};

// The header (magic, metadata, tensor infos, padding to the alignment) and
// each tensor's byte size, after every check; save and save_gguf_streamed share it.
struct Layout {
  std::vector<uint8_t> header;
  std::vector<uint64_t> sizes;
  uint64_t total = 0;  // the whole file
};

Layout layout(const GgufWriter& w, const std::string& path, uint32_t version, size_t alignment, bool streamed) {
  if (version != 2 && version != 3) fail(path, ": cannot write GGUF version ", version, " (only 2 and 3)");
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > UINT32_MAX)
    fail(path, ": GGUF alignment ", alignment, " is not a power of two that fits UINT32");

  // general.alignment must agree with the layout we write; add it when not the default.
  std::vector<std::pair<std::string, GgufValue>> all = w.kv;
  bool has_alignment = false;
  std::set<std::string> keys;
  for (const auto& [k, v] : all) {
    if (!keys.insert(k).second) fail(path, ": duplicate metadata key '", k, "'");
    if (k != "general.alignment") continue;
    has_alignment = true;
    if (v.type != GgufType::UINT32 || v.as_uint(k) != alignment)
      fail(path, ": general.alignment must be UINT32 ", alignment, " to match the requested alignment");
  }
  if (!has_alignment && alignment != detail::kGgufDefaultAlignment)
    all.emplace_back("general.alignment", gguf_u32(static_cast<uint32_t>(alignment)));

  Encoder e(path);
  detail::append_le<uint32_t>(e.out, detail::kGgufMagic);
  detail::append_le<uint32_t>(e.out, version);
  detail::append_le<uint64_t>(e.out, w.tensors.size());
  detail::append_le<uint64_t>(e.out, all.size());
  for (const auto& [k, v] : all) {
    e.str(k);
    detail::append_le<uint32_t>(e.out, static_cast<uint32_t>(v.type));
    e.value(v, k, 0);
  }

  Layout out;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const TensorToWrite& t : w.tensors) {
    const std::string where = path + ": tensor '" + t.name + "'";
    if (!names.insert(t.name).second) fail(where, ": duplicate tensor name");
    uint32_t type;
    if (!detail::ggml_from_dtype(t.dtype, &type))
      fail(where, ": dtype ", dtype_name(t.dtype), " cannot be written to GGUF (", detail::ggml_readable_types(), ")");
    if (t.shape.size() > 4) fail(where, ": ", t.shape.size(), " dimensions, GGUF allows at most 4");
    int64_t numel;
    if (!detail::checked_numel(t.shape, &numel)) fail(where, ": invalid shape ", shape_str(t.shape));
    const int64_t block = dtype_block_size(t.dtype);
    if (block != 1 && (t.shape.empty() || t.shape.back() % block != 0))
      fail(where, ": innermost dimension of ", shape_str(t.shape), " is not a multiple of the ",
           dtype_name(t.dtype), " block size ", block);
    const size_t need = dtype_nbytes(t.dtype, numel);
    if (t.nbytes != need)
      fail(where, ": has ", t.nbytes, " bytes, need ", need, " for ", dtype_name(t.dtype), " ",
           shape_str(t.shape));
    if (need && !t.data && !streamed) fail(where, ": data is null");

    e.str(t.name);
    detail::append_le<uint32_t>(e.out, static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) detail::append_le<uint64_t>(e.out, *it);  // ne[0] innermost
    detail::append_le<uint32_t>(e.out, type);
    detail::append_le<uint64_t>(e.out, offset);
    out.sizes.push_back(need);
    offset += detail::align_up(need, alignment);
  }
  e.out.resize(detail::align_up(e.out.size(), alignment), 0);
  out.total = e.out.size() + offset;
  out.header = std::move(e.out);
  return out;
}

}  // namespace

void GgufWriter::save(const std::string& path, uint32_t version, size_t alignment) const {
  const Layout l = layout(*this, path, version, alignment, false);
  const std::vector<uint8_t> zeros(alignment, 0);
  std::vector<detail::ByteSpan> parts{{l.header.data(), l.header.size()}};
  for (size_t i = 0; i < tensors.size(); ++i) {
    parts.push_back({tensors[i].data, l.sizes[i]});
    parts.push_back({zeros.data(), detail::align_up(l.sizes[i], alignment) - l.sizes[i]});
  }
  detail::write_file_atomic_parts(path, parts);
}

void detail::save_gguf_streamed(const GgufWriter& w, const std::string& path, const GgufFill& fill,
                                uint32_t version, size_t alignment) {
  const Layout l = layout(w, path, version, alignment, true);
  detail::AtomicFile f(path);
  f.reserve(l.total);
  f.append(l.header.data(), l.header.size());
  uint64_t written = l.header.size();
  constexpr size_t kChunk = size_t(4) << 20;
  std::vector<uint8_t> buf;
  const std::vector<uint8_t> zeros(alignment, 0);
  for (size_t i = 0; i < w.tensors.size(); ++i) {
    // Chunks end on block boundaries, so a producer of blocks never splits one.
    const size_t unit = dtype_nbytes(w.tensors[i].dtype, dtype_block_size(w.tensors[i].dtype));
    const size_t chunk = std::max(unit, kChunk / unit * unit);
    for (uint64_t off = 0; off < l.sizes[i]; off += chunk) {
      const size_t n = size_t(std::min<uint64_t>(chunk, l.sizes[i] - off));
      buf.assign(n, 0);
      fill(i, off, buf.data(), n);
      f.append(buf.data(), n);
      f.start_writeback(written, n);  // the final fsync need not wait for gigabytes at once
      written += n;
    }
    const size_t pad = detail::align_up(l.sizes[i], alignment) - l.sizes[i];
    f.append(zeros.data(), pad);
    written += pad;
  }
  f.commit();
}

}  // namespace glassbox
