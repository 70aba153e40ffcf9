// Readers over bytes in memory (MappedFile::from_bytes): the same checks and
// messages as over a file, naming what the caller called the bytes. The fuzz
// targets (fuzz/) read through these.
#include <cstring>

#include "glassbox/gguf.h"
#include "glassbox/safetensors.h"
#include "io/io_test_util.h"

namespace glassbox {
namespace {

TEST(FromBytes, SafetensorsReadsTheSameAsTheFile) {
  test::TempDir dir;
  const std::string p = dir.file("a.safetensors");
  const float x[3] = {1, 2, 3};
  save_safetensors(p, {{"x", DType::F32, {3}, x, sizeof x}});
  const auto file = MappedFile::open(p);
  const SafetensorsFile f = SafetensorsFile::open(MappedFile::from_bytes(file->data(), file->size(), "in-memory"));
  EXPECT_EQ(f.path(), "in-memory");
  ASSERT_NE(f.find("x"), nullptr);
  EXPECT_EQ(std::memcmp(f.find("x")->data, x, sizeof x), 0);
  EXPECT_NE(f.find("x")->data, static_cast<const void*>(file->data() + (file->size() - sizeof x)));  // a copy
  // Truncated by one byte: the file's error, naming the bytes' name.
  EXPECT_TRUE(test::ThrowsError(
      [&] { SafetensorsFile::open(MappedFile::from_bytes(file->data(), file->size() - 1, "in-memory")); },
      {"in-memory", "tensor 'x'", "end past the data section"}));
}

TEST(FromBytes, GgufReadsTheSameAsTheFile) {
  test::TempDir dir;
  const std::string p = dir.file("a.gguf");
  GgufWriter w;
  w.set("general.name", gguf_str("n"));
  const float x[2] = {5, 6};
  w.tensors.push_back({"t", DType::F32, {2}, x, sizeof x});
  w.save(p);
  const auto file = MappedFile::open(p);
  const GgufFile f = GgufFile::open(MappedFile::from_bytes(file->data(), file->size(), "mem.gguf"));
  EXPECT_EQ(f.kv("general.name").as_string("general.name"), "n");
  ASSERT_NE(f.find("t"), nullptr);
  EXPECT_EQ(std::memcmp(f.find("t")->data, x, sizeof x), 0);
  EXPECT_TRUE(test::ThrowsError([&] { GgufFile::open(MappedFile::from_bytes(file->data(), 10, "mem.gguf")); },
                                {"mem.gguf", "truncated"}));
  EXPECT_TRUE(test::ThrowsError([&] { GgufFile::open(MappedFile::from_bytes(nullptr, 0, "empty.gguf")); },
                                {"empty.gguf", "too short"}));
}

}  // namespace
}  // namespace glassbox
