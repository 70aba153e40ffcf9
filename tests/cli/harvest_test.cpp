// `glassbox harvest` as a user runs it: the built binary, killed with SIGKILL
// mid-run and rerun, writing into a full file system, refusing bad input.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace glassbox::cli_test;

namespace {

std::string model(const std::string& name) { return quoted(source_path("models/" + name)); }

class HarvestCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = fresh_temp_dir("harvest-cli");
    // 40K random token ids of tiny-lm's 2048 (nanoGPT's uint16 .bin): a run of 20 shards, so
    // kills land mid-run.
    std::mt19937 rng(5);
    std::string raw;
    for (int i = 0; i < 40000; ++i) {
      const uint16_t id = uint16_t(rng() % 2048);
      raw += char(id & 0xff), raw += char(id >> 8);
    }
    std::ofstream(tmp_ / "tokens.bin", std::ios::binary) << raw;
    std::ofstream(tmp_ / "corpus.txt") << "The cat sat on the mat. The dog sat on the log.";
  }
  static void TearDownTestSuite() { fs::remove_all(tmp_); }

  // `prefix` runs in the shell first (e.g. "ulimit -f 100;").
  static CliRun glassbox(const std::string& args, const std::string& prefix = "") {
    return run_glassbox(args, tmp_, prefix);
  }
  // Block 0's three residual-stream sites (a glob; the pass stops after block 0), 2048 rows a shard.
  static std::string args(const std::string& out, const std::string& dtype = "bf16", int shard_tokens = 2048,
                          int context = 128) {
    return "harvest --model " + model("tiny-lm") + " --hooks 'blocks.0.hook_resid_*' --tokens tokens.bin --context " +
           std::to_string(context) + " --batch 8 --dtype " + dtype + " --shard-tokens " + std::to_string(shard_tokens) +
           " --out " + quoted(out);
  }
  static std::vector<std::string> listing(const fs::path& dir) {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }
  static void expect_same_files(const fs::path& a, const fs::path& b) {
    ASSERT_EQ(listing(a), listing(b));
    for (const std::string& f : listing(a)) EXPECT_TRUE(slurp(a / f) == slurp(b / f)) << f << " differs";
  }
  static inline fs::path tmp_;
};

TEST_F(HarvestCli, HelpNamesTheFlags) {
  const CliRun r = glassbox("harvest --help");
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--hooks", "--corpus", "--tokens", "--context", "--max-tokens", "--dtype", "--shard-tokens",
                           "--out", "--exclude-bos"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
}

TEST_F(HarvestCli, WritesAManifestAndReportsJsonAndProgress) {
  const CliRun r = glassbox(args("small", "f32", 8192) + " --max-tokens 20000 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["rows"], 156 * 128);  // 20000 / 128 whole sequences
  EXPECT_EQ(j["shards"], 3);
  EXPECT_EQ(j["manifest"]["dtype"], "F32");
  EXPECT_EQ(j["manifest"]["hooks"],
            json({"blocks.0.hook_resid_pre", "blocks.0.hook_resid_mid", "blocks.0.hook_resid_post"}));
  const json m = json::parse(slurp(tmp_ / "small" / "manifest.json"));
  EXPECT_TRUE(m["complete"].get<bool>());
  EXPECT_EQ(m["shards"][2]["rows"], 156 * 128 - 2 * 8192);
  const CliRun p = glassbox(args("small-bar") + " --max-tokens 20000");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.err.find("tok/s"), std::string::npos) << p.err;
  EXPECT_NE(p.err.find("ETA"), std::string::npos) << p.err;
}

