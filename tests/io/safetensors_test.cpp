// safetensors: round trips through save_safetensors, and every kind of bad
// header the reader must turn into an Error before touching data.
#include <cstring>

#include "glassbox/safetensors.h"
#include "io/io_test_util.h"

namespace glassbox {
namespace {

// A file from a literal JSON header and `data_bytes` bytes of data (value i % 251).
std::vector<uint8_t> make_file(const std::string& header, size_t data_bytes) {
  test::Bytes b;
  b.u64(header.size()).raw(header);
  for (size_t i = 0; i < data_bytes; ++i) b.u8(static_cast<uint8_t>(i % 251));
  return b.b;
}

class SafetensorsBad : public ::testing::Test {
 protected:
  // Writes a file and expects open() to fail with a message holding every needle.
  ::testing::AssertionResult rejects(const std::vector<uint8_t>& bytes, std::initializer_list<std::string> needles) {
    test::write_bytes(path, bytes);
    return test::ThrowsError([&] { SafetensorsFile::open(path); }, needles);
  }
  test::TempDir dir;
  std::string path = dir.file("model.safetensors");
};

TEST(Safetensors, RoundTripsEveryDtypeShapeAndMetadata) {
  test::TempDir dir;
  const std::string p = dir.file("rt.safetensors");
  const float f32[6] = {1, -2, 3.5f, 0, 1e-8f, 65504};
  const uint16_t f16[4] = {0x3c00, 0xc000, 0x7c00, 0x0001};
  const uint16_t bf16[2] = {0x3f80, 0x8000};
  const double f64[1] = {3.14159};
  const int64_t i64[3] = {-1, 0, INT64_MAX};
  const int32_t i32[2] = {7, -7};
  const int16_t i16[2] = {300, -300};
  const int8_t i8[3] = {-128, 0, 127};
  const uint8_t u8[1] = {200};
  const uint8_t b[2] = {1, 0};
  const std::vector<TensorToWrite> in = {
      {"h.0.attn.c_attn.weight", DType::F32, {2, 3}, f32, sizeof f32},
      {"f16", DType::F16, {2, 2}, f16, sizeof f16},
      {"bf16", DType::BF16, {2}, bf16, sizeof bf16},
      {"scalar", DType::F64, {}, f64, sizeof f64},
      {"i64", DType::I64, {3}, i64, sizeof i64},
      {"i32", DType::I32, {2, 1}, i32, sizeof i32},
      {"i16", DType::I16, {1, 2}, i16, sizeof i16},
      {"i8", DType::I8, {3}, i8, sizeof i8},
      {"u8", DType::U8, {1, 1, 1}, u8, sizeof u8},
      {"bool", DType::BOOL, {2}, b, sizeof b},
      {"empty", DType::F32, {0, 4}, nullptr, 0},
  };
  save_safetensors(p, in, {{"format", "pt"}, {"note", "ünïcödé"}});

  const auto f = SafetensorsFile::open(p);
  EXPECT_EQ(f.path(), p);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("note"), "ünïcödé");
  ASSERT_EQ(f.tensors().size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const RawTensor& t = f.tensors()[i];  // file order is write order
    SCOPED_TRACE(in[i].name);
    EXPECT_EQ(t.name, in[i].name);
    EXPECT_EQ(t.dtype, in[i].dtype);
    EXPECT_EQ(t.shape, in[i].shape);
    EXPECT_EQ(t.file, p);
    ASSERT_EQ(t.nbytes, in[i].nbytes);
    if (t.nbytes) {
      EXPECT_EQ(std::memcmp(t.data, in[i].data, t.nbytes), 0);
    }
  }
  EXPECT_EQ(f.find("scalar")->numel(), 1);
  EXPECT_EQ(f.find("empty")->numel(), 0);
  EXPECT_EQ(f.find("h.0.attn.c_attn.weight")->numel(), 6);
  EXPECT_EQ(f.find("missing"), nullptr);
  EXPECT_EQ(f.mapping()->path(), p);
}

TEST(Safetensors, HeaderIsPaddedWithSpacesToAMultipleOf8) {
  test::TempDir dir;
  const std::string p = dir.file("pad.safetensors");
  const uint8_t x[3] = {1, 2, 3};
  for (int name_len = 1; name_len <= 8; ++name_len) {
    save_safetensors(p, {{std::string(name_len, 'a'), DType::U8, {3}, x, 3}});
    const auto b = test::read_bytes(p);
    uint64_t n;
    std::memcpy(&n, b.data(), 8);
    EXPECT_EQ(n % 8, 0u);
    EXPECT_EQ(b.size(), 8 + n + 3);
    EXPECT_EQ(b[0 + 8], '{');
    size_t last = 8 + n - 1;
    while (b[last] == ' ') --last;
    EXPECT_EQ(b[last], '}');
  }
}

TEST(Safetensors, EmptyFileWithNoTensorsRoundTrips) {
  test::TempDir dir;
  const std::string p = dir.file("none.safetensors");
  save_safetensors(p, {});
  EXPECT_TRUE(SafetensorsFile::open(p).tensors().empty());
}

TEST(Safetensors, ReadsHeaderOrderIndependentlyOfFileOrder) {
  test::TempDir dir;
  const std::string p = dir.file("order.safetensors");
  test::write_bytes(p, make_file(R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
                                 R"("a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
                                 4));
  const auto f = SafetensorsFile::open(p);
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[0].name, "a");
  EXPECT_EQ(static_cast<const uint8_t*>(f.find("b")->data)[0], 2);
}

