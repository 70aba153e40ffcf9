// GGUF reader on hand-crafted hostile and broken files: each must give an Error
// that names the file (and the key or tensor) before any large allocation.
#include <random>

#include "glassbox/gguf.h"
#include "io/io_test_util.h"

namespace glassbox {
namespace {

test::Bytes header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
  test::Bytes b;
  b.raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
  return b;
}

// One F32 tensor info with the given name, ne (innermost first), type and offset.
void tensor_info(test::Bytes& b, const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
  b.str(name).u32(static_cast<uint32_t>(ne.size()));
  for (uint64_t d : ne) b.u64(d);
  b.u32(type).u64(offset);
}

class GgufBad : public ::testing::Test {
 protected:
  ::testing::AssertionResult rejects(const test::Bytes& b, std::initializer_list<std::string> needles) {
    test::write_bytes(path, b.b);
    return test::ThrowsError([&] { GgufFile::open(path); }, needles);
  }
  test::TempDir dir;
  std::string path = dir.file("model.gguf");
};

TEST_F(GgufBad, RejectsWrongMagic) {
  test::Bytes b;
  b.raw("GGML").u32(3).u64(0).u64(0);
  EXPECT_TRUE(rejects(b, {path, "not a GGUF file"}));
  test::Bytes st;
  st.u64(2).raw("{}");  // a safetensors file
  EXPECT_TRUE(rejects(st, {path, "not a GGUF file"}));
}

TEST_F(GgufBad, RejectsFilesTooShortForTheMagic) {
  EXPECT_TRUE(rejects(test::Bytes{}, {path, "too short"}));
  test::Bytes b;
  b.raw("GG");
  EXPECT_TRUE(rejects(b, {path, "too short"}));
}

TEST_F(GgufBad, RejectsVersion1WithAClearError) {
  test::Bytes b;
  b.raw("GGUF").u32(1).u32(0).u32(0);
  EXPECT_TRUE(rejects(b, {path, "GGUF v1 is not supported"}));
}

TEST_F(GgufBad, RejectsUnsupportedVersions) {
  EXPECT_TRUE(rejects(header(4, 0, 0), {path, "unsupported GGUF version 4"}));
  EXPECT_TRUE(rejects(header(0, 0, 0), {path, "unsupported GGUF version 0"}));
  EXPECT_TRUE(rejects(header(0x03000000, 0, 0), {path, "big-endian"}));
}

TEST_F(GgufBad, RejectsTruncatedHeader) {
  test::Bytes b;
  b.raw("GGUF").u32(3).u64(0);
  EXPECT_TRUE(rejects(b, {path, "truncated", "metadata count"}));
}

TEST_F(GgufBad, RejectsAbsurdKvCountWithoutAllocating) {
  EXPECT_TRUE(rejects(header(3, 0, uint64_t{1} << 60), {path, "metadata count 1152921504606846976"}));
  EXPECT_TRUE(rejects(header(3, 0, UINT64_MAX), {path, "metadata count"}));
}

TEST_F(GgufBad, RejectsAbsurdTensorCount) {
  EXPECT_TRUE(rejects(header(3, uint64_t{1} << 60, 0), {path, "tensor count"}));
}

TEST_F(GgufBad, RejectsAbsurdStringLengths) {
  auto b = header(3, 0, 1);
  b.u64(uint64_t{1} << 62).raw("key").zeros(32);
  EXPECT_TRUE(rejects(b, {path, "metadata key", "claims 4611686018427387904 bytes"}));
  auto v = header(3, 0, 1);
  v.str("general.name").u32(8).u64(UINT64_MAX).raw("x");
  EXPECT_TRUE(rejects(v, {path, "key 'general.name'", "claims"}));
  auto t = header(3, 1, 0);
  t.u64(1000).raw("blk").zeros(32);
  EXPECT_TRUE(rejects(t, {path, "tensor name", "claims 1000"}));
}

TEST_F(GgufBad, RejectsAbsurdArrayLengths) {
  auto b = header(3, 0, 1);
  b.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(uint64_t{1} << 61);
  EXPECT_TRUE(rejects(b, {path, "tokenizer.ggml.tokens", "array of 2305843009213693952 STRING"}));
  auto n = header(3, 0, 1);
  n.str("k").u32(9).u32(9).u64(UINT64_MAX);  // array of arrays
  EXPECT_TRUE(rejects(n, {path, "'k'", "array of"}));
  auto u = header(3, 0, 1);
  u.str("k").u32(9).u32(0).u64(100).zeros(99);  // one byte short
  EXPECT_TRUE(rejects(u, {path, "'k'", "array of 100 UINT8"}));
}

TEST_F(GgufBad, RejectsUnknownValueTypes) {
  auto b = header(3, 0, 1);
  b.str("k").u32(13).u32(0);
  EXPECT_TRUE(rejects(b, {path, "key 'k'", "unknown GGUF value type 13"}));
  auto a = header(3, 0, 1);
  a.str("k").u32(9).u32(77).u64(0);
  EXPECT_TRUE(rejects(a, {path, "key 'k'", "array element type 77"}));
}

TEST_F(GgufBad, RejectsArraysNestedTooDeep) {
  auto b = header(3, 0, 1);
  b.str("k").u32(9);
  for (int i = 0; i < 100000; ++i) b.u32(9).u64(1);  // would otherwise recurse 100k frames
  b.u32(0).u64(0);
  EXPECT_TRUE(rejects(b, {path, "'k'", "nested deeper"}));
}

TEST_F(GgufBad, RejectsDuplicateKeysAndTensorNames) {
  auto b = header(3, 0, 2);
  b.str("k").u32(4).u32(1).str("k").u32(4).u32(2);
  EXPECT_TRUE(rejects(b, {path, "duplicate metadata key 'k'"}));
  auto t = header(3, 2, 0);
  tensor_info(t, "w", {8}, 0, 0);
  tensor_info(t, "w", {8}, 0, 32);
  t.pad_to(32).zeros(64);
  EXPECT_TRUE(rejects(t, {path, "duplicate tensor name 'w'"}));
}

TEST_F(GgufBad, RejectsUnknownGgmlTypeNamingTheTensor) {
  auto b = header(3, 1, 0);
  tensor_info(b, "blk.0.ffn_up.weight", {256, 2}, 16, 0);  // IQ2_XXS: glassbox reads no IQ type
  b.pad_to(32).zeros(1024);
  EXPECT_TRUE(rejects(b, {"unsupported ggml type 16 (IQ2_XXS) for tensor 'blk.0.ffn_up.weight'", path, "Q4_K"}));
  auto u = header(3, 1, 0);
  tensor_info(u, "w", {4}, 99, 0);
  u.pad_to(32).zeros(64);
  EXPECT_TRUE(rejects(u, {"unsupported ggml type 99 (unknown) for tensor 'w'"}));
}

TEST_F(GgufBad, RejectsTooManyDimensions) {
  auto b = header(3, 1, 0);
  tensor_info(b, "w", {1, 1, 1, 1, 1}, 0, 0);
  b.pad_to(32).zeros(32);
  EXPECT_TRUE(rejects(b, {path, "tensor 'w'", "n_dims 5"}));
}

TEST_F(GgufBad, RejectsDimensionsWhoseProductOverflows) {
  auto b = header(3, 1, 0);
  tensor_info(b, "w", {uint64_t{1} << 32, uint64_t{1} << 32}, 0, 0);
  b.pad_to(32).zeros(32);
  EXPECT_TRUE(rejects(b, {path, "tensor 'w'", "too many elements"}));
  auto n = header(3, 1, 0);
  tensor_info(n, "w", {UINT64_MAX}, 0, 0);
  n.pad_to(32).zeros(32);
  EXPECT_TRUE(rejects(n, {path, "tensor 'w'", "too large"}));
}

TEST_F(GgufBad, RejectsQuantisedRowsThatAreNotWholeBlocks) {
  auto b = header(3, 1, 0);
  tensor_info(b, "w", {16, 2}, 8, 0);  // Q8_0 needs ne[0] % 32 == 0
  b.pad_to(32).zeros(64);
  EXPECT_TRUE(rejects(b, {path, "tensor 'w'", "row length 16", "Q8_0"}));
}

TEST_F(GgufBad, RejectsMisalignedTensorOffset) {
  auto b = header(3, 1, 0);
  tensor_info(b, "w", {4}, 0, 4);
  b.pad_to(32).zeros(64);
  EXPECT_TRUE(rejects(b, {path, "tensor 'w'", "offset 4", "alignment 32"}));
}

TEST_F(GgufBad, RejectsTensorPastEndOfFile) {
  auto b = header(3, 1, 0);
  tensor_info(b, "w", {16}, 0, 0);  // 64 bytes, 60 present
  b.pad_to(32).zeros(60);
  EXPECT_TRUE(rejects(b, {path, "tensor 'w'", "run past", "60-byte data section"}));
  auto o = header(3, 1, 0);
  tensor_info(o, "w", {1}, 0, uint64_t{1} << 63);  // aligned but absurd offset
  o.pad_to(32).zeros(32);
  EXPECT_TRUE(rejects(o, {path, "tensor 'w'", "run past"}));
  auto m = header(3, 1, 0);
  tensor_info(m, "w", {1}, 0, UINT64_MAX - 31);  // offset + size would wrap around
  m.pad_to(32).zeros(32);
  EXPECT_TRUE(rejects(m, {path, "tensor 'w'", "run past"}));
}

TEST_F(GgufBad, RejectsDataSectionStartingPastEndOfFile) {
  auto b = header(3, 1, 0);
  tensor_info(b, "w", {0}, 0, 0);  // even an empty tensor needs the (padded) data section
  EXPECT_TRUE(rejects(b, {path, "tensor data would start", "past end of file"}));
}

TEST_F(GgufBad, RejectsOverlappingTensors) {
  auto b = header(3, 2, 0);
  tensor_info(b, "a", {16}, 0, 0);
  tensor_info(b, "b", {8}, 0, 32);  // a covers [0, 64)
  b.pad_to(32).zeros(64);
  EXPECT_TRUE(rejects(b, {path, "'a'", "'b'", "overlap"}));
}

TEST_F(GgufBad, RejectsBadAlignment) {
  auto b = header(3, 0, 1);
  b.str("general.alignment").u32(4).u32(48);
  EXPECT_TRUE(rejects(b, {path, "general.alignment 48", "power of two"}));
  auto z = header(3, 0, 1);
  z.str("general.alignment").u32(4).u32(0);
  EXPECT_TRUE(rejects(z, {path, "general.alignment 0"}));
  auto t = header(3, 0, 1);
  t.str("general.alignment").u32(10).u64(32);
  EXPECT_TRUE(rejects(t, {path, "general.alignment must be UINT32", "UINT64"}));
}

TEST_F(GgufBad, RespectsACustomAlignment) {
  auto b = header(3, 1, 1);
  b.str("general.alignment").u32(4).u32(8);
  tensor_info(b, "w", {2}, 0, 8);
  b.pad_to(8).zeros(16);
  test::write_bytes(path, b.b);
  const auto f = GgufFile::open(path);
  EXPECT_EQ(f.alignment(), 8u);
  EXPECT_EQ(static_cast<const uint8_t*>(f.find("w")->data) - f.mapping()->data(),
            static_cast<std::ptrdiff_t>(b.b.size() - 8));
}

// A valid file whose last tensor ends exactly at the end of file, so every
// strict prefix loses bytes somebody needs.
std::vector<uint8_t> valid_file(const test::TempDir& dir) {
  const std::string p = dir.file("valid.gguf");
  GgufWriter w;
  w.set("general.architecture", gguf_str("gpt2"));
  w.set("gpt2.block_count", gguf_u32(2));
  w.set("gpt2.eps", gguf_f32(1e-5f));
  w.set("flag", gguf_bool(false));
  w.set("tokens", gguf_str_array({"a", "bc"}));
  w.set("merges", gguf_i32_array({1, 2}));
  GgufValue nested;
  nested.type = GgufType::ARRAY;
  nested.elem_type = GgufType::ARRAY;
  nested.v = GgufArray{gguf_f32_array({1.0f})};
  w.set("nested", nested);
  std::vector<float> x(32, 0.25f);
  const auto q8 = quantize_q8_0(x.data(), 32);
  w.tensors = {{"q8", DType::Q8_0, {32}, q8.data(), q8.size()}, {"w", DType::F32, {2, 4}, x.data(), 32}};
  w.save(p);
  return test::read_bytes(p);
}

TEST(Gguf, EveryTruncationIsAnErrorNeverACrash) {
  test::TempDir dir;
  const auto full = valid_file(dir);
  const std::string p = dir.file("cut.gguf");
  for (size_t n = 0; n < full.size(); ++n) {
    test::write_bytes(p, std::vector<uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)));
    ASSERT_TRUE(test::ThrowsError([&] { GgufFile::open(p); }, {p})) << "truncated at " << n;
  }
  test::write_bytes(p, full);
  EXPECT_EQ(GgufFile::open(p).tensors().size(), 2u);
}

TEST(Gguf, RandomByteCorruptionGivesErrorOrValidFile) {
  test::TempDir dir;
  const auto full = valid_file(dir);
  const std::string p = dir.file("fuzz.gguf");
  std::mt19937 rng(11);
  for (int iter = 0; iter < 3000; ++iter) {
    auto bytes = full;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    test::write_bytes(p, bytes);
    try {
      const auto f = GgufFile::open(p);
      for (const RawTensor& t : f.tensors()) {
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
