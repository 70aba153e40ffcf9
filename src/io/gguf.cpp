// GGUF v2/v3 reader. Layout: magic, version, n_tensors, n_kv, kv pairs, tensor
// infos, padding to general.alignment, tensor data. Every count and length is
// checked against the bytes left in the file before anything is allocated.
#include <algorithm>
#include <bit>
#include <set>

#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "glassbox/tensor.h"
#include "io/bytes.h"
#include "io/ggml_type.h"
#include "io/gguf_detail.h"

namespace glassbox {
namespace {

// Bounds-checked little-endian cursor over the mapping. `context` names what is
// being read (a key or tensor) so errors say where; `what` is a literal, so the
// per-element reads of a 150k-entry vocabulary allocate nothing.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, const std::string& path) : p_(data), size_(size), path_(path) {}

  std::string context;
  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }

  template <class T>
  T read(std::string_view what) {
    if (sizeof(T) > left()) truncated(what, sizeof(T));
    const T v = detail::load_le<T>(p_ + pos_);
    pos_ += sizeof(T);
    return v;
  }
  std::string str(std::string_view what) {
    const uint64_t n = read<uint64_t>(what);
    if (n > left())
      fail(path_, ": ", what, context, " claims ", n, " bytes at offset ", pos_, ", only ", left(), " left in file");
    std::string s(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(n));
    pos_ += n;
    return s;
  }

 private:
  [[noreturn]] void truncated(std::string_view what, uint64_t n) const {
    fail(path_, ": truncated GGUF: ", what, context, " needs ", n, " bytes at offset ", pos_, ", only ", left(),
         " left");
  }
  const uint8_t* p_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& path_;
};

// Real files hold at most a few million metadata array elements (vocabularies,
// merges); each decoded element costs ~48 bytes, so a cap bounds memory even
// for a file that is one giant array.
constexpr uint64_t kMaxArrayElements = uint64_t{1} << 26;

class KvReader {
 public:
  KvReader(Cursor& c, const std::string& path) : c_(c), path_(path) {}

  GgufValue value(GgufType type, const std::string& key, int depth) {
    GgufValue out;
    out.type = type;
    switch (type) {
      case GgufType::UINT8: out.v = uint64_t{c_.read<uint8_t>(kValue)}; break;
      case GgufType::UINT16: out.v = uint64_t{c_.read<uint16_t>(kValue)}; break;
      case GgufType::UINT32: out.v = uint64_t{c_.read<uint32_t>(kValue)}; break;
      case GgufType::UINT64: out.v = c_.read<uint64_t>(kValue); break;
      case GgufType::INT8: out.v = int64_t{c_.read<int8_t>(kValue)}; break;
      case GgufType::INT16: out.v = int64_t{c_.read<int16_t>(kValue)}; break;
      case GgufType::INT32: out.v = int64_t{c_.read<int32_t>(kValue)}; break;
      case GgufType::INT64: out.v = c_.read<int64_t>(kValue); break;
      case GgufType::FLOAT32: out.v = double{std::bit_cast<float>(c_.read<uint32_t>(kValue))}; break;
      case GgufType::FLOAT64: out.v = std::bit_cast<double>(c_.read<uint64_t>(kValue)); break;
      case GgufType::BOOL: out.v = c_.read<uint8_t>(kValue) != 0; break;
      case GgufType::STRING: out.v = c_.str(kValue); break;
      case GgufType::ARRAY: out = array(key, depth); break;
    }
    return out;
  }

  GgufType type(const std::string& key, const char* what) {
    const uint32_t t = c_.read<uint32_t>(what);
    if (!detail::gguf_type_known(t)) fail(path_, ": key '", key, "': unknown GGUF ", what, " ", t);
    return static_cast<GgufType>(t);
  }

 private:
  static constexpr std::string_view kValue = "value";