TEST_F(SafetensorsBad, RejectsFileTooShortForHeaderLength) {
  EXPECT_TRUE(rejects({1, 2, 3}, {path, "too short"}));
  EXPECT_TRUE(rejects({}, {path, "too short"}));
}

TEST_F(SafetensorsBad, RejectsHeaderLengthPastEndOfFile) {
  test::Bytes b;
  b.u64(1000).raw("{}");
  EXPECT_TRUE(rejects(b.b, {path, "header length 1000", "past end of file"}));
}

TEST_F(SafetensorsBad, RejectsAbsurdHeaderLength) {
  test::Bytes b;
  b.u64(uint64_t{1} << 63).raw("{}");
  EXPECT_TRUE(rejects(b.b, {path, "header length"}));
  b.b.clear();
  b.u64(UINT64_MAX);
  EXPECT_TRUE(rejects(b.b, {path, "header length"}));
}

TEST_F(SafetensorsBad, RejectsMalformedHeaderJson) {
  EXPECT_TRUE(rejects(make_file(R"({"a": {"dtype": "F32", )", 0), {path, "malformed header JSON"}));
  EXPECT_TRUE(rejects(make_file("\xff\xfe{}", 0), {path, "malformed header JSON"}));
  EXPECT_TRUE(rejects(make_file(R"({"a":1} trailing)", 0), {path, "malformed header JSON"}));
}

TEST_F(SafetensorsBad, RejectsHeaderThatIsNotAnObject) {
  EXPECT_TRUE(rejects(make_file("[1, 2]  ", 0), {path, "must be a JSON object"}));
}

TEST_F(SafetensorsBad, RejectsUnknownDtype) {
  EXPECT_TRUE(rejects(make_file(R"({"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1),
                      {path, "tensor 'w'", "unknown dtype 'F8_E4M3'"}));
  EXPECT_TRUE(rejects(make_file(R"({"w":{"dtype":7,"shape":[1],"data_offsets":[0,1]}})", 1), {"tensor 'w'", "dtype"}));
}

TEST_F(SafetensorsBad, RejectsMissingOrMistypedFields) {
  EXPECT_TRUE(rejects(make_file(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4), {"tensor 'w'", "dtype"}));
  EXPECT_TRUE(rejects(make_file(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4), {"tensor 'w'", "shape"}));
  EXPECT_TRUE(rejects(make_file(R"({"w":{"dtype":"F32","shape":[1]}})", 4), {"tensor 'w'", "data_offsets"}));
  EXPECT_TRUE(rejects(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4), {"data_offsets"}));
  EXPECT_TRUE(rejects(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}})", 4), {"data_offsets"}));
  EXPECT_TRUE(rejects(make_file(R"({"w":[1,2,3]})", 4), {"tensor 'w'", "expected an object"}));
}

TEST_F(SafetensorsBad, RejectsNegativeOrFractionalShape) {
  EXPECT_TRUE(rejects(make_file(R"({"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,4]}})", 4),
                      {"tensor 'w'", "non-negative integers"}));
  EXPECT_TRUE(rejects(make_file(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4),
                      {"tensor 'w'", "non-negative integers"}));
}

TEST_F(SafetensorsBad, RejectsShapeWhoseSizeOverflows) {
  EXPECT_TRUE(rejects(
      make_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4),
      {"tensor 'w'", "too many elements"}));
  EXPECT_TRUE(rejects(make_file(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8),
                      {"tensor 'w'", "too large"}));
}

TEST_F(SafetensorsBad, RejectsOffsetsPastEndOfFile) {
  EXPECT_TRUE(rejects(make_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 12),
                      {path, "tensor 'w'", "data_offsets [0, 16]", "past the data section"}));
  EXPECT_TRUE(rejects(
      make_file(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]}})", 0),
      {"tensor 'w'", "data_offsets"}));
}