TEST_F(HarvestCli, KilledWithSigkillMidRunAResumeWritesIdenticalShards) {
  const CliRun full = glassbox(args("full") + " --quiet");
  ASSERT_EQ(full.code, 0) << full.err;
  const size_t n_shards = json::parse(slurp(tmp_ / "full" / "manifest.json"))["shards"].size();
  ASSERT_GE(n_shards, 4u);

  // Kill twice at different points (early: maybe before any shard; later: after some), then finish.
  const fs::path dir = tmp_ / "killed";
  for (int wait_shards : {0, 2}) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const std::string cmd =
          "cd " + quoted(tmp_) + " && exec " + quoted(glassbox_binary()) + " " + args(dir.string()) + " --quiet >/dev/null 2>&1";
      execl("/bin/sh", "sh", "-c", cmd.c_str(), (char*)nullptr);
      _exit(127);
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {  // until the manifest lists enough shards (a few ms in for the first kill)
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_shards ? 5 : 40));
      if (wait_shards == 0) break;
      try {
        if (json::parse(slurp(dir / "manifest.json"))["shards"].size() >= size_t(wait_shards)) break;
      } catch (...) {
      }
      int status = 0;
      ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << "the run ended before the kill";
      ASSERT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
    }
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the run ended before the kill";
  }
  ASSERT_TRUE(fs::exists(dir / "manifest.json"));
  EXPECT_FALSE(json::parse(slurp(dir / "manifest.json"))["complete"].get<bool>());

  const CliRun resumed = glassbox(args(dir.string()));
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("kept from an earlier run"), std::string::npos) << resumed.out;
  expect_same_files(tmp_ / "full", dir);
}

TEST_F(HarvestCli, OtherArgumentsOnAnExistingHarvestAreAClearError) {
  ASSERT_EQ(glassbox(args("other") + " --max-tokens 4096 --quiet").code, 0);
  const CliRun r = glassbox(args("other", "bf16", 2048, 64) + " --max-tokens 4096 --quiet");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("other settings"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("context_size"), std::string::npos) << r.err;
}

TEST_F(HarvestCli, BadInputsAreClearErrors) {
  CliRun r = glassbox(args("bad") + " --tokens missing.bin");
  EXPECT_NE(r.code, 0);
  r = glassbox("harvest --model " + model("tiny-lm") + " --hooks hook_embed --corpus missing.txt --out bad");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("missing.txt: corpus not found"), std::string::npos) << r.err;
  r = glassbox("harvest --model " + model("tiny-lm") + " --hooks hook_embed --corpus corpus.txt --out bad");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("fewer than one sequence"), std::string::npos) << r.err;
  r = glassbox("harvest --model " + model("tiny-lm") + " --hooks blocks.1.hook_resid_pst --tokens tokens.bin --out bad");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("blocks.1.hook_resid_post"), std::string::npos) << r.err;  // the close match
  r = glassbox("harvest --model " + model("tiny-lm") + " --hooks hook_embed --out bad");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--corpus"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp_ / "bad"));
}

// Checks a harvest that failed for want of space: a clear message, complete shards only.
void expect_clean_failure(const CliRun& r, const fs::path& dir) {
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("was not written"), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(dir / "manifest.json"));
  const json m = json::parse(slurp(dir / "manifest.json"));
  std::vector<std::string> want = {"manifest.json"};
  for (const auto& s : m["shards"]) want.push_back(s["file"]);
  std::sort(want.begin(), want.end());
  std::vector<std::string> have;
  for (const auto& e : fs::directory_iterator(dir)) have.push_back(e.path().filename().string());
  std::sort(have.begin(), have.end());
  EXPECT_EQ(have, want) << "a partial shard or temp file was left behind";
}

TEST_F(HarvestCli, AFileSizeLimitFailsCleanly) {
  // 16384 rows x 3 sites x 128 x 2 bytes = 12 MiB a shard; the limit (2 or 4 MiB) allows none.
  const CliRun r = glassbox(args("limited", "bf16", 16384) + " --max-tokens 20000 --quiet", "ulimit -f 4096;");
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  expect_clean_failure(r, tmp_ / "limited");
}

TEST_F(HarvestCli, AFullDiskFailsCleanly) {
  const fs::path mnt = tmp_ / "tiny-fs";
  fs::create_directories(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=28m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN); AFileSizeLimitFailsCleanly covers the path";
  struct Unmount {
    fs::path p;
    ~Unmount() { umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  // 28 MiB holds two 12 MiB shards, not the third (5.4 MiB).
  const CliRun r = glassbox(args((mnt / "h").string(), "bf16", 16384) + " --max-tokens 60000 --quiet");
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  expect_clean_failure(r, mnt / "h");
  EXPECT_EQ(json::parse(slurp(mnt / "h" / "manifest.json"))["shards"].size(), 2u);
}

}  // namespace
