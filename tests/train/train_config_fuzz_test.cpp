// TrainConfig::from_json on fuzz-target inputs (fuzz/fuzz_train_config): an
// integer field holding a float out of range was undefined behaviour
// (nlohmann's get<int>() casts without a check); now an Error naming the field.
#include <gtest/gtest.h>

#include "glassbox/error.h"
#include "glassbox/train.h"

namespace glassbox {
namespace {

TEST(TrainConfigFuzz, IntegerFieldOutOfRangeIsAnError) {
  for (const char* bad : {"1e300", "-1e300", "1.5", "4294967296"}) {
    try {
      (void)TrainConfig::from_json({{"steps", nlohmann::json::parse(bad)}});
      ADD_FAILURE() << bad << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("\"steps\" must be an integer in range"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(TrainConfig::from_json({{"steps", 7.0}}).steps, 7);  // a whole float still reads
}

}  // namespace
}  // namespace glassbox
