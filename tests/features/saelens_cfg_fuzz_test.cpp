// SAELens cfg.json on fuzz-target inputs (fuzz/fuzz_saelens_cfg): d_in of
// 1e300 was undefined behaviour (get<int64_t>() of a float out of range);
// now an Error naming the file and field.
#include <gtest/gtest.h>

#include "glassbox/error.h"
#include "glassbox/features/saelens.h"

namespace glassbox {
namespace {

TEST(SaelensCfgFuzz, IntegerFieldOutOfRangeIsAnError) {
  nlohmann::json j = {{"d_in", 8}, {"d_sae", 16}, {"hook_name", "blocks.0.hook_resid_post"}};
  EXPECT_EQ(features::saelens_cfg_from_json(j, "cfg.json").d_sae, 16);  // the base config reads
  for (const char* bad : {"1e300", "2.5", "1.8446744073709552e19"}) {
    j["d_sae"] = nlohmann::json::parse(bad);
    try {
      (void)features::saelens_cfg_from_json(j, "cfg.json");
      ADD_FAILURE() << bad << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cfg.json: field 'd_sae'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("not an integer in range"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace glassbox
