// glassbox sae train | eval | info, run as a user runs them (the built binary).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "glassbox/safetensors.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct CliRun {
  int code = -1;
  std::string out, err;
};

class SaeCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = fs::temp_directory_path() / ("glassbox-sae-cli-" + std::to_string(getpid()));
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
    // Sparse sums of 32 random directions in 16 dims, under a hook name.
    std::mt19937_64 rng(1);
    std::normal_distribution<float> nd;
    std::uniform_real_distribution<float> u(0, 1);
    std::vector<float> dirs(32 * 16), rows(4096 * 16, 0.f);
    for (float& d : dirs) d = nd(rng);
    for (int n = 0; n < 4096; ++n)
      for (int f = 0; f < 32; ++f)
        if (u(rng) < 0.05f)
          for (int i = 0; i < 16; ++i) rows[size_t(n * 16 + i)] += dirs[size_t(f * 16 + i)] * (0.5f + u(rng));
    glassbox::save_safetensors((tmp_ / "acts.safetensors").string(),
                               {{"blocks.1.hook_resid_post", glassbox::DType::F32, {4096, 16}, rows.data(), rows.size() * 4},
                                {"blocks.1.hook_mlp_out", glassbox::DType::F32, {4096, 16}, rows.data(), rows.size() * 4}});
  }
  static void TearDownTestSuite() { fs::remove_all(tmp_); }

  static CliRun glassbox(const std::string& args) {
    const fs::path out = tmp_ / "out.txt", err = tmp_ / "err.txt";
    const std::string cmd = "cd '" + tmp_.string() + "' && '" + std::string(GLASSBOX_BINARY_DIR) + "/glassbox' " +
                            args + " >'" + out.string() + "' 2>'" + err.string() + "'";
    const int status = std::system(cmd.c_str());
    CliRun r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ostringstream o, e;
    o << std::ifstream(out).rdbuf();
    e << std::ifstream(err).rdbuf();
    r.out = o.str(), r.err = e.str();
    return r;
  }
  static json js(const CliRun& r) {
    EXPECT_EQ(r.code, 0) << r.err;
    try {
      return json::parse(r.out);
    } catch (const std::exception&) {
      ADD_FAILURE() << "not JSON:\n" << r.out << "\n" << r.err;
      return json();
    }
  }
  static inline fs::path tmp_;
};

const std::string kTrain =
    "sae train --activations acts.safetensors --hook blocks.1.hook_resid_post --arch topk --k 2 --expansion 4 "
    "--tokens 80K --batch 256 --lr 3e-3 ";

TEST_F(SaeCli, TrainWritesASaeLensDirectoryThatInfoAndEvalRead) {
  const json t = js(glassbox(kTrain + "--out sae1 --json"));
  EXPECT_TRUE(t["finished"].get<bool>());
  EXPECT_EQ(t["steps_done"], 312);
  EXPECT_TRUE(fs::exists(tmp_ / "sae1" / "cfg.json"));
  EXPECT_TRUE(fs::exists(tmp_ / "sae1" / "sae_weights.safetensors"));
  const json i = js(glassbox("sae info sae1 --json"));
  EXPECT_EQ(i["architecture"], "topk");
  EXPECT_EQ(i["d_sae"], 64);
  EXPECT_EQ(i["k"], 2);
  EXPECT_EQ(i["hook_name"], "blocks.1.hook_resid_post");
  const json e = js(glassbox("sae eval sae1 --activations acts.safetensors --json"));
  EXPECT_EQ(e["rows"], 4096);
  EXPECT_LE(e["l0"].get<double>(), 2.0);
  EXPECT_GT(e["explained_variance"].get<double>(), 0.6);
  const CliRun human = glassbox("sae eval sae1 --activations acts.safetensors");
  EXPECT_EQ(human.code, 0);
  EXPECT_NE(human.out.find("explained variance"), std::string::npos);
}

TEST_F(SaeCli, SeveralHooksTrainFromOnePassAndAPausedRunResumes) {
  const std::string two = "sae train --activations acts.safetensors --hook blocks.1.hook_resid_post "
                          "--hook blocks.1.hook_mlp_out --arch relu --l1 0.5 --tokens 20K --batch 256 --out two ";
  const json p = js(glassbox(two + "--stop-at 20 --json"));
  EXPECT_FALSE(p["finished"].get<bool>());
  const json r = js(glassbox(two + "--json"));
  EXPECT_TRUE(r["resumed"].get<bool>());
  EXPECT_TRUE(r["finished"].get<bool>());
  EXPECT_EQ(r["dictionaries"].size(), 2u);
  EXPECT_TRUE(fs::exists(tmp_ / "two" / "blocks.1.hook_mlp_out" / "cfg.json"));
}

TEST_F(SaeCli, TranscoderAndErrorsNameTheProblem) {
  const json t = js(glassbox("sae train --activations acts.safetensors --hook blocks.1.hook_resid_post "
                             "--target blocks.1.hook_mlp_out --arch topk --k 2 --d-sae 32 --tokens 10K --batch 256 "
                             "--out tc --json"));
  EXPECT_EQ(js(glassbox("sae info tc --json"))["hook_name_out"], "blocks.1.hook_mlp_out");
  CliRun r = glassbox(kTrain + "--hook blocks.7.hook_resid_post --out bad");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("blocks.7.hook_resid_post"), std::string::npos) << r.err;
  r = glassbox("sae train --model m --corpus c.txt --activations acts.safetensors --out m");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("give one of"), std::string::npos) << r.err;
  r = glassbox("sae train --corpus c.txt --hook h --out m");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--corpus needs --model"), std::string::npos) << r.err;
  r = glassbox(kTrain + "--tokens lots --out bad");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--tokens"), std::string::npos) << r.err;
  r = glassbox("sae info no-such-dir");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("cfg.json"), std::string::npos) << r.err;
  EXPECT_EQ(glassbox("sae train --help").code, 0);
}

