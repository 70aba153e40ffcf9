// Training configs (glassbox train --config): TrainConfig::from_json, and its
// round trip through to_json.
#include "fuzz_common.h"
#include "glassbox/train.h"

using namespace glassbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j;
  if (!fuzz::parse_json(data, size, j)) return 0;
  fuzz::accept_errors([&] {
    const TrainConfig c = TrainConfig::from_json(j);
    const TrainConfig back = TrainConfig::from_json(c.to_json());  // what we write we read
    if (back.to_json() != c.to_json()) std::abort();
  });
  return 0;
}
