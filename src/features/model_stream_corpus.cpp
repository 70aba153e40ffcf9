// Corpora for the activation stream: token files as nanoGPT, llm.c and
// safetensors users have them, and text through the model's tokenizer.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "glassbox/error.h"
#include "glassbox/features/model_stream.h"
#include "glassbox/mmap_file.h"
#include "glassbox/safetensors.h"
#include "glassbox/tokenizer.h"

namespace fs = std::filesystem;

namespace glassbox::features {

namespace {

constexpr int32_t kLlmcMagic = 20240520;  // llm.c's dev/data/data_common.py
constexpr size_t kLlmcHeaderInts = 256;

void require_readable(const std::string& path, const char* what) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path, ": ", what, " not found");
  if (fs::is_directory(path, ec)) fail(path, ": ", what, " is a directory, expected a file");
}

std::vector<int32_t> from_u16(const uint8_t* p, size_t n) {
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = int32_t(p[2 * i] | (uint16_t(p[2 * i + 1]) << 8));
  return ids;
}

std::vector<int32_t> read_bin(const std::string& path) {
  if (fs::file_size(path) == 0) return {};
  const auto f = MappedFile::open(path);
  const auto* p = static_cast<const uint8_t*>(f->data());
  const size_t n = f->size();
  int32_t header[3] = {0, 0, 0};
  if (n >= sizeof(header)) std::memcpy(header, p, sizeof(header));
  if (n >= kLlmcHeaderInts * 4 && header[0] == kLlmcMagic) {
    // llm.c: header[1] = version (1: uint16 tokens), header[2] = token count.
    if (header[1] != 1)
      fail(path, ": llm.c token file version ", header[1], " is not supported (expected 1: uint16 tokens)");
    const size_t want = kLlmcHeaderInts * 4 + size_t(header[2]) * 2;
    if (header[2] < 0 || n != want)
      fail(path, ": llm.c header says ", header[2], " tokens (", want, " bytes) but the file has ", n, " bytes");
    return from_u16(p + kLlmcHeaderInts * 4, size_t(header[2]));
  }
  if (n % 2) fail(path, ": ", n, " bytes is not a whole number of uint16 tokens (nanoGPT .bin)");
  return from_u16(p, n / 2);
}

std::vector<int32_t> read_safetensors_tokens(const std::string& path) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  const RawTensor* t = f.find("tokens");
  if (!t) {
    if (f.tensors().size() != 1)
      fail(path, ": expected one integer tensor, or one named \"tokens\"; found ", f.tensors().size(), " tensors");
    t = &f.tensors()[0];
  }
  const int64_t n = t->numel();
  std::vector<int32_t> ids(size_t(n), 0);
  auto copy = [&](auto tag) {
    using T = decltype(tag);
    const auto* src = static_cast<const uint8_t*>(t->data);
    for (int64_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, src + size_t(i) * sizeof(T), sizeof(T));
      if (v < 0 || int64_t(v) > INT32_MAX) fail(path, ": tensor '", t->name, "' holds ", int64_t(v), " at index ", i, ", not a token id");
      ids[size_t(i)] = int32_t(v);
    }
  };
  switch (t->dtype) {
    case DType::I32: copy(int32_t{}); break;
    case DType::I64: copy(int64_t{}); break;
    case DType::I16: copy(int16_t{}); break;
    case DType::U8: copy(uint8_t{}); break;
    default:
      fail(path, ": tensor '", t->name, "' has dtype ", dtype_name(t->dtype), ", expected an integer type (I32, I64, I16, U8)");
  }
  return ids;
}

}  // namespace

bool is_token_file(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  return ext == ".bin" || ext == ".safetensors";
}

std::vector<int32_t> read_token_file(const std::string& path) {
  require_readable(path, "token file");
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".safetensors") return read_safetensors_tokens(path);
  if (ext == ".bin") return read_bin(path);
  fail(path, ": unknown token file type '", ext, "' (expected .bin: nanoGPT / llm.c uint16, or .safetensors)");
}

std::vector<int32_t> tokenize_text_file(const Tokenizer& tok, const std::string& path, bool add_special) {
  require_readable(path, "corpus");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot read the corpus");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(path, ": read error in the corpus");
  const std::string text = ss.str();
  if (text.empty()) fail(path, ": the corpus is empty");
  return tok.encode(text, add_special, /*parse_special=*/false);
}

}  // namespace glassbox::features
