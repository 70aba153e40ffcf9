// `mpirun -np 2 glassbox ...` against the same command on one process: the
// harvest's files, the trained dictionary and model, and the patching and
// circuit sweeps must match. Registered only when CMake found MPI; the test
// starts mpirun itself (two ranks on however many cores: --oversubscribe).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "glassbox/safetensors.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace glassbox::cli_test;

namespace {

std::string fixture(const std::string& name) { return std::string(GLASSBOX_FIXTURES) + "/" + name; }

// mpirun as these tests need it: two ranks on any machine (--oversubscribe),
// not pinned to one core each (--bind-to none: the ranks' OpenMP threads
// share the machine), shared memory between ranks, and allowed as root (the
// CI container's user) through OpenMPI's two environment variables.
std::string mpirun(int ranks) {
  return "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader "
         "OMPI_MCA_btl_vader_single_copy_mechanism=none mpirun -np " +
         std::to_string(ranks) + " --oversubscribe --bind-to none";
}

class Mpi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tmp_ = fresh_temp_dir("mpi-test"); }
  static void TearDownTestSuite() { fs::remove_all(tmp_); }
  // One OpenMP thread per rank: the two runs compare results, not speed.
  static CliRun one(const std::string& args) { return run_glassbox("--threads 1 " + args, tmp_); }
  static CliRun two(const std::string& args) { return run_glassbox("--threads 1 " + args, tmp_, mpirun(2)); }
  static json js(const CliRun& r) {
    EXPECT_EQ(r.code, 0) << r.err;
    return r.code == 0 ? r.js() : json();
  }
  static inline fs::path tmp_;
};

// Every tensor of two safetensors files, element by element within tol
// (relative to the tensor's largest magnitude); the largest difference seen.
double max_difference(const fs::path& a, const fs::path& b, double tol) {
  const auto fa = glassbox::SafetensorsFile::open(a.string()), fb = glassbox::SafetensorsFile::open(b.string());
  EXPECT_EQ(fa.tensors().size(), fb.tensors().size());
  double worst = 0;
  for (const glassbox::RawTensor& ta : fa.tensors()) {
    const glassbox::RawTensor* tb = fb.find(ta.name);
    if (!tb) {
      ADD_FAILURE() << ta.name << " missing from " << b;
      continue;
    }
    EXPECT_EQ(ta.shape, tb->shape) << ta.name;
    if (ta.dtype != glassbox::DType::F32 || ta.shape != tb->shape) continue;
    const float* x = static_cast<const float*>(ta.data);
    const float* y = static_cast<const float*>(tb->data);
    // GPT-2's key bias (the middle third of c_attn.bias) has a zero gradient
    // in exact arithmetic (softmax ignores a constant added to every score), so
    // what it gets is rounding noise, which Adam scales up to lr-sized steps:
    // it wanders differently in any two runs without changing the model.
    const bool key_bias = ta.name.find("c_attn.bias") != std::string::npos;
    const int64_t n = ta.numel();
    auto skipped = [&](int64_t i) { return key_bias && i >= n / 3 && i < 2 * n / 3; };
    double scale = 1e-12, diff = 0;
    for (int64_t i = 0; i < n; ++i) scale = std::max(scale, double(std::fabs(x[i])));
    for (int64_t i = 0; i < n; ++i)
      if (!skipped(i)) diff = std::max(diff, double(std::fabs(x[i] - y[i])) / scale);
    EXPECT_LE(diff, tol) << ta.name;
    worst = std::max(worst, diff);
  }
  return worst;
}

// Numbers within tol, everything else equal; path names the first difference.
void expect_json_near(const json& a, const json& b, double tol, const std::string& path = "$") {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    EXPECT_LE(std::fabs(x - y), tol * std::max(1.0, std::fabs(x))) << path << ": " << x << " vs " << y;
    return;
  }
  ASSERT_EQ(a.type(), b.type()) << path;
  if (a.is_object()) {
    ASSERT_EQ(a.size(), b.size()) << path;
    for (auto& [k, v] : a.items()) {
      ASSERT_TRUE(b.contains(k)) << path << "." << k;
      expect_json_near(v, b[k], tol, path + "." + k);
    }
  } else if (a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << path;
    for (size_t i = 0; i < a.size(); ++i) expect_json_near(a[i], b[i], tol, path + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(a, b) << path;
  }
}

// ------------------------------------------------------------------ harvest

std::string harvest_args(const std::string& out) {
  return "harvest --model " + quoted(source_path("models/tiny-lm")) +
         " --hooks 'blocks.0.hook_resid_*' --tokens tokens.bin --context 64 --batch 4 --dtype bf16 "
         "--shard-tokens 768 --json --out " + out;
}

// nanoGPT uint16 token ids below 2048 (tiny-lm's vocabulary).
void write_tokens(const fs::path& file, int n) {
  std::mt19937 rng(3);
  std::string raw;
  for (int i = 0; i < n; ++i) {
    const uint16_t id = uint16_t(rng() % 2048);
    raw += char(id & 0xff), raw += char(id >> 8);
  }
  std::ofstream(file, std::ios::binary) << raw;
}

