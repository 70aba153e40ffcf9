// llama.cpp control-vector GGUF files (glassbox steer --control-vector),
// read through their one entry point, which takes a path.
#include "fuzz_common.h"
#include "glassbox/steering/control_vector.h"

using namespace glassbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_temp("control.gguf", data, size);
  fuzz::accept_errors([&] {
    const steering::ControlVector cv = steering::read_control_vector(path);
    volatile float sink = 0;
    for (const auto& [layer, v] : cv.directions) {
      if (layer <= 0 || int64_t(v.size()) != cv.n_embd) std::abort();
      for (float x : v) sink = sink + x;
    }
  });
  return 0;
}