  GgufValue array(const std::string& key, int depth) {
    if (depth >= detail::kGgufMaxArrayDepth)
      fail(path_, ": key '", key, "': arrays nested deeper than ", detail::kGgufMaxArrayDepth);
    GgufValue out;
    out.type = GgufType::ARRAY;
    out.elem_type = type(key, "array element type");
    const uint64_t n = c_.read<uint64_t>("array length");
    // Smallest possible encoding per element: scalars their size, strings an
    // 8-byte length, arrays a 4-byte type + 8-byte count.
    uint64_t min_elem = detail::gguf_scalar_size(out.elem_type);
    if (out.elem_type == GgufType::STRING) min_elem = 8;
    if (out.elem_type == GgufType::ARRAY) min_elem = 12;
    if (n > c_.left() / min_elem)
      fail(path_, ": key '", key, "': array of ", n, " ", to_string(out.elem_type),
           " elements needs more bytes than the ", c_.left(), " left in file");
    elements_ += n;
    if (elements_ > kMaxArrayElements)
      fail(path_, ": key '", key, "': metadata arrays hold more than ", kMaxArrayElements, " elements in total");
    GgufArray a;
    a.reserve(static_cast<size_t>(n));
    for (uint64_t i = 0; i < n; ++i) a.push_back(value(out.elem_type, key, depth + 1));
    out.v = std::move(a);
    return out;
  }

  Cursor& c_;
  const std::string& path_;
  uint64_t elements_ = 0;
};

struct Info {
  RawTensor t;
  uint64_t offset = 0;
};

Info read_tensor_info(Cursor& c, const std::string& path) {
  Info info;
  info.t.file = path;
  c.context.clear();
  info.t.name = c.str("tensor name");
  c.context = " of tensor '" + info.t.name + "'";
  const std::string where = path + ": tensor '" + info.t.name + "'";
  const uint32_t n_dims = c.read<uint32_t>("n_dims");
  if (n_dims > 4) fail(where, ": n_dims ", n_dims, " exceeds ggml's maximum of 4");
  std::vector<int64_t> ne(n_dims);
  for (uint32_t i = 0; i < n_dims; ++i) {
    const uint64_t d = c.read<uint64_t>("ne");
    if (d > static_cast<uint64_t>(INT64_MAX)) fail(where, ": dimension ", i, " is ", d, ", too large");
    ne[i] = static_cast<int64_t>(d);
  }
  const uint32_t type = c.read<uint32_t>("type");
  info.offset = c.read<uint64_t>("offset");

  if (!detail::dtype_from_ggml(type, &info.t.dtype))
    fail("unsupported ggml type ", type, " (", detail::ggml_type_name(type), ") for tensor '", info.t.name,
         "' in ", path, " (glassbox reads ", detail::ggml_readable_types(), ")");
  // ggml's ne[0] is the innermost (contiguous) dimension; RawTensor is outermost first.
  info.t.shape.assign(ne.rbegin(), ne.rend());
  int64_t numel;
  if (!detail::checked_numel(info.t.shape, &numel))
    fail(where, ": shape ", shape_str(info.t.shape), " has too many elements");
  const int64_t block = dtype_block_size(info.t.dtype);
  // Blocks never straddle rows in ggml, so the row length must be a whole number of blocks.
  if (n_dims > 0 && ne[0] % block != 0)
    fail(where, ": row length ", ne[0], " is not a multiple of the ", dtype_name(info.t.dtype), " block size ", block);
  if (n_dims == 0 && block != 1) fail(where, ": a scalar cannot be ", dtype_name(info.t.dtype));
  info.t.nbytes = dtype_nbytes(info.t.dtype, numel);
  return info;
}

}  // namespace

GgufFile GgufFile::open(const std::string& path) { return open(MappedFile::open(path)); }

