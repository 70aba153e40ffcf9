// Per-request profiles (glassbox generate --profile, the server's "profile"
// field): the interventions and monitors of one request, then the check
// against a model's Config that runs before anything is attached, then the
// round trip through to_json (what save_profile writes, load_profile reads).
// Monitor JSON (glassbox monitor) is covered through the "monitors" list.
#include "fuzz_common.h"
#include "glassbox/steering/profile.h"

using namespace glassbox;

namespace {

Config small_config() {  // the shape of the tiny organisms: 3 layers, width 8
  Config c;
  c.d_model = 8;
  c.n_layers = 3;
  c.n_heads = 2;
  c.n_kv_heads = 2;
  c.d_head = 4;
  c.d_mlp = 16;
  c.d_vocab = 10;
  c.n_ctx = 8;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j;
  if (!fuzz::parse_json(data, size, j)) return 0;
  static const Config c = small_config();
  fuzz::accept_errors([&] {
    // Probe files named by a monitor are read relative to the document's directory.
    const steering::Profile p = steering::Profile::from_json(j, fuzz::temp_dir(), "profile.json");
    const nlohmann::json once = p.to_json();
    if (steering::Profile::from_json(once, fuzz::temp_dir()).to_json() != once) std::abort();  // what we write we read
    p.check_fits(c, "profile.json");
  });
  return 0;
}
