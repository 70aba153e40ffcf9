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
  r = glassbox("sae train --model models/tiny-lm --hook blocks.0.hook_resid_post --corpus c.txt --out m");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--activations"), std::string::npos) << r.err;
  r = glassbox(kTrain + "--tokens lots --out bad");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--tokens"), std::string::npos) << r.err;
  r = glassbox("sae info no-such-dir");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("cfg.json"), std::string::npos) << r.err;
  EXPECT_EQ(glassbox("sae train --help").code, 0);
}

}  // namespace
