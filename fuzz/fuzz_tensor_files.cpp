// Readers on top of safetensors and raw token files, one per first input byte
// (the rest is the file): token files (.bin in llm.c's and nanoGPT's layouts,
// .safetensors), saved activation caches, activation files for dictionaries.
#include "fuzz_common.h"
#include "glassbox/cache.h"
#include "glassbox/features/memory_stream.h"
#include "glassbox/features/model_stream.h"

using namespace glassbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int which = data[0] % 4;
  const std::string ext = which == 0 ? "bin" : "safetensors";
  const std::string path = fuzz::write_temp("tensors." + ext, data + 1, size - 1);
  fuzz::accept_errors([&] {
    switch (which) {
      case 0:
      case 1: {
        for (int32_t t : features::read_token_file(path))
          if (t < 0) std::abort();  // documented: negative ids are an Error
        break;
      }
      case 2: (void)ActivationCache::load(path); break;
      case 3: (void)features::load_activation_file(path); break;
    }
  });
  return 0;
}
