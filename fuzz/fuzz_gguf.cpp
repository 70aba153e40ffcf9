// GGUF: header, metadata key/values (every type, nested arrays), tensor infos
// and extents; then what glassbox reads from a model file's metadata: the
// tokenizer (tokenizer.ggml.*) and the architecture's Config (llama.*, gpt2.*).
#include "arch/family.h"
#include "fuzz_common.h"
#include "glassbox/gguf.h"
#include "glassbox/tokenizer.h"

using namespace glassbox;

namespace {

uint64_t walk(const GgufValue& v, const std::string& key) {
  switch (v.type) {
    case GgufType::STRING: return v.as_string(key).size();
    case GgufType::ARRAY: {
      uint64_t s = 0;
      for (const GgufValue& e : v.as_array(key)) s += walk(e, key);
      return s;
    }
    case GgufType::BOOL: return v.as_bool(key);
    case GgufType::FLOAT32:
    case GgufType::FLOAT64: return v.as_float(key) > 0;
    case GgufType::INT8:
    case GgufType::INT16:
    case GgufType::INT32:
    case GgufType::INT64: return uint64_t(v.as_int(key));
    default: return v.as_uint(key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::accept_errors([&] {
    const GgufFile f = GgufFile::open(MappedFile::from_bytes(data, size, "fuzz.gguf"));
    volatile uint64_t sink = 0;
    for (const auto& [k, v] : f.metadata()) sink = sink + walk(v, k) + to_string(v.type)[0];
    for (const RawTensor& t : f.tensors()) sink = sink + fuzz::touch(t.data, t.nbytes);
    if (f.find_kv("tokenizer.ggml.tokens")) {
      fuzz::accept_errors([&] {
        const Tokenizer tok = Tokenizer::from_gguf(f);
        const std::vector<int32_t> ids = tok.encode("Hello world! <s> 123 \xc3\xa9t\xc3\xa9\n\t  x");
        sink = sink + tok.decode(ids).size();
      });
    }
    if (const GgufValue* arch = f.find_kv("general.architecture"); arch && arch->type == GgufType::STRING) {
      if (const detail::Family* fam = detail::find_family("gguf:" + arch->as_string("general.architecture"))) {
        const detail::ConfigSource src{nullptr, &f, f.path()};
        fam->config(src).validate();
      }
    }
  });
  return 0;
}
