// HF config.json: the family (model_type, or a TransformerLens config), its
// Config fields, and Config::validate — what Model::load does before it
// touches a weight.
#include "arch/family.h"
#include "fuzz_common.h"

using namespace glassbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j;
  if (!fuzz::parse_json(data, size, j)) return 0;
  const std::string path = "config.json";
  fuzz::accept_errors([&] {
    const detail::Family& fam = detail::family_of(j, path);
    const detail::ConfigSource src{&j, nullptr, path};
    fam.config(src).validate();
  });
  return 0;
}
