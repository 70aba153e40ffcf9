// GGUF: writer -> reader round trips for v2/v3 and alignments 32/64 with every
// metadata value type, all five tensor dtypes, and a hand-built file that
// checks the reader against the spec independently of our writer.
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>

#include "glassbox/gguf.h"
#include "io/io_test_util.h"

namespace glassbox {
namespace {

GgufValue scalar(GgufType t, std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> v) {
  GgufValue g;
  g.type = t;
  g.v = std::move(v);
  return g;
}

GgufValue array_of(GgufType elem, GgufArray a) {
  GgufValue g;
  g.type = GgufType::ARRAY;
  g.elem_type = elem;
  g.v = std::move(a);
  return g;
}

class GgufRoundTrip : public ::testing::TestWithParam<std::tuple<uint32_t, size_t>> {};

TEST_P(GgufRoundTrip, PreservesEveryValueTypeAndTensorDtype) {
  const auto [version, alignment] = GetParam();
  test::TempDir dir;
  const std::string p = dir.file("rt.gguf");

  GgufWriter w;
  w.set("u8", scalar(GgufType::UINT8, uint64_t{255}));
  w.set("i8", scalar(GgufType::INT8, int64_t{-128}));
  w.set("u16", scalar(GgufType::UINT16, uint64_t{65535}));
  w.set("i16", scalar(GgufType::INT16, int64_t{-32768}));
  w.set("u32", gguf_u32(4000000000u));
  w.set("i32", gguf_i32(-2000000000));
  w.set("f32", gguf_f32(0.1f));
  w.set("bool", gguf_bool(true));
  w.set("str", gguf_str("gpt2 ✓"));
  w.set("empty_str", gguf_str(""));
  w.set("u64", scalar(GgufType::UINT64, std::numeric_limits<uint64_t>::max()));
  w.set("i64", scalar(GgufType::INT64, std::numeric_limits<int64_t>::min()));
  w.set("f64", scalar(GgufType::FLOAT64, 1.0 / 3.0));
  w.set("tokens", gguf_str_array({"a", "", "Ġthe"}));
  w.set("scores", gguf_f32_array({-1.5f, 0.0f, 2.25f}));
  w.set("types", gguf_i32_array({1, -2, 3}));
  w.set("empty_arr", gguf_i32_array({}));
  w.set("bools", array_of(GgufType::BOOL, {gguf_bool(false), gguf_bool(true)}));
  w.set("nested", array_of(GgufType::ARRAY, {gguf_i32_array({1, 2}), gguf_i32_array({}), gguf_i32_array({3})}));
  w.set("nested_str", array_of(GgufType::ARRAY, {gguf_str_array({"x", "y"})}));

  std::vector<float> f32(5 * 3);
  for (size_t i = 0; i < f32.size(); ++i) f32[i] = static_cast<float>(i) * 0.5f - 3.0f;
  const uint16_t f16[8] = {0x3c00, 0x4000, 0xc000, 0, 0x7bff, 0x0001, 0x8000, 0x3800};
  const uint16_t bf16[7] = {0x3f80, 0x4000, 0xbf80, 0, 0x7f7f, 0x0001, 0x8000};
  std::vector<float> src(2 * 64);
  for (size_t i = 0; i < src.size(); ++i) src[i] = std::sin(static_cast<float>(i));
  const auto q8 = quantize_q8_0(src.data(), 128);
  const auto q4 = quantize_q4_0(src.data(), 64);
  const float four_d[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const float one = 42.0f;
  w.tensors = {
      {"token_embd.weight", DType::F32, {5, 3}, f32.data(), f32.size() * 4},
      {"f16", DType::F16, {2, 4}, f16, sizeof f16},
      {"bf16", DType::BF16, {7}, bf16, sizeof bf16},
      {"q8", DType::Q8_0, {2, 64}, q8.data(), q8.size()},
      {"q4", DType::Q4_0, {2, 32}, q4.data(), q4.size()},
      {"four_d", DType::F32, {2, 1, 3, 2}, four_d, sizeof four_d},
      {"scalar", DType::F32, {}, &one, 4},
      {"empty", DType::F32, {0, 3}, nullptr, 0},
  };
  w.save(p, version, alignment);

  const auto bytes = test::read_bytes(p);
  EXPECT_EQ(bytes.size() % alignment, 0u);  // every tensor, the last included, is padded

  const auto f = GgufFile::open(p);
  EXPECT_EQ(f.version(), version);
  EXPECT_EQ(f.alignment(), alignment);
  EXPECT_EQ(f.kv("u8").as_uint("u8"), 255u);
  EXPECT_EQ(f.kv("u8").type, GgufType::UINT8);
  EXPECT_EQ(f.kv("i8").as_int("i8"), -128);
  EXPECT_EQ(f.kv("u16").as_uint("u16"), 65535u);
  EXPECT_EQ(f.kv("i16").as_int("i16"), -32768);
  EXPECT_EQ(f.kv("u32").as_uint("u32"), 4000000000u);
  EXPECT_EQ(f.kv("i32").as_int("i32"), -2000000000);
  EXPECT_EQ(f.kv("f32").as_float("f32"), static_cast<double>(0.1f));
  EXPECT_EQ(f.kv("f32").type, GgufType::FLOAT32);
  EXPECT_TRUE(f.kv("bool").as_bool("bool"));
  EXPECT_EQ(f.kv("str").as_string("str"), "gpt2 ✓");
  EXPECT_EQ(f.kv("empty_str").as_string("empty_str"), "");
  EXPECT_EQ(f.kv("u64").as_uint("u64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(f.kv("i64").as_int("i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.kv("f64").as_float("f64"), 1.0 / 3.0);
  EXPECT_EQ(f.kv("f64").type, GgufType::FLOAT64);

  const auto& tokens = f.kv("tokens").as_array("tokens");
  EXPECT_EQ(f.kv("tokens").elem_type, GgufType::STRING);
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[2].as_string("tokens"), "Ġthe");
  EXPECT_EQ(tokens[1].as_string("tokens"), "");
  const auto& scores = f.kv("scores").as_array("scores");
  ASSERT_EQ(scores.size(), 3u);
  EXPECT_EQ(scores[2].as_float("scores"), 2.25);
  EXPECT_EQ(f.kv("types").as_array("types")[1].as_int("types"), -2);
  EXPECT_TRUE(f.kv("empty_arr").as_array("empty_arr").empty());
  EXPECT_EQ(f.kv("empty_arr").elem_type, GgufType::INT32);
  EXPECT_TRUE(f.kv("bools").as_array("bools")[1].as_bool("bools"));
  const auto& nested = f.kv("nested").as_array("nested");
  ASSERT_EQ(nested.size(), 3u);
  EXPECT_EQ(nested[0].elem_type, GgufType::INT32);
  EXPECT_EQ(nested[0].as_array("nested")[1].as_int("nested"), 2);
  EXPECT_TRUE(nested[1].as_array("nested").empty());
  EXPECT_EQ(nested[2].as_array("nested")[0].as_int("nested"), 3);
  EXPECT_EQ(f.kv("nested_str").as_array("n")[0].as_array("n")[1].as_string("n"), "y");
  // general.alignment is written only when it is not the default.
  EXPECT_EQ(f.find_kv("general.alignment") != nullptr, alignment != 32);

  ASSERT_EQ(f.tensors().size(), w.tensors.size());
  const auto* base = f.mapping()->data();
  for (size_t i = 0; i < w.tensors.size(); ++i) {
    const RawTensor& t = f.tensors()[i];
    const TensorToWrite& in = w.tensors[i];
    SCOPED_TRACE(in.name);
    EXPECT_EQ(t.name, in.name);
    EXPECT_EQ(t.dtype, in.dtype);
    EXPECT_EQ(t.shape, in.shape);
    EXPECT_EQ(t.file, p);
    ASSERT_EQ(t.nbytes, in.nbytes);
    EXPECT_EQ((static_cast<const uint8_t*>(t.data) - base) % static_cast<std::ptrdiff_t>(alignment), 0);
    if (t.nbytes) {
      EXPECT_EQ(std::memcmp(t.data, in.data, t.nbytes), 0);
    }
  }

  // Quantised tensors dequantise to within their step of the source.
  std::vector<float> back(128);
  to_f32(back.data(), f.find("q8")->data, DType::Q8_0, 128);
  for (size_t i = 0; i < 128; ++i) EXPECT_NEAR(back[i], src[i], 1.0 / 127 * 0.6);
  to_f32(back.data(), f.find("q4")->data, DType::Q4_0, 64);
  for (size_t i = 0; i < 64; ++i) EXPECT_NEAR(back[i], src[i], 1.0 / 8 * 1.01);
}

INSTANTIATE_TEST_SUITE_P(VersionsAndAlignments, GgufRoundTrip,
                         ::testing::Combine(::testing::Values(2u, 3u), ::testing::Values(size_t{32}, size_t{64})),
                         [](const auto& info) {
                           // Built with += : GCC 12 gives a false -Wrestrict on "literal" + std::string.
                           std::string name = "v";
                           name += std::to_string(std::get<0>(info.param));
                           name += "_align";
                           name += std::to_string(std::get<1>(info.param));
                           return name;
                         });

TEST(Gguf, ReadsAHandBuiltFileAndReversesNe) {
  // A llama.cpp-style linear weight: ne = [in=4, out=3] must read as shape [3, 4].
  test::Bytes b;
  b.raw("GGUF").u32(3).u64(1).u64(2);
  b.str("general.architecture").u32(8).str("llama");
  b.str("llama.context_length").u32(4).u32(2048);
  b.str("blk.0.attn_q.weight").u32(2).u64(4).u64(3).u32(0).u64(0);
  b.pad_to(32);
  for (int i = 0; i < 12; ++i) b.le(static_cast<float>(i));
  test::TempDir dir;
  const std::string p = dir.file("hand.gguf");
  test::write_bytes(p, b.b);

  const auto f = GgufFile::open(p);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.kv("general.architecture").as_string("general.architecture"), "llama");
  EXPECT_EQ(f.kv("llama.context_length").as_uint("llama.context_length"), 2048u);
  const RawTensor* t = f.find("blk.0.attn_q.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(t->numel(), 12);
  EXPECT_EQ(static_cast<const float*>(t->data)[11], 11.0f);
  EXPECT_EQ(f.find("nope"), nullptr);
}

TEST(Gguf, FileWithOnlyMetadataNeedsNoDataPadding) {
  test::Bytes b;
  b.raw("GGUF").u32(2).u64(0).u64(1).str("k").u32(7).u8(1);
  test::TempDir dir;
  const std::string p = dir.file("meta.gguf");
  test::write_bytes(p, b.b);
  const auto f = GgufFile::open(p);
  EXPECT_TRUE(f.kv("k").as_bool("k"));
  EXPECT_TRUE(f.tensors().empty());
}

TEST(GgufValue, AccessorsConvertWhenTheValueFitsAndNameTheKeyOtherwise) {
  EXPECT_EQ(gguf_i32(5).as_uint("k"), 5u);
  EXPECT_EQ(gguf_u32(7).as_int("k"), 7);
  EXPECT_EQ(gguf_u32(7).as_float("k"), 7.0);
  EXPECT_TRUE(test::ThrowsError([] { gguf_i32(-1).as_uint("llama.block_count"); },
                                {"llama.block_count", "negative"}));
  EXPECT_TRUE(test::ThrowsError([] { gguf_str("x").as_int("general.name"); }, {"general.name", "STRING"}));
  EXPECT_TRUE(test::ThrowsError([] { gguf_u32(1).as_string("k"); }, {"'k'", "expected STRING", "UINT32"}));
  EXPECT_TRUE(test::ThrowsError([] { gguf_u32(1).as_bool("k"); }, {"expected BOOL"}));
  EXPECT_TRUE(test::ThrowsError([] { gguf_u32(1).as_array("k"); }, {"expected ARRAY"}));
  EXPECT_TRUE(test::ThrowsError([] { gguf_bool(true).as_float("k"); }, {"expected a number"}));
  EXPECT_TRUE(
      test::ThrowsError([] { scalar(GgufType::UINT64, UINT64_MAX).as_int("k"); }, {"does not fit"}));
}

TEST(Gguf, MissingKeyErrorNamesPathAndKey) {
  test::TempDir dir;
  const std::string p = dir.file("k.gguf");
  GgufWriter w;
  w.set("a", gguf_u32(1));
  w.save(p);
  const auto f = GgufFile::open(p);
  EXPECT_EQ(f.find_kv("b"), nullptr);
  EXPECT_TRUE(test::ThrowsError([&] { f.kv("llama.embedding_length"); }, {p, "llama.embedding_length"}));
}

TEST(GgufWriter, RejectsValuesThatDoNotFitTheirType) {
  test::TempDir dir;
  const std::string p = dir.file("bad.gguf");
  auto save_with = [&](GgufValue v) {
    GgufWriter w;
    w.set("key", std::move(v));
    w.save(p);
  };
  EXPECT_TRUE(test::ThrowsError([&] { save_with(scalar(GgufType::UINT8, uint64_t{256})); }, {p, "'key'", "UINT8"}));
  EXPECT_TRUE(test::ThrowsError([&] { save_with(scalar(GgufType::INT16, int64_t{-40000})); }, {"'key'", "INT16"}));
  EXPECT_TRUE(test::ThrowsError([&] { save_with(array_of(GgufType::INT32, {gguf_i32(1), gguf_str("x")})); },
                                {"'key'", "array of INT32 holds a STRING"}));
  EXPECT_TRUE(test::ThrowsError([&] { save_with(scalar(GgufType::STRING, uint64_t{1})); }, {"'key'", "STRING"}));
  EXPECT_FALSE(std::filesystem::exists(p));
}

TEST(GgufWriter, RejectsBadLayoutRequests) {
  test::TempDir dir;
  const std::string p = dir.file("bad.gguf");
  GgufWriter w;
  EXPECT_TRUE(test::ThrowsError([&] { w.save(p, 1); }, {"version 1"}));
  EXPECT_TRUE(test::ThrowsError([&] { w.save(p, 3, 48); }, {"alignment 48", "power of two"}));
  EXPECT_TRUE(test::ThrowsError([&] { w.save(p, 3, 0); }, {"alignment 0"}));
  w.set("general.alignment", gguf_u32(64));
  EXPECT_TRUE(test::ThrowsError([&] { w.save(p, 3, 32); }, {"general.alignment"}));
  w.save(p, 3, 64);  // agreeing is fine
  EXPECT_EQ(GgufFile::open(p).alignment(), 64u);
  w.set("general.alignment", gguf_u32(64));
  EXPECT_TRUE(test::ThrowsError([&] { w.save(p, 3, 64); }, {"duplicate metadata key 'general.alignment'"}));
}

TEST(GgufWriter, RejectsBadTensors) {
  test::TempDir dir;
  const std::string p = dir.file("bad.gguf");
  std::vector<uint8_t> buf(1024);
  auto save_one = [&](TensorToWrite t) {
    GgufWriter w;
    w.tensors = {t};
    w.save(p);
  };
  EXPECT_TRUE(test::ThrowsError([&] { save_one({"w", DType::Q8_0, {2, 16}, buf.data(), 34}); },
                                {"tensor 'w'", "multiple of the Q8_0 block size 32"}));
  EXPECT_TRUE(test::ThrowsError([&] { save_one({"w", DType::F32, {1, 1, 1, 1, 1}, buf.data(), 4}); },
                                {"tensor 'w'", "at most 4"}));
  EXPECT_TRUE(test::ThrowsError([&] { save_one({"w", DType::I32, {1}, buf.data(), 4}); },
                                {"tensor 'w'", "I32", "cannot be written"}));
  EXPECT_TRUE(test::ThrowsError([&] { save_one({"w", DType::F16, {3}, buf.data(), 8}); },
                                {"tensor 'w'", "8 bytes, need 6"}));
  EXPECT_TRUE(test::ThrowsError(
      [&] {
        GgufWriter w;
        w.tensors = {{"w", DType::F32, {1}, buf.data(), 4}, {"w", DType::F32, {1}, buf.data(), 4}};
        w.save(p);
      },
      {"duplicate tensor name"}));
}

}  // namespace
}  // namespace glassbox
