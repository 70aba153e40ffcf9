// Config readers on inputs from the fuzz targets (fuzz/fuzz_hf_config,
// fuzz_gguf): integer fields that do not fit are Errors naming the file and
// key, not undefined behaviour (get<int>() of 1e300) or a wrapped count.
#include <gtest/gtest.h>

#include <cmath>

#include "arch/family.h"
#include "core/json_integer.h"
#include "glassbox/gguf.h"
#include "test_util.h"

namespace glassbox {
namespace {

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ConfigFuzzRegressions, HfConfigIntegerFieldThatIsAHugeFloat) {
  nlohmann::json j = nlohmann::json::parse(
      R"({"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 8, "n_positions": 16, "vocab_size": 10})");
  const detail::ConfigSource src{&j, nullptr, "config.json"};
  EXPECT_EQ(detail::family_of(j, "config.json").config(src).n_layers, 2);  // the base config reads
  for (const char* bad : {"1e300", "-1e300", "2.5", "4294967298"}) {
    j["n_layer"] = nlohmann::json::parse(bad);
    const std::string msg = error_of([&] { (void)detail::family_of(j, "config.json").config(src); });
    EXPECT_NE(msg.find("config.json: field \"n_layer\" must be an integer in range"), std::string::npos)
        << bad << ": " << msg;
  }
  j["n_layer"] = 3.0;  // a whole number written as a float still reads
  EXPECT_EQ(detail::family_of(j, "config.json").config(src).n_layers, 3);
}

TEST(ConfigFuzzRegressions, GgufCountBeyondInt) {
  gbtest::TempDir dir;
  const std::string p = dir / "m.gguf";
  GgufWriter w;
  w.set("general.architecture", gguf_str("llama"));
  w.set("llama.embedding_length", gguf_u32(16));  // read before block_count
  GgufValue huge;
  huge.type = GgufType::UINT64;
  huge.v = uint64_t{1} << 33 | 2;  // wrapped to int this was 2 layers
  w.set("llama.block_count", huge);
  w.save(p);
  const GgufFile f = GgufFile::open(p);
  const detail::ConfigSource src{nullptr, &f, p};
  const std::string msg = error_of([&] { (void)detail::find_family("gguf:llama")->config(src); });
  EXPECT_NE(msg.find("llama.block_count = 8589934594 is out of range"), std::string::npos) << msg;
}

TEST(JsonIntegerFits, RangesOfEachType) {
  using nlohmann::json;
  EXPECT_TRUE(detail::json_integer_fits<int32_t>(json(2147483647)));
  EXPECT_FALSE(detail::json_integer_fits<int32_t>(json(2147483648LL)));
  EXPECT_FALSE(detail::json_integer_fits<int32_t>(json(-2147483649LL)));
  EXPECT_TRUE(detail::json_integer_fits<int32_t>(json(-2147483648LL)));
  EXPECT_FALSE(detail::json_integer_fits<uint32_t>(json(-1)));
  EXPECT_TRUE(detail::json_integer_fits<uint64_t>(json(UINT64_MAX)));
  EXPECT_FALSE(detail::json_integer_fits<int64_t>(json(UINT64_MAX)));
  EXPECT_TRUE(detail::json_integer_fits<int64_t>(json(-4.0)));
  EXPECT_FALSE(detail::json_integer_fits<int64_t>(json(9.3e18)));  // above 2^63
  EXPECT_FALSE(detail::json_integer_fits<int>(json(std::nan(""))));
  EXPECT_FALSE(detail::json_integer_fits<int>(json(0.5)));
  EXPECT_TRUE(detail::json_integer_fits<int>(json("text")));  // not a number: get<int>() throws its own error
}

}  // namespace
}  // namespace glassbox
