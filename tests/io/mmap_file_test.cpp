// MappedFile and write_file_atomic.
#include <filesystem>

#include "glassbox/mmap_file.h"
#include "io/io_test_util.h"

namespace glassbox {
namespace {

namespace fs = std::filesystem;

size_t count_entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(MappedFile, MapsTheWholeFile) {
  test::TempDir dir;
  const std::string p = dir.file("a.bin");
  test::write_bytes(p, {1, 2, 3, 250});
  const auto f = MappedFile::open(p);
  ASSERT_EQ(f->size(), 4u);
  EXPECT_EQ(f->data()[0], 1);
  EXPECT_EQ(f->data()[3], 250);
  EXPECT_EQ(f->path(), p);
}

TEST(MappedFile, EmptyFileIsAnEmptyView) {
  test::TempDir dir;
  const std::string p = dir.file("empty.bin");
  test::write_bytes(p, {});
  const auto f = MappedFile::open(p);
  EXPECT_EQ(f->size(), 0u);
}

TEST(MappedFile, MissingFileErrorNamesThePath) {
  test::TempDir dir;
  const std::string p = dir.file("nope.bin");
  EXPECT_TRUE(test::ThrowsError([&] { MappedFile::open(p); }, {p, "cannot open"}));
}

TEST(MappedFile, RejectsADirectory) {
  test::TempDir dir;
  EXPECT_TRUE(test::ThrowsError([&] { MappedFile::open(dir.path().string()); }, {"not a regular file"}));
}

TEST(MappedFile, MappingSurvivesTheFileBeingReplaced) {
  test::TempDir dir;
  const std::string p = dir.file("w.bin");
  write_file_atomic(p, "old!", 4);
  const auto f = MappedFile::open(p);
  write_file_atomic(p, "new", 3);  // rename swaps the inode; the old mapping keeps the old one
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->data()), f->size()), "old!");
  EXPECT_EQ(MappedFile::open(p)->size(), 3u);
}

TEST(WriteFileAtomic, WritesAndReplacesLeavingNoTempFiles) {
  test::TempDir dir;
  const std::string p = dir.file("out.bin");
  write_file_atomic(p, "hello", 5);
  write_file_atomic(p, "bye", 3);
  const auto b = test::read_bytes(p);
  EXPECT_EQ(std::string(b.begin(), b.end()), "bye");
  EXPECT_EQ(count_entries(dir.path()), 1u);
  write_file_atomic(p, nullptr, 0);  // empty output is valid
  EXPECT_EQ(fs::file_size(p), 0u);
}

TEST(WriteFileAtomic, FailureLeavesTargetUntouchedAndNoTempFile) {
  test::TempDir dir;
  // The target is a non-empty directory: rename() fails after the temp file is written.
  const std::string p = dir.file("taken");
  fs::create_directories(fs::path(p) / "child");
  EXPECT_TRUE(test::ThrowsError([&] { write_file_atomic(p, "x", 1); }, {p, "rename"}));
  EXPECT_TRUE(fs::is_directory(p));
  EXPECT_EQ(count_entries(dir.path()), 1u);
}

TEST(WriteFileAtomic, MissingDirectoryErrorNamesThePath) {
  test::TempDir dir;
  const std::string p = dir.file("no/such/dir/out.bin");
  EXPECT_TRUE(test::ThrowsError([&] { write_file_atomic(p, "x", 1); }, {p}));
}

}  // namespace
}  // namespace glassbox
