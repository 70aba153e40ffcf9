// Every JSON file glassbox reads goes through read_json_file, so a broken file
// is an Error naming it, never nlohmann's own exception.
#include <gtest/gtest.h>

#include <fstream>

#include "glassbox/json_file.h"
#include "io/io_test_util.h"

namespace glassbox {
namespace {

TEST(JsonFile, MalformedFileIsAnErrorNamingIt) {
  test::TempDir d;
  const std::string p = d.file("broken.json");
  std::ofstream(p) << "{\"steps\": 3,";
  EXPECT_TRUE(test::ThrowsError([&] { read_json_file(p); }, {p, "malformed JSON"}));
}

TEST(JsonFile, MissingFileIsAnErrorNamingIt) {
  test::TempDir d;
  const std::string p = d.file("absent.json");
  EXPECT_TRUE(test::ThrowsError([&] { read_json_file(p); }, {p, "cannot open"}));
}

TEST(JsonFile, ReadsAWellFormedFile) {
  test::TempDir d;
  const std::string p = d.file("ok.json");
  std::ofstream(p) << R"({"a": [1, 2]})";
  EXPECT_EQ(read_json_file(p)["a"][1], 2);
}

}  // namespace
}  // namespace glassbox
