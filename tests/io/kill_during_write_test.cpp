// Crash safety of the atomic writers (issue 16, item 4): a child process
// rewrites a file in a loop, alternating two versions, and is killed with
// SIGKILL at a random moment. Whatever moment it died at, the file under its
// name must be one of the two versions, complete (it parses, and every byte of
// data is that version's) — never a torn mix, never a truncated file. Every
// writer (safetensors, GGUF, caches, checkpoints, shards, reports) goes
// through the same temp-file + fsync + rename (src/core/atomic_write.h);
// safetensors and GGUF are the two container writers on top of it, and the
// streaming safetensors writer (caches, shards) fills the temp file at offsets.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <cstring>
#include <random>
#include <thread>

#include "glassbox/gguf.h"
#include "glassbox/safetensors.h"
#include "glassbox/safetensors_stream.h"
#include "io/io_test_util.h"

namespace glassbox {
namespace {

constexpr int64_t kN = 1 << 20;  // 4 MB of F32 per version: a write takes long enough to be hit mid-way

std::vector<float> version(int v) { return std::vector<float>(size_t(kN), float(v + 1)); }

void write_safetensors(const std::string& p, const std::vector<float>& x) {
  save_safetensors(p, {{"x", DType::F32, {kN}, x.data(), x.size() * sizeof(float)}}, {{"n", std::to_string(x[0])}});
}
// The streaming writer (activation caches, harvest shards): a header fixed up
// front, values appended in chunks and written at their offsets by a writer
// thread, then AtomicFile's commit; small chunks so many are in flight.
void write_streamed(const std::string& p, const std::vector<float>& x) {
  StreamWriterOptions o;
  o.chunk_bytes = 256 << 10;
  SafetensorsStreamWriter w(p, {{"x", DType::F32, {kN}, nullptr, 0}}, {{"n", std::to_string(x[0])}}, o);
  for (size_t i = 0; i < x.size(); i += 100000) w.append_f32(0, x.data() + i, std::min<size_t>(100000, x.size() - i));
  w.finish();
}
void write_gguf(const std::string& p, const std::vector<float>& x) {
  GgufWriter w;
  w.set("n", gguf_f32(x[0]));
  w.tensors.push_back({"x", DType::F32, {kN}, x.data(), x.size() * sizeof(float)});
  w.save(p);
}

// The version (1 or 2) the file holds, checking all of it; 0 if it is neither.
template <class File>
int which_version(const std::string& p) {
  const File f = File::open(p);
  const RawTensor* t = f.find("x");
  if (!t || t->nbytes != kN * sizeof(float)) return 0;
  const auto* x = static_cast<const float*>(t->data);
  for (int v : {1, 2})
    if (std::all_of(x, x + kN, [&](float y) { return y == float(v); })) return v;
  return 0;
}

// How many of `rounds` kills left the file neither version, complete.
template <class File>
int torn_files_after_kills(void (*write)(const std::string&, const std::vector<float>&), const char* name,
                           int rounds = 12) {
  test::TempDir dir;
  const std::string p = dir.file(name);
  const std::vector<float> a = version(0), b = version(1);
  write(p, a);  // the previous file
  std::mt19937 rng(1234);
  int torn = 0;
  for (int round = 0; round < rounds; ++round) {
    const pid_t pid = fork();
    if (pid < 0) {
      ADD_FAILURE() << "fork failed";
      return -1;
    }
    if (pid == 0) {  // the writer: alternate b, a, b, ... until killed
      try {
        for (int i = 0;; ++i) write(p, i % 2 ? a : b);
      } catch (...) {
      }
      _exit(3);  // never back into the test runner
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 60000)(rng)));
    EXPECT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status)) << "the writer exited by itself (status " << status << ")";
    try {
      if (which_version<File>(p) == 0) ++torn;  // a mix of the two versions
    } catch (const Error&) {
      ++torn;  // truncated or missing
    }
  }
  // A killed writer cannot remove its temp file; those are the only leftovers,
  // named "<target>.tmp.XXXXXX", never the target itself.
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    const std::string f = e.path().filename().string();
    EXPECT_TRUE(f == name || f.rfind(std::string(name) + ".tmp.", 0) == 0) << f;
  }
  return torn;
}

// The negative control: the same bytes rewritten in place (truncate, write),
// as a writer without the temp file would. Killed mid-write it leaves a short file.
// The file's bytes per version are made once (in the parent, before the forks).
std::map<float, std::vector<uint8_t>>& in_place_bytes() {
  static std::map<float, std::vector<uint8_t>> m;
  return m;
}
void write_in_place(const std::string& p, const std::vector<float>& x) {
  std::vector<uint8_t>& bytes = in_place_bytes()[x[0]];
  if (bytes.empty()) {
    const std::string tmp = p + ".tmp.control";
    write_safetensors(tmp, x);
    bytes = test::read_bytes(tmp);
    std::filesystem::remove(tmp);
  }
  for (int i = 0; i < 8; ++i) {  // several rewrites per version, so most of the time is spent writing
    FILE* f = std::fopen(p.c_str(), "wb");
    if (!f) return;
    for (size_t off = 0; off < bytes.size(); off += 4096) {
      std::fwrite(bytes.data() + off, 1, std::min<size_t>(4096, bytes.size() - off), f);
      std::fflush(f);
    }
    std::fclose(f);
  }
}

TEST(KillDuringWrite, SafetensorsIsThePreviousFileOrTheNewOneComplete) {
  EXPECT_EQ(torn_files_after_kills<SafetensorsFile>(write_safetensors, "w.safetensors"), 0);
}

TEST(KillDuringWrite, GgufIsThePreviousFileOrTheNewOneComplete) {
  EXPECT_EQ(torn_files_after_kills<GgufFile>(write_gguf, "w.gguf"), 0);
}

TEST(KillDuringWrite, StreamedSafetensorsIsThePreviousFileOrTheNewOneComplete) {
  EXPECT_EQ(torn_files_after_kills<SafetensorsFile>(write_streamed, "s.safetensors"), 0);
}

TEST(KillDuringWrite, AWriterWithoutTheTempFileIsCaught) {  // the check can fail
  test::TempDir scratch;
  for (int v : {0, 1}) write_in_place(scratch.file("warm.safetensors"), version(v));
  EXPECT_GT(torn_files_after_kills<SafetensorsFile>(write_in_place, "w.safetensors"), 0);
}

}  // namespace
}  // namespace glassbox