TEST_F(Mpi, HarvestOnTwoRanksWritesTheSameShardsAndOneManifestAndResumes) {
  if (!fs::exists(source_path("models/tiny-lm/model.safetensors"))) GTEST_SKIP() << "models/tiny-lm not present";
  write_tokens(tmp_ / "tokens.bin", 6000);  // 95 sequences of 63 + BOS: 6080 rows, 8 shards (the last one short)
  const json ref = js(one(harvest_args("h1")));
  const json par = js(two(harvest_args("h2")));
  ASSERT_EQ(par["shards"], 8);
  EXPECT_EQ(par["shards_written"], 8);
  EXPECT_TRUE(par["manifest"]["complete"].get<bool>());
  // The same files, byte for byte (the manifest pins each shard's sha256), in shard order.
  EXPECT_EQ(ref["manifest"]["shards"], par["manifest"]["shards"]);
  for (int k = 0; k < 8; ++k) {
    char name[64];
    std::snprintf(name, sizeof name, "shard_%05d.safetensors", k);
    EXPECT_EQ(slurp(tmp_ / "h1" / name), slurp(tmp_ / "h2" / name)) << name;
  }
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp_ / "h2")) ++files;
  EXPECT_EQ(files, 9u);  // 8 shards + manifest.json, no leftovers

  // Interrupted after 3 shards (the manifest lists them; later shards gone or
  // half-written): two ranks finish it with the same files.
  json m = json::parse(slurp(tmp_ / "h2" / "manifest.json"));
  m["shards"].erase(m["shards"].begin() + 3, m["shards"].end());
  m["complete"] = false;
  std::ofstream(tmp_ / "h2" / "manifest.json") << m.dump(2);
  for (int k = 3; k < 8; ++k) fs::remove(tmp_ / "h2" / ("shard_0000" + std::to_string(k) + ".safetensors"));
  std::ofstream(tmp_ / "h2" / "shard_00003.safetensors.tmp.abc123") << "half a shard";
  const json resumed = js(two(harvest_args("h2")));
  EXPECT_EQ(resumed["shards_kept"], 3);
  EXPECT_EQ(resumed["shards_written"], 5);
  EXPECT_EQ(ref["manifest"]["shards"], resumed["manifest"]["shards"]);
  EXPECT_FALSE(fs::exists(tmp_ / "h2" / "shard_00003.safetensors.tmp.abc123"));
}

TEST_F(Mpi, AnErrorOnTheRanksEndsTheRunInsteadOfHanging) {
  if (!fs::exists(source_path("models/tiny-lm/model.safetensors"))) GTEST_SKIP() << "models/tiny-lm not present";
  write_tokens(tmp_ / "tokens.bin", 1000);
  const CliRun r = two("harvest --model " + quoted(source_path("models/tiny-lm")) +
                       " --hooks blocks.9.hook_nothing --tokens tokens.bin --out bad");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("blocks.9.hook_nothing"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp_ / "bad"));
}

// ------------------------------------------------------------------ sae train

void write_activations(const fs::path& file) {
  // Sparse sums of 48 random directions in 16 dims (as tests/cli/sae_test.cpp).
  std::mt19937_64 rng(7);
  std::normal_distribution<float> nd;
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> dirs(48 * 16), rows(2048 * 16, 0.f);
  for (float& d : dirs) d = nd(rng);
  for (int n = 0; n < 2048; ++n)
    for (int f = 0; f < 48; ++f)
      if (u(rng) < 0.05f)
        for (int i = 0; i < 16; ++i) rows[size_t(n * 16 + i)] += dirs[size_t(f * 16 + i)] * (0.5f + u(rng));
  glassbox::save_safetensors(file.string(), {{"blocks.1.hook_resid_post", glassbox::DType::F32, {2048, 16},
                                              rows.data(), rows.size() * 4}});
}

// The trained dictionary matches one process's to 1e-4 of each tensor's
// largest entry: the ranks sum their shares of each gradient in another order
// than one process sums the batch (float rounding, ~1e-7 a step), and 60 Adam
// steps carry that along without amplifying it.
constexpr double kTrainTol = 1e-4;

