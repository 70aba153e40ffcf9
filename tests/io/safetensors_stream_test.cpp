// SafetensorsStreamWriter: the same bytes as save_safetensors, chunked and
// interleaved any way; back-pressure; every error leaves no file behind.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <random>

#include "glassbox/safetensors.h"
#include "glassbox/safetensors_stream.h"
#include "glassbox/tensor.h"
#include "io_test_util.h"

using namespace glassbox;
using glassbox::test::read_bytes;
using glassbox::test::TempDir;
using glassbox::test::ThrowsError;

namespace {

// Files in `dir` (a failed write must leave neither the target nor a temp file).
size_t n_files(const TempDir& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) n += e.is_regular_file();
  return n;
}

struct Source {
  std::string name;
  DType dtype;
  Shape shape;
  std::vector<float> values;  // f32 source values
  std::vector<uint8_t> stored;  // the values in dtype (what save_safetensors gets)
};

std::vector<Source> sources(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<Source> out = {{"a", DType::F32, {3, 5, 7}, {}, {}},
                             {"blocks.0.attn.hook_pattern", DType::BF16, {2, 4, 9, 9}, {}, {}},
                             {"h16", DType::F16, {1001}, {}, {}},
                             {"empty", DType::F32, {0, 4}, {}, {}},
                             {"big", DType::BF16, {64, 33}, {}, {}}};
  for (Source& s : out) {
    s.values.resize(size_t(numel(s.shape)));
    for (float& v : s.values) v = nd(rng);
    s.stored.resize(dtype_nbytes(s.dtype, numel(s.shape)));
    from_f32(s.stored.data(), s.values.data(), s.dtype, numel(s.shape));
  }
  return out;
}

std::vector<TensorToWrite> declared(const std::vector<Source>& src, const std::vector<int32_t>& ids) {
  std::vector<TensorToWrite> t = {{"tokens", DType::I32, {int64_t(ids.size())}, ids.data(), ids.size() * 4}};
  for (const Source& s : src) t.push_back({s.name, s.dtype, s.shape, s.stored.data(), s.stored.size()});
  return t;
}

const std::map<std::string, std::string> kMeta = {{"format", "test"}};
const StreamWriterOptions kTiny{256, 3, true};  // many chunks per tensor, frequent back-pressure

}  // namespace

TEST(SafetensorsStream, SameBytesAsInMemoryWriterWhateverTheChunkingAndOrder) {
  TempDir dir;
  const auto src = sources(1);
  const std::vector<int32_t> ids = {5, 1, 4, 1, 5, 9, 2};
  save_safetensors(dir.file("ref.safetensors"), declared(src, ids), kMeta);
  const auto ref = read_bytes(dir.file("ref.safetensors"));

  for (const StreamWriterOptions& opt : {kTiny, StreamWriterOptions{}}) {
    const std::string path = dir.file("stream.safetensors");
    SafetensorsStreamWriter w(path, declared(src, ids), kMeta, opt);
    // Interleave: pieces of odd sizes, round-robin across tensors, tokens last.
    std::vector<size_t> done(src.size(), 0);
    for (bool more = true; more;) {
      more = false;
      for (size_t i = 0; i < src.size(); ++i) {
        const size_t n = std::min<size_t>(37 + i, src[i].values.size() - done[i]);
        w.append_f32(i + 1, src[i].values.data() + done[i], n);
        done[i] += n;
        more |= done[i] < src[i].values.size();
      }
    }
    w.append_bytes(0, ids.data(), ids.size() * 4);
    w.finish();
    EXPECT_EQ(read_bytes(path), ref) << "chunk_bytes " << opt.chunk_bytes;
    EXPECT_EQ(SafetensorsFile::open(path).find("big")->dtype, DType::BF16);
  }
}

TEST(SafetensorsStream, IncompleteTensorFailsNamingItAndLeavesNoFile) {
  TempDir dir;
  const auto src = sources(2);
  const std::vector<int32_t> ids = {1, 2};
  const std::string path = dir.file("out.safetensors");
  {
    SafetensorsStreamWriter w(path, declared(src, ids), kMeta, kTiny);
    for (size_t i = 0; i < src.size(); ++i) w.append_f32(i + 1, src[i].values.data(), src[i].values.size());
    EXPECT_TRUE(ThrowsError([&] { w.finish(); }, {path, "tokens", "0 of its 8 bytes"}));
  }
  EXPECT_EQ(n_files(dir), 0u);
}