TEST_F(SafetensorsBad, RejectsOffsetsThatDisagreeWithShape) {
  EXPECT_TRUE(rejects(make_file(R"({"h.0.attn.c_attn.weight":{"dtype":"F32","shape":[4,6],"data_offsets":[0,100]}})", 100),
                      {"model.safetensors: tensor 'h.0.attn.c_attn.weight': data_offsets [0, 100]", "need 96",
                       "F32 [4, 6]"}));
}

TEST_F(SafetensorsBad, RejectsBeginAfterEnd) {
  EXPECT_TRUE(rejects(make_file(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", 4),
                      {"tensor 'w'", "begin > end"}));
}

TEST_F(SafetensorsBad, RejectsOverlappingTensors) {
  EXPECT_TRUE(rejects(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                12),
                      {path, "'a'", "'b'", "overlap"}));
  // Identical ranges overlap too.
  EXPECT_TRUE(rejects(make_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                                4),
                      {"overlap"}));
}

TEST_F(SafetensorsBad, AllowsEmptyTensorsInsideOthersAndGaps) {
  test::write_bytes(path, make_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                    R"("e":{"dtype":"U8","shape":[0],"data_offsets":[2,2]},)"
                                    R"("b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})",
                                    8));
  EXPECT_EQ(SafetensorsFile::open(path).tensors().size(), 3u);
}

TEST_F(SafetensorsBad, RejectsNonStringMetadata) {
  EXPECT_TRUE(rejects(make_file(R"({"__metadata__":{"epoch":3}})", 0), {path, "__metadata__", "epoch", "string"}));
  EXPECT_TRUE(rejects(make_file(R"({"__metadata__":["x"]})", 0), {path, "__metadata__"}));
}

TEST(SafetensorsWriter, RejectsInconsistentTensors) {
  test::TempDir dir;
  const std::string p = dir.file("w.safetensors");
  const float x[4] = {};
  EXPECT_TRUE(test::ThrowsError([&] { save_safetensors(p, {{"w", DType::F32, {2, 3}, x, sizeof x}}); },
                                {p, "tensor 'w'", "16 bytes, need 24", "F32 [2, 3]"}));
  EXPECT_TRUE(test::ThrowsError([&] { save_safetensors(p, {{"w", DType::Q8_0, {32}, x, 34}}); },
                                {"tensor 'w'", "Q8_0", "cannot be stored"}));
  EXPECT_TRUE(test::ThrowsError(
      [&] { save_safetensors(p, {{"w", DType::F32, {1}, x, 4}, {"w", DType::F32, {1}, x, 4}}); }, {"duplicate"}));
  EXPECT_TRUE(test::ThrowsError([&] { save_safetensors(p, {{"w", DType::F32, {-1}, x, 4}}); }, {"invalid shape"}));
  EXPECT_TRUE(test::ThrowsError([&] { save_safetensors(p, {{"__metadata__", DType::F32, {1}, x, 4}}); },
                                {"invalid tensor name"}));
  EXPECT_FALSE(std::filesystem::exists(p));
}

std::vector<uint8_t> small_valid_file(const test::TempDir& dir) {
  const std::string p = dir.file("valid.safetensors");
  const float a[3] = {1, 2, 3};
  const uint16_t b[2] = {0x3c00, 0x4000};
  save_safetensors(p, {{"a", DType::F32, {3}, a, sizeof a}, {"b", DType::BF16, {2}, b, sizeof b}}, {{"k", "v"}});
  return test::read_bytes(p);
}

TEST(Safetensors, EveryTruncationIsAnErrorNeverACrash) {
  test::TempDir dir;
  const auto full = small_valid_file(dir);
  const std::string p = dir.file("cut.safetensors");
  for (size_t n = 0; n < full.size(); ++n) {
    test::write_bytes(p, std::vector<uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)));
    ASSERT_TRUE(test::ThrowsError([&] { SafetensorsFile::open(p); }, {p})) << "truncated at " << n;
  }
  test::write_bytes(p, full);
  EXPECT_EQ(SafetensorsFile::open(p).tensors().size(), 2u);
}

TEST(Safetensors, RandomByteCorruptionGivesErrorOrValidFile) {
  test::TempDir dir;
  const auto full = small_valid_file(dir);
  const std::string p = dir.file("fuzz.safetensors");
  std::mt19937 rng(7);
  for (int iter = 0; iter < 2000; ++iter) {
    auto bytes = full;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    test::write_bytes(p, bytes);
    try {
      const auto f = SafetensorsFile::open(p);
      for (const RawTensor& t : f.tensors()) {
        // Whatever opens must describe bytes inside the mapping.
        const auto* m = f.mapping()->data();
        const auto* d = static_cast<const uint8_t*>(t.data);
        ASSERT_GE(d, m);
        ASSERT_LE(d + t.nbytes, m + f.mapping()->size());
      }
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace glassbox