TEST_F(Mpi, SaeTrainOnTwoRanksMatchesOneProcessWithDeadLatentsAndAuxK) {
  write_activations(tmp_ / "acts.safetensors");
  for (const std::string arch : {"topk --k 3 --aux-k 8", "relu --l1 0.3", "jumprelu --l0 0.01 --threshold-init 0.05"}) {
    SCOPED_TRACE(arch);
    // 64 latents for 48 directions at --dead-after 1K: latents die, and the aux-k loss trains them.
    const std::string args = "sae train --activations acts.safetensors --arch " + arch +
                             " --d-sae 64 --tokens 15360 --batch 256 --lr 3e-3 --dead-after 1K --json --out ";
    const std::string tag = arch.substr(0, arch.find(' '));
    const json a = js(one(args + "s1-" + tag));
    const json b = js(two(args + "s2-" + tag));
    ASSERT_TRUE(b["finished"].get<bool>());
    EXPECT_EQ(a["steps_done"], b["steps_done"]);
    const double d = max_difference(tmp_ / ("s1-" + tag) / "sae_weights.safetensors",
                                    tmp_ / ("s2-" + tag) / "sae_weights.safetensors", kTrainTol);
    std::printf("  %s: largest relative difference %.2e\n", tag.c_str(), d);
    const json fa = a["dictionaries"][0]["final"], fb = b["dictionaries"][0]["final"];
    EXPECT_NEAR(fa["mse"].get<double>(), fb["mse"].get<double>(), 1e-4 * std::max(1.0, fa["mse"].get<double>()));
    EXPECT_NEAR(fa["l0"].get<double>(), fb["l0"].get<double>(), 1e-3);
    EXPECT_EQ(fa["dead_fraction"], fb["dead_fraction"]);  // the dead-latent counts are reduced over ranks
  }
}

TEST_F(Mpi, SaeTrainRefusesBatchTopKAcrossRanks) {
  write_activations(tmp_ / "acts.safetensors");
  const CliRun r = two("sae train --activations acts.safetensors --arch batchtopk --k 3 --d-sae 64 --tokens 2560 "
                       "--batch 256 --out btk");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("batchtopk"), std::string::npos) << r.err;
}

// ------------------------------------------------------------------ train

TEST_F(Mpi, ModelTrainOnTwoRanksMatchesOneProcess) {
  std::string text;
  for (int i = 0; i < 120; ++i) text += "the quick brown fox jumps over the lazy dog " + std::to_string(i % 7) + "\n";
  std::ofstream(tmp_ / "corpus.txt") << text;
  ASSERT_EQ(one("tokenizer train corpus.txt --vocab-size 280 -o tok.json --json").code, 0);
  for (const char* out : {"m1", "m2"})
    std::ofstream(tmp_ / (std::string(out) + ".json")) << R"({
      "model": {"model_type": "gpt2", "n_embd": 32, "n_layer": 1, "n_head": 2, "n_positions": 32, "vocab_size": 280},
      "tokenizer": "tok.json",
      "data": {"text": "corpus.txt", "batch_size": 6, "seq_len": 16, "val_fraction": 0.1},
      "train": {"steps": 30, "optimizer": {"lr": 0.01}, "eval_every": 15, "out_dir": ")" + std::string(out) +
                                                              R"(", "progress": false}})";
  const json a = js(one("train m1.json --json"));
  const json b = js(two("train m2.json --json"));
  EXPECT_EQ(b["steps"], 30);
  EXPECT_NEAR(a["final_train_loss"].get<double>(), b["final_train_loss"].get<double>(), 1e-4);
  EXPECT_NEAR(a["final_eval_loss"].get<double>(), b["final_eval_loss"].get<double>(), 1e-4);
  const double d = max_difference(tmp_ / "m1" / "model.safetensors", tmp_ / "m2" / "model.safetensors", kTrainTol);
  std::printf("  train: largest relative difference %.2e\n", d);
}

// ------------------------------------------------------------------ patch, circuit

void write_pairs(const fs::path& file) {
  std::ofstream f(file);
  const int corrupt[] = {9, 7, 8, 5, 10};
  for (int i = 0; i < 5; ++i)  // five pairs: 3 on one rank, 2 on the other
    f << json{{"clean_tokens", {1, 2, 3, 4}}, {"corrupt_tokens", {1, corrupt[i], 3, 4}},
              {"answer", "#5"}, {"wrong", i % 2 ? "#7" : "#6"}}.dump()
      << "\n";
}

TEST_F(Mpi, PatchAndCircuitOverManyPairsMatchOneProcess) {
  write_pairs(tmp_ / "pairs.jsonl");
  const std::string model = " --model " + quoted(fixture("gpt2"));
  for (const std::string& cmd : {"patch" + model + " --sites resid_pre,z --method both",
                                "circuit" + model + " --method eap"}) {
    SCOPED_TRACE(cmd);
    const json a = js(one(cmd + " --pairs pairs.jsonl --json"));
    const json b = js(two(cmd + " --pairs pairs.jsonl --json"));
    ASSERT_EQ(a["pairs"].size(), 5u);
    EXPECT_EQ(a["ranks"], 1);
    EXPECT_EQ(b["ranks"], 2);
    // Each pair is computed exactly as one process computes it: the same numbers.
    expect_json_near(a["pairs"], b["pairs"], 1e-6);
    // And as the single-pair command does.
    const json single = js(one(cmd + " --clean-tokens 1,2,3,4 --corrupt-tokens 1,8,3,4 --answer '#5' --wrong '#6' --json"));
    expect_json_near(single, a["pairs"][2], 0);
  }
}

}  // namespace
