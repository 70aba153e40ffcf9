// SAELens cfg.json (features::load_saelens reads it before the weights):
// architecture, activation, widths, hook, normalisation fields, the SAELens 6
// "metadata" nesting and the old field names.
#include "fuzz_common.h"
#include "glassbox/features/saelens.h"

using namespace glassbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j;
  if (!fuzz::parse_json(data, size, j)) return 0;
  fuzz::accept_errors([&] { (void)features::saelens_cfg_from_json(std::move(j), "cfg.json"); });
  return 0;
}
