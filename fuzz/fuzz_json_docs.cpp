// The other JSON documents glassbox reads, one per first input byte (the rest
// is the file): steering vectors (glassbox steer), feature examples and
// explanations (glassbox explain), harvest manifests (resumed harvests),
// patching metrics (glassbox patch --metric).
#include <filesystem>

#include "fuzz_common.h"
#include "glassbox/analysis/patching.h"
#include "glassbox/features/autointerp.h"
#include "glassbox/features/explain.h"
#include "glassbox/features/harvest.h"
#include "glassbox/json_file.h"
#include "glassbox/steering/direction.h"

using namespace glassbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int which = data[0] % 5;
  const std::string path = fuzz::write_temp("manifest.json", data + 1, size - 1);
  fuzz::accept_errors([&] {
    switch (which) {
      case 0: (void)steering::load_steering_json(path); break;
      case 1: (void)features::read_feature_examples(path); break;
      case 2: (void)features::explanation_from_json(read_json_file(path)); break;
      case 3: (void)features::read_harvest_manifest(fuzz::temp_dir()); break;
      case 4: (void)analysis::PatchMetric::from_json(read_json_file(path)); break;
    }
  });
  return 0;
}