// The shipped organisms, run live.
std::string source(const std::string& rel) { return std::string(GLASSBOX_SOURCE_DIR) + "/" + rel; }

bool have_tiny_lm() {
  return fs::exists(source("models/tiny-lm/model.safetensors")) && fs::exists(source("data/zoo-src/fortunes/cookie"));
}

TEST_F(SaeCli, TrainsFromTheLiveModelAndEvalSplicesTheReconstruction) {
  if (!have_tiny_lm()) GTEST_SKIP() << "tiny-lm or its fortunes are not here";
  const std::string model = source("models/tiny-lm");
  const json t = js(glassbox("sae train --model '" + model + "' --hook blocks.2.hook_resid_post --corpus '" +
                             source("data/zoo-src/fortunes/cookie") +
                             "' --max-tokens 8K --context 64 --shuffle-rows 2048 --arch topk --k 16 --expansion 4 "
                             "--tokens 12K --batch 512 --lr 1e-3 --out live --json"));
  EXPECT_TRUE(t["finished"].get<bool>());
  const json info = js(glassbox("sae info live --json"));
  EXPECT_EQ(info["d_in"], 128);
  EXPECT_EQ(info["model_name"], "tiny-lm");  // provenance in cfg.json, as SAELens writes it
  EXPECT_EQ(json::parse(std::ifstream(tmp_ / "live" / "cfg.json"))["hook_layer"], 2);
  // Held-out text: another file of fortunes.
  const json e = js(glassbox("sae eval live --model '" + model + "' --corpus '" + source("data/zoo-src/fortunes/wisdom") +
                             "' --max-tokens 2048 --context 64 --json"));
  EXPECT_EQ(e["rows"], 2048);
  EXPECT_LE(e["l0"].get<double>(), 16.0);
  const json& sp = e["splice"];
  ASSERT_TRUE(sp.is_object()) << e.dump();
  EXPECT_EQ(sp["tokens"], 32 * 63);  // every position but each sequence's last
  // The error term restores the clean run; the reconstruction alone sits between clean and ablated.
  EXPECT_NEAR(sp["ce_spliced_with_error"].get<double>(), sp["ce_clean"].get<double>(), 1e-3);
  EXPECT_LT(sp["kl_spliced_with_error"].get<double>(), 1e-4);
  EXPECT_GT(sp["ce_spliced"].get<double>(), sp["ce_clean"].get<double>());
  EXPECT_LT(sp["ce_spliced"].get<double>(), sp["ce_ablated"].get<double>());
  EXPECT_GT(sp["ce_loss_recovered"].get<double>(), 0.3);
  EXPECT_LT(sp["kl_spliced"].get<double>(), sp["kl_ablated"].get<double>());
  const CliRun human = glassbox("sae eval live --model '" + model + "' --corpus '" +
                                source("data/zoo-src/fortunes/wisdom") + "' --max-tokens 1K --context 64");
  EXPECT_EQ(human.code, 0) << human.err;
  EXPECT_NE(human.out.find("CE loss recovered"), std::string::npos) << human.out;

  // A harvest directory is the same activations from disk.
  ASSERT_EQ(glassbox("harvest --model '" + model + "' --hooks blocks.2.hook_resid_post --corpus '" +
                     source("data/zoo-src/fortunes/cookie") + "' --max-tokens 4096 --context 64 -q --out harvest")
                .code,
            0);
  const json h = js(glassbox("sae train --harvest harvest --hook blocks.2.hook_resid_post --shuffle-rows 1024 "
                             "--arch relu --l1 1 --expansion 2 --tokens 6K --batch 512 --out from-harvest --json"));
  EXPECT_TRUE(h["finished"].get<bool>());
  EXPECT_EQ(js(glassbox("sae eval from-harvest --harvest harvest --json"))["rows"], 4096);

  CliRun r = glassbox("sae train --model '" + model + "' --hook blocks.2.hook_resid_post --out m");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--corpus"), std::string::npos) << r.err;
  r = glassbox("sae train --model '" + model + "' --hook blocks.9.hook_resid_post --corpus '" +
               source("data/zoo-src/fortunes/cookie") + "' --out m");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("blocks.9.hook_resid_post"), std::string::npos) << r.err;
}

TEST_F(SaeCli, TheSuperpositionOrganismStreamsItsOwnSamples) {
  if (!fs::exists(source("models/superposition/model.safetensors"))) GTEST_SKIP() << "no superposition organism";
  const std::string model = source("models/superposition");
  const json t = js(glassbox("sae train --model '" + model + "' --hook hook_hidden --arch topk --k 4 --expansion 4 "
                             "--tokens 20K --batch 1024 --lr 1e-2 --out sp --json"));
  EXPECT_TRUE(t["finished"].get<bool>());
  const json e = js(glassbox("sae eval sp --model '" + model + "' --max-tokens 5K --json"));
  EXPECT_EQ(e["rows"], 5000);
  EXPECT_FALSE(e.contains("splice"));
  const CliRun r = glassbox("sae train --model '" + model + "' --hook hook_mlp --out bad");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("hook_hidden"), std::string::npos) << r.err;
}

}  // namespace
