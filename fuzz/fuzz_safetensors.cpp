// safetensors: header length, JSON header, dtypes, shapes, data_offsets.
#include "fuzz_common.h"
#include "glassbox/safetensors.h"

using namespace glassbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::accept_errors([&] {
    const SafetensorsFile f = SafetensorsFile::open(MappedFile::from_bytes(data, size, "fuzz.safetensors"));
    volatile uint64_t sink = 0;
    for (const RawTensor& t : f.tensors()) {
      if (int64_t(t.nbytes) != int64_t(dtype_nbytes(t.dtype, t.numel()))) std::abort();  // nbytes agrees with shape
      sink = sink + fuzz::touch(t.data, t.nbytes);
    }
    for (const auto& [k, v] : f.metadata()) sink = sink + k.size() + v.size();
  });
  return 0;
}