GgufFile GgufFile::open(std::shared_ptr<MappedFile> file) {
  GgufFile f;
  f.path_ = file->path();
  f.file_ = std::move(file);
  const std::string& path = f.path_;
  Cursor c(f.file_->data(), f.file_->size(), path);

  if (f.file_->size() < 4) fail(path, ": file is ", f.file_->size(), " bytes, too short to be GGUF");
  const uint32_t magic = c.read<uint32_t>("magic");
  if (magic != detail::kGgufMagic) fail(path, ": not a GGUF file (bad magic; expected \"GGUF\")");
  f.version_ = c.read<uint32_t>("version");
  if (f.version_ == 1)
    fail(path, ": GGUF v1 is not supported (32-bit counts; re-convert the model to v2 or v3)");
  if (f.version_ == 0x02000000u || f.version_ == 0x03000000u)
    fail(path, ": big-endian GGUF is not supported");
  if (f.version_ != 2 && f.version_ != 3)
    fail(path, ": unsupported GGUF version ", f.version_, " (glassbox reads v2 and v3)");

  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  // Minimum encodings: kv = key length 8 + type 4 + 1 value byte; tensor info =
  // name length 8 + n_dims 4 + type 4 + offset 8. Counts beyond what the file
  // could hold are rejected before any allocation.
  if (n_kv > c.left() / 13)
    fail(path, ": metadata count ", n_kv, " is impossible for a file with ", c.left(), " bytes left");
  if (n_tensors > c.left() / 24)
    fail(path, ": tensor count ", n_tensors, " is impossible for a file with ", c.left(), " bytes left");

  KvReader kv(c, path);
  for (uint64_t i = 0; i < n_kv; ++i) {
    c.context.clear();
    std::string key = c.str("metadata key");
    c.context = " of key '" + key + "'";
    const GgufType t = kv.type(key, "value type");
    GgufValue v = kv.value(t, key, 0);
    if (!f.kv_.emplace(key, std::move(v)).second) fail(path, ": duplicate metadata key '", key, "'");
  }

  f.alignment_ = detail::kGgufDefaultAlignment;
  if (const GgufValue* a = f.find_kv("general.alignment")) {
    if (a->type != GgufType::UINT32) fail(path, ": general.alignment must be UINT32, found ", to_string(a->type));
    const uint64_t al = a->as_uint("general.alignment");
    if (al == 0 || (al & (al - 1)) != 0) fail(path, ": general.alignment ", al, " is not a power of two");
    f.alignment_ = static_cast<size_t>(al);
  }

  std::vector<Info> infos;
  infos.reserve(static_cast<size_t>(n_tensors));
  std::set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    infos.push_back(read_tensor_info(c, path));
    if (!names.insert(infos.back().t.name).second)
      fail(path, ": duplicate tensor name '", infos.back().t.name, "'");
  }

  const uint64_t size = f.file_->size();
  const uint64_t data_start = detail::align_up(c.pos(), f.alignment_);  // pos <= size, alignment <= 2^31: no overflow
  if (n_tensors > 0 && data_start > size)
    fail(path, ": truncated GGUF: tensor data would start at offset ", data_start, " past end of file (", size, " bytes)");
  const uint64_t data_size = data_start <= size ? size - data_start : 0;

  for (const Info& in : infos) {
    const std::string where = path + ": tensor '" + in.t.name + "'";
    if (in.offset % f.alignment_ != 0)
      fail(where, ": offset ", in.offset, " is not a multiple of the alignment ", f.alignment_);
    if (in.offset > data_size || in.t.nbytes > data_size - in.offset)
      fail(where, ": bytes [", in.offset, ", ", in.offset, " + ", in.t.nbytes, ") run past the ", data_size,
           "-byte data section (file truncated?)");
  }

  // Sort a copy of the extents by offset so overlaps are neighbour checks; tensors()
  // keeps the file's info order, which is what llama.cpp tools show.
  std::vector<const Info*> by_off;
  for (const Info& in : infos)
    if (in.t.nbytes) by_off.push_back(&in);
  std::sort(by_off.begin(), by_off.end(), [](const Info* a, const Info* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_off.size(); ++i)
    if (by_off[i]->offset < by_off[i - 1]->offset + by_off[i - 1]->t.nbytes)
      fail(path, ": tensors '", by_off[i - 1]->t.name, "' and '", by_off[i]->t.name, "' overlap");

  const uint8_t* data = f.file_->data() + std::min(data_start, size);
  f.tensors_.reserve(infos.size());
  for (Info& in : infos) {
    in.t.data = data + in.offset;
    f.tensors_.push_back(std::move(in.t));
  }
  return f;
}

const GgufValue* GgufFile::find_kv(const std::string& key) const {
  const auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

const GgufValue& GgufFile::kv(const std::string& key) const {
  if (const GgufValue* v = find_kv(key)) return *v;
  fail(path_, ": missing GGUF metadata key '", key, "'");
}

const RawTensor* GgufFile::find(const std::string& name) const {
  for (const RawTensor& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace glassbox
