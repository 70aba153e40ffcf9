// Crash safety of the atomic writers (issue 16, item 4): a child process
// rewrites a file in a loop, alternating two versions, and is killed with
// SIGKILL at a random moment. Whatever moment it died at, the file under its
// name must be one of the two versions, complete (it parses, and every byte of
// data is that version's) — never a torn mix, never a truncated file. Every
// writer (safetensors, GGUF, caches, checkpoints, shards, reports) goes
// through the same temp-file + fsync + rename (src/core/atomic_write.h);
// safetensors and GGUF are the two container writers on top of it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstring>
#include <random>
#include <thread>

#include "glassbox/gguf.h"
#include "glassbox/safetensors.h"
#include "io/io_test_util.h"

namespace glassbox {
namespace {

constexpr int64_t kN = 1 << 20;  // 4 MB of F32 per version: a write takes long enough to be hit mid-way

std::vector<float> version(int v) { return std::vector<float>(size_t(kN), float(v + 1)); }

void write_safetensors(const std::string& p, const std::vector<float>& x) {
  save_safetensors(p, {{"x", DType::F32, {kN}, x.data(), x.size() * sizeof(float)}}, {{"n", std::to_string(x[0])}});
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

template <class File>
void kill_during_writes(void (*write)(const std::string&, const std::vector<float>&), const char* name) {
  test::TempDir dir;
  const std::string p = dir.file(name);
  const std::vector<float> a = version(0), b = version(1);
  write(p, a);  // the previous file
  std::mt19937 rng(1234);
  for (int round = 0; round < 12; ++round) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // the writer: alternate b, a, b, ... until killed
      try {
        for (int i = 0;; ++i) write(p, i % 2 ? a : b);
      } catch (...) {
      }
      _exit(3);  // never back into the test runner
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 60000)(rng)));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited by itself (status " << status << ")";
    int v = 0;
    ASSERT_NO_THROW(v = which_version<File>(p)) << "round " << round << ": the file is not a complete file";
    ASSERT_NE(v, 0) << "round " << round << ": the file mixes the two versions";
  }
  // A killed writer cannot remove its temp file; those are the only leftovers,
  // named "<target>.tmp.XXXXXX", never the target itself.
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    const std::string f = e.path().filename().string();
    EXPECT_TRUE(f == name || f.rfind(std::string(name) + ".tmp.", 0) == 0) << f;
  }
}

TEST(KillDuringWrite, SafetensorsIsThePreviousFileOrTheNewOneComplete) {
  kill_during_writes<SafetensorsFile>(write_safetensors, "w.safetensors");
}

TEST(KillDuringWrite, GgufIsThePreviousFileOrTheNewOneComplete) {
  kill_during_writes<GgufFile>(write_gguf, "w.gguf");
}

}  // namespace
}  // namespace glassbox
