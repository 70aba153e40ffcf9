// Intervention JSON files (glassbox run --interventions): one object or a
// list; "patch" ones name a source activation cache relative to the file.
#include "fuzz_common.h"
#include "glassbox/interventions.h"

using namespace glassbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j;
  if (!fuzz::parse_json(data, size, j)) return 0;
  fuzz::accept_errors([&] {
    // As load_interventions(path) does, with sources relative to the file's directory.
    volatile size_t sink = interventions_from_json(j, fuzz::temp_dir()).size();
    (void)sink;
  });
  return 0;
}