TEST(SafetensorsStream, TooManyValuesAndWrongDtypeAreErrors) {
  TempDir dir;
  const auto src = sources(3);
  const std::vector<int32_t> ids = {1, 2};
  const std::string path = dir.file("out.safetensors");
  SafetensorsStreamWriter w(path, declared(src, ids), kMeta, kTiny);
  const std::vector<float> many(200, 1.f);
  EXPECT_TRUE(ThrowsError([&] { w.append_f32(1, many.data(), many.size()); }, {path, "'a'", "more than its 420"}));
  EXPECT_TRUE(ThrowsError([&] { w.append_f32(0, many.data(), 2); }, {"'tokens'", "I32"}));
  EXPECT_TRUE(ThrowsError([&] { w.index("nope"); }, {path, "'nope'"}));
  EXPECT_TRUE(ThrowsError([&] { w.append_f32(99, many.data(), 1); }, {"out of range"}));
}

TEST(SafetensorsStream, AbandonedWriterLeavesNoFile) {
  TempDir dir;
  const auto src = sources(4);
  const std::vector<int32_t> ids = {1, 2};
  {
    SafetensorsStreamWriter w(dir.file("out.safetensors"), declared(src, ids), kMeta, kTiny);
    w.append_f32(2, src[1].values.data(), src[1].values.size());
  }
  EXPECT_EQ(n_files(dir), 0u);
}

TEST(SafetensorsStream, BadPathAndBadOptionsNameThePath) {
  TempDir dir;
  const auto src = sources(5);
  const std::vector<int32_t> ids = {1};
  const std::string missing = dir.file("no/such/dir/out.safetensors");
  EXPECT_TRUE(ThrowsError([&] { SafetensorsStreamWriter w(missing, declared(src, ids)); }, {missing}));
  EXPECT_TRUE(ThrowsError([&] { SafetensorsStreamWriter w(dir.file("x"), declared(src, ids), {}, {256, 1}); },
                          {"at least 2 chunks"}));
  auto dup = declared(src, ids);
  dup.push_back(dup[1]);
  EXPECT_TRUE(ThrowsError([&] { SafetensorsStreamWriter w(dir.file("x"), dup); }, {"duplicate"}));
  EXPECT_EQ(n_files(dir), 0u);
}

// A file-size limit (EFBIG, as a full disk gives ENOSPC), in a child process
// since the limit is per process. Set before the writer opens the file, the
// reservation fails up front; set after, the writer thread's own writes fail
// and the producer must get the error (not hang on a full pool).
namespace {

int write_under_limit(const std::string& path, bool limit_first) {
  std::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills the process instead of failing the write
  struct rlimit lim = {4096, 4096};
  std::vector<float> v(1 << 16, 1.f);
  try {
    if (limit_first) ::setrlimit(RLIMIT_FSIZE, &lim);
    SafetensorsStreamWriter w(path, {{"x", DType::F32, {1 << 16}, nullptr, 0}}, {}, kTiny);
    if (!limit_first) ::setrlimit(RLIMIT_FSIZE, &lim);
    w.append_f32(0, v.data(), v.size());
    w.finish();
  } catch (const Error& e) {
    return std::string(e.what()).find(path) != std::string::npos ? 0 : 2;
  }
  return 1;
}

}  // namespace

TEST(SafetensorsStream, FileSizeLimitFailsNamingThePathAndLeavesNoFile) {
  for (bool limit_first : {true, false}) {
    TempDir dir;
    const std::string path = dir.file("big.safetensors");
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ::_exit(write_under_limit(path, limit_first));
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "limit_first " << limit_first << " (1: no error; 2: the error did not name the path)";
    EXPECT_EQ(n_files(dir), 0u);
  }
}

TEST(SafetensorsStream, PoolBytesCountsChunksAndConversionBuffer) {
  EXPECT_EQ(SafetensorsStreamWriter::pool_bytes({1024, 3, true}), 3u * 1024 + 512);
}
